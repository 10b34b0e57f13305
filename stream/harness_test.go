package stream

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/testbroker"
	"github.com/sluicehq/sluice/stream/codec"
)

// testNode is the path of the compiled stream/internal/testnode.
var testNode string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-testnode")
	if err != nil {
		panic(err)
	}
	testNode = filepath.Join(dir, "testnode")
	out, err := exec.Command("go", "build", "-o", testNode, "./internal/testnode").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the test node: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// harness is a kfake cluster (the real Kafka protocol, in process) with the
// topics of a one-stage pipeline: in -> out (+ alerts), DLQ s.dlq.
type harness struct {
	t     *testing.T
	addrs []string
	real  bool // an Apache Kafka, not kfake
	cl    *kgo.Client
	adm   *kadm.Client
	logs  *observer.ObservedLogs
	log   *zap.Logger
	// Topic and group names, unique per test so that tests can share a
	// real broker.
	in, out, alerts, dlq, group string
	// codecs are the topics' codecs the stages get (typed_test.go); nil:
	// every topic raw.
	codecs *codec.Set
}

func newHarness(t *testing.T, inPartitions int32) *harness {
	t.Helper()
	b := testbroker.Get(t)
	h := &harness{t: t, addrs: b.Addrs, real: b.Real,
		in: testbroker.Name(t, "in"), out: testbroker.Name(t, "out"), alerts: testbroker.Name(t, "alerts"),
		dlq: testbroker.Name(t, "dlq"), group: testbroker.Name(t, "g")}
	var err error
	h.cl, err = kgo.NewClient(kgo.SeedBrokers(h.addrs...), kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(8<<20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.cl.Close)
	h.adm = kadm.NewClient(h.cl)
	ctx := context.Background()
	for topic, parts := range map[string]int32{h.in: inPartitions, h.out: 3, h.alerts: 1, h.dlq: 1} {
		big := "8388608" // 8 MiB records allowed, for the large-record tests
		if _, err := h.adm.CreateTopic(ctx, parts, 1, map[string]*string{"max.message.bytes": &big}, topic); err != nil {
			t.Fatal(err)
		}
	}
	core, logs := observer.New(zap.InfoLevel)
	h.logs, h.log = logs, zap.New(core)
	return h
}

// stageConfig is the stage under test with short timeouts; mods adjust it.
func (h *harness) stageConfig(mods ...func(*config.Stage)) config.Stage {
	st := config.DefaultStage("test", "s")
	st.Input = h.in
	st.Outputs = map[string]string{"default": h.out, "alerts": h.alerts}
	st.DLQ = h.dlq
	st.Group = h.group
	st.Node.Command = testNode
	st.Node.Env = map[string]string{}
	st.Workers = 2
	st.Timeouts.Handshake = 5 * time.Second
	st.Timeouts.Batch = 5 * time.Second
	st.Timeouts.Drain = 5 * time.Second
	st.Timeouts.Shutdown = 10 * time.Second
	st.CommitInterval = 100 * time.Millisecond
	st.Backoff.Initial = 10 * time.Millisecond
	st.Backoff.Max = 100 * time.Millisecond
	st.Retry.Initial = 10 * time.Millisecond
	st.Retry.Max = 100 * time.Millisecond
	for _, m := range mods {
		m(&st)
	}
	return st
}

// running is a stage started in the background.
type running struct {
	s      *Stage
	cancel context.CancelFunc
	done   chan error
}

func (h *harness) start(st config.Stage) *running {
	h.t.Helper()
	s, err := New(Options{Stage: st, Pipeline: "test", Brokers: h.addrs, Logger: h.log, Codecs: h.codecs})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	h.t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// stop cancels the stage and returns Run's error.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("stage did not stop within 60s")
		return nil
	}
}

func (h *harness) produce(recs ...*kgo.Record) {
	h.t.Helper()
	if err := h.cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		h.t.Fatal(err)
	}
}

// waitCount waits until topic holds at least n records.
func (h *harness) waitCount(topic string, n int64, timeout time.Duration) int64 {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	var total int64
	for time.Now().Before(deadline) {
		total = h.count(topic)
		if total >= n {
			return total
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("topic %s holds %d records after %s, want at least %d", topic, total, timeout, n)
	return total
}

func (h *harness) count(topic string) int64 {
	ends, err := h.adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		h.t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	return total
}

// readAll returns every record of topic, in per-partition order.
func (h *harness) readAll(topic string) []*kgo.Record {
	h.t.Helper()
	ctx := context.Background()
	ends, err := h.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		h.t.Fatal(err)
	}
	want := map[int32]int64{}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset; total += o.Offset })
	if total == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.addrs...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(64<<20))
	if err != nil {
		h.t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	got := map[int32]int64{}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		done := true
		for p, end := range want {
			if got[p] < end {
				done = false
			}
		}
		if done {
			return out
		}
		fs := cl.PollFetches(cctx)
		if cctx.Err() != nil {
			h.t.Fatalf("reading %s: timed out with %d of %d records", topic, len(out), total)
		}
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, r)
			got[r.Partition] = r.Offset + 1
		})
	}
}

// fetchOffsets is FetchOffsets asked again while the broker answers a
// retriable error (COORDINATOR_NOT_AVAILABLE on a freshly started broker).
func (h *harness) fetchOffsets(group string) (kadm.OffsetResponses, error) {
	offs, err := h.adm.FetchOffsets(context.Background(), group)
	for deadline := time.Now().Add(30 * time.Second); err != nil && kerr.IsRetriable(err) && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		offs, err = h.adm.FetchOffsets(context.Background(), group)
	}
	return offs, err
}

// committed returns the group's committed offsets on the input topic.
func (h *harness) committed(group string) map[int32]int64 {
	h.t.Helper()
	offs, err := h.fetchOffsets(group)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == h.in {
			out[o.Partition] = o.At
		}
	})
	return out
}

// endOffsets of the input topic.
func (h *harness) endOffsets() map[int32]int64 {
	ends, err := h.adm.ListEndOffsets(context.Background(), h.in)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// records makes n records for topic keyed k0..k(keys-1) with values "key:seq".
func records(topic string, n, keys int) []*kgo.Record {
	out := make([]*kgo.Record, n)
	seq := map[int]int{}
	for i := range n {
		k := i % keys
		out[i] = &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", k), Value: fmt.Appendf(nil, "k%d:%06d", k, seq[k])}
		seq[k]++
	}
	return out
}
