package config

// This file decodes and checks what a topic says about its values (format,
// schema, compatibility, wire, subject) and what a stage's node asks to
// see of them (node.values). The schema files are only found here; the
// codecs (stream/codec.Load, run by sluice validate, run and up) parse
// them and check the versions against each other.

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// schemaFiles decodes a topic's schema: one path, or a list of paths (the
// versions, oldest first). Each entry keeps its own line, so the codecs
// can point at the version that breaks compatibility. Relative paths are
// resolved against the pipeline file's directory, like the TLS files.
func (d *decoder) schemaFiles(f field) []SchemaFile {
	entries := []field{f}
	if f.val.Kind == yaml.SequenceNode {
		entries = d.items(f)
		d.schemaLists[f.path] = true
	} else if f.val.Kind != yaml.ScalarNode {
		d.problem(f.val.Line, f.path, "expected a .avsc file, or a list of them (the versions, oldest first), got %s", describe(f.val))
		d.undecodable(f.path)
		return nil
	}
	var out []SchemaFile
	for _, e := range entries {
		v, ok := d.scalar(e, "a .avsc file")
		switch {
		case !ok:
			continue
		case strings.TrimSpace(v) == "":
			d.problem(e.val.Line, e.path, "is empty: name a .avsc file")
			d.undecodable(e.path)
			continue
		}
		resolved := v
		if !filepath.IsAbs(v) && d.file != "" {
			resolved = filepath.Join(filepath.Dir(d.file), v)
		}
		d.schemaWritten[resolved] = v
		out = append(out, SchemaFile{Path: resolved, Line: e.val.Line})
	}
	return out
}

// avroOnly are the topic keys that mean something only with format: avro.
var avroOnly = []string{"schema", "compatibility", "wire", "subject"}

// topicFormat checks a declared topic's format settings.
func (v *validator) topicFormat(t *Topic) {
	base := topicPath(t.Name)
	at := func(key string) string { return base + "." + key }
	if !oneOf(v, at("format"), t.Line, t.Format, FormatRaw, FormatJSON, FormatAvro) {
		return // "arvo": the schema and the rest were surely meant for avro
	}
	if t.Format != FormatAvro {
		v.notAvro(t, base)
		return
	}
	v.schemaFilesExist(t, at("schema"))
	oneOf(v, at("compatibility"), t.Line, t.Compatibility, CompatBackward, CompatForward, CompatFull, CompatNone)
	if !oneOf(v, at("wire"), t.Line, t.Wire, WireSingleObject, WireConfluent) {
		return
	}
	switch {
	case t.Wire == WireConfluent && v.p.SchemaRegistry == nil && !v.reported("schema_registry"):
		v.at(at("wire"), t.Line, "confluent needs schema_registry.url, the registry that holds the topic's schemas: add at the top level schema_registry: {url: http://127.0.0.1:8081}, or use wire: single-object (no registry)")
	case t.Wire != WireConfluent && v.given[at("subject")]:
		v.at(at("subject"), t.Line, "is a Schema Registry subject, used only with wire: confluent (this topic's wire is %s, which needs no registry): set wire: confluent, or remove subject", t.Wire)
	}
}

// notAvro reports avro settings on a raw or json topic, once, at the
// first of them: the usual mistake is a forgotten "format: avro".
func (v *validator) notAvro(t *Topic, base string) {
	var keys []string
	first, line := "", 0
	for _, k := range avroOnly {
		p := fieldPath(base, k)
		if !v.given[p] || v.reported(p) {
			continue
		}
		keys = append(keys, k)
		if l := v.lineOf(t.Line, p); first == "" || l < line {
			first, line = k, l
		}
	}
	if len(keys) == 0 {
		return
	}
	format, fix := t.Format, "set"
	if !v.given[fieldPath(base, "format")] {
		format, fix = format+" (the default)", "add"
	}
	verb := "applies"
	if len(keys) > 1 {
		verb = "apply"
	}
	v.problem(line, fieldPath(base, first), "%s only %s to format: avro, and this topic's format is %s: %s format: avro, or remove %s",
		joinAnd(keys), verb, format, fix, joinAnd(keys))
}

// schemaFilesExist checks an avro topic names its schema files and that
// they are there; reading and parsing them is the codecs' job.
func (v *validator) schemaFilesExist(t *Topic, path string) {
	if len(t.Schemas) == 0 {
		if !v.reportedUnder(path) {
			v.at(path, t.Line, "format: avro needs schema: a .avsc file, or a list of versions oldest first (schema: [event.v1.avsc, event.v2.avsc])")
		}
		return
	}
	list := v.schemaLists[path]
	seen := map[string]int{}
	for i, s := range t.Schemas {
		p := path
		if list {
			p = indexPath(path, i)
		}
		if j, dup := seen[filepath.Clean(s.Path)]; dup {
			v.problem(s.Line, p, "%s is listed twice (also schema[%d]): list each version once", v.schemaWritten[s.Path], j)
			continue
		}
		seen[filepath.Clean(s.Path)] = i
		if msg := v.schemaFileProblem(s.Path); msg != "" {
			v.problem(s.Line, p, "%s", msg)
		}
	}
}

// schemaFileProblem says what is wrong with a schema file's path, or "".
func (v *validator) schemaFileProblem(resolved string) string {
	fi, err := os.Stat(resolved)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg := "file not found: " + resolved
		if w := v.schemaWritten[resolved]; w != "" && !filepath.IsAbs(w) && w != resolved {
			msg += fmt.Sprintf(" (%s, relative to the pipeline file's directory)", w)
		}
		return msg
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Sprintf("cannot read %s: %v", resolved, err)
	case fi.IsDir():
		return fmt.Sprintf("%s is a directory, not a .avsc file", resolved)
	}
	return ""
}

// stageFormats checks what a stage's node asks to see of its topics.
// node.values: raw with avro or json topics is allowed: the node then
// reads and writes the wire form itself, and its outputs are still
// checked against their topics.
func (v *validator) stageFormats(s *Stage, base string) {
	oneOf(v, base+".node.values", v.lineOf(s.Line, base+".node"), s.Node.Values, NodeValuesDecoded, NodeValuesRaw)
}

// dlqFormats checks that every dead-letter topic is raw: a DLQ keeps
// records as they arrived (a value that failed to decode, a line a node
// refused), which need not be valid JSON or Avro. Reported once per
// topic, on its format, which is what to change.
func (v *validator) dlqFormats() {
	for _, t := range v.p.Topics {
		if t.Line == 0 || t.Format == FormatRaw || !slices.Contains([]string{FormatJSON, FormatAvro}, t.Format) {
			continue
		}
		var stages []string
		for _, s := range v.p.Stages {
			if s.DLQ == t.Name && s.DLQ != s.Input && !slices.Contains(slices.Collect(maps.Values(s.Outputs)), s.DLQ) {
				stages = append(stages, s.Name)
			}
		}
		if len(stages) == 0 {
			continue // not a DLQ, or one reported as looping or mixing
		}
		what := "stage " + stages[0]
		if len(stages) > 1 {
			what = "stages " + joinAnd(stages)
		}
		v.at(fieldPath(topicPath(t.Name), "format"), t.Line,
			"%s does not fit a dead-letter topic (of %s): it keeps records as they arrived, which need not be valid %s: use format: raw (the default)",
			t.Format, what, t.Format)
	}
}

// reportedUnder says whether path or anything under it (schema[1]) was
// reported as undecodable: a list whose every entry was refused is not
// also "missing".
func (v *validator) reportedUnder(path string) bool {
	for p := range v.typos {
		if p == path || strings.HasPrefix(p, path+"[") || strings.HasPrefix(p, path+".") {
			return true
		}
	}
	return v.reported(path)
}

// joinAnd lists words as "a", "a and b", "a, b and c".
func joinAnd(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// mergeSorted returns the sorted union of two sorted lists; nil when both
// are empty.
func mergeSorted(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
