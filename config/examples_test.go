package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestExampleFilterLoads(t *testing.T) {
	p, err := Load("examples/filter.yaml")
	if err != nil {
		t.Fatalf("example does not load:\n%v", err)
	}
	if p.Name != "filter-demo" || len(p.Stages) != 1 {
		t.Fatalf("got pipeline %q with %d stages", p.Name, len(p.Stages))
	}
	s := p.Stages[0]
	if s.Name != "filter" || s.Input != "events.parsed" || s.Outputs["default"] != "events.clean" ||
		s.DLQ != "filter.dlq" || s.Node.Command != "bin/nodes/filter" || s.Workers != 2 {
		t.Errorf("unexpected stage: %+v", s)
	}
	want := map[string]int32{"events.parsed": 3, "events.clean": 3, "filter.dlq": 1}
	if len(p.Topics) != len(want) {
		t.Errorf("got %d topics, want %d", len(p.Topics), len(want))
	}
	for name, parts := range want {
		if tp, ok := p.Topic(name); !ok || tp.Partitions != parts {
			t.Errorf("topic %s: got %+v, %v; want %d partitions", name, tp, ok, parts)
		}
	}
}

// TestExampleSensorsAvroLoads: the Avro sensor pipeline has the five
// stages of sensors.yaml, its typed topics and schema files found
// relative to the file.
func TestExampleSensorsAvroLoads(t *testing.T) {
	p, err := Load("examples/sensors-avro.yaml")
	if err != nil {
		t.Fatalf("example does not load:\n%v", err)
	}
	plain, err := Load("examples/sensors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Stages) != len(plain.Stages) {
		t.Fatalf("%d stages, sensors.yaml has %d", len(p.Stages), len(plain.Stages))
	}
	for i, s := range p.Stages {
		ps := plain.Stages[i]
		if s.Name != ps.Name || s.Input != ps.Input || s.Outputs["default"] != ps.Outputs["default"] || s.Node.Command != ps.Node.Command {
			t.Errorf("stage %s differs from sensors.yaml's %s", s.Name, ps.Name)
		}
	}
	want := map[string][]string{
		"events.raw":    nil,
		"events.parsed": {"sensor_event.avsc", "sensor_event.v2.avsc"},
		"events.clean":  {"clean_event.avsc"},
		"events.scored": {"scored_event.avsc"},
		"alerts":        {"alert.avsc"},
		"archives":      nil,
		"ingest.dlq":    nil,
	}
	for name, schemas := range want {
		tp, ok := p.Topic(name)
		if !ok {
			t.Fatalf("no topic %s", name)
		}
		format := FormatRaw
		if schemas != nil {
			format = FormatAvro
		} else if name == "archives" {
			format = FormatJSON
		}
		if tp.Format != format || len(tp.Schemas) != len(schemas) {
			t.Errorf("topic %s: format %s, %d schemas; want %s, %d", name, tp.Format, len(tp.Schemas), format, len(schemas))
			continue
		}
		for i, sf := range tp.Schemas {
			if filepath.Base(sf.Path) != schemas[i] {
				t.Errorf("topic %s: schema %d is %s, want %s", name, i, sf.Path, schemas[i])
			}
			if _, err := os.Stat(sf.Path); err != nil {
				t.Errorf("topic %s: %v", name, err)
			}
		}
		if schemas != nil && tp.Wire != WireSingleObject {
			t.Errorf("topic %s: wire %s, want %s", name, tp.Wire, WireSingleObject)
		}
	}
}

// TestBadFixtures pins what a user sees for each class of mistake, exactly.
func TestBadFixtures(t *testing.T) {
	dir := filepath.Join("..", "testdata", "config")
	for _, tc := range []struct{ file, want string }{
		{"unknown_field.yaml", `
{f}:11: stages.filter.node.comand: unknown field "comand" (did you mean "command"?)
{f}:12: stages.filter.parallelism: unknown field "parallelism" (known fields: assignor, backoff, batch, commit_interval, delivery, dlq, dlq_policy, group, input, max_frame, max_start_failures, node, outputs, retries, retry, timeouts, transaction, window, workers)`},
		{"wrong_type.yaml", `
{f}:5: topics["events.parsed"].partitions: expected an integer, got "three"
{f}:10: stages.filter.outputs: expected a mapping, got a list
{f}:12: stages.filter.workers: expected an integer, got "two"
{f}:14: stages.filter.batch.max_bytes: expected a size such as 64MiB or 1048576, got "lots"
{f}:15: stages.filter.commit_interval: expected a duration such as 250ms or 10s, got "soon"`},
		{"undeclared_topic.yaml", `
{f}:10: stages.filter.outputs.default: topic "events.cleen" is not declared under topics (declared: events.clean, events.parsed); did you mean "events.clean"?`},
		{"frame_too_small.yaml", `
{f}:10: stages.sink.batch.max_bytes (32MiB) exceeds stages.sink.max_frame (16MiB): raise max_frame or lower batch.max_bytes`},
		{"missing_required.yaml", `
{f}: pipeline: is required: name the pipeline, e.g. "pipeline: sensors"
{f}:5: stages.filter.input: is required: name the topic this stage consumes
{f}:6: stages.filter.node.command: is required: name the program to run as this stage's node`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			_, err := Load(path)
			assertErr(t, err, expand(tc.want, path))
		})
	}
}
