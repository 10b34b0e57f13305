package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProblemError(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{"p.yaml", 3, "stages.a.workers", "must be between 1 and 256, got 0"}, "p.yaml:3: stages.a.workers: must be between 1 and 256, got 0"},
		{Problem{"p.yaml", 0, "pipeline", "is required"}, "p.yaml: pipeline: is required"},
		{Problem{"p.yaml", 4, "", "invalid YAML: x"}, "p.yaml:4: invalid YAML: x"},
		{Problem{"p.yaml", 0, "", "the file is empty"}, "p.yaml: the file is empty"},
		{Problem{"", 4, "f", "m"}, "line 4: f: m"},
		{Problem{"", 0, "f", "m"}, "f: m"},
		{Problem{"p.yaml", 9, "stages.a.batch.max_bytes", "stages.a.batch.max_bytes (2MiB) exceeds x"}, "p.yaml:9: stages.a.batch.max_bytes (2MiB) exceeds x"},
	} {
		if got := tc.p.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q; want %q", tc.p, got, tc.want)
		}
	}
	ps := Problems{{File: "a", Line: 1, Message: "x"}, {File: "a", Line: 2, Message: "y"}}
	if ps.Error() != "a:1: x\na:2: y" {
		t.Errorf("Problems.Error() = %q", ps.Error())
	}
	var p Problem
	if !errors.As(error(ps), &p) || p.Line != 1 {
		t.Errorf("errors.As does not reach the first Problem: %+v", p)
	}
}

func TestLoad(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(missing)
	if err == nil || err.Error() != "read "+missing+": no such file or directory" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte(stageFile), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil || p.File != path {
		t.Fatalf("Load: %v, %+v", err, p)
	}
	if p, _ := Parse("", []byte(stageFile)); p.File != "" {
		t.Errorf("Parse with no name: File = %q", p.File)
	}
}

func TestPipelineLookups(t *testing.T) {
	p := mustParse(t, stageFile+"  t:\n    input: out\n    node: {command: x}\n")
	if s, err := p.Stage("t"); err != nil || s.Name != "t" {
		t.Errorf("Stage(t) = %+v, %v", s, err)
	}
	_, err := p.Stage("x")
	if err == nil || err.Error() != `no stage "x" in p.yaml; stages: s, t` {
		t.Errorf("Stage(x) error = %v", err)
	}
	if _, err := (&Pipeline{Name: "q"}).Stage("x"); err == nil || err.Error() != `no stage "x" in pipeline "q"; stages: (none)` {
		t.Errorf("Stage on empty pipeline: %v", err)
	}
	if tp, ok := p.Topic("t.dlq"); !ok || tp.Partitions != 1 || tp.Replication != -1 || tp.Line != 0 {
		t.Errorf("implicit DLQ topic: %+v, %v", tp, ok)
	}
	if _, ok := p.Topic("nope"); ok {
		t.Error("Topic(nope) found")
	}
	// Topic returns a pointer into the pipeline, not a copy.
	tp, _ := p.Topic("in")
	tp.Partitions = 9
	if p.Topics[0].Partitions != 9 || !strings.HasPrefix(p.Topics[0].Name, "in") {
		t.Error("Topic returned a copy")
	}
}
