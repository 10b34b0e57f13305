package stream

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sluicehq/sluice/stream/protocol"
)

// worker owns one node co-process and the records of the partitions routed
// to it. Its run loop is the only goroutine that touches the node: it forms
// batches, keeps up to Window.Batches of them in flight (pipelining), applies
// answers in order, and supervises the process (restart with backoff,
// timeouts, crash isolation).
type worker struct {
	s   *Stage
	id  int
	log *zap.Logger

	mu     sync.Mutex
	queue  []*inflight // not yet sent, in arrival order (per partition: offset order)
	notify chan struct{}

	// Owned by the run goroutine.
	proc     *nodeProc
	sent     []*sentBatch
	nextID   uint64
	isolate  int // records to send one at a time after a crash
	frameBuf []byte
	// decodeBuf is decodeAhead's scratch list (typed input topics).
	decodeBuf []*inflight
	progress  time.Time // last time the node answered (or was sent work while idle)

	consecutiveCrashes int
	startFailures      int
	spool              *spool // files mode only, made on first use
	// parks are the partitions waiting for a record's retry (park.go).
	parks map[*partState]*park
}

type sentBatch struct {
	id   uint64
	recs []*inflight
	path string // files mode: the spool file
	sent time.Time
}

func newWorker(s *Stage, id int) *worker {
	return &worker{s: s, id: id, log: s.log.With(zap.Int("worker", id)), notify: make(chan struct{}, 1)}
}

// enqueue hands records to the worker (called by the poll loop).
func (w *worker) enqueue(recs []*inflight) {
	w.mu.Lock()
	w.queue = append(w.queue, recs...)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// requeue puts records back at the front of the queue (after a crash).
func (w *worker) requeue(recs []*inflight) {
	w.mu.Lock()
	w.queue = append(recs, w.queue...)
	w.mu.Unlock()
}

func (w *worker) queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

// batchOverhead is a batch frame's bytes besides its records: length,
// type, id and count.
const batchOverhead = 4 + 1 + 8 + 4

// nextBatch takes the next batch from the queue: at most maxRecords records
// whose frame stays within maxBytes. Records of abandoned partitions are
// released, never sent; those of parked partitions join the park; a record
// that alone would exceed the node's frame limit, or whose value did not
// decode (typed input topic), goes to the DLQ instead of to the node.
func (w *worker) nextBatch(maxRecords int, maxBytes int64) []*inflight {
	limit := min(maxBytes, w.s.cfg.MaxFrame) - batchOverhead
	// rejected go to the DLQ, in queue order (so, per partition, in
	// offset order); rejectReason says why.
	var rejected []*inflight
	var out []*inflight
	var bytes int64
	for {
		if w.s.codecs.input != nil {
			w.decodeAhead(maxRecords - len(out))
		}
		// more: the batch has room, but the next record is not decoded
		// yet (decodeAhead decoded fewer, as some were skipped).
		more := false
		w.mu.Lock()
		i := 0
		for ; i < len(w.queue) && len(out) < maxRecords; i++ {
			in := w.queue[i]
			if in.chunk.part.abandoned.Load() {
				w.s.recordDone(in)
				continue
			}
			if w.parked(in) {
				continue
			}
			if in.crashes >= w.s.cfg.Retries {
				// Blamed for crashes before an aborted transaction
				// (exactly-once, eos_blame.go): its budget is spent.
				rejected = append(rejected, in)
				continue
			}
			if !w.ready(in) {
				more = true
				break
			}
			if in.decodeErr() != nil {
				rejected = append(rejected, in)
				continue
			}
			sz := int64(in.frameSize())
			if sz > w.s.cfg.MaxFrame-batchOverhead {
				rejected = append(rejected, in)
				continue
			}
			if len(out) > 0 && bytes+sz > limit {
				break
			}
			out = append(out, in)
			bytes += sz
		}
		clear(w.queue[:i])
		w.queue = w.queue[i:]
		w.mu.Unlock()
		if !more {
			break
		}
	}
	for _, in := range rejected {
		reason, kind, attempts := w.rejectReason(in)
		if kind == KindSchema && !isValueError(in.decodeErr()) {
			// Not the value's fault: a registry that cannot be asked.
			w.s.codecFailed(in, "decoding its value", in.decodeErr())
			continue
		}
		w.s.deadLetter(in, reason, kind, attempts)
	}
	return out
}

// rejectReason says why nextBatch sends in to the DLQ instead of to the
// node: its crash budget is spent, its value did not decode, or it is too
// large for a frame.
func (w *worker) rejectReason(in *inflight) (reason, kind string, attempts int) {
	switch {
	case in.crashes >= w.s.cfg.Retries:
		return fmt.Sprintf("node failed %d times while processing this record (before its transaction was aborted); last: %s",
			in.crashes, in.lastCrash), in.blameKind, in.crashes
	case in.decodeErr() != nil:
		// The *codec.Error names the topic, the field and the reason.
		return in.decodeErr().Error(), KindSchema, 0
	default:
		return fmt.Sprintf("record takes %d bytes in a batch frame, over the node frame limit (max_frame %d)",
			in.frameSize(), w.s.cfg.MaxFrame), KindTooLarge, 0
	}
}

// run is the worker loop; it returns when the stage stops (soft: after
// everything queued, parked and sent is done; hard: at once) or fails.
func (w *worker) run() {
	defer func() {
		if w.spool != nil {
			defer w.spool.remove()
		}
		if w.proc == nil {
			return
		}
		if w.s.hardCtx.Err() != nil {
			w.proc.release() // hard stop: no time left for a polite exit
			<-w.proc.exited
		} else {
			w.proc.shutdown(w.s.cfg.Timeouts.Shutdown)
		}
		w.proc = nil
	}()
	for {
		if w.s.hardCtx.Err() != nil {
			return
		}
		w.unpark(time.Now())
		if w.stopping() && len(w.sent) == 0 && w.queued() == 0 && len(w.parks) == 0 {
			return
		}
		if w.proc == nil {
			if w.queued() == 0 && len(w.sent) == 0 && w.s.started[w.id] {
				// Lazily restart only when there is work; the first start
				// happens at once so a broken node is reported early.
				if !w.waitForWork() {
					return
				}
				continue
			}
			if !w.start() {
				return
			}
			continue
		}
		w.fill()
		if !w.wait() {
			return
		}
	}
}

func (w *worker) stopping() bool {
	select {
	case <-w.s.pollDone:
		return true
	default:
		return false
	}
}

// waitForWork blocks until records arrive, a park is due, or the stage
// stops (a soft stop waits for parked records).
func (w *worker) waitForWork() bool {
	parkDue, stop := w.parkTimer()
	defer stop()
	var soft <-chan struct{}
	if len(w.parks) == 0 {
		soft = w.s.pollDone
	}
	select {
	case <-w.notify:
		return true
	case <-parkDue:
		return true
	case <-soft:
		return w.queued() > 0
	case <-w.s.hardCtx.Done():
		return false
	}
}

// start launches the node, with exponential backoff after failures. It
// returns false when the stage must stop (fatal error or hard stop).
func (w *worker) start() bool {
	failures := w.startFailures + w.consecutiveCrashes
	if failures > 0 {
		d := w.s.backoff(failures)
		w.log.Info("restarting node after backoff", zap.Duration("backoff", d))
		select {
		case <-time.After(d):
		case <-w.s.hardCtx.Done():
			return false
		}
	}
	// The node's own lines (stderr) and the process's log carry its name.
	p, err := startNode(w.s.hardCtx, w.s.cfg, w.id, w.s.cfg.Window.Batches, w.log.With(zap.String("node", w.nodeName())), w.s.opts.SecretEnv...)
	if err != nil {
		if w.s.hardCtx.Err() != nil {
			return false
		}
		var se *startError
		if errors.Is(err, ErrProtocolVersion) || (errors.As(err, &se) && se.permanent) {
			w.s.fail(fmt.Errorf("stage %q: starting node %q: %w", w.s.cfg.Name, w.s.cfg.Node.Command, err))
			return false
		}
		w.startFailures++
		w.s.stats.nodeStartFailures.Add(1)
		w.s.metrics.addRestart(RestartStart)
		w.log.Error("node failed to start", zap.Error(err), zap.Int("consecutive_failures", w.startFailures))
		if w.startFailures >= w.s.cfg.MaxStartFailures {
			w.s.fail(fmt.Errorf("%w: stage %q: node %q failed to start %d times in a row; last: %v", ErrNodeStart, w.s.cfg.Name, w.s.cfg.Node.Command, w.startFailures, err))
			return false
		}
		return true
	}
	w.startFailures = 0
	w.s.started[w.id] = true
	w.proc = p
	w.progress = time.Now()
	w.s.stats.nodeStarts.Add(1)
	w.log.Info("node started", zap.Int("pid", p.pid()), zap.String("node", p.ack.Name), zap.String("node_version", p.ack.NodeVersion))
	w.s.markReady()
	return true
}

// fill sends batches while the pipelining window has room.
func (w *worker) fill() {
	depth := w.s.cfg.Window.Batches
	maxRecs := w.s.cfg.Batch.MaxRecords
	if w.isolate > 0 {
		depth, maxRecs = 1, 1
	}
	for len(w.sent) < depth {
		recs := w.nextBatch(maxRecs, w.s.cfg.Batch.MaxBytes)
		if len(recs) == 0 {
			return
		}
		if len(w.sent) == 0 {
			w.progress = time.Now() // the node was idle: its clock starts now
		}
		w.nextID++
		b := &sentBatch{id: w.nextID, recs: recs, sent: time.Now()}
		frame := w.encode
		if w.proc.ack.Features&protocol.FeatureFiles != 0 {
			frame = w.spoolBatch
		}
		buf, err := frame(b)
		if err != nil {
			w.requeue(recs)
			w.s.fail(fmt.Errorf("stage %q: %w", w.s.cfg.Name, err))
			return
		}
		w.sent = append(w.sent, b)
		w.proc.writes <- buf
	}
}

// spoolBatch writes b to a spool file (files mode) and returns the
// file_batch frame naming it.
func (w *worker) spoolBatch(b *sentBatch) ([]byte, error) {
	if w.spool == nil {
		sp, err := newSpool(w.s.cfg.Name, w.id)
		if err != nil {
			return nil, err
		}
		w.spool = sp
	}
	path, err := w.spool.writeBatch(b.id, b.recs)
	if err != nil {
		return nil, fmt.Errorf("files mode: spooling batch %d: %w", b.id, err)
	}
	b.path = path
	return protocol.Append(nil, &protocol.FileBatch{ID: b.id, Count: uint32(len(b.recs)), Path: path})
}

func (w *worker) encode(b *sentBatch) ([]byte, error) {
	var buf []byte
	select {
	case buf = <-w.proc.written:
		buf = buf[:0]
	default:
	}
	buf, start := protocol.BeginFrame(buf, protocol.TypeBatch)
	buf = protocol.AppendBatchHeader(buf, b.id, len(b.recs))
	for _, in := range b.recs {
		r := in.rec
		buf = protocol.AppendRecordMeta(buf, r.Topic, r.Partition, r.Offset, r.Timestamp.UnixMilli(), r.Key, in.value())
		buf = protocol.AppendU32(buf, uint32(len(r.Headers)))
		for _, h := range r.Headers {
			buf = protocol.AppendHeader(buf, h.Key, h.Value)
		}
	}
	return protocol.EndFrame(buf, start), nil
}

// wait blocks for the next event: an answer, new work, the node's exit, a
// timeout, or a stop. It returns false when the worker must return.
func (w *worker) wait() bool {
	var timeout <-chan time.Time
	if len(w.sent) > 0 {
		d := time.Until(w.progress.Add(w.s.cfg.Timeouts.Batch))
		t := time.NewTimer(max(d, 0))
		defer t.Stop()
		timeout = t.C
	}
	var soft <-chan struct{}
	if len(w.sent) == 0 && len(w.parks) == 0 {
		soft = w.s.pollDone
	}
	parkDue, stop := w.parkTimer()
	defer stop()
	select {
	case a := <-w.proc.answers:
		if a.err != nil {
			kind := KindCrash
			if errors.Is(a.err, protocol.ErrMalformed) || errors.Is(a.err, protocol.ErrFrameTooLarge) {
				kind = KindProtocol
			}
			w.crash(w.proc.describeExit(a.err), kind)
			return true
		}
		if err := w.apply(a.msg); err != nil {
			w.crash(err, KindProtocol)
		}
		return true
	case <-w.notify:
		return true
	case <-parkDue:
		return true
	case <-timeout:
		w.crash(fmt.Errorf("node did not answer within %s (timeouts.batch); killed", w.s.cfg.Timeouts.Batch), KindTimeout)
		return true
	case <-soft:
		return w.queued() > 0
	case <-w.s.hardCtx.Done():
		return false
	}
}

// apply handles one frame from the node: the answer to the oldest batch.
func (w *worker) apply(m protocol.Message) error {
	switch m := m.(type) {
	case *protocol.Results:
		if len(w.sent) == 0 {
			return fmt.Errorf("node answered batch %d, but no batch is in flight", m.ID)
		}
		b := w.sent[0]
		if m.ID != b.id {
			return fmt.Errorf("node answered batch %d, expected batch %d (answers must come in order)", m.ID, b.id)
		}
		if len(m.Results) != len(b.recs) {
			return fmt.Errorf("node answered batch %d with %d results for %d records", m.ID, len(m.Results), len(b.recs))
		}
		w.sent[0] = nil
		w.sent = w.sent[1:]
		w.progress = time.Now()
		w.s.metrics.observeBatch(w.progress.Sub(b.sent))
		w.consecutiveCrashes = 0
		for i, in := range b.recs {
			w.answer(in, &m.Results[i])
		}
		if w.isolate > 0 {
			w.isolate = max(w.isolate-len(b.recs), 0)
		}
		return nil
	case *protocol.FileAck:
		if len(w.sent) == 0 || w.sent[0].path == "" {
			return fmt.Errorf("node sent a file_ack for batch %d, but no files-mode batch is in flight", m.ID)
		}
		b := w.sent[0]
		if m.ID != b.id {
			return fmt.Errorf("node answered batch %d, expected batch %d (answers must come in order)", m.ID, b.id)
		}
		results, err := readResults(m.Path, len(b.recs), int(w.s.cfg.MaxFrame))
		if err != nil {
			return err
		}
		os.Remove(m.Path)
		os.Remove(b.path)
		return w.apply(&protocol.Results{ID: m.ID, Results: results})
	case *protocol.Fatal:
		return fmt.Errorf("node gave up: %s", m.Message)
	default:
		return fmt.Errorf("node sent an unexpected %s frame", m.Type())
	}
}

// crash handles a dead, hung or misbehaving node: kill it, put its
// unanswered records back at the front of the queue, and work out which
// record is to blame. A crash with several records in flight cannot name
// one, so those records are re-sent one at a time ("isolation"); a crash
// with a single record in flight counts against that record, which goes to
// the DLQ once it has used up the retry budget. Records never lose their
// place: per-partition order holds across restarts.
func (w *worker) crash(reason error, kind string) {
	w.proc.release()
	w.proc = nil
	w.consecutiveCrashes++
	w.s.stats.nodeRestarts.Add(1)
	w.s.metrics.addRestart(kind)
	var recs []*inflight
	for _, b := range w.sent {
		recs = append(recs, b.recs...)
		if b.path != "" {
			os.Remove(b.path)
		}
	}
	w.sent = nil
	w.log.Warn("node failed; restarting it", zap.String("kind", kind), zap.Error(reason), zap.Int("records_in_flight", len(recs)))
	if len(recs) == 1 {
		in := recs[0]
		in.crashes++
		in.lastCrash = reason.Error()
		in.failed(time.Now())
		if w.s.txn != nil {
			w.s.txn.blame.remember(in, kind)
		}
		if in.crashes >= w.s.cfg.Retries {
			msg := fmt.Sprintf("node failed %d times while processing this record; last: %s", in.crashes, reason)
			w.s.deadLetter(in, msg, kind, in.crashes)
			recs = nil
			w.isolate = max(w.isolate-1, 0)
			w.consecutiveCrashes = 0 // the culprit is gone: restart at once
		}
	} else if len(recs) > 1 {
		w.isolate = len(recs)
	}
	if len(recs) > 0 {
		w.s.stats.retried.Add(int64(len(recs)))
		w.s.metrics.addRetried(len(recs))
		// Records of a parked partition wait in its park, or they would
		// overtake the record being retried; only the others are isolated.
		rest := w.keepParked(recs)
		if len(recs) > 1 {
			w.isolate = len(rest)
		}
		w.requeue(rest)
	}
}

// nodeName names the node in log lines: its command's base name.
func (w *worker) nodeName() string { return filepath.Base(w.s.cfg.Node.Command) }
