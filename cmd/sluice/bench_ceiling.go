package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// fillTopic produces n records of size bytes, keyed over 1000 keys.
func fillTopic(ctx context.Context, cl *kgo.Client, topic string, n, size int) error {
	val := make([]byte, size)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "sensor-%03d", i%1000), Value: val}, func(_ *kgo.Record, err error) {
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return fmt.Errorf("filling %s: %w", topic, err)
	}
	return nil
}

// benchCeiling is the plain loop a stage competes with: a consumer group
// polling, producing each record (idempotent, acks=all, same linger), and
// committing. It returns the seconds until every output was acknowledged.
func benchCeiling(ctx context.Context, brokers []string, in, out string, n int) (float64, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumerGroup("bench-ceiling-"+out),
		kgo.ConsumeTopics(in),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(20000),
	)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	start := time.Now()
	var acked atomic.Int64
	var firstErr atomic.Value
	done := make(chan struct{})
	consumed := 0
	for consumed < n {
		fs := cl.PollRecords(ctx, 10000)
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		fs.EachRecord(func(r *kgo.Record) {
			consumed++
			cl.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: r.Value, Headers: r.Headers}, func(_ *kgo.Record, err error) {
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				if acked.Add(1) == int64(n) {
					close(done)
				}
			})
		})
		cl.CommitUncommittedOffsets(ctx)
	}
	<-done
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}
