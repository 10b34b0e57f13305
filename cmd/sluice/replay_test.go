package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testbroker"
	"github.com/sluicehq/sluice/stream"
)

// timedRecord is one input record of the time-range tests, as produced.
type timedRecord struct {
	Partition int32
	Offset    int64
	Timestamp time.Time
}

// timedPipeline is the filter pipeline (config/examples/filter.yaml) with
// unique names and its topics created, plus 300 sensor events produced
// to its input: 100 per partition with explicit timestamps spread evenly
// over the 3 hours from base (record j of a partition at base + j*108s,
// so each hour holds records 0-33, 34-66 and 67-99). With late, record 50
// of each partition is stamped base+10m: a late arrival in the middle hour.
type timedPipeline struct {
	addr, cfg, group string
	names            filterTopics
	base             time.Time
	inputs           []timedRecord
}

func newTimedPipeline(t *testing.T, late bool) *timedPipeline {
	t.Helper()
	tp := &timedPipeline{addr: startKafka(t), names: uniqueTopics(t)}
	tp.cfg = filterPipeline(t, buildFilter(t), tp.names)
	tp.group = "sluice." + tp.names.pipeline + ".filter"
	t.Setenv("SLUICE_BROKERS", "")
	mustSluice(t, "", "topics", "create", "--config", tp.cfg, "--brokers", tp.addr)
	waitTopics(t, tp.addr, tp.names.parsed, tp.names.clean, tp.names.dlq)

	// A recent base: Apache Kafka deletes records older than its
	// retention, and refuses timestamps far in the future.
	tp.base = time.Now().Add(-4 * time.Hour).Truncate(time.Minute)
	lines, _ := sensorEvents(300)
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(tp.addr, ",")...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for p := range int32(3) {
		var recs []*kgo.Record
		for j := range 100 {
			ts := tp.base.Add(time.Duration(j) * 108 * time.Second)
			if late && j == 50 {
				ts = tp.base.Add(10 * time.Minute)
			}
			recs = append(recs, &kgo.Record{Topic: tp.names.parsed, Partition: p, Value: []byte(lines[int(p)*100+j]), Timestamp: ts})
		}
		res := cl.ProduceSync(testCtx(t), recs...)
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			tp.inputs = append(tp.inputs, timedRecord{r.Record.Partition, r.Record.Offset, r.Record.Timestamp})
		}
	}
	return tp
}

// offsetRange is, per partition, what ListOffsetsAfterMilli answers for
// from and to: the first offsets whose timestamp is at or after each (or
// the end).
func (tp *timedPipeline) offsetRange(from, to time.Time) (start, stop map[int32]int64) {
	start, stop = map[int32]int64{}, map[int32]int64{}
	for p := range int32(3) {
		start[p], stop[p] = -1, -1
	}
	for _, r := range tp.inputs {
		if start[r.Partition] < 0 && !r.Timestamp.Before(from) {
			start[r.Partition] = r.Offset
		}
		if stop[r.Partition] < 0 && !to.IsZero() && !r.Timestamp.Before(to) {
			stop[r.Partition] = r.Offset
		}
	}
	for p := range int32(3) {
		if stop[p] < 0 {
			stop[p] = 100
		}
		if start[p] < 0 {
			start[p] = 100
		}
	}
	return start, stop
}

type lineageKey struct {
	p   int32
	off int64
}

// sources reads topics and returns, per lineage source, how often it came
// out, checking each record with check.
func lineageSources(t *testing.T, addr string, check func(*kgo.Record), topics ...string) map[lineageKey]int {
	t.Helper()
	out := map[lineageKey]int{}
	for _, topic := range topics {
		for _, r := range readTopic(t, addr, topic) {
			p, err1 := strconv.Atoi(hdr(r, stream.HeaderSourcePartition))
			off, err2 := strconv.ParseInt(hdr(r, stream.HeaderSourceOffset), 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: record without lineage: %+v", topic, r.Headers)
			}
			out[lineageKey{int32(p), off}]++
			if check != nil {
				check(r)
			}
		}
	}
	return out
}

// checkSources asserts got holds each record of want exactly once and
// nothing else.
func checkLineageSources(t *testing.T, got map[lineageKey]int, want []timedRecord) {
	t.Helper()
	for _, w := range want {
		k := lineageKey{w.Partition, w.Offset}
		if got[k] != 1 {
			t.Fatalf("input %d/%d (at %s) came out %d times", w.Partition, w.Offset, w.Timestamp.Format(time.RFC3339), got[k])
		}
		delete(got, k)
	}
	for k, n := range got {
		t.Fatalf("input %d/%d came out %d times but is not in the range", k.p, k.off, n)
	}
}

func groupCommitted(t *testing.T, adm *kadm.Client, group, topic string) map[int32]int64 {
	t.Helper()
	offs, err := adm.FetchOffsets(testCtx(t), group)
	// COORDINATOR_NOT_AVAILABLE on a freshly started broker is retriable.
	for deadline := time.Now().Add(30 * time.Second); err != nil && kerr.IsRetriable(err) && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		offs, err = adm.FetchOffsets(testCtx(t), group)
	}
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out
}

// TestReplayProcessesExactlyTheRange replays the middle hour of three into
// side topics: exactly the records stamped in that hour come out (the late
// one among them is read but skipped), each once, tagged sluice.replay,
// with their input's timestamp; the stage's own outputs stay empty and the
// live group's committed offsets do not move.
func TestReplayProcessesExactlyTheRange(t *testing.T) {
	tp := newTimedPipeline(t, true)
	backfill, replayDLQ := testbroker.Name(t, "events.backfill"), testbroker.Name(t, "replay.dlq")
	makeTopic(t, tp.addr, backfill, 3)
	makeTopic(t, tp.addr, replayDLQ, 1)
	adm := admin(t, tp.addr)

	// The live group has a position; replay must leave it alone.
	live := map[int32]int64{0: 7, 1: 11, 2: 13}
	var offs kadm.Offsets
	for p, o := range live {
		offs.Add(kadm.Offset{Topic: tp.names.parsed, Partition: p, At: o, LeaderEpoch: -1})
	}
	if resp, err := adm.CommitOffsets(testCtx(t), tp.group, offs); err != nil || resp.Error() != nil {
		t.Fatalf("commit: %v %v", err, resp.Error())
	}

	from, to := tp.base.Add(time.Hour), tp.base.Add(2*time.Hour)
	_, stderr := mustSluice(t, "", "replay", "--config", tp.cfg, "--brokers", tp.addr, "--stage", "filter",
		"--from", from.Format(time.RFC3339), "--to", "@"+to.Format(time.RFC3339),
		"--to-topic", backfill, "--dlq-topic", replayDLQ)

	var want []timedRecord
	for _, r := range tp.inputs {
		if !r.Timestamp.Before(from) && r.Timestamp.Before(to) {
			want = append(want, r)
		}
	}
	if len(want) != 3*32 {
		t.Fatalf("the test data has %d records in the middle hour, want 96", len(want))
	}
	// 33 records per partition lie between the offsets of from and to,
	// the late one of each is skipped.
	clean, dlq := topicsTotal(t, tp.addr, backfill), topicsTotal(t, tp.addr, replayDLQ)
	summary := fmt.Sprintf("replayed stage filter: read 99 records (96 in range), produced %d, DLQ %d, in ", clean, dlq)
	if !strings.Contains(stderr, summary) || clean+dlq != 96 || dlq == 0 {
		t.Fatalf("stderr %q, want %q; %d outputs + %d DLQ for 96 records", stderr, summary, clean, dlq)
	}
	if strings.Contains(stderr, "\r") || strings.Contains(stderr, "ETA") {
		t.Fatalf("not on a terminal, replay prints only its summary: %q", stderr)
	}

	tag := ""
	got := lineageSources(t, tp.addr, func(r *kgo.Record) {
		if tag == "" {
			tag = hdr(r, stream.HeaderReplay)
		}
		if v := hdr(r, stream.HeaderReplay); v == "" || v != tag {
			t.Fatalf("%s: sluice.replay %q, want %q on every record", r.Topic, v, tag)
		}
		if hdr(r, stream.HeaderStage) != "filter" || hdr(r, stream.HeaderSourceTopic) != tp.names.parsed {
			t.Fatalf("%s: lineage %+v", r.Topic, r.Headers)
		}
		if r.Timestamp.Before(from) || !r.Timestamp.Before(to) {
			t.Fatalf("%s: output stamped %s, outside the range", r.Topic, r.Timestamp)
		}
	}, backfill, replayDLQ)
	checkLineageSources(t, got, want)
	if _, err := time.Parse(time.RFC3339, tag); err != nil || !strings.Contains(stderr, "sluice.replay="+tag) {
		t.Fatalf("sluice.replay is %q (%v); stderr %q", tag, err, stderr)
	}

	if n := topicsTotal(t, tp.addr, tp.names.clean, tp.names.dlq); n != 0 {
		t.Fatalf("with --to-topic and --dlq-topic the stage's own topics get nothing, got %d records", n)
	}
	if got := groupCommitted(t, adm, tp.group, tp.names.parsed); fmt.Sprint(got) != fmt.Sprint(live) {
		t.Fatalf("the live group's offsets moved: %v, were %v", got, live)
	}
	if dg, err := adm.DescribeGroups(testCtx(t), tp.group); err != nil || len(dg[tp.group].Members) != 0 {
		t.Fatalf("replay joined the live group: %+v %v", dg, err)
	}
}

// TestReplayIntoTheStageOutputs replays from a time to the end (no --to)
// into the stage's own topics.
func TestReplayIntoTheStageOutputs(t *testing.T) {
	tp := newTimedPipeline(t, false)
	from := tp.base.Add(2 * time.Hour)
	_, stderr := mustSluice(t, "", "replay", "--config", tp.cfg, "--brokers", tp.addr, "--stage", "filter", "--from", from.Format(time.RFC3339))
	if !strings.Contains(stderr, "replayed stage filter: read 99 records (99 in range), ") {
		t.Fatalf("stderr %q", stderr)
	}
	var want []timedRecord
	for _, r := range tp.inputs {
		if !r.Timestamp.Before(from) {
			want = append(want, r)
		}
	}
	got := lineageSources(t, tp.addr, func(r *kgo.Record) {
		if hdr(r, stream.HeaderReplay) == "" {
			t.Fatalf("%s: no sluice.replay header", r.Topic)
		}
	}, tp.names.clean, tp.names.dlq)
	checkLineageSources(t, got, want)
}

// TestReplayDryRun prints the plan and runs nothing.
func TestReplayDryRun(t *testing.T) {
	tp := newTimedPipeline(t, false)
	adm := admin(t, tp.addr)
	from, to := tp.base.Add(time.Hour), tp.base.Add(2*time.Hour)
	stdout, _ := mustSluice(t, "", "replay", "--config", tp.cfg, "--brokers", tp.addr, "--stage", "filter",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--dry-run")
	start, stop := tp.offsetRange(from, to)
	for p := range int32(3) {
		row := fmt.Sprintf("%d %d %d %d", p, start[p], stop[p], stop[p]-start[p])
		if !tableHasRow(stdout, row) {
			t.Fatalf("dry run output lacks the row %q:\n%s", row, stdout)
		}
	}
	if start[0] != 34 || stop[0] != 67 || !tableHasRow(stdout, "total 99") || !strings.Contains(stdout, "dry run") ||
		!strings.Contains(stdout, tp.names.clean) || !strings.Contains(stdout, "Nothing was run") {
		t.Fatalf("dry run output:\n%s", stdout)
	}
	// Without --to: up to the end of each partition.
	stdout, _ = mustSluice(t, "", "replay", "--config", tp.cfg, "--brokers", tp.addr, "--stage", "filter", "--from", "@"+strconv.FormatInt(to.UnixMilli(), 10), "--dry-run")
	if !tableHasRow(stdout, "2 67 100 33") || !strings.Contains(stdout, "to the end of each partition") {
		t.Fatalf("dry run without --to:\n%s", stdout)
	}
	if n := topicsTotal(t, tp.addr, tp.names.clean, tp.names.dlq); n != 0 {
		t.Fatalf("a dry run produced %d records", n)
	}
	if c := groupCommitted(t, adm, tp.group, tp.names.parsed); len(c) != 0 {
		t.Fatalf("a dry run committed %v", c)
	}
}

// hasRow reports whether text has a line whose fields are those of row.
func tableHasRow(text, row string) bool {
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Join(strings.Fields(line), " ") == row {
			return true
		}
	}
	return false
}

func TestReplayUsageErrors(t *testing.T) {
	cfg := writeFile(t, "p.yaml", pipelineYAML)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"replay", "--config", cfg, "--stage", "clean"}, "replay needs --config FILE, --stage NAME and --from TIME"},
		{[]string{"replay", "--config", cfg, "--stage", "clean", "--from", "yesterday"}, `--from: "yesterday" is not a time`},
		{[]string{"replay", "--config", cfg, "--stage", "clean", "--from", "-1h", "--to", "-2h"}, "is not after --from"},
		{[]string{"replay", "--config", cfg, "--stage", "nope", "--from", "-1h"}, `"nope"`},
		{[]string{"replay", "--config", cfg, "--stage", "clean", "--from", "-1h", "--to-topic", "events.parsed"}, "is the stage's input topic"},
		{[]string{"offsets", "reset", "--config", cfg, "--stage", "clean"}, "offsets reset needs --config FILE, --stage NAME and --to"},
		{[]string{"offsets", "reset", "--config", cfg, "--stage", "clean", "--to", "soon"}, `--to "soon": want @TIME, "earliest" or "latest"`},
		{[]string{"offsets", "frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, c := range cases {
		_, _, err := sluice(t, "", c.args...)
		var ue usageError
		if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("sluice %s: %v, want a usage error with %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

func TestReplayProgressLine(t *testing.T) {
	pr := stream.BoundedProgress{Total: 1000, Done: 600, Completed: 250}
	got := progressLine("filter", pr, 2*time.Second)
	want := "replay filter [#####...............]  25%  250/1000 records  125 rec/s  ETA 6s"
	if got != want {
		t.Fatalf("progress line\n got %q\nwant %q", got, want)
	}
	if got := progressLine("filter", stream.BoundedProgress{Total: 10}, 0); !strings.HasSuffix(got, "ETA --") {
		t.Fatalf("no rate yet: %q", got)
	}
	if got := progressLine("filter", stream.BoundedProgress{Total: 10, Done: 10, Completed: 10}, time.Second); !strings.Contains(got, "100%") || !strings.HasSuffix(got, "ETA 0s") {
		t.Fatalf("done: %q", got)
	}
}

// runStage starts `sluice run` for the filter stage in the background;
// stop cancels it and returns its error.
func startFilterStage(t *testing.T, tp *timedPipeline) (stop func() error, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runIn(ctx, "", &syncBuffer{}, stderr, "run", "--config", tp.cfg, "--brokers", tp.addr, "--stage", "filter", "--log-format", "json")
	}()
	stopped := false
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop, stderr
}

// topicsTotal is the number of records the topics hold together.
func topicsTotal(t *testing.T, addr string, topics ...string) int64 {
	t.Helper()
	var total int64
	for _, topic := range topics {
		total += endTotal(t, addr, topic)
	}
	return total
}
