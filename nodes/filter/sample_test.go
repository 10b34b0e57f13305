package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"testing"

	sluice "github.com/sluicehq/sluice/adapters/go"
)

const (
	samplePath       = "../../testdata/events/sample.jsonl"
	sampleReadmePath = "../../testdata/events/README.md"
)

// TestSampleMatchesReadme runs every line of the demo sample through the
// node and checks the totals, and each invalid line's number and reason,
// against testdata/events/README.md.
func TestSampleMatchesReadme(t *testing.T) {
	sample, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(sampleReadmePath)
	if err != nil {
		t.Fatal(err)
	}
	totals := regexp.MustCompile(`Totals: (\d+) lines, (\d+) valid, (\d+) invalid\.`).FindSubmatch(readme)
	if totals == nil {
		t.Fatal("README.md has no line like \"Totals: 40 lines, 32 valid, 8 invalid.\"")
	}
	wantLines, _ := strconv.Atoi(string(totals[1]))
	wantValid, _ := strconv.Atoi(string(totals[2]))
	wantInvalid, _ := strconv.Atoi(string(totals[3]))
	wantReasons := map[int]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| (\\d+) \\| .* \\| `([^`]*)` \\|$").FindAllSubmatch(readme, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		wantReasons[n] = string(m[2])
	}
	if len(wantReasons) != wantInvalid {
		t.Errorf("README.md lists %d invalid lines in its table but says %d", len(wantReasons), wantInvalid)
	}

	if !bytes.HasSuffix(sample, []byte("\n")) {
		t.Error("sample.jsonl does not end with a newline")
	}
	lines := bytes.Split(bytes.TrimSuffix(sample, []byte("\n")), []byte("\n"))
	valid, invalid := 0, 0
	for i, line := range lines {
		n := i + 1
		outs, err := process(sluice.Record{Value: line, Timestamp: recordTS})
		if err != nil {
			invalid++
			want, listed := wantReasons[n]
			switch {
			case !listed:
				t.Errorf("line %d fails but README.md does not list it: %v\n\t%s", n, err, line)
			case err.Error() != want:
				t.Errorf("line %d: reason %q, README.md says %q", n, err, want)
			}
			continue
		}
		valid++
		if want, listed := wantReasons[n]; listed {
			t.Errorf("line %d is valid but README.md lists it as failing with %q: %s", n, want, outs[0].Value)
		}
		checkOutput(t, outs[0])
	}
	if len(lines) != wantLines || valid != wantValid || invalid != wantInvalid {
		t.Errorf("sample.jsonl: %d lines, %d valid, %d invalid; README.md says %d, %d, %d",
			len(lines), valid, invalid, wantLines, wantValid, wantInvalid)
	}
}
