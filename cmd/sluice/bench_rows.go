package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// benchNode is a passthrough node a stage row runs, with the row's
// settings.
type benchNode struct {
	row     string
	command string
	args    []string
	env     map[string]string
	batch   int // batch.max_records for this row (0: the default)
	// exactlyOnce runs the row's stage with delivery: exactly-once.
	exactlyOnce bool
	// format, when set (json or avro), declares the row's input and
	// output topics in that format: the stage decodes and checks or
	// encodes every value (--codec).
	format string
	// windowOfOne runs the stage one record at a time: batch.max_records
	// 1 and window.batches 1, how strict request/response peers work.
	windowOfOne bool
	// few runs the row on --few-records records instead of --records:
	// it is too slow for the full count.
	few bool
	// aim is the aim for the row's ratio to the ceiling (200-byte
	// records, embedded broker); 0: none.
	aim float64
}

// adapterBenchNodes are the conformance nodes of each language adapter
// (docs/conformance.md), which pass ordinary records through unchanged.
var adapterBenchNodes = map[string]benchNode{
	"go":   {row: "Go adapter (conformance node)", command: "bin/conformance/go", aim: 0.7},
	"rust": {row: "Rust adapter (conformance node)", command: ".cache/cargo-target/release/conformance-node", aim: 0.7},
	"python": {row: "Python adapter, record handler (conformance node)", command: ".cache/venv/bin/python",
		args: []string{"adapters/python/conformance_node.py"}, aim: 0.4},
	// The same answers from a process_batch handler.
	"python-batch": {row: "Python adapter, batch handler (conformance node --batch)", command: ".cache/venv/bin/python",
		args: []string{"adapters/python/conformance_node.py", "--batch"}, aim: 0.4},
	"node": {row: "Node.js adapter (conformance node)", command: "node", args: []string{"adapters/node/conformance-node.js"}, aim: 0.4},
	// Files mode pays a few processes per batch (jq, tar, ...): such nodes
	// are run with large batches, as a pipeline file would, and on fewer
	// records (≈ 20k records/s).
	"shell": {row: "Shell adapter, files mode, batches of 10,000 (conformance node)", command: "bash",
		args: []string{"adapters/shell/conformance-node.sh"}, batch: 10000, few: true},
}

// adapterOrder is the order of --adapters all.
var adapterOrder = []string{"go", "rust", "python", "python-batch", "node", "shell"}

// parseAdapters turns --adapters into the nodes to measure, checking each
// is built.
func parseAdapters(list string) ([]benchNode, error) {
	if list == "" {
		return nil, nil
	}
	names := strings.Split(list, ",")
	if list == "all" {
		names = adapterOrder
	}
	var out []benchNode
	for _, name := range names {
		n, ok := adapterBenchNodes[strings.TrimSpace(name)]
		if !ok {
			return nil, usageError{fmt.Errorf("--adapters: unknown adapter %q (want all, or some of %s)", name, strings.Join(adapterOrder, ","))}
		}
		for _, probe := range append([]string{n.command}, n.args...) {
			if !strings.Contains(probe, "/") {
				continue // a program on $PATH, or a flag
			}
			if _, err := os.Stat(probe); err != nil {
				return nil, fmt.Errorf("--adapters %s: %s not found (run 'make build' from the repository root first)", name, probe)
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// parseSizes reads --sizes: record sizes in bytes, comma-separated.
func parseSizes(list string) ([]int, error) {
	if list == "" {
		return nil, nil
	}
	var out []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return nil, usageError{fmt.Errorf("--sizes: %q is not a size in bytes (e.g. --sizes 100,1024,16384)", s)}
		}
		out = append(out, n)
	}
	return out, nil
}

// sizeLabel names a record size the way people say it: 100 B, 1 KiB, 16 KiB.
func sizeLabel(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// sizeRecords is the record count of a --sizes row: the byte budget over
// the size, so that large records take seconds, not minutes, and at most
// --records.
func sizeRecords(f benchFlags, size int) int {
	n := int(int64(f.sizeMB) * 1_000_000 / int64(size))
	return max(1000, min(n, f.records))
}

// aimText says whether a row met its aim: "≥ 0.7: met", "≥ 0.4: missed".
func aimText(aim, got float64) string {
	verdict := "missed"
	if got >= aim {
		verdict = "met"
	}
	return fmt.Sprintf("≥ %.1f: %s", aim, verdict)
}

// pipelinedAim is the window-of-1 row's aim: the pipelined Go stage does at
// least 20 times its records/s.
func pipelinedAim(pipelined, one float64) string {
	x := pipelined / one
	verdict := "missed"
	if x >= 20 {
		verdict = "met"
	}
	return fmt.Sprintf("pipelined ≥ 20×: %.0f× %s", x, verdict)
}

// exactlyOnceAim is the exactly-once row's aim (the exactly-once work, docs/benchmarks.md): at
// least 0.6 times the at-least-once stage's records/s.
func exactlyOnceAim(atLeastOnce, eos float64) string {
	x := eos / atLeastOnce
	verdict := "missed"
	if x >= 0.6 {
		verdict = "met"
	}
	return fmt.Sprintf("≥ 0.6× at-least-once: %.2f× %s", x, verdict)
}
