package stream

import (
	"cmp"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/sluicehq/sluice/stream/protocol"
)

// Parking keeps a partition's order while one of its records waits to be
// retried. When the node answers record X "retriable" and X has attempts
// left, X's partition is parked until X's backoff has passed. While it is
// parked, none of the partition's records is sent or delivered: later
// answers for its records (the rest of X's batch, pipelined batches already
// at the node) are dropped and the records join the park — they are sent
// again, so a node's side effects are at-least-once, as after a crash — and
// queued records join it instead of being sent. When the park is lifted, its
// records go back to the front of the queue in offset order, X first.
//
// Everything here belongs to the worker's run goroutine: no locks, no
// goroutines. The invariant that keeps order: when a park is lifted, every
// record of the partition that is neither delivered nor in the queue behind
// the park's records is in the park.

// park is one parked partition.
type park struct {
	until time.Time
	// after is the id of the last batch sent when the park was made. Those
	// batches may still hold records of the partition, whose answers must
	// join the park before it is lifted; later batches hold none of them
	// (nextBatch keeps them back).
	after uint64
	recs  []*inflight
}

// answer applies the node's result for one record, in batch order: a
// record of a parked partition joins the park, a retriable failure with
// attempts left parks its partition, anything else is delivered.
func (w *worker) answer(in *inflight, r *protocol.Result) {
	if in.chunk.part.abandoned.Load() {
		w.s.recordDone(in)
		return
	}
	if w.parked(in) {
		return // its result is dropped: it is sent again after the retry
	}
	if r.Status == protocol.StatusRetriable {
		now := time.Now()
		f := in.failed(now)
		f.attempts++
		if f.attempts < w.s.cfg.Retry.MaxAttempts {
			delay := backoffDelay(w.s.cfg.Retry.Initial, w.s.cfg.Retry.Max, f.attempts)
			w.park(in, now.Add(delay))
			w.s.stats.retried.Add(1)
			w.s.metrics.addRetried(1)
			w.log.Debug("node answered retriable; retrying the record after a backoff", zap.String("topic", in.rec.Topic),
				zap.Int32("partition", in.rec.Partition), zap.Int64("offset", in.rec.Offset), zap.Int("attempt", f.attempts),
				zap.Duration("backoff", delay), zap.String("error", r.Error))
			return
		}
	}
	w.s.deliver(in, r)
}

// park parks in's partition until until, with in as its first record.
func (w *worker) park(in *inflight, until time.Time) {
	if w.parks == nil {
		w.parks = map[*partState]*park{}
	}
	w.parks[in.chunk.part] = &park{until: until, after: w.nextID, recs: []*inflight{in}}
}

// parked adds in to its partition's park, if the partition is parked, and
// reports whether it did.
func (w *worker) parked(in *inflight) bool {
	if len(w.parks) == 0 {
		return false
	}
	p := w.parks[in.chunk.part]
	if p == nil {
		return false
	}
	p.recs = append(p.recs, in)
	return true
}

// keepParked moves the records of parked partitions out of recs (a crash's
// unanswered records) into their parks and returns the others.
func (w *worker) keepParked(recs []*inflight) []*inflight {
	if len(w.parks) == 0 {
		return recs
	}
	rest := recs[:0]
	for _, in := range recs {
		if !w.parked(in) {
			rest = append(rest, in)
		}
	}
	clear(recs[len(rest):])
	return rest
}

// awaiting reports whether batches sent before p was made are unanswered.
func (w *worker) awaiting(p *park) bool {
	return len(w.sent) > 0 && w.sent[0].id <= p.after
}

// unpark lifts the parks whose time has come and whose partition has no
// record left at the node: their records go back to the front of the
// queue, in offset order. The records of an abandoned (revoked)
// partition's park are released instead.
func (w *worker) unpark(now time.Time) {
	for part, p := range w.parks {
		switch {
		case part.abandoned.Load():
			for _, in := range p.recs {
				w.s.recordDone(in)
			}
		case now.Before(p.until) || w.awaiting(p):
			continue
		default:
			slices.SortFunc(p.recs, func(a, b *inflight) int { return cmp.Compare(a.rec.Offset, b.rec.Offset) })
			w.requeue(p.recs)
		}
		delete(w.parks, part)
	}
}

// parkCheck is how often a worker with parked partitions looks whether
// one of them was abandoned (revoked, or an exactly-once transaction
// aborted), so their records are released without waiting out a backoff
// of up to retry.max.
const parkCheck = 200 * time.Millisecond

// parkTimer fires when the next park is due, or after parkCheck at the
// latest. Parks still waiting for answers are lifted after an answer,
// which wakes the worker anyway. A nil channel (never fires) when nothing
// is parked.
func (w *worker) parkTimer() (<-chan time.Time, func() bool) {
	if len(w.parks) == 0 {
		return nil, func() bool { return false }
	}
	d := parkCheck
	for _, p := range w.parks {
		if !w.awaiting(p) {
			d = min(d, time.Until(p.until))
		}
	}
	t := time.NewTimer(max(d, 0))
	return t.C, t.Stop
}
