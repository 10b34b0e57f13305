package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
)

// Exactly-once stages (delivery: exactly-once).
//
// The stage runs as a franz-go GroupTransactSession: the outputs and DLQ
// records of everything polled during one transaction, and the input
// offsets after it, are committed together by one Kafka transaction.
// Downstream stages read read_committed, so they see a transaction's
// results all at once or never.
//
// A transaction begins with the first records polled after the previous
// one ended, keeps polling (the window and pipelining work as in
// at-least-once mode) until transaction.max_records were polled or
// transaction.interval passed, then stops polling, waits until every
// polled record is done (its outputs acknowledged by the brokers), and
// ends: commit, or abort when something went wrong. An abort rewinds the
// consumer to the last committed offsets, so the aborted records are
// polled and processed again; the node sees them twice, Kafka readers
// never do.
//
// What aborts a transaction: a rebalance that revokes partitions of this
// instance (or loses them), a failed produce, a hard stop. When End
// itself fails, its outcome is unknown (the commit may have happened):
// the session is closed and a new one started, which re-reads the
// committed offsets from the group coordinator instead of trusting local
// state; outputs carry HeaderIdempotencyKey for readers that want to be
// sure.

// txnState is an exactly-once stage's transaction bookkeeping.
type txnState struct {
	id   string // transactional id
	sess *kgo.GroupTransactSession
	// doomed is set when the open transaction must abort: a revoke or loss
	// of partitions, or a failed produce. The transaction loop stops
	// polling, lets in-flight records drain (they are abandoned) and ends
	// with an abort.
	doomed atomic.Bool
	// why says what doomed the transaction, for the log.
	why atomic.Pointer[string]
	// produceErr is the produce failure that doomed the transaction, when
	// the stage must stop because of it (see txnProduceFailed).
	produceErr atomic.Pointer[error]
	// blame remembers crashes across aborted transactions (eos_blame.go).
	blame blameBook
}

func newTxnState(group, instance string) *txnState {
	if instance == "" {
		instance = randomInstanceID()
	}
	return &txnState{id: group + "-" + instance}
}

// randomInstanceID is host-random: unique per start, readable in the
// broker's transaction listing.
func randomInstanceID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "sluice"
	}
	b := make([]byte, 4)
	rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

func (t *txnState) kafkaOpts(cfg *config.Stage) []kgo.Opt {
	return []kgo.Opt{
		kgo.TransactionalID(t.id),
		kgo.TransactionTimeout(cfg.Transaction.Timeout),
	}
}

func (t *txnState) doom(why string) {
	t.why.Store(&why)
	t.doomed.Store(true)
}

// newClient makes the stage's Kafka client: a plain one, or for an
// exactly-once stage a transact session (whose client s.cl then is).
func (s *Stage) newClient() (*kgo.Client, error) {
	if s.txn == nil {
		cl, err := kgo.NewClient(s.kafkaOpts()...)
		s.cl = cl
		return cl, err
	}
	sess, err := kgo.NewGroupTransactSession(s.kafkaOpts()...)
	if err != nil {
		return nil, err
	}
	s.txn.sess = sess
	s.cl = sess.Client()
	return s.cl, nil
}

// txnLoop is the poll loop of an exactly-once stage: one transaction after
// another until the stage stops.
func (s *Stage) txnLoop() {
	for s.softCtx.Err() == nil {
		// An idle stage holds no transaction open: wait for records first.
		fetches, ok := s.txnPoll(s.softCtx)
		if !ok {
			return
		}
		if fetches.NumRecords() == 0 {
			s.cl.AllowRebalance()
			continue
		}
		if err := s.txn.sess.Begin(); err != nil {
			s.cl.AllowRebalance()
			s.fail(fmt.Errorf("stage %q: beginning a transaction: %w", s.cfg.Name, err))
			return
		}
		start := time.Now()
		polled := s.dispatch(fetches)
		s.cl.AllowRebalance()
		polled += s.txnFill(start.Add(s.cfg.Transaction.Interval), polled)
		if !s.endTxn(start, polled) {
			return
		}
	}
}

// txnPoll polls once for as many records as the window has room for; false
// means the stage is stopping or the client closed.
func (s *Stage) txnPoll(ctx context.Context) (kgo.Fetches, bool) {
	n := s.tracker.waitFree(ctx.Done())
	if n == 0 || ctx.Err() != nil {
		return nil, s.softCtx.Err() == nil
	}
	fetches := s.txn.sess.PollRecords(ctx, n)
	if fetches.IsClientClosed() {
		s.cl.AllowRebalance()
		return nil, false
	}
	s.logFetchErrors(fetches)
	return fetches, true
}

// txnFill keeps polling into the open transaction until the deadline, the
// record budget, a stop, or a doomed transaction; it returns how many
// records it added.
func (s *Stage) txnFill(deadline time.Time, polled int) int {
	ctx, cancel := context.WithDeadline(s.softCtx, deadline)
	defer cancel()
	wake := context.AfterFunc(ctx, s.tracker.wake)
	defer wake()
	added := 0
	for polled+added < s.cfg.Transaction.MaxRecords && ctx.Err() == nil && !s.txn.doomed.Load() {
		fetches, ok := s.txnPoll(ctx)
		if fetches != nil {
			added += s.dispatch(fetches)
			s.cl.AllowRebalance()
		}
		if !ok {
			break
		}
	}
	return added
}

// endTxn waits for the transaction's records to be done, then commits it
// (or aborts it). It returns false when the stage must stop.
func (s *Stage) endTxn(start time.Time, polled int) bool {
	drained := s.tracker.waitEmpty(s.hardCtx.Done())
	offsets := committableOffsets(s.tracker.all())
	try, why := kgo.TryCommit, ""
	switch {
	case s.txn.doomed.Load():
		try, why = kgo.TryAbort, *s.txn.why.Load()
	case !drained:
		try, why = kgo.TryAbort, "stopped before its records were done"
	}
	// End must run even during a hard stop (to abort), so it gets its own
	// deadline rather than the stage's contexts.
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Transaction.Timeout)
	committed, err := s.txn.sess.End(ctx, try)
	cancel()
	// The next transaction starts afresh: after a commit nothing is owed;
	// after an abort the session rewound the consumer, so every partition
	// state (with its abandoned marks) belongs to the past.
	s.tracker.takeAll()
	s.txn.doomed.Store(false)
	// A write that failed for good stops the stage whatever the end's
	// outcome; taken now so that it never leaks into a later transaction.
	if perr := s.txn.produceErr.Swap(nil); perr != nil {
		s.countTxn(TxnAborted, time.Since(start))
		s.fail(*perr)
		return false
	}
	took := time.Since(start)
	switch {
	case err != nil:
		s.countTxn(TxnFailed, took)
		if s.hardCtx.Err() != nil {
			return false
		}
		// The outcome is unknown: the commit may have happened. Start a
		// new session, which re-reads the committed offsets instead of
		// trusting this one's view.
		s.log.Warn("ending the transaction failed; its outcome is unknown, so the stage rejoins and resumes from the offsets Kafka committed",
			zap.Error(err), zap.Int("records", polled))
		return s.renewSession()
	case committed:
		s.countTxn(TxnCommitted, took)
		s.metrics.committed(offsets)
		s.txn.blame.forget(offsets)
		s.log.Debug("transaction committed", zap.Int("records", polled), zap.Duration("took", took))
	default:
		s.countTxn(TxnAborted, took)
		if why == "" {
			why = "the group rebalanced before the commit"
		}
		s.log.Info("transaction aborted; its records will be processed again", zap.String("why", why), zap.Int("records", polled))
	}
	return s.hardCtx.Err() == nil
}

// countTxn counts an ended transaction in Stats and the metrics (a
// commit is also the stage's offset commit).
func (s *Stage) countTxn(outcome string, took time.Duration) {
	s.metrics.addTxn(outcome, took)
	if outcome == TxnCommitted {
		s.stats.txnCommitted.Add(1)
		s.stats.commits.Add(1)
	} else {
		s.stats.txnAborted.Add(1)
	}
}

// renewSession replaces the transact session after End failed.
func (s *Stage) renewSession() bool {
	s.txn.sess.Close()
	if _, err := s.newClient(); err != nil {
		s.fail(fmt.Errorf("stage %q: restarting the transactional client: %w", s.cfg.Name, err))
		return false
	}
	return true
}

// revokeHandler is the OnPartitionsRevoked callback of the stage's mode.
func (s *Stage) revokeHandler() func(context.Context, *kgo.Client, map[string][]int32) {
	if s.txn != nil {
		return s.onRevokedTxn
	}
	return s.onRevoked
}

// lostHandler is the OnPartitionsLost callback of the stage's mode.
func (s *Stage) lostHandler() func(context.Context, *kgo.Client, map[string][]int32) {
	if s.txn != nil {
		return s.onRevokedTxn
	}
	return s.onLost
}

// onRevokedTxn: the session will abort the open transaction (a commit
// after a revoke could hand the new owner offsets whose outputs are not
// ours to commit), and the abort rewinds every partition, not only the
// revoked ones. So all in-flight work is abandoned at once and the
// transaction loop ends the transaction as soon as it has drained. The
// callback must not wait: the session holds a lock End needs.
func (s *Stage) onRevokedTxn(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if len(revoked) == 0 {
		return // a cooperative rebalance that took nothing from us
	}
	if n, _ := s.tracker.inFlight(); n > 0 {
		s.doomTxn("partitions were revoked")
	}
	s.metrics.forget(s.tracker.take(revoked))
	s.log.Info("partitions revoked", zap.Any("partitions", revoked))
}

// doomTxn makes the open transaction abort and abandons all its in-flight
// work at once: the abort rewinds every partition, so finishing it would
// be wasted.
func (s *Stage) doomTxn(why string) {
	s.txn.doom(why)
	for _, p := range s.tracker.all() {
		p.abandoned.Store(true)
	}
	s.tracker.wake()
}

// transactionLost reports a produce error that means the transaction is
// gone rather than the record unwritable.
func transactionLost(err error) bool {
	return errors.Is(err, kerr.InvalidProducerEpoch) || errors.Is(err, kerr.ProducerFenced) ||
		errors.Is(err, kerr.InvalidTxnState) || errors.Is(err, kerr.TransactionAbortable) ||
		errors.Is(err, kerr.InvalidProducerIDMapping) || errors.Is(err, kerr.TransactionalIDNotFound)
}

// txnProduceFailed handles a failed write in an exactly-once stage: the
// transaction cannot commit, so it is doomed and its records abandoned;
// the record whose write failed is released so the drain can finish. A
// failed output write, or a DLQ write with on_write_failure "stop", also
// stops the stage once the transaction is aborted; otherwise the records
// are processed again in the next transaction (for "drop" too: dropping
// one write would mean committing a transaction that lost it).
func (s *Stage) txnProduceFailed(in *inflight, rec *kgo.Record, err error, dlq bool) {
	if s.hardCtx.Err() != nil {
		s.outputAcked(in)
		return
	}
	failure := fmt.Errorf("%w: writing to topic %q: %v", ErrProduce, rec.Topic, err)
	switch {
	case transactionLost(err):
		// The broker ended the transaction (it outlived
		// transaction.timeout) or a newer instance fenced this one: not
		// this record's fault. Abort; End fails and the session is
		// renewed, and the records are processed again.
	case !dlq || s.cfg.DLQPolicy.OnWriteFailure == config.DLQWriteStop:
		s.txn.produceErr.CompareAndSwap(nil, &failure)
	}
	s.doomTxn(failure.Error())
	s.log.Warn("a write failed; aborting the transaction", zap.Error(failure))
	s.outputAcked(in)
}
