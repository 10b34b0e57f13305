package codec

// Avro binary -> JSON (Decode): a plan compiled once per (writer schema,
// reader schema) pair applies Avro's schema resolution rules (fields
// matched by name or the reader's aliases, writer-only fields skipped,
// reader-only fields filled with their defaults, numeric promotions,
// string <-> bytes, enum symbols by name, union branches) while reading
// the writer's bytes and writes the reader's JSON directly: no
// intermediate values. A writer that is the reader (the usual case) is
// the same plan with nothing to resolve.
//
// The walk trusts nothing in the bytes: every length and count is checked
// against what is left, nesting is bounded, and any failure is a walkErr
// naming the field.

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hamba/avro/v2"
)

type decOp uint8

const (
	opNull decOp = iota
	opBool
	opInt         // int as an integer (for an int or a long reader)
	opLong        // long as an integer
	opIntAsFloat  // int or long read as float
	opIntAsDouble // int or long read as double
	opFloat
	opFloatAsDouble
	opDouble
	opString
	opBytes
	opStringAsBytes
	opBytesAsString
	opFixed
	opEnum
	opArray
	opMap
	opRecord
	opUnion // a writer union: the branch index picks the plan
	opWrap  // a non-union writer read by a reader union: {"<type>": value}
)

type decNode struct {
	op       decOp
	writeInt bool // opIntAsFloat/opIntAsDouble: the writer wrote an int (else a long)
	size     int  // opFixed
	label    string

	// opEnum: by writer symbol index, the reader's symbol as JSON text;
	// nil when the reader has no such symbol and no default (enumErrs).
	enumOut  [][]byte
	enumErrs []string

	elem *decNode // opArray, opMap; opWrap: the wrapped value
	// minSize is the fewest bytes one value of elem takes: a count of
	// items larger than the bytes left could allow is refused at once.
	minSize int

	rec *decRecord

	// opUnion, by writer branch; a nil branch cannot be read (unionErrs).
	branches  []*decNode
	unionErrs []string

	prefix []byte // opWrap: {"<type>":
}

type decRecord struct {
	steps []decStep // the writer's fields, in the writer's order
	out   []decOut  // the reader's fields, in the reader's order
	// direct: steps are the reader's fields in order, nothing to skip or
	// fill, so the JSON is written as the bytes are read.
	direct bool
}

type decStep struct {
	slot int // index in out; -1: a field the reader lacks (read and dropped)
	node *decNode
	name string
}

type decOut struct {
	prefix []byte // "name":
	def    []byte // JSON of the default, for a field the writer lacks; nil otherwise
}

// decCompiler compiles the plans of one (writer, reader) pair.
type decCompiler struct {
	memo  map[[2]avro.Schema]*decNode
	order [][2]avro.Schema // memo keys in insertion order, to undo a failed attempt
	// readerEnc encodes reader defaults (they are read back as JSON
	// through the reader's own plan, so they print like data).
	readerEnc map[avro.Schema]*encNode
}

// compileDecoder compiles the plan reading values written with writer as
// reader's JSON. An error says why reader cannot read writer.
func compileDecoder(writer, reader avro.Schema) (*decNode, error) {
	c := &decCompiler{memo: map[[2]avro.Schema]*decNode{}, readerEnc: map[avro.Schema]*encNode{}}
	return c.compile(writer, reader)
}

func (c *decCompiler) remember(key [2]avro.Schema, n *decNode) {
	c.memo[key] = n
	c.order = append(c.order, key)
}

// forget undoes the memo entries made since mark: they may point at a
// record plan that failed half-built.
func (c *decCompiler) forget(mark int) {
	for _, k := range c.order[mark:] {
		delete(c.memo, k)
	}
	c.order = c.order[:mark]
}

func (c *decCompiler) compile(w, r avro.Schema) (*decNode, error) {
	w, r = unref(w), unref(r)
	key := [2]avro.Schema{w, r}
	if n, ok := c.memo[key]; ok {
		return n, nil
	}
	if wu, ok := w.(*avro.UnionSchema); ok {
		return c.writerUnion(key, wu, r)
	}
	if ru, ok := r.(*avro.UnionSchema); ok {
		return c.readerUnion(w, ru)
	}
	label := typeLabel(r)
	prim := func(op decOp) (*decNode, error) { return &decNode{op: op, label: label}, nil }
	wt, rt := w.Type(), r.Type()
	if wt == avro.Error {
		wt = avro.Record
	}
	if rt == avro.Error {
		rt = avro.Record
	}
	switch {
	case wt == avro.Null && rt == avro.Null:
		return prim(opNull)
	case wt == avro.Boolean && rt == avro.Boolean:
		return prim(opBool)
	case wt == avro.Int && (rt == avro.Int || rt == avro.Long):
		return prim(opInt)
	case wt == avro.Long && rt == avro.Long:
		return prim(opLong)
	case (wt == avro.Int || wt == avro.Long) && rt == avro.Float:
		return &decNode{op: opIntAsFloat, writeInt: wt == avro.Int, label: label}, nil
	case (wt == avro.Int || wt == avro.Long) && rt == avro.Double:
		return &decNode{op: opIntAsDouble, writeInt: wt == avro.Int, label: label}, nil
	case wt == avro.Float && rt == avro.Float:
		return prim(opFloat)
	case wt == avro.Float && rt == avro.Double:
		return prim(opFloatAsDouble)
	case wt == avro.Double && rt == avro.Double:
		return prim(opDouble)
	case wt == avro.String && rt == avro.String:
		return prim(opString)
	case wt == avro.Bytes && rt == avro.Bytes:
		return prim(opBytes)
	case wt == avro.String && rt == avro.Bytes:
		return prim(opStringAsBytes)
	case wt == avro.Bytes && rt == avro.String:
		return prim(opBytesAsString)
	case wt == avro.Fixed && rt == avro.Fixed:
		wf, rf := w.(*avro.FixedSchema), r.(*avro.FixedSchema)
		if err := sameName(wf, rf); err != nil {
			return nil, err
		}
		if wf.Size() != rf.Size() {
			return nil, fmt.Errorf("%s has %d bytes, %s %d", typeLabel(wf), wf.Size(), typeLabel(rf), rf.Size())
		}
		return &decNode{op: opFixed, size: wf.Size(), label: label}, nil
	case wt == avro.Enum && rt == avro.Enum:
		return c.enum(w.(*avro.EnumSchema), r.(*avro.EnumSchema))
	case wt == avro.Array && rt == avro.Array:
		n := &decNode{op: opArray, label: label, minSize: minSize(w.(*avro.ArraySchema).Items(), nil)}
		c.remember(key, n)
		elem, err := c.compile(w.(*avro.ArraySchema).Items(), r.(*avro.ArraySchema).Items())
		if err != nil {
			return nil, fmt.Errorf("array items: %w", err)
		}
		n.elem = elem
		return n, nil
	case wt == avro.Map && rt == avro.Map:
		n := &decNode{op: opMap, label: label, minSize: minSize(w.(*avro.MapSchema).Values(), nil)}
		c.remember(key, n)
		elem, err := c.compile(w.(*avro.MapSchema).Values(), r.(*avro.MapSchema).Values())
		if err != nil {
			return nil, fmt.Errorf("map values: %w", err)
		}
		n.elem = elem
		return n, nil
	case wt == avro.Record && rt == avro.Record:
		return c.record(key, w.(*avro.RecordSchema), r.(*avro.RecordSchema))
	}
	return nil, fmt.Errorf("%s cannot be read as %s", typeLabel(w), label)
}

// sameName: named types match by unqualified name, or by one of the
// reader's aliases.
func sameName(w, r avro.NamedSchema) error {
	if w.FullName() == r.FullName() || w.Name() == r.Name() || slices.Contains(r.Aliases(), w.FullName()) {
		return nil
	}
	return fmt.Errorf("%s cannot be read as %s (another name)", typeLabel(w), typeLabel(r))
}

func (c *decCompiler) enum(w, r *avro.EnumSchema) (*decNode, error) {
	if err := sameName(w, r); err != nil {
		return nil, err
	}
	n := &decNode{op: opEnum, label: typeLabel(r)}
	for _, sym := range w.Symbols() {
		switch {
		case slices.Contains(r.Symbols(), sym):
			n.enumOut = append(n.enumOut, appendJSONString(nil, sym))
			n.enumErrs = append(n.enumErrs, "")
		case r.HasDefault():
			n.enumOut = append(n.enumOut, appendJSONString(nil, r.Default()))
			n.enumErrs = append(n.enumErrs, "")
		default:
			n.enumOut = append(n.enumOut, nil)
			n.enumErrs = append(n.enumErrs, fmt.Sprintf("symbol %s is not one of %s (%s), which has no default", strconv.Quote(sym), typeLabel(r), strings.Join(r.Symbols(), ", ")))
		}
	}
	return n, nil
}

func (c *decCompiler) writerUnion(key [2]avro.Schema, w *avro.UnionSchema, r avro.Schema) (*decNode, error) {
	n := &decNode{op: opUnion, label: typeLabel(r)}
	c.remember(key, n)
	readable := false
	for _, wb := range w.Types() {
		mark := len(c.order)
		b, err := c.compile(wb, r)
		if err != nil {
			c.forget(mark)
			n.branches = append(n.branches, nil)
			n.unionErrs = append(n.unionErrs, fmt.Sprintf("written as %s, which the reader's %s cannot read: %v", branchName(wb), typeLabel(r), err))
			continue
		}
		readable = true
		n.branches = append(n.branches, b)
		n.unionErrs = append(n.unionErrs, "")
	}
	if !readable {
		return nil, fmt.Errorf("no type of %s can be read as %s", typeLabel(w), typeLabel(r))
	}
	return n, nil
}

// readerUnion reads a non-union writer with a reader union: the first
// reader branch of the same type (and name) as the writer, else the first
// it can be promoted to (Avro spec).
func (c *decCompiler) readerUnion(w avro.Schema, r *avro.UnionSchema) (*decNode, error) {
	pick := -1
	var inner *decNode
	for i, rb := range r.Types() {
		rb = unref(rb)
		if rb.Type() != w.Type() {
			continue
		}
		if rn, ok := rb.(avro.NamedSchema); ok && sameName(w.(avro.NamedSchema), rn) != nil {
			continue
		}
		mark := len(c.order)
		n, err := c.compile(w, rb)
		if err != nil {
			c.forget(mark)
			continue
		}
		pick, inner = i, n
		break
	}
	if pick < 0 {
		for i, rb := range r.Types() {
			mark := len(c.order)
			n, err := c.compile(w, rb)
			if err != nil {
				c.forget(mark)
				continue
			}
			pick, inner = i, n
			break
		}
	}
	if pick < 0 {
		return nil, fmt.Errorf("%s cannot be read as any type of %s", typeLabel(w), typeLabel(r))
	}
	rb := r.Types()[pick]
	if isNull, _, _ := nullUnion(r); isNull || rb.Type() == avro.Null {
		return inner, nil
	}
	prefix := appendJSONString([]byte{'{'}, branchName(rb))
	return &decNode{op: opWrap, elem: inner, prefix: append(prefix, ':'), label: typeLabel(r)}, nil
}

func (c *decCompiler) record(key [2]avro.Schema, w, r *avro.RecordSchema) (*decNode, error) {
	if err := sameName(w, r); err != nil {
		return nil, err
	}
	mark := len(c.order)
	rec := &decRecord{}
	n := &decNode{op: opRecord, rec: rec, label: typeLabel(r)}
	c.remember(key, n)
	fail := func(err error) (*decNode, error) {
		c.forget(mark)
		return nil, err
	}
	rec.out = make([]decOut, len(r.Fields()))
	for i, rf := range r.Fields() {
		rec.out[i].prefix = append(appendJSONString(nil, rf.Name()), ':')
	}
	seen := make([]bool, len(r.Fields()))
	for _, wf := range w.Fields() {
		slot := readerField(r, wf.Name())
		if slot < 0 {
			skip, err := c.compile(wf.Type(), wf.Type())
			if err != nil {
				return fail(err)
			}
			rec.steps = append(rec.steps, decStep{slot: -1, node: skip, name: wf.Name()})
			continue
		}
		fn, err := c.compile(wf.Type(), r.Fields()[slot].Type())
		if err != nil {
			return fail(fmt.Errorf("field %s: %w", r.Fields()[slot].Name(), err))
		}
		seen[slot] = true
		rec.steps = append(rec.steps, decStep{slot: slot, node: fn, name: r.Fields()[slot].Name()})
	}
	for i, rf := range r.Fields() {
		if seen[i] {
			continue
		}
		if !rf.HasDefault() {
			return fail(fmt.Errorf("field %s: the writer's %s has no such field, and the reader's has no default for it", rf.Name(), typeLabel(w)))
		}
		def, err := c.defaultJSON(rf)
		if err != nil {
			return fail(fmt.Errorf("field %s: %w", rf.Name(), err))
		}
		rec.out[i].def = def
	}
	rec.direct = len(rec.steps) == len(rec.out)
	for i, s := range rec.steps {
		if s.slot != i {
			rec.direct = false
		}
	}
	return n, nil
}

// readerField is the index of the reader's field that reads the writer's
// field name: same name, or an alias of it; -1: none.
func readerField(r *avro.RecordSchema, name string) int {
	for i, f := range r.Fields() {
		if f.Name() == name {
			return i
		}
	}
	for i, f := range r.Fields() {
		if slices.Contains(f.Aliases(), name) {
			return i
		}
	}
	return -1
}

// defaultJSON is the JSON of a reader field's default, as a value of the
// field's type would print: encoded, then read back.
func (c *decCompiler) defaultJSON(f *avro.Field) ([]byte, error) {
	t := unref(f.Type())
	enc := c.readerEnc[t]
	if enc == nil {
		var err error
		if enc, err = compileEncoder(t); err != nil {
			return nil, err
		}
		c.readerEnc[t] = enc
	}
	bin, err := encodeDefault(enc, f.Default())
	if err != nil {
		return nil, fmt.Errorf("the default %v", err)
	}
	plan, err := compileDecoder(t, t)
	if err != nil {
		return nil, err
	}
	rd := avroReader{b: bin, budget: maxEmptyItems}
	out, werr := plan.decode(nil, &rd)
	if werr != nil {
		return nil, fmt.Errorf("the default does not read back: %s", werr.reason)
	}
	return out, nil
}

// minSize is the fewest bytes a value of s takes in Avro binary (0 for
// null, an empty record, a record refering to itself while measured).
func minSize(s avro.Schema, active map[avro.Schema]bool) int {
	s = unref(s)
	switch t := s.(type) {
	case *avro.RecordSchema:
		if active[s] {
			return 0
		}
		if active == nil {
			active = map[avro.Schema]bool{}
		}
		active[s] = true
		n := 0
		for _, f := range t.Fields() {
			n += minSize(f.Type(), active)
		}
		delete(active, s)
		return n
	case *avro.FixedSchema:
		return t.Size()
	}
	switch s.Type() {
	case avro.Null:
		return 0
	case avro.Float:
		return 4
	case avro.Double:
		return 8
	}
	return 1 // a varint, a length, a count, a branch index, a boolean
}

// Limits of the walk over untrusted bytes.
const (
	maxDepth = 256 // nested records, arrays, maps, unions
	// maxEmptyItems bounds the items of arrays and maps whose values take
	// no bytes (null, an empty record) in one value: their count is all
	// the bytes say, so a few bytes could ask for billions.
	maxEmptyItems = 1 << 20
)

// avroReader is a position in a value's bytes.
type avroReader struct {
	b      []byte
	i      int
	depth  int
	budget int // items without bytes still allowed (maxEmptyItems)
}

func truncated(need int, left int) *walkErr {
	return failf(fmt.Sprintf("the value ends too early (%d bytes needed, %d left)", need, left))
}

func (r *avroReader) long() (int64, *walkErr) {
	v, n := binary.Varint(r.b[r.i:])
	if n == 0 {
		return 0, failf("the value ends too early (inside a number)")
	}
	if n < 0 {
		return 0, failf("malformed number (a varint longer than 64 bits)")
	}
	r.i += n
	return v, nil
}

// int reads an Avro int (also an enum's symbol index and a union's branch
// index): a varint of at most 5 bytes, as Java's BinaryDecoder and hamba
// read it, whose value fits 32 bits.
func (r *avroReader) int() (int64, *walkErr) {
	start := r.i
	v, err := r.long()
	if err == nil && r.i-start > 5 {
		return 0, failf(fmt.Sprintf("malformed int (a varint of %d bytes, longer than 5)", r.i-start))
	}
	if err == nil && (v < math.MinInt32 || v > math.MaxInt32) {
		return 0, failf(fmt.Sprintf("malformed int (%d is out of the int range)", v))
	}
	return v, err
}

// next returns the next n bytes.
func (r *avroReader) next(n int) ([]byte, *walkErr) {
	if left := len(r.b) - r.i; n > left {
		return nil, truncated(n, left)
	}
	b := r.b[r.i : r.i+n]
	r.i += n
	return b, nil
}

// lenPrefixed reads a length and that many bytes (bytes, string).
func (r *avroReader) lenPrefixed() ([]byte, *walkErr) {
	n, werr := r.long()
	if werr != nil {
		return nil, werr
	}
	if n < 0 {
		return nil, failf(fmt.Sprintf("malformed value (negative length %d)", n))
	}
	if left := len(r.b) - r.i; n > int64(left) {
		return nil, truncated(int(min(n, math.MaxInt32)), left)
	}
	return r.next(int(n))
}

func (r *avroReader) utf8String() (string, *walkErr) {
	b, werr := r.lenPrefixed()
	if werr != nil {
		return "", werr
	}
	if !utf8.Valid(b) {
		return "", failf("the string is not valid UTF-8")
	}
	return string(b), nil
}

// blockCount reads the item count of an array or map block (a negative
// count is followed by the block's size in bytes) and checks it against
// what the bytes left could hold.
func (r *avroReader) blockCount(minSize int) (int, *walkErr) {
	n, werr := r.long()
	if werr != nil {
		return 0, werr
	}
	if n < 0 {
		if n == math.MinInt64 {
			return 0, failf("malformed block count")
		}
		n = -n
		if _, werr := r.long(); werr != nil { // the block's size in bytes
			return 0, werr
		}
	}
	left := int64(len(r.b) - r.i)
	if minSize > 0 {
		if n > left/int64(minSize) {
			return 0, failf(fmt.Sprintf("the value ends too early (a block of %d items, %d bytes left)", n, left))
		}
	} else {
		if n > int64(r.budget) {
			return 0, failf(fmt.Sprintf("a block of %d items that take no bytes (at most %d)", n, maxEmptyItems))
		}
		r.budget -= int(n)
	}
	return int(n), nil
}

// decode appends the JSON of the next value to out.
func (n *decNode) decode(out []byte, r *avroReader) ([]byte, *walkErr) {
	switch n.op {
	case opNull:
		return append(out, "null"...), nil
	case opBool:
		b, werr := r.next(1)
		if werr != nil {
			return out, werr
		}
		switch b[0] {
		case 0:
			return append(out, "false"...), nil
		case 1:
			return append(out, "true"...), nil
		}
		return out, failf(fmt.Sprintf("malformed boolean (byte 0x%02x)", b[0]))
	case opInt:
		v, werr := r.int()
		return strconv.AppendInt(out, v, 10), werr
	case opLong:
		v, werr := r.long()
		return strconv.AppendInt(out, v, 10), werr
	case opIntAsFloat, opIntAsDouble:
		var v int64
		var werr *walkErr
		if n.writeInt {
			v, werr = r.int()
		} else {
			v, werr = r.long()
		}
		if werr != nil {
			return out, werr
		}
		if n.op == opIntAsFloat {
			return appendJSONFloat(out, float64(float32(v)), 32), nil
		}
		return appendJSONFloat(out, float64(v), 64), nil
	case opFloat, opFloatAsDouble:
		b, werr := r.next(4)
		if werr != nil {
			return out, werr
		}
		f := float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return out, failf(fmt.Sprintf("%v has no JSON form", f))
		}
		if n.op == opFloat {
			return appendJSONFloat(out, f, 32), nil
		}
		return appendJSONFloat(out, f, 64), nil
	case opDouble:
		b, werr := r.next(8)
		if werr != nil {
			return out, werr
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(b))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return out, failf(fmt.Sprintf("%v has no JSON form", f))
		}
		return appendJSONFloat(out, f, 64), nil
	case opString, opBytesAsString:
		b, werr := r.lenPrefixed()
		if werr != nil {
			return out, werr
		}
		if !utf8.Valid(b) {
			return out, failf("the string is not valid UTF-8")
		}
		return appendJSONString(out, unsafeString(b)), nil
	case opBytes, opStringAsBytes:
		b, werr := r.lenPrefixed()
		if werr != nil {
			return out, werr
		}
		return appendJSONBytes(out, b), nil
	case opFixed:
		b, werr := r.next(n.size)
		if werr != nil {
			return out, werr
		}
		return appendJSONBytes(out, b), nil
	case opEnum:
		i, werr := r.int()
		if werr != nil {
			return out, werr
		}
		if i < 0 || i >= int64(len(n.enumOut)) {
			return out, failf(fmt.Sprintf("malformed enum (symbol index %d of %d)", i, len(n.enumOut)))
		}
		if n.enumOut[i] == nil {
			return out, failf(n.enumErrs[i])
		}
		return append(out, n.enumOut[i]...), nil
	}
	if r.depth++; r.depth > maxDepth {
		return out, failf(fmt.Sprintf("nested more than %d levels deep", maxDepth))
	}
	defer func() { r.depth-- }()
	switch n.op {
	case opArray:
		return n.decodeArray(out, r)
	case opMap:
		return n.decodeMap(out, r)
	case opRecord:
		return n.decodeRecord(out, r)
	case opUnion:
		i, werr := r.int()
		if werr != nil {
			return out, werr
		}
		if i < 0 || i >= int64(len(n.branches)) {
			return out, failf(fmt.Sprintf("malformed union (branch index %d of %d)", i, len(n.branches)))
		}
		if n.branches[i] == nil {
			return out, failf(n.unionErrs[i])
		}
		return n.branches[i].decode(out, r)
	case opWrap:
		out = append(out, n.prefix...)
		out, werr := n.elem.decode(out, r)
		return append(out, '}'), werr
	}
	return out, failf("unknown plan")
}

func (n *decNode) decodeArray(out []byte, r *avroReader) ([]byte, *walkErr) {
	out = append(out, '[')
	idx := 0
	for {
		count, werr := r.blockCount(n.minSize)
		if werr != nil {
			return out, werr.push(indexSeg(idx))
		}
		if count == 0 {
			return append(out, ']'), nil
		}
		for range count {
			if idx > 0 {
				out = append(out, ',')
			}
			if out, werr = n.elem.decode(out, r); werr != nil {
				return out, werr.push(indexSeg(idx))
			}
			idx++
		}
	}
}

func (n *decNode) decodeMap(out []byte, r *avroReader) ([]byte, *walkErr) {
	out = append(out, '{')
	first := true
	// Keys seen: the JSON object of a map with a key twice would be
	// ambiguous (which value does a node see?), so it is refused.
	var seen []string
	var seenSet map[string]bool
	for {
		count, werr := r.blockCount(n.minSize + 1) // + the key's length
		if werr != nil {
			return out, werr
		}
		if count == 0 {
			return append(out, '}'), nil
		}
		for range count {
			k, werr := r.utf8String()
			if werr != nil {
				return out, werr
			}
			if seenSet == nil && len(seen) < 16 {
				if slices.Contains(seen, k) {
					return out, failf(fmt.Sprintf("key %s appears twice", strconv.Quote(shorten(k))))
				}
				seen = append(seen, k)
			} else {
				if seenSet == nil {
					seenSet = make(map[string]bool, 2*len(seen))
					for _, s := range seen {
						seenSet[s] = true
					}
				}
				if seenSet[k] {
					return out, failf(fmt.Sprintf("key %s appears twice", strconv.Quote(shorten(k))))
				}
				seenSet[k] = true
			}
			if !first {
				out = append(out, ',')
			}
			first = false
			out = appendJSONString(out, k)
			out = append(out, ':')
			if out, werr = n.elem.decode(out, r); werr != nil {
				return out, werr.push(keySeg(k))
			}
		}
	}
}

func (n *decNode) decodeRecord(out []byte, r *avroReader) ([]byte, *walkErr) {
	rec := n.rec
	var werr *walkErr
	if rec.direct {
		out = append(out, '{')
		for i, s := range rec.steps {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, rec.out[i].prefix...)
			if out, werr = s.node.decode(out, r); werr != nil {
				return out, werr.push(fieldSeg(s.name))
			}
		}
		return append(out, '}'), nil
	}
	// Resolution: read the writer's fields in its order, note where each
	// reader field's JSON landed, then lay them out in the reader's order.
	start := len(out)
	var spansBuf [16][2]int
	spans := spansBuf[:0]
	if len(rec.out) > len(spansBuf) {
		spans = make([][2]int, 0, len(rec.out))
	}
	spans = spans[:len(rec.out)]
	for _, s := range rec.steps {
		at := len(out)
		if out, werr = s.node.decode(out, r); werr != nil {
			return out, werr.push(fieldSeg(s.name))
		}
		if s.slot < 0 {
			out = out[:at] // a field the reader does not have
			continue
		}
		spans[s.slot] = [2]int{at - start, len(out) - start}
	}
	fields := slices.Clone(out[start:])
	out = append(out[:start], '{')
	for i, f := range rec.out {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, f.prefix...)
		if f.def != nil {
			out = append(out, f.def...)
		} else {
			out = append(out, fields[spans[i][0]:spans[i][1]]...)
		}
	}
	return append(out, '}'), nil
}
