package stream

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// inflight is one input record between poll and done.
type inflight struct {
	rec   *kgo.Record
	chunk *chunk
	// pending counts outputs not yet acknowledged, plus one held while the
	// record's results are being produced, so acks that arrive early cannot
	// finish the record before all its outputs were handed to the producer.
	pending atomic.Int32
	// crashes counts node crashes or timeouts this record was implicated
	// in; only the owning worker touches it.
	crashes   int
	lastCrash string
	// blameKind is the kind of the crashes an exactly-once stage
	// remembered for this record from an aborted transaction (eos_blame.go).
	blameKind string
	// fail is the record's retry state (retry.go); nil until it fails.
	fail *failure
	// dec is the decoded value of a typed input topic's record (codecs.go);
	// nil until decoded, and always for raw topics. Only the owning worker
	// sets it. A pointer keeps raw records' window entries small.
	dec *decoded
}

// size is the record's bytes in the window: key, stored value and, once
// decoded, the decoded value.
func (in *inflight) size() int64 {
	n := int64(len(in.rec.Key) + len(in.rec.Value))
	if in.dec != nil {
		n += in.dec.extra
	}
	return n
}

// frameSize is the exact number of bytes the record takes in a batch frame
// (with the value the node sees).
func (in *inflight) frameSize() int {
	r := in.rec
	n := 4 + len(r.Topic) + 4 + 8 + 8 + 4 + len(r.Key) + 4 + len(in.value()) + 4
	for _, h := range r.Headers {
		n += 4 + len(h.Key) + 4 + len(h.Value)
	}
	return n
}

// chunk is the records of one partition returned by one poll: the unit at
// which offsets advance and the window is released.
type chunk struct {
	part      *partState
	recs      []inflight
	remaining atomic.Int32
	bytes     int64
	done      bool // guarded by part.mu
}

// partState tracks one assigned partition. A new partState is made each
// time the partition is assigned, so late completions of a previous
// assignment can never move the offsets of the current one.
type partState struct {
	topic     string
	partition int32

	mu          sync.Mutex
	chunks      []*chunk // in offset order; done ones are popped from the front
	committable kgo.EpochOffset
	committed   int64
	// abandoned is set when the partition was revoked or lost before its
	// work finished: its remaining records are skipped, nothing more is
	// produced or committed for it.
	abandoned atomic.Bool
}

func newPartState(topic string, partition int32) *partState {
	return &partState{topic: topic, partition: partition, committable: kgo.EpochOffset{Epoch: -1, Offset: -1}, committed: -1}
}

// open reports how many chunks of the partition are not done.
func (p *partState) open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.chunks)
}

// tracker owns the partition states and the in-flight window.
type tracker struct {
	mu    sync.Mutex
	cond  *sync.Cond // signalled when work finishes (window space, drains)
	parts map[tpKey]*partState

	maxRecords int
	maxBytes   int64
	records    int
	bytes      int64
}

type tpKey struct {
	topic     string
	partition int32
}

func newTracker(maxRecords int, maxBytes int64) *tracker {
	t := &tracker{parts: map[tpKey]*partState{}, maxRecords: maxRecords, maxBytes: maxBytes}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// add registers the records of one partition from one poll as a chunk and
// returns it; the caller hands its records to a worker.
func (t *tracker) add(recs []*kgo.Record) *chunk {
	first := recs[0]
	t.mu.Lock()
	k := tpKey{first.Topic, first.Partition}
	p := t.parts[k]
	if p == nil {
		p = newPartState(first.Topic, first.Partition)
		t.parts[k] = p
	}
	c := &chunk{part: p, recs: make([]inflight, len(recs))}
	for i, r := range recs {
		c.recs[i].rec = r
		c.recs[i].chunk = c
		c.bytes += c.recs[i].size()
	}
	c.remaining.Store(int32(len(recs)))
	t.records += len(recs)
	t.bytes += c.bytes
	t.mu.Unlock()

	p.mu.Lock()
	p.chunks = append(p.chunks, c)
	p.mu.Unlock()
	return c
}

// grow adds n bytes to the window: values decoded for the node (codecs.go).
func (t *tracker) grow(n int64) {
	if n == 0 {
		return
	}
	t.mu.Lock()
	t.bytes += n
	t.mu.Unlock()
}

// free returns how many records may be polled now (0 when the window is
// full by records or by bytes).
func (t *tracker) free() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.freeLocked()
}

func (t *tracker) freeLocked() int {
	if t.bytes >= t.maxBytes {
		return 0
	}
	return max(t.maxRecords-t.records, 0)
}

// waitFree blocks until the window has room for a worthwhile poll (a
// quarter of the window, or everything when it is empty) or stop is closed.
func (t *tracker) waitFree(stop <-chan struct{}) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		if n := t.freeLocked(); n >= t.lowWater() || (n > 0 && t.records == 0) {
			return n
		}
		select {
		case <-stop:
			return 0
		default:
		}
		t.cond.Wait()
	}
}

// lowWater is the free space at which a waiting poll loop is woken: polling
// for a handful of records at a time would cost more than it gains.
func (t *tracker) lowWater() int { return max(t.maxRecords/4, 1) }

// wake wakes every waiter (used when stopping).
func (t *tracker) wake() {
	t.mu.Lock()
	t.cond.Broadcast()
	t.mu.Unlock()
}

// recordDone is called once per input record when all its outputs are
// acknowledged (or it was skipped because its partition was abandoned).
func (t *tracker) recordDone(in *inflight) {
	// The window is released record by record, so polling resumes as soon
	// as there is room, not when a whole poll's worth of records is done.
	t.mu.Lock()
	wasWaiting := t.freeLocked() < t.lowWater()
	t.records--
	t.bytes -= in.size()
	if wasWaiting && t.freeLocked() >= t.lowWater() {
		t.cond.Broadcast()
	}
	t.mu.Unlock()

	c := in.chunk
	if c.remaining.Add(-1) != 0 {
		return
	}
	p := c.part
	p.mu.Lock()
	c.done = true
	popped := 0
	for len(p.chunks) > 0 && p.chunks[0].done {
		head := p.chunks[0]
		// Records of an abandoned partition are released without being
		// processed: they must never move the committable offset.
		if !p.abandoned.Load() {
			last := head.recs[len(head.recs)-1].rec
			p.committable = kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}
		}
		p.chunks[0] = nil
		p.chunks = p.chunks[1:]
		popped++
	}
	p.mu.Unlock()

	// Drains wait for chunks to finish.
	t.mu.Lock()
	t.cond.Broadcast()
	t.mu.Unlock()
}

// take removes the given partitions from the tracker and returns their
// states (revocation); records already in flight keep their pointers.
func (t *tracker) take(topics map[string][]int32) []*partState {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*partState
	for topic, ps := range topics {
		for _, p := range ps {
			k := tpKey{topic, p}
			if st := t.parts[k]; st != nil {
				out = append(out, st)
				delete(t.parts, k)
			}
		}
	}
	return out
}

// takeAll removes every partition state (an exactly-once stage after each
// transaction) and returns them.
func (t *tracker) takeAll() []*partState {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*partState, 0, len(t.parts))
	for k, p := range t.parts {
		out = append(out, p)
		delete(t.parts, k)
	}
	return out
}

// all returns every current partition state.
func (t *tracker) all() []*partState {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*partState, 0, len(t.parts))
	for _, p := range t.parts {
		out = append(out, p)
	}
	return out
}

// inFlight reports the records and bytes in the window.
func (t *tracker) inFlight() (int, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.records, t.bytes
}

// waitDrained blocks until none of parts has open chunks, or stop closes.
// It reports whether they all drained.
func (t *tracker) waitDrained(parts []*partState, stop <-chan struct{}, hard context.Context) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		all := true
		for _, p := range parts {
			if p.open() > 0 {
				all = false
				break
			}
		}
		if all {
			return true
		}
		select {
		case <-stop:
			return false
		case <-hard.Done():
			return false
		default:
		}
		t.cond.Wait()
	}
}

// committableOffsets collects, for parts, the offsets that advanced past
// what was last committed.
func committableOffsets(parts []*partState) map[string]map[int32]kgo.EpochOffset {
	out := map[string]map[int32]kgo.EpochOffset{}
	for _, p := range parts {
		p.mu.Lock()
		eo := p.committable
		fresh := eo.Offset >= 0 && eo.Offset > p.committed
		p.mu.Unlock()
		if !fresh {
			continue
		}
		if out[p.topic] == nil {
			out[p.topic] = map[int32]kgo.EpochOffset{}
		}
		out[p.topic][p.partition] = eo
	}
	return out
}

// markCommitted records a successful commit so it is not repeated.
func markCommitted(parts []*partState, offs map[string]map[int32]kgo.EpochOffset) {
	for _, p := range parts {
		if eo, ok := offs[p.topic][p.partition]; ok {
			p.mu.Lock()
			if eo.Offset > p.committed {
				p.committed = eo.Offset
			}
			p.mu.Unlock()
		}
	}
}
