package stream

import (
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/stream/protocol"
)

// deliver turns a node's result for one input record into produced records:
// its outputs, or one DLQ record. The record is done once all of them are
// acknowledged. Called by the record's worker, in input order.
func (s *Stage) deliver(in *inflight, r *protocol.Result) {
	if in.chunk.part.abandoned.Load() {
		s.recordDone(in)
		return
	}
	switch r.Status {
	case protocol.StatusOK:
	case protocol.StatusRetriable:
		s.deadLetter(in, r.Error, KindNodeRetriable, 1)
		return
	default:
		s.deadLetter(in, r.Error, KindNodeError, 1)
		return
	}
	if len(r.Outputs) == 0 {
		s.stats.filtered.Add(1)
		s.metrics.addFiltered()
		s.recordDone(in)
		return
	}
	// Resolve every output before producing any, so a record naming an
	// unknown output goes to the DLQ whole. The array keeps the usual one
	// or two outputs off the heap.
	var buf [4]string
	topics := buf[:0]
	for i := range r.Outputs {
		name := outputName(&r.Outputs[i])
		t, ok := s.outputs[name]
		if !ok {
			s.deadLetter(in, fmt.Sprintf("node emitted to output %q, which stage %q does not define (outputs: %s)",
				name, s.cfg.Name, s.outputNames()), KindUnknownOutput, 1)
			return
		}
		topics = append(topics, t)
	}
	tc := inputTrace(in.rec, s.opts.StartTraces)
	// +1 holds the record open until every output has been handed over.
	in.pending.Store(int32(len(r.Outputs)) + 1)
	for i := range r.Outputs {
		s.produce(in, s.outputRecord(in.rec, topics[i], &r.Outputs[i], tc))
		s.metrics.addProduced(outputName(&r.Outputs[i]), 1)
	}
	s.stats.produced.Add(int64(len(r.Outputs)))
	s.outputAcked(in)
}

// outputName is the stage output an output goes to: "" means "default".
func outputName(o *protocol.Output) string {
	if o.Name == "" {
		return "default"
	}
	return o.Name
}

func (s *Stage) outputNames() string {
	names := make([]string, 0, len(s.outputs))
	for n := range s.outputs {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// outputRecord builds the Kafka record for one node output: the node's key,
// value and headers (minus any "sluice." ones), the lineage headers, a
// traceparent when the node set none (or only copied the input's) — tc's trace (the input's, or one
// started for it) with a new span id, whose parent is the input's span —
// and the input's timestamp (event time flows through the pipeline, as in
// Kafka Streams).
func (s *Stage) outputRecord(src *kgo.Record, topic string, o *protocol.Output, tc traceContext) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(o.Headers)+5)
	hasTrace := false
	for _, h := range o.Headers {
		if strings.HasPrefix(h.Key, runtimeHeaderPrefix) {
			continue
		}
		if h.Key == HeaderTraceparent {
			// A node that copied the input's traceparent made no span of
			// its own: the output gets the runtime's child span instead.
			if tp := headerValue(src, HeaderTraceparent); tp != nil && string(tp) == string(h.Value) {
				continue
			}
			hasTrace = true
		}
		hs = append(hs, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	if tp := tc.child(); !hasTrace && tp != nil {
		hs = append(hs, kgo.RecordHeader{Key: HeaderTraceparent, Value: tp})
	}
	hs = s.lineage.sourceHeaders(hs, src)
	return &kgo.Record{Topic: topic, Key: o.Key, Value: o.Value, Headers: hs, Timestamp: src.Timestamp}
}

// headerValue returns the value of r's first header named key, or nil.
func headerValue(r *kgo.Record, key string) []byte {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// deadLetter sends the input record to the stage's DLQ with the reason.
func (s *Stage) deadLetter(in *inflight, reason, kind string, attempts int) {
	if in.chunk.part.abandoned.Load() {
		s.recordDone(in)
		return
	}
	r := in.rec
	rec := &kgo.Record{Topic: s.cfg.DLQ, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp,
		Headers: s.lineage.dlqHeaders(r, reason, kind, attempts)}
	in.pending.Store(2)
	s.produce(in, rec)
	s.stats.dlq.Add(1)
	s.metrics.addDLQ(kind)
	s.outputAcked(in)
}

// produce writes rec asynchronously; its acknowledgement counts towards
// in being done. A failed write fails the stage: in is never marked done,
// so its offset (and every later one of its partition) stays uncommitted.
func (s *Stage) produce(in *inflight, rec *kgo.Record) {
	s.cl.Produce(s.hardCtx, rec, func(r *kgo.Record, err error) {
		if err != nil {
			if s.hardCtx.Err() == nil {
				s.fail(fmt.Errorf("%w: writing to topic %q: %v", ErrProduce, r.Topic, err))
			}
			return
		}
		s.outputAcked(in)
	})
}

func (s *Stage) outputAcked(in *inflight) {
	if in.pending.Add(-1) == 0 {
		s.recordDone(in)
	}
}

// recordDone marks in done and notes the progress (see Stalled).
func (s *Stage) recordDone(in *inflight) {
	s.progress.mark()
	s.tracker.recordDone(in)
}
