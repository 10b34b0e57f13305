package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
)

// TestBoundedRunProcessesExactlyItsRange runs a bounded stage over offsets
// [10, 20) of partitions 0 and 1 and [10, 30) of partition 2, with the
// timestamps bounded to the middle hour: it must process exactly the
// records of those offsets whose timestamp is in range (a late record and
// partition 2's later records are read but skipped), handle a failing and
// a crashing record as the normal mode does, tag every output and DLQ
// record, commit nothing, and return by itself.
func TestBoundedRunProcessesExactlyItsRange(t *testing.T) {
	h := newHarness(t, 3)
	base := time.Now().Add(-4 * time.Hour).Truncate(time.Second)
	from, to := base.Add(time.Hour), base.Add(2*time.Hour)
	pcl, err := kgo.NewClient(kgo.SeedBrokers(h.addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	type src struct {
		p   int32
		off int64
	}
	wantOut, wantDLQ := map[src]bool{}, map[src]bool{}
	for p := range int32(3) {
		var recs []*kgo.Record
		for j := range 30 {
			ts := base.Add(time.Duration(j) * 6 * time.Minute) // 30 records over 3 hours
			v := fmt.Sprintf("p%d-j%02d", p, j)
			switch {
			case p == 1 && j == 15:
				ts = base.Add(5 * time.Minute) // a late record: read, skipped
			case p == 0 && j == 12:
				v = "fail:bad reading"
			case p == 2 && j == 17:
				v = "crash-once:p2j17"
			}
			recs = append(recs, &kgo.Record{Topic: h.in, Partition: p, Key: []byte("k"), Value: []byte(v), Timestamp: ts})
			if j >= 10 && j < 20 && !(p == 1 && j == 15) {
				if p == 0 && j == 12 {
					wantDLQ[src{p, int64(j)}] = true
				} else {
					wantOut[src{p, int64(j)}] = true
				}
			}
		}
		if err := pcl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	st := h.stageConfig(func(s *config.Stage) {
		s.Node.Env = map[string]string{"TESTNODE_STATE": t.TempDir()}
		s.Batch.MaxRecords = 4
	})
	bounds := &Bounds{Start: map[int32]int64{0: 10, 1: 10, 2: 10}, Stop: map[int32]int64{0: 20, 1: 20, 2: 30},
		From: from, To: to, Tag: "replay-1"}
	s, err := New(Options{Stage: st, Pipeline: "test", Brokers: h.addrs, Logger: h.log, Bounded: bounds})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the bounded run did not return by itself")
	}

	check := func(topic string, want map[src]bool) {
		t.Helper()
		got := h.readAll(topic)
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", topic, len(got), len(want))
		}
		for _, r := range got {
			p, _ := strconv.Atoi(header(r, HeaderSourcePartition))
			off, _ := strconv.ParseInt(header(r, HeaderSourceOffset), 10, 64)
			k := src{int32(p), off}
			if !want[k] {
				t.Fatalf("%s: unexpected or repeated record from %d/%d (%s)", topic, p, off, r.Value)
			}
			delete(want, k)
			if header(r, HeaderReplay) != "replay-1" {
				t.Fatalf("%s: record %s without the replay header: %+v", topic, r.Value, r.Headers)
			}
			if r.Timestamp.Before(from) || !r.Timestamp.Before(to) {
				t.Fatalf("%s: record %s has timestamp %s, outside the range", topic, r.Value, r.Timestamp)
			}
		}
	}
	check(h.out, wantOut)
	check(h.dlq, wantDLQ)

	// The group was never joined nor committed to (kfake does not know
	// it at all; Apache Kafka answers with no offsets).
	offs, err := h.fetchOffsets(h.group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatal(err)
	}
	if len(offs) != 0 {
		t.Fatalf("a bounded run committed offsets for the group: %v", offs)
	}
	if dg, err := h.adm.DescribeGroups(context.Background(), h.group); err == nil && len(dg[h.group].Members) != 0 {
		t.Fatalf("a bounded run joined the group: %+v", dg[h.group])
	}
	pr := s.BoundedProgress()
	want := BoundedProgress{Total: 40, Done: 40, Completed: 40, Read: 40, InRange: 29, Partitions: 3, Finished: 3}
	if pr != want {
		t.Fatalf("progress %+v, want %+v", pr, want)
	}
	if st := s.Stats(); st.Consumed != 29 || st.Produced != 28 || st.DLQ != 1 || st.NodeRestarts < 1 || st.Commits != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestBoundedRunWithNothingToRead returns at once.
func TestBoundedRunWithNothingToRead(t *testing.T) {
	h := newHarness(t, 2)
	// Nothing is produced, so wait for Apache Kafka to show the topics
	// (it creates them asynchronously).
	deadline := time.Now().Add(30 * time.Second)
	for {
		tds, err := h.adm.ListTopics(context.Background(), h.in, h.out, h.alerts, h.dlq)
		if err == nil && tds.Error() == nil && len(tds) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("topics not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	st := h.stageConfig()
	s, err := New(Options{Stage: st, Pipeline: "test", Brokers: h.addrs, Logger: h.log,
		Bounded: &Bounds{Start: map[int32]int64{0: 5, 1: 0}, Stop: map[int32]int64{0: 5, 1: 0}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil || ctx.Err() != nil {
		t.Fatalf("run: %v (ctx %v)", err, ctx.Err())
	}
	if pr := s.BoundedProgress(); pr != (BoundedProgress{}) {
		t.Fatalf("progress %+v", pr)
	}
}
