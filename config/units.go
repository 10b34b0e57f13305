package config

import (
	"math"
	"strconv"
	"strings"
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
