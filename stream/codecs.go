package stream

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream/codec"
	"github.com/sluicehq/sluice/stream/protocol"
)

// Typed topics (Options.Codecs, package codec): the node sees JSON whatever
// its topics' formats. Each input record's value is decoded for the node
// (Avro -> JSON) and each output's value encoded with its output topic's
// codec; a value that does not fit goes to the DLQ with kind "schema"
// instead — an input before it reaches the node, an output before anything
// of its input record is produced (a quality gate: nothing that breaks a
// topic's schema is written to it). A codec that fails for another
// reason (a Schema Registry that cannot be reached) stops the stage
// instead: the record is fine, and must not be lost to the DLQ. Keys are
// passed as they are: key formats are out of scope.
//
// The kgo.Record of an input stays as it was polled: the DLQ record,
// lineage and replay all carry the stored bytes; the decoded value lives
// beside it (inflight.dec).

// stageCodecs are the codecs a stage uses. All nil (raw topics, or no
// Options.Codecs) costs nothing on the record path.
type stageCodecs struct {
	// input decodes the input topic's values for the node; nil when the
	// node gets them as stored (a raw topic, or node.values: raw).
	input codec.Codec
	// out are the codecs of the typed (non-raw) output topics, by topic;
	// nil when every output topic is raw.
	out map[string]codec.Codec
	// rawValues: the node asked for stored bytes (node.values: raw), so
	// its outputs are already in wire form and are only checked.
	rawValues bool
}

func newStageCodecs(set *codec.Set, st *config.Stage) stageCodecs {
	sc := stageCodecs{rawValues: st.Node.Values == config.NodeValuesRaw}
	if set == nil {
		return sc
	}
	if c := set.For(st.Input); !sc.rawValues && c.Format() != config.FormatRaw {
		sc.input = c
	}
	for _, t := range st.Outputs {
		if c := set.For(t); c.Format() != config.FormatRaw {
			if sc.out == nil {
				sc.out = map[string]codec.Codec{}
			}
			sc.out[t] = c
		}
	}
	return sc
}

// decoded is an input record's value decoded for the node.
type decoded struct {
	val []byte
	// err is why the value did not decode (val is nil then): a
	// *codec.Error, the value's fault (the record goes to the DLQ), or
	// another error, the codec's (the stage stops: see codecFailed).
	err error
	// extra is the bytes val holds besides the stored value, counted in
	// the window: 0 when the codec handed back the stored bytes (a JSON
	// topic) or failed.
	extra int64
}

// value is what the node sees of the record's value: decoded, or as stored.
func (in *inflight) value() []byte {
	if in.dec != nil {
		return in.dec.val
	}
	return in.rec.Value
}

// decodeErr is why the record's value did not decode, or nil.
func (in *inflight) decodeErr() error {
	if in.dec != nil {
		return in.dec.err
	}
	return nil
}

// decode decodes v with c into d and returns the bytes it adds to the
// window.
func (d *decoded) decode(c codec.Codec, v []byte) int64 {
	val, err := c.Decode(v)
	if err != nil {
		d.err = err
		return 0
	}
	d.val = val
	if len(val) > 0 && (len(v) == 0 || &val[0] != &v[0]) {
		d.extra = int64(len(val))
	}
	return d.extra
}

// ready reports whether in can be batched: its value is decoded (or failed
// to decode), or the stage does not decode. A record sent again (after a
// crash or a retry) keeps its decoded value.
func (w *worker) ready(in *inflight) bool {
	return w.s.codecs.input == nil || in.dec != nil
}

// decodeAhead decodes the values of the first n queued records not decoded
// yet. Decoding happens here, in the worker's goroutine, rather than in
// the poll loop: the poll loop is one goroutine for the whole stage, so
// decoding there would put every worker's decoding (Avro -> JSON is the
// costliest per-record step of a typed stage) on one core and hold up
// polling; each worker decodes its own partitions' records in parallel,
// just before batching them (so frame sizes and batch byte limits count
// the decoded value), while its node works on the batches already sent.
// The records are decoded outside the queue lock, so enqueue never waits.
func (w *worker) decodeAhead(n int) {
	todo := w.decodeBuf[:0]
	w.mu.Lock()
	for _, in := range w.queue {
		if len(todo) == n {
			break
		}
		if !w.ready(in) && !in.chunk.part.abandoned.Load() {
			todo = append(todo, in)
		}
	}
	w.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	// One allocation for the batch's decoded values.
	decs := make([]decoded, len(todo))
	var grown int64
	for i, in := range todo {
		grown += decs[i].decode(w.s.codecs.input, in.rec.Value)
		in.dec = &decs[i]
	}
	// The decoded values are held until the records are done: count them
	// in the window's bytes, so window.bytes still bounds memory.
	w.s.tracker.grow(grown)
	clear(todo)
	w.decodeBuf = todo[:0]
}

// encodeOutputs puts each output's value of in into its output topic's
// wire form (or, when the node wrote wire form itself, node.values: raw,
// checks it). When an output does not fit, the input record goes to the
// DLQ whole, none of its outputs is produced, and it returns false.
func (s *Stage) encodeOutputs(in *inflight, r *protocol.Result, topics []string) bool {
	for i := range r.Outputs {
		c := s.codecs.out[topics[i]]
		if c == nil {
			continue
		}
		o := &r.Outputs[i]
		var err error
		if s.codecs.rawValues {
			err = c.Check(o.Value)
		} else {
			var v []byte
			if v, err = c.Encode(o.Value); err == nil {
				o.Value = v
			}
		}
		if err != nil {
			if !isValueError(err) {
				s.codecFailed(in, fmt.Sprintf("output %q to topic %q", outputName(o), topics[i]), err)
				return false
			}
			s.deadLetter(in, fmt.Sprintf("output %q to topic %q: %s", outputName(o), topics[i], schemaReason(err)), KindSchema, 1)
			return false
		}
	}
	return true
}

// isValueError reports whether a codec's error is the value's fault (a
// *codec.Error): the record goes to the DLQ. Any other error is the
// codec's (a Schema Registry that cannot be asked about a schema id) and
// says nothing about the record.
func isValueError(err error) bool {
	var ce *codec.Error
	return errors.As(err, &ce)
}

// codecFailed stops the stage on a codec failure that is not the record's
// fault: sending a good record to the DLQ because a registry is down
// would take it out of the pipeline. Like a record over the DLQ rate cap,
// in is left undone, so it and its partition's later records stay
// uncommitted and are read again by the next run.
func (s *Stage) codecFailed(in *inflight, doing string, err error) {
	r := in.rec
	s.fail(fmt.Errorf("%w: stage %q: record %s/%d@%d: %s: %v; stopping, the record stays uncommitted",
		ErrCodec, s.cfg.Name, r.Topic, r.Partition, r.Offset, doing, err))
}

// schemaReason is what is wrong with a value, without the topic (the
// caller names it): "field `value`: expected double, got string "hot"".
func schemaReason(err error) string {
	var ce *codec.Error
	if !errors.As(err, &ce) {
		return err.Error()
	}
	if ce.Field == "" {
		return ce.Reason
	}
	return fmt.Sprintf("field `%s`: %s", ce.Field, ce.Reason)
}
