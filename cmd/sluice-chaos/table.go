package main

import (
	"fmt"
	"strings"
)

// row is one scenario in one delivery mode, as printed.
type row struct {
	Scenario   string   `json:"scenario"`
	Delivery   string   `json:"delivery"`
	In         int64    `json:"records_in"`
	Out        int64    `json:"out"`
	DLQ        int64    `json:"dlq"`
	Lost       int64    `json:"lost"`
	Duplicated int64    `json:"duplicated"`
	Seconds    float64  `json:"seconds"`
	Faults     string   `json:"faults,omitempty"`
	Stalled    bool     `json:"stalled,omitempty"`
	Error      string   `json:"error,omitempty"`
	Notes      []string `json:"notes,omitempty"`
}

const tableHeader = "| scenario | delivery | records in | out | DLQ | lost | duplicated | time | notes |\n" +
	"|---|---|---:|---:|---:|---:|---:|---:|---|"

// fail marks a run that could not be carried out; its records count as lost.
func (r row) fail(format string, args ...any) row {
	r.Error = fmt.Sprintf(format, args...)
	if r.Lost == 0 && r.Out+r.DLQ == 0 {
		r.Lost = r.In
	}
	return r
}

// failed: a lost record anywhere, a duplicate in an exactly-once row, or a
// run that could not be carried out.
func (r row) failed() bool {
	return r.Lost > 0 || (r.Delivery == deliveryEO && r.Duplicated > 0) || r.Error != ""
}

func (r row) markdown() string {
	var notes []string
	if r.Error != "" {
		notes = append(notes, "ERROR: "+r.Error)
	}
	if r.Faults != "" {
		notes = append(notes, r.Faults)
	}
	notes = append(notes, r.Notes...)
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %.1fs | %s |",
		r.Scenario, r.Delivery, group(r.In), group(r.Out), group(r.DLQ), group(r.Lost), group(r.Duplicated),
		r.Seconds, strings.ReplaceAll(strings.Join(notes, "; "), "|", `\|`))
}

// group writes n with thousands separators: 1,000,000.
func group(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + group(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
