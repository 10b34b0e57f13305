package main

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestTailColorWanted(t *testing.T) {
	for _, tc := range []struct {
		terminal, flag bool
		env            string
		want           bool
	}{
		{true, false, "", true},
		{false, false, "", false}, // a pipe or a file
		{true, true, "", false},   // --no-color
		{true, false, "1", false}, // NO_COLOR=1
	} {
		if got := colorWanted(tc.terminal, tc.flag, tc.env); got != tc.want {
			t.Errorf("colorWanted(terminal %v, --no-color %v, NO_COLOR=%q) = %v, want %v", tc.terminal, tc.flag, tc.env, got, tc.want)
		}
	}
}

func printed(t *testing.T, p *tailPrinter, rs ...*kgo.Record) string {
	t.Helper()
	var b strings.Builder
	w := bufio.NewWriter(&b)
	for _, r := range rs {
		if err := p.print(w, r); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return b.String()
}

func TestTailPrettyColors(t *testing.T) {
	ts := time.Date(2025, 1, 2, 15, 4, 5, 6e6, time.UTC)
	r := &kgo.Record{Topic: "events.scored", Partition: 2, Offset: 7, Timestamp: ts, Key: []byte("alpha"),
		Value:   []byte(`{"id": "n1", "score":1.50,"tags":["a",null,true]}`),
		Headers: []kgo.RecordHeader{{Key: "sluice.stage", Value: []byte("classify")}}}
	tomb := &kgo.Record{Topic: "events.scored", Partition: 2, Offset: 8, Timestamp: ts}
	local := ts.Local().Format(tsLayout)

	p, err := newTailPrinter("pretty")
	if err != nil {
		t.Fatal(err)
	}
	p.color, p.showTopic, p.decode = true, true, true
	want := "\x1b[2m" + local + "\x1b[0m  \x1b[36mevents.scored/2/7\x1b[0m  \x1b[33m\x1b[1malpha\x1b[0m  " +
		`{` + "\x1b[34m" + `"id"` + "\x1b[0m: \x1b[32m" + `"n1"` + "\x1b[0m, \x1b[34m" + `"score"` + "\x1b[0m: 1.50, \x1b[34m" + `"tags"` + "\x1b[0m: [\x1b[32m" + `"a"` + "\x1b[0m, null, true]}\n" +
		"    \x1b[2msluice.stage:\x1b[0m classify\n" +
		"\x1b[2m" + local + "\x1b[0m  \x1b[36mevents.scored/2/8\x1b[0m  \x1b[2m-\x1b[0m  \x1b[2m-\x1b[0m\n"
	if got := printed(t, p, r, tomb); got != want {
		t.Errorf("coloured pretty:\n%q\nwant\n%q", got, want)
	}

	p.color = false
	want = local + "  events.scored/2/7  alpha  {\"id\": \"n1\", \"score\": 1.50, \"tags\": [\"a\", null, true]}\n" +
		"    sluice.stage: classify\n" +
		local + "  events.scored/2/8  -  -\n"
	if got := printed(t, p, r, tomb); got != want {
		t.Errorf("pretty without colours:\n%q\nwant\n%q", got, want)
	}
}

func TestTailCompactJSON(t *testing.T) {
	p := &tailPrinter{}
	for in, want := range map[string]string{
		`{}`:                           `{}`,
		` [ ] `:                        `[]`,
		`"x"`:                          `"x"`,
		`12.0`:                         `12.0`,
		`{"a":{"b":[{"c":[]},{}]}}`:    `{"a": {"b": [{"c": []}, {}]}}`,
		`{"s":"<\u00e9\n\"q\">"}`:      `{"s": "<é\n\"q\">"}`,
		"[1,\n  2 ,3]":                 `[1, 2, 3]`,
		`{"k":1, "k2":[null,false]}`:   `{"k": 1, "k2": [null, false]}`,
		`{"big":12345678901234567890}`: `{"big": 12345678901234567890}`,
	} {
		var b strings.Builder
		w := bufio.NewWriter(&b)
		if !p.writeCompactJSON(w, []byte(in)) {
			t.Errorf("%s: not JSON?", in)
		}
		w.Flush()
		if b.String() != want {
			t.Errorf("%s: %s, want %s", in, b.String(), want)
		}
	}
	for _, in := range []string{``, `{`, `{"a":1} x`, `not json`} {
		var b strings.Builder
		w := bufio.NewWriter(&b)
		if p.writeCompactJSON(w, []byte(in)) {
			t.Errorf("%q: taken as JSON", in)
		}
		w.Flush()
		if b.Len() != 0 {
			t.Errorf("%q: wrote %q", in, b.String())
		}
	}
}
