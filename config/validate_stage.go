package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Bounds of stage settings. The upper bounds catch typos (workers: 2000)
// before they fork a machine's worth of processes.
const (
	maxWorkers       = 256
	maxWindowBatches = 1024
	maxRetries       = 100
	minBatchBytes    = kib
	minFrame         = kib
	maxFrame         = gib
	maxTxnTimeout    = 15 * time.Minute
)

func (v *validator) stage(s *Stage) {
	base := stagePath(s.Name)
	at := func(sub string) string { return base + "." + sub }
	if !nameRE.MatchString(s.Name) {
		v.problem(s.Line, base, "invalid stage name %q: %s", s.Name, nameRule)
	}
	v.stageTopics(s, base)
	if s.Node.Command == "" {
		v.required(at("node.command"), v.lineOf(s.Line, at("node")), "name the program to run as this stage's node")
	}
	for k := range s.Node.Env {
		if k == "" || strings.ContainsRune(k, '=') {
			v.at(fieldPath(at("node.env"), k), s.Line, "invalid environment variable name %q: it must be non-empty and contain no '='", k)
		}
	}
	v.stageLimits(s, base)
	v.stageFormats(s, base)
	oneOf(v, at("delivery"), s.Line, s.Delivery, DeliveryAtLeastOnce, DeliveryExactlyOnce)
	oneOf(v, at("dlq_policy.on_write_failure"), s.Line, s.DLQPolicy.OnWriteFailure, DLQWriteStop, DLQWriteRetry, DLQWriteDrop)
	oneOf(v, at("assignor"), s.Line, s.Assignor, AssignorCooperativeSticky, AssignorSticky, AssignorRange, AssignorRoundRobin)
}

// oneOf reports a value that is not one of the allowed words, suggesting
// the nearest one when it looks like a typo ("arvo"); it returns whether
// the value was allowed.
func oneOf(v *validator, path string, line int, got string, allowed ...string) bool {
	if slices.Contains(allowed, got) {
		return true
	}
	list := strings.Join(allowed[:len(allowed)-1], ", ") + " or " + allowed[len(allowed)-1]
	msg := fmt.Sprintf("expected %s, got %q", list, got)
	if s, ok := closest(got, slices.Values(allowed)); ok {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	v.at(path, line, "%s", msg)
	return false
}

// stageTopics checks input, outputs and dlq: declared, and not feeding the
// stage its own output.
func (v *validator) stageTopics(s *Stage, base string) {
	in, dlq := base+".input", base+".dlq"
	if s.Input == "" {
		v.required(in, s.Line, "name the topic this stage consumes")
	} else {
		v.topicRef(in, s.Line, s.Input)
	}
	names := make([]string, 0, len(s.Outputs))
	for name := range s.Outputs {
		names = append(names, name)
	}
	sort.Strings(names) // map order is random; problems must not be
	for _, name := range names {
		p, topic := fieldPath(base+".outputs", name), s.Outputs[name]
		if topic == s.Input {
			v.at(p, s.Line, "topic %q would loop: it is the stage's input topic", topic)
		} else {
			v.topicRef(p, s.Line, topic)
		}
		if topic == s.DLQ {
			v.at(dlq, s.Line, "topic %q is also the stage's output %q: dead letters would mix with results; give the DLQ its own topic", topic, name)
		}
	}
	if s.DLQ == s.Input {
		v.at(dlq, s.Line, "topic %q would loop: it is the stage's input topic", s.DLQ)
	} else {
		v.topicRef(dlq, s.Line, s.DLQ)
	}
}

// stageLimits checks every numeric setting against its range, then the
// settings that constrain each other, the latter only when both sides are
// valid on their own so one mistake yields one message.
func (v *validator) stageLimits(s *Stage, base string) {
	at := func(sub string) string { return base + "." + sub }
	r := rangeChecker{v: v, fallback: s.Line}
	r.ints(at("workers"), s.Workers, 1, maxWorkers)
	records := r.ints(at("batch.max_records"), s.Batch.MaxRecords, 1, 0)
	bytes := r.size(at("batch.max_bytes"), s.Batch.MaxBytes, minBatchBytes, 0)
	winRecords := r.ints(at("window.records"), s.Window.Records, 1, 0)
	winBytes := r.size(at("window.bytes"), s.Window.Bytes, minBatchBytes, 0)
	r.ints(at("window.batches"), s.Window.Batches, 1, maxWindowBatches)
	r.positive(at("timeouts.handshake"), s.Timeouts.Handshake)
	r.positive(at("timeouts.batch"), s.Timeouts.Batch)
	r.positive(at("timeouts.drain"), s.Timeouts.Drain)
	r.positive(at("timeouts.shutdown"), s.Timeouts.Shutdown)
	r.positive(at("commit_interval"), s.CommitInterval)
	r.ints(at("retries"), s.Retries, 1, maxRetries)
	initial := r.positive(at("backoff.initial"), s.Backoff.Initial)
	bmax := r.positive(at("backoff.max"), s.Backoff.Max)
	r.ints(at("max_start_failures"), s.MaxStartFailures, 1, 0)
	frame := r.size(at("max_frame"), s.MaxFrame, minFrame, maxFrame)
	r.ints(at("retry.max_attempts"), s.Retry.MaxAttempts, 1, maxRetries)
	rInitial := r.positive(at("retry.initial"), s.Retry.Initial)
	rMax := r.positive(at("retry.max"), s.Retry.Max)
	r.ints(at("dlq_policy.max_records"), s.DLQPolicy.MaxRecords, 0, 0)
	r.positive(at("dlq_policy.per"), s.DLQPolicy.Per)
	r.ints(at("transaction.max_records"), s.Transaction.MaxRecords, 1, 0)
	txnInterval := r.positive(at("transaction.interval"), s.Transaction.Interval)
	txnTimeout := r.positive(at("transaction.timeout"), s.Transaction.Timeout)

	if bytes && frame && s.Batch.MaxBytes > s.MaxFrame {
		v.problem(v.lineOf(s.Line, at("batch.max_bytes"), at("max_frame")), at("batch.max_bytes"),
			"%s (%s) exceeds %s (%s): raise max_frame or lower batch.max_bytes",
			at("batch.max_bytes"), formatSize(s.Batch.MaxBytes), at("max_frame"), formatSize(s.MaxFrame))
	}
	if records && winRecords && s.Window.Records < s.Batch.MaxRecords {
		v.problem(v.lineOf(s.Line, at("window.records"), at("batch.max_records")), at("window.records"),
			"%s (%d) is smaller than %s (%d): the window could never hold a full batch: raise window.records or lower batch.max_records",
			at("window.records"), s.Window.Records, at("batch.max_records"), s.Batch.MaxRecords)
	}
	if bytes && winBytes && s.Window.Bytes < s.Batch.MaxBytes {
		v.problem(v.lineOf(s.Line, at("window.bytes"), at("batch.max_bytes")), at("window.bytes"),
			"%s (%s) is smaller than %s (%s): the window could never hold a full batch: raise window.bytes or lower batch.max_bytes",
			at("window.bytes"), formatSize(s.Window.Bytes), at("batch.max_bytes"), formatSize(s.Batch.MaxBytes))
	}
	if rInitial && rMax && s.Retry.Initial > s.Retry.Max {
		v.problem(v.lineOf(s.Line, at("retry.initial"), at("retry.max")), at("retry.initial"),
			"%s (%s) exceeds %s (%s): lower retry.initial or raise retry.max",
			at("retry.initial"), formatDuration(s.Retry.Initial), at("retry.max"), formatDuration(s.Retry.Max))
	}
	if txnTimeout && s.Transaction.Timeout > maxTxnTimeout {
		v.at(at("transaction.timeout"), s.Line,
			"must be at most %s (Kafka's default transaction.max.timeout.ms refuses longer), got %s",
			formatDuration(maxTxnTimeout), formatDuration(s.Transaction.Timeout))
	} else if txnInterval && txnTimeout && s.Transaction.Interval >= s.Transaction.Timeout {
		v.problem(v.lineOf(s.Line, at("transaction.interval"), at("transaction.timeout")), at("transaction.interval"),
			"%s (%s) must be shorter than %s (%s): the broker would abort every transaction",
			at("transaction.interval"), formatDuration(s.Transaction.Interval), at("transaction.timeout"), formatDuration(s.Transaction.Timeout))
	}
	if initial && bmax && s.Backoff.Initial > s.Backoff.Max {
		v.problem(v.lineOf(s.Line, at("backoff.initial"), at("backoff.max")), at("backoff.initial"),
			"%s (%s) exceeds %s (%s): lower backoff.initial or raise backoff.max",
			at("backoff.initial"), formatDuration(s.Backoff.Initial), at("backoff.max"), formatDuration(s.Backoff.Max))
	}
}

// rangeChecker reports out-of-range settings; each method says whether the
// value was fine. A zero upper bound means unbounded.
type rangeChecker struct {
	v        *validator
	fallback int
}

func (r rangeChecker) ints(path string, n, lo, hi int) bool {
	switch {
	case hi > 0 && (n < lo || n > hi):
		r.v.at(path, r.fallback, "must be between %d and %d, got %d", lo, hi, n)
	case n < lo:
		r.v.at(path, r.fallback, "must be at least %d, got %d", lo, n)
	default:
		return true
	}
	return false
}

func (r rangeChecker) size(path string, n, lo, hi int64) bool {
	switch {
	case hi > 0 && (n < lo || n > hi):
		r.v.at(path, r.fallback, "must be between %s and %s, got %s", formatSize(lo), formatSize(hi), formatSize(n))
	case n < lo:
		r.v.at(path, r.fallback, "must be at least %s, got %s", formatSize(lo), formatSize(n))
	default:
		return true
	}
	return false
}

func (r rangeChecker) positive(path string, d time.Duration) bool {
	if d <= 0 {
		r.v.at(path, r.fallback, "must be greater than 0, got %s", formatDuration(d))
		return false
	}
	return true
}
