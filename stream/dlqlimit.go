package stream

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// dlqLimit is the DLQ rate cap (dlq_policy.max_records per
// dlq_policy.per): a sliding window over the times of the DLQ records
// written recently. It keeps at most max of them, in a ring that grows
// only as far as the stage actually dead-letters, so a stage that rarely
// fails pays a few bytes. Workers call admit concurrently.
type dlqLimit struct {
	max   int
	per   time.Duration
	stage string
	input string
	dlq   string

	mu    sync.Mutex
	base  time.Time // origin of the monotonic times in ring
	ring  []time.Duration
	head  int // oldest
	count int
}

// newDLQLimit makes the cap of a stage; nil (no cap) when max is 0.
func newDLQLimit(max int, per time.Duration, stage, input, dlq string) *dlqLimit {
	if max <= 0 || per <= 0 {
		return nil
	}
	return &dlqLimit{max: max, per: per, stage: stage, input: input, dlq: dlq, base: time.Now()}
}

// dlqLimiter is the stage's DLQ rate cap (nil: none).
func (s *Stage) dlqLimiter() *dlqLimit {
	s.dlqCapOnce.Do(func() {
		// config.NoDLQCap (a file's "max_records: 0") is negative: no cap.
		p := s.cfg.DLQPolicy
		s.dlqCap = newDLQLimit(p.MaxRecords, p.Per, s.cfg.Name, s.cfg.Input, s.cfg.DLQ)
	})
	return s.dlqCap
}

// admit counts one more DLQ record at now, or returns the ErrDLQRate error
// (and counts nothing) when it would be more than max within per.
func (l *dlqLimit) admit(now time.Time) error {
	if l == nil {
		return nil
	}
	t := now.Sub(l.base) // monotonic
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.count > 0 && l.ring[l.head] <= t-l.per {
		l.head = (l.head + 1) % len(l.ring)
		l.count--
	}
	if l.count >= l.max {
		return &dlqRateError{msg: fmt.Sprintf("stage %q: %d records went to the DLQ within %s (dlq_policy: at most %d per %s); stopping so a broken node does not empty %q into %q — look at the DLQ's sluice.error headers, fix the node, and start the stage again",
			l.stage, l.max+1, formatDuration(l.per), l.max, formatDuration(l.per), l.input, l.dlq)}
	}
	if l.count == len(l.ring) {
		l.grow()
	}
	l.ring[(l.head+l.count)%len(l.ring)] = t
	l.count++
	return nil
}

// grow doubles the ring (up to max), oldest first.
func (l *dlqLimit) grow() {
	n := min(max(2*len(l.ring), 16), l.max)
	ring := make([]time.Duration, n)
	for i := range l.count {
		ring[i] = l.ring[(l.head+i)%len(l.ring)]
	}
	l.ring, l.head = ring, 0
}

// dlqRateError is the error of a stage stopped by the DLQ rate cap; it
// matches ErrDLQRate.
type dlqRateError struct{ msg string }

func (e *dlqRateError) Error() string { return e.msg }
func (e *dlqRateError) Unwrap() error { return ErrDLQRate }

// formatDuration drops the zero tails of time.Duration.String: 1m, not
// 1m0s (as the pipeline file would say it).
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
