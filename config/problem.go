package config

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one mistake in a pipeline file, located well enough that the
// user can jump straight to it.
type Problem struct {
	File    string
	Line    int    // 1-based; 0 when the problem has no single line
	Field   string // dotted YAML path, e.g. stages.filter.node.command
	Message string
}

// Error renders "<file>:<line>: <field>: <message>". ":<line>" is omitted
// when Line is 0 and "<field>: " when Field is empty or when the message
// already starts with "<field> (": cross-field messages read as sentences,
// "stages.x.batch.max_bytes (32MiB) exceeds stages.x.max_frame (16MiB)".
// Without a file name the location reads "line <n>".
func (p Problem) Error() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		b.WriteString(p.File + ":" + strconv.Itoa(p.Line) + ": ")
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Line > 0:
		b.WriteString("line " + strconv.Itoa(p.Line) + ": ")
	}
	if p.Field != "" && !strings.HasPrefix(p.Message, p.Field+" (") {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every mistake found in a file. Reporting them all at once
// spares the user a fix-one-rerun loop.
type Problems []Problem

// Error renders one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each Problem to errors.As.
func (ps Problems) Unwrap() []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errs
}

// sortProblems orders by line, keeping discovery order within a line so
// that output is stable.
func sortProblems(ps Problems) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
}
