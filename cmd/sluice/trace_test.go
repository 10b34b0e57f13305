package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/testbroker"
	"github.com/sluicehq/sluice/stream"
	"github.com/sluicehq/sluice/stream/codec"
)

// traceHop is one row of the lineage table trace prints.
type traceHop struct {
	stage, record, value string
}

var traceRow = regexp.MustCompile(`^  (\S+(?: \(dlq\))?)\s+(\S+/\d+/\d+)\s+(\S+)\s+(.*)$`)

// traceChain parses the lineage table out of trace's output.
func traceChain(t *testing.T, out string) []traceHop {
	t.Helper()
	_, table, ok := strings.Cut(out, "lineage, from this record back to its raw input:\n")
	if !ok {
		t.Fatalf("no lineage table in:\n%s", out)
	}
	var hops []traceHop
	for _, line := range strings.Split(table, "\n")[1:] {
		m := traceRow.FindStringSubmatch(line)
		if m == nil {
			break
		}
		hops = append(hops, traceHop{m[1], m[2], m[4]})
	}
	return hops
}

// parseID splits "topic/partition/offset".
func parseID(t *testing.T, s string) (string, int32, int64) {
	t.Helper()
	i := strings.LastIndex(s, "/")
	j := strings.LastIndex(s[:i], "/")
	p, err1 := strconv.Atoi(s[j+1 : i])
	o, err2 := strconv.ParseInt(s[i+1:], 10, 64)
	if j < 0 || err1 != nil || err2 != nil {
		t.Fatalf("%q is not topic/partition/offset", s)
	}
	return s[:j], int32(p), o
}

// twoFilters is a two-stage pipeline of the Go filter node: raw -> first
// -> mid -> second -> out, each stage with its own DLQ. Filtering an
// already clean event again keeps it, so every valid line makes two hops.
type twoFilters struct{ file, raw, mid, out, dlq1, dlq2, pipeline string }

func startTwoFilters(t *testing.T, addr string) (tf twoFilters, stop func()) {
	t.Helper()
	tf = twoFilters{raw: testbroker.Name(t, "raw"), mid: testbroker.Name(t, "mid"), out: testbroker.Name(t, "out"),
		dlq1: testbroker.Name(t, "first.dlq"), dlq2: testbroker.Name(t, "second.dlq"), pipeline: testbroker.Name(t, "trace")}
	bin := buildFilter(t)
	tf.file = writeFile(t, "trace.yaml", fmt.Sprintf(`pipeline: %[7]s
topics:
  %[1]s: {partitions: 2}
  %[2]s: {partitions: 2}
  %[3]s: {partitions: 2}
  %[4]s: {partitions: 1}
  %[5]s: {partitions: 1}
stages:
  first:
    input: %[1]s
    outputs: {default: %[2]s}
    dlq: %[4]s
    node: {command: %[6]s}
  second:
    input: %[2]s
    outputs: {default: %[3]s}
    dlq: %[5]s
    node: {command: %[6]s}
`, tf.raw, tf.mid, tf.out, tf.dlq1, tf.dlq2, bin, tf.pipeline))
	p, err := config.Load(tf.file)
	if err != nil {
		t.Fatal(err)
	}
	brokers := strings.Split(addr, ",")
	ctx, cancel := context.WithCancel(context.Background())
	if err := createPipelineTopics(ctx, brokers, p, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	waitTopics(t, addr, tf.raw, tf.mid, tf.out, tf.dlq1, tf.dlq2)
	done := make(chan error, 1)
	go func() { done <- runStages(ctx, p, p.Stages, brokers, zap.NewNop()) }()
	stopped := false
	return tf, func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("pipeline: %v", err)
			}
		}
	}
}

// TestTraceTwoHops traces an output back through both stages to its raw
// line, a dead letter back to its raw line, and a raw line forward to its
// output and to a dead letter; then the errors: no such offset, topic or
// partition, a source deleted by retention, a record not processed yet.
func TestTraceTwoHops(t *testing.T) {
	addr := startKafka(t)
	tf, stop := startTwoFilters(t, addr)
	defer stop()
	lines, invalid := sensorEvents(30)
	mustSluice(t, strings.Join(lines, "\n")+"\n", "produce", tf.raw, "--brokers", addr, "--key-field", "sensor_id")
	deadline := time.Now().Add(60 * time.Second)
	for endTotal(t, addr, tf.out)+endTotal(t, addr, tf.dlq1)+endTotal(t, addr, tf.dlq2) < int64(len(lines)) {
		if time.Now().After(deadline) {
			t.Fatalf("the pipeline did not settle: out %d, dlq %d + %d", endTotal(t, addr, tf.out), endTotal(t, addr, tf.dlq1), endTotal(t, addr, tf.dlq2))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := endTotal(t, addr, tf.dlq1); n != int64(invalid) {
		t.Fatalf("%d dead letters, %d invalid lines", n, invalid)
	}
	isLine := func(v string) bool {
		for _, l := range lines {
			if v == lineExcerpt([]byte(l), 80) {
				return true
			}
		}
		return false
	}

	// An output, back to its raw line.
	out := readTopic(t, addr, tf.out)[0]
	id := fmt.Sprintf("%s/%d/%d", tf.out, out.Partition, out.Offset)
	stdout, _ := mustSluice(t, "", "trace", tf.out, strconv.Itoa(int(out.Partition)), strconv.FormatInt(out.Offset, 10), "--brokers", addr)
	if !strings.HasPrefix(stdout, id+"\n  time     ") || !strings.Contains(stdout, "\n  value    "+string(out.Value)+"\n") {
		t.Errorf("trace does not start with the record in full:\n%s", stdout)
	}
	hops := traceChain(t, stdout)
	if len(hops) != 3 || hops[0].stage != "second" || hops[0].record != id || hops[1].stage != "first" ||
		!strings.HasPrefix(hops[1].record, tf.mid+"/") || hops[2].stage != "-" || !strings.HasPrefix(hops[2].record, tf.raw+"/") || !isLine(hops[2].value) {
		t.Fatalf("chain %+v\n%s", hops, stdout)
	}
	raw := hops[2].record
	if want := raw + " has no lineage headers: it is the raw input, 2 hops back.\n"; !strings.HasSuffix(stdout, want) {
		t.Errorf("trace does not end with %q:\n%s", want, stdout)
	}
	// The TOPIC/PARTITION/OFFSET form says the same.
	if again, _ := mustSluice(t, "", "trace", id, "--brokers", addr); again != stdout {
		t.Errorf("trace %s:\n%s\nwant:\n%s", id, again, stdout)
	}

	// A dead letter, back to its raw line.
	dead := readTopic(t, addr, tf.dlq1)[0]
	stdout, _ = mustSluice(t, "", "trace", fmt.Sprintf("%s/0/%d", tf.dlq1, dead.Offset), "--brokers", addr)
	hops = traceChain(t, stdout)
	if len(hops) != 2 || hops[0].stage != "first (dlq)" || hops[1].stage != "-" || !isLine(hops[1].value) {
		t.Fatalf("dead letter chain %+v\n%s", hops, stdout)
	}
	if !strings.Contains(stdout, "  headers  ") || !strings.Contains(stdout, "sluice.error: ") {
		t.Errorf("the dead letter's reason is not shown:\n%s", stdout)
	}
	deadRaw := hops[1].record

	// Forward: the raw line became the output; the invalid one a dead letter.
	stdout, _ = mustSluice(t, "", "trace", raw, "--forward", "-c", tf.file, "--brokers", addr)
	for _, want := range []string{"\n    first -> " + tf.mid + "/", "\n      second -> " + id + "  "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("forward from %s lacks %q:\n%s", raw, want, stdout)
		}
	}
	stdout, _ = mustSluice(t, "", "trace", deadRaw, "--forward", "-c", tf.file, "--brokers", addr)
	if want := fmt.Sprintf("\n    first -> %s/0/%d  ", tf.dlq1, dead.Offset); !strings.Contains(stdout, want) || !strings.Contains(stdout, "(dlq: ") {
		t.Errorf("forward from %s lacks %q:\n%s", deadRaw, want, stdout)
	}
	stdout, _ = mustSluice(t, "", "trace", id, "--forward", "-c", tf.file, "--brokers", addr)
	if want := "no stage of " + tf.file + " reads " + tf.out + ": nothing downstream"; !strings.Contains(stdout, want) {
		t.Errorf("forward from the end lacks %q:\n%s", want, stdout)
	}

	// A record the stopped pipeline has not processed yet.
	stop()
	mustSluice(t, "late\n", "produce", tf.raw, "--brokers", addr, "--partition", "0")
	ends, err := admin(t, addr).ListEndOffsets(context.Background(), tf.raw)
	if err != nil {
		t.Fatal(err)
	}
	late, _ := ends.Lookup(tf.raw, 0)
	stdout, _ = mustSluice(t, "", "trace", tf.raw, "0", strconv.FormatInt(late.Offset-1, 10), "--forward", "-c", tf.file, "--brokers", addr)
	if want := "    first: nothing in " + tf.mid + ", " + tf.dlq1 + " (0 records scanned); not processed yet: group sluice." + tf.pipeline + ".first committed " + tf.raw + "/0 up to"; !strings.Contains(stdout, want) {
		t.Errorf("forward from an unprocessed record lacks %q:\n%s", want, stdout)
	}

	// Errors.
	outP := strconv.Itoa(int(out.Partition))
	outEnds, _ := admin(t, addr).ListEndOffsets(context.Background(), tf.out)
	outEnd, _ := outEnds.Lookup(tf.out, out.Partition)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{tf.out, outP, "999999"}, fmt.Sprintf("offset 999999 is beyond the end of %s/%s, which holds offsets 0-%d", tf.out, outP, outEnd.Offset-1)},
		{[]string{tf.out, "9", "0"}, fmt.Sprintf("topic %q has 2 partitions (0-1); there is no partition 9", tf.out)},
		{[]string{tf.out + ".nope", "0", "0"}, fmt.Sprintf(`topic %q does not exist (create it with "sluice topics create --config FILE" or "sluice up")`, tf.out+".nope")},
	} {
		_, _, err := sluice(t, "", append(append([]string{"trace"}, tc.args...), "--brokers", addr)...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("trace %v: err = %v, want %q", tc.args, err, tc.want)
		}
	}

	// The raw input deleted by retention: the chain stops there, saying so.
	rawTopic, rawP, rawOff := parseID(t, raw)
	rawEnds, err := admin(t, addr).ListEndOffsets(context.Background(), rawTopic)
	if err != nil {
		t.Fatal(err)
	}
	var del kadm.Offsets
	rawEnds.Each(func(o kadm.ListedOffset) {
		del.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.Offset, LeaderEpoch: -1})
	})
	if _, err := admin(t, addr).DeleteRecords(context.Background(), del); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = sluice(t, "", "trace", id, "--brokers", addr)
	hops = traceChain(t, stdout)
	if len(hops) != 3 || hops[1].stage != "first" || hops[2].stage != "?" || hops[2].record != raw || hops[2].value != "(gone: deleted by retention)" {
		t.Errorf("chain to a deleted record %+v\n%s", hops, stdout)
	}
	rawStart, _ := rawEnds.Lookup(rawTopic, rawP)
	want := fmt.Sprintf("lineage stops after 1 hop: %s (written by stage first) points at %s: %s is gone: %s/%d now starts at offset %d (older records were deleted by retention)",
		hops[1].record, raw, raw, rawTopic, rawP, rawStart.Offset)
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	_, _, err = sluice(t, "", "trace", raw, "--brokers", addr)
	if want := fmt.Sprintf("%s is gone: %s/%d now starts at offset %d (older records were deleted by retention)", raw, rawTopic, rawP, rawStart.Offset); err == nil || err.Error() != want || rawOff >= rawStart.Offset {
		t.Errorf("trace of a deleted record: err = %v, want %q", err, want)
	}

	// The middle topic deleted: the chain stops after the output.
	if _, err := admin(t, addr).DeleteTopic(context.Background(), tf.mid); err != nil {
		t.Fatal(err)
	}
	midHop := hops[1].record
	deadline = time.Now().Add(30 * time.Second)
	for {
		tds, err := admin(t, addr).ListTopics(context.Background(), tf.mid)
		if err == nil && (tds[tf.mid].Err != nil || len(tds[tf.mid].Partitions) == 0) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still there", tf.mid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stdout, _, err = sluice(t, "", "trace", id, "--brokers", addr)
	hops = traceChain(t, stdout)
	if len(hops) != 2 || hops[0].stage != "second" || hops[1].record != midHop || hops[1].value != "(gone: its topic was deleted)" {
		t.Errorf("chain into a deleted topic %+v\n%s", hops, stdout)
	}
	want = fmt.Sprintf("lineage stops after 0 hops: %s (written by stage second) points at %s: topic %q no longer exists", id, midHop, tf.mid)
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestTraceUsage(t *testing.T) {
	var ue usageError
	for _, args := range [][]string{
		{"trace"},
		{"trace", "a", "0"},
		{"trace", "a/x/1"},
		{"trace", "a/1"},
		{"trace", "a", "0", "x"},
		{"trace", "a", "0", "1", "--forward"},
		{"trace", "a", "0", "1", "--within", "2h"},
	} {
		if _, _, err := sluice(t, "", args...); !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

// traceYAML writes a pipeline file for trace --forward that names p's
// (renamed) topics, stages and groups. Nodes are irrelevant to trace.
func traceYAML(t *testing.T, p *config.Pipeline) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pipeline: %s\ntopics:\n", p.Name)
	for _, tp := range p.Topics {
		fmt.Fprintf(&b, "  %q: {partitions: %d}\n", tp.Name, tp.Partitions)
	}
	b.WriteString("stages:\n")
	for _, st := range p.Stages {
		outs, _ := json.Marshal(st.Outputs)
		fmt.Fprintf(&b, "  %s:\n    input: %q\n    group: %q\n    dlq: %q\n    outputs: %s\n    node: {command: sh}\n", st.Name, st.Input, st.Group, st.DLQ, outs)
	}
	return writeFile(t, "sensors-trace.yaml", b.String())
}

// TestTraceSensorAlert runs the five-stage sensor pipeline, traces an alert
// back to the raw device line it came from, naming every stage on the way,
// and traces that raw line forward to the alert.
func TestTraceSensorAlert(t *testing.T) {
	t.Chdir("../..")
	needSensorPipeline(t)
	b := testbroker.Get(t)
	t.Setenv("ALERT_WEBHOOK_URL", "")
	t.Setenv("ALERT_SUPPRESS_SECONDS", "0")
	t.Setenv("ARCHIVE_DIR", t.TempDir())
	p, err := config.Load("config/examples/sensors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names := renameTopics(t, p)
	cfg := traceYAML(t, p)
	addr := strings.Join(b.Addrs, ",")

	ctx, cancel := context.WithCancel(context.Background())
	if err := createPipelineTopics(ctx, b.Addrs, p, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runStages(ctx, p, p.Stages, b.Addrs, zap.NewNop()) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pipeline: %v", err)
		}
	}()

	g := newSensorGen(genFlags{count: 60, malformed: 0.05, anomalies: 0.15, sensors: 4, seed: 7, jsonShare: 0.2, step: 10 * time.Second},
		time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var raws []string
	for range 60 {
		l := g.next()
		raws = append(raws, lineExcerpt([]byte(l.Text), 80))
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: names["events.raw"], Key: []byte(l.SensorID), Value: []byte(l.Text)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for endTotal(t, addr, names["alerts"]) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no alert within 3 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	alert := readTopic(t, addr, names["alerts"])[0]
	id := fmt.Sprintf("%s/%d/%d", alert.Topic, alert.Partition, alert.Offset)

	stdout, _ := mustSluice(t, "", "trace", id, "--brokers", addr)
	hops := traceChain(t, stdout)
	var stages []string
	for _, h := range hops {
		stages = append(stages, h.stage)
	}
	if got := strings.Join(stages, " "); got != "alert classify filter ingest -" {
		t.Fatalf("stages %q, want alert classify filter ingest -\n%s", got, stdout)
	}
	for i, topic := range []string{"alerts", "events.scored", "events.clean", "events.parsed", "events.raw"} {
		if !strings.HasPrefix(hops[i].record, names[topic]+"/") {
			t.Errorf("hop %d is %s, want a record of %s", i, hops[i].record, names[topic])
		}
	}
	raw := hops[4]
	found := false
	for _, r := range raws {
		found = found || r == raw.value
	}
	if !found {
		t.Errorf("the chain ends at %q, which is no raw line produced\n%s", raw.value, stdout)
	}
	if want := raw.record + " has no lineage headers: it is the raw input, 4 hops back.\n"; !strings.HasSuffix(stdout, want) {
		t.Errorf("trace does not end with %q:\n%s", want, stdout)
	}
	t.Logf("trace %s:\n%s", id, stdout)

	stdout, _ = mustSluice(t, "", "trace", raw.record, "--forward", "-c", cfg, "--brokers", addr)
	if want := "alert -> " + id + "  "; !strings.Contains(stdout, want) {
		t.Errorf("forward from %s lacks %q:\n%s", raw.record, want, stdout)
	}
	for _, stage := range []string{"ingest -> ", "filter -> ", "classify -> "} {
		if !strings.Contains(stdout, stage) {
			t.Errorf("forward from %s lacks %q:\n%s", raw.record, stage, stdout)
		}
	}
	t.Logf("trace --forward %s:\n%s", raw.record, stdout)
}

// TestTraceAvro: with --config trace shows an Avro topic's values as JSON
// — the record in full, every hop of the chain back, and the lines of
// --forward — and a dead letter's Avro bytes decoded with the format of
// the topic it failed in; a value that does not decode is shown as stored
// with the reason. Without --config the Avro value is shown as stored.
func TestTraceAvro(t *testing.T) {
	addr := startKafka(t)
	path, n := writeTypedPipeline(t)
	mustSluice(t, "", "topics", "create", "--config", path, "--brokers", addr)
	waitTopics(t, addr, n.avro, n.json, n.dlq)
	p, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	codecs, err := codec.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	avroCodec := codecs.For(n.avro)
	const event = `{"sensor_id":"s-1","metric":"temperature","value":21.5,"unit":"C","ts":"2024-05-01T12:00:00Z","site":"lab-2"}`
	stored, err := avroCodec.Encode([]byte(event))
	if err != nil {
		t.Fatal(err)
	}
	_, derr := avroCodec.Decode([]byte("not avro"))
	if derr == nil {
		t.Fatal(`"not avro" decodes`)
	}
	lineage := func(src *kgo.Record, dead bool) []kgo.RecordHeader {
		hs := []kgo.RecordHeader{
			{Key: stream.HeaderStage, Value: []byte(n.stage)},
			{Key: stream.HeaderSourceTopic, Value: []byte(src.Topic)},
			{Key: stream.HeaderSourcePartition, Value: []byte(strconv.Itoa(int(src.Partition)))},
			{Key: stream.HeaderSourceOffset, Value: []byte(strconv.FormatInt(src.Offset, 10))},
		}
		if dead {
			hs = append(hs, kgo.RecordHeader{Key: stream.HeaderError, Value: []byte("value: too warm")})
		}
		return hs
	}
	// An Avro input and one that is not Avro (written without a codec);
	// what the stage made of them: a JSON output of each, and a dead
	// letter keeping the first input's Avro bytes.
	good := &kgo.Record{Topic: n.avro, Key: []byte("s-1"), Value: stored}
	bad := &kgo.Record{Topic: n.avro, Key: []byte("s-2"), Value: []byte("not avro")}
	produceRecords(t, addr, nil, good)
	produceRecords(t, addr, nil, bad)
	const out = `{"sensor_id":"s-1","ok":true}`
	outGood := &kgo.Record{Topic: n.json, Key: []byte("s-1"), Value: []byte(out), Headers: lineage(good, false)}
	outBad := &kgo.Record{Topic: n.json, Key: []byte("s-2"), Value: []byte(`{"sensor_id":"s-2"}`), Headers: lineage(bad, false)}
	dead := &kgo.Record{Topic: n.dlq, Key: []byte("s-1"), Value: stored, Headers: lineage(good, true)}
	produceRecords(t, addr, nil, outGood)
	produceRecords(t, addr, nil, outBad)
	produceRecords(t, addr, nil, dead)
	id := func(r *kgo.Record) string { return fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset) }
	eventExcerpt := lineExcerpt([]byte(event), traceExcerpt)
	notDecoded := "(not decoded: " + derr.Error() + ")"

	// The Avro record in full: its JSON.
	stdout, _ := mustSluice(t, "", "trace", id(good), "-c", path, "--brokers", addr)
	if !strings.Contains(stdout, "\n  value    "+event+"\n") || strings.Contains(stdout, "not decoded") {
		t.Errorf("trace %s does not show the value as JSON:\n%s", id(good), stdout)
	}
	// Without --config: the bytes as stored (Avro is not UTF-8: base64).
	stdout, _ = mustSluice(t, "", "trace", id(good), "--brokers", addr)
	if !strings.Contains(stdout, "\n  value    base64:") {
		t.Errorf("trace %s without --config does not show the value as stored:\n%s", id(good), stdout)
	}

	// An output back to its Avro input: the chain shows the input's JSON.
	stdout, _ = mustSluice(t, "", "trace", id(outGood), "-c", path, "--brokers", addr)
	hops := traceChain(t, stdout)
	if len(hops) != 2 || hops[0].record != id(outGood) || hops[0].value != out || hops[1].stage != "-" || hops[1].record != id(good) || hops[1].value != eventExcerpt {
		t.Errorf("chain %+v, want %s then %s %q\n%s", hops, id(outGood), id(good), eventExcerpt, stdout)
	}

	// A dead letter keeps the Avro bytes: decoded with its source topic's
	// format, no error.
	stdout, _ = mustSluice(t, "", "trace", id(dead), "-c", path, "--brokers", addr)
	if !strings.Contains(stdout, "\n  value    "+event+"\n  headers  ") || strings.Contains(stdout, "not decoded") {
		t.Errorf("trace %s does not show the dead letter's value as JSON:\n%s", id(dead), stdout)
	}
	hops = traceChain(t, stdout)
	if len(hops) != 2 || hops[0].stage != n.stage+" (dlq)" || hops[0].value != eventExcerpt || hops[1].value != eventExcerpt {
		t.Errorf("dead letter chain %+v\n%s", hops, stdout)
	}

	// A value that does not decode: as stored, with the reason.
	stdout, _ = mustSluice(t, "", "trace", id(bad), "-c", path, "--brokers", addr)
	if want := "\n  value    not avro\n           ! not decoded: " + derr.Error() + "\n"; !strings.Contains(stdout, want) {
		t.Errorf("trace %s lacks %q:\n%s", id(bad), want, stdout)
	}
	if hops = traceChain(t, stdout); len(hops) != 1 || hops[0].value != "not avro  "+notDecoded {
		t.Errorf("chain %+v, want one hop %q\n%s", hops, "not avro  "+notDecoded, stdout)
	}
	stdout, _ = mustSluice(t, "", "trace", id(outBad), "-c", path, "--brokers", addr)
	if hops = traceChain(t, stdout); len(hops) != 2 || hops[1].record != id(bad) || hops[1].value != "not avro  "+notDecoded {
		t.Errorf("chain %+v, want %s %q last\n%s", hops, id(bad), "not avro  "+notDecoded, stdout)
	}

	// Forward: the input's JSON, then what it became, decoded.
	stdout, _ = mustSluice(t, "", "trace", id(good), "--forward", "-c", path, "--brokers", addr)
	for _, want := range []string{
		"\n  " + id(good) + "  " + eventExcerpt + "\n",
		"\n    " + n.stage + " -> " + id(outGood) + "  ",
		"  " + out + "\n",
		"\n    " + n.stage + " -> " + id(dead) + "  ",
		"  " + eventExcerpt + "  (dlq: value: too warm)\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("forward from %s lacks %q:\n%s", id(good), want, stdout)
		}
	}
	stdout, _ = mustSluice(t, "", "trace", id(bad), "--forward", "-c", path, "--brokers", addr)
	if want := "\n  " + id(bad) + "  not avro  " + notDecoded + "\n"; !strings.Contains(stdout, want) {
		t.Errorf("forward from %s lacks %q:\n%s", id(bad), want, stdout)
	}
	if want := "\n    " + n.stage + " -> " + id(outBad) + "  "; !strings.Contains(stdout, want) {
		t.Errorf("forward from %s lacks %q:\n%s", id(bad), want, stdout)
	}
}
