package stream

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream/protocol"
)

// BenchmarkOutputRecord is the per-output cost of the runtime's headers
// (lineage, idempotency key, traceparent): one allocation for the lineage
// values and the key.
func BenchmarkOutputRecord(b *testing.B) {
	s := &Stage{cfg: &config.Stage{Name: "filter"}, lineage: newLineage("filter", "events.raw")}
	src := &kgo.Record{Topic: "events.raw", Partition: 3, Offset: 123456789, Key: []byte("sensor-01"), Value: []byte(`{"v":1}`),
		Headers: []kgo.RecordHeader{{Key: HeaderTraceparent, Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}}}
	o := &protocol.Output{Key: src.Key, Value: src.Value}
	tc := inputTrace(src, false)
	b.ReportAllocs()
	for b.Loop() {
		s.outputRecord(src, "events.clean", o, 0, tc)
	}
}
