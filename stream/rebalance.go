package stream

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// onAssigned logs the partitions the group gave this instance; their
// state is created lazily when their first records arrive.
func (s *Stage) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	s.log.Info("partitions assigned", zap.Any("partitions", assigned))
}

// onRevoked runs when the group takes partitions away (a rebalance, or our
// own Close). Polling is blocked meanwhile (BlockRebalanceOnPoll), so no
// new records of these partitions arrive. We give their in-flight records
// up to Timeouts.Drain to finish, commit what is done, and abandon the rest:
// the next owner starts from the committed offset, so nothing is lost (the
// abandoned records may be processed twice: at-least-once).
func (s *Stage) onRevoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	parts := s.tracker.take(revoked)
	if len(parts) == 0 {
		return
	}
	stop := make(chan struct{})
	timer := time.AfterFunc(s.cfg.Timeouts.Drain, func() { close(stop); s.tracker.wake() })
	hardStop := context.AfterFunc(s.hardCtx, func() { s.tracker.wake() })
	drained := s.tracker.waitDrained(parts, stop, s.hardCtx)
	timer.Stop()
	hardStop()
	if !drained {
		for _, p := range parts {
			if p.open() > 0 {
				p.abandoned.Store(true)
				s.log.Warn("partition revoked before its records finished; abandoning them for the next owner",
					zap.String("topic", p.topic), zap.Int32("partition", p.partition), zap.Duration("drain_timeout", s.cfg.Timeouts.Drain))
			}
		}
	}
	s.commit(parts, "revoke")
	s.log.Info("partitions revoked", zap.Any("partitions", revoked), zap.Bool("drained", drained))
}

// onLost runs when partitions are lost without a chance to commit (session
// expiry, fencing): their in-flight work is abandoned at once.
func (s *Stage) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	parts := s.tracker.take(lost)
	for _, p := range parts {
		p.abandoned.Store(true)
	}
	s.metrics.forget(parts)
	s.tracker.wake()
	s.log.Warn("partitions lost", zap.Any("partitions", lost))
}
