package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestOffsetsResetThenRun rewinds a new (empty) group to a time with
// offsets reset: the dry run changes nothing, --execute commits, and the
// stage started afterwards processes exactly the records at or after it.
func TestOffsetsResetThenRun(t *testing.T) {
	tp := newTimedPipeline(t, false)
	adm := admin(t, tp.addr)
	at := tp.base.Add(2 * time.Hour)
	args := []string{"offsets", "reset", "--config", tp.cfg, "--brokers", tp.addr, "--stage", "filter", "--to", "@" + at.Format(time.RFC3339)}

	stdout, _ := mustSluice(t, "", args...)
	for p := range 3 {
		if row := fmt.Sprintf("%d - 67", p); !tableHasRow(stdout, row) {
			t.Fatalf("dry run lacks the row %q:\n%s", row, stdout)
		}
	}
	if !tableHasRow(stdout, "PARTITION CURRENT NEW") || !strings.Contains(stdout, "group "+tp.group+", topic "+tp.names.parsed) ||
		!strings.Contains(stdout, "dry run: nothing changed") {
		t.Fatalf("dry run output:\n%s", stdout)
	}
	if c := groupCommitted(t, adm, tp.group, tp.names.parsed); len(c) != 0 {
		t.Fatalf("the dry run committed %v", c)
	}

	stdout, _ = mustSluice(t, "", append(args, "--execute")...)
	if !strings.Contains(stdout, "reset group "+tp.group+": committed the NEW offsets for 3 partitions") {
		t.Fatalf("execute output:\n%s", stdout)
	}
	if c := groupCommitted(t, adm, tp.group, tp.names.parsed); fmt.Sprint(c) != "map[0:67 1:67 2:67]" {
		t.Fatalf("committed %v, want 67 on every partition", c)
	}
	// A second dry run shows the committed offsets as CURRENT.
	stdout, _ = mustSluice(t, "", args...)
	if !tableHasRow(stdout, "1 67 67") {
		t.Fatalf("dry run after the reset:\n%s", stdout)
	}

	var want []timedRecord
	for _, r := range tp.inputs {
		if !r.Timestamp.Before(at) {
			want = append(want, r)
		}
	}
	stop, stderr := startFilterStage(t, tp)
	waitTotal(t, tp.addr, tp.names, int64(len(want)))
	time.Sleep(500 * time.Millisecond) // anything extra would show up now
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	checkLineageSources(t, lineageSources(t, tp.addr, nil, tp.names.clean, tp.names.dlq), want)
	if c := groupCommitted(t, adm, tp.group, tp.names.parsed); fmt.Sprint(c) != "map[0:100 1:100 2:100]" {
		t.Fatalf("after the run the group committed %v", c)
	}
}

// TestOffsetsResetTargets: earliest, latest, and a time after the last
// record (every partition falls back to its end offset).
func TestOffsetsResetTargets(t *testing.T) {
	tp := newTimedPipeline(t, false)
	base := []string{"offsets", "reset", "--config", tp.cfg, "--brokers", tp.addr, "--stage", "filter", "--to"}
	stdout, _ := mustSluice(t, "", append(base, "earliest")...)
	if !tableHasRow(stdout, "2 - 0") || !strings.Contains(stdout, "reset to the earliest offsets") {
		t.Fatalf("earliest:\n%s", stdout)
	}
	stdout, _ = mustSluice(t, "", append(base, "latest")...)
	if !tableHasRow(stdout, "0 - 100") {
		t.Fatalf("latest:\n%s", stdout)
	}
	after := tp.base.Add(3 * time.Hour)
	stdout, _ = mustSluice(t, "", append(base, "@"+after.Format(time.RFC3339), "--execute")...)
	if row := "1 - 100 end: nothing at or after " + after.UTC().Format(time.RFC3339); !tableHasRow(stdout, row) {
		t.Fatalf("no record after the time: want the row %q:\n%s", row, stdout)
	}
	if c := groupCommitted(t, admin(t, tp.addr), tp.group, tp.names.parsed); fmt.Sprint(c) != "map[0:100 1:100 2:100]" {
		t.Fatalf("committed %v", c)
	}
}

// TestOffsetsResetRefusedWhileRunning: a running stage instance is a
// member of the group, so --execute is refused and nothing changes; the
// dry run still prints, with a note.
func TestOffsetsResetRefusedWhileRunning(t *testing.T) {
	tp := newTimedPipeline(t, false)
	adm := admin(t, tp.addr)
	stop, stderr := startFilterStage(t, tp)
	deadline := time.Now().Add(60 * time.Second)
	for {
		dg, err := adm.DescribeGroups(testCtx(t), tp.group)
		if err == nil && len(dg[tp.group].Members) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stage did not join its group: %v\n%s", err, stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitTotal(t, tp.addr, tp.names, 300)
	before := groupCommitted(t, adm, tp.group, tp.names.parsed)

	args := []string{"offsets", "reset", "--config", tp.cfg, "--brokers", tp.addr, "--stage", "filter", "--to", "earliest"}
	_, _, err := sluice(t, "", append(args, "--execute")...)
	want := fmt.Sprintf("group %q has 1 active member; stop the stage first", tp.group)
	if err == nil || err.Error() != want {
		t.Fatalf("reset while running: %v, want %q", err, want)
	}
	stdout, _ := mustSluice(t, "", args...)
	if !strings.Contains(stdout, "note: group "+tp.group+" has 1 active member; stop the stage before --execute") || !tableHasRow(stdout, "PARTITION CURRENT NEW") {
		t.Fatalf("dry run while running:\n%s", stdout)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	after := groupCommitted(t, adm, tp.group, tp.names.parsed)
	for p, o := range before {
		if after[p] < o {
			t.Fatalf("partition %d went back from %d to %d: the refused reset changed something", p, o, after[p])
		}
	}
}
