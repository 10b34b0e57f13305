package stream

import (
	"context"
	"errors"
	"sort"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Bounds make a stage bounded (Options.Bounded): it reads a fixed offset
// range of each input partition by direct assignment — no consumer group,
// so the live group of the stage is neither joined nor committed to — runs
// the records through the stage's node exactly as the normal mode does
// (batches, crashes, retries, DLQ), and Run returns by itself once every
// partition has reached its stop offset and every result is produced and
// acknowledged. `sluice replay` is built on it.
type Bounds struct {
	// Start is, per partition of the input topic, the first offset to
	// read; Stop the offset to stop before. A partition missing from
	// either map, or whose Start is not below its Stop, is not read.
	Start, Stop map[int32]int64
	// From and To bound the records' timestamps: a record read whose
	// timestamp is before From or not before To is skipped (not sent to
	// the node); timestamps need not grow with offsets. A zero time leaves
	// that side open.
	From, To time.Time
	// Tag, when set, is the value of a HeaderReplay header added to every
	// output and DLQ record, so consumers can tell the records of this run
	// from the live ones.
	Tag string
}

// BoundedProgress is how far a bounded stage has got.
type BoundedProgress struct {
	// Total is the number of offsets in the bounds (the sum of Stop-Start
	// over the partitions read); Done how many of them have been read.
	// Both count transaction markers, so Done reaches Total at the end.
	// Completed is Done minus the records still in flight: the offsets
	// fully handled (processed and produced, or skipped); the measure of
	// progress, as reading runs ahead of processing by up to the window.
	Total, Done, Completed int64
	// Read counts the records read within the offset bounds; InRange
	// those of them whose timestamp is within [From, To), which are the
	// ones processed.
	Read, InRange int64
	// Partitions is the number of partitions with something to read,
	// Finished how many of them reached their stop offset.
	Partitions, Finished int
}

// bounded is the state of a bounded stage's poll loop.
type bounded struct {
	b     Bounds
	parts map[int32]*boundedPart // fixed at New; read concurrently
	order []int32
	total int64

	read, inRange, finished atomic.Int64
}

type boundedPart struct {
	start, stop int64
	next        atomic.Int64 // offset after the last one read
	done        bool         // poll loop only
}

func newBounded(b Bounds) *bounded {
	bd := &bounded{b: b, parts: map[int32]*boundedPart{}}
	for p, start := range b.Start {
		stop, ok := b.Stop[p]
		if !ok || start < 0 || start >= stop {
			continue
		}
		bp := &boundedPart{start: start, stop: stop}
		bp.next.Store(start)
		bd.parts[p] = bp
		bd.order = append(bd.order, p)
		bd.total += stop - start
	}
	sort.Slice(bd.order, func(i, j int) bool { return bd.order[i] < bd.order[j] })
	return bd
}

func (bd *bounded) allFinished() bool { return int(bd.finished.Load()) == len(bd.parts) }

// inTime reports whether ts is within [From, To).
func (bd *bounded) inTime(ts time.Time) bool {
	if !bd.b.From.IsZero() && ts.Before(bd.b.From) {
		return false
	}
	return bd.b.To.IsZero() || ts.Before(bd.b.To)
}

// take filters the records of partition p from one poll: those before
// the stop offset, not transaction markers, with a timestamp in range.
// It reports whether the partition reached its stop offset.
func (bd *bounded) take(p int32, recs []*kgo.Record) (keep []*kgo.Record, finished bool) {
	bp := bd.parts[p]
	if bp == nil || bp.done {
		return nil, false
	}
	var read, inRange int64
	for _, r := range recs {
		if r.Offset < bp.start {
			continue
		}
		if r.Offset >= bp.stop {
			finished = true
			break
		}
		bp.next.Store(r.Offset + 1)
		if r.Offset+1 >= bp.stop {
			finished = true
		}
		if r.Attrs.IsControl() {
			continue
		}
		read++
		if bd.inTime(r.Timestamp) {
			inRange++
			keep = append(keep, r)
		}
	}
	bd.read.Add(read)
	bd.inRange.Add(inRange)
	if finished {
		bp.done = true
		bp.next.Store(bp.stop)
		bd.finished.Add(1)
	}
	return keep, finished
}

// BoundedProgress reports the progress of a bounded stage (zero for a
// normal one). Safe to call while Run runs.
func (s *Stage) BoundedProgress() BoundedProgress {
	bd := s.bounded
	if bd == nil {
		return BoundedProgress{}
	}
	pr := BoundedProgress{Total: bd.total, Read: bd.read.Load(), InRange: bd.inRange.Load(),
		Partitions: len(bd.parts), Finished: int(bd.finished.Load())}
	for _, bp := range bd.parts {
		pr.Done += bp.next.Load() - bp.start
	}
	inFlight, _ := s.tracker.inFlight()
	pr.Completed = max(pr.Done-int64(inFlight), 0)
	return pr
}

// boundedConsumerOpts replace the consumer group options in bounded mode:
// each partition is assigned directly at its start offset, and
// transaction markers are kept so a partition whose range ends with one
// is seen to reach its stop offset.
func (s *Stage) boundedConsumerOpts() []kgo.Opt {
	offs := map[int32]kgo.Offset{}
	for p, bp := range s.bounded.parts {
		offs[p] = kgo.NewOffset().At(bp.start)
	}
	return []kgo.Opt{
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.cfg.Input: offs}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.KeepControlRecords(),
	}
}

// boundedPollLoop is pollLoop for a bounded stage: it reads each
// partition up to its stop offset, hands the records in range to the
// workers, and returns once everything read is done (produced and
// acknowledged) — or at a stop, like pollLoop.
func (s *Stage) boundedPollLoop() {
	bd := s.bounded
	s.log.Info("bounded run starting", zap.Int("partitions", len(bd.parts)), zap.Int64("offsets", bd.total),
		zap.Time("from", bd.b.From), zap.Time("to", bd.b.To))
	for !bd.allFinished() {
		n := s.tracker.waitFree(s.softCtx.Done())
		if n == 0 || s.softCtx.Err() != nil {
			return
		}
		fetches := s.cl.PollRecords(s.softCtx, n)
		if fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				s.log.Warn("fetch error", zap.String("topic", t), zap.Int32("partition", p), zap.Error(err))
			}
		})
		total := 0
		var finished []int32
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			recs, fin := bd.take(fp.Partition, fp.Records)
			if fin {
				finished = append(finished, fp.Partition)
			}
			if len(recs) == 0 {
				return
			}
			c := s.tracker.add(recs)
			in := make([]*inflight, len(c.recs))
			for i := range c.recs {
				in[i] = &c.recs[i]
			}
			s.workerFor(fp.Partition).enqueue(in)
			total += len(in)
		})
		s.stats.consumed.Add(int64(total))
		if len(finished) > 0 {
			// Nothing more is wanted from them: stop fetching what lies
			// beyond the range.
			s.cl.PauseFetchPartitions(map[string][]int32{s.cfg.Input: finished})
		}
	}
	s.log.Info("bounded run: every partition read; waiting for the last results")
	s.tracker.waitEmpty(s.softCtx.Done())
}

// waitEmpty blocks until no record is in flight, or stop closes.
func (t *tracker) waitEmpty(stop <-chan struct{}) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.records > 0 {
		select {
		case <-stop:
			return false
		default:
		}
		t.cond.Wait()
	}
	return true
}
