package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/testbroker"
)

// benchBinaries builds sluice (the stage processes' binary) and the filter
// node from this tree, points sluiceExecutable at the former and returns
// the latter. The test runs from the repository root, as bench does.
func benchBinaries(t *testing.T) (filter string) {
	t.Helper()
	t.Chdir("../..")
	dir := t.TempDir()
	bin, filter := filepath.Join(dir, "sluice"), filepath.Join(dir, "filter")
	for out, pkg := range map[string]string{bin: "./cmd/sluice", filter: "./nodes/filter"} {
		if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	prev := sluiceExecutable
	sluiceExecutable = func() (string, error) { return bin, nil }
	t.Cleanup(func() { sluiceExecutable = prev })
	return filter
}

// benchOutput is what --json prints.
type benchOutput struct {
	Header map[string]any `json:"header"`
	Rows   []benchRow     `json:"rows"`
}

// TestBenchRows runs bench with tiny counts and every kind of row that
// needs only Go (ceiling, passthrough, window of 1, exactly-once, two
// record sizes) and checks the JSON it prints and the table made of it:
// the rows in order with their record counts, each stage row measured as
// its own process, ratios to the ceiling of the row's size.
func TestBenchRows(t *testing.T) {
	filter := benchBinaries(t)
	b := testbroker.Get(t)
	f := benchFlags{records: 3000, size: 200, partitions: 3, brokers: strings.Join(b.Addrs, ","), node: filter,
		workers: 1, asJSON: true, windowOfOne: true, fewRecords: 500, eos: true, sizes: "100,1024", sizeMB: 1, ceilingRuns: 3}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := runBench(ctx, &out, f); err != nil {
		t.Fatal(err)
	}
	var got benchOutput
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("--json printed something else: %v\n%s", err, out.String())
	}

	for _, k := range []string{"date", "command", "broker", "cpus", "go_version", "os", "partitions", "records", "size", "workers"} {
		if _, ok := got.Header[k]; !ok {
			t.Errorf("the JSON header has no %q: %v", k, got.Header)
		}
	}
	if got.Header["broker"] != f.brokers || got.Header["cpus"].(float64) < 1 {
		t.Errorf("header: %v", got.Header)
	}
	want := []struct {
		name    string
		records int
		stage   bool
	}{
		{"ceiling: franz-go consume→produce, 200 B (median of 3)", 3000, false},
		{"Go passthrough (filter node)", 3000, true},
		{"Go passthrough (filter node), window of 1: one record at a time", 500, true},
		{"Go passthrough (filter node), exactly-once", 3000, true},
		{"ceiling, 100 B (median of 3)", 3000, false}, // 1 MB / 100 B is more than --records
		{"Go passthrough (filter node), 100 B", 3000, true},
		{"ceiling, 1 KiB (median of 3)", 1000, false}, // 1 MB / 1 KiB is less than the minimum, 1000
		{"Go passthrough (filter node), 1 KiB", 1000, true},
	}
	if len(got.Rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(got.Rows), len(want), got.Rows)
	}
	linux := procAvailable()
	var stageCPU float64
	for i, w := range want {
		r := got.Rows[i]
		if r.Name != w.name || r.Records != w.records {
			t.Errorf("row %d is %q with %d records, want %q with %d", i, r.Name, r.Records, w.name, w.records)
		}
		if r.Seconds <= 0 || r.RecordsPerSec <= 0 || r.MBPerSec <= 0 || r.Ratio <= 0 || r.ValueBytes <= 0 {
			t.Errorf("row %q: a measure is missing: %+v", r.Name, r)
		}
		if !w.stage && r.Ratio != 1 {
			t.Errorf("ceiling %q has ratio %v, want 1", r.Name, r.Ratio)
		}
		// The stage process's own figures, from /proc. CPU time comes in
		// 10 ms ticks, sampled: a tiny row may show none, all rows not.
		stageCPU += r.CPUSeconds
		if w.stage && linux && (r.PeakRSSMB <= 0 || r.CPUSeconds < 0 || r.NodeCPUSeconds < 0) {
			t.Errorf("stage row %q: RSS %v MB, CPU %v s, node CPU %v s, in %v s", r.Name, r.PeakRSSMB, r.CPUSeconds, r.NodeCPUSeconds, r.Seconds)
		}
		if !w.stage && (r.PeakRSSMB != 0 || r.CPUSeconds != 0) {
			t.Errorf("ceiling %q has stage figures: %+v", r.Name, r)
		}
		if r.P50Millis != 0 || r.P99Millis != 0 {
			t.Errorf("row %q has latencies; only the fixed-rate row has", r.Name)
		}
		// Aims are for the embedded broker; this run named its brokers.
		if r.Aim != "" {
			t.Errorf("row %q has aim %q on --brokers", r.Name, r.Aim)
		}
	}
	if linux && stageCPU <= 0 {
		t.Errorf("the stage processes used no CPU time at all: %+v", got.Rows)
	}
	// A size row's ratio is to the ceiling of its own size.
	if ceil, stage := got.Rows[6], got.Rows[7]; !near(stage.Ratio, stage.RecordsPerSec/ceil.RecordsPerSec) {
		t.Errorf("1 KiB stage ratio %v, want %v", stage.Ratio, stage.RecordsPerSec/ceil.RecordsPerSec)
	}
	if ceil, one := got.Rows[0], got.Rows[2]; !near(one.Ratio, one.RecordsPerSec/ceil.RecordsPerSec) {
		t.Errorf("window-of-1 ratio %v, want %v", one.Ratio, one.RecordsPerSec/ceil.RecordsPerSec)
	}

	// The table of the same rows.
	var h benchHeader
	raw, _ := json.Marshal(got.Header)
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	writeBenchTable(&table, h, got.Rows)
	lines := strings.Split(table.String(), "\n")
	head := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "| row |") })
	if head < 0 {
		t.Fatalf("no table header:\n%s", table.String())
	}
	if want := "| row | records | records/s | MB/s | ratio to ceiling | p50 ms | p99 ms | stage peak RSS MB | stage CPU s | node CPU s | aim |"; lines[head] != want {
		t.Errorf("table header\n%s\nwant\n%s", lines[head], want)
	}
	if !strings.Contains(lines[0], f.brokers) || lines[1] != "command: "+h.Command {
		t.Errorf("the table's first lines do not say where and how:\n%s\n%s", lines[0], lines[1])
	}
	body := lines[head+2 : head+2+len(want)]
	for i, l := range body {
		cells := strings.Split(strings.Trim(l, "|"), "|")
		if len(cells) != len(benchColumns) {
			t.Errorf("table row %d has %d cells, want %d: %s", i, len(cells), len(benchColumns), l)
			continue
		}
		if name := strings.TrimSpace(cells[0]); name != want[i].name {
			t.Errorf("table row %d is %q, want %q", i, name, want[i].name)
		}
		if p50, rss := strings.TrimSpace(cells[5]), strings.TrimSpace(cells[7]); p50 != "-" || (!want[i].stage && rss != "-") {
			t.Errorf("table row %d: p50 %q, RSS %q: want - for what was not measured", i, p50, rss)
		}
	}
	if got := strings.TrimSpace(strings.Split(body[1], "|")[2]); got != "3,000" {
		t.Errorf("records cell %q, want 3,000", got)
	}
}

func near(a, b float64) bool { return a > b*0.999 && a < b*1.001 }

// TestBenchStageFails: a stage process that stops by itself is reported
// in one line with what it said, not waited on forever.
func TestBenchStageFails(t *testing.T) {
	benchBinaries(t)
	b := testbroker.Get(t)
	f := benchFlags{records: 100, size: 200, partitions: 1, brokers: strings.Join(b.Addrs, ","), node: "/bin/false",
		workers: 1, fewRecords: 100, sizeMB: 1, ceilingRuns: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := runBench(ctx, &bytes.Buffer{}, f)
	if err == nil {
		t.Fatal("bench succeeded with a node that exits at once")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "Go passthrough (filter node): the stage process stopped early (exit status 1): sluice: ") || strings.Contains(msg, "\n") {
		t.Fatalf("error %q: want one line naming the row and the stage's own error", msg)
	}
}

// TestBenchPipelineFile: the generated pipeline file loads, and carries
// each row's settings.
func TestBenchPipelineFile(t *testing.T) {
	base := benchPipeline{in: "bench.in.1", out: "bench.out1.1", dlq: "bench.dlq1.1", group: "bench-stage1-1",
		partitions: 3, f: benchFlags{workers: 2, size: 200}}
	cases := []struct {
		name  string
		node  benchNode
		check func(config.Stage) bool
	}{
		{"plain", benchNode{command: "/bin/cat", args: []string{"a b", `q"uote`}, env: map[string]string{"K": "v: 1"}},
			func(s config.Stage) bool {
				return s.Workers == 2 && s.Batch.MaxRecords == 500 && s.Delivery == config.DeliveryAtLeastOnce &&
					slices.Equal(s.Node.Args, []string{"a b", `q"uote`}) && s.Node.Env["K"] == "v: 1" && s.Group == "bench-stage1-1"
			}},
		{"window of one", benchNode{command: "/bin/cat", windowOfOne: true},
			func(s config.Stage) bool { return s.Batch.MaxRecords == 1 && s.Window.Batches == 1 }},
		{"exactly-once", benchNode{command: "/bin/cat", exactlyOnce: true},
			func(s config.Stage) bool { return s.Delivery == config.DeliveryExactlyOnce }},
		{"files-mode batches", benchNode{command: "/bin/cat", batch: 10000},
			func(s config.Stage) bool {
				return s.Batch.MaxRecords == 10000 && s.Window.Records == 40000 && s.MaxFrame >= s.Batch.MaxBytes &&
					s.Batch.MaxBytes >= 10000*200
			}},
	}
	for _, c := range cases {
		p := base
		p.node = c.node
		pl, err := config.Parse("bench.yaml", []byte(p.yaml()))
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, p.yaml())
		}
		st, err := pl.Stage("bench")
		if err != nil {
			t.Fatal(err)
		}
		if st.Input != "bench.in.1" || st.Outputs["default"] != "bench.out1.1" || st.DLQ != "bench.dlq1.1" || !c.check(*st) {
			t.Errorf("%s: the stage read back is %+v\n%s", c.name, *st, p.yaml())
		}
	}
}

// TestBenchAims: the Aim column's words.
func TestBenchAims(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{aimText(0.7, 0.71), "≥ 0.7: met"},
		{aimText(0.7, 0.7), "≥ 0.7: met"},
		{aimText(0.4, 0.21), "≥ 0.4: missed"},
		{pipelinedAim(875000, 25000), "pipelined ≥ 20×: 35× met"},
		{pipelinedAim(300000, 25000), "pipelined ≥ 20×: 12× missed"},
		{exactlyOnceAim(800000, 560000), "≥ 0.6× at-least-once: 0.70× met"},
		{exactlyOnceAim(800000, 400000), "≥ 0.6× at-least-once: 0.50× missed"},
		{sizeLabel(100), "100 B"}, {sizeLabel(1024), "1 KiB"}, {sizeLabel(16384), "16 KiB"}, {sizeLabel(1500), "1500 B"},
		{thousands(1234567.4), "1,234,567"}, {thousands(999), "999"}, {thousands(1000), "1,000"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if _, err := parseSizes("100,x"); err == nil || !strings.Contains(err.Error(), `--sizes: "x" is not a size in bytes`) {
		t.Errorf("parseSizes: %v", err)
	}
	if _, err := parseAdapters("cobol"); err == nil || !strings.Contains(err.Error(), `--adapters: unknown adapter "cobol"`) {
		t.Errorf("parseAdapters: %v", err)
	}
}

// TestProcSampler: /proc figures of a process that burns CPU and memory.
func TestProcSampler(t *testing.T) {
	if !procAvailable() {
		t.Skip("no /proc")
	}
	// A shell that runs a CPU-bound child to completion, then waits: its
	// reaped child's time counts as its own.
	cmd := exec.Command("sh", "-c", `sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'; sleep 30`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	s := startProcSampler(os.Getpid(), 10*time.Millisecond)
	deadline := time.Now().Add(time.Minute)
	for {
		own, reaped, ok := procCPU(cmd.Process.Pid)
		if !ok {
			t.Fatal("no /proc/<pid>/stat for the child")
		}
		if reaped > 0 { // the loop is done and reaped; sleep runs
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child's loop never showed in /proc: own %v, reaped %v", own, reaped)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And this process burns some CPU of its own, until /proc shows it.
	for x := 0; ; x++ {
		if own, _, _ := procCPU(os.Getpid()); own > 0 {
			break
		}
		if x%1_000_000 == 0 && time.Now().After(deadline) {
			t.Fatal("this process's CPU time never showed in /proc")
		}
	}
	u := s.finish()
	if u.PeakRSSMB <= 0 || u.CPUSeconds <= 0 {
		t.Errorf("this process: %+v", u)
	}
	if u.NodeCPUSeconds <= 0 {
		t.Errorf("children's CPU %v: the shell's reaped loop should count", u.NodeCPUSeconds)
	}
}
