package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every decoding error: the peer sent bytes that
// are not a valid v1 message. The connection cannot be trusted afterwards.
var ErrMalformed = errors.New("malformed frame")

// decoder reads primitives from a payload, remembering the first error. It
// never allocates more than the payload already holds: every length is
// checked against the bytes remaining before it is used.
type decoder struct {
	b   []byte
	off int
	err error
	// lastTopic lets a batch whose records share a topic allocate the
	// topic string once instead of once per record.
	lastTopic string
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated %s at byte %d of %d", ErrMalformed, what, d.off, len(d.b))
	}
}

func (d *decoder) need(n int, what string) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || len(d.b)-d.off < n {
		d.fail(what)
		return false
	}
	return true
}

func (d *decoder) u8(what string) uint8 {
	if !d.need(1, what) {
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) u16(what string) uint16 {
	if !d.need(2, what) {
		return 0
	}
	v := binary.BigEndian.Uint16(d.b[d.off:])
	d.off += 2
	return v
}

func (d *decoder) u32(what string) uint32 {
	if !d.need(4, what) {
		return 0
	}
	v := binary.BigEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

func (d *decoder) u64(what string) uint64 {
	if !d.need(8, what) {
		return 0
	}
	v := binary.BigEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *decoder) str(what string) string {
	n := d.u32(what)
	if !d.need(int(n), what) {
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

// topic is str with reuse of the previous record's topic string.
func (d *decoder) topic() string {
	n := d.u32("topic")
	if !d.need(int(n), "topic") {
		return ""
	}
	raw := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	if string(raw) != d.lastTopic { // this comparison does not allocate
		d.lastTopic = string(raw)
	}
	return d.lastTopic
}

// bytes returns a sub-slice of the payload (no copy), or nil for null. The
// capacity is clipped so that appending to it can never overwrite the
// neighbouring bytes.
func (d *decoder) bytes(what string) []byte {
	n := d.u32(what)
	if d.err != nil {
		return nil
	}
	if n == 0xFFFFFFFF {
		return nil
	}
	if !d.need(int(n), what) {
		return nil
	}
	b := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return b
}

// count reads an element count and checks it against the bytes left, given
// the smallest encoding of one element, so a hostile count cannot make us
// allocate a huge slice.
func (d *decoder) count(what string, minElem int) int {
	n := d.u32(what)
	if d.err != nil {
		return 0
	}
	if uint64(n)*uint64(minElem) > uint64(len(d.b)-d.off) {
		d.err = fmt.Errorf("%w: %s count %d exceeds the %d bytes left", ErrMalformed, what, n, len(d.b)-d.off)
		return 0
	}
	return int(n)
}

func (d *decoder) headers() []Header {
	n := d.count("header count", 8)
	if n == 0 {
		return nil
	}
	hs := make([]Header, n)
	for i := range hs {
		hs[i].Key = d.str("header key")
		hs[i].Value = d.bytes("header value")
	}
	return hs
}

func (d *decoder) stringMap() map[string]string {
	n := d.count("settings count", 8)
	m := make(map[string]string, n)
	for range n {
		k := d.str("setting key")
		m[k] = d.str("setting value")
	}
	return m
}

// Decode decodes one frame payload (the bytes after the length prefix). Keys,
// values and header values of the returned message alias payload.
func Decode(payload []byte) (Message, error) {
	if len(payload) == 0 {
		return nil, fmt.Errorf("%w: empty frame", ErrMalformed)
	}
	d := &decoder{b: payload, off: 1}
	var m Message
	switch t := MsgType(payload[0]); t {
	case TypeHello:
		h := &Hello{}
		h.Version = d.u16("version")
		h.Stage = d.str("stage")
		h.Worker = d.u32("worker")
		h.MaxFrame = d.u32("max frame")
		h.Settings = d.stringMap()
		m = h
	case TypeHelloAck:
		a := &HelloAck{}
		a.Version = d.u16("version")
		a.Name = d.str("name")
		a.NodeVersion = d.str("node version")
		a.Features = Features(d.u32("features"))
		m = a
	case TypeBatch:
		m = decodeBatch(d)
	case TypeResults:
		m = decodeResults(d)
	case TypeFileBatch:
		m = &FileBatch{ID: d.u64("batch id"), Count: d.u32("record count"), Path: d.str("path")}
	case TypeFileAck:
		m = &FileAck{ID: d.u64("batch id"), Path: d.str("path")}
	case TypeShutdown:
		m = &Shutdown{}
	case TypeFatal:
		m = &Fatal{Message: d.str("message")}
	default:
		return nil, fmt.Errorf("%w: unknown message type 0x%02x", ErrMalformed, byte(t))
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.off != len(payload) {
		return nil, fmt.Errorf("%w: %d trailing bytes after %s", ErrMalformed, len(payload)-d.off, MsgType(payload[0]))
	}
	return m, nil
}

// minRecordSize is the smallest encoded record: empty topic, partition,
// offset, timestamp, null key, null value, no headers.
const minRecordSize = 4 + 4 + 8 + 8 + 4 + 4 + 4

func decodeBatch(d *decoder) *Batch {
	b := &Batch{ID: d.u64("batch id")}
	n := d.count("record count", minRecordSize)
	b.Records = make([]Record, n)
	for i := range b.Records {
		r := &b.Records[i]
		r.Topic = d.topic()
		r.Partition = int32(d.u32("partition"))
		r.Offset = int64(d.u64("offset"))
		r.Timestamp = int64(d.u64("timestamp"))
		r.Key = d.bytes("key")
		r.Value = d.bytes("value")
		r.Headers = d.headers()
		if d.err != nil {
			break
		}
	}
	return b
}

// minOutputSize is the smallest encoded output: empty name, null key and
// value, no headers.
const minOutputSize = 4 + 4 + 4 + 4

func decodeResults(d *decoder) *Results {
	rs := &Results{ID: d.u64("batch id")}
	n := d.count("result count", 5)
	rs.Results = make([]Result, n)
	// Outputs of all results share slabs so the common one-output case
	// costs no allocation per record.
	var slab []Output
	for i := range rs.Results {
		r := &rs.Results[i]
		r.Status = Status(d.u8("status"))
		switch r.Status {
		case StatusOK:
			no := d.count("output count", minOutputSize)
			if no > 0 {
				if cap(slab)-len(slab) < no {
					slab = make([]Output, 0, max(no, n-i))
				}
				l := len(slab)
				slab = slab[:l+no]
				r.Outputs = slab[l : l+no : l+no]
			}
			for j := range r.Outputs {
				o := &r.Outputs[j]
				o.Name = d.str("output name")
				o.Key = d.bytes("output key")
				o.Value = d.bytes("output value")
				o.Headers = d.headers()
			}
		case StatusError, StatusRetriable:
			r.Error = d.str("error message")
		default:
			if d.err == nil {
				d.err = fmt.Errorf("%w: result %d has unknown status %d", ErrMalformed, i, r.Status)
			}
		}
		if d.err != nil {
			break
		}
	}
	return rs
}
