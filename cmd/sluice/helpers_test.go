package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startKafka starts an in-process single-broker kfake cluster (the real
// Kafka protocol) and returns its address.
func startKafka(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
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

// makeTopic creates a topic directly, bypassing sluice.
func makeTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	if _, err := admin(t, addr).CreateTopic(testCtx(t), partitions, 1, nil, topic); err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
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

// pipelineYAML is a small valid pipeline file: two declared topics and
// one stage, whose DLQ topic "clean.dlq" is implicit.
const pipelineYAML = `pipeline: sensors
topics:
  events.parsed: {partitions: 3}
  events.clean:
    partitions: 2
    configs: {retention.ms: "3600000"}
stages:
  clean:
    input: events.parsed
    outputs: {default: events.clean}
    node: {command: bin/nodes/filter}
`
