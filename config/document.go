package config

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// document parses data into the root node of its single YAML document,
// reporting syntax errors, an empty file and extra documents. It returns
// nil when there is nothing to decode.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) || err == nil && (len(doc.Content) == 0 || isNull(doc.Content[0])) {
		d.problem(0, "", `the file is empty; a pipeline needs "pipeline:" and "stages:"`)
		return nil
	}
	if err != nil {
		d.syntaxError(err, data)
		return nil
	}
	// A second document is almost always a pasted file; silently ignoring
	// it would hide the stages it holds.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			line = yamlLine(err.Error())
		}
		d.problem(line, "", `the file holds more than one YAML document ("---"); a pipeline file holds exactly one`)
	}
	return doc.Content[0]
}

var yamlErrRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

func (d *decoder) syntaxError(err error, data []byte) {
	msg := err.Error()
	line := yamlLine(msg)
	if m := yamlErrRE.FindStringSubmatch(msg); m != nil {
		msg = m[2]
	}
	d.problem(line, "", "invalid YAML: %s", explainYAML(msg, lineOf(data, line)))
}

// explainYAML rewords the libyaml messages that name a symptom rather
// than the mistake behind it.
func explainYAML(msg, text string) string {
	switch {
	case msg == "found unexpected end of stream":
		// Raised only while scanning a quoted string, at its first line.
		return "a quoted string starts on this line and is never closed"
	case msg == "found character that cannot start any token" && strings.Contains(text[:len(text)-len(strings.TrimLeft(text, " \t"))], "\t"):
		return "a tab indents this line; YAML indents with spaces only"
	}
	return msg
}

// lineOf returns the text of 1-based line n of data ("" if there is none).
func lineOf(data []byte, n int) string {
	for i := 1; n > 0 && len(data) > 0; i++ {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		if i == n {
			return string(line)
		}
		data = rest
	}
	return ""
}

// yamlLine extracts the 1-based line of a yaml.v3 syntax error. yaml.v3
// prints a 0-based line for parser errors ("did not find expected ...")
// and omits the line when it is the first one; both are corrected here so
// the user is sent to the right line.
func yamlLine(msg string) int {
	m := yamlErrRE.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	if m[1] == "" {
		if strings.Contains(m[2], "anchor") || strings.Contains(m[2], "aliasing") {
			return 0 // raised while resolving aliases; no position is known
		}
		return 1
	}
	n, _ := strconv.Atoi(m[1])
	if isParserError(m[2]) {
		n++
	}
	return n
}

func isParserError(msg string) bool {
	for _, p := range []string{"did not find expected", "found undefined tag handle", "found duplicate %", "found incompatible YAML document"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
