package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// This file counts what came out of a run: it reads the output and DLQ
// topics the way a downstream stage would (read_committed), by direct
// partition assignment (no group, nothing committed), and tallies each
// input sequence number seen in each topic.

// tally holds, per input sequence number, how often it was seen in the
// output and in the DLQ (saturating at 255).
type tally struct {
	out, dlq        []uint8
	outN, dlqN      int64 // records read
	foreign         int64 // records whose key is not a sequence number of this run
	unique          atomic.Int64
	firstDup        int // a duplicated sequence number, for the notes (-1: none)
	firstDupWhere   string
	mu              sync.Mutex
	positions       map[string]map[int32]int64 // next offset to read, per topic and partition
	outTopic, dlqTp string
}

func newTally(n int, outTopic, dlqTopic string) *tally {
	return &tally{out: make([]uint8, n), dlq: make([]uint8, n), firstDup: -1,
		positions: map[string]map[int32]int64{}, outTopic: outTopic, dlqTp: dlqTopic}
}

// add counts one fetched record; control records (transaction markers)
// only move the position, which is how the reader knows it reached the end.
func (t *tally) add(r *kgo.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := t.positions[r.Topic]
	if ps == nil {
		ps = map[int32]int64{}
		t.positions[r.Topic] = ps
	}
	ps[r.Partition] = r.Offset + 1
	if r.Attrs.IsControl() {
		return
	}
	seq, err := strconv.Atoi(string(r.Key))
	if err != nil || seq < 0 || seq >= len(t.out) {
		t.foreign++
		return
	}
	counts := t.out
	if r.Topic == t.dlqTp {
		counts, t.dlqN = t.dlq, t.dlqN+1
	} else {
		t.outN++
	}
	if t.out[seq] == 0 && t.dlq[seq] == 0 {
		t.unique.Add(1)
	} else if t.firstDup < 0 {
		t.firstDup = seq
		t.firstDupWhere = fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)
	}
	if counts[seq] < 255 {
		counts[seq]++
	}
}

// reached reports whether every partition's position is at its end offset.
func (t *tally) reached(ends kadm.ListedOffsets) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	ok := true
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 && t.positions[o.Topic][o.Partition] < o.Offset {
			ok = false
		}
	})
	return ok
}

// reader is a read_committed consumer of the output and DLQ topics from
// their start, by direct assignment. KeepControlRecords makes transaction
// markers visible, so a partition whose last records are an aborted
// transaction still shows its position reaching the end offset.
func reader(brokers []string, topics ...string) (*kgo.Client, error) {
	return kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
}

// follow reads into t until ctx ends: the live view of a run's progress.
func follow(ctx context.Context, brokers []string, t *tally) error {
	cl, err := reader(brokers, t.outTopic, t.dlqTp)
	if err != nil {
		return err
	}
	defer cl.Close()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(t.add)
	}
	return nil
}

// count reads the output and DLQ topics to their end offsets (taken now,
// after the instances stopped) into a fresh tally. Open transactions of
// killed instances hold read_committed readers back until the broker
// aborts them (transaction.timeout), so the deadline must exceed that.
func count(ctx context.Context, adm *kadm.Client, brokers []string, n int, outTopic, dlqTopic string, deadline time.Duration) (*tally, error) {
	ends, err := adm.ListEndOffsets(ctx, outTopic, dlqTopic)
	if err != nil {
		return nil, fmt.Errorf("end offsets: %w", err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("end offsets: %w", err)
	}
	t := newTally(n, outTopic, dlqTopic)
	cl, err := reader(brokers, outTopic, dlqTopic)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	for !t.reached(ends) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return t, fmt.Errorf("read only part of %s and %s within %s (open transactions?)", outTopic, dlqTopic, deadline)
		}
		fs.EachRecord(t.add)
	}
	return t, nil
}

// counts is the row's arithmetic over a tally and the records produced.
type counts struct {
	in, out, dlq, lost, dup, unique int64
}

func (t *tally) counts(in int64) counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.unique.Load()
	return counts{in: in, out: t.outN, dlq: t.dlqN, unique: u, lost: in - u, dup: t.outN + t.dlqN - u}
}

// missing lists up to max sequence numbers seen neither in the output nor
// in the DLQ, and how many there are in all.
func (t *tally) missing(max int) ([]int, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var some []int
	n := 0
	for i := range t.out {
		if t.out[i] == 0 && t.dlq[i] == 0 {
			n++
			if len(some) < max {
				some = append(some, i)
			}
		}
	}
	return some, n
}

// seen returns how often seq was seen in the output and in the DLQ.
func (t *tally) seen(seq int) (out, dlq int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return int(t.out[seq]), int(t.dlq[seq])
}
