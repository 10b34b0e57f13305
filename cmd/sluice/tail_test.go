package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testbroker"
)

// produceRecords produces records synchronously with a plain client.
func produceRecords(t *testing.T, addr string, opts []kgo.Opt, rs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(addr, ",")...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(testCtx(t), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func TestTailEmptyTopicExits(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "empty")
	makeTopic(t, addr, topic, 3)
	done := make(chan struct{})
	var stdout, stderr string
	var err error
	go func() {
		defer close(done)
		stdout, stderr, err = sluice(t, "", "tail", topic, "--brokers", addr)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("tail of an empty topic did not exit")
	}
	if err != nil || stdout != "" || stderr != "" {
		t.Errorf("tail = %q, %q, %v; want no output and no error", stdout, stderr, err)
	}
}

func TestTailMissingTopic(t *testing.T) {
	addr := startKafka(t)
	nope := testbroker.Name(t, "nope")
	_, _, err := sluice(t, "", "tail", nope, "-f", "--brokers", addr)
	want := `topic "` + nope + `" does not exist (create it with "sluice topics create --config FILE" or "sluice up")`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestTailFormats(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "t")
	makeTopic(t, addr, topic, 1)
	// Recent: Apache Kafka's retention (7 days, checked every 5 minutes)
	// deletes records with old timestamps while the test runs.
	ts := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	stamp := ts.UTC().Format(tsLayout)
	produceRecords(t, addr, nil,
		&kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte(`{"a":"<b>"}`), Timestamp: ts,
			Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}},
		&kgo.Record{Topic: topic, Value: []byte{0xff, 0x00}, Timestamp: ts},
		&kgo.Record{Topic: topic, Key: []byte("tombstone"), Timestamp: ts},
	)

	stdout, _ := mustSluice(t, "", "tail", topic, "--brokers", addr) // not a terminal: json
	// The topic name has only letters, digits, '.', '_' and '-': JSON
	// needs no escaping for it.
	want := `{"topic":"` + topic + `","partition":0,"offset":0,"timestamp":"` + stamp + `","key":"k","value":"{\"a\":\"<b>\"}","headers":{"h":"v"}}
{"topic":"` + topic + `","partition":0,"offset":1,"timestamp":"` + stamp + `","key":null,"value":"/wA=","headers":{},"encoding":"base64"}
{"topic":"` + topic + `","partition":0,"offset":2,"timestamp":"` + stamp + `","key":"tombstone","value":null,"headers":{}}
`
	if stdout != want {
		t.Errorf("json:\n%s\nwant:\n%s", stdout, want)
	}
	if v, _ := base64.StdEncoding.DecodeString("/wA="); string(v) != "\xff\x00" {
		t.Fatal("bad test")
	}

	stdout, _ = mustSluice(t, "", "tail", topic, "-n", "1", "--format", "value", "--brokers", addr)
	if want := `{"a":"<b>"}` + "\n"; stdout != want {
		t.Errorf("value: %q, want %q", stdout, want)
	}

	stdout, _ = mustSluice(t, "", "tail", topic, "--format", "pretty", "--brokers", addr)
	// Tests are not terminals: no colours.
	local := ts.Local().Format(tsLayout)
	want = local + "  0/0  k  {\"a\":\"<b>\"}\n" +
		"    h: v\n" +
		local + "  0/1  -  base64:/wA=\n" +
		local + "  0/2  tombstone  -\n"
	if stdout != want {
		t.Errorf("pretty:\n%s\nwant:\n%s", stdout, want)
	}

	// --from latest without -f: nothing to wait for.
	stdout, _ = mustSluice(t, "", "tail", topic, "--from", "latest", "--brokers", addr)
	if stdout != "" {
		t.Errorf("--from latest printed %q", stdout)
	}
}

func TestTailFollow(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "live")
	makeTopic(t, addr, topic, 2)
	produceRecords(t, addr, nil, &kgo.Record{Topic: topic, Value: []byte("old")})

	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		// -f starts at the end by default (--from latest).
		done <- runIn(ctx, "", &stdout, &stderr, "tail", topic, "-f", "--format", "value", "--brokers", addr)
	}()

	// Keep producing until tail has printed something: -f only sees
	// records produced after it started.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "new\n") {
		if time.Now().After(deadline) {
			t.Fatalf("tail -f printed %q, want new records", stdout.String())
		}
		select {
		case err := <-done:
			t.Fatalf("tail -f exited early: %v", err)
		default:
		}
		mustSluice(t, "new\n", "produce", topic, "--brokers", addr)
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("tail -f after Ctrl-C: %v, want a clean exit", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tail -f did not stop when its context was cancelled")
	}
	if strings.Contains(stdout.String(), "old") {
		t.Errorf("-f printed an old record: %q", stdout.String())
	}
}

func TestTailStopsAtStartEnd(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "t")
	makeTopic(t, addr, topic, 1)
	produceRecords(t, addr, nil, &kgo.Record{Topic: topic, Value: []byte("1")}, &kgo.Record{Topic: topic, Value: []byte("2")})
	stdout, _ := mustSluice(t, "", "tail", topic, "-n", "5", "--format", "value", "--brokers", addr)
	if stdout != "1\n2\n" {
		t.Errorf("tail -n 5 on 2 records = %q, want both, then exit", stdout)
	}
}

// Transactions end with a control record (a marker, never printed): tail
// must still see it has reached the end, and must hide aborted records.
func TestTailTransactions(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "tx")
	makeTopic(t, addr, topic, 1)
	// The transactional ID is unique too: on a shared broker a fixed one
	// would fence (or wait on) another run's producer.
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...), kgo.TransactionalID(testbroker.Name(t, "tx-id")))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := testCtx(t)
	for _, tc := range []struct {
		value  string
		commit kgo.TransactionEndTry
	}{{"committed", kgo.TryCommit}, {"aborted", kgo.TryAbort}} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(tc.value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, tc.commit); err != nil {
			t.Fatal(err)
		}
	}
	// EndTransaction returns once the coordinator has decided; the
	// markers are written to the partition after that (at once on kfake,
	// asynchronously on Apache Kafka). Until the abort marker is written
	// the last stable offset stops before the aborted record, and a tail
	// started then would rightly stop there too, before "aborted": the
	// test would pass without showing that aborted records are hidden.
	// Wait for the committed end (LSO) to reach the high watermark.
	waitStable(t, addr, topic)

	done := make(chan struct{})
	var stdout string
	go func() {
		defer close(done)
		stdout, _ = mustSluice(t, "", "tail", topic, "--format", "value", "--brokers", addr)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("tail of a transactional topic did not exit")
	}
	if stdout != "committed\n" {
		t.Errorf("tail = %q, want only the committed record", stdout)
	}

	// --read-uncommitted shows the aborted record too, never the markers.
	stdout, _ = mustSluice(t, "", "tail", topic, "--read-uncommitted", "--format", "value", "--brokers", addr)
	if stdout != "committed\naborted\n" {
		t.Errorf("tail --read-uncommitted = %q, want both records", stdout)
	}
}

// waitStable waits until no transaction is open on any partition of
// topic: its last stable offsets equal its high watermarks.
func waitStable(t *testing.T, addr, topic string) {
	t.Helper()
	adm := admin(t, addr)
	ctx := testCtx(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		stable, err := adm.ListCommittedOffsets(ctx, topic)
		if err == nil {
			err = stable.Error()
		}
		var ends kadm.ListedOffsets
		if err == nil {
			ends, err = adm.ListEndOffsets(ctx, topic)
		}
		if err == nil {
			err = ends.Error()
		}
		if err == nil {
			lag := false
			ends.Each(func(end kadm.ListedOffset) {
				lso, ok := stable.Lookup(topic, end.Partition)
				lag = lag || !ok || lso.Offset < end.Offset
			})
			if !lag {
				return
			}
			err = fmt.Errorf("last stable offsets %v behind high watermarks %v", offsetsOf(stable), offsetsOf(ends))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", topic, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func offsetsOf(los kadm.ListedOffsets) map[int32]int64 {
	m := map[int32]int64{}
	los.Each(func(o kadm.ListedOffset) { m[o.Partition] = o.Offset })
	return m
}

func TestTailUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tail"}, `sluice tail needs a TOPIC argument, e.g. "sluice tail events.parsed" (see 'sluice tail --help')`},
		{[]string{"tail", "t", "--from", "oldest"}, `--from "oldest": want earliest, latest, an offset (42), -N for the last N of each partition (-10), @TIME (@2024-05-01T12:00:00Z, @-1h) or @T1:T2`},
		{[]string{"tail", "t", "--from", "@yesterday"}, `--from: "@yesterday" is not a time or a range: use @T or @T1:T2, where T is RFC 3339 (2024-05-01T12:00:00Z), a date, Unix milliseconds, or a duration ago (-1h)`},
		{[]string{"tail", "t", "--from", "@-1h:-2h"}, `--from: time range "@-1h:-2h" ends before it starts`},
		{[]string{"tail", "t", "--format", "yaml"}, `--format "yaml": want "pretty", "json", "value" or a template such as '%p/%o %k %v' (see 'sluice tail --help')`},
		{[]string{"tail", "t", "--format", "%v %x"}, `--format "%v %x": unknown directive %x: directives are %t topic, %p partition, %o offset, %k key, %v value, %h headers (k=v,k=v), %T timestamp, %% a percent sign`},
		{[]string{"tail", "t", "--format", "%v%"}, `--format "%v%" ends with a lone %: directives are %t topic, %p partition, %o offset, %k key, %v value, %h headers (k=v,k=v), %T timestamp, %% a percent sign`},
		{[]string{"tail", "t", "--where", "prediction"}, `--where "prediction": want FIELD=VALUE or FIELD!=VALUE, where FIELD is a field of the JSON value or a dotted path (e.g. prediction=critical, source.topic=events.raw)`},
		{[]string{"tail", "t", "--where", "a..b=1"}, `--where "a..b=1": want FIELD=VALUE or FIELD!=VALUE, where FIELD is a field of the JSON value or a dotted path (e.g. prediction=critical, source.topic=events.raw)`},
		{[]string{"tail", "t", "--header", "=v"}, `--header "=v": want KEY=VALUE, or KEY for a header that is present (e.g. sluice.stage=classify)`},
		{[]string{"tail", "t", ""}, `sluice tail: the topic name is empty`},
		{[]string{"tail", "t", "-n", "-1"}, `-n must be 0 (no limit) or more, got -1`},
	} {
		_, _, err := sluice(t, "", tc.args...)
		var ue usageError
		if !errors.As(err, &ue) || err.Error() != tc.want {
			t.Errorf("%v: err = %v, want usage error %q", tc.args, err, tc.want)
		}
	}
}

// tailLines runs tail with args and returns its output lines, sorted:
// records of different partitions come in no particular order.
func tailLines(t *testing.T, args ...string) []string {
	t.Helper()
	stdout, _ := mustSluice(t, "", append([]string{"tail"}, args...)...)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if stdout == "" {
		lines = nil
	}
	slices.Sort(lines)
	return lines
}

// tailManual produces records to the partitions they name.
var tailManual = []kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner())}

// Records with timestamps across three hours on three partitions, one of
// them out of order: --from @T1:T2 prints exactly those in [T1, T2).
func TestTailTimeRange(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "range")
	makeTopic(t, addr, topic, 3)
	// In the past (a broker refuses timestamps too far in the future),
	// and recent (retention deletes old ones).
	base := time.Now().Add(-4 * time.Hour).Truncate(time.Millisecond)
	var recs []*kgo.Record
	for i := range 19 { // every 10 minutes: 0, 10, ... 180
		recs = append(recs, &kgo.Record{
			Topic: topic, Partition: int32(i % 3),
			Key:       []byte(fmt.Sprint("k", i)),
			Value:     []byte(fmt.Sprintf("r%02d", i)),
			Timestamp: base.Add(time.Duration(i) * 10 * time.Minute),
		})
		if i == 9 {
			// Out of order, between the range's offsets on partition 0
			// but with a timestamp before it.
			recs = append(recs, &kgo.Record{Topic: topic, Partition: 0, Value: []byte("early"), Timestamp: base})
		}
	}
	produceRecords(t, addr, tailManual, recs...)

	t1, t2 := base.Add(time.Hour), base.Add(2*time.Hour) // r06..r11
	rng := "@" + t1.UTC().Format(time.RFC3339Nano) + ":" + t2.Format(time.RFC3339Nano)
	want := []string{"0 r06", "0 r09", "1 r07", "1 r10", "2 r08", "2 r11"}
	got := tailLines(t, topic, "--from", rng, "--format", "%p %v", "--brokers", addr)
	if !slices.Equal(got, want) {
		t.Errorf("--from %s:\n%q\nwant\n%q", rng, got, want)
	}

	// With -f the range ends tail by itself: every partition has a record
	// at or after T2.
	done := make(chan []string, 1)
	go func() { done <- tailLines(t, topic, "-f", "--from", rng, "--format", "%p %v", "--brokers", addr) }()
	select {
	case got := <-done:
		if !slices.Equal(got, want) {
			t.Errorf("-f --from %s:\n%q\nwant\n%q", rng, got, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("tail -f with a past time range did not exit")
	}

	// @T alone starts at T's offsets and does not filter: the
	// out-of-order record after them is printed.
	got = tailLines(t, topic, "--from", "@"+base.Add(150*time.Minute).Format(time.RFC3339Nano), "--format", "%v", "--brokers", addr)
	if want := []string{"r15", "r16", "r17", "r18"}; !slices.Equal(got, want) {
		t.Errorf("--from @T near the end: %q, want %q", got, want)
	}
	got = tailLines(t, topic, "--from", "@"+t2.Add(5*time.Minute).Format(time.RFC3339Nano), "--partition", "0", "--format", "%v", "--brokers", addr)
	if want := []string{"r15", "r18"}; !slices.Equal(got, want) {
		t.Errorf("--from @T --partition 0: %q, want %q", got, want)
	}
	got = tailLines(t, topic, "--from", "@"+t1.Add(-time.Millisecond).Format(time.RFC3339Nano), "--partition", "0", "--format", "%v", "--brokers", addr)
	if want := []string{"early", "r06", "r09", "r12", "r15", "r18"}; !slices.Equal(got, want) {
		t.Errorf("--from @T (unfiltered) --partition 0: %q, want %q", got, want)
	}
	// A range after every record prints nothing and exits.
	later := "@" + base.Add(200*time.Minute).Format(time.RFC3339Nano) + ":" + base.Add(210*time.Minute).Format(time.RFC3339Nano)
	if got := tailLines(t, topic, "--from", later, "--brokers", addr); got != nil {
		t.Errorf("--from %s printed %q", later, got)
	}
}

func TestTailFromOffsets(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "offsets")
	makeTopic(t, addr, topic, 3)
	var recs []*kgo.Record
	for p := range 3 {
		for o := range 8 {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte(fmt.Sprintf("p%d-%d", p, o))})
		}
	}
	produceRecords(t, addr, tailManual, recs...)
	tail := func(args ...string) []string {
		return tailLines(t, append([]string{topic, "--format", "%p/%o %v", "--brokers", addr}, args...)...)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--from", "-2"}, []string{"0/6 p0-6", "0/7 p0-7", "1/6 p1-6", "1/7 p1-7", "2/6 p2-6", "2/7 p2-7"}},
		{[]string{"--from=-1", "--partition", "2"}, []string{"2/7 p2-7"}},
		{[]string{"--from", "5"}, []string{"0/5 p0-5", "0/6 p0-6", "0/7 p0-7", "1/5 p1-5", "1/6 p1-6", "1/7 p1-7", "2/5 p2-5", "2/6 p2-6", "2/7 p2-7"}},
		{[]string{"--from", "6", "--partition", "1", "-n", "1"}, []string{"1/6 p1-6"}},
		{[]string{"--from", "8"}, nil},
		{[]string{"--from", "100"}, nil},
		{[]string{"--from", "latest"}, nil},
	} {
		if got := tail(tc.args...); !slices.Equal(got, tc.want) {
			t.Errorf("%v:\n%q\nwant\n%q", tc.args, got, tc.want)
		}
	}
	if got := tail("--from", "-100"); len(got) != 24 {
		t.Errorf("--from -100 printed %d records, want all 24: %q", len(got), got)
	}
}

func TestTailFilters(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "filters")
	makeTopic(t, addr, topic, 2)
	h := func(kv ...string) []kgo.RecordHeader {
		var hs []kgo.RecordHeader
		for i := 0; i < len(kv); i += 2 {
			hs = append(hs, kgo.RecordHeader{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return hs
	}
	produceRecords(t, addr, tailManual,
		&kgo.Record{Topic: topic, Partition: 0, Key: []byte("s-1"), Headers: h("sluice.stage", "classify"),
			Value: []byte(`{"id":"n1","prediction":"critical","score":1,"source":{"topic":"x"},"ok":true}`)},
		&kgo.Record{Topic: topic, Partition: 1, Key: []byte("s-2"), Headers: h("sluice.stage", "classify", "flag", ""),
			Value: []byte(`{"id":"n2","prediction":"normal","score":0.25,"source":{"topic":"y"},"tags":["a","b"]}`)},
		&kgo.Record{Topic: topic, Partition: 0, Key: []byte("s-1"),
			Value: []byte(`{"id":"n3","prediction":"critical","score":1.0,"source":{"topic":"y"},"ok":null}`)},
		&kgo.Record{Topic: topic, Partition: 1, Key: []byte("s-3"), Headers: h("sluice.stage", "ingest"),
			Value: []byte(`n4 is not JSON`)},
	)
	// ids runs tail with args and returns the ids of the records printed:
	// the "id" field of JSON values, the first word of the others.
	ids := func(args ...string) []string {
		var got []string
		for _, line := range tailLines(t, append([]string{topic, "--format", "%v", "--brokers", addr}, args...)...) {
			var v struct{ ID string }
			if json.Unmarshal([]byte(line), &v) != nil {
				v.ID, _, _ = strings.Cut(line, " ")
			}
			got = append(got, v.ID)
		}
		slices.Sort(got)
		return got
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--where", "prediction=critical"}, []string{"n1", "n3"}},
		{[]string{"--where", "score=1"}, []string{"n1", "n3"}}, // 1.0 is 1
		{[]string{"--where", "score=0.25"}, []string{"n2"}},
		{[]string{"--where", "source.topic=x"}, []string{"n1"}},
		{[]string{"--where", "tags.1=b"}, []string{"n2"}},
		{[]string{"--where", `tags=["a","b"]`}, []string{"n2"}},
		{[]string{"--where", "ok=true"}, []string{"n1"}},
		{[]string{"--where", "ok=null"}, []string{"n3"}},
		{[]string{"--where", "prediction!=critical"}, []string{"n2", "n4"}}, // absent counts as different
		{[]string{"--where", "prediction=critical", "--where", "source.topic=y"}, []string{"n3"}},
		{[]string{"--where", "missing=x"}, nil},
		{[]string{"--key", "s-1"}, []string{"n1", "n3"}},
		{[]string{"--key", "s-"}, nil},
		{[]string{"--header", "sluice.stage=classify"}, []string{"n1", "n2"}},
		{[]string{"--header", "sluice.stage"}, []string{"n1", "n2", "n4"}},
		{[]string{"--header", "flag"}, []string{"n2"}},
		{[]string{"--header", "flag="}, []string{"n2"}},
		{[]string{"--header", "sluice.stage=classify", "--where", "prediction=critical"}, []string{"n1"}},
		{[]string{"--header", "sluice.stage=classify", "--header", "flag"}, []string{"n2"}},
		{[]string{"--key", "s-1", "--where", "score!=1"}, nil},
		// -n counts the records printed, after the filters.
		{[]string{"--where", "prediction=critical", "-n", "2"}, []string{"n1", "n3"}},
	} {
		if got := ids(tc.args...); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.args, got, tc.want)
		}
	}
	if got := ids("--where", "prediction=critical", "-n", "1"); len(got) != 1 || (got[0] != "n1" && got[0] != "n3") {
		t.Errorf("-n 1 --where prediction=critical: %q, want n1 or n3", got)
	}
}

func TestTailTemplate(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "tmpl")
	makeTopic(t, addr, topic, 1)
	ts := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	produceRecords(t, addr, nil,
		&kgo.Record{Topic: topic, Key: []byte("k1"), Value: []byte(`{"a":1}`), Timestamp: ts,
			Headers: []kgo.RecordHeader{{Key: "h1", Value: []byte("v1")}, {Key: "h2", Value: []byte("v2")}}},
		&kgo.Record{Topic: topic, Value: []byte("plain"), Timestamp: ts.Add(1500 * time.Millisecond)},
	)
	stamp := func(d time.Duration) string { return ts.Add(d).UTC().Format("2006-01-02T15:04:05.000Z") }

	stdout, _ := mustSluice(t, "", "tail", topic, "--format", `%t|%p|%o|%k|%v|%h|%T\t100%%\n`, "--brokers", addr)
	want := topic + "|0|0|k1|{\"a\":1}|h1=v1,h2=v2|" + stamp(0) + "\t100%\n" +
		topic + "|0|1||plain||" + stamp(1500*time.Millisecond) + "\t100%\n"
	if stdout != want {
		t.Errorf("template:\n%q\nwant\n%q", stdout, want)
	}
	// Without a final \n each record still ends with one; \n inside
	// breaks lines; a backslash before anything else is kept.
	stdout, _ = mustSluice(t, "", "tail", topic, "--format", `%o:\n  %v \d`, "--brokers", addr)
	if want := "0:\n  {\"a\":1} \\d\n1:\n  plain \\d\n"; stdout != want {
		t.Errorf("template:\n%q\nwant\n%q", stdout, want)
	}
}

// The pretty format on a pipe has no colours; with --config, JSON values
// are re-printed compactly (the codec is JSON for every topic today).
func TestTailPretty(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "pretty")
	makeTopic(t, addr, topic, 1)
	ts := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	produceRecords(t, addr, nil,
		&kgo.Record{Topic: topic, Key: []byte("alpha"), Timestamp: ts,
			Value:   []byte("{ \"sensor_id\" : \"alpha\",\n \"value\": 24.50, \"tags\": [1, {}, []], \"html\": \"<b>\" }"),
			Headers: []kgo.RecordHeader{{Key: "sluice.stage", Value: []byte("classify")}}},
		&kgo.Record{Topic: topic, Value: []byte("not json"), Timestamp: ts},
	)
	local := ts.Local().Format(tsLayout)

	stdout, _ := mustSluice(t, "", "tail", topic, "--format", "pretty", "--brokers", addr)
	want := local + "  0/0  alpha  { \"sensor_id\" : \"alpha\",\n \"value\": 24.50, \"tags\": [1, {}, []], \"html\": \"<b>\" }\n" +
		"    sluice.stage: classify\n" +
		local + "  0/1  -  not json\n"
	if stdout != want {
		t.Errorf("pretty:\n%s\nwant:\n%s", stdout, want)
	}

	cfg, _ := writeSensors(t) // its brokers are not used: --brokers wins
	stdout, _ = mustSluice(t, "", "tail", topic, "--format", "pretty", "--config", cfg, "--brokers", addr)
	want = local + "  0/0  alpha  {\"sensor_id\": \"alpha\", \"value\": 24.50, \"tags\": [1, {}, []], \"html\": \"<b>\"}\n" +
		"    sluice.stage: classify\n" +
		local + "  0/1  -  not json\n"
	if stdout != want {
		t.Errorf("pretty --config:\n%s\nwant:\n%s", stdout, want)
	}
	if strings.Contains(stdout, "\x1b") {
		t.Errorf("colours on a pipe: %q", stdout)
	}
}

func TestTailMultipleTopics(t *testing.T) {
	addr := startKafka(t)
	a, b := testbroker.Name(t, "a"), testbroker.Name(t, "b")
	makeTopic(t, addr, a, 2)
	makeTopic(t, addr, b, 1)
	ts := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	produceRecords(t, addr, tailManual,
		&kgo.Record{Topic: a, Partition: 0, Value: []byte("a0"), Timestamp: ts},
		&kgo.Record{Topic: a, Partition: 1, Value: []byte("a1"), Timestamp: ts},
		&kgo.Record{Topic: b, Partition: 0, Value: []byte("b0"), Timestamp: ts},
		&kgo.Record{Topic: b, Partition: 0, Value: []byte("b1"), Timestamp: ts},
	)
	got := tailLines(t, a, b, a, "--format", "%t %p/%o %v", "--brokers", addr) // a twice: read once
	want := []string{a + " 0/0 a0", a + " 1/0 a1", b + " 0/0 b0", b + " 0/1 b1"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("two topics:\n%q\nwant\n%q", got, want)
	}
	got = tailLines(t, a, b, "--from", "-1", "--partition", "0", "--format", "%t %v", "--brokers", addr)
	if want := []string{a + " a0", b + " b1"}; !slices.Equal(got, want) {
		t.Errorf("two topics --from -1 --partition 0: %q, want %q", got, want)
	}
	// pretty names the topic of each record when there are several.
	local := ts.Local().Format(tsLayout)
	got = tailLines(t, a, b, "--format", "pretty", "--where", "x!=y", "--brokers", addr)
	want = []string{local + "  " + a + "/0/0  -  a0", local + "  " + a + "/1/0  -  a1", local + "  " + b + "/0/0  -  b0", local + "  " + b + "/0/1  -  b1"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("pretty, two topics:\n%q\nwant\n%q", got, want)
	}
	// One missing topic is an error, before anything is printed.
	nope := testbroker.Name(t, "nope")
	stdout, _, err := sluice(t, "", "tail", a, nope, "--brokers", addr)
	if err == nil || !strings.Contains(err.Error(), `topic "`+nope+`" does not exist`) || stdout != "" {
		t.Errorf("tail with a missing topic: %q, %v", stdout, err)
	}
	// --partition must exist in every topic.
	_, _, err = sluice(t, "", "tail", a, b, "--partition", "1", "--brokers", addr)
	if want := fmt.Sprintf("topic %q has 1 partition (0-0); there is no partition 1", b); err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
