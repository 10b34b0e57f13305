package protocol

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// The append helpers below are the wire primitives of docs/protocol.md. They
// are exported so that the runtime can encode kgo records straight into a
// frame without converting them to Record first.

// AppendU16 appends v big-endian.
func AppendU16(dst []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(dst, v) }

// AppendU32 appends v big-endian.
func AppendU32(dst []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(dst, v) }

// AppendU64 appends v big-endian.
func AppendU64(dst []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(dst, v) }

// AppendString appends a u32 length and the bytes of s.
func AppendString(dst []byte, s string) []byte {
	dst = AppendU32(dst, uint32(len(s)))
	return append(dst, s...)
}

// AppendBytes appends nullable bytes: an i32 length (-1 for nil) and the bytes.
func AppendBytes(dst []byte, b []byte) []byte {
	if b == nil {
		return AppendU32(dst, 0xFFFFFFFF)
	}
	dst = AppendU32(dst, uint32(len(b)))
	return append(dst, b...)
}

// AppendHeader appends one header: string key, nullable bytes value.
func AppendHeader(dst []byte, key string, value []byte) []byte {
	return AppendBytes(AppendString(dst, key), value)
}

func appendHeaders(dst []byte, hs []Header) []byte {
	dst = AppendU32(dst, uint32(len(hs)))
	for _, h := range hs {
		dst = AppendHeader(dst, h.Key, h.Value)
	}
	return dst
}

// appendStringMap writes the map in sorted key order so the bytes are
// deterministic (the test vectors depend on it).
func appendStringMap(dst []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = AppendU32(dst, uint32(len(keys)))
	for _, k := range keys {
		dst = AppendString(AppendString(dst, k), m[k])
	}
	return dst
}

// BeginFrame starts a frame of type t at the end of dst; finish it with
// EndFrame(dst, start) once the body is appended.
func BeginFrame(dst []byte, t MsgType) (out []byte, start int) {
	start = len(dst)
	dst = append(dst, 0, 0, 0, 0, byte(t))
	return dst, start
}

// EndFrame writes the length prefix of the frame begun at start.
func EndFrame(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// AppendRecord appends one record of a Batch body. Use it between
// BeginFrame/AppendBatchHeader and EndFrame.
func AppendRecord(dst []byte, r *Record) []byte {
	dst = AppendRecordMeta(dst, r.Topic, r.Partition, r.Offset, r.Timestamp, r.Key, r.Value)
	return appendHeaders(dst, r.Headers)
}

// AppendRecordMeta appends a record's fields up to (not including) its
// headers; the caller appends a u32 header count and the headers.
func AppendRecordMeta(dst []byte, topic string, partition int32, offset, timestamp int64, key, value []byte) []byte {
	dst = AppendString(dst, topic)
	dst = AppendU32(dst, uint32(partition))
	dst = AppendU64(dst, uint64(offset))
	dst = AppendU64(dst, uint64(timestamp))
	dst = AppendBytes(dst, key)
	return AppendBytes(dst, value)
}

// AppendBatchHeader appends the id and record count of a Batch body.
func AppendBatchHeader(dst []byte, id uint64, count int) []byte {
	return AppendU32(AppendU64(dst, id), uint32(count))
}

// AppendResultsHeader appends the id and result count of a Results body.
func AppendResultsHeader(dst []byte, id uint64, count int) []byte {
	return AppendU32(AppendU64(dst, id), uint32(count))
}

// AppendResult appends one per-record result of a Results body.
func AppendResult(dst []byte, r *Result) []byte {
	dst = append(dst, byte(r.Status))
	if r.Status != StatusOK {
		return AppendString(dst, r.Error)
	}
	dst = AppendU32(dst, uint32(len(r.Outputs)))
	for i := range r.Outputs {
		o := &r.Outputs[i]
		dst = AppendString(dst, o.Name)
		dst = AppendBytes(dst, o.Key)
		dst = AppendBytes(dst, o.Value)
		dst = appendHeaders(dst, o.Headers)
	}
	return dst
}

// Append appends the whole frame (length prefix included) of m to dst.
func Append(dst []byte, m Message) ([]byte, error) {
	dst, start := BeginFrame(dst, m.Type())
	switch m := m.(type) {
	case *Hello:
		dst = AppendU16(dst, m.Version)
		dst = AppendString(dst, m.Stage)
		dst = AppendU32(dst, m.Worker)
		dst = AppendU32(dst, m.MaxFrame)
		dst = appendStringMap(dst, m.Settings)
	case *HelloAck:
		dst = AppendU16(dst, m.Version)
		dst = AppendString(dst, m.Name)
		dst = AppendString(dst, m.NodeVersion)
		dst = AppendU32(dst, uint32(m.Features))
	case *Batch:
		dst = AppendBatchHeader(dst, m.ID, len(m.Records))
		for i := range m.Records {
			dst = AppendRecord(dst, &m.Records[i])
		}
	case *Results:
		dst = AppendResultsHeader(dst, m.ID, len(m.Results))
		for i := range m.Results {
			dst = AppendResult(dst, &m.Results[i])
		}
	case *FileBatch:
		dst = AppendU64(dst, m.ID)
		dst = AppendU32(dst, m.Count)
		dst = AppendString(dst, m.Path)
	case *FileAck:
		dst = AppendU64(dst, m.ID)
		dst = AppendString(dst, m.Path)
	case *Shutdown:
	case *Fatal:
		dst = AppendString(dst, m.Message)
	default:
		return dst[:start], fmt.Errorf("protocol: cannot encode %T", m)
	}
	return EndFrame(dst, start), nil
}
