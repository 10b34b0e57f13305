package stream

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// commitLoop commits done offsets every CommitInterval until the hard stop.
func (s *Stage) commitLoop() {
	t := time.NewTicker(s.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.commit(s.tracker.all(), "interval")
		case <-s.hardCtx.Done():
			return
		}
	}
}

// commit synchronously commits, for parts, the offset after the last
// record that is done together with every record before it. It never
// commits past unfinished work.
func (s *Stage) commit(parts []*partState, why string) {
	if why == "revoke" {
		// Whoever owns them next reports their lag.
		defer s.metrics.forget(parts)
	}
	offs := committableOffsets(parts)
	if len(offs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	s.cl.CommitOffsetsSync(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			s.stats.commitFailures.Add(1)
			s.metrics.addCommitFailure()
			s.log.Warn("commit failed; will retry", zap.String("why", why), zap.Error(err))
			return
		}
		ok := map[string]map[int32]kgo.EpochOffset{}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil {
					s.stats.commitFailures.Add(1)
					s.metrics.addCommitFailure()
					s.log.Warn("commit failed for a partition", zap.String("topic", t.Topic), zap.Int32("partition", p.Partition), zap.Error(perr))
					continue
				}
				if eo, found := offs[t.Topic][p.Partition]; found {
					if ok[t.Topic] == nil {
						ok[t.Topic] = map[int32]kgo.EpochOffset{}
					}
					ok[t.Topic][p.Partition] = eo
				}
			}
		}
		markCommitted(parts, ok)
		s.metrics.committed(ok)
		s.stats.commits.Add(1)
	})
	s.metrics.observeCommit(time.Since(start))
	s.log.Debug("committed", zap.String("why", why), zap.Duration("took", time.Since(start)))
}
