package stream

import "sync/atomic"

// counters are the stage's running totals (read with Stats). Each is
// updated together with its Prometheus counter (metrics.go), so Stats and
// /metrics agree.
type counters struct {
	consumed, produced, filtered, dlq           atomic.Int64
	nodeStarts, nodeRestarts, nodeStartFailures atomic.Int64
	commits, commitFailures                     atomic.Int64
	retried                                     atomic.Int64
	dlqWriteFailures                            atomic.Int64
	txnCommitted, txnAborted                    atomic.Int64
}

// Stats is a snapshot of a stage's totals since it started.
type Stats struct {
	Consumed          int64 // input records polled
	Produced          int64 // output records handed to the producer
	Filtered          int64 // input records the node answered with no output
	DLQ               int64 // records sent to the DLQ
	NodeStarts        int64 // successful node handshakes
	NodeRestarts      int64 // node crashes, hangs and protocol errors
	NodeStartFailures int64 // starts that failed before the handshake
	Commits           int64
	CommitFailures    int64
	Retried           int64 // input records sent to a node again because they failed: in flight at a crash, or answered retriable
	DLQWriteFailures  int64 // DLQ records that could not be written and were dropped (dlq_policy.on_write_failure: drop)
	TxnCommitted      int64 // exactly-once: transactions committed
	TxnAborted        int64 // exactly-once: transactions aborted (or failed to end)
	InFlightRecords   int
	InFlightBytes     int64
}

// Stats returns the stage's totals.
func (s *Stage) Stats() Stats {
	recs, bytes := s.tracker.inFlight()
	return Stats{
		Consumed: s.stats.consumed.Load(), Produced: s.stats.produced.Load(), Filtered: s.stats.filtered.Load(),
		DLQ: s.stats.dlq.Load(), NodeStarts: s.stats.nodeStarts.Load(), NodeRestarts: s.stats.nodeRestarts.Load(),
		NodeStartFailures: s.stats.nodeStartFailures.Load(), Commits: s.stats.commits.Load(),
		CommitFailures: s.stats.commitFailures.Load(), Retried: s.stats.retried.Load(), DLQWriteFailures: s.stats.dlqWriteFailures.Load(),
		TxnCommitted: s.stats.txnCommitted.Load(), TxnAborted: s.stats.txnAborted.Load(), InFlightRecords: recs, InFlightBytes: bytes,
	}
}
