package stream

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
)

func TestTraceparent(t *testing.T) {
	const in = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	id, fl, ok := parseTraceparent([]byte(in))
	if !ok || fl != 1 || fmt.Sprintf("%x", id) != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("parse %q: %x %x %v", in, id, fl, ok)
	}
	for _, bad := range []string{"", "00-abc-def-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01"} {
		if _, _, ok := parseTraceparent([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, _, ok := parseTraceparent([]byte("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future")); !ok {
		t.Error("a later version with more fields must parse")
	}

	// Continued: same trace, new span.
	tc := inputTrace(&kgo.Record{Headers: []kgo.RecordHeader{{Key: HeaderTraceparent, Value: []byte(in)}}}, false)
	a, b := string(tc.child()), string(tc.child())
	if a[:36] != in[:36] || a[52:] != "-01" || a[36:52] == in[36:52] || a == b {
		t.Fatalf("children of %q: %q %q", in, a, b)
	}
	// Started: a new trace, sampled.
	s1, s2 := string(inputTrace(&kgo.Record{}, true).child()), string(inputTrace(&kgo.Record{}, true).child())
	if _, _, ok := parseTraceparent([]byte(s1)); !ok || !strings.HasSuffix(s1, "-01") || s1[3:35] == s2[3:35] {
		t.Fatalf("started: %q %q", s1, s2)
	}
	if inputTrace(&kgo.Record{}, false).child() != nil {
		t.Fatal("a trace was started without StartTraces")
	}
	// Invalid: passed on unchanged.
	if got := string(inputTrace(&kgo.Record{Headers: []kgo.RecordHeader{{Key: HeaderTraceparent, Value: []byte("00-abc-def-01")}}}, true).child()); got != "00-abc-def-01" {
		t.Fatalf("invalid traceparent became %q", got)
	}
}

// TestMetricsAgreeWithStats runs a stage with a registry over records
// that pass, multiply, fail and crash, and checks every counter against
// Stats and the records moved.
func TestMetricsAgreeWithStats(t *testing.T) {
	h := newHarness(t, 2)
	var recs []*kgo.Record
	for i := range 40 {
		v := "plain"
		switch i % 8 {
		case 1:
			v = "fail:bad"
		case 2:
			v = "multi:2"
		case 3:
			v = "multi:0"
		}
		recs = append(recs, &kgo.Record{Topic: h.in, Key: fmt.Appendf(nil, "k%d", i%4), Value: []byte(v)})
	}
	recs = append(recs, &kgo.Record{Topic: h.in, Key: []byte("k0"), Value: []byte("crash")})
	h.produce(recs...)

	reg := prometheus.NewRegistry()
	st := h.stageConfig(func(s *config.Stage) { s.Retries = 2 })
	s, err := New(Options{Stage: st, Pipeline: "test", Brokers: h.addrs, Logger: h.log, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// 25 plain + 5x2 multi = 35 outputs; 5 fail + 1 crash in the DLQ.
	h.waitCount(h.out, 35, 30*time.Second)
	h.waitCount(h.dlq, 6, 30*time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for s.Stats().InFlightRecords > 0 || lagSum(t, reg) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not settled: %+v", s.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := testutil.CollectAndCount(reg, MetricLag); n != 2 {
		t.Errorf("%d lag series, want one per partition", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	st2 := s.Stats()
	m := s.metrics.v
	check := func(name string, got float64, want int64) {
		t.Helper()
		if got != float64(want) {
			t.Errorf("%s = %v, Stats says %d", name, got, want)
		}
	}
	check("consumed", testutil.ToFloat64(m.consumed.WithLabelValues("s")), st2.Consumed)
	check("produced", testutil.ToFloat64(m.produced.WithLabelValues("s", "default")), st2.Produced)
	var dlq float64
	for _, k := range []string{KindNodeError, KindCrash} {
		dlq += testutil.ToFloat64(m.dlq.WithLabelValues("s", k))
	}
	check("dlq", dlq, st2.DLQ)
	check("filtered", testutil.ToFloat64(m.filtered.WithLabelValues("s")), st2.Filtered)
	check("retried", testutil.ToFloat64(m.retried.WithLabelValues("s")), st2.Retried)
	check("restarts", testutil.ToFloat64(m.restarts.WithLabelValues("s", RestartCrash)), st2.NodeRestarts)
	check("commit failures", testutil.ToFloat64(m.commitFailures.WithLabelValues("s")), st2.CommitFailures)
	if st2.Consumed != 41 || st2.Produced != 35 || st2.DLQ != 6 || st2.Filtered != 5 || st2.NodeRestarts < 2 || st2.Retried < 2 {
		t.Errorf("stats %+v", st2)
	}
	if n := testutil.CollectAndCount(reg, MetricBatchDuration); n != 1 {
		t.Errorf("%d batch duration series", n)
	}
	if n := testutil.CollectAndCount(reg, MetricLag); n != 0 {
		t.Errorf("%d lag series after the stop, want none (the partitions were revoked)", n)
	}
	if n := testutil.CollectAndCount(reg, MetricInflightRecs); n != 1 {
		t.Errorf("%d in-flight series", n)
	}
}

func lagSum(t *testing.T, reg *prometheus.Registry) float64 {
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() == MetricLag {
			for _, m := range f.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}
