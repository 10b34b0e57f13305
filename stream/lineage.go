package stream

import (
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Lineage and DLQ header names. Every output carries the lineage headers;
// every DLQ record carries the lineage and error headers. Node-set headers
// under the "sluice." prefix are replaced by the runtime's, so a record's
// lineage always names its immediate source (follow it hop by hop to the
// raw input).
const (
	HeaderStage           = "sluice.stage"
	HeaderSourceTopic     = "sluice.source.topic"
	HeaderSourcePartition = "sluice.source.partition"
	HeaderSourceOffset    = "sluice.source.offset"
	HeaderError           = "sluice.error"
	HeaderErrorKind       = "sluice.error.kind"
	HeaderAttempts        = "sluice.attempts"
	HeaderFailedAt        = "sluice.failed.at"
	HeaderTraceparent     = "traceparent"
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

// sourceHeaders appends the lineage headers of input record r to hs.
func (l lineage) sourceHeaders(hs []kgo.RecordHeader, r *kgo.Record) []kgo.RecordHeader {
	// One allocation for both numbers.
	num := make([]byte, 0, 32)
	num = strconv.AppendInt(num, int64(r.Partition), 10)
	np := len(num)
	num = strconv.AppendInt(num, r.Offset, 10)
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderStage, Value: l.stage},
		kgo.RecordHeader{Key: HeaderSourceTopic, Value: l.topicBytes(r.Topic)},
		kgo.RecordHeader{Key: HeaderSourcePartition, Value: num[:np:np]},
		kgo.RecordHeader{Key: HeaderSourceOffset, Value: num[np:]},
	)
	return append(hs, l.extra...)
}

// dlqHeaders are the input's own headers (minus earlier runtime headers),
// the lineage, and what went wrong.
func (l lineage) dlqHeaders(r *kgo.Record, reason, kind string, attempts int) []kgo.RecordHeader {
	hs := make([]kgo.RecordHeader, 0, len(r.Headers)+8)
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
		kgo.RecordHeader{Key: HeaderFailedAt, Value: time.Now().UTC().AppendFormat(nil, time.RFC3339Nano)},
	)
}
