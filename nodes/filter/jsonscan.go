package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// The scanners below validate JSON as strictly as encoding/json's json.Valid
// (the fuzz test compares them) while finding where members and values
// begin and end, so an event is read in one pass. The input must already be
// known to be valid UTF-8. They return -1 for an index when the text is not
// valid JSON; the caller then asks encoding/json for its error message.

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString takes i at an opening quote and returns the index just past the
// closing quote (-1 if the string is invalid or unterminated), and whether
// the string holds an escape sequence.
func scanString(d []byte, i int) (end int, escaped bool) {
	for i++; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			return i + 1, escaped
		case c < 0x20:
			return -1, false
		case c == '\\':
			escaped = true
			i++
			if i >= len(d) {
				return -1, false
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(d) || !isHex(d[i+1]) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) {
					return -1, false
				}
				i += 4
			default:
				return -1, false
			}
		}
	}
	return -1, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber takes i at the first byte of a number and returns the index
// just past it, or -1 if it is not a JSON number.
func scanNumber(d []byte, i int) int {
	if d[i] == '-' {
		i++
	}
	switch {
	case i >= len(d) || !isDigit(d[i]):
		return -1
	case d[i] == '0':
		i++
	default:
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			return -1
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			return -1
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	return i
}

// scanValue takes i at the first byte of a value (whitespace skipped), at
// nesting depth depth (the number of enclosing objects and arrays), and
// returns the index just past the value, or -1 if it is not valid JSON.
func scanValue(d []byte, i, depth int) int {
	if i >= len(d) {
		return -1
	}
	switch c := d[i]; c {
	case '"':
		end, _ := scanString(d, i)
		return end
	case '{', '[':
		if depth >= maxDepth {
			return -1
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipWS(d, i+1)
		if i < len(d) && d[i] == closing {
			return i + 1
		}
		for {
			if c == '{' {
				if i >= len(d) || d[i] != '"' {
					return -1
				}
				if i, _ = scanString(d, i); i < 0 {
					return -1
				}
				if i = skipWS(d, i); i >= len(d) || d[i] != ':' {
					return -1
				}
				i = skipWS(d, i+1)
			}
			if i = scanValue(d, i, depth+1); i < 0 {
				return -1
			}
			if i = skipWS(d, i); i >= len(d) {
				return -1
			}
			switch d[i] {
			case ',':
				i = skipWS(d, i+1)
			case closing:
				return i + 1
			default:
				return -1
			}
		}
	case 't':
		return literal(d, i, "true")
	case 'f':
		return literal(d, i, "false")
	case 'n':
		return literal(d, i, "null")
	}
	return scanNumber(d, i)
}

func literal(d []byte, i int, lit string) int {
	if len(d)-i >= len(lit) && string(d[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// stringContent returns the content of the JSON string raw (quotes
// included): a subslice of raw when it has no escapes, else a decoded copy.
func stringContent(raw []byte) []byte {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return inner // unreachable for text json.Valid accepted
	}
	return []byte(s)
}

// appendCompact appends the valid JSON value raw without insignificant
// whitespace.
func appendCompact(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		switch c := raw[i]; c {
		case ' ', '\t', '\n', '\r':
			i++
		case '"':
			end, _ := scanString(raw, i)
			dst = append(dst, raw[i:end]...)
			i = end
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst
}

// kind names the JSON type of raw for error messages, with the value itself
// for scalars: `string "24.5"`, `number 42`, `boolean true`, `null`, `object`.
func kind(raw []byte) string {
	switch raw[0] {
	case '"':
		return "string " + clip(raw)
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean " + string(raw)
	case 'n':
		return "null"
	}
	return "number " + clip(raw)
}

// maxShown bounds how much of an offending value an error message repeats.
const maxShown = 64

// clip returns raw as a string, cut to maxShown bytes (on a rune boundary)
// with "..." appended when it is longer.
func clip(raw []byte) string {
	if len(raw) <= maxShown {
		return string(raw)
	}
	n := maxShown
	for n > 0 && !utf8.RuneStart(raw[n]) {
		n--
	}
	return string(raw[:n]) + "..."
}

// clipString is clip for a decoded string, quoted Go-style.
func clipString(s string) string {
	if len(s) > maxShown {
		n := maxShown
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		return strconv.Quote(s[:n]) + "..."
	}
	return strconv.Quote(s)
}

// appendFloat appends f as encoding/json would: shortest representation,
// plain decimal notation between 1e-6 and 1e21, exponent notation outside.
func appendFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

func formatFloat(f float64) string { return string(appendFloat(nil, f)) }

const hexDigits = "0123456789abcdef"

// appendString appends s, valid UTF-8, as a JSON string: it escapes what
// JSON requires plus U+2028 and U+2029, like encoding/json without HTML
// escaping.
func appendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x20 && c != '"' && c != '\\' && c != 0xE2:
			continue
		case c == 0xE2:
			// U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
			if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
				dst = append(dst, s[start:i]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[s[i+2]&0xf])
				i += 2
				start = i + 1
			}
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
