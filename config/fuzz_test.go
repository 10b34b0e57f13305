package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fuzzSeeds are hand-written edge cases for FuzzParse, next to every
// example and fixture file: the YAML features that make a tree walker
// misbehave (anchors, merges, cycles, deep nesting, alias bombs) and the
// text features that make messages misbehave (control characters, line
// breaks libyaml counts, huge numbers).
var fuzzSeeds = []string{
	"",
	"---\n",
	"pipeline: p\n",
	"- a\n- b\n",
	"\tpipeline: p\n",
	"pipeline: 'p\n",
	stageFile,
	stageFile + "---\n" + stageFile,
	sharedDefaults,
	// a merge of a merge, and aliases to whole stages
	"x-a: &a {workers: 1}\nx-b: &b {<<: *a, retries: 2}\npipeline: p\ntopics: {in: {}}\nstages:\n  s: &s {<<: *b, input: in, node: {command: x}}\n",
	selfMerge,
	"pipeline: &p [*p]\n",
	// billion laughs through merge keys: 10^9 merges
	aliasBomb(9),
	// deep flow nesting
	"pipeline: p\nstages: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n",
	"pipeline: p\nstages: " + strings.Repeat("{a: ", 100) + "x" + strings.Repeat("}", 100) + "\n",
	// keys that are not plain names, control characters, odd line breaks
	"pipeline: p\ntopics:\n  \"a\\nb\": {}\n  \"\\t\": {}\nstages:\n  \"s\\r\": {input: \"a\\nb\\u2028\", node: {command: x}}\n",
	"pipeline: p\r\ntopics: {in: {}}\r\nstages:\r\n  s: {input: missing, node: {command: x}}\r\n",
	"pipeline: p\rtopics: {in: {}}\rstages:\r  s: {input: nope, node: {command: x}}\r",
	"pipeline: p\u0085topics: {in: {}}\u2028stages:\u2029  s: {input: nope}\n",
	"pipeline: p\ntopics: {in: {partitions: 99999999999999999999999, replication: -32769}}\nstages:\n  s: {input: in, node: {command: x}, max_frame: 9999999999999GiB, workers: -0x10}\n",
	"pipeline: p\ntopics: {in: {}}\nstages:\n  s: {input: in, node: {command: x}, group: \"${}\", dlq: \"${A:-}\", commit_interval: \"${X\"}\n",
	"pipeline: p\nstages:\n  ? [complex, key]\n  : {}\n  !!binary aGk=: {}\n",
	// typed topics: a schema list, a registry, raw node values
	"pipeline: p\nschema_registry: {url: [\"http://sr:8081\"], username: u, password: p}\ntopics:\n  in: {format: avro, schema: [../testdata/schemas/sensor_event.avsc], wire: confluent, subject: s}\n  out: {format: json}\nstages:\n  s: {input: in, outputs: {default: out}, node: {command: x, values: raw}}\n",
	"pipeline: p\ntopics:\n  in: {format: arvo, schema: {a: b}, compatibility: [x], wire: confluent}\nstages:\n  s: {input: in, node: {command: x, values: rwa}}\nschema_registry: {url: \"http://u:p@h:0/?q\"}\n",
}

// sharedDefaults merges one anchor into two stages, as users do.
const sharedDefaults = "x-defaults: &d\n  workers: 2\n  node: {command: x}\n" +
	"pipeline: p\ntopics: {in: {}, out: {}}\nstages:\n  s:\n    <<: *d\n    input: in\n  t:\n    <<: [*d]\n    input: out\n    workers: 3\n"

// selfMerge merges a stage into itself: an alias inside its own anchor.
const selfMerge = "pipeline: p\ntopics: {in: {}}\nstages:\n  s: &s\n    input: in\n    node: {command: x}\n    <<: *s\n"

// aliasBomb is a file of levels anchors, each merging ten copies of the
// previous one: 10^levels mappings once expanded.
func aliasBomb(levels int) string {
	var b strings.Builder
	b.WriteString("x-0: &l0 {workers: 1}\n")
	for i := 1; i <= levels; i++ {
		b.WriteString("x-" + itoa(i) + ": &l" + itoa(i) + " {<<: [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + itoa(i-1))
		}
		b.WriteString("]}\n")
	}
	b.WriteString("pipeline: p\ntopics: {in: {}}\nstages:\n  s:\n    <<: *l" + itoa(levels) + "\n    input: in\n    node: {command: x}\n")
	return b.String()
}

func itoa(i int) string { return string(rune('0' + i)) }

// FuzzParse feeds arbitrary bytes to Parse. Beyond not panicking, it holds
// Parse to what callers rely on: a valid, defaulted pipeline or a
// Problems of one-line, located messages, and the same answer every time.
//
//	go test ./config -run '^$' -fuzz '^FuzzParse$' -fuzztime 60s
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"examples/*.yaml", "../testdata/config/*.yaml", "../testdata/config/bad/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("p.yaml", data)
		checkParse(t, data, p, err)
		p2, err2 := Parse("p.yaml", data)
		if errText(err) != errText(err2) || (p == nil) != (p2 == nil) {
			t.Fatalf("two parses of the same bytes differ:\n%v\n--- and ---\n%v", err, err2)
		}
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// checkParse asserts the contract of Parse for input data.
func checkParse(t *testing.T, data []byte, p *Pipeline, err error) {
	t.Helper()
	if err == nil {
		if p == nil {
			t.Fatal("nil pipeline without an error")
		}
		checkPipeline(t, p)
		return
	}
	if p != nil {
		t.Fatalf("a pipeline and an error: %v", err)
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, not Problems: %v", err, err)
	}
	if len(ps) == 0 {
		t.Fatal("an empty Problems")
	}
	lines := countLines(data)
	texts := make([]string, len(ps))
	for i, pr := range ps {
		switch {
		case pr.File != "p.yaml":
			t.Errorf("problem %d names file %q: %v", i, pr.File, pr)
		case pr.Line < 0 || pr.Line > lines+1:
			t.Errorf("problem %d is on line %d of a %d-line input: %v", i, pr.Line, lines, pr)
		case pr.Message == "":
			t.Errorf("problem %d has no message: %+v", i, pr)
		case strings.ContainsAny(pr.Field+pr.Message, "\n\r"):
			t.Errorf("problem %d is not one line: %q", i, pr.Error())
		case i > 0 && pr.Line < ps[i-1].Line && !(i == len(ps)-1 && strings.HasPrefix(pr.Message, "stopped after ")):
			t.Errorf("problems not sorted by line: %d after %d", pr.Line, ps[i-1].Line)
		}
		texts[i] = pr.Error()
	}
	if got, want := err.Error(), strings.Join(texts, "\n"); got != want {
		t.Errorf("Problems text is not its problems' lines:\n%s\n--- want ---\n%s", got, want)
	}
}

// countLines is an upper bound on the line numbers libyaml can report: it
// breaks lines at \n, \r (\r\n counts twice here), NEL, LS and PS.
func countLines(data []byte) int {
	n := 1 + bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r"))
	for _, br := range []string{"\u0085", "\u2028", "\u2029"} {
		n += bytes.Count(data, []byte(br))
	}
	return n
}

// checkPipeline re-validates a parsed pipeline from the outside: every
// default filled, every reference resolved, every name unique.
func checkPipeline(t *testing.T, p *Pipeline) {
	t.Helper()
	if p.File != "p.yaml" || p.Name == "" || p.Kafka.ClientID == "" {
		t.Errorf("file %q, name %q, client id %q", p.File, p.Name, p.Kafka.ClientID)
	}
	topics := map[string]bool{}
	for _, tp := range p.Topics {
		if topics[tp.Name] {
			t.Errorf("topic %q listed twice", tp.Name)
		}
		topics[tp.Name] = true
		if tp.Partitions < 1 || tp.Replication == 0 || tp.Replication < -1 || tp.Configs == nil {
			t.Errorf("topic %+v", tp)
		}
		switch {
		case !slices.Contains([]string{FormatRaw, FormatJSON, FormatAvro}, tp.Format),
			!slices.Contains([]string{CompatBackward, CompatForward, CompatFull, CompatNone}, tp.Compatibility),
			!slices.Contains([]string{WireSingleObject, WireConfluent}, tp.Wire):
			t.Errorf("topic %q: format %q, compatibility %q, wire %q", tp.Name, tp.Format, tp.Compatibility, tp.Wire)
		case (tp.Format == FormatAvro) != (len(tp.Schemas) > 0):
			t.Errorf("topic %q: format %q with %d schemas", tp.Name, tp.Format, len(tp.Schemas))
		case tp.Wire == WireConfluent && tp.Format == FormatAvro && (p.SchemaRegistry == nil || len(p.SchemaRegistry.URLs) == 0):
			t.Errorf("topic %q: wire confluent without a registry", tp.Name)
		case tp.Line == 0 && tp.Format != FormatRaw:
			t.Errorf("implicit topic %q is %s, not raw", tp.Name, tp.Format)
		}
	}
	if len(p.Stages) == 0 {
		t.Error("a pipeline without stages")
	}
	groups := map[string]bool{}
	for _, s := range p.Stages {
		if groups[s.Group] || s.Group == "" {
			t.Errorf("stage %q: group %q empty or shared", s.Name, s.Group)
		}
		groups[s.Group] = true
		refs := []string{s.Input, s.DLQ}
		for _, o := range s.Outputs {
			refs = append(refs, o)
			if o == s.Input {
				t.Errorf("stage %q writes its input %q", s.Name, o)
			}
		}
		for _, r := range refs {
			if !topics[r] {
				t.Errorf("stage %q uses topic %q, not among the pipeline's topics", s.Name, r)
			}
		}
		switch {
		case s.Name == "" || s.Input == "" || s.Node.Command == "" || s.DLQ == s.Input ||
			!slices.Contains([]string{NodeValuesDecoded, NodeValuesRaw}, s.Node.Values):
			t.Errorf("stage %+v", s)
		case s.Workers < 1 || s.Workers > maxWorkers || s.Retries < 1 || s.MaxStartFailures < 1 || s.Retry.MaxAttempts < 1:
			t.Errorf("stage %q: counts out of range: %+v", s.Name, s)
		case s.Batch.MaxRecords < 1 || s.Batch.MaxBytes < minBatchBytes || s.Batch.MaxBytes > s.MaxFrame || s.MaxFrame > maxFrame:
			t.Errorf("stage %q: batch %+v, max_frame %d", s.Name, s.Batch, s.MaxFrame)
		case s.Window.Records < s.Batch.MaxRecords || s.Window.Bytes < s.Batch.MaxBytes || s.Window.Batches < 1:
			t.Errorf("stage %q: window %+v under batch %+v", s.Name, s.Window, s.Batch)
		case s.Timeouts.Handshake <= 0 || s.Timeouts.Batch <= 0 || s.Timeouts.Drain <= 0 || s.Timeouts.Shutdown <= 0 || s.CommitInterval <= 0:
			t.Errorf("stage %q: timeouts %+v, commit interval %v", s.Name, s.Timeouts, s.CommitInterval)
		case s.Backoff.Initial <= 0 || s.Backoff.Initial > s.Backoff.Max || s.Retry.Initial <= 0 || s.Retry.Initial > s.Retry.Max:
			t.Errorf("stage %q: backoff %+v, retry %+v", s.Name, s.Backoff, s.Retry)
		case s.DLQPolicy.Per <= 0 || s.DLQPolicy.MaxRecords < 1 && s.DLQPolicy.MaxRecords != NoDLQCap || s.Transaction.MaxRecords < 1 ||
			s.Transaction.Interval >= s.Transaction.Timeout || s.Transaction.Timeout > maxTxnTimeout:
			t.Errorf("stage %q: dlq policy %+v, transaction %+v", s.Name, s.DLQPolicy, s.Transaction)
		case !slices.Contains([]string{DeliveryAtLeastOnce, DeliveryExactlyOnce}, s.Delivery),
			!slices.Contains([]string{DLQWriteStop, DLQWriteRetry, DLQWriteDrop}, s.DLQPolicy.OnWriteFailure),
			!slices.Contains([]string{AssignorCooperativeSticky, AssignorSticky, AssignorRange, AssignorRoundRobin}, s.Assignor):
			t.Errorf("stage %q: delivery %q, on_write_failure %q, assignor %q", s.Name, s.Delivery, s.DLQPolicy.OnWriteFailure, s.Assignor)
		}
	}
}

// TestParseHostileInputs runs the fuzz seeds as a plain test, so that
// `go test` alone checks them, and pins what the dangerous ones produce.
func TestParseHostileInputs(t *testing.T) {
	for i, s := range fuzzSeeds {
		p, err := Parse("p.yaml", []byte(s))
		t.Run(itoa(i%10), func(t *testing.T) { checkParse(t, []byte(s), p, err) })
	}
	for _, tc := range []struct{ name, src, want string }{
		{"alias inside its own anchor", selfMerge,
			`p.yaml:7: alias *s is used inside its own anchor &s: its value would contain itself`},
		{"alias bomb", aliasBomb(9),
			`p.yaml: aliases expand the file by more than 100000 values; a pipeline file needs far fewer (nested anchors such as a "billion laughs" are refused)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.src))
			assertErr(t, err, tc.want)
		})
	}
	// Shared defaults are what anchors are for; they must keep working.
	p := mustParse(t, sharedDefaults)
	if p.Stages[0].Workers != 2 || p.Stages[1].Workers != 3 || p.Stages[1].Node.Command != "x" {
		t.Errorf("merged stages: %+v", p.Stages)
	}
	// Four levels of ten merges (about 3*10^4 values expanded) pass.
	if _, err := Parse("p.yaml", []byte(aliasBomb(4))); err != nil {
		t.Errorf("a 10^4 expansion is refused: %v", err)
	}
}
