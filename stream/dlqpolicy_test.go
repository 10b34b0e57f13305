package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zapcore"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/testbroker"
)

// dlqRefusing sets up a DLQ topic that refuses one record: its
// max.message.bytes is 1 KiB, and the input's record 10 fails with a 3 KB
// reason, so its DLQ copy is too large for it. The stage reads the limit
// in its preflight and franz-go refuses the record (MESSAGE_TOO_LARGE):
// the same failure on kfake and on Apache Kafka. The other 29 records
// pass through.
func dlqRefusing(t *testing.T, h *harness) (dlq string, in []*kgo.Record) {
	t.Helper()
	dlq = testbroker.Name(t, "smalldlq")
	small := "1024"
	if _, err := h.adm.CreateTopic(context.Background(), 1, 1, map[string]*string{"max.message.bytes": &small}, dlq); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		v := fmt.Sprintf("k:%06d", i)
		if i == 10 {
			v = "fail:" + strings.Repeat("x", 3000)
		}
		in = append(in, &kgo.Record{Topic: h.in, Key: []byte("k"), Value: []byte(v)})
	}
	h.produce(in...)
	return dlq, in
}

// waitDone waits for a stage that stops by itself and returns Run's error.
func (r *running) waitDone(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("stage did not stop by itself within 60s")
		return nil
	}
}

func TestDLQWriteFailureStopsTheStage(t *testing.T) {
	h := newHarness(t, 1)
	dlq, _ := dlqRefusing(t, h)
	r := h.start(h.stageConfig(func(s *config.Stage) {
		s.Workers = 1
		s.DLQ = dlq
		s.DLQPolicy.OnWriteFailure = config.DLQWriteStop
	}))
	err := r.waitDone(t)
	if !errors.Is(err, ErrProduce) {
		t.Fatalf("Run returned %v, want ErrProduce", err)
	}
	want := fmt.Sprintf(`stage "s": writing record %s/0@10 to the DLQ topic %q failed: MESSAGE_TOO_LARGE`, h.in, dlq)
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "dlq_policy.on_write_failure: stop") {
		t.Fatalf("error %q\nwant it to contain %q and the policy", err, want)
	}
	// Nothing past the record is committed.
	if c := h.committed(h.group); c[0] > 10 {
		t.Fatalf("committed offset %d, past the record (10) whose DLQ write failed", c[0])
	}
}

func TestDLQWriteFailureDropsTheRecord(t *testing.T) {
	h := newHarness(t, 1)
	dlq, in := dlqRefusing(t, h)
	reg := prometheus.NewRegistry()
	r := h.startWithRegistry(h.stageConfig(func(s *config.Stage) {
		s.Workers = 1
		s.DLQ = dlq
		s.DLQPolicy.OnWriteFailure = config.DLQWriteDrop
	}), reg)
	h.waitCount(h.out, int64(len(in)-1), 60*time.Second)
	// The dropped record is done: the whole partition commits.
	deadline := time.Now().Add(30 * time.Second)
	for h.committed(h.group)[0] != int64(len(in)) {
		if time.Now().After(deadline) {
			t.Fatalf("committed %d, want %d", h.committed(h.group)[0], len(in))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	checkSameSequences(t, append(in[:10:10], in[11:]...), h.readAll(h.out))
	if n := h.count(dlq); n != 0 {
		t.Fatalf("the DLQ holds %d records", n)
	}
	if s := r.s.Stats(); s.DLQWriteFailures != 1 {
		t.Fatalf("stats %+v, want 1 DLQ write failure", s)
	}
	if m := testutil.ToFloat64(r.s.metrics.v.dlqWriteFailures.WithLabelValues("s")); m != 1 {
		t.Fatalf("%s = %v, want 1", MetricDLQWriteFailures, m)
	}
	logs := h.logs.FilterMessage("writing to the DLQ failed; dropping the record (dlq_policy.on_write_failure: drop)").All()
	if len(logs) != 1 || logs[0].Level != zapcore.ErrorLevel || logs[0].ContextMap()["offset"] != int64(10) {
		t.Fatalf("want one error line naming the record: %+v", logs)
	}
}

func TestDLQWriteFailureRetriesUntilStopped(t *testing.T) {
	h := newHarness(t, 1)
	dlq, in := dlqRefusing(t, h)
	r := h.start(h.stageConfig(func(s *config.Stage) {
		s.Workers = 1
		s.DLQ = dlq
		s.DLQPolicy.OnWriteFailure = config.DLQWriteRetry
	}))
	// The partition goes on (the record waits for its DLQ write) ...
	h.waitCount(h.out, int64(len(in)-1), 60*time.Second)
	// ... and the write is tried again and again, each failure logged.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var most int64
		for _, e := range h.logs.FilterMessage("writing to the DLQ failed; retrying").All() {
			most = max(most, e.ContextMap()["attempt"].(int64))
		}
		if most >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the DLQ write was tried %d times, want at least 3", most)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A soft stop ends it without committing the record.
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if c := h.committed(h.group); c[0] > 10 {
		t.Fatalf("committed offset %d, past the record (10) whose DLQ write never succeeded", c[0])
	}
	if n := h.count(dlq); n != 0 {
		t.Fatalf("the DLQ holds %d records", n)
	}
}

func TestDLQRateCapStopsTheStage(t *testing.T) {
	h := newHarness(t, 1)
	var in []*kgo.Record
	for i := range 100 {
		in = append(in, &kgo.Record{Topic: h.in, Key: []byte("k"), Value: fmt.Appendf(nil, "fail:broken deploy %d", i)})
	}
	h.produce(in...)
	r := h.start(h.stageConfig(func(s *config.Stage) {
		s.Workers = 1
		s.Batch.MaxRecords = 7
		s.DLQPolicy.MaxRecords = 10
		s.DLQPolicy.Per = time.Minute
	}))
	err := r.waitDone(t)
	if !errors.Is(err, ErrDLQRate) {
		t.Fatalf("Run returned %v, want ErrDLQRate", err)
	}
	want := fmt.Sprintf(`stage "s": 11 records went to the DLQ within 1m (dlq_policy: at most 10 per 1m); stopping so a broken node does not empty %q into %q — look at the DLQ's sluice.error headers, fix the node, and start the stage again`, h.in, h.dlq)
	if err.Error() != want {
		t.Fatalf("error\n got: %s\nwant: %s", err, want)
	}
	if n := h.count(h.dlq); n > 10 {
		t.Fatalf("the DLQ holds %d records, at most 10 allowed", n)
	}
	if c := h.committed(h.group); c[0] > 10 {
		t.Fatalf("committed offset %d, past the first record over the cap (10)", c[0])
	}
}

func TestDLQLimitSlides(t *testing.T) {
	l := newDLQLimit(3, time.Second, "s", "in", "s.dlq")
	t0 := l.base
	for i := range 3 {
		if err := l.admit(t0.Add(time.Duration(i) * 100 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.admit(t0.Add(900 * time.Millisecond)); !errors.Is(err, ErrDLQRate) {
		t.Fatalf("the 4th record within 1s: %v", err)
	}
	// The first one leaves the window at 1s: room for one more.
	if err := l.admit(t0.Add(1000 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := l.admit(t0.Add(1050 * time.Millisecond)); err == nil {
		t.Fatal("the window holds 3 again (0.1s, 0.2s, 1s)")
	}
	if err := l.admit(t0.Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if newDLQLimit(0, time.Minute, "s", "in", "d").admit(t0) != nil {
		t.Fatal("max_records 0 is no cap")
	}
	// "max_records: 0" in a pipeline file loads as NoDLQCap, which
	// survives New's defaults; a zero set in Go takes the default cap.
	p, err := config.Parse("p.yaml", []byte("pipeline: p\ntopics: {in: {}}\nstages:\n  s:\n    input: in\n    node: {command: node}\n    dlq_policy: {max_records: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	st := p.Stages[0]
	s, err := New(Options{Stage: st})
	if err != nil {
		t.Fatal(err)
	}
	if s.dlqLimiter() != nil {
		t.Fatal("max_records 0 must mean no cap")
	}
	if s, _ = New(Options{Stage: config.Stage{Name: "s", Input: "in", Node: config.Node{Command: "node"}}}); s.dlqLimiter() == nil || s.dlqLimiter().max != 100000 {
		t.Fatal("an unset max_records must take the default cap")
	}
	st.DLQPolicy.MaxRecords = 5
	if s, _ = New(Options{Stage: st}); s.dlqLimiter() == nil || s.dlqLimiter().max != 5 {
		t.Fatal("max_records 5 must cap")
	}
}
