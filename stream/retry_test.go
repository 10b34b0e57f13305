package stream

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
)

// startWithRegistry is harness.start with a Prometheus registry.
func (h *harness) startWithRegistry(st config.Stage, reg *prometheus.Registry) *running {
	h.t.Helper()
	s, err := New(Options{Stage: st, Pipeline: "test", Brokers: h.addrs, Logger: h.log, Registry: reg})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	h.t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// byKey groups record values by key, keeping their order: outputs go to
// an output partition by key, so each key's sequence is what a reader sees
// in order.
func byKey(recs []*kgo.Record) map[string][]string {
	out := map[string][]string{}
	for _, r := range recs {
		out[string(r.Key)] = append(out[string(r.Key)], string(r.Value))
	}
	return out
}

// checkSameSequences asserts that every key's outputs are its inputs, in
// the same order, each exactly once.
func checkSameSequences(t *testing.T, in, out []*kgo.Record) {
	t.Helper()
	want, got := byKey(in), byKey(out)
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Fatalf("key %q: outputs differ from inputs\n got: %v\nwant: %v", k, got[k], w)
		}
	}
	if len(in) != len(out) {
		t.Fatalf("%d records in, %d out", len(in), len(out))
	}
}

func TestRetriableRecordSucceedsAfterRetriesInOrder(t *testing.T) {
	for _, mode := range []string{"frames", "files"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, 1)
			// One key: every output goes to one output partition, whose
			// order must be exactly the input partition's.
			var in []*kgo.Record
			for i := range 300 {
				v := fmt.Sprintf("k:%06d", i)
				switch i {
				case 5, 57, 250:
					v = fmt.Sprintf("retry-n:r%d:2", i) // retriable twice, then OK
				}
				in = append(in, &kgo.Record{Topic: h.in, Key: []byte("k"), Value: []byte(v)})
			}
			h.produce(in...)
			reg := prometheus.NewRegistry()
			st := h.stageConfig(func(s *config.Stage) {
				s.Workers = 1
				s.Batch.MaxRecords = 20
				// One batch at a time: a retriable record is never in a
				// batch swept into another's park (its answer dropped),
				// so the node's retriable answers are all counted.
				// TestRetriesKeepOrderWithPipelinedBatches pipelines.
				s.Window.Batches = 1
				s.Node.Env = map[string]string{"TESTNODE_STATE": t.TempDir()}
				if mode == "files" {
					s.Node.Env["TESTNODE_FILES"] = "1"
				}
			})
			r := h.startWithRegistry(st, reg)
			h.waitCount(h.out, int64(len(in)), 60*time.Second)
			if err := r.stop(t); err != nil {
				t.Fatal(err)
			}
			out := h.readAll(h.out)
			var got, want []string
			for _, o := range out {
				got = append(got, string(o.Value))
			}
			for _, i := range in {
				want = append(want, string(i.Value))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("outputs are not the inputs in order\n got: %v\nwant: %v", got, want)
			}
			if n := h.count(h.dlq); n != 0 {
				t.Fatalf("dlq holds %d records, want none", n)
			}
			if c := h.committed(h.group); c[0] != int64(len(in)) {
				t.Fatalf("committed %d, want %d", c[0], len(in))
			}
			// Three records, each retried twice.
			stats := r.s.Stats()
			if stats.Retried != 6 || stats.NodeRestarts != 0 || stats.DLQ != 0 {
				t.Fatalf("stats %+v, want 6 retries, no restart, no DLQ", stats)
			}
			if m := testutil.ToFloat64(r.s.metrics.v.retried.WithLabelValues("s")); m != 6 {
				t.Fatalf("%s = %v, want 6", MetricRetried, m)
			}
		})
	}
}

func TestAlwaysRetriableRecordGoesToDLQAfterMaxAttempts(t *testing.T) {
	h := newHarness(t, 1)
	var in []*kgo.Record
	for i := range 50 {
		in = append(in, &kgo.Record{Topic: h.in, Key: []byte("k"), Value: fmt.Appendf(nil, "k:%06d", i)})
	}
	bad := &kgo.Record{Topic: h.in, Key: []byte("bad"), Value: []byte("retry:db unavailable"),
		Headers: []kgo.RecordHeader{{Key: "h1", Value: []byte("v1")}, {Key: "sluice.stage", Value: []byte("upstream")}}}
	all := slices.Concat(in[:10], []*kgo.Record{bad}, in[10:])
	h.produce(all...)
	const attempts = 4
	initial, maxDelay := 50*time.Millisecond, 80*time.Millisecond
	st := h.stageConfig(func(s *config.Stage) {
		s.Workers = 1
		s.Batch.MaxRecords = 8
		s.Retry.MaxAttempts = attempts
		s.Retry.Initial, s.Retry.Max = initial, maxDelay
	})
	r := h.start(st)
	h.waitCount(h.dlq, 1, 60*time.Second)
	h.waitCount(h.out, int64(len(in)), 60*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	// The partition's other records are all produced, in order.
	checkSameSequences(t, in, h.readAll(h.out))

	dlq := h.readAll(h.dlq)
	if len(dlq) != 1 {
		t.Fatalf("dlq holds %d records, want 1", len(dlq))
	}
	d := dlq[0]
	if string(d.Key) != "bad" || string(d.Value) != "retry:db unavailable" || header(d, "h1") != "v1" || !d.Timestamp.Equal(bad.Timestamp) && !bad.Timestamp.IsZero() {
		t.Fatalf("dlq record lost the original: key %q value %q headers %v", d.Key, d.Value, d.Headers)
	}
	if header(d, HeaderErrorKind) != KindNodeRetriable || header(d, HeaderError) != "db unavailable" ||
		header(d, HeaderAttempts) != strconv.Itoa(attempts) || header(d, HeaderStage) != "s" ||
		header(d, HeaderSourceTopic) != h.in || header(d, HeaderSourcePartition) != "0" || header(d, HeaderSourceOffset) != "10" {
		t.Fatalf("dlq headers: %v", d.Headers)
	}
	first, err1 := time.Parse(time.RFC3339Nano, header(d, HeaderFirstFailedAt))
	last, err2 := time.Parse(time.RFC3339Nano, header(d, HeaderFailedAt))
	if err1 != nil || err2 != nil {
		t.Fatalf("failure times: %v, %v", err1, err2)
	}
	// The backoff really waits: between the first and the last failure
	// lie attempts-1 backoffs, each at least 80% of its nominal delay.
	var least time.Duration
	for n := 1; n < attempts; n++ {
		least += time.Duration(0.8 * float64(min(initial<<(n-1), maxDelay)))
	}
	if gap := last.Sub(first); gap < least {
		t.Fatalf("first failure %s, last %s: %s apart, want at least %s (the backoffs)", first, last, gap, least)
	}
	if s := r.s.Stats(); s.Retried != attempts-1 || s.DLQ != 1 {
		t.Fatalf("stats %+v, want %d retries and 1 DLQ record", s, attempts-1)
	}
}

func TestRetriesKeepOrderWithPipelinedBatches(t *testing.T) {
	h := newHarness(t, 2)
	in := records(h.in, 400, 8)
	// Retriable records in the very first batches and later; each keeps
	// its key, so its key's sequence shows whether it overtook anything.
	for _, i := range []int{1, 2, 9, 150, 151} {
		in[i].Value = fmt.Appendf(nil, "retry-n:p%d:3", i)
	}
	h.produce(in...)
	st := h.stageConfig(func(s *config.Stage) {
		s.Workers = 1 // both partitions on one worker: a parked one must not hold up the other
		s.Batch.MaxRecords = 5
		s.Window.Batches = 4
		s.Node.Env = map[string]string{"TESTNODE_STATE": t.TempDir(), "TESTNODE_DELAY": "100us"}
	})
	r := h.start(st)
	h.waitCount(h.out, int64(len(in)), 60*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	checkSameSequences(t, in, h.readAll(h.out))
	// Five records answered retriable three times each by the node; some
	// of those answers may have been dropped (the record was swept into
	// another record's park, and sent again), so the stage counted 5 to 15.
	if s := r.s.Stats(); s.Retried < 5 || s.Retried > 15 || s.DLQ != 0 {
		t.Fatalf("stats %+v, want 5 to 15 retries and no DLQ record", s)
	}
	ends, committed := h.endOffsets(), h.committed(h.group)
	for p, end := range ends {
		if committed[p] != end {
			t.Fatalf("partition %d: committed %d, end %d", p, committed[p], end)
		}
	}
}

// A node crash while a partition is parked: the crash's unanswered records
// of that partition join the park, so they cannot overtake the retried
// record, and nothing is lost or produced twice.
func TestRetryAndCrashTogetherKeepOrder(t *testing.T) {
	h := newHarness(t, 1)
	var in []*kgo.Record
	for i := range 200 {
		v := fmt.Sprintf("k:%06d", i)
		switch i {
		case 3:
			v = "retry-n:a:2"
		case 30:
			v = "crash-once:b" // in a batch already at the node when "a" is parked
		case 120:
			v = "crash-once:c"
		case 121:
			v = "retry-n:d:1"
		}
		in = append(in, &kgo.Record{Topic: h.in, Key: []byte("k"), Value: []byte(v)})
	}
	h.produce(in...)
	st := h.stageConfig(func(s *config.Stage) {
		s.Workers = 1
		s.Batch.MaxRecords = 10
		s.Window.Batches = 4
		s.Retries = 3
		// Parks are due at once: they are lifted the moment the batches
		// before them are answered — or the node crashed with them.
		s.Retry.Initial, s.Retry.Max = time.Nanosecond, time.Millisecond
		// Files mode: the test node answers each batch at once, so the
		// batches before the crash are answered (and "a" parked) first.
		s.Node.Env = map[string]string{"TESTNODE_STATE": t.TempDir(), "TESTNODE_FILES": "1"}
	})
	r := h.start(st)
	h.waitCount(h.out, int64(len(in)), 60*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	// crash-once passes the record on the second time: every input comes
	// out once, in order.
	checkSameSequences(t, in, h.readAll(h.out))
	if s := r.s.Stats(); s.NodeRestarts != 2 || s.DLQ != 0 {
		t.Fatalf("stats %+v, want 2 restarts and no DLQ record", s)
	}
}

func TestDLQRecordOfACrashCarriesFirstAndLastFailure(t *testing.T) {
	h := newHarness(t, 1)
	h.produce(&kgo.Record{Topic: h.in, Key: []byte("p"), Value: []byte("crash")},
		&kgo.Record{Topic: h.in, Key: []byte("k"), Value: []byte("after")})
	r := h.start(h.stageConfig(func(s *config.Stage) { s.Workers = 1; s.Retries = 3 }))
	h.waitCount(h.dlq, 1, 60*time.Second)
	h.waitCount(h.out, 1, 60*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	d := h.readAll(h.dlq)[0]
	first, err1 := time.Parse(time.RFC3339Nano, header(d, HeaderFirstFailedAt))
	last, err2 := time.Parse(time.RFC3339Nano, header(d, HeaderFailedAt))
	if err1 != nil || err2 != nil || !first.Before(last) || header(d, HeaderAttempts) != "3" {
		t.Fatalf("crash DLQ record: first %q last %q attempts %q", header(d, HeaderFirstFailedAt), header(d, HeaderFailedAt), header(d, HeaderAttempts))
	}
}

func TestOutputsCarryAnIdempotencyKey(t *testing.T) {
	h := newHarness(t, 1)
	h.produce(&kgo.Record{Topic: h.in, Key: []byte("a"), Value: []byte("multi:3")},
		&kgo.Record{Topic: h.in, Key: []byte("b"), Value: []byte("plain"), Headers: []kgo.RecordHeader{{Key: HeaderIdempotencyKey, Value: []byte("upstream's")}}},
		&kgo.Record{Topic: h.in, Key: []byte("c"), Value: []byte("fail:no")})
	r := h.start(h.stageConfig(func(s *config.Stage) { s.Workers = 1 }))
	h.waitCount(h.out, 4, 60*time.Second)
	h.waitCount(h.dlq, 1, 60*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range h.readAll(h.out) {
		keys = append(keys, header(o, HeaderIdempotencyKey))
	}
	slices.Sort(keys)
	want := []string{"s/" + h.in + "/0/0/0", "s/" + h.in + "/0/0/1", "s/" + h.in + "/0/0/2", "s/" + h.in + "/0/1/0"}
	if !slices.Equal(keys, want) {
		t.Fatalf("idempotency keys %q, want %q", keys, want)
	}
	if d := h.readAll(h.dlq)[0]; header(d, HeaderIdempotencyKey) != "" {
		t.Fatalf("a DLQ record carries no idempotency key: %v", d.Headers)
	}
}

// TestParkOrdersAndReleases is the park's bookkeeping without a node.
func TestParkOrdersAndReleases(t *testing.T) {
	s := &Stage{cfg: &config.Stage{}, tracker: newTracker(100, 1<<20)}
	w := &worker{s: s, notify: make(chan struct{}, 1)}
	c := s.tracker.add([]*kgo.Record{{Topic: "t", Partition: 0, Offset: 7}, {Topic: "t", Partition: 0, Offset: 8}, {Topic: "t", Partition: 0, Offset: 9}})
	other := s.tracker.add([]*kgo.Record{{Topic: "t", Partition: 1, Offset: 3}})
	now := time.Now()
	w.nextID = 4
	w.sent = []*sentBatch{{id: 4}}
	w.park(&c.recs[1], now.Add(time.Second))
	if !w.parked(&c.recs[2]) || w.parked(&other.recs[0]) {
		t.Fatal("parked() must take the parked partition's records only")
	}
	w.enqueue([]*inflight{&other.recs[0]})
	rest := w.keepParked([]*inflight{&c.recs[0], &other.recs[0]})
	if len(rest) != 1 || rest[0] != &other.recs[0] {
		t.Fatalf("keepParked left %d records", len(rest))
	}
	w.unpark(now.Add(2 * time.Second))
	if len(w.parks) != 1 {
		t.Fatal("a park must wait for the batches sent before it")
	}
	w.sent = nil
	w.unpark(now)
	if len(w.parks) != 1 {
		t.Fatal("a park must wait for its time")
	}
	w.unpark(now.Add(2 * time.Second))
	var offs []string
	for _, in := range w.queue {
		offs = append(offs, fmt.Sprintf("%d/%d", in.rec.Partition, in.rec.Offset))
	}
	if len(w.parks) != 0 || strings.Join(offs, " ") != "0/7 0/8 0/9 1/3" {
		t.Fatalf("queue after unpark: %v", offs)
	}
}
