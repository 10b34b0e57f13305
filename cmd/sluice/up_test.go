package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testbroker"
)

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// buildFilter compiles the filter node for the test.
func buildFilter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "filter")
	if out, err := exec.Command("go", "build", "-o", bin, "../../nodes/filter").CombinedOutput(); err != nil {
		t.Fatalf("building the filter node: %v\n%s", err, out)
	}
	return bin
}

// filterTopics are the topic names of config/examples/filter.yaml, made
// unique when the test shares a real broker.
type filterTopics struct{ parsed, clean, dlq, pipeline string }

func exampleTopics() filterTopics {
	return filterTopics{"events.parsed", "events.clean", "filter.dlq", "filter-demo"}
}

func uniqueTopics(t *testing.T) filterTopics {
	return filterTopics{testbroker.Name(t, "events.parsed"), testbroker.Name(t, "events.clean"),
		testbroker.Name(t, "filter.dlq"), testbroker.Name(t, "filter-demo")}
}

// filterPipeline is config/examples/filter.yaml with the node at bin and
// the topic and pipeline names of names.
func filterPipeline(t *testing.T, bin string, names filterTopics) string {
	t.Helper()
	data, err := os.ReadFile("../../config/examples/filter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "command: bin/nodes/filter", "command: "+bin, 1)
	if text == string(data) {
		t.Fatal("the example no longer names bin/nodes/filter")
	}
	ex := exampleTopics()
	text = strings.NewReplacer(ex.parsed+":", names.parsed+":", ex.clean+":", names.clean+":", ex.dlq+":", names.dlq+":",
		"input: "+ex.parsed, "input: "+names.parsed, "default: "+ex.clean, "default: "+names.clean,
		"dlq: "+ex.dlq, "dlq: "+names.dlq, "pipeline: "+ex.pipeline, "pipeline: "+names.pipeline).Replace(text)
	return writeFile(t, "filter.yaml", text)
}

// sensorEvents makes n events over 12 sensors, every 7th one invalid in
// one of several ways; it returns the lines and how many are invalid.
func sensorEvents(n int) (lines []string, invalid int) {
	bad := []string{
		`{"sensor_id":"%s","metric":"temperature","value":"hot","unit":"C","ts":"2024-05-01T12:00:00Z","seq":%d}`,
		`{"sensor_id":"%s","metric":"temperature","value":-400,"unit":"C","ts":"2024-05-01T12:00:00Z","seq":%d}`,
		`{"sensor_id":"%s","metric":"humidity","value":150,"unit":"%%","ts":"2024-05-01T12:00:00Z","seq":%d}`,
		`{"sensor_id":"%s","metric":"temperature","value":20,"unit":"C","ts":"someday","seq":%d}`,
	}
	for i := range n {
		id := fmt.Sprintf("sensor-%02d", i%12)
		if i%7 == 3 {
			lines = append(lines, fmt.Sprintf(bad[i%len(bad)], id, i))
			invalid++
			continue
		}
		lines = append(lines, fmt.Sprintf(`{"sensor_id":"%s","metric":"temperature","value":%d.5,"unit":"F","ts":%d,"seq":%d}`, strings.ToUpper(id), 50+i%40, 1714564800+i, i))
	}
	return lines, invalid
}

// TestUpConservesRecords is the promise of the core issue: `sluice up` on
// the embedded broker plus `sluice produce` of N events, some invalid, puts
// every input exactly once into events.clean or filter.dlq, in
// per-partition order, each DLQ record with its reason; and a restart on
// the same data directory resumes without reprocessing.
//
// On kfake (no real broker configured) it exercises the embedded broker
// and its data directory; against Apache Kafka (SLUICE_TEST_BROKERS or
// testcontainers) it runs up with --brokers and uniquely named topics.
func TestUpConservesRecords(t *testing.T) {
	b := testbroker.Get(t)
	names := exampleTopics()
	addr := freeAddr(t)
	dataDir := t.TempDir()
	args := []string{"--data-dir", dataDir, "--embedded-addr", addr}
	if b.Real {
		names = uniqueTopics(t)
		addr = strings.Join(b.Addrs, ",")
		args = []string{"--brokers", addr}
	}
	cfg := filterPipeline(t, buildFilter(t), names)
	t.Setenv("SLUICE_BROKERS", "")

	startUp := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		var stderr syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- runIn(ctx, "", &syncBuffer{}, &stderr, append([]string{"up", "--config", cfg, "--log-format", "json"}, args...)...)
		}()
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(stderr.String(), "pipeline "+names.pipeline+" up") {
			if time.Now().After(deadline) {
				t.Fatalf("up did not start:\n%s", stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if want := "embedded broker, data in " + filepath.Join(dataDir, "broker"); !b.Real && !strings.Contains(stderr.String(), want) {
			t.Fatalf("up should say it started the embedded broker:\n%s", stderr.String())
		}
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("up: %v\n%s", err, stderr.String())
			}
		}
	}

	stop := startUp()
	lines, invalid := sensorEvents(3000)
	_, errOut := mustSluice(t, strings.Join(lines[:2000], "\n")+"\n", "produce", names.parsed, "--brokers", addr, "--key-field", "sensor_id")
	if !strings.Contains(errOut, "produced 2000 records to "+names.parsed) {
		t.Fatalf("produce said %q", errOut)
	}
	waitTotal(t, addr, names, 2000)
	stop()

	// Restart on the same data: the group resumes from its committed offsets.
	stop = startUp()
	mustSluice(t, strings.Join(lines[2000:], "\n")+"\n", "produce", names.parsed, "--brokers", addr, "--key-field", "sensor_id")
	waitTotal(t, addr, names, 3000)
	time.Sleep(300 * time.Millisecond) // anything extra would show up now
	clean, dlq := readTopic(t, addr, names.clean), readTopic(t, addr, names.dlq)
	stop()

	if len(clean)+len(dlq) != len(lines) || len(dlq) != invalid {
		t.Fatalf("%d in (%d invalid) -> %d clean + %d dlq", len(lines), invalid, len(clean), len(dlq))
	}
	type src struct {
		p   int32
		off int64
	}
	seen := map[src]int{}
	for _, set := range [][]*kgo.Record{clean, dlq} {
		lastOff := map[[2]int32]int64{} // (output partition, source partition) -> last source offset
		for _, r := range set {
			p, _ := strconv.Atoi(hdr(r, "sluice.source.partition"))
			off, _ := strconv.ParseInt(hdr(r, "sluice.source.offset"), 10, 64)
			seen[src{int32(p), off}]++
			k := [2]int32{r.Partition, int32(p)}
			if prev, ok := lastOff[k]; ok && off <= prev {
				t.Fatalf("out of order: source %d/%d after %d in %s/%d", p, off, prev, r.Topic, r.Partition)
			}
			lastOff[k] = off
		}
	}
	for s, n := range seen {
		if n != 1 {
			t.Fatalf("source record %d/%d came out %d times", s.p, s.off, n)
		}
	}
	if len(seen) != len(lines) {
		t.Fatalf("%d distinct sources for %d inputs", len(seen), len(lines))
	}
	for _, d := range dlq {
		if hdr(d, "sluice.error") == "" || hdr(d, "sluice.stage") != "filter" {
			t.Fatalf("DLQ record without its reason: %s %+v", d.Value, d.Headers)
		}
	}
	for _, c := range clean[:5] {
		if !strings.Contains(string(c.Value), `"unit":"C"`) || strings.ToLower(string(c.Key)) != string(c.Key) {
			t.Fatalf("not normalised: key %s value %s", c.Key, c.Value)
		}
	}
}

func hdr(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// waitTotal waits until the clean and DLQ topics hold n records together.
func waitTotal(t *testing.T, addr string, names filterTopics, n int64) {
	t.Helper()
	adm := admin(t, addr)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var total int64
		for _, topic := range []string{names.clean, names.dlq} {
			ends, err := adm.ListEndOffsets(context.Background(), topic)
			if err == nil {
				ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
			}
		}
		if total >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d records came out", total, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readTopic reads every record of topic, in per-partition order.
func readTopic(t *testing.T, addr, topic string) []*kgo.Record {
	t.Helper()
	adm := admin(t, addr)
	ends, err := adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for int64(len(out)) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s", len(out), want, topic)
		}
		out = append(out, fs.Records()...)
	}
	return out
}
