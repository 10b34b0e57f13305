package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/testbroker"
)

// exactlyOnce makes the harness stage transactional with short
// transactions, so a test spans many of them.
func exactlyOnce(st *config.Stage) {
	st.Delivery = config.DeliveryExactlyOnce
	st.Transaction.Interval = 50 * time.Millisecond
	st.Transaction.Timeout = 20 * time.Second
}

// readCommitted reads topic as a downstream stage does (read_committed)
// until want distinct keys were seen, then a little longer so that
// duplicates arriving late are counted too. It returns how many times each
// key was seen.
func (h *harness) readCommitted(topic string, want int, timeout time.Duration) map[string]int {
	seen, _ := h.readCommittedRecords(topic, want, timeout)
	return seen
}

// readCommittedRecords is readCommitted that also returns the records.
func (h *harness) readCommittedRecords(topic string, want int, timeout time.Duration) (map[string]int, []*kgo.Record) {
	h.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		h.t.Fatal(err)
	}
	defer cl.Close()
	seen := map[string]int{}
	var recs []*kgo.Record
	deadline := time.Now().Add(timeout)
	var quietUntil time.Time
	for {
		now := time.Now()
		if len(seen) >= want && quietUntil.IsZero() {
			quietUntil = now.Add(time.Second)
		}
		if !quietUntil.IsZero() && now.After(quietUntil) {
			return seen, recs
		}
		if now.After(deadline) {
			h.t.Fatalf("read_committed %s: %d of %d keys after %s", topic, len(seen), want, timeout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			seen[string(r.Value)]++
			recs = append(recs, r)
		})
		cancel()
	}
}

// duplicates counts keys seen more than once (the extra copies).
func duplicates(seen map[string]int) int {
	n := 0
	for _, c := range seen {
		n += c - 1
	}
	return n
}

// uniqueRecords makes n records with distinct values v000000.. spread over
// the input's partitions by key.
func uniqueRecords(topic string, n int) []*kgo.Record {
	out := make([]*kgo.Record, n)
	for i := range out {
		out[i] = &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i%17), Value: fmt.Appendf(nil, "v%06d", i)}
	}
	return out
}

func TestExactlyOnceConservesRecordsAndCommitsOffsets(t *testing.T) {
	h := newHarness(t, 4)
	const n = 3000
	h.produce(uniqueRecords(h.in, n)...)
	r := h.start(h.stageConfig(exactlyOnce))
	seen, recs := h.readCommittedRecords(h.out, n, 60*time.Second)
	if len(seen) != n || duplicates(seen) != 0 {
		t.Fatalf("read_committed: %d distinct of %d, %d duplicates", len(seen), n, duplicates(seen))
	}
	waitFor(t, 30*time.Second, "the group's committed offsets reach the input's end", func() bool {
		return fmt.Sprint(h.committed(h.group)) == fmt.Sprint(h.endOffsets())
	})
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	st := r.s.Stats()
	if st.TxnCommitted == 0 || st.Consumed != n {
		t.Errorf("stats: %d transactions committed, %d consumed; want > 0 and %d", st.TxnCommitted, st.Consumed, n)
	}
	for _, rec := range recs[:1] {
		want := fmt.Sprintf("s/%s/%s/%s/0", h.in, header(rec, HeaderSourcePartition), header(rec, HeaderSourceOffset))
		if got := header(rec, HeaderIdempotencyKey); got != want {
			t.Errorf("idempotency key %q, want %q", got, want)
		}
	}
}

// A stage stopped hard mid-transaction aborts it; its successor (same
// instance id) resumes from the committed offsets: downstream sees every
// record once.
func TestExactlyOnceHardStopThenRestartHasNoDuplicates(t *testing.T) {
	h := newHarness(t, 3)
	const n = 20000
	h.produce(uniqueRecords(h.in, n)...)
	slow := func(st *config.Stage) {
		exactlyOnce(st)
		st.Node.Env["TESTNODE_DELAY"] = "100us"
		st.Batch.MaxRecords = 100
		st.Window.Records = 1000
		st.Timeouts.Shutdown = time.Millisecond // a hard stop, with records in flight
	}
	first, err := New(Options{Stage: h.stageConfig(slow), Pipeline: "test", Brokers: h.addrs, Logger: h.log, InstanceID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	waitFor(t, 180*time.Second, "the first instance commits a few transactions", func() bool {
		return first.Stats().TxnCommitted >= 3
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if first.Stats().Consumed >= n {
		t.Fatalf("the first instance consumed everything (%d) before it was stopped; the test proves nothing", first.Stats().Consumed)
	}
	second, err := New(Options{Stage: h.stageConfig(exactlyOnce), Pipeline: "test", Brokers: h.addrs, Logger: h.log, InstanceID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() { done2 <- second.Run(ctx2) }()
	defer func() { cancel2(); <-done2 }()
	seen := h.readCommitted(h.out, n, 90*time.Second)
	if len(seen) != n || duplicates(seen) != 0 {
		t.Fatalf("read_committed after a hard stop and restart: %d distinct of %d, %d duplicates", len(seen), n, duplicates(seen))
	}
	t.Logf("first instance: %+v", first.Stats())
}

// A node crash inside a transaction re-sends the unanswered records to the
// restarted node: still every record exactly once downstream.
func TestExactlyOnceNodeCrashHasNoDuplicates(t *testing.T) {
	h := newHarness(t, 2)
	state := t.TempDir()
	recs := uniqueRecords(h.in, 2000)
	recs[700].Value = []byte("crash-once:a")
	recs[1500].Value = []byte("crash-once:b")
	h.produce(recs...)
	h.start(h.stageConfig(exactlyOnce, func(st *config.Stage) { st.Node.Env["TESTNODE_STATE"] = state }))
	seen := h.readCommitted(h.out, len(recs), 60*time.Second)
	if len(seen) != len(recs) || duplicates(seen) != 0 {
		t.Fatalf("read_committed: %d distinct of %d, %d duplicates", len(seen), len(recs), duplicates(seen))
	}
}

// A write that fails aborts the transaction: nothing of it reaches
// read_committed readers, the stage stops with the error, and the input
// offsets stay where the last committed transaction left them.
func TestExactlyOnceFailedWriteAbortsTheTransaction(t *testing.T) {
	h := newHarness(t, 1)
	small := "2048"
	tiny := testbroker.Name(t, "tiny")
	if _, err := h.adm.CreateTopic(context.Background(), 1, 1, map[string]*string{"max.message.bytes": &small}, tiny); err != nil {
		t.Fatal(err)
	}
	recs := uniqueRecords(h.in, 200)
	recs[150].Value = []byte(strings.Repeat("x", 4096)) // passes through: too large for the output
	h.produce(recs...)
	r := h.start(h.stageConfig(exactlyOnce, func(st *config.Stage) {
		st.Outputs["default"] = tiny
		st.Transaction.MaxRecords = 100 // records 0-99 commit on their own
		st.Batch.MaxRecords = 10
		st.Window.Records = 100
	}))
	var err error
	select {
	case err = <-r.done:
		r.done <- err
	case <-time.After(60 * time.Second):
		t.Fatal("the stage did not stop after a failed write")
	}
	if !errors.Is(err, ErrProduce) || !strings.Contains(err.Error(), tiny) {
		t.Fatalf("Run: %v; want ErrProduce naming %q", err, tiny)
	}
	seen := h.readCommitted(tiny, 0, 10*time.Second)
	for v := range seen {
		if v >= "v000150" {
			t.Errorf("%s is visible downstream, but its transaction was aborted", v)
		}
	}
	if c := h.committed(h.group)[0]; c > 150 {
		t.Errorf("committed offset %d is past the record whose write failed (150)", c)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A record that hangs the node keeps its transaction open through every
// batch timeout, longer than transaction.timeout: the broker aborts the
// transaction. The crashes blamed on the record survive the abort, so it
// still reaches the DLQ after its retries instead of hanging every later
// transaction; everything else comes out once.
func TestExactlyOnceHangingRecordOutlivesTheTransaction(t *testing.T) {
	h := newHarness(t, 2)
	recs := uniqueRecords(h.in, 400)
	recs[100].Value = []byte("hang")
	recs[300].Value = []byte("hang")
	h.produce(recs...)
	r := h.start(h.stageConfig(exactlyOnce, func(st *config.Stage) {
		st.Timeouts.Batch = 700 * time.Millisecond
		st.Retries = 3
		st.Transaction.Timeout = 1500 * time.Millisecond
		st.Batch.MaxRecords = 20
	}))
	seen := h.readCommitted(h.out, len(recs)-2, 120*time.Second)
	if len(seen) != len(recs)-2 || duplicates(seen) != 0 || seen["hang"] != 0 {
		t.Fatalf("read_committed output: %d distinct of %d, %d duplicates, hang %d times", len(seen), len(recs)-2, duplicates(seen), seen["hang"])
	}
	dlq := h.readCommitted(h.dlq, 1, 30*time.Second)
	if dlq["hang"] != 2 || len(dlq) != 1 {
		t.Fatalf("read_committed DLQ: %v; want the two hanging records, once each", dlq)
	}
	select {
	case err := <-r.done:
		t.Fatalf("the stage stopped: %v", err)
	default:
	}
	t.Logf("stats: %+v", r.s.Stats())
}
