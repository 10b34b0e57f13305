package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"runtime/metrics"
	"strconv"
	"testing"
)

// fuzzLimit is the frame limit of the fuzzed reader: small, so that the
// fuzzer reaches it easily.
const fuzzLimit = 1 << 16

// allocSlack absorbs what the allocation measurements cannot attribute
// exactly: the runtime accounts small allocations a span (8 KiB and up)
// at a time.
const allocSlack = 64 << 10

// maxAllocRatio bounds the bytes Decode may allocate per payload byte.
// The worst legitimate ratio is a Results of empty results (5 payload
// bytes, a 48-byte Result each, plus an outputs slab sized by the count)
// at about 20; a count trusted without checking it against the bytes left
// costs orders of magnitude more.
const maxAllocRatio = 32

// FuzzDecode feeds arbitrary bytes to the frame reader and the decoder,
// framed and as one raw payload. Beyond not panicking:
//
//   - the reader fails only with io.EOF at a frame boundary,
//     io.ErrUnexpectedEOF, ErrFrameTooLarge (when the prefix does exceed
//     the limit) or ErrMalformed, and consumes exactly the input;
//
//   - a frame over the limit allocates nothing of its announced size, a
//     frame under it about its own size;
//
//   - Decode fails only with ErrMalformed, allocates in proportion to the
//     payload, and what it accepts re-encodes to the same bytes (the
//     encoding is canonical).
//
//     go test ./stream/protocol -run '^$' -fuzz '^FuzzDecode$' -fuzztime 30s
func FuzzDecode(f *testing.F) {
	if data, err := os.ReadFile(vectorsPath); err == nil {
		var vf vectorFile
		if json.Unmarshal(data, &vf) == nil {
			for _, v := range vf.Valid {
				if b, err := hex.DecodeString(v.Frame); err == nil {
					f.Add(b)
				}
			}
			for _, v := range vf.Invalid {
				if b, err := hex.DecodeString(v.Frame); err == nil {
					f.Add(b)
				}
			}
		}
	}
	for _, s := range hostileFrames() {
		f.Add(s)
	}
	for _, m := range denseMessages() {
		frame, err := Append(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(frame)     // framed, for the reader
		f.Add(frame[4:]) // a bare payload, for Decode
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFrames(t, data)
		checkDecode(t, data)
	})
}

// hostileFrames are seeds whose length prefixes or counts lie.
func hostileFrames() [][]byte {
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return [][]byte{
		u32(0x80000000),                    // 2 GiB announced
		cat(u32(0xFFFFFFFF), []byte{0x03}), // 4 GiB announced, one byte sent
		u32(0),                             // zero-length frame
		cat(u32(13), []byte{byte(TypeBatch)}, make([]byte, 8), u32(0xFFFFFFFF)),     // 4G records in 13 bytes
		cat(u32(13), []byte{byte(TypeResults)}, make([]byte, 8), u32(0x7FFFFFFF)),   // 2G results
		cat(u32(15), []byte{byte(TypeHello)}, []byte{0, 1}, u32(0), u32(0), u32(1)), // truncated Hello
		cat(u32(1), []byte{0xEE}), // unknown type
	}
}

// denseMessages are valid messages of many minimal elements, close to the
// frame limit: the most elements per byte, so the seeds from which a
// mutated count shows whether counts are checked against the bytes left.
func denseMessages() []Message {
	b := &Batch{ID: 1, Records: make([]Record, 1500)}
	rs := &Results{ID: 2, Results: make([]Result, 10000)}
	for i := range rs.Results {
		rs.Results[i].Status = StatusError
	}
	outs := &Results{ID: 3, Results: []Result{{Status: StatusOK, Outputs: make([]Output, 3000)}}}
	h := &Hello{Version: 1, Settings: map[string]string{}}
	for i := range 3000 {
		h.Settings[strconv.Itoa(i)] = ""
	}
	return []Message{b, rs, outs, h}
}

// checkFrames reads data as a stream of frames.
func checkFrames(t *testing.T, data []byte) {
	fr := NewFrameReader(bytes.NewReader(data), fuzzLimit)
	off := 0
	for {
		before := allocated()
		payload, err := fr.ReadFrame()
		grew := allocated() - before
		if err != nil {
			var announced uint64
			if len(data)-off >= 4 {
				announced = uint64(binary.BigEndian.Uint32(data[off:]))
			}
			switch {
			case err == io.EOF:
				if off != len(data) {
					t.Fatalf("io.EOF at byte %d of %d", off, len(data))
				}
			case errors.Is(err, io.ErrUnexpectedEOF):
				if off == len(data) || len(data)-off >= 4 && uint64(len(data)-off-4) >= announced {
					t.Fatalf("ErrUnexpectedEOF at byte %d of %d with %d announced", off, len(data), announced)
				}
			case errors.Is(err, ErrFrameTooLarge):
				if announced <= fuzzLimit {
					t.Fatalf("%d bytes announced, under the %d limit, refused: %v", announced, fuzzLimit, err)
				}
				if grew > allocSlack && confirmAlloc(allocSlack, readerAt(data, off)) {
					t.Fatalf("refusing a %d-byte frame allocated %d bytes", announced, grew)
				}
			case errors.Is(err, ErrMalformed):
				if announced != 0 {
					t.Fatalf("frame of %d bytes called malformed by the reader: %v", announced, err)
				}
			default:
				t.Fatalf("unexpected reader error %T: %v", err, err)
			}
			return
		}
		off += 4 + len(payload)
		switch {
		case len(payload) == 0 || len(payload) > fuzzLimit:
			t.Fatalf("frame of %d bytes passed a %d limit", len(payload), fuzzLimit)
		case off > len(data) || !bytes.Equal(payload, data[off-len(payload):off]):
			t.Fatal("the payload is not the bytes after the prefix")
		case grew > uint64(len(payload))+allocSlack && confirmAlloc(uint64(len(payload))+allocSlack, readerAt(data, off-4-len(payload))):
			t.Fatalf("reading a %d-byte frame allocated %d bytes", len(payload), grew)
		}
		checkDecode(t, payload)
	}
}

// checkDecode decodes one payload.
func checkDecode(t *testing.T, payload []byte) {
	before := allocated()
	m, err := Decode(payload)
	limit := maxAllocRatio*uint64(len(payload)) + allocSlack
	if grew := allocated() - before; grew > limit && confirmAlloc(limit, func() func() { return func() { Decode(payload) } }) {
		t.Fatalf("decoding %d bytes allocated %d", len(payload), grew)
	}
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("decode error does not wrap ErrMalformed: %v", err)
		}
		if m != nil {
			t.Fatalf("a message and an error: %v", err)
		}
		return
	}
	if _, ok := m.(*Hello); ok && hasDuplicateKeys(payload) {
		return // duplicate or unsorted settings keys collapse in the map: not canonical
	}
	re, err := Append(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(re[4:], payload) {
		t.Fatalf("re-encoding differs\n in %x\nout %x", payload, re[4:])
	}
	if binary.BigEndian.Uint32(re) != uint32(len(payload)) {
		t.Fatalf("re-encoded length prefix %d for %d bytes", binary.BigEndian.Uint32(re), len(payload))
	}
}

// confirmAlloc re-measures an operation that allocated more than limit
// bytes: it is true when three more runs, each on a fresh setup(), all do.
// The counter is process-wide and the fuzzing engine allocates now and
// then while a fuzz function runs, so one high reading proves nothing; an
// operation that really allocates too much does so every time.
func confirmAlloc(limit uint64, setup func() func()) bool {
	for range 3 {
		run := setup()
		before := allocated()
		run()
		if allocated()-before <= limit {
			return false
		}
	}
	return true
}

// readerAt sets up reading one frame of data from byte off.
func readerAt(data []byte, off int) func() func() {
	return func() func() {
		fr := NewFrameReader(bytes.NewReader(data[off:]), fuzzLimit)
		return func() { fr.ReadFrame() }
	}
}

// allocSample reads the heap bytes allocated so far without stopping the
// world (runtime.ReadMemStats would, on every call of a fuzz loop).
var allocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

func allocated() uint64 {
	metrics.Read(allocSample)
	return allocSample[0].Value.Uint64()
}

// TestHugePrefixesAllocateNothing: prefixes of 2 GiB and 4 GiB are refused
// against the default 16 MiB limit without a read of the payload and with
// no allocation of their size, however often they arrive.
func TestHugePrefixesAllocateNothing(t *testing.T) {
	for _, n := range []uint32{0x80000000, 0xFFFFFFFF, DefaultMaxFrame + 1} {
		frame := binary.BigEndian.AppendUint32(nil, n)
		r := bytes.NewReader(frame)
		fr := NewFrameReader(r, 0)
		before := allocated()
		for range 100 {
			r.Reset(frame)
			if _, err := fr.ReadFrame(); !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("%d announced: want ErrFrameTooLarge, got %v", n, err)
			}
		}
		if grew := allocated() - before; grew > allocSlack {
			t.Errorf("100 refusals of %d-byte frames allocated %d bytes", n, grew)
		}
	}
}

// hasDuplicateKeys reports whether a Hello payload's settings cannot
// round-trip byte for byte (duplicate or unsorted keys).
func hasDuplicateKeys(payload []byte) bool {
	d := &decoder{b: payload, off: 1}
	d.u16("")
	d.str("")
	d.u32("")
	d.u32("")
	n := d.count("", 8)
	prev := ""
	for i := range n {
		k := d.str("")
		d.str("")
		if i > 0 && k <= prev {
			return true
		}
		prev = k
	}
	return false
}
