package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testbroker"
)

// TestBenchLatency runs the latency row briefly (200 records/s for 2 s)
// on the whole sensor pipeline, with a freshly built sluice as the `up`
// child, and checks what the row reports: every measured well-formed line
// reached events.scored, every malformed one went to ingest's DLQ, and
// the latencies, rate and resource figures are sane.
func TestBenchLatency(t *testing.T) {
	t.Chdir("../..")
	needSensorPipeline(t)
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc: the row measures the pipeline's processes there")
	}
	b := testbroker.Get(t)

	// The row runs `<this binary> up`: here, a sluice built from this tree.
	bin := filepath.Join(t.TempDir(), "sluice")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/sluice").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	prev, prevWarm, prevDrop := sluiceExecutable, latencyWarmup, latencyDrop
	sluiceExecutable = func() (string, error) { return bin, nil }
	latencyWarmup = time.Second
	var dropped []string
	latencyDrop = func(_ []string, names map[string]string, _ []string) { // checked below, then dropped
		for _, n := range names {
			dropped = append(dropped, n)
		}
	}
	t.Cleanup(func() { sluiceExecutable, latencyWarmup, latencyDrop = prev, prevWarm, prevDrop })

	f := benchFlags{latency: true, latencyRate: 200, latencyDuration: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := runLatency(ctx, b.Addrs, f, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("produced %d (%d malformed) in %.2fs, %d arrived; warm-up and all: %d (%d malformed)",
		r.produced, r.malformed, r.seconds, len(r.latencies), r.allProduced, r.allMalformed)

	// Nothing lost: the measured well-formed lines all arrived (once), and
	// the malformed ones of the whole run are in ingest's DLQ.
	if want := r.produced - r.malformed; len(r.latencies) != want {
		t.Fatalf("%d measured records arrived in events.scored, want %d (%d produced, %d malformed)",
			len(r.latencies), want, r.produced, r.malformed)
	}
	if r.malformed == 0 || r.produced < 300 {
		t.Fatalf("%d lines produced, %d malformed: want about 400, some malformed", r.produced, r.malformed)
	}
	addr := strings.Join(b.Addrs, ",")
	if got := endTotal(t, addr, r.names["ingest.dlq"]); got != int64(r.allMalformed) {
		t.Fatalf("ingest's DLQ holds %d records, %d malformed lines were produced", got, r.allMalformed)
	}
	if len(dropped) != len(r.names) || len(r.names) != 11 { // 6 topics, 5 DLQs
		t.Fatalf("the run would drop %v of its topics %v", dropped, r.names)
	}
	prevDrop(b.Addrs, r.names, nil)

	row := r.row()
	t.Logf("%+v", row)
	if row.Name != "pipeline: sensors, 5 stages, 200 records/s — events.raw → events.scored" {
		t.Fatalf("row name %q", row.Name)
	}
	if row.P50Millis <= 0 || row.P99Millis < row.P50Millis {
		t.Fatalf("p50 %.1f ms, p99 %.1f ms: want 0 < p50 <= p99", row.P50Millis, row.P99Millis)
	}
	if row.Records != r.produced || row.RecordsPerSec <= 0 || row.MBPerSec <= 0 || row.ValueBytes < 20 || row.Ratio != 0 {
		t.Fatalf("row %+v: want the measured records, a rate, MB/s, line sizes and no ratio", row)
	}
	if row.PeakRSSMB <= 0 || row.CPUSeconds <= 0 || row.NodeCPUSeconds <= 0 {
		t.Fatalf("row %+v: want the up process's peak RSS and CPU and its nodes' CPU", row)
	}
}

// TestBenchLatencyPipelineFile checks the copy of sensors.yaml the row
// runs: every topic, DLQ and group is this run's, and it loads.
func TestBenchLatencyPipelineFile(t *testing.T) {
	t.Chdir("../..")
	path, names, groups, err := writeLatencyPipeline(latencyPipeline, t.TempDir(), "bench-x")
	if err != nil {
		t.Fatal(err)
	}
	p, err := loadPipeline(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Stages) != 5 || len(groups) != 5 {
		t.Fatalf("%d stages, %d groups, want 5", len(p.Stages), len(groups))
	}
	for _, st := range p.Stages {
		if st.Input != names[map[string]string{"ingest": "events.raw", "filter": "events.parsed", "classify": "events.clean",
			"alert": "events.scored", "archive": "events.scored"}[st.Name]] {
			t.Fatalf("stage %s reads %s", st.Name, st.Input)
		}
		if st.DLQ != st.Name+".dlq.bench-x" || st.Group != "sluice.sensors."+st.Name+".bench-x" {
			t.Fatalf("stage %s: dlq %s, group %s", st.Name, st.DLQ, st.Group)
		}
		for _, out := range st.Outputs {
			if !strings.HasSuffix(out, ".bench-x") {
				t.Fatalf("stage %s writes %s", st.Name, out)
			}
		}
	}
	for _, tp := range p.Topics {
		if !strings.HasSuffix(tp.Name, ".bench-x") {
			t.Fatalf("topic %s is not this run's", tp.Name)
		}
	}
}

// TestBenchLatencyNotBuilt: without the built nodes the row says what is
// missing and what to do, before starting anything.
func TestBenchLatencyNotBuilt(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := runLatency(context.Background(), []string{"127.0.0.1:1"},
		benchFlags{latency: true, latencyRate: 10, latencyDuration: time.Second}, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), "the sensor pipeline needs .cache/cargo-target/release/ingest, bin/nodes/filter,") ||
		!strings.HasSuffix(err.Error(), ": run make build first") {
		t.Fatalf("got %v, want the missing files and: run make build first", err)
	}
}
