package stream

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
)

// checkExactlyOnceInOrder asserts out holds every value of in exactly once,
// and that each key's values appear in the order they were produced.
func checkExactlyOnceInOrder(t *testing.T, in []*kgo.Record, out []*kgo.Record) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range out {
		seen[string(r.Value)]++
	}
	for _, r := range in {
		switch n := seen[string(r.Value)]; n {
		case 1:
		case 0:
			t.Fatalf("record %q was lost", r.Value)
		default:
			t.Fatalf("record %q appears %d times", r.Value, n)
		}
	}
	if len(out) != len(in) {
		t.Fatalf("%d records in, %d out", len(in), len(out))
	}
	checkKeyOrder(t, out)
}

// checkKeyOrder asserts each key's values ("key:seq") never go backwards.
func checkKeyOrder(t *testing.T, out []*kgo.Record) {
	t.Helper()
	last := map[string]string{}
	for _, r := range out {
		k := string(r.Key)
		if prev, ok := last[k]; ok && string(r.Value) < prev && !strings.Contains(string(r.Value), "#") {
			t.Fatalf("key %s out of order: %s after %s", k, r.Value, prev)
		}
		last[k] = string(r.Value)
	}
}

func TestCountsInEqualCountsOut(t *testing.T) {
	h := newHarness(t, 3)
	in := records(h.in, 20000, 50)
	h.produce(in...)
	st := h.stageConfig()
	r := h.start(st)
	h.waitCount(h.out, int64(len(in)), 60*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	out := h.readAll(h.out)
	checkExactlyOnceInOrder(t, in, out)

	// Every output carries its lineage.
	for _, o := range out[:10] {
		if header(o, HeaderStage) != "s" || header(o, HeaderSourceTopic) != h.in ||
			header(o, HeaderSourcePartition) == "" || header(o, HeaderSourceOffset) == "" {
			t.Fatalf("missing lineage headers: %+v", o.Headers)
		}
	}
	// Committed offsets reach the end of every input partition.
	ends, committed := h.endOffsets(), h.committed(h.group)
	for p, end := range ends {
		if committed[p] != end {
			t.Fatalf("partition %d: committed %d, end %d", p, committed[p], end)
		}
	}
	stats := r.s.Stats()
	if stats.Consumed != int64(len(in)) || stats.Produced != int64(len(in)) || stats.DLQ != 0 {
		t.Fatalf("stats %+v", stats)
	}
}

func TestOutputsNamedMultipleAndFailuresToDLQ(t *testing.T) {
	h := newHarness(t, 1)
	h.produce(
		&kgo.Record{Topic: h.in, Key: []byte("a"), Value: []byte("plain"), Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-abc-def-01")}, {Key: "sluice.stage", Value: []byte("upstream")}}},
		&kgo.Record{Topic: h.in, Key: []byte("b"), Value: []byte("fail:value: expected a number")},
		&kgo.Record{Topic: h.in, Key: []byte("c"), Value: []byte("multi:3")},
		&kgo.Record{Topic: h.in, Key: []byte("d"), Value: []byte("alert")},
		&kgo.Record{Topic: h.in, Key: []byte("e"), Value: []byte("unknown-output")},
		&kgo.Record{Topic: h.in, Key: []byte("f"), Value: []byte("multi:0")},
		&kgo.Record{Topic: h.in, Key: nil, Value: nil},
		&kgo.Record{Topic: h.in, Key: []byte("g"), Value: []byte("retry:webhook 503")},
	)
	r := h.start(h.stageConfig())
	h.waitCount(h.dlq, 3, 30*time.Second)
	h.waitCount(h.out, 5, 30*time.Second)
	h.waitCount(h.alerts, 1, 30*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	out := h.readAll(h.out)
	var vals []string
	for _, o := range out {
		vals = append(vals, string(o.Value))
	}
	// plain, multi:3 x3, alert's default output, the null record
	if len(out) != 6 {
		t.Fatalf("outputs %q", vals)
	}
	var plain *kgo.Record
	for _, o := range out {
		if string(o.Value) == "plain" {
			plain = o
		}
	}
	if o := plain; o == nil || header(o, "traceparent") != "00-abc-def-01" || header(o, HeaderStage) != "s" {
		t.Fatalf("trace context must flow and upstream lineage be replaced: %+v", o.Headers)
	}
	nulls := 0
	for _, o := range out {
		if o.Value == nil && o.Key == nil {
			nulls++
		}
	}
	if nulls != 1 {
		t.Fatalf("the null key and value must stay null: %d null records", nulls)
	}
	if a := h.readAll(h.alerts); len(a) != 1 || string(a[0].Value) != "ALERT" {
		t.Fatalf("named output: %+v", a)
	}
	dlq := h.readAll(h.dlq)
	want := []struct{ key, kind, errText, attempts string }{
		{"b", KindNodeError, "value: expected a number", "1"},
		{"e", KindUnknownOutput, `node emitted to output "nope", which stage "s" does not define (outputs: alerts, default)`, "1"},
		{"g", KindNodeRetriable, "webhook 503", "5"}, // retry.max_attempts
	}
	if len(dlq) != len(want) {
		t.Fatalf("dlq holds %d records, want %d", len(dlq), len(want))
	}
	for i, w := range want {
		d := dlq[i]
		if string(d.Key) != w.key || header(d, HeaderErrorKind) != w.kind || header(d, HeaderError) != w.errText {
			t.Fatalf("dlq[%d]: key %q kind %q error %q; want %+v", i, d.Key, header(d, HeaderErrorKind), header(d, HeaderError), w)
		}
		if header(d, HeaderSourceTopic) != h.in || header(d, HeaderSourceOffset) == "" || header(d, HeaderAttempts) != w.attempts || header(d, HeaderStage) != "s" {
			t.Fatalf("dlq[%d] lineage headers: %+v", i, d.Headers)
		}
	}
	if s := r.s.Stats(); s.Filtered != 1 || s.DLQ != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNodeKilledMidStreamLosesNothing(t *testing.T) {
	h := newHarness(t, 3)
	in := records(h.in, 6000, 30)
	h.produce(in...)
	pids := t.TempDir()
	st := h.stageConfig(func(s *config.Stage) {
		s.Node.Env = map[string]string{"TESTNODE_PIDDIR": pids, "TESTNODE_DELAY": "200us"}
		s.Batch.MaxRecords = 50
	})
	r := h.start(st)
	killed := 0
	for killed < 4 {
		time.Sleep(300 * time.Millisecond)
		if h.count(h.out) >= int64(len(in)) {
			break
		}
		entries, _ := os.ReadDir(pids)
		for _, e := range entries {
			pid, _ := strconv.Atoi(e.Name())
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
			}
			os.Remove(pids + "/" + e.Name())
		}
	}
	if killed == 0 {
		t.Fatal("the test killed no node")
	}
	h.waitCount(h.out, int64(len(in)), 60*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	out := h.readAll(h.out)
	// At-least-once: a killed node's in-flight records are re-sent, and
	// outputs produced before the kill may repeat, but none may be lost
	// and each key stays in order.
	seen := map[string]bool{}
	for _, o := range out {
		seen[string(o.Value)] = true
	}
	for _, r := range in {
		if !seen[string(r.Value)] {
			t.Fatalf("record %q lost after SIGKILL", r.Value)
		}
	}
	if s := r.s.Stats(); s.NodeRestarts < int64(killed) || s.DLQ != 0 {
		t.Fatalf("killed %d nodes; stats %+v", killed, s)
	}
	checkKeyOrder(t, dedupe(out))
}

// dedupe keeps the first occurrence of each value.
func dedupe(rs []*kgo.Record) []*kgo.Record {
	seen := map[string]bool{}
	var out []*kgo.Record
	for _, r := range rs {
		if !seen[string(r.Value)] {
			seen[string(r.Value)] = true
			out = append(out, r)
		}
	}
	return out
}

// poisonCase runs a stage over good records with one bad one in the middle
// and checks the bad one ends in the DLQ with kind and reason, and every
// good one comes out exactly once, in order.
func poisonCase(t *testing.T, poison string, kind, reasonPart string, mods ...func(*config.Stage)) {
	h := newHarness(t, 1)
	var in []*kgo.Record
	for i := range 200 {
		in = append(in, &kgo.Record{Topic: h.in, Key: []byte("k"), Value: []byte("k:" + strconv.Itoa(1000+i))})
	}
	all := append(append(append([]*kgo.Record{}, in[:100]...), &kgo.Record{Topic: h.in, Key: []byte("poison"), Value: []byte(poison)}), in[100:]...)
	h.produce(all...)
	st := h.stageConfig(append([]func(*config.Stage){func(s *config.Stage) { s.Retries = 2; s.Batch.MaxRecords = 20 }}, mods...)...)
	r := h.start(st)
	h.waitCount(h.dlq, 1, 60*time.Second)
	h.waitCount(h.out, int64(len(in)), 60*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	out := h.readAll(h.out)
	// Before the crash the node may already have answered earlier records
	// of a pipelined batch: those were produced once. Re-sent records can
	// only repeat if a crash happened after they were produced, which
	// isolation prevents, so we expect exactly once here.
	checkExactlyOnceInOrder(t, in, out)
	dlq := h.readAll(h.dlq)
	if len(dlq) != 1 {
		t.Fatalf("dlq holds %d records, want 1", len(dlq))
	}
	d := dlq[0]
	if string(d.Value) != poison || header(d, HeaderErrorKind) != kind || !strings.Contains(header(d, HeaderError), reasonPart) || header(d, HeaderAttempts) != "2" {
		t.Fatalf("dlq record: value %q kind %q attempts %q error %q", d.Value, header(d, HeaderErrorKind), header(d, HeaderAttempts), header(d, HeaderError))
	}
	if s := r.s.Stats(); s.NodeRestarts < 2 {
		t.Fatalf("expected the node to be restarted, stats %+v", s)
	}
}

func TestPoisonRecordThatCrashesTheNodeGoesToDLQ(t *testing.T) {
	poisonCase(t, "crash", KindCrash, "node failed 2 times while processing this record; last: node exited: exit status 3")
}

func TestHungNodeIsKilledAndRecordGoesToDLQ(t *testing.T) {
	poisonCase(t, "hang", KindTimeout, "node did not answer within 300ms (timeouts.batch); killed", func(s *config.Stage) {
		s.Timeouts.Batch = 300 * time.Millisecond
	})
}

func TestMalformedFrameFromNode(t *testing.T) {
	poisonCase(t, "garbage", KindProtocol, "node sent a malformed frame: malformed frame: unknown message type 0x42")
}

func TestOversizedFrameFromNodeIsRefused(t *testing.T) {
	poisonCase(t, "oversize", KindProtocol, "node sent an oversized frame: frame too large: 2147483647 bytes announced, limit is 16777216")
}

func TestNodeThatExitsAtStartFailsClearlyWithBackoff(t *testing.T) {
	h := newHarness(t, 1)
	st := h.stageConfig(func(s *config.Stage) {
		s.Workers = 1
		s.MaxStartFailures = 4
		s.Backoff.Initial = 50 * time.Millisecond
		s.Node.Env = map[string]string{"TESTNODE_EXIT_AT_START": "1"}
	})
	r := h.start(st)
	var err error
	select {
	case err = <-r.done:
		r.done <- err
	case <-time.After(30 * time.Second):
		t.Fatal("stage kept retrying a node that cannot start")
	}
	if !errors.Is(err, ErrNodeStart) {
		t.Fatalf("want ErrNodeStart, got %v", err)
	}
	want := `node failed to start: stage "s": node "` + testNode + `" failed to start 4 times in a row; last: node exited: exit status 1 (last stderr line: "testnode: cannot load my model (on purpose)")`
	if err.Error() != want {
		t.Fatalf("error text\n got %s\nwant %s", err, want)
	}
	// Not a hot loop: exactly the configured number of attempts, with the
	// backoff between them logged.
	if s := r.s.Stats(); s.NodeStartFailures != 4 {
		t.Fatalf("start failures %d, want 4", s.NodeStartFailures)
	}
	if n := h.logs.FilterMessage("restarting node after backoff").Len(); n != 3 {
		t.Fatalf("backoff logged %d times, want 3", n)
	}
}

func TestNodeSpeakingAnotherVersionIsRefused(t *testing.T) {
	h := newHarness(t, 1)
	st := h.stageConfig(func(s *config.Stage) {
		s.Workers = 1
		s.Node.Env = map[string]string{"TESTNODE_ACK_VERSION": "2"}
	})
	r := h.start(st)
	err := <-r.done
	r.done <- err
	if !errors.Is(err, ErrProtocolVersion) || !strings.Contains(err.Error(), `node "future-node" speaks protocol v2, this runtime speaks v1`) {
		t.Fatalf("got %v", err)
	}
}

func TestMissingCommandIsAClearError(t *testing.T) {
	h := newHarness(t, 1)
	st := h.stageConfig(func(s *config.Stage) { s.Node.Command = "/nonexistent/node" })
	err := h.start(st).stopWhenDone(t)
	if err == nil || !strings.Contains(err.Error(), `stage "s": starting node "/nonexistent/node": fork/exec /nonexistent/node: no such file or directory`) {
		t.Fatalf("got %v", err)
	}
}

func TestMissingTopicIsAClearError(t *testing.T) {
	h := newHarness(t, 1)
	st := h.stageConfig(func(s *config.Stage) { s.Outputs = map[string]string{"default": "nope"} })
	err := h.start(st).stopWhenDone(t)
	if !errors.Is(err, ErrTopicMissing) || !strings.Contains(err.Error(), `stage "s" needs topic "nope"`) {
		t.Fatalf("got %v", err)
	}
}

func (r *running) stopWhenDone(t *testing.T) error {
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("stage did not fail")
		return nil
	}
}

func TestNodeStderrIsLoggedWithStageAndWorker(t *testing.T) {
	h := newHarness(t, 1)
	h.produce(&kgo.Record{Topic: h.in, Value: []byte("log:hello from the node")})
	r := h.start(h.stageConfig(func(s *config.Stage) { s.Workers = 1 }))
	h.waitCount(h.out, 1, 30*time.Second)
	r.stop(t)
	entries := h.logs.FilterMessage("hello from the node").All()
	if len(entries) != 1 {
		t.Fatalf("stderr line logged %d times", len(entries))
	}
	f := entries[0].ContextMap()
	if f["stage"] != "s" || f["worker"] != int64(0) || f["source"] != "node stderr" {
		t.Fatalf("log fields %v", f)
	}
}

func TestSoftStopCommitsAndRestartResumesWithoutDuplicates(t *testing.T) {
	h := newHarness(t, 3)
	in := records(h.in, 8000, 40)
	h.produce(in...)
	st := h.stageConfig(func(s *config.Stage) {
		s.Node.Env = map[string]string{"TESTNODE_DELAY": "200us"}
		s.Window.Records = 500
		s.Batch.MaxRecords = 50
	})
	r := h.start(st)
	h.waitCount(h.out, 2000, 60*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	mid := h.count(h.out)
	if mid >= int64(len(in)) {
		t.Fatalf("the stop came too late to test a resume (%d of %d done)", mid, len(in))
	}
	var committed int64
	for _, o := range h.committed(h.group) {
		committed += o
	}
	if committed != mid {
		t.Fatalf("after a soft stop the committed offsets (%d) must match what was produced (%d)", committed, mid)
	}
	r2 := h.start(st)
	h.waitCount(h.out, int64(len(in)), 60*time.Second)
	if err := r2.stop(t); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnceInOrder(t, in, h.readAll(h.out))
}

func TestWindowBoundsInFlightRecords(t *testing.T) {
	h := newHarness(t, 2)
	h.produce(records(h.in, 3000, 10)...)
	st := h.stageConfig(func(s *config.Stage) {
		s.Window.Records = 200
		s.Batch.MaxRecords = 20
		s.Node.Env = map[string]string{"TESTNODE_DELAY": "1ms"}
	})
	r := h.start(st)
	maxSeen := 0
	for h.count(h.out) < 1000 {
		if n := r.s.Stats().InFlightRecords; n > maxSeen {
			maxSeen = n
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.stop(t)
	if maxSeen == 0 || maxSeen > 200 {
		t.Fatalf("in-flight records peaked at %d; the window is 200", maxSeen)
	}
}

func TestRebalanceBetweenTwoInstancesLosesNothing(t *testing.T) {
	h := newHarness(t, 4)
	in := records(h.in, 12000, 60)
	h.produce(in...)
	st := h.stageConfig(func(s *config.Stage) {
		s.Workers = 1
		s.Node.Env = map[string]string{"TESTNODE_DELAY": "100us"}
	})
	a := h.start(st)
	h.waitCount(h.out, 2000, 60*time.Second)
	b := h.start(st) // joins the group: partitions move from a to b
	h.waitCount(h.out, 6000, 60*time.Second)
	if err := a.stop(t); err != nil { // leaves: b takes everything
		t.Fatal(err)
	}
	h.waitCount(h.out, int64(len(in)), 60*time.Second)
	if err := b.stop(t); err != nil {
		t.Fatal(err)
	}
	if a.s.Stats().Consumed == 0 || b.s.Stats().Consumed == 0 {
		t.Fatalf("both instances should have worked: a %+v b %+v", a.s.Stats(), b.s.Stats())
	}
	out := h.readAll(h.out)
	seen := map[string]int{}
	for _, o := range out {
		seen[string(o.Value)]++
	}
	for _, r := range in {
		if seen[string(r.Value)] == 0 {
			t.Fatalf("record %q lost in the rebalance", r.Value)
		}
	}
	checkKeyOrder(t, dedupe(out))
	ends, committed := h.endOffsets(), h.committed(h.group)
	for p, end := range ends {
		if committed[p] != end {
			t.Fatalf("partition %d: committed %d, end %d", p, committed[p], end)
		}
	}
	t.Logf("%d in, %d out (%d duplicates from the rebalance)", len(in), len(out), len(out)-len(in))
}

func TestRecordOverTheFrameLimitGoesToDLQ(t *testing.T) {
	h := newHarness(t, 1)
	big := bytes.Repeat([]byte("x"), 100<<10)
	h.produce(
		&kgo.Record{Topic: h.in, Key: []byte("k"), Value: []byte("k:1")},
		&kgo.Record{Topic: h.in, Key: []byte("big"), Value: big},
		&kgo.Record{Topic: h.in, Key: []byte("k"), Value: []byte("k:2")},
	)
	// topic, partition, offset, timestamp, key, value, header count
	frameBytes := 4 + len(h.in) + 4 + 8 + 8 + 4 + len("big") + 4 + len(big) + 4
	r := h.start(h.stageConfig(func(s *config.Stage) {
		s.MaxFrame = 64 << 10
		s.Batch.MaxBytes = 64 << 10
	}))
	h.waitCount(h.out, 2, 30*time.Second)
	h.waitCount(h.dlq, 1, 30*time.Second)
	r.stop(t)
	d := h.readAll(h.dlq)[0]
	if !bytes.Equal(d.Value, big) || header(d, HeaderErrorKind) != KindTooLarge ||
		header(d, HeaderError) != fmt.Sprintf("record takes %d bytes in a batch frame, over the node frame limit (max_frame 65536)", frameBytes) {
		t.Fatalf("dlq: kind %q error %q", header(d, HeaderErrorKind), header(d, HeaderError))
	}
	if s := r.s.Stats(); s.NodeRestarts != 0 {
		t.Fatalf("an oversized record must not crash the node: %+v", s)
	}
}

// A 1 MiB record passes with the default 16 MiB frame limit.
func TestOneMiBRecordPasses(t *testing.T) {
	h := newHarness(t, 1)
	big := bytes.Repeat([]byte("y"), 1<<20)
	h.produce(&kgo.Record{Topic: h.in, Key: []byte("big"), Value: big})
	r := h.start(h.stageConfig())
	h.waitCount(h.out, 1, 30*time.Second)
	r.stop(t)
	if out := h.readAll(h.out); !bytes.Equal(out[0].Value, big) {
		t.Fatal("the 1 MiB record changed on the way")
	}
}

// Files mode: the same outputs, DLQ records and crash handling as frames.
func TestFilesModeNode(t *testing.T) {
	h := newHarness(t, 2)
	in := records(h.in, 2000, 20)
	bin := []byte{0, 0xff, 0x80}
	extra := []*kgo.Record{
		{Topic: h.in, Key: []byte("b"), Value: bin, Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}},
		{Topic: h.in, Key: []byte("f"), Value: []byte("fail:no disk")},
		{Topic: h.in, Key: []byte("m"), Value: []byte("multi:2")},
		{Topic: h.in, Key: []byte("c"), Value: []byte("crash")},
	}
	h.produce(append(in, extra...)...)
	r := h.start(h.stageConfig(func(s *config.Stage) {
		s.Node.Env = map[string]string{"TESTNODE_FILES": "1"}
		s.Retries = 2
	}))
	h.waitCount(h.out, int64(len(in)+3), 60*time.Second)
	h.waitCount(h.dlq, 2, 60*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	out := h.readAll(h.out)
	var plain []*kgo.Record
	var sawBinary bool
	for _, o := range out {
		switch {
		case bytes.Equal(o.Value, bin):
			sawBinary = header(o, "h") == "v"
		case strings.HasPrefix(string(o.Value), "multi:"):
		default:
			plain = append(plain, o)
		}
	}
	if !sawBinary {
		t.Fatal("the binary record (and its header) did not come through files mode intact")
	}
	checkExactlyOnceInOrder(t, in, plain)
	kinds := map[string]string{}
	for _, d := range h.readAll(h.dlq) {
		kinds[string(d.Value)] = header(d, HeaderErrorKind) + ": " + header(d, HeaderError)
	}
	if kinds["fail:no disk"] != "node-error: no disk" || !strings.HasPrefix(kinds["crash"], "crash: node failed 2 times") {
		t.Fatalf("dlq: %v", kinds)
	}
}
