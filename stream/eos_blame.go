package stream

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// In at-least-once mode a record's crash budget (retries) lives on its
// inflight, which lives until the record is done. In an exactly-once stage
// an aborted transaction throws its inflights away and the records are
// polled again as new ones — and what aborts a transaction may be the very
// record that keeps hanging the node: its timeouts outlast
// transaction.timeout, the broker aborts the transaction, and a fresh
// budget would hang it again, forever. So the crashes blamed on a record
// are remembered by (partition, offset) until a transaction commits past
// it, and a record polled again starts with them; one whose budget is
// spent goes to the DLQ without being sent.

// blameKey names an input record.
type blameKey struct {
	partition int32
	offset    int64
}

// blame is what a record's inflight carried when its transaction ended.
type blame struct {
	crashes   int
	lastCrash string
	kind      string
	first     time.Time
}

// blameBook is an exactly-once stage's memory of crash blame.
type blameBook struct {
	mu    sync.Mutex
	byRec map[blameKey]blame
}

// remember records the blame of in after a crash that counted against it.
func (b *blameBook) remember(in *inflight, kind string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byRec == nil {
		b.byRec = map[blameKey]blame{}
	}
	b.byRec[blameKey{in.rec.Partition, in.rec.Offset}] = blame{crashes: in.crashes, lastCrash: in.lastCrash, kind: kind, first: in.firstFailure(time.Now())}
}

// recall gives records polled again the blame they had; it reports
// whether any had some.
func (b *blameBook) recall(recs []inflight) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.byRec) == 0 {
		return false
	}
	found := false
	for i := range recs {
		in := &recs[i]
		if bl, ok := b.byRec[blameKey{in.rec.Partition, in.rec.Offset}]; ok {
			in.crashes, in.lastCrash, in.blameKind = bl.crashes, bl.lastCrash, bl.kind
			in.failed(bl.first)
			found = true
		}
	}
	return found
}

// forget drops the blame of records a committed transaction moved past.
func (b *blameBook) forget(committed map[string]map[int32]kgo.EpochOffset) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.byRec {
		for _, parts := range committed {
			if eo, ok := parts[k.partition]; ok && k.offset < eo.Offset {
				delete(b.byRec, k)
			}
		}
	}
}
