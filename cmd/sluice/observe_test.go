package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
)

// TestObserveEndpoints runs the filter stage with the metrics server on a
// free port, behind a node that sleeps before its handshake: /readyz is
// 503 until the node answers, then 200; the counters of /metrics equal the
// records moved; outputs carry a traceparent, started or continued.
func TestObserveEndpoints(t *testing.T) {
	addr := startKafka(t)
	names := uniqueTopics(t)
	slow := filepath.Join(t.TempDir(), "slow-filter")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nsleep 2\nexec "+buildFilter(t)+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filterPipeline(t, slow, names)
	makeTopic(t, addr, names.parsed, 3)
	makeTopic(t, addr, names.clean, 3)
	makeTopic(t, addr, names.dlq, 1)

	const n = 300
	lines, invalid := sensorEvents(n)
	const parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	const parentSpan = "00f067aa0ba902b7"
	recs := make([]*kgo.Record, n)
	for i, l := range lines {
		recs[i] = &kgo.Record{Topic: names.parsed, Key: []byte(strconv.Itoa(i % 12)), Value: []byte(l)}
		if i%2 == 0 {
			recs[i].Headers = []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-" + parentTrace + "-" + parentSpan + "-01")}}
		}
	}
	produceRecords(t, addr, nil, recs...)

	p, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	listening := make(chan net.Addr, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runStagesWith(ctx, p, p.Stages, []string{addr}, zap.NewNop(),
			runOptions{MetricsAddr: "127.0.0.1:0", onListen: func(a net.Addr) { listening <- a }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runStages: %v", err)
		}
	}()
	var base string
	select {
	case a := <-listening:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("runStages returned before serving: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the metrics server did not start")
	}

	if code, body := httpGet(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "stage filter: not ready") {
		t.Errorf("/readyz before the handshake: %d %q, want 503 naming the stage", code, body)
	}
	if code, body := httpGet(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := httpGet(t, base+"/readyz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never became ready: %d %q", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Every record through, and committed (lag 0).
	var mf scraped
	deadline = time.Now().Add(60 * time.Second)
	for {
		mf = scrape(t, base)
		if mf.sum(t, "sluice_records_consumed_total", nil) == n &&
			mf.sum(t, "sluice_records_produced_total", nil)+mf.sum(t, "sluice_records_dlq_total", nil) == n &&
			mf.has("sluice_consumergroup_lag") && mf.sum(t, "sluice_consumergroup_lag", nil) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics did not reach %d records:\nconsumed %v produced %v dlq %v lag %v", n,
				mf.sum(t, "sluice_records_consumed_total", nil), mf.sum(t, "sluice_records_produced_total", nil),
				mf.sum(t, "sluice_records_dlq_total", nil), mf.sum(t, "sluice_consumergroup_lag", nil))
		}
		time.Sleep(100 * time.Millisecond)
	}
	clean, dlq := readTopic(t, addr, names.clean), readTopic(t, addr, names.dlq)
	if got := mf.sum(t, "sluice_records_produced_total", map[string]string{"stage": "filter", "output": "default"}); int(got) != len(clean) {
		t.Errorf("sluice_records_produced_total{output=default} = %v, %d records in %s", got, len(clean), names.clean)
	}
	if got := mf.sum(t, "sluice_records_dlq_total", map[string]string{"stage": "filter"}); int(got) != len(dlq) || len(dlq) != invalid {
		t.Errorf("sluice_records_dlq_total = %v, %d records in the DLQ, %d invalid", got, len(dlq), invalid)
	}
	if got := mf.sum(t, "sluice_records_consumed_total", map[string]string{"stage": "filter"}); got != n {
		t.Errorf("sluice_records_consumed_total = %v, want %d", got, n)
	}
	for _, name := range []string{"sluice_node_batch_duration_seconds", "sluice_commit_duration_seconds"} {
		if !mf.has(name) || mf[name].hist(t) == 0 {
			t.Errorf("%s has no observations", name)
		}
	}
	for _, name := range []string{"sluice_inflight_records", "sluice_inflight_bytes", "sluice_node_restarts_total",
		"sluice_records_filtered_total", "sluice_records_retried_total", "sluice_commit_failures_total"} {
		if !mf.has(name) {
			t.Errorf("no %s in /metrics", name)
		}
	}
	if !mf.hasPrefix("sluice_kafka_") {
		t.Error("no franz-go client metrics (sluice_kafka_*) in /metrics")
	}

	// Traceparent: continued (trace kept, new span) or started.
	started, continued := map[string]bool{}, 0
	for _, r := range clean {
		tp := hdr(r, "traceparent")
		parts := strings.Split(tp, "-")
		if len(parts) != 4 || parts[0] != "00" || len(parts[1]) != 32 || len(parts[2]) != 16 || len(parts[3]) != 2 {
			t.Fatalf("output without a valid traceparent: %q", tp)
		}
		if parts[1] == parentTrace {
			continued++
			if parts[2] == parentSpan {
				t.Fatalf("continued trace kept the input's span id: %q", tp)
			}
			continue
		}
		if started[parts[1]] {
			t.Fatalf("trace id %s started twice", parts[1])
		}
		started[parts[1]] = true
	}
	if continued == 0 || len(started) == 0 || continued+len(started) != len(clean) {
		t.Errorf("%d outputs: %d continued the input's trace, %d started one", len(clean), continued, len(started))
	}
}

func TestMetricsAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := &config.Pipeline{Name: "x"}
	err = runStagesWith(context.Background(), p, nil, []string{"127.0.0.1:1"}, zap.NewNop(), runOptions{MetricsAddr: ln.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "already in use") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("a port in use: %v, want a one-line error saying so", err)
	}
	// The default address in use is not fatal: nothing is served.
	err = runStagesWith(context.Background(), p, nil, []string{"127.0.0.1:1"}, zap.NewNop(),
		runOptions{MetricsAddr: ln.Addr().String(), MetricsAddrDefault: true, Stderr: io.Discard})
	if err != nil {
		t.Fatalf("the default address in use: %v", err)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

type metricFamily struct{ samples []*model.Sample }

// scraped is one scrape of /metrics by family name.
type scraped map[string]*metricFamily

func scrape(t *testing.T, base string) scraped {
	t.Helper()
	code, body := httpGet(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	out := scraped{}
	for name, f := range fams {
		vec, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{Timestamp: model.Now()}, f)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = &metricFamily{samples: vec}
	}
	return out
}

func (m scraped) has(name string) bool { _, ok := m[name]; return ok }

func (m scraped) hasPrefix(prefix string) bool {
	for name := range m {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// sum adds the samples of a counter or gauge whose labels include want.
func (m scraped) sum(t *testing.T, name string, want map[string]string) float64 {
	f := m[name]
	if f == nil {
		return -1
	}
	var total float64
next:
	for _, s := range f.samples {
		if string(s.Metric[model.MetricNameLabel]) != name {
			continue
		}
		for k, v := range want {
			if string(s.Metric[model.LabelName(k)]) != v {
				continue next
			}
		}
		total += float64(s.Value)
	}
	return total
}

// hist returns a histogram family's total observation count.
func (f *metricFamily) hist(t *testing.T) float64 {
	var n float64
	for _, s := range f.samples {
		if strings.HasSuffix(string(s.Metric[model.MetricNameLabel]), "_count") {
			n += float64(s.Value)
		}
	}
	return n
}
