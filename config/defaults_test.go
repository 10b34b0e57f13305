package config

import (
	"reflect"
	"testing"
	"time"
)

func wantDefaults(pipeline, name string) Stage {
	return Stage{
		Name:             name,
		Group:            "sluice." + pipeline + "." + name,
		DLQ:              name + ".dlq",
		Workers:          1,
		Batch:            Batch{MaxRecords: 500, MaxBytes: 1 << 20},
		Window:           Window{Records: 10000, Bytes: 64 << 20, Batches: 4},
		Timeouts:         Timeouts{Handshake: 10 * time.Second, Batch: 30 * time.Second, Drain: 20 * time.Second, Shutdown: 30 * time.Second},
		CommitInterval:   time.Second,
		Retries:          3,
		Backoff:          Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second},
		MaxStartFailures: 5,
		MaxFrame:         16 << 20,
		Delivery:         DeliveryAtLeastOnce,
		Retry:            Retry{MaxAttempts: 5, Initial: 200 * time.Millisecond, Max: 30 * time.Second},
		DLQPolicy:        DLQPolicy{OnWriteFailure: DLQWriteStop, MaxRecords: 100000, Per: time.Minute},
		Transaction:      Transaction{MaxRecords: 50000, Interval: 250 * time.Millisecond, Timeout: time.Minute},
		Assignor:         AssignorCooperativeSticky,
		Node:             Node{Values: NodeValuesDecoded},
	}
}

func TestDefaultStage(t *testing.T) {
	if got, want := DefaultStage("sensors", "filter"), wantDefaults("sensors", "filter"); !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultStage:\n got %+v\nwant %+v", got, want)
	}
}

func TestApplyDefaultsKeepsSetFields(t *testing.T) {
	s := Stage{Name: "f", Group: "mine", Workers: 8, Batch: Batch{MaxBytes: 2 << 20}, Timeouts: Timeouts{Drain: time.Second}}
	s.ApplyDefaults("p")
	want := wantDefaults("p", "f")
	want.Group, want.Workers, want.Batch.MaxBytes, want.Timeouts.Drain = "mine", 8, 2<<20, time.Second
	if !reflect.DeepEqual(s, want) {
		t.Errorf("ApplyDefaults:\n got %+v\nwant %+v", s, want)
	}
}

// TestParseDefaults: a minimal file gets every default, the pipeline-wide
// ones and the implicit DLQ topic included.
func TestParseDefaults(t *testing.T) {
	p := mustParse(t, "pipeline: sensors\ntopics:\n  in:\nstages:\n  filter:\n    input: in\n    node:\n      command: x\n    workers:\n")
	if p.Kafka.ClientID != "sluice" || p.Kafka.Brokers != nil {
		t.Errorf("kafka: %+v", p.Kafka)
	}
	want := wantDefaults("sensors", "filter")
	want.Input, want.Node.Command, want.Line = "in", "x", 5
	want.Outputs, want.Node.Env, want.Node.Settings = map[string]string{}, map[string]string{}, map[string]string{}
	if !reflect.DeepEqual(p.Stages[0], want) {
		t.Errorf("stage:\n got %+v\nwant %+v", p.Stages[0], want)
	}
	wantTopics := []Topic{
		{Name: "in", Partitions: 1, Replication: -1, Configs: map[string]string{}, Line: 3, Format: FormatRaw, Compatibility: CompatBackward, Wire: WireSingleObject},
		{Name: "filter.dlq", Partitions: 1, Replication: -1, Configs: map[string]string{}, Format: FormatRaw, Compatibility: CompatBackward, Wire: WireSingleObject},
	}
	if !reflect.DeepEqual(p.Topics, wantTopics) {
		t.Errorf("topics:\n got %+v\nwant %+v", p.Topics, wantTopics)
	}
}

// TestParseExplicitValues checks every field reaches the struct.
func TestParseExplicitValues(t *testing.T) {
	p := mustParse(t, `pipeline: full
kafka:
  brokers: [k1:9092, "k2:9093"]
  client_id: me
topics:
  a: {partitions: 6, replication: 3, configs: {retention.ms: 604800000, cleanup.policy: compact}}
  b: {}
  errs: {}
stages:
  s:
    input: a
    group: g
    outputs: {default: b, audit: b}
    dlq: errs
    node:
      command: bin/n
      args: [-v, "--mode=fast"]
      env: {LEVEL: debug, N: 3}
      dir: /srv
      settings: {threshold: 0.5}
    workers: 4
    batch: {max_records: 100, max_bytes: 512KiB}
    window: {records: 1000, bytes: 8MB, batches: 2}
    timeouts: {handshake: 1s, batch: 2s, drain: 3s, shutdown: 4s}
    commit_interval: 250ms
    retries: 7
    backoff: {initial: 1s, max: 1m}
    max_start_failures: 9
    max_frame: 1048576
    delivery: exactly-once
    retry: {max_attempts: 8, initial: 50ms, max: 5s}
    dlq_policy: {on_write_failure: retry, max_records: 0, per: 10s}
    transaction: {max_records: 2000, interval: 100ms, timeout: 30s}
    assignor: range
`)
	got := p.Stages[0]
	want := Stage{
		Name: "s", Input: "a", Group: "g",
		Outputs: map[string]string{"default": "b", "audit": "b"},
		DLQ:     "errs",
		Node: Node{Command: "bin/n", Args: []string{"-v", "--mode=fast"}, Env: map[string]string{"LEVEL": "debug", "N": "3"},
			Dir: "/srv", Settings: map[string]string{"threshold": "0.5"}, Values: NodeValuesDecoded},
		Workers:          4,
		Batch:            Batch{MaxRecords: 100, MaxBytes: 512 << 10},
		Window:           Window{Records: 1000, Bytes: 8e6, Batches: 2},
		Timeouts:         Timeouts{Handshake: time.Second, Batch: 2 * time.Second, Drain: 3 * time.Second, Shutdown: 4 * time.Second},
		CommitInterval:   250 * time.Millisecond,
		Retries:          7,
		Backoff:          Backoff{Initial: time.Second, Max: time.Minute},
		MaxStartFailures: 9,
		MaxFrame:         1 << 20,
		Delivery:         DeliveryExactlyOnce,
		Retry:            Retry{MaxAttempts: 8, Initial: 50 * time.Millisecond, Max: 5 * time.Second},
		DLQPolicy:        DLQPolicy{OnWriteFailure: DLQWriteRetry, MaxRecords: NoDLQCap, Per: 10 * time.Second},
		Transaction:      Transaction{MaxRecords: 2000, Interval: 100 * time.Millisecond, Timeout: 30 * time.Second},
		Assignor:         AssignorRange,
		Line:             10,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stage:\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(p.Kafka, Kafka{Brokers: []string{"k1:9092", "k2:9093"}, ClientID: "me"}) {
		t.Errorf("kafka: %+v", p.Kafka)
	}
	wantA := Topic{Name: "a", Partitions: 6, Replication: 3, Configs: map[string]string{"retention.ms": "604800000", "cleanup.policy": "compact"}, Line: 6,
		Format: FormatRaw, Compatibility: CompatBackward, Wire: WireSingleObject}
	if a, _ := p.Topic("a"); !reflect.DeepEqual(*a, wantA) {
		t.Errorf("topic a: %+v", *a)
	}
	if len(p.Topics) != 3 {
		t.Errorf("errs is declared; no implicit topic expected: %+v", p.Topics)
	}
}

// TestMergeKeys: shared settings through an x- anchor, explicit keys win.
func TestMergeKeys(t *testing.T) {
	p := mustParse(t, `pipeline: p
x-common: &common
  workers: 3
  node: {command: bin/shared}
topics: {in: {}}
stages:
  a:
    <<: *common
    input: in
  b:
    <<: *common
    input: in
    workers: 5
`)
	a, b := p.Stages[0], p.Stages[1]
	if a.Workers != 3 || a.Node.Command != "bin/shared" || b.Workers != 5 || b.Node.Command != "bin/shared" {
		t.Errorf("merge: a=%+v b=%+v", a, b)
	}
	// A list of anchors: earlier ones win, as YAML specifies.
	p = mustParse(t, `pipeline: p
x-one: &one {workers: 2}
x-two: &two {workers: 7, retries: 9}
topics: {in: {}}
stages:
  a:
    <<: [*one, *two]
    input: in
    node: {command: x}
`)
	if a := p.Stages[0]; a.Workers != 2 || a.Retries != 9 {
		t.Errorf("merge list: %+v", a)
	}
}
