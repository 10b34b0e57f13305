package codec

// JSON -> Avro binary (Encode): the node's JSON text, scanned token by
// token (jsonscan.go) along the writer schema and written as Avro binary
// directly (zig-zag varints, little-endian floats), with no tree of Go
// values in between. Strictly: a field the schema lacks, a field given
// twice, a missing field without a default, a value of the wrong type, an
// integer out of range or with a fraction are refused, naming the field.
// Numbers are read from their text, so a long keeps all its digits.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hamba/avro/v2"
)

// encNode is one schema type compiled for encoding.
type encNode struct {
	typ   avro.Type // Record for error records too
	label string    // what the node expects, for messages (typeLabel)

	// record
	fields   []encField
	fieldIdx map[string]int
	fullName string // record, enum, fixed

	// enum
	symbols    map[string]int
	symbolList string // "A, B, C", for messages

	// fixed
	size int

	// array items, map values
	elem *encNode

	// union
	branches    []*encNode
	byName      map[string]int // Avro JSON names of the branches (full, and short when unambiguous)
	branchNames []string       // Avro JSON names, by branch
	branchList  string         // "null, string, long", for messages
	nullIdx     int            // index of the null branch; -1: none
	otherIdx    int            // null-or-one-type union: the other branch; -1: not such a union
}

type encField struct {
	name   string
	node   *encNode
	hasDef bool
	def    []byte // the default, as Avro binary
}

// encCompiler builds the node tree of one schema; named types (records
// may refer to themselves) are compiled once.
type encCompiler struct {
	named   map[string]*encNode
	records []*recordDefaults
}

type recordDefaults struct {
	node   *encNode
	schema *avro.RecordSchema
}

// compileEncoder compiles s for encoding.
func compileEncoder(s avro.Schema) (*encNode, error) {
	c := &encCompiler{named: map[string]*encNode{}}
	n := c.compile(s)
	// Defaults last: a default may be of a type compiled after its field
	// (a record's own type). Nested records come after their parents, so
	// going backwards encodes inner defaults first.
	for i := len(c.records) - 1; i >= 0; i-- {
		if err := c.defaults(c.records[i]); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (c *encCompiler) compile(s avro.Schema) *encNode {
	s = unref(s)
	if ns, ok := s.(avro.NamedSchema); ok {
		if n := c.named[ns.FullName()]; n != nil {
			return n
		}
	}
	n := &encNode{typ: s.Type(), label: typeLabel(s), nullIdx: -1, otherIdx: -1}
	switch t := s.(type) {
	case *avro.RecordSchema:
		n.typ, n.fullName = avro.Record, t.FullName()
		c.named[t.FullName()] = n
		n.fieldIdx = make(map[string]int, len(t.Fields()))
		for i, f := range t.Fields() {
			n.fieldIdx[f.Name()] = i
			n.fields = append(n.fields, encField{name: f.Name(), node: c.compile(f.Type()), hasDef: f.HasDefault()})
		}
		c.records = append(c.records, &recordDefaults{node: n, schema: t})
	case *avro.EnumSchema:
		n.fullName = t.FullName()
		c.named[t.FullName()] = n
		n.symbols = make(map[string]int, len(t.Symbols()))
		for i, sym := range t.Symbols() {
			n.symbols[sym] = i
		}
		n.symbolList = strings.Join(t.Symbols(), ", ")
	case *avro.FixedSchema:
		n.fullName, n.size = t.FullName(), t.Size()
		c.named[t.FullName()] = n
	case *avro.ArraySchema:
		n.elem = c.compile(t.Items())
	case *avro.MapSchema:
		n.elem = c.compile(t.Values())
	case *avro.UnionSchema:
		n.byName = map[string]int{}
		short := map[string]int{}
		names := make([]string, len(t.Types()))
		for i, b := range t.Types() {
			n.branches = append(n.branches, c.compile(b))
			names[i] = branchName(b)
			n.byName[names[i]] = i
			if b.Type() == avro.Null {
				n.nullIdx = i
			}
			if dot := strings.LastIndexByte(names[i], '.'); dot >= 0 {
				if _, dup := short[names[i][dot+1:]]; dup {
					short[names[i][dot+1:]] = -1
				} else {
					short[names[i][dot+1:]] = i
				}
			}
		}
		for name, i := range short {
			if _, taken := n.byName[name]; !taken && i >= 0 {
				n.byName[name] = i
			}
		}
		n.branchNames, n.branchList = names, strings.Join(names, ", ")
		if ok, _, other := nullUnion(t); ok {
			n.otherIdx = other
		}
	}
	return n
}

// defaults encodes the defaults of a record's fields once. A union's
// default is a value of its first branch (Avro spec).
func (c *encCompiler) defaults(r *recordDefaults) error {
	for i, f := range r.schema.Fields() {
		ef := &r.node.fields[i]
		if !ef.hasDef {
			continue
		}
		b, err := encodeDefault(ef.node, f.Default())
		if err != nil {
			return fmt.Errorf("record %s: the default of field %s %v", r.node.fullName, f.Name(), err)
		}
		ef.def = b
	}
	return nil
}

// encodeDefault encodes a default as hamba parsed it with node; a union's
// default is a value of its first type (Avro spec).
func encodeDefault(node *encNode, def any) ([]byte, error) {
	js, err := json.Marshal(jsonOfDefault(def))
	if err != nil {
		return nil, fmt.Errorf("cannot be written as JSON: %v", err)
	}
	var prefix []byte
	if node.typ == avro.Union {
		node, prefix = node.branches[0], binary.AppendVarint(nil, 0)
	}
	b, werr := node.encodeJSON(prefix, js)
	if werr != nil {
		return nil, fmt.Errorf("does not fit its type: %s", werr.reason)
	}
	return b, nil
}

// jsonOfDefault turns a default as hamba parsed it (int, int64, float32,
// []byte, [N]byte...) into the JSON value encoding walks.
func jsonOfDefault(v any) any {
	switch v := v.(type) {
	case nil, bool, string:
		return v
	case int:
		return json.Number(strconv.Itoa(v))
	case int32:
		return json.Number(strconv.FormatInt(int64(v), 10))
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	case float32:
		return json.Number(strconv.FormatFloat(float64(v), 'g', -1, 32))
	case float64:
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64))
	case []byte:
		return codePoints(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonOfDefault(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = jsonOfDefault(e)
		}
		return out
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Array && rv.Type().Elem().Kind() == reflect.Uint8 {
		b := make([]byte, rv.Len())
		reflect.Copy(reflect.ValueOf(b), rv)
		return codePoints(b)
	}
	return v
}

// codePoints is bytes as Avro's JSON encoding writes them: one code point
// per byte.
func codePoints(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// encodeJSON encodes the JSON text js (one value, nothing after it) as
// Avro binary appended to buf.
func (n *encNode) encodeJSON(buf, js []byte) ([]byte, *walkErr) {
	s := jsonScanner{b: js}
	buf, werr := n.encode(buf, &s)
	if werr == nil && s.peek() != 0 {
		werr = errSyntax // something after the value
	}
	return buf, werr
}

// encode appends the Avro binary of the JSON value at s's position to buf
// and moves s past it.
func (n *encNode) encode(buf []byte, s *jsonScanner) ([]byte, *walkErr) {
	c := s.peek()
	switch n.typ {
	case avro.Null:
		if c != 'n' {
			return buf, mismatch("null", s)
		}
		return buf, s.literal("null")
	case avro.Boolean:
		switch c {
		case 't':
			return append(buf, 1), s.literal("true")
		case 'f':
			return append(buf, 0), s.literal("false")
		}
		return buf, mismatch("boolean", s)
	case avro.Int, avro.Long:
		if c != '-' && (c < '0' || c > '9') {
			return buf, mismatch(string(n.typ), s)
		}
		num, werr := s.number()
		if werr != nil {
			return buf, werr
		}
		i, werr := wholeNumber(num, n.typ)
		if werr != nil {
			return buf, werr
		}
		return binary.AppendVarint(buf, i), nil
	case avro.Float, avro.Double:
		if c != '-' && (c < '0' || c > '9') {
			return buf, mismatch(string(n.typ), s)
		}
		num, werr := s.number()
		if werr != nil {
			return buf, werr
		}
		bits := 64
		if n.typ == avro.Float {
			bits = 32
		}
		f, err := strconv.ParseFloat(num, bits)
		if err != nil || math.IsInf(f, 0) {
			return buf, failf(fmt.Sprintf("expected %s, got number %s, which is out of the %s range", n.typ, shorten(num), n.typ))
		}
		if bits == 32 {
			return binary.LittleEndian.AppendUint32(buf, math.Float32bits(float32(f))), nil
		}
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(f)), nil
	case avro.String:
		if c != '"' {
			return buf, mismatch("string", s)
		}
		v, werr := s.str()
		if werr != nil {
			return buf, werr
		}
		buf = binary.AppendVarint(buf, int64(len(v)))
		return append(buf, v...), nil
	case avro.Bytes:
		if c != '"' {
			return buf, mismatch("bytes (a string of code points U+0000-U+00FF)", s)
		}
		v, werr := s.str()
		if werr != nil {
			return buf, werr
		}
		buf = binary.AppendVarint(buf, int64(byteCount(v)))
		return appendCodePoints(buf, v, "bytes")
	case avro.Fixed:
		if c != '"' {
			return buf, mismatch(n.label+", a string of code points U+0000-U+00FF", s)
		}
		v, werr := s.str()
		if werr != nil {
			return buf, werr
		}
		if c := byteCount(v); c != n.size {
			return buf, failf(fmt.Sprintf("expected %s, got %d bytes", n.label, c))
		}
		return appendCodePoints(buf, v, n.label)
	case avro.Enum:
		if c != '"' {
			return buf, mismatch(n.label, s)
		}
		v, werr := s.str()
		if werr != nil {
			return buf, werr
		}
		i, ok := n.symbols[v]
		if !ok {
			return buf, failf(fmt.Sprintf("%s is not a symbol of %s (%s)", strconv.Quote(shorten(v)), n.label, n.symbolList))
		}
		return binary.AppendVarint(buf, int64(i)), nil
	case avro.Array:
		if c != '[' {
			return buf, mismatch("array", s)
		}
		return n.encodeArray(buf, s)
	case avro.Map:
		if c != '{' {
			return buf, mismatch("map (an object)", s)
		}
		return n.encodeMap(buf, s)
	case avro.Union:
		return n.encodeUnion(buf, s, c)
	case avro.Record:
		if c != '{' {
			return buf, mismatch(n.label, s)
		}
		return n.encodeRecord(buf, s)
	}
	return buf, failf("cannot encode Avro type " + string(n.typ))
}

// members walks the members of the object at s's position ('{' next),
// calling member with s on each member's value; the callbacks return the
// grown buf.
func members(buf []byte, s *jsonScanner, member func(buf []byte, key string) ([]byte, *walkErr)) ([]byte, *walkErr) {
	s.i++ // {
	if s.peek() == '}' {
		s.i++
		return buf, nil
	}
	for {
		if s.peek() != '"' {
			return buf, errSyntax
		}
		key, werr := s.str()
		if werr != nil {
			return buf, werr
		}
		if werr := s.expect(':'); werr != nil {
			return buf, werr
		}
		if buf, werr = member(buf, key); werr != nil {
			return buf, werr
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return buf, nil
		default:
			return buf, errSyntax
		}
	}
}

// insertVarint inserts the varint v at buf[at:], moving what follows.
func insertVarint(buf []byte, at int, v int64) []byte {
	var tmp [binary.MaxVarintLen64]byte
	h := binary.PutVarint(tmp[:], v)
	buf = append(buf, tmp[:h]...)
	copy(buf[at+h:], buf[at:len(buf)-h])
	copy(buf[at:], tmp[:h])
	return buf
}

func (n *encNode) encodeArray(buf []byte, s *jsonScanner) ([]byte, *walkErr) {
	s.i++ // [
	if s.peek() == ']' {
		s.i++
		return append(buf, 0), nil
	}
	// One block: the count goes first, but is known last.
	start, count := len(buf), 0
	for {
		var werr *walkErr
		if buf, werr = n.elem.encode(buf, s); werr != nil {
			return buf, werr.push(indexSeg(count))
		}
		count++
		switch s.peek() {
		case ',':
			s.i++
			continue
		case ']':
			s.i++
		default:
			return buf, errSyntax
		}
		break
	}
	buf = insertVarint(buf, start, int64(count))
	return append(buf, 0), nil
}

type mapEntry struct {
	key        string
	start, end int // the value's bytes, relative to the map's start
}

func (n *encNode) encodeMap(buf []byte, s *jsonScanner) ([]byte, *walkErr) {
	start := len(buf)
	var entriesBuf [8]mapEntry
	entries := entriesBuf[:0]
	buf, werr := members(buf, s, func(buf []byte, key string) ([]byte, *walkErr) {
		at := len(buf)
		buf, werr := n.elem.encode(buf, s)
		if werr != nil {
			return buf, werr.push(keySeg(key))
		}
		entries = append(entries, mapEntry{key: key, start: at - start, end: len(buf) - start})
		return buf, nil
	})
	if werr != nil {
		return buf, werr
	}
	if len(entries) == 0 {
		return append(buf, 0), nil
	}
	// Keys sorted on the wire: the same JSON gives the same bytes, and
	// a key given twice shows.
	if len(entries) > 1 {
		slices.SortStableFunc(entries, func(a, b mapEntry) int { return strings.Compare(a.key, b.key) })
		for i := 1; i < len(entries); i++ {
			if entries[i].key == entries[i-1].key {
				return buf, failf("appears twice in the object").push(keySeg(entries[i].key))
			}
		}
	}
	values := slices.Clone(buf[start:])
	buf = binary.AppendVarint(buf[:start], int64(len(entries)))
	for _, e := range entries {
		buf = binary.AppendVarint(buf, int64(len(e.key)))
		buf = append(buf, e.key...)
		buf = append(buf, values[e.start:e.end]...)
	}
	return append(buf, 0), nil
}

// maxInlineFields is the size of the record bookkeeping kept on the
// stack; larger records allocate it.
const maxInlineFields = 32

func (n *encNode) encodeRecord(buf []byte, s *jsonScanner) ([]byte, *walkErr) {
	start := len(buf)
	var spansBuf [maxInlineFields][2]int
	var seenBuf [maxInlineFields]bool
	spans, seen := spansBuf[:], seenBuf[:]
	if len(n.fields) > maxInlineFields {
		spans, seen = make([][2]int, len(n.fields)), make([]bool, len(n.fields))
	}
	last, inOrder, count := -1, true, 0
	buf, werr := members(buf, s, func(buf []byte, key string) ([]byte, *walkErr) {
		i, ok := n.fieldIdx[key]
		if !ok {
			return buf, failf("not in schema " + n.fullName).push(fieldSeg(key))
		}
		if seen[i] {
			return buf, failf("appears twice in the object").push(fieldSeg(key))
		}
		seen[i] = true
		count++
		if i < last {
			inOrder = false
		}
		last = i
		at := len(buf)
		buf, werr := n.fields[i].node.encode(buf, s)
		if werr != nil {
			return buf, werr.push(fieldSeg(key))
		}
		spans[i] = [2]int{at - start, len(buf) - start}
		return buf, nil
	})
	if werr != nil {
		return buf, werr
	}
	if count == len(n.fields) && inOrder {
		return buf, nil // the usual case: every field, in the schema's order
	}
	// Defaults for the missing fields; only trailing ones can be
	// appended in place.
	for i := range n.fields {
		if !seen[i] && !n.fields[i].hasDef {
			return buf, failf("missing, and it has no default").push(fieldSeg(n.fields[i].name))
		}
		if !seen[i] && i < last {
			inOrder = false
		}
	}
	if inOrder {
		for i := last + 1; i < len(n.fields); i++ {
			buf = append(buf, n.fields[i].def...)
		}
		return buf, nil
	}
	given := slices.Clone(buf[start:])
	buf = buf[:start]
	for i := range n.fields {
		if seen[i] {
			buf = append(buf, given[spans[i][0]:spans[i][1]]...)
		} else {
			buf = append(buf, n.fields[i].def...)
		}
	}
	return buf, nil
}

func (n *encNode) encodeUnion(buf []byte, s *jsonScanner, c byte) ([]byte, *walkErr) {
	if c == 'n' && n.nullIdx >= 0 {
		return binary.AppendVarint(buf, int64(n.nullIdx)), s.literal("null")
	}
	if n.otherIdx >= 0 {
		start := len(buf)
		buf = binary.AppendVarint(buf, int64(n.otherIdx))
		buf, werr := n.branches[n.otherIdx].encode(buf, s)
		if werr != nil && werr.mismatch && len(werr.path) == 0 {
			return buf[:start], mismatchOf("null or "+werr.expected, werr.got)
		}
		return buf, werr
	}
	if c != '{' {
		return buf, mismatch(n.unionExpected(), s)
	}
	// {"<type>": value}: exactly one member.
	save := s.i
	s.i++
	if s.peek() != '"' {
		s.i = save
		return buf, mismatch(n.unionExpected(), s)
	}
	name, werr := s.str()
	if werr != nil {
		return buf, werr
	}
	if werr := s.expect(':'); werr != nil {
		return buf, werr
	}
	i, ok := n.byName[name]
	if !ok {
		return buf, failf(fmt.Sprintf("the union has no type %s (its types: %s)", strconv.Quote(shorten(name)), n.branchList))
	}
	buf = binary.AppendVarint(buf, int64(i))
	if buf, werr = n.branches[i].encode(buf, s); werr != nil {
		return buf, werr
	}
	if s.peek() != '}' {
		s.i = save
		return buf, mismatch(n.unionExpected(), s)
	}
	s.i++
	return buf, nil
}

// unionExpected says what a union other than null-or-one-type takes.
func (n *encNode) unionExpected() string {
	var alts []string
	for i, b := range n.branchNames {
		if i == n.nullIdx {
			alts = append(alts, "null")
			continue
		}
		alts = append(alts, `{"`+b+`": ...}`)
	}
	return "a value of union [" + n.branchList + "] as " + strings.Join(alts, " or ")
}

// wholeNumber reads num as an int or a long: a fraction (3.5) or a number
// out of the type's range is refused; 3.0 and 3e2 are whole numbers.
func wholeNumber(num string, typ avro.Type) (int64, *walkErr) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if typ == avro.Int {
		lo, hi = math.MinInt32, math.MaxInt32
	}
	s := num
	i, err := strconv.ParseInt(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, failf(fmt.Sprintf("expected %s, got number %s, which is out of the %s range (%d to %d)", typ, shorten(s), typ, lo, hi))
	}
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		switch {
		case ferr == nil && f != math.Trunc(f):
			return 0, failf(fmt.Sprintf("expected %s, got number %s, which is not a whole number", typ, shorten(s)))
		case ferr == nil && f >= -9.223372036854775808e18 && f < 9.223372036854775808e18:
			i = int64(f)
		default:
			return 0, failf(fmt.Sprintf("expected %s, got number %s, which is out of the %s range (%d to %d)", typ, shorten(s), typ, lo, hi))
		}
	}
	if i < lo || i > hi {
		return 0, failf(fmt.Sprintf("expected %s, got number %s, which is out of the %s range (%d to %d)", typ, shorten(s), typ, lo, hi))
	}
	return i, nil
}

// byteCount is how many bytes the code points of s stand for.
func byteCount(s string) int {
	return utf8.RuneCountInString(s)
}

// appendCodePoints appends the bytes the code points of s stand for; a
// code point above U+00FF is refused.
func appendCodePoints(buf []byte, s, what string) ([]byte, *walkErr) {
	for i, r := range s {
		if r > 0xFF {
			return buf, failf(fmt.Sprintf("expected %s as a string of code points U+0000-U+00FF (one per byte), got %U at offset %d", what, r, i))
		}
		buf = append(buf, byte(r))
	}
	return buf, nil
}
