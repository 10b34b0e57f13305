package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"testing"
)

// The shared test vectors live in testdata/protocol/vectors.json. Every
// adapter (Go, Python, Node.js, Rust, Shell) decodes each "valid" frame into
// the message given next to it and encodes that message back to the same
// bytes, and refuses each "invalid" frame. Regenerate after an intentional
// change with: go test ./stream/protocol -run TestVectors -update
var update = flag.Bool("update", false, "rewrite testdata/protocol/vectors.json")

const vectorsPath = "../../testdata/protocol/vectors.json"

type vectorFile struct {
	Version int             `json:"version"`
	About   []string        `json:"about"`
	Valid   []validVector   `json:"valid"`
	Invalid []invalidVector `json:"invalid"`
}

type validVector struct {
	Name      string  `json:"name"`
	Direction string  `json:"direction"`
	Message   jsonMsg `json:"message"`
	Frame     string  `json:"frame"`
}

type invalidVector struct {
	Name     string `json:"name"`
	Frame    string `json:"frame"`
	MaxFrame int    `json:"max_frame"`
	Error    string `json:"error"` // "malformed" or "too_large"
}

// jsonMsg is the language-neutral form of a message: byte fields are
// standard base64 strings, or null for a null key/value.
type jsonMsg struct {
	Type        string            `json:"type"`
	Version     uint16            `json:"version,omitempty"`
	Stage       string            `json:"stage,omitempty"`
	Worker      uint32            `json:"worker,omitempty"`
	MaxFrame    uint32            `json:"max_frame,omitempty"`
	Settings    map[string]string `json:"settings,omitempty"`
	Name        string            `json:"name,omitempty"`
	NodeVersion string            `json:"node_version,omitempty"`
	Features    uint32            `json:"features,omitempty"`
	ID          uint64            `json:"id,omitempty"`
	Records     []jsonRecord      `json:"records,omitempty"`
	Results     []jsonResult      `json:"results,omitempty"`
	Message     string            `json:"message,omitempty"`
	Count       uint32            `json:"count,omitempty"`
	Path        string            `json:"path,omitempty"`
}

type jsonHeader struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

type jsonRecord struct {
	Topic     string       `json:"topic"`
	Partition int32        `json:"partition"`
	Offset    int64        `json:"offset"`
	Timestamp int64        `json:"timestamp"`
	Key       []byte       `json:"key"`
	Value     []byte       `json:"value"`
	Headers   []jsonHeader `json:"headers"`
}

type jsonOutput struct {
	Name    string       `json:"name"`
	Key     []byte       `json:"key"`
	Value   []byte       `json:"value"`
	Headers []jsonHeader `json:"headers"`
}

type jsonResult struct {
	Status  string       `json:"status"` // ok | error | retriable
	Outputs []jsonOutput `json:"outputs,omitempty"`
	Error   string       `json:"error,omitempty"`
}

func headersToJSON(hs []Header) []jsonHeader {
	out := []jsonHeader{}
	for _, h := range hs {
		out = append(out, jsonHeader{h.Key, h.Value})
	}
	return out
}

func headersFromJSON(hs []jsonHeader) []Header {
	if len(hs) == 0 {
		return nil
	}
	out := make([]Header, len(hs))
	for i, h := range hs {
		out[i] = Header{h.Key, h.Value}
	}
	return out
}

var statusNames = map[Status]string{StatusOK: "ok", StatusError: "error", StatusRetriable: "retriable"}

func toJSON(m Message) jsonMsg {
	j := jsonMsg{Type: m.Type().String()}
	switch m := m.(type) {
	case *Hello:
		j.Version, j.Stage, j.Worker, j.MaxFrame, j.Settings = m.Version, m.Stage, m.Worker, m.MaxFrame, m.Settings
	case *HelloAck:
		j.Version, j.Name, j.NodeVersion, j.Features = m.Version, m.Name, m.NodeVersion, uint32(m.Features)
	case *Batch:
		j.ID = m.ID
		j.Records = []jsonRecord{}
		for _, r := range m.Records {
			j.Records = append(j.Records, jsonRecord{r.Topic, r.Partition, r.Offset, r.Timestamp, r.Key, r.Value, headersToJSON(r.Headers)})
		}
	case *Results:
		j.ID = m.ID
		for _, r := range m.Results {
			jr := jsonResult{Status: statusNames[r.Status], Error: r.Error}
			for _, o := range r.Outputs {
				jr.Outputs = append(jr.Outputs, jsonOutput{o.Name, o.Key, o.Value, headersToJSON(o.Headers)})
			}
			j.Results = append(j.Results, jr)
		}
	case *Fatal:
		j.Message = m.Message
	case *FileBatch:
		j.ID, j.Count, j.Path = m.ID, m.Count, m.Path
	case *FileAck:
		j.ID, j.Path = m.ID, m.Path
	}
	return j
}

func fromJSON(t *testing.T, j jsonMsg) Message {
	t.Helper()
	switch j.Type {
	case "hello":
		s := j.Settings
		if s == nil {
			s = map[string]string{}
		}
		return &Hello{j.Version, j.Stage, j.Worker, j.MaxFrame, s}
	case "hello_ack":
		return &HelloAck{j.Version, j.Name, j.NodeVersion, Features(j.Features)}
	case "batch":
		b := &Batch{ID: j.ID, Records: []Record{}}
		for _, r := range j.Records {
			b.Records = append(b.Records, Record{r.Topic, r.Partition, r.Offset, r.Timestamp, r.Key, r.Value, headersFromJSON(r.Headers)})
		}
		return b
	case "results":
		rs := &Results{ID: j.ID, Results: []Result{}}
		for _, r := range j.Results {
			res := Result{Error: r.Error}
			for st, name := range statusNames {
				if name == r.Status {
					res.Status = st
				}
			}
			for _, o := range r.Outputs {
				res.Outputs = append(res.Outputs, Output{o.Name, o.Key, o.Value, headersFromJSON(o.Headers)})
			}
			rs.Results = append(rs.Results, res)
		}
		return rs
	case "shutdown":
		return &Shutdown{}
	case "fatal":
		return &Fatal{j.Message}
	case "file_batch":
		return &FileBatch{j.ID, j.Count, j.Path}
	case "file_ack":
		return &FileAck{j.ID, j.Path}
	}
	t.Fatalf("unknown message type %q in vectors", j.Type)
	return nil
}

func TestVectors(t *testing.T) {
	if *update {
		writeVectors(t)
	}
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(data, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Valid) < 10 || len(vf.Invalid) < 5 {
		t.Fatalf("vectors file looks truncated: %d valid, %d invalid", len(vf.Valid), len(vf.Invalid))
	}
	for _, v := range vf.Valid {
		t.Run(v.Name, func(t *testing.T) {
			frame, err := hex.DecodeString(v.Frame)
			if err != nil {
				t.Fatal(err)
			}
			want := fromJSON(t, v.Message)
			enc, err := Append(nil, want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, frame) {
				t.Fatalf("encode mismatch\n got %x\nwant %x", enc, frame)
			}
			got, err := NewFrameReader(bytes.NewReader(frame), 0).ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(toJSON(got), toJSON(want)) {
				t.Fatalf("decode mismatch\n got %+v\nwant %+v", toJSON(got), toJSON(want))
			}
		})
	}
	for _, v := range vf.Invalid {
		t.Run("invalid/"+v.Name, func(t *testing.T) {
			frame, err := hex.DecodeString(v.Frame)
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewFrameReader(bytes.NewReader(frame), v.MaxFrame).ReadMessage()
			switch v.Error {
			case "malformed":
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("want ErrMalformed, got %v", err)
				}
			case "too_large":
				if !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("want ErrFrameTooLarge, got %v", err)
				}
			default:
				t.Fatalf("unknown expected error %q", v.Error)
			}
		})
	}
}

func writeVectors(t *testing.T) {
	vf := vectorFile{
		Version: 1,
		About: []string{
			"Sluice node protocol v1 test vectors; see docs/protocol.md.",
			"valid: decode `frame` (hex, length prefix included) to `message`, and encode `message` to exactly `frame`.",
			"Byte fields (key, value, header value) are standard padded base64, or null for a null value; \"\" is an empty, non-null value.",
			"Settings maps are encoded in ascending byte order of their keys.",
			"invalid: reading `frame` with the given max_frame must fail with `error`: malformed or too_large (refused before allocating).",
		},
	}
	for _, v := range validMessages() {
		frame, err := Append(nil, v.msg)
		if err != nil {
			t.Fatal(err)
		}
		vf.Valid = append(vf.Valid, validVector{v.name, v.dir, toJSON(v.msg), hex.EncodeToString(frame)})
	}
	for _, v := range invalidFrames() {
		vf.Invalid = append(vf.Invalid, invalidVector{v.name, hex.EncodeToString(v.frame), v.max, v.err})
	}
	data, err := json.MarshalIndent(vf, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorsPath, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

type namedMsg struct {
	name, dir string
	msg       Message
}

const toNode, toRuntime = "runtime_to_node", "node_to_runtime"

func validMessages() []namedMsg {
	bin := []byte{0x00, 0xff, 0x10, 0x80, 0x7f}
	return []namedMsg{
		{"hello", toNode, &Hello{Version: 1, Stage: "filter", Worker: 0, MaxFrame: 16 << 20, Settings: map[string]string{}}},
		{"hello_with_settings", toNode, &Hello{Version: 1, Stage: "classify", Worker: 3, MaxFrame: 1 << 20,
			Settings: map[string]string{"model": "models/iforest.pkl", "threshold": "0.7", "Z": "upper sorts first"}}},
		{"hello_ack", toRuntime, &HelloAck{Version: 1, Name: "filter", NodeVersion: "0.1.0", Features: 0}},
		{"hello_ack_batch_feature", toRuntime, &HelloAck{Version: 1, Name: "classify", NodeVersion: "2.3.4", Features: FeatureBatchHandler}},
		{"hello_ack_other_version", toRuntime, &HelloAck{Version: 2, Name: "future", NodeVersion: "9.0.0"}},
		{"batch_empty", toNode, &Batch{ID: 1, Records: []Record{}}},
		{"batch_one_record", toNode, &Batch{ID: 2, Records: []Record{{
			Topic: "events.parsed", Partition: 2, Offset: 41, Timestamp: 1700000000123,
			Key: []byte("alpha"), Value: []byte(`{"sensor_id":"alpha","metric":"temperature","value":24.5}`),
			Headers: []Header{{"traceparent", []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}},
		}}}},
		{"batch_null_and_empty", toNode, &Batch{ID: 3, Records: []Record{
			{Topic: "t", Partition: 0, Offset: 0, Timestamp: 0, Key: nil, Value: nil},
			{Topic: "t", Partition: 0, Offset: 1, Timestamp: -1, Key: []byte{}, Value: []byte{}},
			{Topic: "t", Partition: 0, Offset: 2, Timestamp: 5, Key: bin, Value: bin,
				Headers: []Header{{"null-header", nil}, {"empty-header", []byte{}}, {"bin", bin}}},
		}}},
		{"batch_many_partitions", toNode, &Batch{ID: 18446744073709551615, Records: []Record{
			{Topic: "events.raw", Partition: 0, Offset: 9223372036854775807, Timestamp: 1, Value: []byte("temperature:24.5 sensor_id=alpha")},
			{Topic: "events.raw", Partition: 2147483647, Offset: 7, Timestamp: 2, Value: []byte("héllo wörld ✓")},
		}}},
		{"results_ok_no_output", toRuntime, &Results{ID: 2, Results: []Result{{Status: StatusOK}}}},
		{"results_ok_one_output", toRuntime, &Results{ID: 2, Results: []Result{{Status: StatusOK, Outputs: []Output{
			{Name: "", Key: []byte("alpha"), Value: []byte(`{"ok":true}`), Headers: []Header{{"unit", []byte("C")}}},
		}}}}},
		{"results_named_and_many", toRuntime, &Results{ID: 7, Results: []Result{
			{Status: StatusOK, Outputs: []Output{
				{Name: "", Key: nil, Value: []byte("a")},
				{Name: "alerts", Key: []byte("k"), Value: nil},
				{Name: "alerts", Key: []byte{}, Value: []byte{}, Headers: []Header{{"h", nil}}},
			}},
			{Status: StatusError, Error: "value: expected a number, got \"hot\""},
			{Status: StatusRetriable, Error: "webhook: 503 Service Unavailable"},
			{Status: StatusOK},
		}}},
		{"results_empty", toRuntime, &Results{ID: 1, Results: []Result{}}},
		{"shutdown", toNode, &Shutdown{}},
		{"fatal", toRuntime, &Fatal{Message: "unsupported protocol version 2; this node speaks 1"}},
		{"hello_ack_files_mode", toRuntime, &HelloAck{Version: 1, Name: "archive", NodeVersion: "0.1.0", Features: FeatureFiles}},
		{"file_batch", toNode, &FileBatch{ID: 3, Count: 500, Path: "/tmp/sluice-archive-w0/batch-3.ndjson"}},
		{"file_ack", toRuntime, &FileAck{ID: 3, Path: "/tmp/sluice-archive-w0/batch-3.results.ndjson"}},
	}
}

type badFrame struct {
	name  string
	frame []byte
	max   int
	err   string
}

func invalidFrames() []badFrame {
	return []badFrame{
		{"zero_length", []byte{0, 0, 0, 0}, 1024, "malformed"},
		{"unknown_type", []byte{0, 0, 0, 1, 0x42}, 1024, "malformed"},
		{"file_ack_truncated_path", []byte{0, 0, 0, 15, 0x08, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9, 'a', 'b'}, 1024, "malformed"},
		{"truncated_string", []byte{0, 0, 0, 7, 0x06, 0, 0, 0, 9, 'a', 'b'}, 1024, "malformed"},
		{"trailing_bytes", []byte{0, 0, 0, 2, 0x05, 0xAA}, 1024, "malformed"},
		{"hostile_record_count", []byte{0, 0, 0, 13, 0x03, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF}, 1024, "malformed"},
		{"unknown_status", []byte{0, 0, 0, 14, 0x04, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 9}, 1024, "malformed"},
		{"oversized", []byte{0x7F, 0xFF, 0xFF, 0xFF, 0x03}, 16 << 20, "too_large"},
		{"over_limit_by_one", append([]byte{0, 0, 0x04, 0x01}, make([]byte, 1025)...), 1024, "too_large"},
	}
}
