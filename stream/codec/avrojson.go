package codec

// The Avro <-> JSON mapping nodes see (see the package doc and
// notes/avro-design.md): what both directions share — how a failure names
// its place and reason, how a type and a JSON value are described in
// messages, and the JSON text the decoder writes.
//
// Both directions are compiled once per schema (avroencode.go: JSON ->
// Avro binary for a writer schema; avrodecode.go: Avro binary of a writer
// schema -> JSON of a reader schema, with Avro's resolution rules) into a
// tree of nodes walked per record, without reflection.
//
//	record          object, fields in the schema's order
//	enum            string (the symbol)
//	array, map      array, object
//	union           null-or-one-type: null or the plain value;
//	                others: null or {"<type name>": value}, named types by
//	                full name (Avro's JSON encoding)
//	int, long       integer (a fraction or an out-of-range number is refused)
//	float, double   number (NaN and infinities have no JSON form: refused)
//	bytes, fixed    string of code points U+0000-U+00FF, one per byte
//	logical types   their underlying type (timestamp-millis: a long)

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/hamba/avro/v2"
)

// walkErr is a value that does not fit its schema, found while walking
// it. path holds the segments from the failure outwards (".lat",
// "[2]", `["k"]`), pushed while the walk unwinds, so that the success path
// builds nothing.
type walkErr struct {
	path   []string
	reason string
	// mismatch: the JSON value at this very place has the wrong type.
	// expected and got let a union re-word it ("expected null or double").
	mismatch      bool
	expected, got string
	// syntax: the text is not valid JSON (Encode words it as
	// encoding/json does).
	syntax bool
}

func (e *walkErr) push(seg string) *walkErr {
	e.path = append(e.path, seg)
	return e
}

// field is the error's path as users read it: "location.lat", "tags[2]",
// `attrs["k"]`; "" for the value as a whole.
func (e *walkErr) field() string {
	var b strings.Builder
	for i := len(e.path) - 1; i >= 0; i-- {
		b.WriteString(e.path[i])
	}
	return strings.TrimPrefix(b.String(), ".")
}

func (e *walkErr) asError(topic string) *Error {
	return &Error{Topic: topic, Field: e.field(), Reason: e.reason}
}

func failf(reason string) *walkErr { return &walkErr{reason: reason} }

// mismatch says the value at s's position is not what expected names.
func mismatch(expected string, s *jsonScanner) *walkErr {
	got, werr := s.describe()
	if werr != nil {
		return werr
	}
	return mismatchOf(expected, got)
}

func mismatchOf(expected, got string) *walkErr {
	return &walkErr{reason: "expected " + expected + ", got " + got, mismatch: true, expected: expected, got: got}
}

// Path segments.
func fieldSeg(name string) string { return "." + name }
func indexSeg(i int) string       { return "[" + strconv.Itoa(i) + "]" }
func keySeg(k string) string      { return "[" + strconv.Quote(k) + "]" }

// shorten cuts a long value in a message to its first 40 characters.
func shorten(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// unref is the schema a reference names.
func unref(s avro.Schema) avro.Schema {
	if r, ok := s.(*avro.RefSchema); ok {
		return r.Schema()
	}
	return s
}

// typeLabel names a schema type for a message: double, record
// sluice.sensors.Location, enum sluice.Color, fixed sluice.MD5 (16 bytes),
// array, map.
func typeLabel(s avro.Schema) string {
	switch t := unref(s).(type) {
	case *avro.RecordSchema:
		return "record " + t.FullName()
	case *avro.EnumSchema:
		return "enum " + t.FullName()
	case *avro.FixedSchema:
		return "fixed " + t.FullName() + " (" + strconv.Itoa(t.Size()) + " bytes)"
	case *avro.UnionSchema:
		names := make([]string, len(t.Types()))
		for i, b := range t.Types() {
			names[i] = branchName(b)
		}
		return "union [" + strings.Join(names, ", ") + "]"
	}
	return string(s.Type())
}

// branchName is how Avro's JSON encoding names a union branch: a named
// type by its full name, any other by its type (long for a
// timestamp-millis, array, map).
func branchName(s avro.Schema) string {
	s = unref(s)
	if n, ok := s.(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}

// nullUnion reports whether u is null plus exactly one other type (the
// optional-value idiom, seen by nodes as null or the plain value) and the
// index of each.
func nullUnion(u *avro.UnionSchema) (isNullUnion bool, nullIdx, otherIdx int) {
	ts := u.Types()
	if len(ts) != 2 {
		return false, -1, -1
	}
	switch {
	case ts[0].Type() == avro.Null && ts[1].Type() != avro.Null:
		return true, 0, 1
	case ts[1].Type() == avro.Null && ts[0].Type() != avro.Null:
		return true, 1, 0
	}
	return false, -1, -1
}

// JSON text.

// appendJSONString appends s as a JSON string. s must be valid UTF-8
// (callers check).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == '\u2028' || r == '\u2029' {
				// Valid JSON, but not valid JavaScript: escape as
				// encoding/json does.
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\u202`...)
				dst = append(dst, hexDigits[r&0xF])
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONBytes appends b as Avro's JSON encoding of bytes: a string
// whose code points U+0000-U+00FF are the bytes. Printable ASCII is
// written as is, every other byte as \u00XX.
func appendJSONBytes(dst, b []byte) []byte {
	dst = append(dst, '"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c >= 0x20 && c < 0x7f:
			dst = append(dst, c)
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
	}
	return append(dst, '"')
}

// appendJSONFloat appends f as encoding/json would: the shortest form that
// reads back as the same value, in exponent form only for very large or
// small numbers. bits is 32 for an Avro float, 64 for a double. f must be
// finite.
func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// e-09 -> e-9, as encoding/json writes it.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// unsafeString views b as a string without copying, for the time of a
// call that only reads it.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
