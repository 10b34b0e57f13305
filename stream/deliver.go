package stream

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
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
		// Its retries are used up (the worker retries it before: park.go).
		s.deadLetter(in, r.Error, KindNodeRetriable, in.retryAttempts())
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
	// Typed output topics: encode every output before producing any, so
	// a record with one output that breaks its topic's schema goes to the
	// DLQ whole.
	if s.codecs.out != nil && !s.encodeOutputs(in, r, topics) {
		return
	}
	tc := inputTrace(in.rec, s.opts.StartTraces)
	// +1 holds the record open until every output has been handed over.
	in.pending.Store(int32(len(r.Outputs)) + 1)
	for i := range r.Outputs {
		s.produce(in, s.outputRecord(in.rec, topics[i], &r.Outputs[i], i, tc), false)
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
// Kafka Streams). index is the output's position among the input's
// outputs, part of its idempotency key.
func (s *Stage) outputRecord(src *kgo.Record, topic string, o *protocol.Output, index int, tc traceContext) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(o.Headers)+6)
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
	hs = s.lineage.outputHeaders(hs, src, index)
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
// Past the DLQ rate cap (dlq_policy) it fails the stage instead and leaves
// the record undone, so it stays uncommitted.
func (s *Stage) deadLetter(in *inflight, reason, kind string, attempts int) {
	if in.chunk.part.abandoned.Load() {
		s.recordDone(in)
		return
	}
	now := time.Now()
	if err := s.dlqLimiter().admit(now); err != nil {
		s.fail(err)
		return
	}
	r := in.rec
	rec := &kgo.Record{Topic: s.cfg.DLQ, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp,
		Headers: s.lineage.dlqHeaders(r, reason, kind, attempts, in.firstFailure(now), now)}
	in.pending.Store(2)
	s.produce(in, rec, true)
	s.stats.dlq.Add(1)
	s.metrics.addDLQ(kind)
	s.outputAcked(in)
}

// produce writes an output record (or, with dlq, a DLQ record)
// asynchronously; its acknowledgement counts towards in being done.
func (s *Stage) produce(in *inflight, rec *kgo.Record, dlq bool) {
	s.cl.Produce(s.hardCtx, rec, func(r *kgo.Record, err error) {
		if err != nil {
			s.produceFailed(in, r, err, dlq)
			return
		}
		s.outputAcked(in)
	})
}

// produceFailed handles every failed write of the stage (called from
// franz-go's produce callbacks). A failed output write fails the stage: in
// is never marked done, so its offset (and every later one of its
// partition) stays uncommitted. A failed DLQ write follows
// dlq_policy.on_write_failure (see dlqWriteFailed).
func (s *Stage) produceFailed(in *inflight, rec *kgo.Record, err error, dlq bool) {
	// Exactly-once: the transaction aborts instead (eos.go).
	if s.txn != nil {
		s.txnProduceFailed(in, rec, err, dlq)
		return
	}
	if s.hardCtx.Err() != nil {
		return // hard stop: nothing unfinished is committed anyway
	}
	if dlq {
		s.dlqWriteFailed(in, rec, err)
		return
	}
	s.fail(fmt.Errorf("%w: writing to topic %q: %v", ErrProduce, rec.Topic, err))
}

// dlqWriteFailed applies dlq_policy.on_write_failure to a DLQ record that
// could not be written.
func (s *Stage) dlqWriteFailed(in *inflight, rec *kgo.Record, err error) {
	r := in.rec
	switch s.cfg.DLQPolicy.OnWriteFailure {
	case config.DLQWriteRetry:
		// The record stays in flight, so its partition does not commit
		// past it; a revoke abandons it (the next owner redoes it).
		if in.chunk.part.abandoned.Load() {
			s.outputAcked(in)
			return
		}
		f := in.failed(time.Now())
		f.dlqWrites++
		delay := backoffDelay(s.cfg.Retry.Initial, s.cfg.Retry.Max, f.dlqWrites)
		s.log.Warn("writing to the DLQ failed; retrying", zap.String("dlq", rec.Topic), zap.Error(err),
			zap.Int("attempt", f.dlqWrites), zap.Duration("backoff", delay), zap.String("topic", r.Topic),
			zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset))
		again := &kgo.Record{Topic: rec.Topic, Key: rec.Key, Value: rec.Value, Headers: rec.Headers, Timestamp: rec.Timestamp}
		time.AfterFunc(delay, func() { s.produce(in, again, true) })
	case config.DLQWriteDrop:
		s.stats.dlqWriteFailures.Add(1)
		s.metrics.addDLQWriteFailure()
		s.log.Error("writing to the DLQ failed; dropping the record (dlq_policy.on_write_failure: drop)", zap.String("dlq", rec.Topic),
			zap.Error(err), zap.String("topic", r.Topic), zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset))
		s.outputAcked(in)
	default: // stop
		s.fail(fmt.Errorf("%w: stage %q: writing record %s/%d@%d to the DLQ topic %q failed: %v; stopping (dlq_policy.on_write_failure: stop), the record and those after it stay uncommitted",
			ErrProduce, s.cfg.Name, r.Topic, r.Partition, r.Offset, rec.Topic, err))
	}
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
