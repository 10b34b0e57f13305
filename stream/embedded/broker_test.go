package embedded

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A restart on the same data directory keeps records and committed offsets:
// that is what lets `sluice up` resume where it stopped.
func TestRestartResumesFromDataDir(t *testing.T) {
	dir := t.TempDir()
	b, err := Start("127.0.0.1:0", dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "kept"); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "kept", Partition: int32(i % 2), Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "kept", Partition: 0, At: 3, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, "g", offs); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	addr := b.Addr
	b.Close()

	b2, err := Start(addr, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	cl2, _ := kgo.NewClient(kgo.SeedBrokers(b2.Addr))
	defer cl2.Close()
	adm2 := kadm.NewClient(cl2)
	ends, err := adm2.ListEndOffsets(ctx, "kept")
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != 10 {
		t.Fatalf("after restart the topic holds %d records, want 10", total)
	}
	got, err := adm2.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := got.Lookup("kept", 0); o.At != 3 {
		t.Fatalf("committed offset after restart = %d, want 3", o.At)
	}
}

func TestAddrInUse(t *testing.T) {
	b, err := Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := Start(b.Addr, ""); !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("want ErrAddrInUse, got %v", err)
	}
}
