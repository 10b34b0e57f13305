package config

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node tree by hand instead of yaml.Unmarshal so that
// every problem carries a line and a field path, and so that decoding goes
// on after the first mistake.
type decoder struct {
	file  string
	probs Problems
	// lines maps a field path to the line it was written on, so validation
	// (which works on the decoded structs) can point back into the file.
	lines map[string]int
	// typos holds the paths of fields already reported in a way that
	// leaves them unset: known fields suggested for a misspelled key, and
	// values that could not be decoded (a wrong type, an unset ${VAR}).
	// Validation does not also call them, or anything under them,
	// missing: one mistake, one message.
	typos map[string]bool
	// truncated is set once a problem was dropped or a check skipped
	// because maxProblems were already found.
	truncated bool
	// given holds the paths of the fields written with a value ("key:"
	// alone is absent), for checks that depend on whether a default was
	// left to apply.
	given map[string]bool
	// schemaWritten maps a resolved schema file path to the path as the
	// file wrote it; schemaLists holds the schema fields written as lists.
	schemaWritten map[string]string
	schemaLists   map[string]bool
}

// maxProblems bounds the problems reported for one file. A hundred
// mistakes are more than anyone fixes in one go, and a wrong or generated
// file could otherwise produce millions of messages, each with its
// suggestion search.
const maxProblems = 100

func newDecoder(file string) *decoder {
	return &decoder{file: file, lines: map[string]int{}, typos: map[string]bool{}, given: map[string]bool{},
		schemaWritten: map[string]string{}, schemaLists: map[string]bool{}}
}

func (d *decoder) problem(line int, path, format string, args ...any) {
	if d.full() {
		return
	}
	d.probs = append(d.probs, Problem{File: d.file, Line: line, Field: path, Message: fmt.Sprintf(format, args...)})
}

// undecodable records that the value at path was reported as unusable,
// so that it and everything under it count as reported (see typos).
// Once the report is full nothing is recorded: validation stops then, and
// reported stays cheap.
func (d *decoder) undecodable(path string) {
	if !d.full() {
		d.typos[path] = true
	}
}

// reported says whether path, or a mapping or list holding it, was
// reported as misspelled or undecodable.
func (d *decoder) reported(path string) bool {
	for p := range d.typos {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}

// field is one key: value pair of a mapping.
type field struct {
	key    string
	path   string // fieldPath(parent, key)
	parent string
	line   int        // line of the key
	val    *yaml.Node // with aliases resolved
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// isNull is true for "key:", "key: ~" and "key: null". Such values are
// treated as absent, which is what someone writing "workers:" means.
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names what the user wrote, for "expected X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// fields decodes a mapping whose keys are fixed: set maps every known key to
// the function storing its value. The known keys live only in set, so the
// "did you mean" list cannot drift from what is actually decoded.
func (d *decoder) fields(n *yaml.Node, path string, set map[string]func(field)) {
	known := make([]string, 0, len(set))
	for k := range set {
		known = append(known, k)
	}
	sort.Strings(known)
	for _, f := range d.entries(n, path, "field") {
		fn, ok := set[f.key]
		switch {
		case !ok:
			d.unknownField(f, known)
		case !isNull(f.val):
			d.given[f.path] = true
			fn(f)
		}
	}
}

// full reports whether maxProblems were found, marking the report
// truncated: callers skip further checks, suggestions above all.
func (d *decoder) full() bool {
	if len(d.probs) >= maxProblems {
		d.truncated = true
	}
	return d.truncated
}

func (d *decoder) unknownField(f field, known []string) {
	if d.full() {
		return
	}
	if s, ok := closest(f.key, slices.Values(known)); ok {
		d.typos[fieldPath(f.parent, s)] = true
		d.problem(f.line, f.path, "unknown field %q (did you mean %q?)", f.key, s)
		return
	}
	if _, ok := d.stageFields(&Stage{})[f.key]; ok {
		// A stage setting written at the top level or inside a stage's
		// node or batch: say where it goes rather than what fits here.
		if stage := stageOf(f.parent); stage != "" {
			d.problem(f.line, f.path, "unknown field %q (it is a stage setting: move it up to %s)", f.key, fieldPath(stage, f.key))
		} else {
			d.problem(f.line, f.path, "unknown field %q (it is a stage setting: write it in each stage, as stages.<name>.%s)", f.key, f.key)
		}
		return
	}
	d.problem(f.line, f.path, "unknown field %q (known fields: %s)", f.key, sortedList(known))
}

// stageOf returns the path of the stage that path lies in, e.g.
// stages.filter for stages.filter.node, or "" outside the stages.
func stageOf(path string) string {
	rest, ok := strings.CutPrefix(path, "stages")
	switch {
	case !ok:
	case strings.HasPrefix(rest, "."):
		if i := strings.IndexAny(rest[1:], ".["); i >= 0 {
			return path[:len("stages")+1+i]
		}
		return path
	case strings.HasPrefix(rest, "["):
		if q, err := strconv.QuotedPrefix(rest[1:]); err == nil {
			return "stages[" + q + "]"
		}
	}
	return ""
}

// entries lists the pairs of mapping n in file order. YAML merge keys
// ("<<: *defaults") are expanded with the explicit keys winning, so shared
// stage settings can live in one anchor. A key written twice is reported
// naming both lines; the first one is kept. what names the keys ("stage",
// "topic", ...) in that message.
func (d *decoder) entries(n *yaml.Node, path, what string) []field {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.problem(n.Line, path, "expected a mapping, got %s", describe(n))
		d.undecodable(path)
		return nil
	}
	explicit := map[string]int{} // key -> index of its first occurrence
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !isMerge(k) && k.Kind == yaml.ScalarNode {
			if _, dup := explicit[k.Value]; !dup {
				explicit[k.Value] = i
			}
		}
	}
	var out []field
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		switch {
		case isMerge(k):
			for _, f := range d.merged(v, path) {
				if _, over := explicit[f.key]; !over && !seen[f.key] {
					seen[f.key] = true
					out = append(out, f)
				}
			}
		case k.Kind != yaml.ScalarNode:
			d.problem(k.Line, path, "expected a name as key, got %s", describe(k))
		case explicit[k.Value] != i:
			d.duplicate(what, fieldPath(path, k.Value), k.Value, n.Content[explicit[k.Value]].Line, k.Line)
		default:
			seen[k.Value] = true
			out = append(out, field{key: k.Value, path: fieldPath(path, k.Value), parent: path, line: k.Line, val: v})
		}
	}
	// Recorded last so that an explicit key's line wins over the line of
	// the merged key it overrides.
	for _, f := range out {
		d.lines[f.path] = f.line
	}
	return out
}

func (d *decoder) duplicate(what, path, key string, first, second int) {
	if what == "field" {
		d.problem(second, path, "%q is set twice (lines %d and %d): keep one", key, first, second)
		return
	}
	d.problem(second, path, "%s %q is defined twice (lines %d and %d): rename or remove one", what, key, first, second)
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && (k.Tag == "!!merge" || k.Value == "<<" && k.Style == 0)
}

// merged returns the pairs a merge key brings in: one mapping, or a list of
// mappings where earlier ones win, as YAML specifies.
func (d *decoder) merged(v *yaml.Node, path string) []field {
	if v.Kind != yaml.SequenceNode {
		return d.entries(v, path, "field")
	}
	var out []field
	seen := map[string]bool{}
	for _, m := range v.Content {
		for _, f := range d.entries(m, path, "field") {
			if !seen[f.key] {
				seen[f.key] = true
				out = append(out, f)
			}
		}
	}
	return out
}

// scalar returns the value of a scalar field with ${VAR} expanded, or false
// after reporting why it could not.
func (d *decoder) scalar(f field, want string) (string, bool) {
	if f.val.Kind != yaml.ScalarNode {
		d.problem(f.val.Line, f.path, "expected %s, got %s", want, describe(f.val))
		d.undecodable(f.path)
		return "", false
	}
	if isNull(f.val) {
		return "", true // "- ~" in a list or "key: null" in a string map
	}
	v, errs := expandEnv(f.val.Value)
	for _, e := range errs {
		d.problem(f.val.Line, f.path, "%s", e)
		d.undecodable(f.path)
	}
	d.lines[f.path] = f.val.Line
	return v, len(errs) == 0
}

// mistyped reports a scalar that does not parse as want, showing the
// ${VAR} it came from when expansion was involved.
func (d *decoder) mistyped(f field, want, got string) {
	d.mistypedHint(f, want, got, "")
}

// mistypedHint is mistyped with a suggestion of what to write instead.
func (d *decoder) mistypedHint(f field, want, got, hint string) {
	msg := fmt.Sprintf("expected %s, got %q", want, got)
	if got != f.val.Value {
		msg += fmt.Sprintf(" (from %q)", f.val.Value)
	}
	if hint != "" {
		msg += " (" + hint + ")"
	}
	d.problem(f.val.Line, f.path, "%s", msg)
}

func (d *decoder) str(f field, dst *string) {
	if v, ok := d.scalar(f, "a string"); ok {
		*dst = v
	}
}

// integer decodes into any integer field, reporting values that overflow
// it here because the overflowed value would mislead validation.
func integer[T int | int16 | int32](d *decoder, f field, dst *T) {
	v, ok := d.scalar(f, "an integer")
	if !ok {
		return
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && !isRangeErr(err) {
		d.mistyped(f, "an integer", v)
		return
	}
	if err != nil || int64(T(n)) != n {
		what := "large"
		if v[0] == '-' {
			what = "small"
		}
		d.problem(f.val.Line, f.path, "%s is too %s for this field", v, what)
		return
	}
	*dst = T(n)
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func (d *decoder) size(f field, dst *int64) {
	v, ok := d.scalar(f, "a size such as 64MiB or 1048576")
	if !ok {
		return
	}
	n, ok := parseSize(v)
	if !ok {
		d.mistypedHint(f, "a size such as 64MiB or 1048576", v, sizeHint(v))
		return
	}
	*dst = n
}

func (d *decoder) duration(f field, dst *time.Duration) {
	v, ok := d.scalar(f, "a duration such as 250ms or 10s")
	if !ok {
		return
	}
	n, err := time.ParseDuration(v)
	if err != nil {
		d.mistypedHint(f, "a duration such as 250ms or 10s", v, durationHint(v))
		return
	}
	*dst = n
}

// items returns the elements of a list field, each addressed as path[i].
func (d *decoder) items(f field) []field {
	if f.val.Kind != yaml.SequenceNode {
		d.problem(f.val.Line, f.path, "expected a list, got %s", describe(f.val))
		d.undecodable(f.path)
		return nil
	}
	out := make([]field, len(f.val.Content))
	for i, item := range f.val.Content {
		out[i] = field{path: indexPath(f.path, i), parent: f.path, line: item.Line, val: resolve(item)}
	}
	return out
}

// strList decodes a list of scalars; an empty list stays nil.
func (d *decoder) strList(f field) []string {
	var out []string
	for _, e := range d.items(f) {
		if v, ok := d.scalar(e, "a string"); ok {
			out = append(out, v)
		}
	}
	return out
}

// strMap decodes a mapping of scalars. Values may be written as YAML
// numbers or booleans (retention.ms: 604800000) and are kept as the text
// the user wrote; an empty value is "".
func (d *decoder) strMap(f field, what string) map[string]string {
	out := map[string]string{}
	for _, e := range d.entries(f.val, f.path, what) {
		if v, ok := d.scalar(e, "a string"); ok {
			out[e.key] = v
		}
	}
	return out
}
