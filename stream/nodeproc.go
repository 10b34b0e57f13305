package stream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream/protocol"
)

// nodeProc is one running node co-process and the goroutines that move its
// bytes: a writer feeding stdin, a reader decoding stdout, a forwarder
// copying stderr lines into the log.
type nodeProc struct {
	cmd     *exec.Cmd
	ack     *protocol.HelloAck
	writes  chan []byte     // frames to write, in order
	written chan []byte     // buffers handed back after writing
	answers chan nodeAnswer // decoded frames from stdout, or the error that ended it
	exited  chan struct{}   // closed once the process is reaped
	exitErr error           // valid after exited is closed
	stdin   io.WriteCloser
	done    chan struct{} // closed by release: nobody reads answers any more
	once    sync.Once

	stderrMu   sync.Mutex
	lastStderr string
	log        *zap.Logger
}

type nodeAnswer struct {
	msg protocol.Message
	err error
}

// startNode starts the node and completes the handshake within the
// handshake timeout. The returned error wraps ErrProtocolVersion when the
// node speaks another version (retrying cannot help then).
// hideEnv names variables of Sluice's environment the node must not
// inherit (Options.SecretEnv); see nodeEnv.
func startNode(ctx context.Context, st *config.Stage, worker int, depth int, log *zap.Logger, hideEnv ...string) (*nodeProc, error) {
	cmd := exec.Command(st.Node.Command, st.Node.Args...)
	cmd.Dir = st.Node.Dir
	cmd.Env = nodeEnv(os.Environ(), hideEnv, st.Node.Env)
	// Its own process group, so a Ctrl-C in the terminal reaches sluice,
	// which then drains and shuts the node down in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, &startError{err: err, permanent: true}
	}
	p := &nodeProc{
		cmd:     cmd,
		stdin:   stdin,
		writes:  make(chan []byte, depth+2),
		written: make(chan []byte, depth+2),
		answers: make(chan nodeAnswer, depth+2),
		exited:  make(chan struct{}),
		done:    make(chan struct{}),
		log:     log,
	}
	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() { defer pipes.Done(); p.forwardStderr(stderr, log) }()
	go func() { defer pipes.Done(); p.readAnswers(stdout, int(st.MaxFrame)) }()
	go func() {
		// Wait closes the pipes, so reap only after they are drained.
		pipes.Wait()
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	go p.writeFrames()

	hello := &protocol.Hello{Version: protocol.Version, Stage: st.Name, Worker: uint32(worker), MaxFrame: uint32(st.MaxFrame), Settings: st.Node.Settings}
	frame, _ := protocol.Append(nil, hello)
	p.writes <- frame
	timer := time.NewTimer(st.Timeouts.Handshake)
	defer timer.Stop()
	select {
	case a := <-p.answers:
		if a.err != nil {
			p.release()
			<-p.exited
			return nil, &startError{err: p.describeExit(a.err)}
		}
		switch m := a.msg.(type) {
		case *protocol.HelloAck:
			if m.Version != protocol.Version {
				p.release()
				return nil, fmt.Errorf("%w: node %q speaks protocol v%d, this runtime speaks v%d", ErrProtocolVersion, m.Name, m.Version, protocol.Version)
			}
			p.ack = m
			return p, nil
		case *protocol.Fatal:
			p.release()
			<-p.exited
			return nil, &startError{err: fmt.Errorf("node refused to start: %s", m.Message)}
		default:
			p.release()
			return nil, &startError{err: fmt.Errorf("node answered the handshake with a %s frame", m.Type())}
		}
	case <-timer.C:
		p.release()
		return nil, &startError{err: fmt.Errorf("node did not answer the handshake within %s", st.Timeouts.Handshake)}
	case <-ctx.Done():
		p.release()
		return nil, ctx.Err()
	}
}

// startError is a failed start; permanent ones (no such executable) are
// not retried.
type startError struct {
	err       error
	permanent bool
}

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

func (p *nodeProc) writeFrames() {
	var failed bool
	for buf := range p.writes {
		if !failed {
			if _, err := p.stdin.Write(buf); err != nil {
				failed = true // the reader sees the exit; keep draining
			}
		}
		select {
		case p.written <- buf:
		default:
		}
	}
	p.stdin.Close()
}

func (p *nodeProc) readAnswers(stdout io.Reader, maxFrame int) {
	fr := protocol.NewFrameReader(stdout, maxFrame)
	for {
		m, err := fr.ReadMessage()
		if err != nil {
			// Unblock the process if it is writing garbage forever.
			if !errors.Is(err, io.EOF) {
				p.kill()
				io.Copy(io.Discard, stdout)
			}
			select {
			case p.answers <- nodeAnswer{err: err}:
			case <-p.done:
			}
			return
		}
		select {
		case p.answers <- nodeAnswer{msg: m}:
		case <-p.done:
			p.kill()
			io.Copy(io.Discard, stdout)
			return
		}
	}
}

func (p *nodeProc) forwardStderr(r io.Reader, log *zap.Logger) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.stderrMu.Lock()
		p.lastStderr = line
		p.stderrMu.Unlock()
		log.Info(line, zap.String("source", "node stderr"))
	}
	io.Copy(io.Discard, r)
}

// release kills the process and stops its goroutines; the worker calls it
// when it gives up on this process (crash, timeout, protocol error).
func (p *nodeProc) release() {
	p.once.Do(func() {
		close(p.done)
		p.kill()
		close(p.writes)
	})
}

// kill stops the process hard (and its children, via the process group).
func (p *nodeProc) kill() {
	if p.cmd.Process != nil {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		p.cmd.Process.Kill()
	}
}

func (p *nodeProc) pid() int { return p.cmd.Process.Pid }

// describeExit turns a read error into a sentence naming how the node ended
// and its last stderr line.
func (p *nodeProc) describeExit(readErr error) error {
	var what string
	switch {
	case errors.Is(readErr, protocol.ErrFrameTooLarge):
		what = "node sent an oversized frame: " + readErr.Error()
	case errors.Is(readErr, protocol.ErrMalformed):
		what = "node sent a malformed frame: " + readErr.Error()
	default:
		select {
		case <-p.exited:
			if p.exitErr != nil {
				what = "node exited: " + p.exitErr.Error()
			} else {
				what = "node exited with status 0"
			}
		case <-time.After(2 * time.Second):
			what = "node closed its stdout: " + readErr.Error()
		}
	}
	p.stderrMu.Lock()
	last := p.lastStderr
	p.stderrMu.Unlock()
	if last != "" {
		what += fmt.Sprintf(" (last stderr line: %q)", last)
	}
	return errors.New(what)
}

// shutdown asks the node to finish and exit, and kills it if it has not
// exited within timeout.
func (p *nodeProc) shutdown(timeout time.Duration) {
	frame, _ := protocol.Append(nil, &protocol.Shutdown{})
	p.once.Do(func() {
		select {
		case p.writes <- frame:
		default:
		}
		close(p.writes)
	})
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.log.Warn("node did not exit after the shutdown request; killed", zap.Duration("timeout", timeout))
		p.kill()
	}
	p.once.Do(func() {})
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	<-p.exited
}
