package main

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produceRecords produces records synchronously with a plain client.
func produceRecords(t *testing.T, addr string, opts []kgo.Opt, rs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
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
	makeTopic(t, addr, "empty", 3)
	done := make(chan struct{})
	var stdout, stderr string
	var err error
	go func() {
		defer close(done)
		stdout, stderr, err = sluice(t, "", "tail", "empty", "--brokers", addr)
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
	_, _, err := sluice(t, "", "tail", "nope", "-f", "--brokers", addr)
	want := `topic "nope" does not exist (create it with "sluice topics create --config FILE" or "sluice up")`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestTailFormats(t *testing.T) {
	addr := startKafka(t)
	makeTopic(t, addr, "t", 1)
	ts := time.Date(2025, 1, 2, 15, 4, 5, 6e6, time.UTC)
	produceRecords(t, addr, nil,
		&kgo.Record{Topic: "t", Key: []byte("k"), Value: []byte(`{"a":"<b>"}`), Timestamp: ts,
			Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}},
		&kgo.Record{Topic: "t", Value: []byte{0xff, 0x00}, Timestamp: ts},
		&kgo.Record{Topic: "t", Key: []byte("tombstone"), Timestamp: ts},
	)

	stdout, _ := mustSluice(t, "", "tail", "t", "--brokers", addr) // not a terminal: json
	want := `{"topic":"t","partition":0,"offset":0,"timestamp":"2025-01-02T15:04:05.006Z","key":"k","value":"{\"a\":\"<b>\"}","headers":{"h":"v"}}
{"topic":"t","partition":0,"offset":1,"timestamp":"2025-01-02T15:04:05.006Z","key":null,"value":"/wA=","headers":{},"encoding":"base64"}
{"topic":"t","partition":0,"offset":2,"timestamp":"2025-01-02T15:04:05.006Z","key":"tombstone","value":null,"headers":{}}
`
	if stdout != want {
		t.Errorf("json:\n%s\nwant:\n%s", stdout, want)
	}
	if v, _ := base64.StdEncoding.DecodeString("/wA="); string(v) != "\xff\x00" {
		t.Fatal("bad test")
	}

	stdout, _ = mustSluice(t, "", "tail", "t", "-n", "1", "--format", "value", "--brokers", addr)
	if want := `{"a":"<b>"}` + "\n"; stdout != want {
		t.Errorf("value: %q, want %q", stdout, want)
	}

	stdout, _ = mustSluice(t, "", "tail", "t", "--format", "pretty", "--brokers", addr)
	local := ts.Local().Format(tsLayout)
	want = "0/0  " + local + "  k  {\"a\":\"<b>\"}\n" +
		"    h: v\n" +
		"0/1  " + local + "  -  base64:/wA=\n" +
		"0/2  " + local + "  tombstone  -\n"
	if stdout != want {
		t.Errorf("pretty:\n%s\nwant:\n%s", stdout, want)
	}

	// --from latest without -f: nothing to wait for.
	stdout, _ = mustSluice(t, "", "tail", "t", "--from", "latest", "--brokers", addr)
	if stdout != "" {
		t.Errorf("--from latest printed %q", stdout)
	}
}

func TestTailFollow(t *testing.T) {
	addr := startKafka(t)
	makeTopic(t, addr, "live", 2)
	produceRecords(t, addr, nil, &kgo.Record{Topic: "live", Value: []byte("old")})

	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runIn(ctx, "", &stdout, &stderr, "tail", "live", "-f", "--from", "latest", "--format", "value", "--brokers", addr)
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
		mustSluice(t, "new\n", "produce", "live", "--brokers", addr)
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
	makeTopic(t, addr, "t", 1)
	produceRecords(t, addr, nil, &kgo.Record{Topic: "t", Value: []byte("1")}, &kgo.Record{Topic: "t", Value: []byte("2")})
	stdout, _ := mustSluice(t, "", "tail", "t", "-n", "5", "--format", "value", "--brokers", addr)
	if stdout != "1\n2\n" {
		t.Errorf("tail -n 5 on 2 records = %q, want both, then exit", stdout)
	}
}

// Transactions end with a control record (a marker, never printed): tail
// must still see it has reached the end, and must hide aborted records.
func TestTailTransactions(t *testing.T) {
	addr := startKafka(t)
	makeTopic(t, addr, "tx", 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID("test-tx"))
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
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "tx", Value: []byte(tc.value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, tc.commit); err != nil {
			t.Fatal(err)
		}
	}

	done := make(chan struct{})
	var stdout string
	go func() {
		defer close(done)
		stdout, _ = mustSluice(t, "", "tail", "tx", "--format", "value", "--brokers", addr)
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
