package sluice

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"slices"

	"github.com/sluicehq/sluice/stream/protocol"
)

// Node describes a node program. Set Process or ProcessBatch (not both).
type Node struct {
	// Name and Version are announced in the handshake and shown in the
	// runtime's logs.
	Name    string
	Version string
	// Init, if set, runs once with the handshake before the first batch,
	// e.g. to read settings. An error stops the node with that message.
	Init func(Hello) error
	// Process handles one record.
	Process func(Record) ([]Output, error)
	// ProcessBatch handles a whole batch and returns one Result per record,
	// in order. Use it when the work is cheaper in bulk.
	ProcessBatch func([]Record) []Result
}

// Run serves a node with a per-record handler on stdin/stdout and exits.
func Run(name string, process func(Record) ([]Output, error)) {
	Node{Name: name, Process: process}.Run()
}

// RunBatch serves a node with a batch handler on stdin/stdout and exits.
func RunBatch(name string, process func([]Record) []Result) {
	Node{Name: name, ProcessBatch: process}.Run()
}

// Run serves on stdin/stdout, then exits the process: 0 after a shutdown or
// the end of input, 1 after a protocol error (which it also reports to the
// runtime as a fatal message and logs on stderr).
func (n Node) Run() {
	if err := n.Serve(os.Stdin, os.Stdout); err != nil {
		log.Printf("sluice node %s: %v", n.Name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Serve speaks the protocol on in/out until the runtime asks for a shutdown
// (or closes in), and returns nil; or returns the protocol error that ended
// it. It is Run without the process exit, for tests and embedding.
func (n Node) Serve(in io.Reader, out io.Writer) error {
	if (n.Process == nil) == (n.ProcessBatch == nil) {
		return errors.New("set exactly one of Node.Process and Node.ProcessBatch")
	}
	s := &server{node: n, fr: protocol.NewFrameReader(in, 0), w: bufio.NewWriterSize(out, 256<<10)}
	return s.serve()
}

type server struct {
	node     Node
	fr       *protocol.FrameReader
	w        *bufio.Writer
	buf      []byte
	maxFrame int
}

func (s *server) fatal(err error) error {
	s.buf, _ = protocol.Append(s.buf[:0], &protocol.Fatal{Message: err.Error()})
	s.w.Write(s.buf)
	s.w.Flush()
	return err
}

func (s *server) serve() error {
	m, err := s.fr.ReadMessage()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return s.fatal(fmt.Errorf("reading the handshake: %w", err))
	}
	hello, ok := m.(*protocol.Hello)
	if !ok {
		return s.fatal(fmt.Errorf("expected a hello frame first, got %s", m.Type()))
	}
	if hello.Version != protocol.Version {
		return s.fatal(fmt.Errorf("unsupported protocol version %d; this node speaks %d", hello.Version, protocol.Version))
	}
	s.maxFrame = int(hello.MaxFrame)
	s.fr.SetMax(s.maxFrame)
	if s.node.Init != nil {
		if err := s.node.Init(*hello); err != nil {
			return s.fatal(fmt.Errorf("init: %w", err))
		}
	}
	var features protocol.Features
	if s.node.ProcessBatch != nil {
		features |= protocol.FeatureBatchHandler
	}
	version := s.node.Version
	if version == "" {
		version = "0.0.0"
	}
	s.buf, _ = protocol.Append(s.buf[:0], &protocol.HelloAck{Version: protocol.Version, Name: s.node.Name, NodeVersion: version, Features: features})
	if _, err := s.w.Write(s.buf); err != nil {
		return err
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	for {
		m, err := s.fr.ReadMessage()
		if err == io.EOF {
			return s.w.Flush()
		}
		if err != nil {
			return s.fatal(err)
		}
		switch m := m.(type) {
		case *protocol.Batch:
			if err := s.answer(m); err != nil {
				return err
			}
		case *protocol.Shutdown:
			return s.w.Flush()
		default:
			return s.fatal(fmt.Errorf("unexpected %s frame after the handshake", m.Type()))
		}
		// Flush only when no further input is waiting: under load this
		// writes many results frames with one system call.
		if s.fr.Buffered() == 0 {
			if err := s.w.Flush(); err != nil {
				return err
			}
		}
	}
}

func (s *server) answer(b *protocol.Batch) error {
	results := s.process(b.Records)
	s.buf = s.encode(s.buf[:0], b.ID, results)
	if len(s.buf)-4 > s.maxFrame {
		shrinkToFit(results, s.maxFrame)
		s.buf = s.encode(s.buf[:0], b.ID, results)
	}
	_, err := s.w.Write(s.buf)
	return err
}

func (s *server) encode(dst []byte, id uint64, results []protocol.Result) []byte {
	dst, start := protocol.BeginFrame(dst, protocol.TypeResults)
	dst = protocol.AppendResultsHeader(dst, id, len(results))
	for i := range results {
		dst = protocol.AppendResult(dst, &results[i])
	}
	return protocol.EndFrame(dst, start)
}

// shrinkToFit turns the largest results into errors until the frame fits the
// runtime's limit, so one huge output fails its own record, not the node.
func shrinkToFit(results []protocol.Result, maxFrame int) {
	sizes := make([]int, len(results))
	total := 4 + 1 + 8 + 4
	for i := range results {
		sizes[i] = len(protocol.AppendResult(nil, &results[i]))
		total += sizes[i]
	}
	order := make([]int, len(results))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return sizes[b] - sizes[a] })
	for _, i := range order {
		if total <= maxFrame {
			return
		}
		msg := fmt.Sprintf("outputs of this record take %d bytes, over the %d-byte frame limit", sizes[i], maxFrame)
		results[i] = protocol.Result{Status: protocol.StatusError, Error: msg}
		total += len(protocol.AppendResult(nil, &results[i])) - sizes[i]
	}
}

func (s *server) process(recs []Record) []protocol.Result {
	out := make([]protocol.Result, len(recs))
	if s.node.ProcessBatch != nil {
		rs := s.safeBatch(recs)
		if len(rs) != len(recs) {
			err := fmt.Errorf("batch handler returned %d results for %d records", len(rs), len(recs))
			for i := range out {
				out[i] = errorResult(err)
			}
			return out
		}
		for i, r := range rs {
			if r.Err != nil {
				out[i] = errorResult(r.Err)
			} else {
				out[i] = protocol.Result{Status: protocol.StatusOK, Outputs: r.Outputs}
			}
		}
		return out
	}
	for i := range recs {
		outs, err := s.safeProcess(recs[i])
		if err != nil {
			out[i] = errorResult(err)
		} else {
			out[i] = protocol.Result{Status: protocol.StatusOK, Outputs: outs}
		}
	}
	return out
}

func errorResult(err error) protocol.Result {
	st := protocol.StatusError
	if isRetriable(err) {
		st = protocol.StatusRetriable
	}
	return protocol.Result{Status: st, Error: err.Error()}
}

func (s *server) safeProcess(r Record) (outs []Output, err error) {
	defer func() {
		if p := recover(); p != nil {
			outs, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return s.node.Process(r)
}

func (s *server) safeBatch(recs []Record) (rs []Result) {
	defer func() {
		if p := recover(); p != nil {
			rs = make([]Result, len(recs))
			for i := range rs {
				rs[i].Err = fmt.Errorf("panic in batch handler: %v", p)
			}
		}
	}()
	return s.node.ProcessBatch(recs)
}
