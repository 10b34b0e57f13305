package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Layouts tried, in order, for a ts string that is not a Unix time. A layout
// without a zone reads the time as UTC. time.Parse accepts fractional
// seconds after the seconds field whether or not the layout has them.
var layouts = [...]string{
	time.RFC3339Nano,            // 2024-05-01T12:00:00Z, …12:00:00.123456789Z, …14:00:00+02:00
	"2006-01-02 15:04:05Z07:00", // 2024-05-01 12:00:00Z, 2024-05-01 14:00:00+02:00
	"2006-01-02T15:04:05",       // 2024-05-01T12:00:00
	"2006-01-02 15:04:05",       // 2024-05-01 12:00:00
}

// timestamp reads the event's ts (raw JSON, nil when absent) as Unix
// milliseconds; an absent ts is the record's own timestamp.
func timestamp(raw []byte, recordMillis int64) (int64, error) {
	if raw == nil {
		if recordMillis < 0 {
			return 0, errors.New("ts: missing, and the record has no timestamp")
		}
		if recordMillis > maxMillis {
			return 0, fmt.Errorf("ts: missing, and the record timestamp %d is out of range (years 0000 to 9999)", recordMillis)
		}
		return recordMillis, nil
	}
	switch c := raw[0]; {
	case c == '-' || '0' <= c && c <= '9':
		return unixMillis(raw, raw)
	case c != '"':
		return 0, fmt.Errorf("ts: expected a string or a number, got %s", kind(raw))
	}
	s := bytes.TrimSpace(stringContent(raw))
	if isDecimal(s) {
		return unixMillis(s, raw)
	}
	for _, layout := range layouts {
		t, err := time.Parse(layout, string(s))
		if err != nil {
			continue
		}
		t = t.UTC()
		if y := t.Year(); y < 0 || y > 9999 {
			return 0, fmt.Errorf("ts: %s is out of range (years 0000 to 9999)", clip(raw))
		}
		return t.UnixMilli(), nil
	}
	return 0, fmt.Errorf("ts: unrecognised timestamp %s", clip(raw))
}

// isDecimal reports whether s is digits with at most one decimal point
// between digits: a Unix time written as a string.
func isDecimal(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	dot := -1
	for i, c := range s {
		switch {
		case '0' <= c && c <= '9':
		case c == '.' && dot < 0:
			dot = i
		default:
			return false
		}
	}
	return dot != 0 && dot != len(s)-1
}

// unixMillis reads the number num, Unix seconds or (above 1e11) Unix
// milliseconds, as milliseconds. raw is the JSON value for messages.
func unixMillis(num, raw []byte) (int64, error) {
	if n, err := strconv.ParseInt(string(num), 10, 64); err == nil {
		switch {
		case n < 0:
			return 0, fmt.Errorf("ts: negative unix time %s", clip(raw))
		case n <= millisThreshold:
			return n * 1000, nil
		case n <= maxMillis:
			return n, nil
		}
		return 0, fmt.Errorf("ts: unix time %s is out of range (years 0000 to 9999)", clip(raw))
	}
	f, err := strconv.ParseFloat(string(num), 64)
	switch {
	case err != nil && !math.IsInf(f, 0):
		// Cannot happen for JSON numbers and isDecimal strings.
		return 0, fmt.Errorf("ts: unrecognised timestamp %s", clip(raw))
	case f < 0:
		return 0, fmt.Errorf("ts: negative unix time %s", clip(raw))
	case f <= millisThreshold:
		return int64(math.Round(f * 1000)), nil
	case f <= maxMillis:
		return int64(math.Floor(f)), nil
	}
	return 0, fmt.Errorf("ts: unix time %s is out of range (years 0000 to 9999)", clip(raw))
}

// appendMillis appends Unix milliseconds ms as 2006-01-02T15:04:05.000Z.
func appendMillis(dst []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	milli := t.Nanosecond() / 1e6
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, min, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, sec, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, milli, 3)
	return append(dst, 'Z')
}

// appendDigits appends v (0 <= v < 10^width) zero-padded to width digits.
func appendDigits(dst []byte, v, width int) []byte {
	var b [4]byte
	for i := width - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[:width]...)
}
