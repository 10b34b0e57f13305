package stream

import (
	"math/rand/v2"
	"time"
)

// Retries of records the node answers "retriable" (cfg.Retry). The record
// waits in its partition's park (park.go) and is sent again after a backoff;
// after Retry.MaxAttempts attempts in all it goes to the DLQ.

// backoffDelay is the delay before retry number n (n >= 1): exponential from
// initial, doubling up to max, with ±20% jitter so that many records or
// workers do not retry in lockstep. Node restarts (Stage.backoff) use it too.
func backoffDelay(initial, max time.Duration, n int) time.Duration {
	d := initial
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// failure is what went wrong with one record so far. It is made on the
// record's first failure (a retriable answer, or a crash blamed on it), so
// records that never fail carry only a nil pointer.
type failure struct {
	// attempts counts the node's retriable answers for the record.
	attempts int
	// first is when the record first failed: its DLQ record's
	// sluice.failed.first header.
	first time.Time
	// dlqWrites counts failed writes of its DLQ record (on_write_failure:
	// retry); touched only by the produce callback that retries it.
	dlqWrites int
}

// failed notes a failure of the record at now and returns its state.
func (in *inflight) failed(now time.Time) *failure {
	if in.fail == nil {
		in.fail = &failure{first: now}
	}
	return in.fail
}

// firstFailure is when the record first failed, or now if it never did.
func (in *inflight) firstFailure(now time.Time) time.Time {
	if in.fail == nil {
		return now
	}
	return in.fail.first
}

// retryAttempts is how many times the node answered the record retriable
// (at least 1: the answer being handled).
func (in *inflight) retryAttempts() int {
	if in.fail == nil {
		return 1
	}
	return max(in.fail.attempts, 1)
}
