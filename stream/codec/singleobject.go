package codec

// Avro single-object encoding (Avro spec, "Single-object encoding"): the
// two marker bytes C3 01, the 8-byte little-endian CRC-64-AVRO
// fingerprint of the writer schema's Parsing Canonical Form, then the
// value's Avro binary. The fingerprint names the writer's version among
// the topic's schema files; no registry is involved.

import (
	"encoding/binary"
	"fmt"
)

const singleObjectHeaderLen = 10

// appendSingleObjectHeader appends the header of a value written with the
// schema of fingerprint fp.
func appendSingleObjectHeader(dst []byte, fp uint64) []byte {
	dst = append(dst, 0xC3, 0x01)
	return binary.LittleEndian.AppendUint64(dst, fp)
}

// splitSingleObject returns the writer schema's fingerprint and the Avro
// binary that follows (aliasing b); a value not in the single-object
// encoding gives the reason.
func splitSingleObject(b []byte) (fp uint64, payload []byte, reason string) {
	switch {
	case len(b) >= 2 && (b[0] != 0xC3 || b[1] != 0x01):
		return 0, nil, fmt.Sprintf("not Avro single-object encoding: starts with 0x%02x%02x, not the marker 0xc301", b[0], b[1])
	case len(b) < singleObjectHeaderLen:
		return 0, nil, fmt.Sprintf("not Avro single-object encoding: %d bytes, shorter than its 10-byte header (0xc301 and an 8-byte schema fingerprint)", len(b))
	}
	return binary.LittleEndian.Uint64(b[2:singleObjectHeaderLen]), b[singleObjectHeaderLen:], ""
}
