package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

const tsLayout = "2006-01-02T15:04:05.000Z07:00"

// tailPrinter writes records in one --format.
type tailPrinter struct {
	// write prints r; derr is why its value did not decode (--config),
	// for the formats that show it (showsErrors).
	write func(p *tailPrinter, w *bufio.Writer, r *kgo.Record, derr error) error
	// errors: the format shows decoding errors itself (pretty, json);
	// the others print values as they are, so tail warns on stderr.
	errors bool
	// pretty format
	color     bool // ANSI colours
	showTopic bool // several topics: say which one each record is from
	decode    bool // --config: JSON values re-printed compactly
	// template format
	tmpl []tmplPart
}

// newTailPrinter returns the printer for a --format value (already
// defaulted). Any format containing % is a template.
func newTailPrinter(format string) (*tailPrinter, error) {
	switch {
	case strings.Contains(format, "%"):
		tmpl, err := parseTemplate(format)
		if err != nil {
			return nil, err
		}
		return &tailPrinter{write: func(p *tailPrinter, w *bufio.Writer, r *kgo.Record, _ error) error { return p.writeTemplate(w, r) }, tmpl: tmpl}, nil
	case format == "pretty":
		return &tailPrinter{write: (*tailPrinter).writePretty, errors: true}, nil
	case format == "json":
		return &tailPrinter{write: func(_ *tailPrinter, w *bufio.Writer, r *kgo.Record, derr error) error { return writeJSON(w, r, derr) }, errors: true}, nil
	case format == "value":
		return &tailPrinter{write: func(_ *tailPrinter, w *bufio.Writer, r *kgo.Record, _ error) error { return writeValue(w, r) }}, nil
	}
	return nil, fmt.Errorf(`--format %q: want "pretty", "json", "value" or a template such as '%%p/%%o %%k %%v' (see 'sluice tail --help')`, format)
}

func (p *tailPrinter) print(w *bufio.Writer, r *kgo.Record) error { return p.write(p, w, r, nil) }

// printDecoded prints r, whose value did not decode when derr is set.
func (p *tailPrinter) printDecoded(w *bufio.Writer, r *kgo.Record, derr error) error {
	return p.write(p, w, r, derr)
}

// showsErrors reports whether the format shows decoding errors with the
// record.
func (p *tailPrinter) showsErrors() bool { return p.errors }

// isTerminal reports whether w is a terminal (character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// colorWanted decides colour: on a terminal, unless --no-color or a
// non-empty NO_COLOR (https://no-color.org).
func colorWanted(terminal, noColor bool, noColorEnv string) bool {
	return terminal && !noColor && noColorEnv == ""
}

// tailRecord is the envelope of --format json.
type tailRecord struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Timestamp string            `json:"timestamp"`
	Key       *string           `json:"key"`
	Value     *string           `json:"value"`
	Headers   map[string]string `json:"headers"`
	Encoding  string            `json:"encoding,omitempty"`
	// Error is why the value did not decode with its topic's format
	// (--config); the value is then as stored.
	Error string `json:"error,omitempty"`
}

func writeJSON(w *bufio.Writer, r *kgo.Record, derr error) error {
	text := utf8.Valid(r.Key) && utf8.Valid(r.Value)
	for _, h := range r.Headers {
		text = text && utf8.Valid(h.Value)
	}
	enc := func(b []byte) string {
		if text {
			return string(b)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	opt := func(b []byte) *string {
		if b == nil {
			return nil
		}
		s := enc(b)
		return &s
	}
	tr := tailRecord{
		Topic:     r.Topic,
		Partition: r.Partition,
		Offset:    r.Offset,
		Timestamp: r.Timestamp.UTC().Format(tsLayout),
		Key:       opt(r.Key),
		Value:     opt(r.Value),
		Headers:   make(map[string]string, len(r.Headers)),
	}
	for _, h := range r.Headers {
		tr.Headers[h.Key] = enc(h.Value)
	}
	if !text {
		tr.Encoding = "base64"
	}
	if derr != nil {
		tr.Error = derr.Error()
	}
	je := json.NewEncoder(w)
	je.SetEscapeHTML(false)
	return je.Encode(tr) // Encode ends the object with a newline
}

func writeValue(w *bufio.Writer, r *kgo.Record) error {
	w.Write(r.Value)
	return w.WriteByte('\n')
}

// ANSI colours of the pretty format.
const (
	ansiReset  = "\x1b[0m"
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
	ansiCyan   = "\x1b[36m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiGreen  = "\x1b[32m"
	ansiRed    = "\x1b[31m"
)

// paint writes s in colour c when colours are on.
func (p *tailPrinter) paint(w *bufio.Writer, c, s string) {
	if p.color {
		w.WriteString(c)
		w.WriteString(s)
		w.WriteString(ansiReset)
		return
	}
	w.WriteString(s)
}

// writePretty writes
//
//	TIME  [TOPIC/]PARTITION/OFFSET  KEY  VALUE
//	    ! not decoded: REASON      (--config: the value is not in its topic's format)
//	    header: value
//
// with "-" for an absent key or value and "base64:..." for bytes that are
// not UTF-8.
func (p *tailPrinter) writePretty(w *bufio.Writer, r *kgo.Record, derr error) error {
	p.paint(w, ansiDim, r.Timestamp.Format(tsLayout))
	w.WriteString("  ")
	where := strconv.Itoa(int(r.Partition)) + "/" + strconv.FormatInt(r.Offset, 10)
	if p.showTopic {
		where = r.Topic + "/" + where
	}
	p.paint(w, ansiCyan, where)
	w.WriteString("  ")
	p.showBytes(w, ansiYellow+ansiBold, r.Key)
	w.WriteString("  ")
	if !p.decode || derr != nil || !p.writeCompactJSON(w, r.Value) {
		p.showBytes(w, "", r.Value)
	}
	w.WriteByte('\n')
	if derr != nil {
		w.WriteString("    ")
		p.paint(w, ansiRed+ansiBold, "! not decoded:")
		w.WriteByte(' ')
		w.WriteString(derr.Error())
		w.WriteByte('\n')
	}
	for _, h := range r.Headers {
		w.WriteString("    ")
		p.paint(w, ansiDim, h.Key+":")
		w.WriteByte(' ')
		p.showBytes(w, "", h.Value)
		w.WriteByte('\n')
	}
	return nil
}

// showBytes writes b for the pretty format, in colour c (if any).
func (p *tailPrinter) showBytes(w *bufio.Writer, c string, b []byte) {
	switch {
	case b == nil:
		p.paint(w, ansiDim, "-")
	case !utf8.Valid(b):
		p.paint(w, ansiDim, "base64:")
		w.WriteString(base64.StdEncoding.EncodeToString(b))
	case c != "":
		p.paint(w, c, string(b))
	default:
		w.Write(b)
	}
}

// writeCompactJSON writes a JSON value on one line with a space after
// each colon and comma, keys in their order, numbers as written; object
// keys and strings coloured when colours are on. It writes nothing and
// returns false when b is not JSON.
func (p *tailPrinter) writeCompactJSON(w *bufio.Writer, b []byte) bool {
	if len(b) == 0 || !json.Valid(b) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		object bool
		n      int // keys and values (objects) or items (arrays) written
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil { // cannot happen after json.Valid
			return true
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			w.WriteByte(byte(d))
			if len(stack) > 0 {
				stack[len(stack)-1].n++
			}
			continue
		}
		isKey := false
		if len(stack) > 0 {
			f := stack[len(stack)-1]
			isKey = f.object && f.n%2 == 0
			if f.n > 0 && (isKey || !f.object) {
				w.WriteString(", ")
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			w.WriteByte(byte(v))
			stack = append(stack, frame{object: v == '{'})
			continue // counted when it closes
		case string:
			if isKey {
				p.paint(w, ansiBlue, quoteJSON(v))
				w.WriteString(": ")
			} else {
				p.paint(w, ansiGreen, quoteJSON(v))
			}
		case json.Number:
			w.WriteString(v.String())
		case bool:
			w.WriteString(strconv.FormatBool(v))
		case nil:
			w.WriteString("null")
		}
		if len(stack) > 0 {
			stack[len(stack)-1].n++
		}
	}
}

// quoteJSON is s as a JSON string, without HTML escaping.
func quoteJSON(s string) string {
	var b bytes.Buffer
	je := json.NewEncoder(&b)
	je.SetEscapeHTML(false)
	je.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// tmplPart is a piece of a --format template: literal text, or a field
// (one of the directive letters).
type tmplPart struct {
	text  string
	field byte
}

const tmplHelp = `%t topic, %p partition, %o offset, %k key, %v value, %h headers (k=v,k=v), %T timestamp, %% a percent sign`

// parseTemplate reads a --format template: the directives of tmplHelp and
// the escapes \n, \t and \\. Each record ends with a newline unless the
// template ends with one.
func parseTemplate(s string) ([]tmplPart, error) {
	var parts []tmplPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, tmplPart{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+1 == len(s) {
				return nil, fmt.Errorf("--format %q ends with a lone %%: directives are %s", s, tmplHelp)
			}
			i++
			switch d := s[i]; d {
			case '%':
				lit.WriteByte('%')
			case 't', 'p', 'o', 'k', 'v', 'h', 'T':
				flush()
				parts = append(parts, tmplPart{field: d})
			default:
				return nil, fmt.Errorf("--format %q: unknown directive %%%c: directives are %s", s, d, tmplHelp)
			}
		case c == '\\' && i+1 < len(s) && strings.IndexByte(`nt\`, s[i+1]) >= 0:
			i++
			lit.WriteByte(map[byte]byte{'n': '\n', 't': '\t', '\\': '\\'}[s[i]])
		default:
			lit.WriteByte(c)
		}
	}
	if !strings.HasSuffix(lit.String(), "\n") {
		lit.WriteByte('\n')
	}
	flush()
	return parts, nil
}

// writeTemplate writes r through the template; keys, values and headers
// are written as their raw bytes, an absent key or value as nothing.
func (p *tailPrinter) writeTemplate(w *bufio.Writer, r *kgo.Record) error {
	for _, part := range p.tmpl {
		switch part.field {
		case 0:
			w.WriteString(part.text)
		case 't':
			w.WriteString(r.Topic)
		case 'p':
			w.WriteString(strconv.Itoa(int(r.Partition)))
		case 'o':
			w.WriteString(strconv.FormatInt(r.Offset, 10))
		case 'k':
			w.Write(r.Key)
		case 'v':
			w.Write(r.Value)
		case 'h':
			for i, h := range r.Headers {
				if i > 0 {
					w.WriteByte(',')
				}
				w.WriteString(h.Key)
				w.WriteByte('=')
				w.Write(h.Value)
			}
		case 'T':
			w.WriteString(r.Timestamp.UTC().Format(tsLayout))
		}
	}
	return nil
}
