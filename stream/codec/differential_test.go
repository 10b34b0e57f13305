package codec

// Differential tests of the hand-written Avro walkers (avroencode.go,
// avrodecode.go), written for speed, against hamba/avro, the library the
// codec parses schemas with: what our Decode accepts hamba reads too, as
// the same value; what our Encode writes is byte for byte what hamba's
// Marshal writes for the same value.
//
// The two sides meet in a canonical form built with the schema in hand
// (canonOurs, canonHamba): int and long are int64, float and double their
// IEEE bits (so float32 precision, -0 and rounding are compared exactly),
// bytes and fixed a binString, records and maps map[string]any, arrays
// []any, a union value a unionVal naming its branch.
//
// Our decoder is strict by design and hamba is laxer, so only one
// direction is asserted: ours accepts => hamba accepts and agrees. Values
// ours refuses and hamba (v2.31.0) reads anyway, seen while fuzzing:
//   - bytes left over after the value (hamba stops reading);
//   - a string or map key that is not valid UTF-8 (JSON cannot hold it);
//   - a float or double NaN or ±Inf (no JSON form);
//   - a map with a key twice (hamba keeps the last value);
//   - a value cut short where a varint (a length, count, index, int or
//     long) is read: hamba's Unmarshal takes the io.EOF it meets there
//     for success, returning no error and, into any, a nil value (cut
//     where a float, double or fixed is read, it refuses);
//   - an int, enum index or union index whose 5-byte varint does not fit
//     32 bits (hamba drops the high bits), and a 10-byte long varint with
//     bits past the 64th (likewise).
//
// hamba's generic values are not Avro's JSON encoding, which is what the
// canonical forms absorb: a union decoded into any is the plain value when
// every branch is a type hamba's resolver knows (null, the primitives and
// their logical types) and {"<name>": value} otherwise, even for a
// null-or-record union where our JSON has the plain record; timestamps are
// time.Time and fixed values [N]byte. One naming differs from the Avro
// specification: hamba names a union branch of a logical type
// "long.timestamp-millis" where the spec's JSON encoding (and ours) says
// "long" (TestAvroEncodeDifferential's logical union shows it).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

// Canonical forms.
type (
	f32bits   uint32 // an Avro float
	f64bits   uint64 // an Avro double
	binString string // Avro bytes or fixed
	unionVal  struct {
		Branch int
		V      any
	}
)

// jsonAny parses JSON text with numbers as json.Number.
func jsonAny(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

// wholeJSONNumber reads a JSON number that must be a whole number in the
// int64 range, spelt as an integer or not (2e1, 3.0): what Encode accepts
// for an int or a long.
func wholeJSONNumber(n json.Number) (int64, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	f, _, err := big.ParseFloat(string(n), 10, 1024, big.ToNearestEven)
	if err != nil {
		return 0, err
	}
	i, acc := f.Int64()
	if acc != big.Exact {
		return 0, fmt.Errorf("%s is not a whole number in the long range", n)
	}
	return i, nil
}

// codePointBytes reads a JSON string of code points U+0000-U+00FF, one per
// byte (Avro's JSON encoding of bytes and fixed).
func codePointBytes(v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("bytes: got %T", v)
	}
	var b []byte
	for _, r := range s {
		if r > 0xFF {
			return nil, fmt.Errorf("bytes: code point U+%04X", r)
		}
		b = append(b, byte(r))
	}
	return b, nil
}

// canonOurs is the canonical form of v, our Decode's JSON parsed by
// jsonAny, as a value of s.
func canonOurs(s avro.Schema, v any) (any, error) {
	s = unref(s)
	switch s.Type() {
	case avro.Null:
		if v != nil {
			return nil, fmt.Errorf("null: got %v", v)
		}
		return nil, nil
	case avro.Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case avro.Int, avro.Long:
		if n, ok := v.(json.Number); ok {
			// Decode writes integers as integers: no 1e3 for a long.
			i, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %s is not an integer", s.Type(), n)
			}
			if s.Type() == avro.Int && (i < math.MinInt32 || i > math.MaxInt32) {
				return nil, fmt.Errorf("int: %d out of range", i)
			}
			return i, nil
		}
	case avro.Float:
		if n, ok := v.(json.Number); ok {
			f, err := strconv.ParseFloat(string(n), 32)
			if err != nil {
				return nil, fmt.Errorf("float %s: %v", n, err)
			}
			return f32bits(math.Float32bits(float32(f))), nil
		}
	case avro.Double:
		if n, ok := v.(json.Number); ok {
			f, err := strconv.ParseFloat(string(n), 64)
			if err != nil {
				return nil, fmt.Errorf("double %s: %v", n, err)
			}
			return f64bits(math.Float64bits(f)), nil
		}
	case avro.String, avro.Enum:
		if str, ok := v.(string); ok {
			return str, nil
		}
	case avro.Bytes, avro.Fixed:
		b, err := codePointBytes(v)
		return binString(b), err
	case avro.Array:
		items, ok := v.([]any)
		if !ok {
			break
		}
		out := make([]any, len(items))
		for i, it := range items {
			var err error
			if out[i], err = canonOurs(s.(*avro.ArraySchema).Items(), it); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return out, nil
	case avro.Map:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			var err error
			if out[k], err = canonOurs(s.(*avro.MapSchema).Values(), e); err != nil {
				return nil, fmt.Errorf("[%q]: %w", k, err)
			}
		}
		return out, nil
	case avro.Record:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		fields := s.(*avro.RecordSchema).Fields()
		if len(m) != len(fields) {
			return nil, fmt.Errorf("record %s: %d members for %d fields", s.(*avro.RecordSchema).FullName(), len(m), len(fields))
		}
		out := make(map[string]any, len(fields))
		for _, f := range fields {
			e, ok := m[f.Name()]
			if !ok {
				return nil, fmt.Errorf("record: no field %s", f.Name())
			}
			var err error
			if out[f.Name()], err = canonOurs(f.Type(), e); err != nil {
				return nil, fmt.Errorf(".%s: %w", f.Name(), err)
			}
		}
		return out, nil
	case avro.Union:
		u := s.(*avro.UnionSchema)
		if v == nil {
			if _, i := u.Types().Get(string(avro.Null)); i >= 0 {
				return unionVal{i, nil}, nil
			}
			return nil, fmt.Errorf("union without null: got null")
		}
		if ok, _, other := nullUnion(u); ok {
			c, err := canonOurs(u.Types()[other], v)
			return unionVal{other, c}, err
		}
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			return nil, fmt.Errorf("union: want {\"<type>\": value}, got %v", v)
		}
		for k, e := range m {
			for i, b := range u.Types() {
				if branchName(b) == k {
					c, err := canonOurs(b, e)
					return unionVal{i, c}, err
				}
			}
			return nil, fmt.Errorf("union: no branch %q", k)
		}
	}
	return nil, fmt.Errorf("%s: got %T %v", s.Type(), v, v)
}

// hambaKnown are the union branch names hamba's default type resolver
// knows; a union with any other branch decodes into any as
// {"<name>": value}.
var hambaKnown = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true, "float": true, "double": true,
	"string": true, "bytes": true, "int.date": true, "int.time-millis": true,
	"long.timestamp-millis": true, "long.timestamp-micros": true, "long.time-micros": true,
	"bytes.decimal": true, "string.uuid": true,
}

// hambaName is how hamba names a union branch: a named type by its full
// name, any other by its type, with the logical type after a dot.
func hambaName(s avro.Schema) string {
	s = unref(s)
	if n, ok := s.(avro.NamedSchema); ok {
		return n.FullName()
	}
	name := string(s.Type())
	if l, ok := s.(avro.LogicalTypeSchema); ok && l.Logical() != nil {
		name += "." + string(l.Logical().Type())
	}
	return name
}

// hambaWraps reports whether hamba decodes a value of u into any as
// {"<name>": value}.
func hambaWraps(u *avro.UnionSchema) bool {
	for _, b := range u.Types() {
		name := hambaName(b)
		if unref(b).Type() == avro.Array || unref(b).Type() == avro.Map {
			name += ":" // array:string, never known
		}
		if !hambaKnown[name] {
			return true
		}
	}
	return false
}

// logicalOf is s's logical type, or "".
func logicalOf(s avro.Schema) avro.LogicalType {
	if l, ok := unref(s).(avro.LogicalTypeSchema); ok && l.Logical() != nil {
		return l.Logical().Type()
	}
	return ""
}

// canonHamba is the canonical form of v, what avro.Unmarshal into any
// read, as a value of s.
func canonHamba(s avro.Schema, v any) (any, error) {
	s = unref(s)
	switch s.Type() {
	case avro.Null:
		if v != nil {
			return nil, fmt.Errorf("null: got %v", v)
		}
		return nil, nil
	case avro.Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case avro.Int, avro.Long:
		switch n := v.(type) {
		case int:
			return int64(n), nil
		case int32:
			return int64(n), nil
		case int64:
			return n, nil
		case time.Time:
			switch logicalOf(s) {
			case avro.TimestampMillis, avro.LocalTimestampMillis:
				return n.UnixMilli(), nil
			case avro.TimestampMicros, avro.LocalTimestampMicros:
				return n.UnixMicro(), nil
			case avro.Date:
				return n.Unix() / 86400, nil
			}
		case time.Duration:
			switch logicalOf(s) {
			case avro.TimeMillis:
				return n.Milliseconds(), nil
			case avro.TimeMicros:
				return n.Microseconds(), nil
			}
		}
	case avro.Float:
		if f, ok := v.(float32); ok {
			return f32bits(math.Float32bits(f)), nil
		}
	case avro.Double:
		if f, ok := v.(float64); ok {
			return f64bits(math.Float64bits(f)), nil
		}
	case avro.String, avro.Enum:
		if str, ok := v.(string); ok {
			return str, nil
		}
	case avro.Bytes:
		if b, ok := v.([]byte); ok {
			return binString(b), nil
		}
	case avro.Fixed:
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Array && rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return binString(b), nil
		}
	case avro.Array:
		items, ok := v.([]any)
		if !ok {
			break
		}
		out := make([]any, len(items))
		for i, it := range items {
			var err error
			if out[i], err = canonHamba(s.(*avro.ArraySchema).Items(), it); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return out, nil
	case avro.Map:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			var err error
			if out[k], err = canonHamba(s.(*avro.MapSchema).Values(), e); err != nil {
				return nil, fmt.Errorf("[%q]: %w", k, err)
			}
		}
		return out, nil
	case avro.Record:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		fields := s.(*avro.RecordSchema).Fields()
		if len(m) != len(fields) {
			return nil, fmt.Errorf("record %s: %d members for %d fields", s.(*avro.RecordSchema).FullName(), len(m), len(fields))
		}
		out := make(map[string]any, len(fields))
		for _, f := range fields {
			e, ok := m[f.Name()]
			if !ok {
				return nil, fmt.Errorf("record: no field %s", f.Name())
			}
			var err error
			if out[f.Name()], err = canonHamba(f.Type(), e); err != nil {
				return nil, fmt.Errorf(".%s: %w", f.Name(), err)
			}
		}
		return out, nil
	case avro.Union:
		u := s.(*avro.UnionSchema)
		if v == nil {
			if _, i := u.Types().Get(string(avro.Null)); i >= 0 {
				return unionVal{i, nil}, nil
			}
			return nil, fmt.Errorf("union without null: got null")
		}
		if hambaWraps(u) {
			m, ok := v.(map[string]any)
			if !ok || len(m) != 1 {
				return nil, fmt.Errorf("union: want {\"<type>\": value}, got %v", v)
			}
			for k, e := range m {
				_, i := u.Types().Get(k)
				if i < 0 {
					return nil, fmt.Errorf("union: no branch %q", k)
				}
				c, err := canonHamba(u.Types()[i], e)
				return unionVal{i, c}, err
			}
		}
		// A plain value: its Go type names the branch.
		for i, b := range u.Types() {
			if b.Type() == avro.Null {
				continue
			}
			if c, err := canonHamba(b, v); err == nil && hambaGoType(b, v) {
				return unionVal{i, c}, nil
			}
		}
		return nil, fmt.Errorf("union: no branch for %T", v)
	}
	return nil, fmt.Errorf("%s: got %T %v", s.Type(), v, v)
}

// hambaGoType reports whether v has the Go type hamba's resolver gives
// branch b of a union it does not wrap.
func hambaGoType(b avro.Schema, v any) bool {
	switch v.(type) {
	case int:
		return b.Type() == avro.Int && logicalOf(b) == ""
	case int64:
		return b.Type() == avro.Long && logicalOf(b) == ""
	case time.Time, time.Duration:
		return logicalOf(b) != ""
	}
	return true // the other types name one branch only
}

// toHamba turns v, a JSON value Encode accepts for s (parsed by jsonAny),
// into the generic value avro.Marshal writes the same Avro value from. A
// record member left out stays out: hamba fills in the field's default.
// *unordered is set when a map has more than one entry: hamba writes a
// Go map's entries in Go's random order, ours sorted by key.
func toHamba(s avro.Schema, v any, unordered *bool) (any, error) {
	s = unref(s)
	switch s.Type() {
	case avro.Null, avro.Boolean, avro.String, avro.Enum:
		return v, nil
	case avro.Int:
		n, ok := v.(json.Number)
		if !ok {
			break
		}
		i, err := wholeJSONNumber(n)
		return int(i), err
	case avro.Long:
		n, ok := v.(json.Number)
		if !ok {
			break
		}
		return wholeJSONNumber(n)
	case avro.Float:
		n, ok := v.(json.Number)
		if !ok {
			break
		}
		f, err := strconv.ParseFloat(string(n), 32)
		return float32(f), err
	case avro.Double:
		n, ok := v.(json.Number)
		if !ok {
			break
		}
		return strconv.ParseFloat(string(n), 64)
	case avro.Bytes:
		return codePointBytes(v)
	case avro.Fixed:
		b, err := codePointBytes(v)
		if err != nil {
			return nil, err
		}
		arr := reflect.New(reflect.ArrayOf(len(b), reflect.TypeFor[byte]())).Elem()
		reflect.Copy(arr, reflect.ValueOf(b))
		return arr.Interface(), nil
	case avro.Array:
		items, ok := v.([]any)
		if !ok {
			break
		}
		out := make([]any, len(items))
		for i, it := range items {
			var err error
			if out[i], err = toHamba(s.(*avro.ArraySchema).Items(), it, unordered); err != nil {
				return nil, err
			}
		}
		return out, nil
	case avro.Map, avro.Record:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		if s.Type() == avro.Map && len(m) > 1 {
			*unordered = true
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			var es avro.Schema
			if ms, ok := s.(*avro.MapSchema); ok {
				es = ms.Values()
			} else {
				for _, f := range s.(*avro.RecordSchema).Fields() {
					if f.Name() == k {
						es = f.Type()
					}
				}
				if es == nil {
					return nil, fmt.Errorf("record: no field %s", k)
				}
			}
			var err error
			if out[k], err = toHamba(es, e, unordered); err != nil {
				return nil, err
			}
		}
		return out, nil
	case avro.Union:
		// hamba's map form of a union value, {"<hamba name>": value}, is
		// the one that names the branch whatever the value's Go type.
		u := s.(*avro.UnionSchema)
		if v == nil {
			return map[string]any{string(avro.Null): nil}, nil
		}
		var b avro.Schema
		if ok, _, other := nullUnion(u); ok {
			b = u.Types()[other]
		} else {
			m, ok := v.(map[string]any)
			if !ok || len(m) != 1 {
				return nil, fmt.Errorf("union: want {\"<type>\": value}, got %v", v)
			}
			for k, e := range m {
				for _, t := range u.Types() {
					// Encode also takes a named type's short name.
					name := branchName(t)
					if name == k || strings.HasSuffix(name, "."+k) {
						b, v = t, e
					}
				}
			}
			if b == nil {
				return nil, fmt.Errorf("union: no branch for %v", v)
			}
		}
		hv, err := toHamba(b, v, unordered)
		return map[string]any{hambaName(b): hv}, err
	}
	return nil, fmt.Errorf("%s: got %T %v", s.Type(), v, v)
}

// hambaReader is hamba's default configuration but for a bound on the
// items of an array: hamba makes room for a block's declared count before
// reading its items (up to 2^48 on 64-bit machines), so five fuzzed bytes
// asking for a billion strings ran the fuzzer out of memory
// (testdata/fuzz/FuzzAvroDifferential/709a881c8c6239f2). Ours checks
// every count against the bytes left first.
var hambaReader = avro.Config{MaxSliceAllocSize: 1 << 20}.Freeze()

// hambaUnmarshal is avro.Unmarshal into any, a panic turned into an error.
func hambaUnmarshal(s avro.Schema, body []byte) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("hamba panicked: %v", p)
		}
	}()
	err = hambaReader.Unmarshal(s, body, &v)
	return v, err
}

// sameAsHamba checks that ours, the JSON our Decode gave for body, is the
// value hamba reads from body with schema s.
func sameAsHamba(t testing.TB, s avro.Schema, body, ours []byte) {
	t.Helper()
	theirs, err := hambaUnmarshal(s, body)
	if err != nil {
		t.Fatalf("our Decode reads % x as %s; hamba refuses it: %v", body, ours, err)
	}
	jv, err := jsonAny(ours)
	if err != nil {
		t.Fatalf("our Decode gave %s: %v", ours, err)
	}
	a, err := canonOurs(s, jv)
	if err != nil {
		t.Fatalf("our Decode gave %s, not a value of the schema: %v", ours, err)
	}
	b, err := canonHamba(s, theirs)
	if err != nil {
		t.Fatalf("hamba read % x as %#v, not a value of the schema: %v", body, theirs, err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("% x:\nours  %s\n      %#v\nhamba %#v", body, ours, a, b)
	}
}

// FuzzAvroDifferential: bytes our Decode reads (after a single-object
// header of the schema), hamba reads too, as the same value. Bytes ours
// refuses and hamba reads are the known strictness of ours (see the top of
// the file): logged, not asserted.
func FuzzAvroDifferential(f *testing.F) {
	everything := avroCodecOf(f, "testdata/core/everything.avsc").(*avroCodec)
	sensor := avroCodecOf(f, sensorSchema).(*avroCodec)
	for _, c := range []struct {
		codec *avroCodec
		js    []string
	}{
		{everything, everythingCorpus(f)},
		{sensor, sensorCorpus},
	} {
		for _, js := range c.js {
			f.Add(mustEncode(f, c.codec, js)[singleObjectHeaderLen:])
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, c := range []*avroCodec{everything, sensor} {
			in := appendSingleObjectHeader(nil, c.reader.fingerprint)
			in = append(in, body...)
			out, err := c.Decode(in)
			if err == nil {
				sameAsHamba(t, c.reader.schema, body, out)
				continue
			}
			codecError(t, err)
			if _, herr := hambaUnmarshal(c.reader.schema, body); herr == nil {
				t.Logf("%s: ours refuses, hamba reads: %v", c.reader.base, err)
			}
		}
	})
}

// sensorCorpus are values of testdata/schemas/sensor_event.avsc.
var sensorCorpus = []string{
	sensorJSON,
	`{"sensor_id":"","metric":"m","value":0}`,
	`{"sensor_id":"dé😀\u0000","metric":"humidity","value":-1.7976931348623157e308,"unit":null,"ts":"t"}`,
	`{"sensor_id":"d","metric":"m","value":5e-324,"unit":"%"}`,
	`{"sensor_id":"d","metric":"m","value":-0}`,
	`{"sensor_id":"d","metric":"m","value":0.1}`,
	`{"sensor_id":"d","metric":"m","value":1e300,"ts":null}`,
}

// everythingCorpus are values of testdata/core/everything.avsc, each of
// everythingMinimal with one member changed: every field type, nested
// records, null and non-null union branches, empty arrays and maps, the
// ends of the int and long ranges, float32 edge values and spellings
// Encode accepts.
func everythingCorpus(t testing.TB) []string {
	const long = `9223372036854775807`
	members := []string{
		`"id":9223372036854775807`, `"id":-9223372036854775808`, `"id":-9223372036854775807`,
		`"id":4611686018427387904`, `"id":-4611686018427387905`, `"id":0`, `"id":-1`, `"id":63`, `"id":64`, `"id":-65`,
		`"id":9.2e18`, `"id":-0`, `"id":1e3`, `"id":12.0`,
		`"count":2147483647`, `"count":-2147483648`, `"count":1073741824`, `"count":-1073741825`, `"count":2e1`,
		`"ratio":3.4028235e38`, `"ratio":-3.4028235e38`, `"ratio":3.40282356e38`, // rounds to the largest float
		`"ratio":1e-45`, `"ratio":1.4e-45`, `"ratio":7e-46`, // smallest subnormal; 7e-46 rounds up to it
		`"ratio":1e-46`,                                   // rounds to 0
		`"ratio":1.17549435e-38`, `"ratio":1.1754942e-38`, // smallest normal; largest subnormal
		`"ratio":16777217`, `"ratio":16777219`, // ties to even
		`"ratio":0.1`, `"ratio":-0`, `"ratio":0`, `"ratio":0.3333333333333333`, `"ratio":1e-7`, `"ratio":123456789`,
		// Just above the midpoint between 1 and the next float: rounding
		// through a double first would give 1.
		`"ratio":1.0000000596046447753906251`,
		`"ok":true`,
		`"location":{"lat":-90,"lon":180.00000000000003}`, `"location":{"lat":5e-324,"lon":-1.7976931348623157e308}`,
		`"tags":[]`, `"tags":[""]`, `"tags":["é","😀","\u0000\u001f","` + strings.Repeat("x", 300) + `"]`,
		`"attrs":{}`, `"attrs":{"":0}`, `"attrs":{"max":` + long + `,"min":-9223372036854775808,"é":-1}`,
		`"color":"RED"`, `"color":"BLUE"`,
		`"note":null`, `"note":""`, `"note":"😀"`,
		`"choice":null`, `"choice":{"string":""}`, `"choice":{"long":-9223372036854775808}`, `"choice":{"long":` + long + `}`,
		`"choice":{"test.core.Location":{"lat":1,"lon":2}}`, `"choice":{"Location":{"lat":-0,"lon":0.5}}`,
		`"raw":""`, `"raw":"\u0000\u00ff\u0080abc"`, `"raw":"` + strings.Repeat(`\u00fe`, 200) + `"`,
		`"md5":"\u00ff\u00ff\u00ff\u00ff"`, `"md5":"\u0000\u0001\u0002\u0003"`,
		`"at":-9223372036854775808`, `"at":` + long, `"at":-1`, `"at":1700000000000`,
		`"next":null`,
		`"next":` + everythingMinimal,
		`"next":` + replaceField(t, everythingMinimal, `"next"`, `"next":`+everythingMinimal),
		`"level":-2147483648`,
	}
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = replaceField(t, everythingMinimal, m[:strings.IndexByte(m, ':')], m)
	}
	return append(out, everythingJSON, everythingMinimal)
}

// A union with a logical-typed branch: Avro's JSON encoding names the
// branch "long", hamba's generic form "long.timestamp-millis".
const logicalUnionSchema = `{"type":"record","name":"When","namespace":"test.diff","fields":[
 {"name":"at","type":["null","string",{"type":"long","logicalType":"timestamp-millis"}]},
 {"name":"d","type":{"type":"int","logicalType":"date"}},
 {"name":"tags","type":["null",{"type":"array","items":"int"},{"type":"map","values":"float"}],"default":null}]}`

// hambaOneBlock is hamba writing arrays and maps as ours does: one block
// whose count is not followed by its size in bytes. By default hamba
// writes blocks of 100 items, each count negated and followed by the
// block's size; the Avro specification allows both forms.
var hambaOneBlock = avro.Config{BlockLength: math.MaxInt32, DisableBlockSizeHeader: true}.Freeze()

// TestAvroEncodeDifferential: for values of every field type, Encode
// writes after its header exactly the bytes avro.Marshal writes for the
// same value (defaults included: members left out are left out of
// hamba's map too), and hamba reads them back as what our Decode gives.
// A map of several entries is written in another order by hamba (a Go
// map's), so for such values the bytes are compared by length and by
// each side reading the other's as the same value. Our Decode also reads
// what hamba writes by default (blocks with their sizes).
func TestAvroEncodeDifferential(t *testing.T) {
	logicalPath := filepath.Join(t.TempDir(), "when.avsc")
	if err := os.WriteFile(logicalPath, []byte(logicalUnionSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"testdata/core/everything.avsc": everythingCorpus(t),
		sensorSchema:                    sensorCorpus,
		"testdata/core/reading.v1.avsc": {
			`{"sensor":"s","count":2147483647,"value":3.4028235e38,"legacy":"","kind":"B"}`,
			`{"sensor":"s","count":-1,"value":-1e-45,"legacy":"l","kind":"A"}`,
		},
		"testdata/core/reading.v2.avsc": {
			`{"value":1,"sensor":"s","count":-9223372036854775808,"kind":"C"}`,
			`{"site":"","value":-0,"sensor":"s","count":9223372036854775807,"kind":"A","unit":"C"}`,
		},
		"testdata/core/logical.avsc": {
			`{"at":-9223372036854775808,"id":"6ba7b810-9dad-11d1-80b4-00c04fd430c8"}`,
			`{"at":9223372036854775807,"id":""}`,
		},
		logicalPath: {
			`{"at":null,"d":0}`,
			`{"at":{"string":"now"},"d":-2147483648,"tags":{"array":[]}}`,
			`{"at":{"long":1700000000000},"d":2147483647,"tags":{"map":{}}}`,
			`{"at":{"long":-9223372036854775808},"d":19000,"tags":{"array":[1,-2147483648]}}`,
			`{"at":{"long":9223372036854775807},"d":1,"tags":{"map":{"a":1.5,"b":-3.4028235e38}}}`,
		},
	}
	paths := make([]string, 0, len(cases))
	for p := range cases {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	n, reordered := 0, 0
	for _, path := range paths {
		c := avroCodecOf(t, path).(*avroCodec)
		s := c.reader.schema
		for _, js := range cases[path] {
			n++
			ours := mustEncode(t, c, js)
			body := ours[singleObjectHeaderLen:]
			jv, err := jsonAny([]byte(js))
			if err != nil {
				t.Fatalf("%s: %v", js, err)
			}
			var unordered bool
			hv, err := toHamba(s, jv, &unordered)
			if err != nil {
				t.Fatalf("%s: %s: %v", filepath.Base(path), js, err)
			}
			theirs, err := hambaOneBlock.Marshal(s, hv)
			if err != nil {
				t.Errorf("%s: hamba cannot write %s (%#v): %v", filepath.Base(path), js, hv, err)
				continue
			}
			decoded := mustDecode(t, c, ours)
			sameAsHamba(t, s, body, []byte(decoded))
			if unordered {
				reordered++
				// Another order of the map entries: the same length, and
				// ours reads hamba's bytes as the value it wrote.
				if len(body) != len(theirs) || !sameJSON(t, mustDecodeBody(t, c, theirs), decoded) {
					t.Errorf("%s: %s:\nours  % x\nhamba % x", filepath.Base(path), js, body, theirs)
				}
			} else if !bytes.Equal(body, theirs) {
				t.Errorf("%s: %s:\nours  % x\nhamba % x", filepath.Base(path), js, body, theirs)
				continue
			}
			// hamba's default form: blocks with their sizes.
			blocked, err := avro.Marshal(s, hv)
			if err != nil {
				t.Fatal(err)
			}
			if got := mustDecodeBody(t, c, blocked); !sameJSON(t, got, decoded) {
				t.Errorf("%s: %s: ours reads hamba's default form % x as %s, want %s", filepath.Base(path), js, blocked, got, decoded)
			}
		}
	}
	t.Logf("%d values: %d with the same bytes as hamba's, %d with maps of several entries (hamba writes those in Go's map order: compared by length and value)", n, n-reordered, reordered)
	// The spec's name of a logical-typed union branch is its type's;
	// hamba's map form wants "long.timestamp-millis" (see the top).
	s := unref(avroCodecOf(t, logicalPath).(*avroCodec).reader.schema).(*avro.RecordSchema).Fields()[0].Type()
	if _, err := avro.Marshal(s, map[string]any{"long": int64(5)}); err != nil {
		t.Logf(`hamba, {"long": 5} for %s: %v`, s, err)
	}
}

// spliceAt is b with its byte at index at replaced by with.
func spliceAt(b []byte, at int, with ...byte) []byte {
	return append(append(append([]byte{}, b[:at]...), with...), b[at+1:]...)
}

// mustDecodeBody decodes an Avro body of c's newest schema.
func mustDecodeBody(t testing.TB, c *avroCodec, body []byte) string {
	t.Helper()
	return mustDecode(t, c, append(appendSingleObjectHeader(nil, c.reader.fingerprint), body...))
}

// The strictness of our decoder the top of the file lists: each of these
// is refused by ours, whatever hamba does with it.
func TestAvroDecodeStricterThanHamba(t *testing.T) {
	c := avroCodecOf(t, sensorSchema).(*avroCodec)
	e := avroCodecOf(t, "testdata/core/everything.avsc").(*avroCodec)
	good := mustEncode(t, c, `{"sensor_id":"d","metric":"m","value":1}`)
	fiveByteInt := []byte{0x80, 0x80, 0x80, 0x80, 0x10} // 2^32 after zig-zag: past 32 bits
	attrs := mustEncode(t, e, replaceField(t, everythingMinimal, `"attrs"`, `"attrs":{"k":1,"j":2}`))
	for _, tc := range []struct {
		name string
		c    *avroCodec
		in   []byte
		want string
	}{
		{"trailing bytes", c, append(bytes.Clone(good), 0), "1 bytes left over after the value: not a value of the schema it names"},
		{"invalid UTF-8", c, withBytes(good, singleObjectHeaderLen+1, []byte{0xff}), "field `sensor_id`: the string is not valid UTF-8"},
		{"NaN", c, withBytes(good, singleObjectHeaderLen+4, []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f}), "field `value`: NaN has no JSON form"},
		{"cut short", c, good[:len(good)-2], "field `unit`: the value ends too early (inside a number)"},
		{"a map key twice", e, bytes.Replace(attrs, []byte{2, 'j'}, []byte{2, 'k'}, 1), "field `attrs`: key \"k\" appears twice"},
		{"a long past 64 bits", e, spliceAt(mustEncode(t, e, everythingMinimal), singleObjectHeaderLen, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
			"field `id`: malformed number (a varint longer than 64 bits)"},
		{"an int past 32 bits", e, withBytes(mustEncode(t, e, replaceField(t, everythingMinimal, `"count"`, `"count":-1073741825`)), singleObjectHeaderLen+1, fiveByteInt),
			"field `count`: malformed int (2147483648 is out of the int range)"},
	} {
		_, err := tc.c.Decode(tc.in)
		if err == nil {
			t.Errorf("%s: ours reads % x", tc.name, tc.in)
			continue
		}
		if got, want := codecError(t, err), `topic "events.test": `+tc.want; got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, want)
		}
		if v, herr := hambaUnmarshal(tc.c.reader.schema, tc.in[singleObjectHeaderLen:]); herr == nil {
			t.Logf("%s: hamba reads it, as %v", tc.name, v)
		} else {
			t.Logf("%s: hamba refuses it too: %v", tc.name, herr)
		}
	}
}

// An int, an enum's symbol index and a union's branch index are Avro ints:
// varints of at most 5 bytes. Ours read a union's index as a long and any
// int from a varint of up to 10 bytes, so it took a 6-byte encoding of 0
// as a union's null branch, which Java's BinaryDecoder refuses ("Invalid
// int encoding") and hamba cannot read: its ReadInt stops after 5 bytes
// and reports the end of the input, so Unmarshal gives an error or (see
// "cut short" at the top) a nil value (FuzzAvroDifferential found it:
// testdata/fuzz/FuzzAvroDifferential/b9de3713d0a84fb5). Five bytes, even
// for a small value, is fine, and hamba reads it alike.
func TestAvroDecodeOverlongInt(t *testing.T) {
	sensor := avroCodecOf(t, sensorSchema).(*avroCodec)
	reading := avroCodecOf(t, "testdata/core/reading.v1.avsc").(*avroCodec)
	// sensor_id "d", metric "m", value 1, then unit and ts: null (index 0).
	sensorBody := mustEncode(t, sensor, `{"sensor_id":"d","metric":"m","value":1}`)[singleObjectHeaderLen:]
	// sensor "s", count 1, value 1, legacy "", then kind: A (index 0).
	readingBody := mustEncode(t, reading, `{"sensor":"s","count":1,"value":1,"legacy":"","kind":"A"}`)[singleObjectHeaderLen:]
	six := []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}
	five := []byte{0x80, 0x80, 0x80, 0x80, 0x00}
	for _, tc := range []struct {
		name string
		c    *avroCodec
		body []byte
		want string // "": read, as hamba reads it
	}{
		{"union index, 6 bytes", sensor, spliceAt(sensorBody, 12, six...), "field `unit`: malformed int (a varint of 6 bytes, longer than 5)"},
		{"union index, 5 bytes", sensor, spliceAt(sensorBody, 12, five...), ""},
		{"enum index, 6 bytes", reading, spliceAt(readingBody, len(readingBody)-1, six...), "field `kind`: malformed int (a varint of 6 bytes, longer than 5)"},
		{"enum index, 5 bytes", reading, spliceAt(readingBody, len(readingBody)-1, five...), ""},
		{"int, 6 bytes", reading, spliceAt(readingBody, 2, 0x82, 0x80, 0x80, 0x80, 0x80, 0x00), "field `count`: malformed int (a varint of 6 bytes, longer than 5)"},
		{"int, 5 bytes", reading, spliceAt(readingBody, 2, 0x82, 0x80, 0x80, 0x80, 0x00), ""},
	} {
		in := append(appendSingleObjectHeader(nil, tc.c.reader.fingerprint), tc.body...)
		out, err := tc.c.Decode(in)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			sameAsHamba(t, tc.c.reader.schema, tc.body, out)
			continue
		}
		if err == nil {
			t.Errorf("%s: ours reads % x as %s", tc.name, tc.body, out)
			continue
		}
		if got, want := codecError(t, err), `topic "events.test": `+tc.want; got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, want)
		}
		// hamba stops at the 6th byte: an error, or no error and nil.
		v, herr := hambaUnmarshal(tc.c.reader.schema, tc.body)
		t.Logf("%s: hamba: %v, %v", tc.name, v, herr)
	}
}
