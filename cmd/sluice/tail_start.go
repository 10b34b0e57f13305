package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// fromKind is the kind of a --from position.
type fromKind int

const (
	fromEarliest fromKind = iota // the oldest record kept
	fromLatest                   // the end
	fromOffset                   // an absolute offset, in every partition
	fromLast                     // N offsets before the end of each partition
	fromTime                     // the first offset at or after a time, maybe up to another
)

// tailFrom is a parsed --from.
type tailFrom struct {
	kind fromKind
	n    int64     // fromOffset: the offset; fromLast: how many
	rng  timeRange // fromTime: [From, To); a zero To is open-ended
}

const fromHelp = `want earliest, latest, an offset (42), -N for the last N of each partition (-10), @TIME (@2024-05-01T12:00:00Z, @-1h) or @T1:T2`

// parseFrom reads --from. An empty s is the default: latest when following,
// earliest otherwise. now is the reference for relative times.
func parseFrom(s string, follow bool, now time.Time) (tailFrom, error) {
	switch {
	case s == "" && follow, s == "latest":
		return tailFrom{kind: fromLatest}, nil
	case s == "", s == "earliest":
		return tailFrom{kind: fromEarliest}, nil
	case strings.HasPrefix(s, "@"):
		rng, err := parseTimeRange(s, now)
		if err != nil {
			return tailFrom{}, fmt.Errorf("--from: %v", err)
		}
		return tailFrom{kind: fromTime, rng: rng}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return tailFrom{}, fmt.Errorf("--from %q: %s", s, fromHelp)
	}
	if strings.HasPrefix(s, "-") {
		return tailFrom{kind: fromLast, n: -n}, nil
	}
	return tailFrom{kind: fromOffset, n: n}, nil
}

// hasEnd reports whether f is a time range with an end (@T1:T2).
func (f tailFrom) hasEnd() bool { return f.kind == fromTime && !f.rng.To.IsZero() }

// inRange reports whether a record timestamp is inside a --from @T1:T2
// range (always true for the other positions: they do not filter).
func (f tailFrom) inRange(ts time.Time) bool {
	return !f.hasEnd() || (!ts.Before(f.rng.From) && ts.Before(f.rng.To))
}

// pastRange reports whether a record timestamp is at or after the end of a
// --from @T1:T2 range.
func (f tailFrom) pastRange(ts time.Time) bool {
	return f.hasEnd() && !ts.Before(f.rng.To)
}

// tailPart names one partition of one topic.
type tailPart struct {
	topic string
	part  int32
}

// tailPlan is where tail starts and stops in each partition it reads.
type tailPlan struct {
	start map[tailPart]int64
	// stop is the offset to stop before; a partition without one is
	// read until Ctrl-C (-f), or until a record past the --from range.
	stop map[tailPart]int64
}

// planTail turns --from into a start offset for each partition of parts,
// and, without -f or with a time range, an offset to stop before. ends are
// listed as the reader sees them: the last stable offset under
// read_committed, the high watermark otherwise.
func planTail(ctx context.Context, adm *kadm.Client, parts map[string][]int32, from tailFrom, follow, committed bool) (tailPlan, error) {
	topics := make([]string, 0, len(parts))
	for t := range parts {
		topics = append(topics, t)
	}
	list := func(what string, fn func() (kadm.ListedOffsets, error)) (kadm.ListedOffsets, error) {
		los, err := fn()
		if err == nil {
			err = los.Error()
		}
		if err != nil {
			return nil, listOffsetsErr(ctx, strings.Join(topics, ", "), fmt.Errorf("%s: %w", what, err))
		}
		return los, nil
	}
	starts, err := list("start", func() (kadm.ListedOffsets, error) { return adm.ListStartOffsets(ctx, topics...) })
	if err != nil {
		return tailPlan{}, err
	}
	ends, err := list("end", func() (kadm.ListedOffsets, error) {
		if committed {
			return adm.ListCommittedOffsets(ctx, topics...)
		}
		return adm.ListEndOffsets(ctx, topics...)
	})
	if err != nil {
		return tailPlan{}, err
	}
	var atFrom, atTo kadm.ListedOffsets
	var toMilli int64
	if from.kind == fromTime {
		atFrom, err = list("time", func() (kadm.ListedOffsets, error) {
			return adm.ListOffsetsAfterMilli(ctx, from.rng.From.UnixMilli(), topics...)
		})
		if err != nil {
			return tailPlan{}, err
		}
		if from.hasEnd() {
			// The first millisecond at or after To: a record in To's
			// millisecond but before To is still in the range.
			toMilli = from.rng.To.UnixMilli()
			if time.UnixMilli(toMilli).Before(from.rng.To) {
				toMilli++
			}
			atTo, err = list("time", func() (kadm.ListedOffsets, error) {
				return adm.ListOffsetsAfterMilli(ctx, toMilli, topics...)
			})
			if err != nil {
				return tailPlan{}, err
			}
		}
	}
	lookup := func(los kadm.ListedOffsets, topic string, part int32) (kadm.ListedOffset, error) {
		lo, ok := los.Lookup(topic, part)
		if !ok {
			return lo, fmt.Errorf("list offsets of %q: no answer for partition %d", topic, part)
		}
		return lo, nil
	}

	plan := tailPlan{start: map[tailPart]int64{}, stop: map[tailPart]int64{}}
	for topic, ps := range parts {
		for _, part := range ps {
			lo, err := lookup(starts, topic, part)
			if err != nil {
				return tailPlan{}, err
			}
			hi, err := lookup(ends, topic, part)
			if err != nil {
				return tailPlan{}, err
			}
			first, end := lo.Offset, hi.Offset
			var start int64
			switch from.kind {
			case fromEarliest:
				start = first
			case fromLatest:
				start = end
			case fromOffset:
				start = max(first, min(from.n, end))
			case fromLast:
				start = max(first, end-from.n)
			case fromTime:
				at, err := lookup(atFrom, topic, part)
				if err != nil {
					return tailPlan{}, err
				}
				start = max(first, at.Offset)
			}
			k := tailPart{topic, part}
			plan.start[k] = start
			if !follow {
				plan.stop[k] = end
			}
			if atTo != nil {
				at, err := lookup(atTo, topic, part)
				if err != nil {
					return tailPlan{}, err
				}
				// Without a record at or after To yet, the listing
				// falls back to the end offset, with no timestamp:
				// with -f the stop is then the first such record read.
				found := at.Timestamp >= toMilli && at.Offset >= 0
				if stop, ok := plan.stop[k]; ok && at.Offset >= 0 {
					plan.stop[k] = min(stop, at.Offset)
				} else if !ok && found {
					plan.stop[k] = at.Offset
				}
			}
		}
	}
	return plan, nil
}
