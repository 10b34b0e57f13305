package main

import (
	"testing"
	"time"
)

func TestParseTimeAndRange(t *testing.T) {
	now := time.Date(2024, 5, 1, 15, 0, 0, 0, time.UTC)
	cases := []struct {
		in       string
		from, to string // RFC 3339, "" for zero
		err      string
	}{
		{"@2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z", "", ""},
		{"2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z", "", ""},
		{"@-1h", "2024-05-01T14:00:00Z", "", ""},
		{"@1714564800000", "2024-05-01T12:00:00Z", "", ""},
		{"@2024-05-01", "2024-05-01T00:00:00Z", "", ""},
		{"@2024-05-01T12:00:00Z:2024-05-01T13:00:00Z", "2024-05-01T12:00:00Z", "2024-05-01T13:00:00Z", ""},
		{"@-3h:-2h", "2024-05-01T12:00:00Z", "2024-05-01T13:00:00Z", ""},
		{"@-1h:-2h", "", "", `time range "@-1h:-2h" ends before it starts`},
		{"@yesterday", "", "", `"@yesterday" is not a time or a range: use @T or @T1:T2, where T is RFC 3339 (2024-05-01T12:00:00Z), a date, Unix milliseconds, or a duration ago (-1h)`},
	}
	for _, c := range cases {
		r, err := parseTimeRange(c.in, now)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s: got %v, want error %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := r.From.UTC().Format(time.RFC3339); got != c.from {
			t.Errorf("%s: from %s, want %s", c.in, got, c.from)
		}
		got := ""
		if !r.To.IsZero() {
			got = r.To.UTC().Format(time.RFC3339)
		}
		if got != c.to {
			t.Errorf("%s: to %q, want %q", c.in, got, c.to)
		}
	}
}
