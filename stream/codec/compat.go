package codec

// Compatibility between two versions of a topic's schema: whether one can
// read what the other wrote, by the Avro specification's Schema
// Resolution rules, and in words a user can act on when it cannot.
//
// Phrasing of the reasons (tests hold them to it):
//
//   - every reason starts lowercase and names the place of the break by its
//     path in backticks: `unit`, `location.lat` (a field of a nested
//     record), `tags[]` (the items of an array), `attrs{}` (the values of a
//     map); unions add nothing to a path. A break in the top-level schema
//     itself has no path;
//   - a change is always told from the older version to the newer one
//     ("added", "removed", "renamed to", "changed type from long to int"),
//     whichever direction is checked;
//   - a break that only one direction suffers ends with who suffers it:
//     "(records written with the older schema ...)" when the newer schema
//     cannot read them (backward), "(readers with the older schema ...)"
//     when readers with the older schema cannot read the newer one's
//     records (forward). A type change that breaks both ways says nothing
//     more ("field `value` changed type from double to string"); one the
//     Avro spec promotes the other way says which way fails ("field
//     `count` changed type from long to int: a long cannot be read as
//     int").

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hamba/avro/v2"
	"github.com/sluicehq/sluice/config"
)

// incompatibilities reports how newer breaks the compatibility rule mode
// (config.CompatBackward, CompatForward, CompatFull; "" is backward, the
// default) with older: nil when it keeps it, else one reason per break,
// see the phrasing above. CompatNone, or a mode config would have refused,
// checks nothing.
func incompatibilities(mode string, older, newer avro.Schema) []string {
	var out []string
	add := func(reasons []string) {
		for _, r := range reasons {
			// full mode: a break both directions see (a type change)
			// is one break, not two.
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	switch mode {
	case config.CompatBackward, "":
		add(resolutionBreaks(newer, older, true))
	case config.CompatForward:
		add(resolutionBreaks(older, newer, false))
	case config.CompatFull:
		add(resolutionBreaks(newer, older, true))
		add(resolutionBreaks(older, newer, false))
	}
	return out
}

// resolutionBreaks walks reader and writer side by side as Avro schema
// resolution would, and returns why reader cannot read all that writer
// can write. readerIsNewer says which of the two is the newer version, to
// tell each change from older to newer.
func resolutionBreaks(reader, writer avro.Schema, readerIsNewer bool) []string {
	r := &resolution{readerIsNewer: readerIsNewer, active: map[[2]avro.Schema]bool{}}
	r.check(reader, writer, "")
	return r.reasons
}

// resolution is one walk of a reader schema against a writer schema.
type resolution struct {
	readerIsNewer bool
	// active holds the (reader, writer) record pairs being walked, so a
	// recursive type (a record holding itself through a union or an
	// array) ends the walk: the pair is compatible unless something else
	// says otherwise, as in the spec's and hamba's resolution.
	active  map[[2]avro.Schema]bool
	reasons []string
}

func (r *resolution) report(format string, args ...any) {
	r.reasons = append(r.reasons, fmt.Sprintf(format, args...))
}

// compatible reports whether reader reads all writer writes, without
// keeping the reasons (used to pick a union branch).
func (r *resolution) compatible(reader, writer avro.Schema) bool {
	n := len(r.reasons)
	r.check(reader, writer, "")
	ok := len(r.reasons) == n
	r.reasons = r.reasons[:n]
	return ok
}

func (r *resolution) check(reader, writer avro.Schema, path string) {
	reader, writer = deref(reader), deref(writer)
	rt, wt := reader.Type(), writer.Type()
	switch {
	case wt == avro.Union:
		// Whichever branch a record was written with, the reader must
		// read it.
		r.writerUnion(reader, writer.(*avro.UnionSchema), path)
		return
	case rt == avro.Union:
		r.readerUnion(reader.(*avro.UnionSchema), writer, path)
		return
	case rt != wt:
		if !promotable(wt, rt) {
			r.typeChanged(reader, writer, path)
		}
		return
	}
	switch rt {
	case avro.Record:
		r.record(reader.(*avro.RecordSchema), writer.(*avro.RecordSchema), path)
	case avro.Enum:
		r.enum(reader.(*avro.EnumSchema), writer.(*avro.EnumSchema), path)
	case avro.Fixed:
		r.fixed(reader.(*avro.FixedSchema), writer.(*avro.FixedSchema), path)
	case avro.Array:
		r.check(reader.(*avro.ArraySchema).Items(), writer.(*avro.ArraySchema).Items(), path+"[]")
	case avro.Map:
		r.check(reader.(*avro.MapSchema).Values(), writer.(*avro.MapSchema).Values(), path+"{}")
	case avro.Bytes:
		r.decimal(reader, writer, path)
	}
}

// record resolves fields by name (or by a reader field's alias): a reader
// field the writer lacks needs a default; a writer field the reader lacks
// is skipped.
func (r *resolution) record(reader, writer *avro.RecordSchema, path string) {
	if !r.sameName(reader, writer, "record", path) {
		return
	}
	key := [2]avro.Schema{reader, writer}
	if r.active[key] {
		return
	}
	r.active[key] = true
	defer delete(r.active, key)

	for _, rf := range reader.Fields() {
		fp := join(path, rf.Name())
		wf := writerField(writer, rf)
		if wf != nil {
			r.check(rf.Type(), wf.Type(), fp)
			continue
		}
		if rf.HasDefault() {
			continue
		}
		if r.readerIsNewer {
			r.report("field `%s` added without a default (records written with the older schema have no `%s`)", fp, fp)
			continue
		}
		if renamed := aliasedAs(writer, rf.Name()); renamed != nil {
			r.report("field `%s` renamed to `%s` (readers with the older schema need `%s`; the alias only helps readers with the newer schema)",
				fp, join(path, renamed.Name()), fp)
			continue
		}
		r.report("field `%s` removed without a default (readers with the older schema need `%s`)", fp, fp)
	}
}

// writerField is the writer's field that reader field rf reads: the one
// of the same name, else one named by an alias of rf (the spec lets the
// reader's aliases map the writer's names).
func writerField(writer *avro.RecordSchema, rf *avro.Field) *avro.Field {
	for _, wf := range writer.Fields() {
		if wf.Name() == rf.Name() {
			return wf
		}
	}
	for _, wf := range writer.Fields() {
		if slices.Contains(rf.Aliases(), wf.Name()) {
			return wf
		}
	}
	return nil
}

// aliasedAs is the field of s that declares name as an alias, or nil.
func aliasedAs(s *avro.RecordSchema, name string) *avro.Field {
	for _, f := range s.Fields() {
		if slices.Contains(f.Aliases(), name) {
			return f
		}
	}
	return nil
}

// sameName reports whether reader resolves writer by name: the same
// unqualified name (the spec's rule), or an alias of the reader naming
// the writer. If not, it reports the rename.
func (r *resolution) sameName(reader, writer avro.NamedSchema, kind, path string) bool {
	if reader.Name() == writer.Name() || slices.Contains(reader.Aliases(), writer.FullName()) {
		return true
	}
	if r.readerIsNewer {
		r.report("%s%s %s renamed to %s without an alias (records written with the older schema are matched by name: the newer schema needs the alias %s)",
			at(path), kind, writer.FullName(), reader.FullName(), writer.FullName())
	} else {
		r.report("%s%s %s renamed to %s (readers with the older schema know only %s)",
			at(path), kind, reader.FullName(), writer.FullName(), reader.FullName())
	}
	return false
}

// enum: a symbol the writer may write and the reader lacks breaks,
// unless the reader has an enum default to read it as.
func (r *resolution) enum(reader, writer *avro.EnumSchema, path string) {
	if !r.sameName(reader, writer, "enum", path) || reader.HasDefault() {
		return
	}
	var missing []string
	for _, s := range writer.Symbols() {
		if !slices.Contains(reader.Symbols(), s) {
			missing = append(missing, "`"+s+"`")
		}
	}
	if len(missing) == 0 {
		return
	}
	symbols, them := "symbol "+missing[0], missing[0]
	if len(missing) > 1 {
		symbols, them = "symbols "+strings.Join(missing, ", "), "them"
	}
	if r.readerIsNewer {
		r.report("%senum %s removed without an enum default (records written with the older schema may hold %s)", at(path), symbols, them)
	} else {
		r.report("%senum %s added (readers with the older schema do not know %s and have no enum default)", at(path), symbols, them)
	}
}

func (r *resolution) fixed(reader, writer *avro.FixedSchema, path string) {
	if !r.sameName(reader, writer, "fixed", path) {
		return
	}
	if reader.Size() != writer.Size() {
		older, newer := r.olderNewer(reader, writer)
		r.report("%sfixed %s changed size from %d to %d bytes", at(path), newer.(*avro.FixedSchema).FullName(),
			older.(*avro.FixedSchema).Size(), newer.(*avro.FixedSchema).Size())
		return
	}
	r.decimal(reader, writer, path)
}

// decimal: the spec matches two decimals only when their precision and
// scale match (a different scale reads 1.25 as 12.5). hamba/avro does not
// check this; the spec is followed here.
func (r *resolution) decimal(reader, writer avro.Schema, path string) {
	rd, wd := decimalOf(reader), decimalOf(writer)
	if rd == nil || wd == nil || (rd.Precision() == wd.Precision() && rd.Scale() == wd.Scale()) {
		return
	}
	older, newer := wd, rd
	if !r.readerIsNewer {
		older, newer = rd, wd
	}
	r.report("%sdecimal changed from precision %d scale %d to precision %d scale %d (Avro reads a decimal only with the same precision and scale)",
		at(path), older.Precision(), older.Scale(), newer.Precision(), newer.Scale())
}

func decimalOf(s avro.Schema) *avro.DecimalLogicalSchema {
	l, ok := s.(avro.LogicalTypeSchema)
	if !ok {
		return nil
	}
	d, _ := l.Logical().(*avro.DecimalLogicalSchema)
	return d
}

// writerUnion: every branch the writer may write must be readable. When
// none is (and the reader is no union), the type changed as a whole;
// else each unreadable branch is a break of its own, explained by the
// reader's branch of the same kind if it has one.
func (r *resolution) writerUnion(reader avro.Schema, writer *avro.UnionSchema, path string) {
	var unreadable []avro.Schema
	for _, b := range writer.Types() {
		if !r.compatible(reader, b) {
			unreadable = append(unreadable, b)
		}
	}
	if len(unreadable) == 0 {
		return
	}
	if reader.Type() != avro.Union && len(unreadable) == len(writer.Types()) {
		r.typeChanged(reader, writer, path)
		return
	}
	for _, b := range unreadable {
		if c := counterpart(reader, b); c != nil {
			r.check(c, b, path)
			continue
		}
		if r.readerIsNewer {
			r.report("%sunion branch %s removed (records written with the older schema may hold %s)", at(path), describe(b), article(describe(b)))
		} else {
			r.report("%sunion branch %s added (readers with the older schema cannot read %s)", at(path), describe(b), article(describe(b)))
		}
	}
}

// readerUnion: a writer that is no union is read by the first reader
// branch that reads it.
func (r *resolution) readerUnion(reader *avro.UnionSchema, writer avro.Schema, path string) {
	for _, b := range reader.Types() {
		if r.compatible(b, writer) {
			return
		}
	}
	if c := counterpart(reader, writer); c != nil {
		r.check(c, writer, path)
		return
	}
	r.typeChanged(reader, writer, path)
}

// counterpart is the branch of reader (a union, or a single schema) that
// stands for writer branch w, to explain why it cannot read w: the branch
// of the same type and name, else the only branch of the same type; nil
// if there is none.
func counterpart(reader, w avro.Schema) avro.Schema {
	w = deref(w)
	branches := []avro.Schema{reader}
	if u, ok := deref(reader).(*avro.UnionSchema); ok {
		branches = u.Types()
	}
	var same []avro.Schema
	for _, b := range branches {
		b = deref(b)
		if b.Type() != w.Type() {
			continue
		}
		if bn, ok := b.(avro.NamedSchema); ok && bn.Name() == w.(avro.NamedSchema).Name() {
			return b
		}
		same = append(same, b)
	}
	if len(same) == 1 {
		return same[0]
	}
	return nil
}

// typeChanged reports a type the reader cannot read at all.
func (r *resolution) typeChanged(reader, writer avro.Schema, path string) {
	older, newer := r.olderNewer(reader, writer)
	subject := "the schema"
	if path != "" {
		subject = "field `" + path + "`"
	}
	msg := fmt.Sprintf("%s changed type from %s to %s", subject, describe(older), describe(newer))
	if promotable(reader.Type(), writer.Type()) {
		// Fine the other way round: say which way fails.
		msg += fmt.Sprintf(": %s cannot be read as %s", article(describe(writer)), describe(reader))
	}
	r.report("%s", msg)
}

func (r *resolution) olderNewer(reader, writer avro.Schema) (older, newer avro.Schema) {
	if r.readerIsNewer {
		return writer, reader
	}
	return reader, writer
}

// promotable is the spec's promotion of a writer's primitive type to a
// reader's.
func promotable(writer, reader avro.Type) bool {
	switch writer {
	case avro.Int:
		return reader == avro.Long || reader == avro.Float || reader == avro.Double
	case avro.Long:
		return reader == avro.Float || reader == avro.Double
	case avro.Float:
		return reader == avro.Double
	case avro.String:
		return reader == avro.Bytes
	case avro.Bytes:
		return reader == avro.String
	}
	return false
}

func deref(s avro.Schema) avro.Schema {
	if ref, ok := s.(*avro.RefSchema); ok {
		return ref.Schema()
	}
	return s
}

// describe names a type for a user: int, record sluice.sensors.Location,
// array of string, union [null, string].
func describe(s avro.Schema) string {
	s = deref(s)
	switch t := s.(type) {
	case *avro.RecordSchema:
		return "record " + t.FullName()
	case *avro.EnumSchema:
		return "enum " + t.FullName()
	case *avro.FixedSchema:
		return "fixed " + t.FullName()
	case *avro.ArraySchema:
		return "array of " + describe(t.Items())
	case *avro.MapSchema:
		return "map of " + describe(t.Values())
	case *avro.UnionSchema:
		names := make([]string, len(t.Types()))
		for i, b := range t.Types() {
			names[i] = describe(b)
		}
		return "union [" + strings.Join(names, ", ") + "]"
	}
	return string(s.Type())
}

// article puts "a" or "an" before a described type; null takes none.
func article(desc string) string {
	switch {
	case desc == "null":
		return desc
	case strings.IndexByte("aeio", desc[0]) >= 0: // int, enum, array; a union
		return "an " + desc
	}
	return "a " + desc
}

// at prefixes a break inside a field's type with the field.
func at(path string) string {
	if path == "" {
		return ""
	}
	return "field `" + path + "`: "
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
