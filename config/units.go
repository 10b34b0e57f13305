package config

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Byte units. Decimal units (KB) are powers of 1000 and binary units (KiB)
// powers of 1024, as their names promise; nobody should have to guess.
const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

var sizeUnits = map[string]int64{
	"b":   1,
	"kb":  1000,
	"mb":  1000 * 1000,
	"gb":  1000 * 1000 * 1000,
	"kib": kib,
	"mib": mib,
	"gib": gib,
}

// parseSize reads "64MiB", "512 KiB", "1000000" or "1MB". Units are matched
// case-insensitively; a bare number is bytes.
func parseSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, false
	}
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	if unit == "" {
		return n, true
	}
	m, ok := sizeUnits[unit]
	if !ok || n > math.MaxInt64/m || n < math.MinInt64/m {
		return 0, false
	}
	return n * m, true
}

// formatSize renders n the way a user would write it in the file: the
// largest unit that divides it exactly, so 33554432 reads as 32MiB.
func formatSize(n int64) string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"GiB", gib}, {"MiB", mib}, {"KiB", kib}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// splitNumber splits "5 minutes" into "5" and "minutes": a leading decimal
// number, then the rest without surrounding spaces.
func splitNumber(s string) (num, rest string) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// sizeHint suggests how to write a size that parseSize refused ("" when
// nothing obvious fits): a rate, a bare K/M/G, a fraction.
func sizeHint(s string) string {
	s = strings.TrimSpace(s)
	for _, per := range []string{"/s", "/sec"} {
		if base, ok := strings.CutSuffix(s, per); ok {
			if _, ok := parseSize(base); ok {
				return "a size, not a rate: write " + strings.TrimSpace(base)
			}
		}
	}
	num, unit := splitNumber(s)
	if num == "" {
		return ""
	}
	switch u := strings.ToUpper(unit); u {
	case "K", "M", "G":
		return "write " + num + u + "iB, or " + num + u + "B for powers of 1000"
	}
	f, err := strconv.ParseFloat(num, 64)
	m, ok := sizeUnits[strings.ToLower(unit)]
	if err == nil && ok && strings.Contains(num, ".") {
		if n := f * float64(m); n == math.Trunc(n) && n < math.MaxInt64/2 {
			return "sizes are whole numbers: write " + formatSize(int64(n))
		}
	}
	return ""
}

// durationWords maps the unit words people write to Go duration units.
var durationWords = map[string]string{
	"ms": "ms", "msec": "ms", "msecs": "ms", "millisecond": "ms", "milliseconds": "ms",
	"s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
	"m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
	"h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
}

// durationHint suggests how to write a duration that time.ParseDuration
// refused ("" when nothing obvious fits): "5 minutes", "30", "2 days".
func durationHint(s string) string {
	num, word := splitNumber(s)
	if num == "" {
		return ""
	}
	word = strings.ToLower(word)
	if word == "" {
		return "add a unit: " + num + "s or " + num + "ms"
	}
	var hint string
	if word == "d" || word == "day" || word == "days" {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return ""
		}
		hint = strconv.FormatFloat(f*24, 'f', -1, 64) + "h"
	} else if u, ok := durationWords[word]; ok {
		hint = num + u
	}
	if _, err := time.ParseDuration(hint); hint == "" || err != nil {
		return ""
	}
	return "write " + hint
}
