package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	sluice "github.com/sluicehq/sluice/adapters/go"
)

// FuzzProcess checks that no input panics the node, that every output is
// valid JSON keyed by its sensor_id, that normalising is idempotent, and
// that an input encoding/json rejects is rejected too.
func FuzzProcess(f *testing.F) {
	f.Add([]byte(typicalEvent))
	f.Add([]byte(`{"sensor_id":"a","metric":"humidity","value":1e-999,"unit":" % ","ts":"1714564800.5","x":[{"y":" z "}]}`))
	f.Add([]byte(`{"sensor_id":"\u0041","metric":"t\u2028","value":-0,"ts":1e11,"a\"":1,"a\"":2}`))
	f.Add([]byte(`[1, {"a": "}"}]`))
	f.Add([]byte(`{"sensor_id":"b","metric":"temperature","value":-459.67,"unit":"°f"}`))
	// Found by fuzzing: an out-of-range extra, a misnamed field in a text
	// that is not JSON.
	f.Add([]byte(`{"sensor_id":"0","metric":"0","value":0,"":1e700}`))
	f.Add([]byte(`{"unIt":00`))
	if sample, err := os.ReadFile(samplePath); err == nil {
		for _, line := range bytes.Split(sample, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		outs, err := process(sluice.Record{Value: data, Timestamp: recordTS})
		if err != nil {
			msg := err.Error()
			switch {
			case msg == "invalid JSON":
				t.Fatalf("the scanner refused %q but encoding/json accepts it", data)
			case strings.HasPrefix(msg, "invalid JSON") && json.Valid(data) && utf8.Valid(data):
				t.Fatalf("%q refused as %q but it is valid JSON", data, msg)
			case !strings.HasPrefix(msg, "invalid JSON") && !json.Valid(data):
				t.Fatalf("%q is not JSON but the error is %q", data, msg)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		checkOutput(t, outs[0])
	})
}

// valid is the node's scanner used as a validator of a whole JSON text.
func valid(data []byte) bool {
	end := scanValue(data, skipWS(data, 0), 0)
	return end >= 0 && skipWS(data, end) == len(data)
}

// FuzzScannerMatchesEncodingJSON checks that the node's one-pass scanner
// accepts exactly the texts json.Valid accepts (among valid UTF-8, which the
// node checks first).
func FuzzScannerMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `{"a":1}`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":}`, `{,}`, `{"a":1 "b":2}`,
		`0`, `-0`, `01`, `-`, `1.`, `.5`, `1.5e`, `1e+`, `1E-7`, `-1.25e+30`, `00`,
		`"\u00e9\n\/"`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"\t\"", `"abc`, `"\"`,
		`true`, `tru`, `falsey`, `null `, ` nul`, `[true,false,null]`, `{"a":[{"b":{}}]}`, `[[[]]]`, `[[[]]`,
		typicalEvent, `{"a":1}x`, `{"a":1}{}`, "{\"a\":1}\n\t \r",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return
		}
		if got, want := valid(data), json.Valid(data); got != want {
			t.Fatalf("scanner says valid=%v, json.Valid says %v, for %q", got, want, data)
		}
	})
}

func TestScannerNestingLimit(t *testing.T) {
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		arrays := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		if got, want := valid(arrays), json.Valid(arrays); got != want {
			t.Errorf("depth %d arrays: scanner %v, json.Valid %v", depth, got, want)
		}
		obj := []byte(`{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`)
		if got, want := valid(obj), json.Valid(obj); got != want {
			t.Errorf("depth %d in an object: scanner %v, json.Valid %v", depth, got, want)
		}
		_, err := process(sluice.Record{Value: obj})
		if json.Valid(obj) != (err == nil || !strings.HasPrefix(err.Error(), "invalid JSON")) {
			t.Errorf("depth %d: process error %v, json.Valid %v", depth, err, json.Valid(obj))
		}
	}
}
