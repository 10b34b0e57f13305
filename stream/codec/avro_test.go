package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/config"
)

const sensorSchema = "../../testdata/schemas/sensor_event.avsc"

// avroTopic is an avro topic of the given schema versions (oldest first),
// each on its own line of a pretend pipeline file.
func avroTopic(name string, paths ...string) config.Topic {
	t := config.Topic{Name: name, Format: config.FormatAvro, Line: 3}
	for i, p := range paths {
		t.Schemas = append(t.Schemas, config.SchemaFile{Path: p, Line: 5 + i})
	}
	return t
}

func loadTopics(t testing.TB, topics ...config.Topic) *Set {
	t.Helper()
	s, err := Load(&config.Pipeline{File: "p.yaml", Topics: topics})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

func avroCodecOf(t testing.TB, paths ...string) Codec {
	t.Helper()
	return loadTopics(t, avroTopic("events.test", paths...)).For("events.test")
}

func mustEncode(t testing.TB, c Codec, js string) []byte {
	t.Helper()
	b, err := c.Encode([]byte(js))
	if err != nil {
		t.Fatalf("Encode(%s): %v", js, err)
	}
	return b
}

func mustDecode(t testing.TB, c Codec, b []byte) string {
	t.Helper()
	out, err := c.Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !json.Valid(out) {
		t.Fatalf("Decode gave invalid JSON: %s", out)
	}
	return string(out)
}

// codecError asserts err is a *Error and returns its text.
func codecError(t testing.TB, err error) string {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *codec.Error", err, err)
	}
	return ce.Error()
}

const sensorJSON = `{"sensor_id":"dev-1","metric":"temperature","value":21.5,"unit":"C","ts":"2024-05-01T10:00:00Z"}`

func TestSensorEventRoundTrip(t *testing.T) {
	c := avroCodecOf(t, sensorSchema)
	if c.Format() != config.FormatAvro || c.Topic() != "events.test" {
		t.Fatalf("Format %q Topic %q", c.Format(), c.Topic())
	}
	for _, tc := range []struct{ in, want string }{
		{sensorJSON, sensorJSON},
		// Field order and white space are the node's; the topic's are the schema's.
		{`{ "value": 21.5, "metric": "temperature", "sensor_id": "dev-1", "ts": "2024-05-01T10:00:00Z", "unit": "C" }`, sensorJSON},
		// Missing optional fields take their defaults.
		{`{"sensor_id":"d","metric":"m","value":-0.25}`, `{"sensor_id":"d","metric":"m","value":-0.25,"unit":null,"ts":null}`},
		{`{"sensor_id":"d","metric":"m","value":3,"unit":null}`, `{"sensor_id":"d","metric":"m","value":3,"unit":null,"ts":null}`},
		{`{"sensor_id":"d","metric":"m","value":1e300}`, `{"sensor_id":"d","metric":"m","value":1e+300,"unit":null,"ts":null}`},
		{`{"sensor_id":"\u00e9\"\\\n","metric":"m","value":0}`, `{"sensor_id":"é\"\\\n","metric":"m","value":0,"unit":null,"ts":null}`},
	} {
		b := mustEncode(t, c, tc.in)
		if got := mustDecode(t, c, b); got != tc.want {
			t.Errorf("round trip of %s:\n got %s\nwant %s", tc.in, got, tc.want)
		}
		if err := c.Check(b); err != nil {
			t.Errorf("Check of an encoded value: %v", err)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	c := avroCodecOf(t, sensorSchema)
	for _, tc := range []struct{ in, want string }{
		{`{"sensor_id":"d","metric":"m","value":"hot"}`, "field `value`: expected double, got string \"hot\""},
		{`{"sensor_id":"d","metric":"m","value":null}`, "field `value`: expected double, got null"},
		{`{"sensor_id":"d","metric":"m","value":true}`, "field `value`: expected double, got boolean true"},
		{`{"sensor_id":"d","metric":"m","value":[1]}`, "field `value`: expected double, got an array"},
		{`{"sensor_id":"d","metric":"m","value":1e999}`, "field `value`: expected double, got number 1e999, which is out of the double range"},
		{`{"sensor_id":"d","metric":"m","value":1,"fw":"1.2"}`, "field `fw`: not in schema sluice.sensors.SensorEvent"},
		// A misspelt field is unknown and its intended one missing: the unknown one is named.
		{`{"sensor_id":"d","metric":"m","valeu":1}`, "field `valeu`: not in schema sluice.sensors.SensorEvent"},
		{`{"sensor_id":"d","metric":"m"}`, "field `value`: missing, and it has no default"},
		{`{"sensor_id":"d","metric":"m","value":1,"unit":5}`, "field `unit`: expected null or string, got number 5"},
		{`{"sensor_id":"d","metric":"m","value":1,"unit":{"string":"C"}}`, "field `unit`: expected null or string, got an object"},
		{`["x"]`, "expected record sluice.sensors.SensorEvent, got an array"},
		{`{"sensor_id":"d",`, "not valid JSON: unexpected end of JSON input"},
		{`{"sensor_id":"d"} {}`, "not valid JSON: invalid character '{' after top-level value"},
		{``, "not valid JSON: unexpected end of JSON input"},
		{`  `, "not valid JSON: unexpected end of JSON input"},
		// Bad JSON is said first, even after a field that does not fit.
		{`{"sensor_id":1,"metric":"m",}`, "not valid JSON: invalid character '}' looking for beginning of object key string"},
		{`{"sensor_id":"d","metric":"m","value":1,"value":2}`, "field `value`: appears twice in the object"},
		{"{\"sensor_id\":\"\xff\",\"metric\":\"m\",\"value\":1}", "field `sensor_id`: the string is not valid UTF-8"},
		{`{"sensor_id":"d","metric":"m","value":01}`, "not valid JSON: invalid character '1' after object key:value pair"},
		{`{"sensor_id":"d","metric":"m","value":-}`, "not valid JSON: invalid character '}' in numeric literal"},
		{`{"sensor_id":"d","metric":"m","value":1.}`, "not valid JSON: invalid character '}' after decimal point in numeric literal"},
		{`{"sensor_id":"\x","metric":"m","value":1}`, "not valid JSON: invalid character 'x' in string escape code"},
		{`{"sensor_id":"d","metric":"m","value":tru}`, "not valid JSON: invalid character '}' in literal true (expecting 'e')"},
		{`{"value": NaN}`, "not valid JSON: invalid character 'N' looking for beginning of value"},
	} {
		_, err := c.Encode([]byte(tc.in))
		if err == nil {
			t.Errorf("Encode(%s): no error, want %q", tc.in, tc.want)
			continue
		}
		want := `topic "events.test": ` + tc.want
		if got := codecError(t, err); got != want {
			t.Errorf("Encode(%s):\n got %s\nwant %s", tc.in, got, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	c := avroCodecOf(t, sensorSchema)
	good := mustEncode(t, c, sensorJSON)
	other := avroCodecOf(t, "testdata/core/reading.v1.avsc")
	foreign := mustEncode(t, other, `{"sensor":"s","count":1,"value":1,"legacy":"x","kind":"A"}`)
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "not Avro single-object encoding: 0 bytes, shorter than its 10-byte header (0xc301 and an 8-byte schema fingerprint)"},
		{"json", []byte(sensorJSON), "not Avro single-object encoding: starts with 0x7b22, not the marker 0xc301"},
		{"short", good[:5], "not Avro single-object encoding: 5 bytes, shorter than its 10-byte header (0xc301 and an 8-byte schema fingerprint)"},
		{"unknown fingerprint", foreign, "written with an unknown schema (fingerprint 0x" + hex16(foreign[2:10]) + ")"},
		{"truncated", good[:len(good)-3], "field `ts`: the value ends too early (20 bytes needed, 17 left)"},
		{"trailing", append(append([]byte{}, good...), 1, 2), "2 bytes left over after the value: not a value of the schema it names"},
		{"bad union index", withByte(good, len(good)-22, 9), "field `ts`: malformed union (branch index -5 of 2)"},
	} {
		_, err := c.Decode(tc.in)
		if err == nil {
			t.Errorf("%s: Decode: no error, want %q", tc.name, tc.want)
			continue
		}
		want := `topic "events.test": ` + tc.want
		if got := codecError(t, err); got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, want)
		}
		if cerr := c.Check(tc.in); cerr == nil || cerr.Error() != err.Error() {
			t.Errorf("%s: Check says %v, Decode %v", tc.name, cerr, err)
		}
	}
}

func withByte(b []byte, i int, c byte) []byte {
	b = bytes.Clone(b)
	b[i] = c
	return b
}

func hex16(le []byte) string {
	const digits = "0123456789abcdef"
	var out []byte
	for i := len(le) - 1; i >= 0; i-- {
		out = append(out, digits[le[i]>>4], digits[le[i]&0xF])
	}
	return string(out)
}

// Values written with an older version read as the newest one (Avro
// schema resolution): promoted types, a dropped field, a new field's
// default, another order, enum symbols by name.
func TestVersionResolution(t *testing.T) {
	v1 := avroCodecOf(t, "testdata/core/reading.v1.avsc")
	both := avroCodecOf(t, "testdata/core/reading.v1.avsc", "testdata/core/reading.v2.avsc")
	old := mustEncode(t, v1, `{"sensor":"s-1","count":7,"value":0.5,"legacy":"drop me","kind":"B"}`)
	want := `{"site":"lab-1","value":0.5,"sensor":"s-1","count":7,"kind":"B","unit":null}`
	if got := mustDecode(t, both, old); got != want {
		t.Errorf("v1 value read as v2:\n got %s\nwant %s", got, want)
	}
	// Outputs are written with the newest version, and read back as is.
	cur := mustEncode(t, both, `{"sensor":"s-2","count":8000000000,"value":0.1,"kind":"C","unit":"C"}`)
	want = `{"site":"lab-1","value":0.1,"sensor":"s-2","count":8000000000,"kind":"C","unit":"C"}`
	if got := mustDecode(t, both, cur); got != want {
		t.Errorf("v2 value:\n got %s\nwant %s", got, want)
	}
	// The v1-only codec does not know v2's fingerprint.
	if _, err := v1.Decode(cur); err == nil || !strings.Contains(err.Error(), "written with an unknown schema") {
		t.Errorf("v1 codec reading a v2 value: %v", err)
	}
}

// A version the newest cannot read (compatibility none lets it through
// Load) fails each of its values, naming both files.
func TestUnreadableVersion(t *testing.T) {
	v1 := avroCodecOf(t, "testdata/core/reading.v1.avsc")
	tp := avroTopic("events.test", "testdata/core/reading.v1.avsc", "testdata/core/reading.v3-broken.avsc")
	tp.Compatibility = config.CompatNone
	c := loadTopics(t, tp).For("events.test")
	old := mustEncode(t, v1, `{"sensor":"s-1","count":7,"value":0.5,"legacy":"x","kind":"B"}`)
	_, err := c.Decode(old)
	want := `topic "events.test": written with reading.v1.avsc, which the topic's schema reading.v3-broken.avsc cannot read: field unit: the writer's record test.core.Reading has no such field, and the reader's has no default for it`
	if err == nil || codecError(t, err) != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// The JSON codec: valid JSON passes unchanged, anything else is refused.
func TestJSONCodec(t *testing.T) {
	s := loadTopics(t, config.Topic{Name: "archives", Format: config.FormatJSON})
	c := s.For("archives")
	if c.Format() != config.FormatJSON {
		t.Fatalf("Format %q", c.Format())
	}
	in := []byte(` {"a": [1, 2.5, "x"]} `)
	for _, f := range []func([]byte) ([]byte, error){c.Decode, c.Encode} {
		out, err := f(in)
		if err != nil || &out[0] != &in[0] {
			t.Errorf("valid JSON: %q, %v (want the same bytes)", out, err)
		}
	}
	for in, want := range map[string]string{
		`{"a":`: `topic "archives": not valid JSON: unexpected end of JSON input`,
		``:      `topic "archives": not valid JSON: unexpected end of JSON input`,
		`{} {}`: `topic "archives": not valid JSON: invalid character '{' after top-level value`,
		`NaN`:   `topic "archives": not valid JSON: invalid character 'N' looking for beginning of value`,
	} {
		for _, err := range []error{c.Check([]byte(in)), second(c.Decode([]byte(in))), second(c.Encode([]byte(in)))} {
			if err == nil || codecError(t, err) != want {
				t.Errorf("%q: got %v, want %s", in, err, want)
			}
		}
	}
}

func second(_ []byte, err error) error { return err }

// Raw and undeclared topics pass bytes unchanged.
func TestRawCodec(t *testing.T) {
	s := loadTopics(t, config.Topic{Name: "events.raw"})
	for _, c := range []Codec{s.For("events.raw"), s.For("not.declared"), (*Set)(nil).For("x")} {
		in := []byte("not json \xff")
		out, err := c.Decode(in)
		if err != nil || !bytes.Equal(out, in) || c.Check(in) != nil || c.Format() != config.FormatRaw {
			t.Errorf("%s: raw codec changed or refused the value: %q %v", c.Topic(), out, err)
		}
	}
}

// Confluent wire form without Prepare: Encode says so plainly (not an
// *Error: the value is not at fault).
func TestConfluentNotPrepared(t *testing.T) {
	tp := avroTopic("events.c", sensorSchema)
	tp.Wire = config.WireConfluent
	s, err := Load(&config.Pipeline{File: "p.yaml", Topics: []config.Topic{tp},
		SchemaRegistry: &config.SchemaRegistry{URLs: []string{"http://127.0.0.1:1"}, Line: 2}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.For("events.c").Encode([]byte(sensorJSON))
	var ce *Error
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "not prepared") {
		t.Errorf("Encode before Prepare: %v", err)
	}
	// A Confluent value with an id the codec has not seen needs the
	// registry; an unreachable registry is not the value's fault.
	_, err = s.For("events.c").Decode([]byte{0, 0, 0, 0, 42, 2, 'x'})
	if err == nil || errors.As(err, &ce) {
		t.Errorf("Decode with an unreachable registry: %v (want a plain error)", err)
	}
	// Not Confluent framing at all: the value's fault.
	_, err = s.For("events.c").Decode([]byte{0xC3, 1, 2})
	if err == nil || !errors.As(err, &ce) {
		t.Errorf("Decode of a non-Confluent value: %v (want a *codec.Error)", err)
	}
}

// FuzzAvroDecode: whatever the bytes, Decode returns JSON or an *Error,
// never panics.
func FuzzAvroDecode(f *testing.F) {
	c := avroCodecOf(f, "testdata/core/everything.avsc")
	resolved := avroCodecOf(f, "testdata/core/reading.v1.avsc", "testdata/core/reading.v2.avsc")
	for _, js := range []string{everythingJSON, everythingMinimal} {
		f.Add(mustEncode(f, c, js))
	}
	f.Add([]byte{0xC3, 1})
	f.Add(appendSingleObjectHeader(nil, c.(*avroCodec).reader.fingerprint))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range []Codec{c, resolved} {
			// Any header: the fuzzer mutates payloads of known fingerprints too.
			withHeader := appendSingleObjectHeader(nil, c.(*avroCodec).reader.fingerprint)
			withHeader = append(withHeader, b...)
			for _, in := range [][]byte{b, withHeader} {
				out, err := c.Decode(in)
				if err != nil {
					var ce *Error
					if !errors.As(err, &ce) {
						t.Fatalf("Decode error %v is not a *codec.Error", err)
					}
					continue
				}
				if !json.Valid(out) {
					t.Fatalf("Decode gave invalid JSON %q", out)
				}
				// What decodes re-encodes to the same value.
				again, err := c.Encode(out)
				if err != nil {
					t.Fatalf("decoded %s does not encode: %v", out, err)
				}
				// The same value; map members may come in another order.
				if out2 := mustDecode(t, c, again); !sameJSON(t, out2, string(out)) {
					t.Fatalf("decode/encode/decode changed %s to %s", out, out2)
				}
			}
		}
	})
}

func sameJSON(t testing.TB, a, b string) bool {
	t.Helper()
	var va, vb any
	for _, x := range []struct {
		s string
		v *any
	}{{a, &va}, {b, &vb}} {
		d := json.NewDecoder(strings.NewReader(x.s))
		d.UseNumber()
		if err := d.Decode(x.v); err != nil {
			t.Fatalf("%s: %v", x.s, err)
		}
	}
	return reflect.DeepEqual(va, vb)
}

// An id the registry does not know is the value's fault (an *Error: the
// record goes to the DLQ); it is asked again next time (the registry may
// learn it). Uses registry_test.go's replay of the registry's answers.
func TestConfluentUnknownID(t *testing.T) {
	rp := newReplay(t, "unknown_id.json")
	tp := avroTopic("events.c", sensorSchema)
	tp.Wire = config.WireConfluent
	s, err := Load(&config.Pipeline{File: "p.yaml", Topics: []config.Topic{tp},
		SchemaRegistry: &config.SchemaRegistry{URLs: []string{rp.URL}, Line: 2}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := s.For("events.c").Decode([]byte{0, 0, 0, 0, 7, 2, 'x'})
		if got := codecError(t, err); !strings.HasPrefix(got, `topic "events.c": written with schema id 7, which the registry cannot give: `) {
			t.Errorf("got %s", got)
		}
	}
}

// Version resolution reads what hamba's own resolution
// (SchemaCompatibility.Resolve, then Unmarshal) reads.
func TestResolutionMatchesHamba(t *testing.T) {
	c := avroCodecOf(t, "testdata/core/reading.v1.avsc", "testdata/core/reading.v2.avsc").(*avroCodec)
	v1, v2 := c.versions[0], c.versions[1]
	written := mustEncode(t, avroCodecOf(t, "testdata/core/reading.v1.avsc"),
		`{"sensor":"s-1","count":-7,"value":0.25,"legacy":"gone","kind":"B"}`)

	resolved, err := avro.NewSchemaCompatibility().Resolve(v2.schema, v1.schema)
	if err != nil {
		t.Fatal(err)
	}
	var theirs map[string]any
	if err := avro.Unmarshal(resolved, written[singleObjectHeaderLen:], &theirs); err != nil {
		t.Fatal(err)
	}
	var ours map[string]any
	if err := json.Unmarshal([]byte(mustDecode(t, c, written)), &ours); err != nil {
		t.Fatal(err)
	}
	// JSON numbers are float64 here; hamba's are int64 and float64.
	for k, v := range theirs {
		switch n := v.(type) {
		case int64:
			theirs[k] = float64(n)
		case int:
			theirs[k] = float64(n)
		}
	}
	if !reflect.DeepEqual(ours, theirs) {
		t.Errorf("ours   %v\nhamba's %v", ours, theirs)
	}
}

// A codec is used by every worker of a stage at once.
func TestConcurrentUse(t *testing.T) {
	c := avroCodecOf(t, "testdata/core/reading.v1.avsc", "testdata/core/reading.v2.avsc")
	old := mustEncode(t, avroCodecOf(t, "testdata/core/reading.v1.avsc"), `{"sensor":"s","count":1,"value":1,"legacy":"x","kind":"A"}`)
	done := make(chan error)
	for g := range 4 {
		go func() {
			for i := range 500 {
				js := `{"sensor":"s","count":` + strconv.Itoa(g*1000+i) + `,"value":1,"kind":"C"}`
				b, err := c.Encode([]byte(js))
				if err == nil {
					_, err = c.Decode(b)
				}
				if err == nil {
					err = c.Check(old)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
