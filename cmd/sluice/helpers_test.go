package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testbroker"
)

// startKafka returns the bootstrap address(es), comma-separated, of the
// broker testbroker picks for t: SLUICE_TEST_BROKERS (a shared Apache
// Kafka), else a shared testcontainers Kafka, else a fresh in-process
// kfake cluster. The first two are shared, so tests name their topics
// with testbroker.Name.
func startKafka(t *testing.T) string {
	t.Helper()
	return strings.Join(testbroker.Get(t).Addrs, ",")
}

// admin returns a kadm client for addr, closed at the end of the test.
func admin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// makeTopic creates a topic directly, bypassing sluice, with the broker's
// default replication, and waits until it is usable.
func makeTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	makeTopicWith(t, addr, topic, partitions, nil)
}

// makeTopicWith is makeTopic with topic configs.
func makeTopicWith(t *testing.T, addr, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	if _, err := admin(t, addr).CreateTopic(testCtx(t), partitions, -1, configs, topic); err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
	waitTopics(t, addr, topic)
}

// waitTopics waits until every one of topics is in the broker's metadata
// with a leader for each partition, and its offsets can be listed. Apache
// Kafka creates topics asynchronously: CreateTopics returns before every
// broker knows the topic, and sluice's produce and tail refuse a topic the
// metadata does not show yet.
func waitTopics(t *testing.T, addr string, topics ...string) {
	t.Helper()
	adm := admin(t, addr)
	ctx := testCtx(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := topicsReady(ctx, adm, topics)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topics %v not ready after 30s: %v", topics, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func topicsReady(ctx context.Context, adm *kadm.Client, topics []string) error {
	tds, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return err
	}
	for _, topic := range topics {
		td, ok := tds[topic]
		switch {
		case !ok:
			return fmt.Errorf("%s: not in the metadata", topic)
		case td.Err != nil:
			return fmt.Errorf("%s: %w", topic, td.Err)
		case len(td.Partitions) == 0:
			return fmt.Errorf("%s: no partitions yet", topic)
		}
		for _, p := range td.Partitions {
			if p.Err != nil || p.Leader < 0 {
				return fmt.Errorf("%s/%d: leader %d, %v", topic, p.Partition, p.Leader, p.Err)
			}
		}
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	return err
}

// testCtx is a context that ends with the test, or after a minute.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runIn runs the sluice root command with args, stdin and ctx, as main
// does, and returns what it wrote to stdout and stderr.
func runIn(ctx context.Context, stdin string, stdout, stderr *syncBuffer, args ...string) error {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// sluice runs one command to completion.
func sluice(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut syncBuffer
	err = runIn(testCtx(t), stdin, &out, &errOut, args...)
	return out.String(), errOut.String(), err
}

// mustSluice runs one command and fails the test if it fails.
func mustSluice(t *testing.T, stdin string, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := sluice(t, stdin, args...)
	if err != nil {
		t.Fatalf("sluice %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return stdout, stderr
}

// writeFile writes content to name in a fresh temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sensorsTopics are the names in a sensors pipeline file: its two declared
// topics, its one stage and that stage's implicit DLQ topic.
type sensorsTopics struct{ parsed, clean, stage, dlq string }

// sensorsYAML is a small valid pipeline file: two declared topics and one
// stage, whose DLQ topic (the stage's name + ".dlq") is implicit.
func sensorsYAML(n sensorsTopics) string {
	return fmt.Sprintf(`pipeline: sensors
topics:
  %[1]s: {partitions: 3}
  %[2]s:
    partitions: 2
    configs: {retention.ms: "3600000"}
stages:
  %[3]s:
    input: %[1]s
    outputs: {default: %[2]s}
    node: {command: bin/nodes/filter}
`, n.parsed, n.clean, n.stage)
}

// pipelineYAML is sensorsYAML with plain names: events.parsed,
// events.clean, stage clean and its DLQ clean.dlq. For tests that reach no
// broker.
var pipelineYAML = sensorsYAML(sensorsTopics{"events.parsed", "events.clean", "clean", "clean.dlq"})

// writeSensors writes a sensors pipeline file whose topics and stage
// (hence DLQ topic) are named uniquely for t, as tests on a shared broker
// must, and returns its path and the names.
func writeSensors(t *testing.T) (string, sensorsTopics) {
	t.Helper()
	stage := testbroker.Name(t, "clean")
	n := sensorsTopics{
		parsed: testbroker.Name(t, "events.parsed"),
		clean:  testbroker.Name(t, "events.clean"),
		stage:  stage,
		dlq:    stage + ".dlq",
	}
	return writeFile(t, "sensors.yaml", sensorsYAML(n)), n
}
