package stream

import "errors"

// Sentinel errors callers can branch on with errors.Is.
var (
	// ErrNodeStart: the node could not be started, or kept exiting before
	// its handshake (see Stage.MaxStartFailures).
	ErrNodeStart = errors.New("node failed to start")
	// ErrProtocolVersion: the node speaks another protocol version.
	ErrProtocolVersion = errors.New("node protocol version mismatch")
	// ErrTopicMissing: a topic the stage needs does not exist.
	ErrTopicMissing = errors.New("topic does not exist")
	// ErrProduce: an output or DLQ record could not be written; the stage
	// stops without committing the records concerned.
	ErrProduce = errors.New("producing failed")
	// ErrCodec: a topic's codec failed for a reason that is not the
	// record's (a Schema Registry that cannot be reached, codecs not
	// prepared); the stage stops without committing the record, rather
	// than sending good records to the DLQ.
	ErrCodec = errors.New("codec failed")
	// ErrDLQRate: more records went to the DLQ within dlq_policy.per than
	// dlq_policy.max_records allows; the stage stopped without writing
	// (or committing) the record over the cap.
	ErrDLQRate = errors.New("DLQ rate cap reached")
)
