package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// This file is process control: the stage instances (`sluice run`), their
// node co-processes, and the embedded broker when no Kafka is given. Every
// process is started in its own process group and only ever signalled by
// the pid the harness itself started (or found below one of those).

// instance is one `sluice run` process of the stage under test. Restarting
// it reuses the same instance id and appends to the same log file.
type instance struct {
	id   string // --instance-id when the binary has that flag; also the log name
	args []string
	log  string

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{} // closed when cmd exits
	exitErr  error
	expected bool // the harness signalled it, so an exit is not a finding
	starts   int

	selfRestarts int // restarts after exits the harness did not cause
}

func newInstance(sluiceBin, cfg, stage, brokers, id, logDir string, withInstanceID bool) *instance {
	args := []string{sluiceBin, "run", "--config", cfg, "--stage", stage, "--brokers", brokers,
		"--metrics-addr", "", "--log-format", "json", "--log-level", "info"}
	if withInstanceID {
		args = append(args, "--instance-id", id)
	}
	return &instance{id: id, args: args, log: filepath.Join(logDir, "instance-"+id+".log")}
}

// start runs the instance; its stdout and stderr are appended to its log.
func (in *instance) start() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd != nil && !in.exited() {
		return fmt.Errorf("instance %s already runs", in.id)
	}
	f, err := os.OpenFile(in.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "==== chaos: start #%d of instance %s at %s\n", in.starts+1, in.id, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(in.args[0], in.args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting instance %s: %w", in.id, err)
	}
	in.starts++
	in.cmd, in.done, in.exitErr, in.expected = cmd, make(chan struct{}), nil, false
	done := in.done
	go func() {
		err := cmd.Wait()
		f.Close()
		in.mu.Lock()
		in.exitErr = err
		in.mu.Unlock()
		close(done)
	}()
	return nil
}

// exited reports whether the current process has exited; mu must be held.
func (in *instance) exited() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// running reports whether the instance's process is alive.
func (in *instance) running() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cmd != nil && !in.exited()
}

// pid is the instance's process id, 0 when it does not run.
func (in *instance) pid() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil || in.exited() {
		return 0
	}
	return in.cmd.Process.Pid
}

// unexpectedExit describes an exit the harness did not cause, "" if none.
func (in *instance) unexpectedExit() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil || !in.exited() || in.expected {
		return ""
	}
	if in.exitErr == nil {
		return fmt.Sprintf("instance %s exited by itself (code 0)", in.id)
	}
	return fmt.Sprintf("instance %s exited by itself (%v): %s", in.id, in.exitErr, lastLogLine(in.log))
}

// kill SIGKILLs the instance and every node process below it, as a
// container kill would: nodes must not outlive it (a hung node would
// otherwise sleep on as an orphan).
func (in *instance) kill() {
	in.mu.Lock()
	if in.cmd == nil || in.exited() {
		in.mu.Unlock()
		return
	}
	in.expected = true
	pid, done := in.cmd.Process.Pid, in.done
	in.mu.Unlock()
	killTree(pid)
	<-done
}

// stop SIGTERMs the instance (a soft stop: drain, commit) and waits up to
// grace for it to exit, then kills it. It returns a finding when the soft
// stop failed, "" otherwise.
func (in *instance) stop(grace time.Duration) string {
	in.mu.Lock()
	if in.cmd == nil || in.exited() {
		in.mu.Unlock()
		return ""
	}
	in.expected = true
	pid, done := in.cmd.Process.Pid, in.done
	in.mu.Unlock()
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		killTree(pid)
		<-done
		return fmt.Sprintf("instance %s ignored SIGTERM for %s (killed)", in.id, grace)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.exitErr != nil {
		return fmt.Sprintf("instance %s: soft stop ended with %v: %s", in.id, in.exitErr, lastLogLine(in.log))
	}
	return ""
}

// nodePIDs lists the direct children of pid: a stage's node co-processes.
// It scans /proc/*/stat for the parent pid rather than reading
// /proc/<pid>/task/*/children, which the kernel documents as reliable only
// while the parent's threads are stopped.
func nodePIDs(pid int) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses,
		// so the fields start after the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		if n, err := strconv.Atoi(strings.Fields(s)[0]); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// descendants lists every process below pid, children first.
func descendants(pid int) []int {
	var out []int
	for _, c := range nodePIDs(pid) {
		out = append(out, c)
		out = append(out, descendants(c)...)
	}
	return out
}

// killTree SIGKILLs pid's process group and then each of its descendants
// (nodes run in process groups of their own).
func killTree(pid int) {
	below := descendants(pid)
	syscall.Kill(-pid, syscall.SIGKILL)
	for _, p := range below {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// lastLogLine is the last non-empty line of a log, shortened, for a note.
func lastLogLine(path string) string {
	lines := tailLines(path, 1)
	if len(lines) == 0 {
		return "(empty log)"
	}
	l := lines[0]
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	return l
}

// tailLines returns up to n last non-empty lines of a file.
func tailLines(path string, n int) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// embeddedBroker is `sluice broker` run by the harness when no brokers are
// given; it keeps its data dir across restarts, as Kafka does.
type embeddedBroker struct {
	bin, addr, dataDir, log string
	cmd                     *exec.Cmd
	done                    chan struct{}
}

func startEmbeddedBroker(sluiceBin, dir string) (*embeddedBroker, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	b := &embeddedBroker{bin: sluiceBin, addr: addr, dataDir: filepath.Join(dir, "broker-data"), log: filepath.Join(dir, "broker.log")}
	return b, b.start()
}

func (b *embeddedBroker) start() error {
	f, err := os.OpenFile(b.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(b.bin, "broker", "--addr", b.addr, "--data-dir", b.dataDir)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting sluice broker: %w", err)
	}
	b.cmd, b.done = cmd, make(chan struct{})
	done := b.done
	go func() { cmd.Wait(); f.Close(); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("sluice broker exited at start: %s", lastLogLine(b.log))
		default:
		}
		if c, err := net.DialTimeout("tcp", b.addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("sluice broker did not listen on %s within 30s", b.addr)
}

// stop is a clean stop (SIGTERM: the broker flushes its data dir).
func (b *embeddedBroker) stop() {
	if b.cmd == nil {
		return
	}
	syscall.Kill(b.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.done
	}
	b.cmd = nil
}

func (b *embeddedBroker) restart() error {
	b.stop()
	return b.start()
}

// freeAddr picks a free loopback port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// runShell runs an operator command (the broker restart of real Kafka)
// with extra environment, returning its combined output on failure.
func runShell(command string, env []string, timeout time.Duration) error {
	cmd := exec.Command("sh", "-c", command)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %v: %s", command, err, strings.TrimSpace(out.String()))
		}
		return nil
	case <-time.After(timeout):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return errors.New(command + ": timed out after " + timeout.String())
	}
}
