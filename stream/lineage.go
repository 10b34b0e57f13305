package stream

import (
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Lineage and DLQ header names. Every output carries the lineage headers
// and an idempotency key; every DLQ record carries the lineage and error
// headers. Node-set headers under the "sluice." prefix are replaced by the
// runtime's, so a record's lineage always names its immediate source
// (follow it hop by hop to the raw input).
const (
	HeaderStage           = "sluice.stage"
	HeaderSourceTopic     = "sluice.source.topic"
	HeaderSourcePartition = "sluice.source.partition"
	HeaderSourceOffset    = "sluice.source.offset"
	HeaderError           = "sluice.error"
	HeaderErrorKind       = "sluice.error.kind"
	HeaderAttempts        = "sluice.attempts"
	// HeaderFailedAt is when the record last failed (it was given up);
	// HeaderFirstFailedAt when it first failed: its first crash or
	// retriable answer, else the same time. Both RFC 3339 (nanoseconds),
	// UTC.
	HeaderFailedAt      = "sluice.failed.at"
	HeaderFirstFailedAt = "sluice.failed.first"
	// HeaderIdempotencyKey is on every output record:
	// "<stage>/<source topic>/<source partition>/<source offset>/<output
	// index>", the index being the output's position among its input's
	// outputs. Processing the same input again yields the same keys, so a
	// reader can drop the duplicates at-least-once delivery may bring.
	HeaderIdempotencyKey = "sluice.idempotency.key"
	HeaderTraceparent    = "traceparent"
	// HeaderReplay marks the outputs and DLQ records of a bounded run
	// (sluice replay); its value identifies the run (Bounds.Tag).
	HeaderReplay = "sluice.replay"

	runtimeHeaderPrefix = "sluice."
)

// Error kinds in the sluice.error.kind header of DLQ records.
const (
	KindNodeError     = "node-error"     // the node reported the record as failed
	KindNodeRetriable = "node-retriable" // ... as failed, possibly transiently
	KindCrash         = "crash"          // the node kept dying on this record
	KindTimeout       = "timeout"        // the node kept hanging on this record
	KindProtocol      = "protocol"       // the node kept answering garbage
	KindUnknownOutput = "unknown-output" // the node named an output the stage lacks
	KindTooLarge      = "too-large"      // the record cannot fit in a frame to the node
	KindSchema        = "schema"         // a value does not fit its topic's format or schema (codecs.go)
)

// lineage builds the runtime's headers for one stage.
type lineage struct {
	stage []byte
	// input is the stage's input topic as bytes, shared by every header
	// that names it (header values are only read, never modified).
	input      string
	inputBytes []byte
	// extra headers every output and DLQ record carries (a bounded run's
	// HeaderReplay); nil in the normal mode.
	extra []kgo.RecordHeader
}

func newLineage(stage, input string) lineage {
	return lineage{stage: []byte(stage), input: input, inputBytes: []byte(input)}
}

func (l lineage) topicBytes(topic string) []byte {
	if topic == l.input {
		return l.inputBytes
	}
	return []byte(topic)
}

// outputHeaders appends the lineage headers of input record r and the
// idempotency key of its output number index to hs.
func (l lineage) outputHeaders(hs []kgo.RecordHeader, r *kgo.Record, index int) []kgo.RecordHeader {
	return l.appendLineage(hs, r, index)
}

// sourceHeaders appends the lineage headers of input record r to hs.
func (l lineage) sourceHeaders(hs []kgo.RecordHeader, r *kgo.Record) []kgo.RecordHeader {
	return l.appendLineage(hs, r, -1)
}

// appendLineage appends the lineage headers, and for index >= 0 the
// idempotency key. One allocation holds the key, and the partition and
// offset header values are slices of it (header values are only read).
func (l lineage) appendLineage(hs []kgo.RecordHeader, r *kgo.Record, index int) []kgo.RecordHeader {
	topic := l.topicBytes(r.Topic)
	// stage/topic/partition/offset/index: 11 + 20 + 20 digits at most.
	buf := make([]byte, 0, len(l.stage)+len(topic)+56)
	buf = append(buf, l.stage...)
	buf = append(buf, '/')
	buf = append(buf, topic...)
	buf = append(buf, '/')
	p0 := len(buf)
	buf = strconv.AppendInt(buf, int64(r.Partition), 10)
	p1 := len(buf)
	buf = append(buf, '/')
	o0 := len(buf)
	buf = strconv.AppendInt(buf, r.Offset, 10)
	o1 := len(buf)
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderStage, Value: l.stage},
		kgo.RecordHeader{Key: HeaderSourceTopic, Value: topic},
		kgo.RecordHeader{Key: HeaderSourcePartition, Value: buf[p0:p1:p1]},
		kgo.RecordHeader{Key: HeaderSourceOffset, Value: buf[o0:o1:o1]},
	)
	if index >= 0 {
		buf = append(buf, '/')
		buf = strconv.AppendInt(buf, int64(index), 10)
		hs = append(hs, kgo.RecordHeader{Key: HeaderIdempotencyKey, Value: buf})
	}
	return append(hs, l.extra...)
}

// dlqHeaders are the input's own headers (minus earlier runtime headers),
// the lineage, and what went wrong: first and last are when the record
// first and last failed.
func (l lineage) dlqHeaders(r *kgo.Record, reason, kind string, attempts int, first, last time.Time) []kgo.RecordHeader {
	hs := make([]kgo.RecordHeader, 0, len(r.Headers)+9)
	for _, h := range r.Headers {
		if !strings.HasPrefix(h.Key, runtimeHeaderPrefix) {
			hs = append(hs, h)
		}
	}
	hs = l.sourceHeaders(hs, r)
	return append(hs,
		kgo.RecordHeader{Key: HeaderError, Value: []byte(reason)},
		kgo.RecordHeader{Key: HeaderErrorKind, Value: []byte(kind)},
		kgo.RecordHeader{Key: HeaderAttempts, Value: strconv.AppendInt(nil, int64(attempts), 10)},
		kgo.RecordHeader{Key: HeaderFailedAt, Value: last.UTC().AppendFormat(nil, time.RFC3339Nano)},
		kgo.RecordHeader{Key: HeaderFirstFailedAt, Value: first.UTC().AppendFormat(nil, time.RFC3339Nano)},
	)
}
