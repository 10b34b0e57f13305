package config

import (
	"strings"
	"testing"
)

// expand turns a readable want text (leading newline, {f} for the file)
// into the exact error text.
func expand(want, file string) string {
	return strings.ReplaceAll(strings.TrimPrefix(want, "\n"), "{f}", file)
}

func assertErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want:\n%s", want)
	}
	if got := err.Error(); got != want {
		t.Errorf("error text differs\n got:\n%s\nwant:\n%s", got, want)
	}
}

// stageFile is a valid one-stage file; extra lines are appended to the
// stage s (indent 4) or, unindented, to the top level. Its lines 1-9 are
// fixed so that tests can name the line of the first extra line: 10.
const stageFile = `pipeline: p
topics:
  in: {}
  out: {}
stages:
  s:
    input: in
    outputs: {default: out}
    node: {command: bin/n}
`

func parseErr(t *testing.T, src string) error {
	t.Helper()
	p, err := Parse("p.yaml", []byte(src))
	if err == nil {
		t.Fatalf("parsed without error: %+v", p)
	}
	return err
}

func mustParse(t *testing.T, src string) *Pipeline {
	t.Helper()
	p, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatalf("unexpected error:\n%v", err)
	}
	return p
}
