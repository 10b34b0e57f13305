package main

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testbroker"
)

// The harness's verdict is only as good as its counting: a duplicate must
// count as duplicated, a missing key as lost, records of an aborted
// transaction as nothing, and reading must end even when a partition ends
// with an abort marker.
func TestCountLostDuplicatedAndAborted(t *testing.T) {
	b := testbroker.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, dlq := testbroker.Name(t, "out"), testbroker.Name(t, "dlq")
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, topic := range []string{out, dlq} {
		if _, err := adm.CreateTopic(ctx, 2, -1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}

	// Of 10 inputs: 0-6 in the output, 3 twice; 7 in the DLQ; 8 and 9 lost.
	var recs []*kgo.Record
	for _, seq := range []int{0, 1, 2, 3, 3, 4, 5, 6} {
		recs = append(recs, &kgo.Record{Topic: out, Partition: int32(seq % 2), Key: seqKey(seq)})
	}
	recs = append(recs, &kgo.Record{Topic: dlq, Partition: 1, Key: seqKey(7)}, &kgo.Record{Topic: out, Key: []byte("not-a-number")})
	prod, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// 8 and 9 written in a transaction that aborts: read_committed never
	// sees them, and partition 1 of out ends with the abort marker.
	txn, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.TransactionalID(testbroker.Name(t, "txn")))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(ctx, &kgo.Record{Topic: out, Partition: 1, Key: seqKey(8)},
		&kgo.Record{Topic: out, Partition: 1, Key: seqKey(9)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := txn.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}

	tl, err := count(ctx, adm, b.Addrs, 10, out, dlq, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c := tl.counts(10)
	want := counts{in: 10, out: 8, dlq: 1, unique: 8, lost: 2, dup: 1}
	if c != want {
		t.Fatalf("counts = %+v, want %+v", c, want)
	}
	if tl.foreign != 1 {
		t.Errorf("foreign = %d, want 1 (the key not-a-number)", tl.foreign)
	}
	if some, n := tl.missing(10); n != 2 || some[0] != 8 || some[1] != 9 {
		t.Errorf("missing = %v (%d), want [8 9]", some, n)
	}
	if o, d := tl.seen(7); o != 0 || d != 1 {
		t.Errorf("sequence 7 seen %d in output and %d in DLQ, want 0 and 1", o, d)
	}
}

func TestPlantAtIsStableAndDistinct(t *testing.T) {
	for _, n := range []int{100, 20_000, 1_000_000} {
		m := plantAt("crash", "fail:x", "crash", "fail:x")(n)
		if len(m) != 4 {
			t.Fatalf("n=%d: %d planted, want 4: %v", n, len(m), m)
		}
		for seq := range m {
			if seq < n/10 || seq >= n {
				t.Errorf("n=%d: planted at %d, outside the run's middle", n, seq)
			}
		}
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1_000_000: "1,000,000", -12345: "-12,345"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}
