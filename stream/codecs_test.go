package stream

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream/codec"
)

// benchBatches measures the worker's side of the record path without a
// node or a broker: records enter the window, are queued, batched (decoded
// first, for a typed input) and framed, then released.
func benchBatches(b *testing.B, codecs *codec.Set, input string, values [][]byte) {
	st := config.DefaultStage("bench", "s")
	st.Input, st.Node.Command, st.Workers = input, "node", 1
	s, err := New(Options{Stage: st, Codecs: codecs})
	if err != nil {
		b.Fatal(err)
	}
	w := s.workers[0]
	w.proc = &nodeProc{written: make(chan []byte, 1)}
	const n = 500
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: input, Key: fmt.Appendf(nil, "sensor-%03d", i), Value: values[i%len(values)], Offset: int64(i)}
	}
	b.ReportAllocs()
	b.SetBytes(int64(n * len(values[0])))
	for b.Loop() {
		c := s.tracker.add(recs)
		ins := make([]*inflight, n)
		for i := range c.recs {
			ins[i] = &c.recs[i]
		}
		w.enqueue(ins)
		for sent := 0; sent < n; {
			batch := w.nextBatch(n, 1<<20)
			if len(batch) == 0 {
				b.Fatal("no batch")
			}
			buf, _ := w.encode(&sentBatch{recs: batch})
			w.proc.written <- buf
			for _, in := range batch {
				s.tracker.recordDone(in)
			}
			sent += len(batch)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkBatchesRaw is the raw path (no codecs), whose cost typed topics
// must not change.
func BenchmarkBatchesRaw(b *testing.B) {
	benchBatches(b, nil, "events.raw", [][]byte{bytes.Repeat([]byte("x"), 200)})
}

// BenchmarkBatchesAvro is the same path for an Avro input topic: each
// record's value is decoded (Avro -> JSON) by the worker before batching.
func BenchmarkBatchesAvro(b *testing.B) {
	set, err := codec.Load(&config.Pipeline{Name: "bench", Topics: []config.Topic{avroTopic("events.parsed", sensorSchema)}})
	if err != nil {
		b.Fatal(err)
	}
	var values [][]byte
	for i := range 50 {
		v, err := set.For("events.parsed").Encode([]byte(sensorEvent(i)))
		if err != nil {
			b.Fatal(err)
		}
		values = append(values, v)
	}
	benchBatches(b, set, "events.parsed", values)
}
