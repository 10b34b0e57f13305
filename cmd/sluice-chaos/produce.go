package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// seqKey is the key of record seq: zero-padded, so keys sort like numbers.
func seqKey(seq int) []byte { return fmt.Appendf(nil, "%010d", seq) }

// produce writes n records to topic: key = seqKey(seq), value "rec-<seq>",
// or the planted value at a planted sequence number. The producer is
// idempotent with unlimited retries, so a broker restart while it runs only
// delays it; any record that still fails makes the run fail. With over > 0
// the records are spread evenly over that long, so that the faults of a
// scenario hit a stage that is busy with a steady flow, not one that has
// already finished a backlog.
func produce(ctx context.Context, brokers []string, topic string, n int, planted map[int]string, over time.Duration) error {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(50_000),
		kgo.RecordDeliveryTimeout(5*time.Minute),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	var failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	for seq := range n {
		if over > 0 && seq%1000 == 0 {
			due := start.Add(time.Duration(float64(over) * float64(seq) / float64(n)))
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		v, ok := planted[seq]
		if !ok {
			v = fmt.Sprintf("rec-%d", seq)
		}
		cl.Produce(ctx, &kgo.Record{Key: seqKey(seq), Value: []byte(v)}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d records not acknowledged: %v", f, n, firstErr.Load())
	}
	return nil
}
