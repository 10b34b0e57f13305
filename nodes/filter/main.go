package main

import (
	"errors"
	"log"
	"os"
	"strings"
	"sync/atomic"
	"time"

	sluice "github.com/sluicehq/sluice/adapters/go"
)

// passthroughEnv names the environment variable that turns the node into a
// passthrough (see the package documentation).
const passthroughEnv = "SLUICE_FILTER_PASSTHROUGH"

// delayEnv and delayFileEnv name the environment variables that slow the
// node down (see the package documentation).
const (
	delayEnv     = "SLUICE_FILTER_DELAY"
	delayFileEnv = "SLUICE_FILTER_DELAY_FILE"
)

func main() {
	handler := process
	if v := os.Getenv(passthroughEnv); v == "1" || v == "true" {
		// stderr is the node's log; the runtime keeps it apart from the protocol.
		log.Printf("filter: %s=%s: emitting every record unchanged", passthroughEnv, v)
		handler = passthrough
	}
	if s := newSlowdown(); s != nil {
		handler = s.wrap(handler)
	}
	sluice.Node{Name: "filter", Version: "0.1.0", Process: handler}.Run()
}

// slowdown adds a delay per record, for experiments with a slow node.
type slowdown struct {
	perRecord atomic.Int64 // time.Duration; set by the file watcher
	// debt is sleep owed and not yet slept. Sleeps are taken in chunks of at
	// least a millisecond, because a sleep of a few microseconds lasts far
	// longer than asked; an oversleep is paid back by the next records. Only
	// the handler touches it: the adapter calls the handler from one goroutine.
	debt time.Duration
}

// newSlowdown reads SLUICE_FILTER_DELAY and SLUICE_FILTER_DELAY_FILE; it
// returns nil when neither is set. A malformed value stops the node.
func newSlowdown() *slowdown {
	v, path := os.Getenv(delayEnv), os.Getenv(delayFileEnv)
	if v == "" && path == "" {
		return nil
	}
	s := &slowdown{}
	if v != "" {
		d, err := parseDelay(v)
		if err != nil {
			log.Fatalf("filter: %s=%q: %v", delayEnv, v, err)
		}
		s.perRecord.Store(int64(d))
		log.Printf("filter: %s=%s: sleeping %v per record", delayEnv, v, d)
	}
	if path != "" {
		s.load(path)
		go func() {
			for range time.Tick(time.Second) {
				s.load(path)
			}
		}()
	}
	return s
}

// load sets the delay from the file at path; a missing or empty file, or a
// malformed one (logged), keeps the current delay.
func (s *slowdown) load(path string) {
	b, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(b)) == "" {
		return
	}
	d, err := parseDelay(strings.TrimSpace(string(b)))
	if err != nil {
		log.Printf("filter: %s %s: %v; keeping %v", delayFileEnv, path, err, time.Duration(s.perRecord.Load()))
		return
	}
	if old := time.Duration(s.perRecord.Swap(int64(d))); old != d {
		log.Printf("filter: %s %s: sleeping %v per record (was %v)", delayFileEnv, path, d, old)
	}
}

func parseDelay(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err == nil && d < 0 {
		err = errors.New("negative delay")
	}
	return d, err
}

func (s *slowdown) wrap(h func(sluice.Record) ([]sluice.Output, error)) func(sluice.Record) ([]sluice.Output, error) {
	return func(r sluice.Record) ([]sluice.Output, error) {
		d := time.Duration(s.perRecord.Load())
		if d <= 0 {
			s.debt = 0
			return h(r)
		}
		s.debt += d
		if s.debt >= time.Millisecond {
			start := time.Now()
			time.Sleep(s.debt)
			s.debt -= time.Since(start)
		}
		return h(r)
	}
}
