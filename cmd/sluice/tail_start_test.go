package main

import (
	"testing"
	"time"
)

func TestTailParseFrom(t *testing.T) {
	now := time.Date(2024, 5, 1, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in     string
		follow bool
		want   tailFrom
	}{
		{"", false, tailFrom{kind: fromEarliest}},
		{"", true, tailFrom{kind: fromLatest}},
		{"earliest", true, tailFrom{kind: fromEarliest}},
		{"latest", false, tailFrom{kind: fromLatest}},
		{"42", false, tailFrom{kind: fromOffset, n: 42}},
		{"0", false, tailFrom{kind: fromOffset, n: 0}},
		{"-10", false, tailFrom{kind: fromLast, n: 10}},
		{"@-1h", false, tailFrom{kind: fromTime, rng: timeRange{From: now.Add(-time.Hour)}}},
		{"@-3h:-2h", true, tailFrom{kind: fromTime, rng: timeRange{From: now.Add(-3 * time.Hour), To: now.Add(-2 * time.Hour)}}},
	} {
		got, err := parseFrom(tc.in, tc.follow, now)
		if err != nil || got != tc.want {
			t.Errorf("parseFrom(%q, follow %v) = %+v, %v; want %+v", tc.in, tc.follow, got, err, tc.want)
		}
	}
	for _, in := range []string{"oldest", "1.5", "--5", "4x", "@", "@soon"} {
		if _, err := parseFrom(in, false, now); err == nil {
			t.Errorf("parseFrom(%q): no error", in)
		}
	}
}

func TestTailRangeEdges(t *testing.T) {
	t1 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	f := tailFrom{kind: fromTime, rng: timeRange{From: t1, To: t1.Add(time.Hour)}}
	for _, tc := range []struct {
		ts         time.Time
		in, beyond bool
	}{
		{t1.Add(-time.Millisecond), false, false},
		{t1, true, false},
		{t1.Add(time.Hour - time.Millisecond), true, false},
		{t1.Add(time.Hour), false, true},
	} {
		if f.inRange(tc.ts) != tc.in || f.pastRange(tc.ts) != tc.beyond {
			t.Errorf("%s: inRange %v pastRange %v, want %v %v", tc.ts, f.inRange(tc.ts), f.pastRange(tc.ts), tc.in, tc.beyond)
		}
	}
	open := tailFrom{kind: fromTime, rng: timeRange{From: t1}}
	if !open.inRange(t1.Add(-time.Hour)) || open.pastRange(t1.Add(time.Hour)) {
		t.Error("@T without an end filters records")
	}
}
