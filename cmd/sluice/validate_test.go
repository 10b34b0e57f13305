package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
)

func TestValidateOK(t *testing.T) {
	path := writeFile(t, "sensors.yaml", pipelineYAML)
	stdout, _ := mustSluice(t, "", "validate", "--config", path)
	want := path + ": ok — pipeline sensors, 3 topics, 1 stage (clean)\n"
	if stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
}

func TestValidateExample(t *testing.T) {
	path := "../../config/examples/filter.yaml"
	stdout, _ := mustSluice(t, "", "validate", "-c", path)
	// The example is edited elsewhere: check only that it is valid.
	if want := path + ": ok — pipeline "; !strings.HasPrefix(stdout, want) {
		t.Errorf("stdout = %q, want it to start with %q", stdout, want)
	}
}

func TestValidateProblems(t *testing.T) {
	path := writeFile(t, "bad.yaml", `pipeline: sensors
topics:
  events.parsed: {partitions: 3}
stages:
  clean:
    input: events.parsed
    node: {comand: bin/nodes/filter}
    workers: two
`)
	stdout, _, err := sluice(t, "", "validate", "--config", path)
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	var probs config.Problems
	if !errors.As(err, &probs) {
		t.Fatalf("err = %v (%T), want config.Problems (exit 2)", err, err)
	}
	want := []string{
		path + `:7: stages.clean.node.comand: unknown field "comand" (did you mean "command"?)`,
		path + `:8: stages.clean.workers: expected an integer, got "two"`,
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("error lacks line\n  %s\ngot:\n%s", w, got)
		}
	}
	for _, line := range strings.Split(got, "\n") {
		if !strings.HasPrefix(line, path+":") {
			t.Errorf("problem line %q does not start with %q", line, path+":")
		}
	}
}

func TestValidateUsage(t *testing.T) {
	_, _, err := sluice(t, "", "validate")
	var ue usageError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want a usage error", err)
	}
	if want := "validate needs the pipeline file: sluice validate --config pipeline.yaml"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}

	_, _, err = sluice(t, "", "validate", "--config", "/nonexistent/p.yaml")
	if want := "read /nonexistent/p.yaml: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
