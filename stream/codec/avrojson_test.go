package codec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
)

// everythingJSON is a value of testdata/core/everything.avsc as nodes see
// it: fields in the schema's order, compact.
const everythingJSON = `{"id":1234567890123456789,"count":-5,"ratio":0.1,"ok":true,"nothing":null,` +
	`"location":{"lat":52.52,"lon":13.405},"tags":["a","b\"c"],"attrs":{"k":1,"z":-2},"color":"GREEN",` +
	`"note":"hi","choice":{"test.core.Location":{"lat":1,"lon":-2.5}},"raw":"\u0000A\u00ff","md5":"ab\u00ffd",` +
	`"at":1700000000000,"next":{"id":2,"count":0,"ratio":1e-7,"ok":false,"nothing":null,"location":{"lat":0,"lon":0},` +
	`"tags":[],"attrs":{},"color":"RED","note":null,"choice":{"long":-1},"raw":"","md5":"\u0000\u0000\u0000\u0000",` +
	`"at":0,"next":null,"level":1},"level":3}`

// everythingMinimal leaves out every field that has a default.
const everythingMinimal = `{"id":1,"count":2,"ratio":3,"ok":false,"nothing":null,"location":{"lat":1,"lon":2},` +
	`"tags":["x"],"attrs":{"a":1},"color":"BLUE","md5":"wxyz","at":5}`

func TestEverythingRoundTrip(t *testing.T) {
	c := avroCodecOf(t, "testdata/core/everything.avsc")
	if got := mustDecode(t, c, mustEncode(t, c, everythingJSON)); got != everythingJSON {
		t.Errorf("round trip:\n got %s\nwant %s", got, everythingJSON)
	}
	want := `{"id":1,"count":2,"ratio":3,"ok":false,"nothing":null,"location":{"lat":1,"lon":2},` +
		`"tags":["x"],"attrs":{"a":1},"color":"BLUE","note":null,"choice":null,"raw":"\u0000\u00ff","md5":"wxyz",` +
		`"at":5,"next":null,"level":3}`
	if got := mustDecode(t, c, mustEncode(t, c, everythingMinimal)); got != want {
		t.Errorf("defaults:\n got %s\nwant %s", got, want)
	}
	// Other spellings of the same values.
	for in, want := range map[string]string{
		`"count":2.0`:           `"count":2`,
		`"count":2e1`:           `"count":20`,
		`"count":-0`:            `"count":0`,
		`"ratio":1e-10`:         `"ratio":1e-10`,
		`"ratio":0.1`:           `"ratio":0.1`,           // a float prints as the float it is, not as its double
		`"choice":"s"`:          ``,                      // see the errors below
		`"attrs":{"z":1,"a":2}`: `"attrs":{"a":2,"z":1}`, // map keys sorted on the wire
	} {
		if want == "" {
			continue
		}
		field := in[:strings.IndexByte(in, ':')]
		js := replaceField(t, everythingMinimal, field, in)
		got := mustDecode(t, c, mustEncode(t, c, js))
		if !strings.Contains(got, want) {
			t.Errorf("%s: got %s, want it to contain %s", in, got, want)
		}
	}
}

// replaceField swaps the member `field` of the compact object js for
// member (field and value), or adds it.
func replaceField(t testing.TB, js, field, member string) string {
	t.Helper()
	i := strings.Index(js, field+":")
	if i < 0 {
		return strings.TrimSuffix(js, "}") + "," + member + "}"
	}
	// The value ends at the comma or brace closing it at depth 0.
	depth, j := 0, i+len(field)+1
	for ; j < len(js); j++ {
		switch js[j] {
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return js[:i] + member + js[j:]
			}
			depth--
		case ',':
			if depth == 0 {
				return js[:i] + member + js[j:]
			}
		}
	}
	t.Fatalf("no end of %s in %s", field, js)
	return ""
}

func TestEverythingErrors(t *testing.T) {
	c := avroCodecOf(t, "testdata/core/everything.avsc")
	for _, tc := range []struct{ member, want string }{
		{`"count":3.5`, "field `count`: expected int, got number 3.5, which is not a whole number"},
		{`"count":2147483648`, "field `count`: expected int, got number 2147483648, which is out of the int range (-2147483648 to 2147483647)"},
		{`"count":-2147483649`, "field `count`: expected int, got number -2147483649, which is out of the int range (-2147483648 to 2147483647)"},
		{`"id":9223372036854775808`, "field `id`: expected long, got number 9223372036854775808, which is out of the long range (-9223372036854775808 to 9223372036854775807)"},
		{`"id":1e19`, "field `id`: expected long, got number 1e19, which is out of the long range (-9223372036854775808 to 9223372036854775807)"},
		{`"id":"1"`, "field `id`: expected long, got string \"1\""},
		{`"ratio":1e39`, "field `ratio`: expected float, got number 1e39, which is out of the float range"},
		{`"ok":1`, "field `ok`: expected boolean, got number 1"},
		{`"nothing":0`, "field `nothing`: expected null, got number 0"},
		{`"location":{"lat":1,"lon":"x"}`, "field `location.lon`: expected double, got string \"x\""},
		{`"location":{"lat":1}`, "field `location.lon`: missing, and it has no default"},
		{`"location":{"lat":1,"lon":2,"alt":3}`, "field `location.alt`: not in schema test.core.Location"},
		{`"location":[1,2]`, "field `location`: expected record test.core.Location, got an array"},
		{`"tags":["a",2]`, "field `tags[1]`: expected string, got number 2"},
		{`"tags":"a"`, "field `tags`: expected array, got string \"a\""},
		{`"attrs":{"k":"v"}`, "field `attrs[\"k\"]`: expected long, got string \"v\""},
		{`"attrs":[]`, "field `attrs`: expected map (an object), got an array"},
		{`"color":"PURPLE"`, "field `color`: \"PURPLE\" is not a symbol of enum test.core.Color (RED, GREEN, BLUE)"},
		{`"color":1`, "field `color`: expected enum test.core.Color, got number 1"},
		{`"choice":"s"`, "field `choice`: expected a value of union [null, string, long, test.core.Location] as null or {\"string\": ...} or {\"long\": ...} or {\"test.core.Location\": ...}, got string \"s\""},
		{`"choice":{"int":1}`, "field `choice`: the union has no type \"int\" (its types: null, string, long, test.core.Location)"},
		{`"choice":{"long":1,"string":"x"}`, "field `choice`: expected a value of union [null, string, long, test.core.Location] as null or {\"string\": ...} or {\"long\": ...} or {\"test.core.Location\": ...}, got an object"},
		{`"choice":{"Location":{"lat":"n","lon":0}}`, "field `choice.lat`: expected double, got string \"n\""},
		{`"raw":"\u20ac"`, "field `raw`: expected bytes as a string of code points U+0000-U+00FF (one per byte), got U+20AC at offset 0"},
		{`"md5":"abc"`, "field `md5`: expected fixed test.core.MD5 (4 bytes), got 3 bytes"},
		{`"next":{"id":"x"}`, "field `next.id`: expected long, got string \"x\""},
		{`"next":{"id":1,"count":1,"ratio":1,"ok":true,"nothing":null,"location":{"lat":1,"lon":2},"tags":[],"attrs":{},"color":"RED","md5":"wxyz","at":1,"next":{"id":true}}`,
			"field `next.next.id`: expected long, got boolean true"},
	} {
		field := tc.member[:strings.IndexByte(tc.member, ':')]
		js := replaceField(t, everythingMinimal, field, tc.member)
		_, err := c.Encode([]byte(js))
		want := `topic "events.test": ` + tc.want
		if err == nil {
			t.Errorf("%s: no error, want %s", tc.member, want)
			continue
		}
		if got := codecError(t, err); got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.member, got, want)
		}
	}
}

// The bytes Encode writes are the Avro binary hamba writes for the same
// value, and hamba reads them back.
func TestEncodeMatchesHamba(t *testing.T) {
	c := avroCodecOf(t, sensorSchema).(*avroCodec)
	type sensorEvent struct {
		SensorID string  `avro:"sensor_id"`
		Metric   string  `avro:"metric"`
		Value    float64 `avro:"value"`
		Unit     *string `avro:"unit"`
		TS       *string `avro:"ts"`
	}
	unit, ts := "C", "2024-05-01T10:00:00Z"
	ev := sensorEvent{"dev-1", "temperature", 21.5, &unit, &ts}
	want, err := avro.Marshal(c.reader.schema, ev)
	if err != nil {
		t.Fatal(err)
	}
	got := mustEncode(t, c, sensorJSON)
	if string(got[singleObjectHeaderLen:]) != string(want) {
		t.Fatalf("body:\n got % x\nwant % x", got[singleObjectHeaderLen:], want)
	}
	var back sensorEvent
	if err := avro.Unmarshal(c.reader.schema, got[singleObjectHeaderLen:], &back); err != nil || back.Value != 21.5 || *back.TS != ts {
		t.Fatalf("hamba reads %+v, %v", back, err)
	}

	// The everything schema, read back by hamba into generic values.
	e := avroCodecOf(t, "testdata/core/everything.avsc").(*avroCodec)
	b := mustEncode(t, e, everythingJSON)
	var v map[string]any
	if err := avro.Unmarshal(e.reader.schema, b[singleObjectHeaderLen:], &v); err != nil {
		t.Fatalf("hamba cannot read what Encode wrote: %v", err)
	}
	if v["id"] != int64(1234567890123456789) || v["color"] != "GREEN" || v["count"] != -5 {
		t.Errorf("hamba read %v", v)
	}
}

// Values hamba wrote decode to the JSON a node expects, version
// resolution included.
func TestDecodeHambaWritten(t *testing.T) {
	c := avroCodecOf(t, "testdata/core/reading.v1.avsc", "testdata/core/reading.v2.avsc").(*avroCodec)
	v1 := c.versions[0]
	body, err := avro.Marshal(v1.schema, map[string]any{"sensor": "s", "count": 3, "value": float32(2.5), "legacy": "l", "kind": "A"})
	if err != nil {
		t.Fatal(err)
	}
	got := mustDecode(t, c, append(appendSingleObjectHeader(nil, v1.fingerprint), body...))
	want := `{"site":"lab-1","value":2.5,"sensor":"s","count":3,"kind":"A","unit":null}`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestDecodeRefusesWhatJSONCannotHold(t *testing.T) {
	c := avroCodecOf(t, sensorSchema).(*avroCodec)
	good := mustEncode(t, c, `{"sensor_id":"d","metric":"m","value":1}`)
	// value is the 8 bytes after sensor_id ("d") and metric ("m").
	nan := withBytes(good, singleObjectHeaderLen+4, []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f})
	inf := withBytes(good, singleObjectHeaderLen+4, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x7f})
	badUTF8 := withBytes(good, singleObjectHeaderLen+1, []byte{0xff})
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{nan, "field `value`: NaN has no JSON form"},
		{inf, "field `value`: +Inf has no JSON form"},
		{badUTF8, "field `sensor_id`: the string is not valid UTF-8"},
	} {
		_, err := c.Decode(tc.in)
		if want := `topic "events.test": ` + tc.want; err == nil || codecError(t, err) != want {
			t.Errorf("got %v, want %s", err, want)
		}
	}
}

func withBytes(b []byte, at int, patch []byte) []byte {
	b = append([]byte{}, b...)
	copy(b[at:], patch)
	return b
}

func TestAppendJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          `"plain"`,
		"q\"b\\":         `"q\"b\\"`,
		"\n\r\t\x01\x1f": `"\n\r\t\u0001\u001f"`,
		"é€😀":            `"é€😀"`,
		"a\u2028b\u2029": `"a\u2028b\u2029"`,
		"":               `""`,
	} {
		if got := string(appendJSONString(nil, in)); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}

// Spellings of the same JSON value give the same Avro bytes.
func TestEncodeSpellings(t *testing.T) {
	c := avroCodecOf(t, sensorSchema)
	for _, tc := range []struct{ a, b string }{
		{`{"sensor_id":"d\u00e9\/","metric":"m","value":1}`, `{"sensor_id":"dé/","metric":"m","value":1}`},
		{`{"sensor_id":"\ud83d\ude00","metric":"m","value":1}`, `{"sensor_id":"😀","metric":"m","value":1}`},
		{`{"sensor_id":"\ud83d","metric":"m","value":1}`, `{"sensor_id":"` + "\uFFFD" + `","metric":"m","value":1}`},
		{`{"sensor_id":"\ud83dx","metric":"m","value":1}`, `{"sensor_id":"` + "\uFFFD" + `x","metric":"m","value":1}`},
		{`{"sensor_id":"\ud83d\u0041","metric":"m","value":1}`, `{"sensor_id":"` + "\uFFFD" + `A","metric":"m","value":1}`},
		{`{"sensor_id":"\b\f\n\r\t\"\\","metric":"m","value":1}`, "{\"sensor_id\":\"\\u0008\\u000c\\u000a\\u000d\\u0009\\u0022\\u005c\",\"metric\":\"m\",\"value\":1}"},
		{" \t\r\n{ \"sensor_id\" : \"d\" ,\n\"metric\":\"m\" , \"value\" : 1.50 } \n", `{"sensor_id":"d","metric":"m","value":1.5,"unit":null,"ts":null}`},
		// A default in the middle of fields given out of order.
		{`{"ts":"t","value":1,"metric":"m","sensor_id":"d"}`, `{"sensor_id":"d","metric":"m","value":1,"unit":null,"ts":"t"}`},
		{`{"unit":"C","sensor_id":"d","metric":"m","value":1}`, `{"sensor_id":"d","metric":"m","value":1,"unit":"C"}`},
	} {
		a, b := mustEncode(t, c, tc.a), mustEncode(t, c, tc.b)
		if string(a) != string(b) {
			t.Errorf("%s and %s encode differently:\n% x\n% x", tc.a, tc.b, a, b)
		}
	}
	e := avroCodecOf(t, "testdata/core/everything.avsc")
	_, err := e.Encode([]byte(replaceField(t, everythingMinimal, `"attrs"`, `"attrs":{"k":1,"a":0,"k":2}`)))
	if want := "topic \"events.test\": field `attrs[\"k\"]`: appears twice in the object"; err == nil || codecError(t, err) != want {
		t.Errorf("duplicate map key: %v", err)
	}
	// Arrays of records, nested.
	big := `{"id":1,"count":2,"ratio":3,"ok":false,"nothing":null,"location":{"lat":1,"lon":2},` +
		`"tags":[` + strings.Repeat(`"x",`, 200) + `"y"],"attrs":{},"color":"BLUE","md5":"wxyz","at":5}`
	got := mustDecode(t, e, mustEncode(t, e, big))
	if !strings.Contains(got, `"tags":[`+strings.Repeat(`"x",`, 200)+`"y"]`) {
		t.Errorf("200 tags: %s", got)
	}
}

// FuzzAvroEncode: whatever a node writes, Encode returns Avro or an
// *Error, never panics; what it accepts is valid JSON and reads back.
func FuzzAvroEncode(f *testing.F) {
	c := avroCodecOf(f, "testdata/core/everything.avsc")
	for _, js := range []string{everythingJSON, everythingMinimal, `{"a":"\ud83d\ude00"}`, `[1,2]`, `{"id":1e3}`} {
		f.Add([]byte(js))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := c.Encode(in)
		if err != nil {
			codecError(t, err)
			return
		}
		if !json.Valid(in) {
			t.Fatalf("Encode accepted invalid JSON %q", in)
		}
		mustDecode(t, c, b)
	})
}
