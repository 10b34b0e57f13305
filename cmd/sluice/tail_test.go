package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
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
	ts := time.Date(2025, 1, 2, 15, 4, 5, 6e6, time.UTC)
	produceRecords(t, addr, nil,
		&kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte(`{"a":"<b>"}`), Timestamp: ts,
			Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}},
		&kgo.Record{Topic: topic, Value: []byte{0xff, 0x00}, Timestamp: ts},
		&kgo.Record{Topic: topic, Key: []byte("tombstone"), Timestamp: ts},
	)

	stdout, _ := mustSluice(t, "", "tail", topic, "--brokers", addr) // not a terminal: json
	// The topic name has only letters, digits, '.', '_' and '-': JSON
	// needs no escaping for it.
	want := `{"topic":"` + topic + `","partition":0,"offset":0,"timestamp":"2025-01-02T15:04:05.006Z","key":"k","value":"{\"a\":\"<b>\"}","headers":{"h":"v"}}
{"topic":"` + topic + `","partition":0,"offset":1,"timestamp":"2025-01-02T15:04:05.006Z","key":null,"value":"/wA=","headers":{},"encoding":"base64"}
{"topic":"` + topic + `","partition":0,"offset":2,"timestamp":"2025-01-02T15:04:05.006Z","key":"tombstone","value":null,"headers":{}}
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
	local := ts.Local().Format(tsLayout)
	want = "0/0  " + local + "  k  {\"a\":\"<b>\"}\n" +
		"    h: v\n" +
		"0/1  " + local + "  -  base64:/wA=\n" +
		"0/2  " + local + "  tombstone  -\n"
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
		done <- runIn(ctx, "", &stdout, &stderr, "tail", topic, "-f", "--from", "latest", "--format", "value", "--brokers", addr)
	}()

	// Keep producing until tail has printed something: --from latest
	// only sees records produced after it started.
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
		t.Errorf("--from latest printed an old record: %q", stdout.String())
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
		{[]string{"tail", "t", "--from", "oldest"}, `--from "oldest": want "earliest" or "latest"`},
		{[]string{"tail", "t", "--format", "yaml"}, `--format "yaml": want "pretty", "json" or "value"`},
		{[]string{"tail", "t", "-n", "-1"}, `-n must be 0 (no limit) or more, got -1`},
	} {
		_, _, err := sluice(t, "", tc.args...)
		var ue usageError
		if !errors.As(err, &ue) || err.Error() != tc.want {
			t.Errorf("%v: err = %v, want usage error %q", tc.args, err, tc.want)
		}
	}
}
