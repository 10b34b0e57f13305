package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// lagPoint builds one stage sample for the evaluator: members, then a
// {committed, lag} pair per partition (committed -1: never committed).
func lagPoint(i, members int, parts ...[2]int64) lagStage {
	st := lagStage{Stage: "filter", Topic: "events.parsed", State: "Stable", Members: members,
		at: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * 5 * time.Second)}
	if members == 0 {
		st.State = "Empty"
	}
	for p, pr := range parts {
		lp := lagPartition{Partition: int32(p), Lag: pr[1]}
		if pr[0] >= 0 {
			c := pr[0]
			lp.Committed = &c
			lp.End = c + pr[1]
		}
		st.Lag += pr[1]
		st.Partitions = append(st.Partitions, lp)
	}
	return st
}

// TestEvaluateLag checks the status rules on synthetic samples.
func TestEvaluateLag(t *testing.T) {
	// series makes n samples, the i-th from f(i).
	series := func(n int, f func(i int) lagStage) []lagStage {
		var out []lagStage
		for i := range n {
			out = append(out, f(i))
		}
		return out
	}
	i64 := func(i int) int64 { return int64(i) }
	for _, tc := range []struct {
		name       string
		window     []lagStage
		size       int
		status     string
		noteSubstr string
	}{
		{"one sample, no members, records waiting", []lagStage{lagPoint(0, 0, [2]int64{-1, 30}, [2]int64{-1, 10})}, 1,
			lagStopped, "no members (group Empty); 40 records waiting in events.parsed"},
		{"one sample, no members, caught up", []lagStage{lagPoint(0, 0, [2]int64{12, 0})}, 1,
			lagStopped, "no members (group Empty); caught up"},
		{"one sample, members, lag", []lagStage{lagPoint(0, 2, [2]int64{12, 5})}, 1,
			lagOK, "one sample: --watch tells whether the lag shrinks"},
		{"one sample, members, no lag", []lagStage{lagPoint(0, 2, [2]int64{12, 0})}, 1, lagOK, ""},
		{"not measured", []lagStage{{Stage: "filter", err: `input topic "x" does not exist`}}, 1,
			lagUnknown, `input topic "x" does not exist`},
		{"window not full yet", series(3, func(i int) lagStage { return lagPoint(i, 1, [2]int64{10, 5}) }), 10,
			lagOK, "evaluating: 3 of 10 samples"},
		{"stopped wins over a full window", append(series(4, func(i int) lagStage { return lagPoint(i, 1, [2]int64{10, 5}) }),
			lagPoint(4, 0, [2]int64{10, 5})), 5, lagStopped, "5 records waiting"},
		{"commits frozen while lag > 0: stalled", series(5, func(i int) lagStage { return lagPoint(i, 1, [2]int64{10, 5 + i64(i)}, [2]int64{7, 0}) }), 5,
			lagStalled, "committed offset unchanged over 5 samples (20s) while lag > 0: partition 0 (at 10, lag 9)"},
		{"never committed, members, lag > 0 throughout: stalled", series(3, func(i int) lagStage { return lagPoint(i, 1, [2]int64{-1, 8}) }), 3,
			lagStalled, "partition 0 (at -, lag 8)"},
		{"commits frozen, no lag: idle", series(5, func(i int) lagStage { return lagPoint(i, 1, [2]int64{10, 0}) }), 5, lagOK, ""},
		{"commits frozen, records just arrived: not yet stalled", series(5, func(i int) lagStage {
			return lagPoint(i, 1, [2]int64{10, map[bool]int64{true: 6, false: 0}[i == 4]})
		}), 5, lagOK, ""},
		{"committing, lag growing: warning", series(5, func(i int) lagStage {
			return lagPoint(i, 1, [2]int64{100 * i64(i), 10 + 10*i64(i)}, [2]int64{50 * i64(i), 3})
		}), 5, lagWarning, "lag grew from 13 to 53 over 5 samples (20s) while committing: falling behind"},
		{"committing, lag flat at times but never shrinking: warning", series(4, func(i int) lagStage {
			return lagPoint(i, 1, [2]int64{100 * i64(i), []int64{5, 5, 9, 9}[i]})
		}), 4, lagWarning, "lag grew from 5 to 9"},
		{"committing, lag up and down: ok", series(4, func(i int) lagStage {
			return lagPoint(i, 1, [2]int64{100 * i64(i), []int64{5, 9, 4, 8}[i]})
		}), 4, lagOK, ""},
		{"committing, lag shrinking: ok", series(4, func(i int) lagStage {
			return lagPoint(i, 1, [2]int64{100 * i64(i), 40 - 10*i64(i)})
		}), 4, lagOK, ""},
		{"one partition falls behind while another catches up: warning", series(3, func(i int) lagStage {
			return lagPoint(i, 1, [2]int64{10 * i64(i), 1 + 2*i64(i)}, [2]int64{10 * i64(i), 50 - 20*i64(i)})
		}), 3, lagWarning, "on partition 0 (1 -> 5)"},
		{"one partition stuck, the other busy: stalled", series(3, func(i int) lagStage {
			return lagPoint(i, 2, [2]int64{100 * i64(i), 4}, [2]int64{33, 2})
		}), 3, lagStalled, "partition 1 (at 33, lag 2)"},
		{"a sample that failed does not count", append(series(2, func(i int) lagStage { return lagPoint(i, 1, [2]int64{10, 5}) }),
			lagStage{Stage: "filter", Members: 1, err: "boom"}, lagPoint(3, 1, [2]int64{10, 5})), 4, lagOK, "evaluating: 3 of 4 samples"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, note := evaluateLag(tc.window, tc.size)
			if status != tc.status || !strings.Contains(note, tc.noteSubstr) || (tc.noteSubstr == "" && note != "") {
				t.Errorf("evaluateLag = %s %q, want %s %q", status, note, tc.status, tc.noteSubstr)
			}
		})
	}
}

// lagJSON runs sluice lag --json and decodes its one sample.
func lagJSON(t *testing.T, args ...string) lagSample {
	t.Helper()
	stdout, _ := mustSluice(t, "", append([]string{"lag", "--json"}, args...)...)
	var s lagSample
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("lag --json printed %q: %v", stdout, err)
	}
	if len(s.Stages) != 1 {
		t.Fatalf("lag --json: %d stages, want 1: %s", len(s.Stages), stdout)
	}
	return s
}

// squeezeTable collapses the column padding of a table, line by line.
func squeezeTable(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// TestLagStoppedThenCaughtUp: with the stage stopped, lag counts the N
// records produced to its input and says STOPPED; once the stage runs and
// catches up, lag is 0 and the stage OK; stopped again, STOPPED and caught
// up.
func TestLagStoppedThenCaughtUp(t *testing.T) {
	addr := startKafka(t)
	names := uniqueTopics(t)
	cfg := filterPipeline(t, buildFilter(t), names)
	mustSluice(t, "", "topics", "create", "--config", cfg, "--brokers", addr)
	waitTopics(t, addr, names.parsed, names.clean, names.dlq)
	args := []string{"--config", cfg, "--brokers", addr}

	s := lagJSON(t, args...)
	st := s.Stages[0]
	if st.Status != lagStopped || st.Lag != 0 || st.Members != 0 || st.Topic != names.parsed || st.Group != "sluice."+names.pipeline+".filter" {
		t.Fatalf("before anything: %+v", st)
	}

	const n = 40
	lines, _ := sensorEvents(n)
	mustSluice(t, strings.Join(lines, "\n")+"\n", "produce", names.parsed, "--brokers", addr, "--key-field", "sensor_id")
	st = lagJSON(t, args...).Stages[0]
	if st.Status != lagStopped || st.Lag != n || !strings.Contains(st.Note, "40 records waiting in "+names.parsed) {
		t.Fatalf("after producing %d with the stage stopped: %+v", n, st)
	}
	var sum int64
	for _, p := range st.Partitions {
		if p.Committed != nil || p.Lag != p.End-p.Start {
			t.Errorf("partition %+v: a group that never committed lags end - start", p)
		}
		sum += p.Lag
	}
	if len(st.Partitions) != 3 || sum != n {
		t.Errorf("partitions %+v, want 3 lagging %d together", st.Partitions, n)
	}

	// The table says the same.
	stdout, _ := mustSluice(t, "", append([]string{"lag"}, args...)...)
	for _, want := range []string{"STAGE GROUP MEMBERS LAG STATUS NOTE\n", "filter sluice." + names.pipeline + ".filter 0 40 STOPPED no members",
		"STAGE TOPIC PARTITION COMMITTED END LAG\n", "filter " + names.parsed + " 0 - "} {
		if !strings.Contains(squeezeTable(stdout), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var runOut, runErr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runIn(ctx, "", &runOut, &runErr, "run", "--config", cfg, "--stage", "filter", "--brokers", addr)
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v\n%s", err, runErr.String())
			}
		}
	}
	defer stop()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st = lagJSON(t, args...).Stages[0]
		if st.Status == lagOK && st.Lag == 0 && st.Members > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the running stage did not catch up: %+v\n%s", st, runErr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range st.Partitions {
		if p.End > 0 && (p.Committed == nil || *p.Committed != p.End) {
			t.Errorf("caught up, yet partition %+v", p)
		}
	}

	stop()
	deadline = time.Now().Add(30 * time.Second)
	for {
		st = lagJSON(t, args...).Stages[0]
		if st.Status == lagStopped && st.Lag == 0 && strings.HasSuffix(st.Note, "caught up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after stopping the stage: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLagWatch takes a few samples with --watch --count and judges them
// over a window of 2.
func TestLagWatch(t *testing.T) {
	addr := startKafka(t)
	names := uniqueTopics(t)
	cfg := filterPipeline(t, "sh", names)
	makeTopic(t, addr, names.parsed, 3)
	stdout, _ := mustSluice(t, "", "lag", "--config", cfg, "--brokers", addr, "--watch", "--interval", "20ms", "--count", "3", "--window", "2", "--json")
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("--count 3 printed %d lines:\n%s", len(lines), stdout)
	}
	for i, line := range lines {
		var s lagSample
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		if s.Samples != i+1 || len(s.Stages) != 1 || s.Stages[0].Status != lagStopped {
			t.Errorf("sample %d: %s", i+1, line)
		}
	}

	stdout, _ = mustSluice(t, "", "lag", "--config", cfg, "--brokers", addr, "-w", "--interval", "20ms", "-n", "2")
	if strings.Count(stdout, "sample ") != 2 || !strings.Contains(stdout, "sample 2 at ") {
		t.Errorf("watch table:\n%s", stdout)
	}
}

// TestLagMissingTopicAndUsage: a stage whose input topic does not exist is
// UNKNOWN with the reason; flag mistakes are usage errors.
func TestLagMissingTopicAndUsage(t *testing.T) {
	addr := startKafka(t)
	names := uniqueTopics(t)
	cfg := filterPipeline(t, "sh", names)
	st := lagJSON(t, "--config", cfg, "--brokers", addr, "--stage", "filter").Stages[0]
	if st.Status != lagUnknown || st.Note != `input topic "`+names.parsed+`" does not exist` {
		t.Errorf("missing input topic: %+v", st)
	}

	var ue usageError
	for _, args := range [][]string{
		{"lag"},
		{"lag", "--config", cfg, "--count", "3"},
		{"lag", "--config", cfg, "--watch", "--window", "1"},
		{"lag", "--config", cfg, "--watch", "--interval", "0s"},
		{"lag", "--config", cfg, "--stage", "nope", "--brokers", addr},
	} {
		if _, _, err := sluice(t, "", args...); !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}
