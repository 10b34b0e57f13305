package main

import (
	"fmt"
	"sync"
	"syscall"
	"time"
)

// scenario is one fault, injected while the records flow. Faults are either
// planted (records whose value makes the test node misbehave, at fixed
// sequence numbers, expected in the DLQ) or injected from outside (inject,
// called when the run's progress passes each of at).
type scenario struct {
	name   string
	what   string                     // one line for --help and the docs
	plant  func(n int) map[int]string // sequence number → value; nil: none
	at     []float64                  // fractions of the records handled at which inject runs
	inject func(r *run, phase int) error
}

var scenarios = []scenario{
	{name: "baseline", what: "no fault: the reference row"},
	{name: "kill-stage", what: "SIGKILL one stage instance (and its nodes) at 30% and 60%, restart it 1s later with the same instance id",
		at: []float64{0.3, 0.6}, inject: killStage},
	{name: "kill-node", what: "SIGKILL the node co-processes of one instance 3 times, 0.7s apart, at 30% and 60%",
		at: []float64{0.3, 0.6}, inject: killNodes},
	{name: "hang", what: `3 planted "hang" records: the node never answers; timeouts.batch kills it`,
		plant: plantAt("hang", "hang", "hang")},
	{name: "garbage", what: `planted "garbage" (a malformed frame) and "oversize" (a 2 GiB frame header) records`,
		plant: plantAt("garbage", "oversize", "garbage", "oversize")},
	{name: "poison", what: `planted "crash" (the node exits on it every time) and "fail:bad record" (the node rejects it) records`,
		plant: plantAt("crash", "fail:bad record", "crash", "fail:bad record")},
	{name: "broker-restart", what: "stop and start the broker, keeping its data, at 30% and 60%",
		at: []float64{0.3, 0.6}, inject: restartBroker},
	{name: "rebalance-storm", what: "from 25% until the end (at most 6 cycles): start a 3rd and 4th instance, 2s later SIGTERM the 3rd and SIGKILL (cycles 1 and 4) or SIGTERM the 4th, wait 2s",
		at: []float64{0.25}, inject: storm},
}

func scenarioByName(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.name == name {
			return s, true
		}
	}
	return scenario{}, false
}

// plantAt spreads the given values over the run, at fixed positions
// between 15% and 90% of the sequence numbers (offset so they are not
// round numbers), so they reach the stage while it is busy.
func plantAt(values ...string) func(n int) map[int]string {
	return func(n int) map[int]string {
		m := map[int]string{}
		for i, v := range values {
			frac := 0.15 + 0.75*float64(i)/float64(max(len(values)-1, 1))
			seq := int(frac*float64(n)) + 7*i + 3
			for seq >= n || m[seq] != "" {
				seq = (seq + 1) % n
			}
			m[seq] = v
		}
		return m
	}
}

// killStage kills instance 0 at the first phase, 1 at the second, and
// starts it again a second later, as an orchestrator would.
func killStage(r *run, phase int) error {
	in := r.instances[phase%2]
	in.kill()
	r.fault("instance kill")
	r.logf("SIGKILL to instance %s", in.id)
	time.Sleep(time.Second)
	r.logf("instance %s started again", in.id)
	return in.start()
}

// killNodes SIGKILLs the node co-processes of one instance three times,
// each time once the instance has started them again.
func killNodes(r *run, phase int) error {
	in := r.instances[phase%2]
	for range 3 {
		var nodes []int
		for wait := time.Now(); len(nodes) == 0 && time.Since(wait) < 10*time.Second; {
			if r.finished.Load() {
				return nil
			}
			pid := in.pid()
			if pid == 0 {
				return fmt.Errorf("instance %s does not run", in.id)
			}
			if nodes = nodePIDs(pid); len(nodes) == 0 {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if len(nodes) == 0 {
			r.note("instance %s started no node within 10s of the last kill", in.id)
			return nil
		}
		for _, p := range nodes {
			if syscall.Kill(p, syscall.SIGKILL) == nil {
				r.fault("node kill")
				r.logf("SIGKILL to node pid %d of instance %s", p, in.id)
			}
		}
		time.Sleep(700 * time.Millisecond)
	}
	return nil
}

func restartBroker(r *run, _ int) error {
	r.logf("broker restart begins")
	if err := r.env.restartBroker(); err != nil {
		return err
	}
	r.fault("broker restart")
	r.logf("broker restart done")
	return nil
}

// storm adds and removes instances every ~2s from 25% of the run until
// every record is accounted for (at most 6 cycles): a 3rd and a 4th
// instance join; 2s later the 3rd leaves cleanly (SIGTERM) and the 4th is
// SIGKILLed in cycles 1 and 4, SIGTERMed in the others. Every change is a
// rebalance; a killed member's partitions move only when its session times
// out (45s in franz-go), and a soft stop waits for a rebalance in progress,
// so cycles stretch while a dead member is pending.
func storm(r *run, _ int) error {
	a, b := r.instances[2], r.instances[3]
	for cycle := range 6 {
		if r.finished.Load() {
			return nil
		}
		if err := a.start(); err != nil {
			return err
		}
		if err := b.start(); err != nil {
			return err
		}
		r.fault("instance start", "instance start")
		r.logf("storm cycle %d: instances %s and %s started", cycle+1, a.id, b.id)
		time.Sleep(2 * time.Second)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f := a.stop(60 * time.Second); f != "" {
				r.note("%s", f)
			}
		}()
		if cycle%3 == 0 {
			b.kill()
			r.fault("instance stop", "instance kill")
			r.logf("storm cycle %d: SIGTERM to %s, SIGKILL to %s", cycle+1, a.id, b.id)
		} else {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if f := b.stop(60 * time.Second); f != "" {
					r.note("%s", f)
				}
			}()
			r.fault("instance stop", "instance stop")
			r.logf("storm cycle %d: SIGTERM to %s and %s", cycle+1, a.id, b.id)
		}
		wg.Wait()
		time.Sleep(2 * time.Second)
	}
	return nil
}
