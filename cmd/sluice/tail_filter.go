package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// tailFilter holds tail's record filters; a record is printed when it
// passes all of them.
type tailFilter struct {
	key     *string // --key: exact key
	headers []headerMatch
	where   []whereMatch
}

// headerMatch is one --header: a header named key, with value if any.
type headerMatch struct {
	key   string
	value *string // nil: the header is present, whatever its value
}

// whereMatch is one --where: path into the JSON value, and the text the
// field must (or, with not, must not) have.
type whereMatch struct {
	path  []string
	value string
	not   bool
}

// parseHeaderMatch reads --header k=v or --header k.
func parseHeaderMatch(s string) (headerMatch, error) {
	k, v, ok := strings.Cut(s, "=")
	if k == "" {
		return headerMatch{}, fmt.Errorf("--header %q: want KEY=VALUE, or KEY for a header that is present (e.g. sluice.stage=classify)", s)
	}
	if !ok {
		return headerMatch{key: k}, nil
	}
	return headerMatch{key: k, value: &v}, nil
}

// parseWhere reads --where field=value or field!=value.
func parseWhere(s string) (whereMatch, error) {
	i := strings.IndexByte(s, '=')
	field, value, not := "", "", false
	if i >= 0 {
		field, value = s[:i], s[i+1:]
		if strings.HasSuffix(field, "!") {
			field, not = field[:len(field)-1], true
		}
	}
	path := strings.Split(field, ".")
	bad := i < 0 || field == ""
	for _, p := range path {
		bad = bad || p == ""
	}
	if bad {
		return whereMatch{}, fmt.Errorf("--where %q: want FIELD=VALUE or FIELD!=VALUE, where FIELD is a field of the JSON value or a dotted path (e.g. prediction=critical, source.topic=events.raw)", s)
	}
	return whereMatch{path: path, value: value, not: not}, nil
}

// match reports whether r passes every filter.
func (f *tailFilter) match(r *kgo.Record) bool {
	if f.key != nil && !bytes.Equal(r.Key, []byte(*f.key)) {
		return false
	}
	for _, h := range f.headers {
		if !hasHeader(r.Headers, h) {
			return false
		}
	}
	if len(f.where) == 0 {
		return true
	}
	doc, isJSON := decodeJSON(r.Value)
	for _, w := range f.where {
		var eq bool
		if isJSON {
			if v, ok := jsonField(doc, w.path); ok {
				eq = jsonEquals(v, w.value)
			}
		}
		if eq == w.not {
			return false
		}
	}
	return true
}

func hasHeader(hs []kgo.RecordHeader, m headerMatch) bool {
	for _, h := range hs {
		if h.Key == m.key && (m.value == nil || string(h.Value) == *m.value) {
			return true
		}
	}
	return false
}

// decodeJSON decodes b as exactly one JSON value, numbers as json.Number.
func decodeJSON(b []byte) (any, bool) {
	if len(b) == 0 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false // trailing data
	}
	return v, true
}

// jsonField follows path through objects (and arrays, by index).
func jsonField(v any, path []string) (any, bool) {
	for _, p := range path {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[p]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// jsonEquals compares a JSON value's text with want: a string without its
// quotes, a number as written (or numerically: 1 equals 1.0), true, false,
// null, objects and arrays as compact JSON.
func jsonEquals(v any, want string) bool {
	switch x := v.(type) {
	case string:
		return x == want
	case json.Number:
		if x.String() == want {
			return true
		}
		a, err1 := strconv.ParseFloat(x.String(), 64)
		b, err2 := strconv.ParseFloat(want, 64)
		return err1 == nil && err2 == nil && a == b
	case bool:
		return strconv.FormatBool(x) == want
	case nil:
		return want == "null"
	default:
		b, err := json.Marshal(x)
		return err == nil && string(b) == want
	}
}
