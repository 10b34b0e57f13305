package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procUsage is what /proc tells about a stage process and its nodes while
// a bench row runs. Zero values mean "not measured" (not Linux, or the
// process was gone before the first sample).
type procUsage struct {
	// PeakRSSMB is the stage process's peak resident set (VmHWM).
	PeakRSSMB float64
	// CPUSeconds is the stage process's own user + system time (all its
	// threads; not its children's).
	CPUSeconds float64
	// NodeCPUSeconds is the user + system time of the stage's child
	// processes (the nodes), including what they reaped themselves: a
	// files-mode shell node's jq and tar runs count as the node's.
	NodeCPUSeconds float64
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports (sysconf needs cgo to ask).
const clockTicks = 100

// procSampler samples one stage process and its children from /proc, both
// periodically and on demand, keeping the latest (CPU) and highest (RSS)
// values, so a last sample missed because the process died early still
// leaves the ones before it.
type procSampler struct {
	pid  int
	mu   sync.Mutex
	peak float64
	cpu  float64
	// nodes holds each child's latest CPU seconds, by pid: a node
	// restarted after a crash is a new pid and its time adds up.
	nodes map[int]float64
	stop  chan struct{}
	done  chan struct{}
}

// procAvailable reports whether this system has a Linux-style /proc.
func procAvailable() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// startProcSampler samples pid every interval until stopped. Without
// /proc it samples nothing and reports zeros.
func startProcSampler(pid int, interval time.Duration) *procSampler {
	s := &procSampler{pid: pid, nodes: map[int]float64{}, stop: make(chan struct{}), done: make(chan struct{})}
	if !procAvailable() {
		close(s.done)
		return s
	}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish takes a last sample, stops sampling and returns the usage.
func (s *procSampler) finish() procUsage {
	select {
	case <-s.done: // no /proc
	default:
		close(s.stop)
		<-s.done
		s.sample()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := procUsage{PeakRSSMB: s.peak, CPUSeconds: s.cpu}
	for _, c := range s.nodes {
		u.NodeCPUSeconds += c
	}
	return u
}

// sample reads the stage's VmHWM and CPU time and its children's CPU time.
func (s *procSampler) sample() {
	hwm, hwmOK := procHWM(s.pid)
	cpu, _, cpuOK := procCPU(s.pid)
	kids := procChildren(s.pid)
	nodeCPU := map[int]float64{}
	for _, k := range kids {
		own, reaped, ok := procCPU(k)
		if ok {
			nodeCPU[k] = own + reaped
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if hwmOK {
		s.peak = max(s.peak, hwm)
	}
	if cpuOK {
		s.cpu = max(s.cpu, cpu)
	}
	for k, c := range nodeCPU {
		s.nodes[k] = max(s.nodes[k], c)
	}
}

// procHWM is the peak resident set of pid in MB (VmHWM of its status).
func procHWM(pid int) (float64, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, false
			}
			return kb * 1024 / 1e6, true
		}
	}
	return 0, false
}

// procCPU is pid's own user + system seconds and those of the children it
// has reaped (fields 14-17 of /proc/<pid>/stat).
func procCPU(pid int) (own, reaped float64, ok bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// or parentheses itself: count fields after the last ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := strings.Fields(string(data[i+1:])) // fields[0] is field 3, state
	if len(fields) < 15 {
		return 0, 0, false
	}
	var t [4]float64
	for j := range t {
		v, err := strconv.ParseFloat(fields[11+j], 64)
		if err != nil {
			return 0, 0, false
		}
		t[j] = v / clockTicks
	}
	return t[0] + t[1], t[2] + t[3], true
}

// procChildren lists pid's child processes: the children files of all its
// threads, since a multi-threaded process's children are listed under the
// thread that forked them.
func procChildren(pid int) []int {
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	seen := map[int]bool{}
	var out []int
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if k, err := strconv.Atoi(f); err == nil && !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}
