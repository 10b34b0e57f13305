package codec

// jsonScanner reads a node's JSON output token by token, for the encoder
// to walk along the writer schema without building a tree of Go values
// (maps, interfaces) first: encoding a record then costs one pass over
// its text. It checks the JSON grammar as it goes; any syntax error is a
// walkErr with syntax set, which Encode turns into encoding/json's own
// message so that every codec words bad JSON the same way.

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

type jsonScanner struct {
	b []byte
	i int
}

var errSyntax = &walkErr{reason: "not valid JSON", syntax: true}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// peek skips white space and returns the next byte, 0 at the end.
func (s *jsonScanner) peek() byte {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
	if s.i == len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// expect consumes c (after white space).
func (s *jsonScanner) expect(c byte) *walkErr {
	if s.peek() != c {
		return errSyntax
	}
	s.i++
	return nil
}

// literal consumes the literal word (true, false, null).
func (s *jsonScanner) literal(word string) *walkErr {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return errSyntax
	}
	s.i += len(word)
	return nil
}

// number consumes a JSON number and returns its text.
func (s *jsonScanner) number() (string, *walkErr) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return "", errSyntax
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return "", errSyntax
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return "", errSyntax
		}
	}
	return unsafeString(s.b[start:s.i]), nil
}

func (s *jsonScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// str consumes a JSON string and returns its value. Without escapes the
// value shares the input's memory (valid while the input is: the call
// that encodes it); with escapes it is a new string. A string that is not
// valid UTF-8 is refused: an Avro string must be.
func (s *jsonScanner) str() (string, *walkErr) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", errSyntax
	}
	s.i++
	start := s.i
	ascii := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(v) {
				return "", failf("the string is not valid UTF-8")
			}
			return unsafeString(v), nil
		case c == '\\':
			return s.escaped(start)
		case c < 0x20:
			return "", errSyntax
		case c >= utf8.RuneSelf:
			ascii = false
		}
		s.i++
	}
	return "", errSyntax
}

// escaped finishes a string with escapes that started at start.
func (s *jsonScanner) escaped(start int) (string, *walkErr) {
	out := make([]byte, 0, s.i-start+16)
	out = append(out, s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !utf8.Valid(out) {
				return "", failf("the string is not valid UTF-8")
			}
			return string(out), nil
		case c < 0x20:
			return "", errSyntax
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		s.i++ // the backslash
		if s.i >= len(s.b) {
			return "", errSyntax
		}
		e := s.b[s.i]
		s.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", errSyntax
			}
			if utf16.IsSurrogate(r) {
				// A pair \uD83D\uDE00 is one code point; a lone
				// surrogate becomes U+FFFD, as encoding/json reads it.
				r2 := rune(utf8.RuneError)
				save := s.i
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					s.i += 2
					if lo, ok := s.hex4(); ok && utf16.DecodeRune(r, lo) != utf8.RuneError {
						r2 = utf16.DecodeRune(r, lo)
					} else {
						s.i = save
					}
				}
				r = r2
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", errSyntax
		}
	}
	return "", errSyntax
}

func (s *jsonScanner) hex4() (rune, bool) {
	if len(s.b)-s.i < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(unsafeString(s.b[s.i:s.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	s.i += 4
	return rune(v), true
}

// describe names the value at the scanner's position for a message
// (`string "hot"`, `number 3.5`, `an object`), without consuming it. A
// value that is not even valid JSON is a syntax error.
func (s *jsonScanner) describe() (string, *walkErr) {
	save := s.i
	defer func() { s.i = save }()
	switch c := s.peek(); {
	case c == '{':
		return "an object", nil
	case c == '[':
		return "an array", nil
	case c == '"':
		v, werr := s.str()
		if werr != nil {
			return "", werr
		}
		return "string " + strconv.Quote(shorten(v)), nil
	case c == 't':
		return "boolean true", s.literal("true")
	case c == 'f':
		return "boolean false", s.literal("false")
	case c == 'n':
		return "null", s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		v, werr := s.number()
		return "number " + shorten(v), werr
	}
	return "", errSyntax
}
