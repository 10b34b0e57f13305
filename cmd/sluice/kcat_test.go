package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testbroker"
)

// kcatPath finds kcat (Debian package kcat). Without it the test skips,
// unless SLUICE_REQUIRE_KCAT=1 (CI sets it, so CI cannot skip it silently).
func kcatPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("SLUICE_REQUIRE_KCAT") == "1" {
			t.Fatal("kcat is required (SLUICE_REQUIRE_KCAT=1) but not installed: apt-get install kcat")
		}
		t.Skip("kcat not installed (apt-get install kcat)")
	}
	return p
}

// TestKcatInteroperates checks Sluice against a Kafka client we did not
// write (librdkafka's kcat): kcat produces keyed events into a stage's
// input, `sluice run` processes them, and kcat reads the outputs and the
// DLQ, seeing the lineage and error headers.
func TestKcatInteroperates(t *testing.T) {
	kcat := kcatPath(t)
	b := testbroker.Get(t)
	addr := strings.Join(b.Addrs, ",")
	names := uniqueTopics(t)
	cfg := filterPipeline(t, buildFilter(t), names)
	mustSluice(t, "", "topics", "create", "--config", cfg, "--brokers", addr)

	lines := []string{
		`alpha|{"sensor_id":"Alpha","metric":"temperature","value":75.2,"unit":"F","ts":"2024-05-01T12:00:00Z"}`,
		`beta|{"sensor_id":"beta","metric":"humidity","value":40,"unit":"%","ts":1714564800}`,
		`gamma|{"sensor_id":"gamma","metric":"temperature","value":-500,"unit":"C","ts":"2024-05-01T12:00:00Z"}`,
	}
	produce := exec.Command(kcat, "-b", addr, "-P", "-t", names.parsed, "-K", "|", "-H", "origin=kcat")
	produce.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce: %v\n%s", err, out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr syncBuffer
	go func() {
		done <- runIn(ctx, "", &syncBuffer{}, &stderr, "run", "--config", cfg, "--stage", "filter", "--brokers", addr, "--log-format", "json")
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v\n%s", err, stderr.String())
		}
	}()
	waitTotal(t, addr, names, 3)

	consume := func(topic string, n int) []string {
		t.Helper()
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		cmd := exec.CommandContext(cctx, kcat, "-q", "-b", addr, "-C", "-t", topic, "-o", "beginning", "-c", fmt.Sprint(n), "-e",
			"-f", "%k\t%s\t%h\n")
		var errOut strings.Builder
		cmd.Stderr = &errOut
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kcat consume %s: %v\n%s", topic, err, errOut.String())
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	clean := consume(names.clean, 2)
	if len(clean) != 2 {
		t.Fatalf("kcat read %d clean records: %q", len(clean), clean)
	}
	for _, line := range clean {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("unexpected kcat line %q", line)
		}
		key, value, headers := parts[0], parts[1], parts[2]
		for _, want := range []string{"sluice.stage=filter", "sluice.source.topic=" + names.parsed, "sluice.source.partition=", "sluice.source.offset="} {
			if !strings.Contains(headers, want) {
				t.Fatalf("kcat does not see %q in the headers %q", want, headers)
			}
		}
		if key == "alpha" && !strings.Contains(value, `"value":24,"unit":"C"`) {
			t.Fatalf("alpha not normalised: %s", value)
		}
		if !strings.Contains(headers, "origin=kcat") {
			t.Fatalf("the filter should pass kcat's header through: %q", headers)
		}
	}
	dlq := consume(names.dlq, 1)
	if len(dlq) != 1 || !strings.HasPrefix(dlq[0], "gamma\t") ||
		!strings.Contains(dlq[0], "sluice.error=value: temperature -500 °C is below absolute zero (-273.15 °C)") {
		t.Fatalf("kcat's view of the DLQ: %q", dlq)
	}
}
