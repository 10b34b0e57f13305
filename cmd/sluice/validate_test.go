package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/testbroker"
)

// runnable rewrites the node command of a pipeline file to sh, which every
// test machine has, so that the node checks pass.
func runnable(t *testing.T, yaml string) string {
	t.Helper()
	out := strings.Replace(yaml, "command: bin/nodes/filter", "command: sh", 1)
	if out == yaml {
		t.Fatal("the pipeline no longer names bin/nodes/filter")
	}
	return out
}

func TestValidateOK(t *testing.T) {
	path := writeFile(t, "sensors.yaml", runnable(t, pipelineYAML))
	stdout, stderr := mustSluice(t, "", "validate", "--config", path, "--offline")
	want := path + ": ok — pipeline sensors, 3 topics, 1 stage (clean)\n"
	if stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing with --offline", stderr)
	}
}

func TestValidateExample(t *testing.T) {
	data, err := os.ReadFile("../../config/examples/filter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "filter.yaml", runnable(t, string(data)))
	stdout, _ := mustSluice(t, "", "validate", "-c", path, "--offline")
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

	_, _, err = sluice(t, "", "validate", "--config", "x.yaml", "--offline", "--brokers", "k:9092")
	if !errors.As(err, &ue) {
		t.Errorf("--offline with --brokers: err = %v, want a usage error", err)
	}
}

// wantProblems checks that err is exactly the problem lines want.
func wantProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	var probs config.Problems
	if !errors.As(err, &probs) {
		t.Fatalf("err = %v (%T), want config.Problems (exit 2)", err, err)
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// TestValidateNodeCommands: a command not in $PATH, a path that does not
// exist, one that is not executable, a directory, a missing node.dir; a
// path relative to node.dir that exists is fine.
func TestValidateNodeCommands(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plain.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	noExec := filepath.Join(dir, "plain.txt")
	path := writeFile(t, "nodes.yaml", fmt.Sprintf(`pipeline: nodes
topics:
  in: {partitions: 1}
stages:
  bare:
    input: in
    node: {command: sluice-no-such-program}
  missing:
    input: in
    node:
      command: bin/nodes/nope
  noexec:
    input: in
    node:
      command: %[1]s
  isdir:
    input: in
    node: {command: %[2]s}
  reldir:
    input: in
    node: {command: ./node.sh, dir: %[2]s}
  nodir:
    input: in
    node:
      command: ./node.sh
      dir: %[2]s/nope
`, noExec, dir))
	_, stderr, err := sluice(t, "", "validate", "-c", path, "--offline")
	wd, _ := os.Getwd()
	wantProblems(t, err,
		path+`:7: stages.bare.node.command: "sluice-no-such-program" is not in $PATH`,
		path+`:11: stages.missing.node.command: bin/nodes/nope does not exist (looked for `+filepath.Join(wd, "bin/nodes/nope")+`)`,
		path+`:15: stages.noexec.node.command: `+noExec+` is not executable (chmod +x `+noExec+`)`,
		path+`:18: stages.isdir.node.command: `+dir+` is a directory, not a program`,
		path+`:26: stages.nodir.node.dir: `+dir+`/nope does not exist`,
	)
	if stderr != "" {
		t.Errorf("stderr = %q", stderr)
	}
}

// TestValidateTopics checks the declared topics against a broker: a
// missing topic, one with fewer partitions than declared, and a missing
// implicit DLQ topic are problems at the lines that declare them; once
// they are fixed the summary says the topics were checked.
func TestValidateTopics(t *testing.T) {
	addr := startKafka(t)
	in, out, short, stage := testbroker.Name(t, "in"), testbroker.Name(t, "out"), testbroker.Name(t, "short"), testbroker.Name(t, "st")
	makeTopic(t, addr, in, 2)
	makeTopic(t, addr, short, 1)
	yaml := fmt.Sprintf(`pipeline: topics
topics:
  %[1]s: {partitions: 2}
  %[2]s:
    partitions: 3
  %[3]s:
    partitions: 3
stages:
  %[4]s:
    input: %[1]s
    outputs: {default: %[2]s, short: %[3]s}
    node: {command: sh}
`, in, out, short, stage)
	path := writeFile(t, "topics.yaml", yaml)
	_, _, err := sluice(t, "", "validate", "-c", path, "--brokers", addr)
	wantProblems(t, err,
		fmt.Sprintf(`%s:4: topics[%q]: topic does not exist on %s; create it with: sluice topics create --config %s`, path, out, addr, path),
		fmt.Sprintf(`%s:6: topics[%q].partitions: the file says 3, the topic on %s has 1; sluice never adds partitions (that moves keys to other partitions): change the file, or the topic`, path, short, addr),
		fmt.Sprintf(`%s:9: topics[%q]: topic does not exist on %s (the default dead-letter topic of stage %s); create it with: sluice topics create --config %s`, path, stage+".dlq", addr, stage, path),
	)

	makeTopic(t, addr, out, 3)
	makeTopic(t, addr, stage+".dlq", 1)
	fixed := strings.Replace(yaml, "  "+short+":\n    partitions: 3\n", "  "+short+":\n    partitions: 1\n", 1)
	path = writeFile(t, "topics.yaml", fixed)
	stdout, stderr := mustSluice(t, "", "validate", "-c", path, "--brokers", addr)
	if want := "; topics checked on " + addr + "\n"; !strings.HasSuffix(stdout, want) {
		t.Errorf("stdout = %q, want it to end with %q", stdout, want)
	}
	if stderr != "" {
		t.Errorf("stderr = %q", stderr)
	}
}

// TestValidateBrokerUnreachable: no broker answers, so the topic checks are
// skipped with a note and a file that is otherwise valid passes.
func TestValidateBrokerUnreachable(t *testing.T) {
	addr := freeAddr(t)
	path := writeFile(t, "sensors.yaml", runnable(t, pipelineYAML))
	stdout, stderr := mustSluice(t, "", "validate", "-c", path, "--brokers", addr)
	if want := path + ": ok — pipeline sensors, 3 topics, 1 stage (clean)\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if want := "note: broker not reachable at " + addr + ": skipped the topic checks\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}
