package protocol

import (
	"bytes"
	"testing"
)

func benchBatch(n, size int) *Batch {
	b := &Batch{ID: 1}
	val := bytes.Repeat([]byte("x"), size)
	for i := range n {
		b.Records = append(b.Records, Record{Topic: "events.parsed", Partition: int32(i % 3), Offset: int64(i),
			Timestamp: 1700000000000, Key: []byte("sensor-alpha"), Value: val})
	}
	return b
}

// BenchmarkEncodeBatch measures encoding a 500-record batch of 200-byte values.
func BenchmarkEncodeBatch(b *testing.B) {
	batch := benchBatch(500, 200)
	var buf []byte
	b.ReportAllocs()
	b.SetBytes(500 * 200)
	for b.Loop() {
		buf, _ = Append(buf[:0], batch)
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecodeBatch measures decoding the same batch (one allocation for
// the records slice; keys and values alias the payload).
func BenchmarkDecodeBatch(b *testing.B) {
	frame, _ := Append(nil, benchBatch(500, 200))
	b.ReportAllocs()
	b.SetBytes(500 * 200)
	for b.Loop() {
		if _, err := Decode(frame[4:]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecodeResults measures decoding 500 one-output results.
func BenchmarkDecodeResults(b *testing.B) {
	rs := &Results{ID: 1}
	val := bytes.Repeat([]byte("y"), 200)
	for range 500 {
		rs.Results = append(rs.Results, Result{Outputs: []Output{{Key: []byte("sensor-alpha"), Value: val}}})
	}
	frame, _ := Append(nil, rs)
	b.ReportAllocs()
	b.SetBytes(500 * 200)
	for b.Loop() {
		if _, err := Decode(frame[4:]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "records/s")
}
