// Package protocol is the Go side of the Sluice node protocol, version 1.
//
// A node is a co-process that reads frames on its stdin and writes frames on
// its stdout. A frame is a 4-byte big-endian unsigned length followed by that
// many bytes of payload; the first payload byte is the message type. The full
// specification, with every message layout, lives in docs/protocol.md and is
// pinned by the test vectors in testdata/protocol/vectors.json, which every
// language adapter decodes and encodes byte for byte.
//
// The package is deliberately small and allocation-aware: encoders append to a
// caller's buffer, and decoders slice keys, values and headers out of the
// frame payload instead of copying them, so one frame costs one allocation.
package protocol
