package config

import (
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"
	"time"
)

// validator checks a decoded pipeline in one pass, reporting every problem
// through the decoder so they share its file, line table and sorting.
type validator struct {
	*decoder
	p        *Pipeline
	known    map[string]bool // declared topics plus implicit DLQ topics
	declared []string        // topics declared under topics:, sorted, for hints
}

func validate(p *Pipeline, d *decoder) {
	v := &validator{decoder: d, p: p, known: map[string]bool{}}
	for _, t := range p.Topics {
		v.known[t.Name] = true
		// Names with characters Kafka refuses are reported on their own;
		// listed raw in hints they could break a message over lines.
		if t.Line > 0 && nameRE.MatchString(t.Name) {
			v.declared = append(v.declared, t.Name)
		}
	}
	sort.Strings(v.declared)
	v.pipelineName()
	for i := range p.Topics {
		v.topic(&p.Topics[i])
	}
	v.stages()
	v.dlqFormats()
}

// lineOf returns the line of the first of paths written in the file, or
// fallback when none was (the value is a default).
func (v *validator) lineOf(fallback int, paths ...string) int {
	for _, p := range paths {
		if l, ok := v.lines[p]; ok {
			return l
		}
	}
	return fallback
}

// required reports a missing field, unless a misspelling of it was
// already reported ("comand"): the fix for both is the same.
func (v *validator) required(path string, line int, fix string) {
	if !v.reported(path) {
		v.problem(line, path, "is required: %s", fix)
	}
}

// at reports a problem on path, at its line or else at fallback.
func (v *validator) at(path string, fallback int, format string, args ...any) {
	v.problem(v.lineOf(fallback, path), path, format, args...)
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

const nameRule = "use only letters, digits, '.', '_' and '-'"

func (v *validator) pipelineName() {
	switch name := v.p.Name; {
	case name == "":
		v.required("pipeline", 0, `name the pipeline, e.g. "pipeline: sensors"`)
	case !nameRE.MatchString(name):
		v.at("pipeline", 0, "invalid name %q: %s", name, nameRule)
	}
}

func (v *validator) topic(t *Topic) {
	if t.Line == 0 {
		return // implicit DLQ topic: its stage's name was checked instead
	}
	base := topicPath(t.Name)
	if msg := topicNameProblem(t.Name); msg != "" {
		v.problem(t.Line, base, "%s", msg)
	}
	if t.Partitions < 1 {
		v.at(base+".partitions", t.Line, "must be at least 1, got %d", t.Partitions)
	}
	if t.Replication == 0 || t.Replication < -1 {
		v.at(base+".replication", t.Line, "must be -1 (the broker default) or at least 1, got %d", t.Replication)
	}
	v.topicFormat(t)
}

// topicNameProblem applies Kafka's own rules, so a bad name fails here
// rather than at topic creation.
func topicNameProblem(name string) string {
	switch {
	case name == "." || name == "..":
		return fmt.Sprintf("topic name %q is not allowed by Kafka: choose another name", name)
	case len(name) > 249:
		return fmt.Sprintf("topic name is %d characters long; Kafka allows at most 249", len(name))
	case !nameRE.MatchString(name):
		return fmt.Sprintf("invalid topic name %q: Kafka allows only letters, digits, '.', '_' and '-'", name)
	}
	return ""
}

func (v *validator) stages() {
	if len(v.p.Stages) == 0 {
		if v.reported("stages") {
			return // "expected a mapping" said it
		}
		if l, ok := v.lines["stages"]; ok {
			v.problem(l, "stages", "has no stages: declare at least one stage under it")
		} else {
			v.required("stages", 0, `declare at least one stage under "stages:"`)
		}
		return
	}
	groups := map[string]string{} // group -> stage using it
	for i := range v.p.Stages {
		if v.full() {
			break // a file this wrong: stop before spending on the rest
		}
		s := &v.p.Stages[i]
		v.stage(s)
		if other, dup := groups[s.Group]; dup {
			v.at(stagePath(s.Name)+".group", s.Line, "consumer group %q is also used by stage %q: give each stage its own group", s.Group, other)
		} else {
			groups[s.Group] = s.Name
		}
	}
}

// topicRef checks that a topic a stage uses is declared.
func (v *validator) topicRef(path string, fallback int, topic string) {
	if v.known[topic] || v.full() || v.reported("topics") {
		return
	}
	msg := fmt.Sprintf("topic %q is not declared under topics", topic)
	if len(v.declared) == 0 {
		msg += " (no topics are declared)"
	} else {
		msg += " (declared: " + strings.Join(v.declared, ", ") + ")"
	}
	if s, ok := closest(topic, maps.Keys(v.known)); ok {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	v.at(path, fallback, "%s", msg)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// formatDuration drops the zero tails of time.Duration.String: 1m, not 1m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
