package stream

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/stream/protocol"
)

// Files mode (docs/protocol.md): for nodes that announce FeatureFiles, a
// batch is spooled to an NDJSON file and the frame carries its path; the
// node answers with the path of a results file, one JSON line per record.

// spool is a worker's private directory for batch and results files.
type spool struct{ dir string }

func newSpool(stage string, worker int) (*spool, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("sluice-%s-w%d-", stage, worker))
	if err != nil {
		return nil, fmt.Errorf("files mode spool directory: %w", err)
	}
	return &spool{dir: dir}, nil
}

func (sp *spool) remove() { os.RemoveAll(sp.dir) }

// fileRecord is one line of a spool file.
type fileRecord struct {
	Topic     string         `json:"topic"`
	Partition int32          `json:"partition"`
	Offset    int64          `json:"offset"`
	Timestamp int64          `json:"timestamp"`
	Key       *string        `json:"key"`
	Value     *string        `json:"value"`
	Headers   orderedHeaders `json:"headers"`
	Encoding  string         `json:"encoding,omitempty"`
}

// fileResult is one line of a results file.
type fileResult struct {
	Outputs   []fileOutput `json:"outputs"`
	Error     *string      `json:"error"`
	Retriable bool         `json:"retriable"`
}

type fileOutput struct {
	Name     string         `json:"name"`
	Key      *string        `json:"key"`
	Value    *string        `json:"value"`
	Headers  orderedHeaders `json:"headers"`
	Encoding string         `json:"encoding"`
}

// orderedHeaders decodes a JSON object of headers keeping the order the
// node wrote them in (Kafka headers are ordered; a Go map is not).
type orderedHeaders []fileHeader

type fileHeader struct {
	key   string
	value *string
}

// MarshalJSON writes the headers as an object in their Kafka order.
func (oh orderedHeaders) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	for i, h := range oh {
		if i > 0 {
			buf = append(buf, ',')
		}
		k, _ := json.Marshal(h.key)
		v, _ := json.Marshal(h.value)
		buf = append(append(append(buf, k...), ':'), v...)
	}
	return append(buf, '}'), nil
}

func (oh *orderedHeaders) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // "headers": null
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("headers must be an object")
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		var v *string
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("header %q: %v", kt, err)
		}
		*oh = append(*oh, fileHeader{kt.(string), v})
	}
	return nil
}

// writeBatch spools recs for batch id and returns the file's path.
func (sp *spool) writeBatch(id uint64, recs []*inflight) (string, error) {
	path := filepath.Join(sp.dir, fmt.Sprintf("batch-%d.ndjson", id))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, in := range recs {
		if err := enc.Encode(toFileRecord(in.rec, in.value())); err != nil {
			f.Close()
			return "", err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// toFileRecord is the spool line of r, whose value the node sees as value
// (decoded, for a typed input topic).
func toFileRecord(r *kgo.Record, value []byte) fileRecord {
	binary := !utf8.Valid(r.Key) || !utf8.Valid(value)
	for _, h := range r.Headers {
		binary = binary || !utf8.Valid(h.Value)
	}
	text := func(b []byte) *string {
		if b == nil {
			return nil
		}
		s := string(b)
		if binary {
			s = base64.StdEncoding.EncodeToString(b)
		}
		return &s
	}
	fr := fileRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.UnixMilli(),
		Key: text(r.Key), Value: text(value), Headers: make(orderedHeaders, 0, len(r.Headers))}
	for _, h := range r.Headers {
		fr.Headers = append(fr.Headers, fileHeader{h.Key, text(h.Value)})
	}
	if binary {
		fr.Encoding = "base64"
	}
	return fr
}

// readResults parses a results file holding exactly count lines; lines are
// bounded by maxLine bytes.
func readResults(path string, count int, maxLine int) ([]protocol.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("node's results file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	out := make([]protocol.Result, 0, count)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if len(out) == count {
			return nil, fmt.Errorf("node's results file %s has more than %d lines", path, count)
		}
		var fr fileResult
		if err := json.Unmarshal(line, &fr); err != nil {
			return nil, fmt.Errorf("node's results file %s, line %d: %v", path, len(out)+1, err)
		}
		res, err := fr.result()
		if err != nil {
			return nil, fmt.Errorf("node's results file %s, line %d: %v", path, len(out)+1, err)
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("node's results file %s: %w", path, err)
	}
	if len(out) != count {
		return nil, fmt.Errorf("node's results file %s has %d lines for %d records", path, len(out), count)
	}
	return out, nil
}

func (fr *fileResult) result() (protocol.Result, error) {
	if fr.Error != nil {
		st := protocol.StatusError
		if fr.Retriable {
			st = protocol.StatusRetriable
		}
		return protocol.Result{Status: st, Error: *fr.Error}, nil
	}
	res := protocol.Result{Status: protocol.StatusOK}
	for _, o := range fr.Outputs {
		decode := func(s *string) ([]byte, error) {
			if s == nil {
				return nil, nil
			}
			if o.Encoding == "base64" {
				return base64.StdEncoding.DecodeString(*s)
			}
			if o.Encoding != "" {
				return nil, fmt.Errorf("unknown encoding %q (want base64 or none)", o.Encoding)
			}
			return []byte(*s), nil
		}
		key, err := decode(o.Key)
		if err != nil {
			return res, fmt.Errorf("output key: %w", err)
		}
		value, err := decode(o.Value)
		if err != nil {
			return res, fmt.Errorf("output value: %w", err)
		}
		out := protocol.Output{Name: o.Name, Key: key, Value: value}
		for _, h := range o.Headers {
			hv, err := decode(h.value)
			if err != nil {
				return res, fmt.Errorf("output header %q: %w", h.key, err)
			}
			out.Headers = append(out.Headers, protocol.Header{Key: h.key, Value: hv})
		}
		res.Outputs = append(res.Outputs, out)
	}
	return res, nil
}
