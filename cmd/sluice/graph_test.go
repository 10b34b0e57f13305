package main

import (
	"errors"
	"strings"
	"testing"
)

// The graphs of config/examples/sensors.yaml. If the example changes,
// regenerate them with bin/sluice graph -c config/examples/sensors.yaml
// --format F and check the drawing still reads right.
const (
	sensorsGraphText = `pipeline sensors: 5 stages, 11 topics

events.raw --> [ingest] --> events.parsed
                        ..> ingest.dlq (dlq)

events.parsed --> [filter] --> events.clean
                           ..> filter.dlq (dlq)

events.clean --> [classify] --> events.scored
                            ..> classify.dlq (dlq)

events.scored --> [alert] --> alerts
                          ..> alert.dlq (dlq)

events.scored --> [archive] --> archives
                            ..> archive.dlq (dlq)

fed from outside the pipeline: events.raw
`
	sensorsGraphMermaid = `flowchart LR
  t0[("events.raw")]
  t1[("events.parsed")]
  t2[("events.clean")]
  t3[("events.scored")]
  t4[("alerts")]
  t5[("archives")]
  t6[("ingest.dlq")]
  t7[("filter.dlq")]
  t8[("classify.dlq")]
  t9[("alert.dlq")]
  t10[("archive.dlq")]
  s0["ingest"]
  s1["filter"]
  s2["classify"]
  s3["alert"]
  s4["archive"]
  t0 --> s0
  s0 --> t1
  s0 -.->|dlq| t6
  t1 --> s1
  s1 --> t2
  s1 -.->|dlq| t7
  t2 --> s2
  s2 --> t3
  s2 -.->|dlq| t8
  t3 --> s3
  s3 --> t4
  s3 -.->|dlq| t9
  t3 --> s4
  s4 --> t5
  s4 -.->|dlq| t10
`
	sensorsGraphDot = `digraph "sensors" {
  rankdir=LR;
  node [fontname="Helvetica"];
  edge [fontname="Helvetica"];
  "topic:events.raw" [label="events.raw", shape=cylinder];
  "topic:events.parsed" [label="events.parsed", shape=cylinder];
  "topic:events.clean" [label="events.clean", shape=cylinder];
  "topic:events.scored" [label="events.scored", shape=cylinder];
  "topic:alerts" [label="alerts", shape=cylinder];
  "topic:archives" [label="archives", shape=cylinder];
  "topic:ingest.dlq" [label="ingest.dlq", shape=cylinder];
  "topic:filter.dlq" [label="filter.dlq", shape=cylinder];
  "topic:classify.dlq" [label="classify.dlq", shape=cylinder];
  "topic:alert.dlq" [label="alert.dlq", shape=cylinder];
  "topic:archive.dlq" [label="archive.dlq", shape=cylinder];
  "stage:ingest" [label="ingest", shape=box, style=rounded];
  "stage:filter" [label="filter", shape=box, style=rounded];
  "stage:classify" [label="classify", shape=box, style=rounded];
  "stage:alert" [label="alert", shape=box, style=rounded];
  "stage:archive" [label="archive", shape=box, style=rounded];
  "topic:events.raw" -> "stage:ingest";
  "stage:ingest" -> "topic:events.parsed";
  "stage:ingest" -> "topic:ingest.dlq" [style=dashed, label="dlq"];
  "topic:events.parsed" -> "stage:filter";
  "stage:filter" -> "topic:events.clean";
  "stage:filter" -> "topic:filter.dlq" [style=dashed, label="dlq"];
  "topic:events.clean" -> "stage:classify";
  "stage:classify" -> "topic:events.scored";
  "stage:classify" -> "topic:classify.dlq" [style=dashed, label="dlq"];
  "topic:events.scored" -> "stage:alert";
  "stage:alert" -> "topic:alerts";
  "stage:alert" -> "topic:alert.dlq" [style=dashed, label="dlq"];
  "topic:events.scored" -> "stage:archive";
  "stage:archive" -> "topic:archives";
  "stage:archive" -> "topic:archive.dlq" [style=dashed, label="dlq"];
}
`
)

func TestGraphSensorsGolden(t *testing.T) {
	path := "../../config/examples/sensors.yaml"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, sensorsGraphText},
		{[]string{"--format", "text"}, sensorsGraphText},
		{[]string{"--format", "mermaid"}, sensorsGraphMermaid},
		{[]string{"--format", "dot"}, sensorsGraphDot},
	} {
		stdout, _ := mustSluice(t, "", append([]string{"graph", "--config", path}, tc.args...)...)
		if stdout != tc.want {
			t.Errorf("graph %v:\n%s\nwant:\n%s", tc.args, stdout, tc.want)
		}
	}
}

// TestGraphNamedOutputsAndUnused covers what the sensors file lacks: named
// outputs, an explicit DLQ, and a declared topic no stage uses.
func TestGraphNamedOutputsAndUnused(t *testing.T) {
	path := writeFile(t, "p.yaml", `pipeline: demo
topics:
  in: {partitions: 1}
  ok: {partitions: 1}
  alerts: {partitions: 1}
  bad: {partitions: 1}
  spare: {partitions: 1}
stages:
  split:
    input: in
    outputs: {zeta: alerts, default: ok}
    dlq: bad
    node: {command: sh}
`)
	stdout, _ := mustSluice(t, "", "graph", "-c", path)
	want := `pipeline demo: 1 stage, 5 topics

in --> [split] --> ok
               --> alerts (output zeta)
               ..> bad (dlq)

fed from outside the pipeline: in
declared, used by no stage: spare
`
	if stdout != want {
		t.Errorf("text:\n%s\nwant:\n%s", stdout, want)
	}
	stdout, _ = mustSluice(t, "", "graph", "-c", path, "--format", "mermaid")
	if !strings.Contains(stdout, `  s0 -->|"zeta"| t2`+"\n") || !strings.Contains(stdout, "  s0 -.->|dlq| t3\n") {
		t.Errorf("mermaid lacks the named and dlq edges:\n%s", stdout)
	}
	stdout, _ = mustSluice(t, "", "graph", "-c", path, "--format", "dot")
	if !strings.Contains(stdout, `  "stage:split" -> "topic:alerts" [label="zeta"];`+"\n") {
		t.Errorf("dot lacks the named edge:\n%s", stdout)
	}
}

func TestGraphUsage(t *testing.T) {
	_, _, err := sluice(t, "", "graph")
	var ue usageError
	if !errors.As(err, &ue) || err.Error() != "graph needs the pipeline file: sluice graph --config pipeline.yaml" {
		t.Errorf("err = %v", err)
	}
	_, _, err = sluice(t, "", "graph", "-c", "../../config/examples/sensors.yaml", "--format", "svg")
	if !errors.As(err, &ue) || err.Error() != `--format "svg": want "text", "mermaid" or "dot"` {
		t.Errorf("err = %v", err)
	}
}
