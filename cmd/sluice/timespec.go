package main

import (
	"fmt"
	"strings"
	"time"
)

// parseTime reads a point in time as users write it on the command line:
// RFC 3339 ("2024-05-01T12:00:00Z", with or without fractional seconds or
// an offset), a date ("2024-05-01", midnight UTC), Unix milliseconds
// ("1714564800000"), a duration ago ("-1h", "-90m", "-2h30m"), or "now".
// A leading "@" is allowed and ignored. now is the reference for relative
// forms, so callers and tests agree on it.
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "@")
	switch {
	case s == "":
		return time.Time{}, fmt.Errorf("empty time")
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "-"):
		d, err := time.ParseDuration(s[1:])
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("%q is not a duration ago such as -1h or -30m", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	var ms int64
	if _, err := fmt.Sscanf(s, "%d", &ms); err == nil && fmt.Sprint(ms) == s {
		return time.UnixMilli(ms), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2024-05-01T12:00:00Z), a date, Unix milliseconds, or a duration ago (-1h)", s)
}

// timeRange is [From, To); a zero To means open-ended.
type timeRange struct {
	From, To time.Time
}

// parseTimeRange reads "@T" (from T on) or "@T1:T2" ([T1, T2)). Because
// RFC 3339 times contain colons, the split is at the colon that leaves a
// valid time on both sides.
func parseTimeRange(s string, now time.Time) (timeRange, error) {
	body := strings.TrimPrefix(strings.TrimSpace(s), "@")
	if from, err := parseTime(body, now); err == nil {
		return timeRange{From: from}, nil
	}
	for i := 0; i < len(body); i++ {
		if body[i] != ':' {
			continue
		}
		from, err1 := parseTime(body[:i], now)
		to, err2 := parseTime(body[i+1:], now)
		if err1 == nil && err2 == nil {
			if !to.After(from) {
				return timeRange{}, fmt.Errorf("time range %q ends before it starts", s)
			}
			return timeRange{From: from, To: to}, nil
		}
	}
	return timeRange{}, fmt.Errorf("%q is not a time or a range: use @T or @T1:T2, where T is RFC 3339 (2024-05-01T12:00:00Z), a date, Unix milliseconds, or a duration ago (-1h)", s)
}
