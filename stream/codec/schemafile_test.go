package codec

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/soe"
)

// Cases of the Avro project's share/test/data/schema-tests.txt (the
// reference implementation's Parsing Canonical Form and CRC-64-AVRO
// fingerprint test data; the fingerprint is Java's signed long).
var specCanonicalCases = []struct {
	input, canonical string
	fingerprint      int64
}{
	{`"null"`, `"null"`, 7195948357588979594},
	{`"boolean"`, `"boolean"`, -6970731678124411036},
	{`"int"`, `"int"`, 8247732601305521295},
	{`"long"`, `"long"`, -3434872931120570953},
	{`"float"`, `"float"`, 5583340709985441680},
	{`"double"`, `"double"`, -8181574048448539266},
	{`"bytes"`, `"bytes"`, 5746618253357095269},
	{`"string"`, `"string"`, -8142146995180207161},
	{`[ "int" , {"type":"boolean"} ]`, `["int","boolean"]`, 5392556393470105090},
	{`{"fields":[], "type":"record", "name":"foo"}`, `{"name":"foo","type":"record","fields":[]}`, -4824392279771201922},
	{`{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}`, `{"name":"x.y.foo","type":"record","fields":[]}`, 5916914534497305771},
	{`{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}`, `{"name":"a.b.foo","type":"record","fields":[]}`, -4616218487480524110},
	{`{"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]}`, `{"name":"foo","type":"record","fields":[]}`, -4824392279771201922},
	{`{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}`, `{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}`, 7843277075252814651},
	{`{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":true},
	    {"order":"descending","name":"f2","doc":"Hello","type":"int"}], "type":"record", "name":"foo"}`,
		`{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}`, -4860222112080293046},
	{`{"type":"enum", "name":"foo", "symbols":["A1"]}`, `{"name":"foo","type":"enum","symbols":["A1"]}`, -6342190197741309591},
	{`{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}`, `{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}`, -4448647247586288245},
	{`{"name":"foo","type":"fixed","size":15}`, `{"name":"foo","type":"fixed","size":15}`, 1756455273707447556},
	{`{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}`, `{"name":"x.y.z.foo","type":"fixed","size":32}`, -3064184465700546786},
	{`{ "items":{"type":"null"}, "type":"array"}`, `{"type":"array","items":"null"}`, -589620603366471059},
	{`{ "values":"string", "type":"map"}`, `{"type":"map","values":"string"}`, -8732877298790414990},
	{`{"name":"PigValue","type":"record", "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}`,
		`{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}`, -1759257747318642341},
}

func TestCanonicalFormMatchesTheSpec(t *testing.T) {
	for _, tc := range specCanonicalCases {
		v, err := parseSchema([]byte(tc.input))
		if err != nil {
			t.Errorf("%s: %v", tc.input, err)
			continue
		}
		if got := canonicalForm(v.schema); got != tc.canonical {
			t.Errorf("%s:\n got %s\nwant %s", tc.input, got, tc.canonical)
		}
		if v.fingerprint != uint64(tc.fingerprint) {
			t.Errorf("%s: fingerprint %d, want %d", tc.input, int64(v.fingerprint), tc.fingerprint)
		}
	}
}

// Logical types are not part of the Parsing Canonical Form (Avro spec,
// as Java implements it); hamba keeps them, and its fingerprint is
// accepted on decode too.
func TestCanonicalFormDropsLogicalTypes(t *testing.T) {
	c := avroCodecOf(t, "testdata/core/logical.avsc").(*avroCodec)
	v := c.reader
	want := `{"name":"test.core.Stamped","type":"record","fields":[{"name":"at","type":"long"},{"name":"id","type":"string"}]}`
	if got := canonicalForm(v.schema); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if v.fingerprint == v.hambaFingerprint {
		t.Fatalf("hamba's canonical form is expected to keep logical types")
	}
	js := `{"at":1700000000000,"id":"0b5e0c36-3c61-4b39-8f0f-7a5ae9d1a000"}`
	body := mustEncode(t, c, js)[singleObjectHeaderLen:]
	hambaHeader, err := soe.BuildHeader(v.schema)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustDecode(t, c, append(hambaHeader, body...)); got != js {
		t.Errorf("a value with hamba's fingerprint: %s", got)
	}
}

// The header of a value is what hamba's soe package writes for a schema
// without logical types (the sensor event).
func TestSingleObjectHeaderMatchesHamba(t *testing.T) {
	c := avroCodecOf(t, sensorSchema).(*avroCodec)
	want, err := soe.BuildHeader(c.reader.schema)
	if err != nil {
		t.Fatal(err)
	}
	got := mustEncode(t, c, sensorJSON)[:singleObjectHeaderLen]
	if string(got) != string(want) {
		t.Errorf("header % x, hamba's % x", got, want)
	}
	if got[0] != 0xC3 || got[1] != 0x01 || binary.LittleEndian.Uint64(got[2:]) != crc64Avro([]byte(canonicalForm(c.reader.schema))) {
		t.Errorf("header % x is not C3 01 + the little-endian CRC-64-AVRO of the canonical form", got)
	}
	// And hamba's soe codec reads the whole value.
	sc, err := soe.NewCodec(c.reader.schema)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := sc.Decode(mustEncode(t, c, sensorJSON), &v); err != nil || v["sensor_id"] != "dev-1" {
		t.Errorf("hamba soe reads %v, %v", v, err)
	}
}

// Without logical types, the canonical form is hamba's Schema.String().
func TestCanonicalFormMatchesHamba(t *testing.T) {
	for _, path := range []string{sensorSchema, "testdata/core/reading.v1.avsc", "testdata/core/reading.v2.avsc"} {
		v, err := readSchemaFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := canonicalForm(v.schema), v.schema.String(); got != want {
			t.Errorf("%s:\n got %s\nhamba %s", path, got, want)
		}
	}
}

func TestReadSchemaFileErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.avsc")
	if err := os.WriteFile(big, []byte(strings.Repeat(" ", maxSchemaFileSize+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"testdata/core/nope.avsc":    "testdata/core/nope.avsc: cannot read: no such file or directory",
		"testdata/core":              "testdata/core: cannot read: is a directory",
		big:                          big + ": cannot read: larger than 4 MiB, too large for a schema",
		"testdata/core/invalid.avsc": "testdata/core/invalid.avsc: not a valid Avro schema: unknown type: nosuchtype",
		"testdata/core/notjson.avsc": "testdata/core/notjson.avsc: not a valid Avro schema: ",
	} {
		_, err := readSchemaFile(path)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: got %v, want %s...", path, err, want)
		}
	}
	// Two versions defining the same name each parse on their own.
	for _, p := range []string{"testdata/core/reading.v1.avsc", "testdata/core/reading.v2.avsc"} {
		v, err := readSchemaFile(p)
		if err != nil || len(v.schema.(*avro.RecordSchema).Fields()) < 5 {
			t.Errorf("%s: %v", p, err)
		}
	}
}
