package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"

	sluice "github.com/sluicehq/sluice/adapters/go"
	"github.com/sluicehq/sluice/stream/protocol"
)

// serveFiles speaks files mode (TESTNODE_FILES=1): the same behaviours as
// the frame mode, read from spool files and answered in results files, so
// the runtime's side of files mode is tested without the Shell adapter.
func serveFiles() error {
	fr := protocol.NewFrameReader(os.Stdin, 0)
	out := bufio.NewWriter(os.Stdout)
	send := func(m protocol.Message) error {
		b, _ := protocol.Append(nil, m)
		out.Write(b)
		return out.Flush()
	}
	if _, err := fr.ReadMessage(); err != nil {
		return err
	}
	send(&protocol.HelloAck{Version: 1, Name: "testnode-files", NodeVersion: "1.0.0", Features: protocol.FeatureFiles})
	for {
		m, err := fr.ReadMessage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch m := m.(type) {
		case *protocol.FileBatch:
			results := m.Path + ".results"
			if err := answerFile(m.Path, results); err != nil {
				return err
			}
			send(&protocol.FileAck{ID: m.ID, Path: results})
		case *protocol.Shutdown:
			return nil
		}
	}
}

type line struct {
	Key      *string            `json:"key"`
	Value    *string            `json:"value"`
	Headers  map[string]*string `json:"headers"`
	Encoding string             `json:"encoding,omitempty"`
}

func answerFile(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	defer w.Close()
	enc := json.NewEncoder(w)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 32<<20)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return err
		}
		raw := func(s *string) []byte {
			if s == nil {
				return nil
			}
			if l.Encoding == "base64" {
				b, _ := base64.StdEncoding.DecodeString(*s)
				return b
			}
			return []byte(*s)
		}
		rec := sluice.Record{Key: raw(l.Key), Value: raw(l.Value)}
		for k, v := range l.Headers {
			rec.Headers = append(rec.Headers, sluice.Header{Key: k, Value: raw(v)})
		}
		outs, perr := process(rec)
		if perr != nil {
			msg := perr.Error()
			enc.Encode(map[string]any{"error": msg, "retriable": errors.As(perr, new(*sluice.RetriableError))})
			continue
		}
		var res []map[string]any
		for _, o := range outs {
			text := func(b []byte) *string {
				if b == nil {
					return nil
				}
				s := base64.StdEncoding.EncodeToString(b)
				return &s
			}
			hs := map[string]*string{}
			for _, h := range o.Headers {
				hs[h.Key] = text(h.Value)
			}
			res = append(res, map[string]any{"name": o.Name, "key": text(o.Key), "value": text(o.Value), "headers": hs, "encoding": "base64"})
		}
		enc.Encode(map[string]any{"outputs": res})
	}
	return sc.Err()
}
