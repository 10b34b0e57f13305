package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/config"
)

// Stage statuses of sluice lag, from best to worst.
const (
	lagOK      = "OK"      // consuming (or nothing to consume)
	lagWarning = "WARNING" // committing, but the lag keeps growing
	lagStalled = "STALLED" // members, lag > 0, committed offsets not moving
	lagStopped = "STOPPED" // the group has no members
	lagUnknown = "UNKNOWN" // could not be measured (e.g. missing topic)
)

type lagOpts struct {
	brokers, cfgPath, stage string
	watch                   bool
	interval                time.Duration
	window, count           int
	json                    bool
}

func newLagCmd() *cobra.Command {
	var o lagOpts
	c := &cobra.Command{
		Use:   "lag --config FILE",
		Short: "Consumer lag and health of each stage",
		Long: `Show, for each stage of the pipeline file (or --stage), how far its
consumer group is behind its input topic: per partition the group's committed
offset, the end offset (the last stable offset, which is what a stage reading
read_committed can reach) and the lag between them. A group that has never
committed on a partition shows "-" and counts the whole partition (end minus
log start) as lag, since a new stage starts at the beginning.

Each stage gets a status, in the spirit of Burrow:

  OK       consuming, or nothing to consume
  STOPPED  the group has no members (Empty, or never started): nothing is
           consuming; the note says how many records wait
  STALLED  members are there and lag > 0 in every sample of the window,
           but the committed offsets of some partition did not move at
           all: the stage is stuck (a hung node, a poison batch retried)
  WARNING  the stage commits, but its lag never shrank over the window and
           ended higher than it started: it is falling behind
  UNKNOWN  could not be measured, e.g. the input topic does not exist

One sample can only tell OK from STOPPED: STALLED and WARNING compare
samples over time, so they need --watch. With --watch a sample is taken every
--interval and a stage is judged on the last --window samples (10 by default,
so 50s at the default 5s interval); until the window is full the note says
"evaluating". Stop it with Ctrl-C, or give --count.

--json prints one JSON document per sample (one line each with --watch):
  {"time":"…","samples":1,"stages":[{"stage":"filter","group":"…",
   "topic":"events.parsed","state":"Empty","members":0,"lag":12,
   "status":"STOPPED","note":"…","partitions":[{"partition":0,
   "committed":null,"start":0,"end":12,"lag":12}]}]}
"committed" is null for a partition the group never committed on.`,
		Example: `  sluice lag --config config/examples/sensors.yaml
  sluice lag -c config/examples/sensors.yaml --stage classify --watch
  sluice lag -c pipeline.yaml --watch --interval 2s --window 5
  sluice lag -c pipeline.yaml --json | jq '.stages[] | select(.status != "OK")'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLag(cmd, &o)
		},
	}
	addConfigFlag(c, &o.cfgPath, true)
	addBrokersFlag(c, &o.brokers)
	f := c.Flags()
	f.StringVar(&o.stage, "stage", "", "only this stage (default: every stage of the file)")
	f.BoolVarP(&o.watch, "watch", "w", false, "sample again every --interval until Ctrl-C and judge the stages over --window samples")
	f.DurationVar(&o.interval, "interval", 5*time.Second, "time between samples with --watch")
	f.IntVar(&o.window, "window", 10, "with --watch, how many samples a stage is judged on (at least 2)")
	f.IntVarP(&o.count, "count", "n", 0, "with --watch, stop after this many samples (0: until Ctrl-C)")
	f.BoolVar(&o.json, "json", false, "print JSON, one document per sample")
	return c
}

// lagPartition is one partition of a stage's input topic.
type lagPartition struct {
	Partition int32  `json:"partition"`
	Committed *int64 `json:"committed"` // nil: the group never committed here
	Start     int64  `json:"start"`
	End       int64  `json:"end"`
	Lag       int64  `json:"lag"`
}

// lagStage is one stage in one sample.
type lagStage struct {
	Stage      string         `json:"stage"`
	Group      string         `json:"group"`
	Topic      string         `json:"topic"`
	State      string         `json:"state"`
	Members    int            `json:"members"`
	Lag        int64          `json:"lag"`
	Status     string         `json:"status"`
	Note       string         `json:"note,omitempty"`
	Partitions []lagPartition `json:"partitions"`

	at  time.Time // when sampled
	err string    // why it could not be measured
}

// lagSample is everything one sample measured.
type lagSample struct {
	Time    time.Time  `json:"time"`
	Samples int        `json:"samples"` // how many samples were taken so far
	Stages  []lagStage `json:"stages"`
}

func runLag(cmd *cobra.Command, o *lagOpts) error {
	if o.cfgPath == "" {
		return usageError{errors.New("lag needs the pipeline file: sluice lag --config pipeline.yaml")}
	}
	switch {
	case o.interval <= 0:
		return usageError{fmt.Errorf("--interval must be positive, got %s", o.interval)}
	case o.window < 2:
		return usageError{fmt.Errorf("--window must be at least 2 samples, got %d", o.window)}
	case o.count < 0:
		return usageError{fmt.Errorf("--count must be 0 (no limit) or more, got %d", o.count)}
	case o.count > 0 && !o.watch:
		return usageError{errors.New("--count goes with --watch (without it lag takes one sample)")}
	}
	p, err := loadPipeline(o.cfgPath)
	if err != nil {
		return err
	}
	stages := make([]*config.Stage, 0, len(p.Stages))
	if o.stage != "" {
		st, err := p.Stage(o.stage)
		if err != nil {
			return usageError{err}
		}
		stages = append(stages, st)
	} else {
		for i := range p.Stages {
			stages = append(stages, &p.Stages[i])
		}
	}
	if len(stages) == 0 {
		return fmt.Errorf("%s has no stages", o.cfgPath)
	}
	ctx := cmd.Context()
	cl, err := connect(ctx, o.brokers, p)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	size := 1
	if o.watch {
		size = o.window
	}
	out := cmd.OutOrStdout()
	hist := map[string][]lagStage{}
	for n := 1; ; n++ {
		sample, err := sampleLag(ctx, adm, stages)
		switch {
		case ctx.Err() != nil:
			return nil // Ctrl-C ends --watch
		case err != nil && !o.watch:
			return err
		case err != nil:
			fmt.Fprintf(cmd.ErrOrStderr(), "sluice: %v (trying again in %s)\n", err, o.interval)
		default:
			sample.Samples = n
			for i := range sample.Stages {
				st := &sample.Stages[i]
				h := append(hist[st.Stage], *st)
				if len(h) > size {
					h = h[len(h)-size:]
				}
				hist[st.Stage] = h
				st.Status, st.Note = evaluateLag(h, size)
			}
			if o.json {
				err = writeLagJSON(out, sample)
			} else {
				err = writeLagTable(out, sample, o.watch)
			}
			if err != nil {
				return err
			}
		}
		if !o.watch || (o.count > 0 && n >= o.count) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.interval):
		}
	}
}

// sampleLag measures every stage once.
func sampleLag(ctx context.Context, adm *kadm.Client, stages []*config.Stage) (lagSample, error) {
	now := time.Now().UTC()
	var topics, groups []string
	seenTopic, seenGroup := map[string]bool{}, map[string]bool{}
	for _, st := range stages {
		if !seenTopic[st.Input] {
			seenTopic[st.Input] = true
			topics = append(topics, st.Input)
		}
		if !seenGroup[st.Group] {
			seenGroup[st.Group] = true
			groups = append(groups, st.Group)
		}
	}
	// The last stable offset: what a read_committed stage can reach.
	ends, err := adm.ListCommittedOffsets(ctx, topics...)
	if err != nil {
		return lagSample{}, fmt.Errorf("list end offsets: %w", err)
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return lagSample{}, fmt.Errorf("list start offsets: %w", err)
	}
	var described kadm.DescribedGroups
	err = retryRetriable(ctx, 15*time.Second, func() error {
		var err error
		described, err = adm.DescribeGroups(ctx, groups...)
		if err == nil {
			for _, g := range described {
				if kerr.IsRetriable(g.Err) {
					return g.Err
				}
			}
		}
		return err
	})
	if err != nil && len(described) == 0 {
		return lagSample{}, fmt.Errorf("describe groups: %w", err)
	}
	sample := lagSample{Time: now.Truncate(time.Millisecond)}
	for _, st := range stages {
		ls := lagStage{Stage: st.Name, Group: st.Group, Topic: st.Input, at: now}
		g, ok := described[st.Group]
		switch {
		case !ok || errors.Is(g.Err, kerr.GroupIDNotFound):
			ls.State = "Dead"
		case g.Err != nil:
			ls.err = fmt.Sprintf("describe group %s: %v", st.Group, g.Err)
		default:
			ls.State, ls.Members = g.State, len(g.Members)
		}
		if ls.err == "" {
			ls.err = measureStage(ctx, adm, &ls, ends, starts)
		}
		sample.Stages = append(sample.Stages, ls)
	}
	return sample, nil
}

// measureStage fills the partitions of ls; it returns why it could not.
func measureStage(ctx context.Context, adm *kadm.Client, ls *lagStage, ends, starts kadm.ListedOffsets) string {
	parts, ok := ends[ls.Topic]
	if !ok {
		return fmt.Sprintf("input topic %q does not exist", ls.Topic)
	}
	if e, ok := parts[-1]; ok && e.Err != nil {
		if errors.Is(e.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Sprintf("input topic %q does not exist", ls.Topic)
		}
		return fmt.Sprintf("input topic %q: %v", ls.Topic, e.Err)
	}
	var committed kadm.OffsetResponses
	err := retryRetriable(ctx, 15*time.Second, func() error {
		var err error
		committed, err = adm.FetchOffsetsForTopics(ctx, ls.Group, ls.Topic)
		return err
	})
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return fmt.Sprintf("committed offsets of group %s: %v", ls.Group, err)
	}
	ids := make([]int32, 0, len(parts))
	for p := range parts {
		ids = append(ids, p)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, p := range ids {
		end := parts[p]
		if end.Err != nil {
			return fmt.Sprintf("end offset of %s/%d: %v", ls.Topic, p, end.Err)
		}
		lp := lagPartition{Partition: p, End: end.Offset}
		if s, ok := starts.Lookup(ls.Topic, p); ok && s.Err == nil {
			lp.Start = s.Offset
		}
		if c, ok := committed.Lookup(ls.Topic, p); ok && c.Err == nil && c.At >= 0 {
			at := c.At
			lp.Committed = &at
			lp.Lag = max(lp.End-at, 0)
		} else {
			lp.Lag = max(lp.End-lp.Start, 0)
		}
		ls.Lag += lp.Lag
		ls.Partitions = append(ls.Partitions, lp)
	}
	return ""
}

// retryRetriable calls f again, for up to within, while it fails with an
// error Kafka calls retriable: a group coordinator still loading or moving,
// or a fresh cluster still creating __consumer_offsets.
func retryRetriable(ctx context.Context, within time.Duration, f func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil || !kerr.IsRetriable(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// evaluateLag judges the newest sample of one stage, window[len-1], on the
// samples of window (oldest first, at most size of them). size 1 means a
// single sample: only OK, STOPPED and UNKNOWN can be told apart.
//
// The rules, first match wins:
//   - not measured: UNKNOWN
//   - no members: STOPPED
//   - fewer than size samples: OK, "evaluating"
//   - a partition with lag > 0 in every sample and the same committed
//     offset in every sample: STALLED
//   - committed offsets moved, and the lag (the stage's total, or one
//     partition's) never shrank from one sample to the next and ended
//     higher than it started: WARNING
//   - otherwise OK
func evaluateLag(window []lagStage, size int) (status, note string) {
	cur := window[len(window)-1]
	switch {
	case cur.err != "":
		return lagUnknown, cur.err
	case cur.Members == 0:
		why := "no members"
		if cur.State == "Dead" {
			why = "no members (the group does not exist yet)"
		} else if cur.State != "" {
			why = "no members (group " + cur.State + ")"
		}
		if cur.Lag > 0 {
			return lagStopped, fmt.Sprintf("%s; %s waiting in %s", why, plural(int(cur.Lag), "record"), cur.Topic)
		}
		return lagStopped, why + "; caught up"
	case size <= 1:
		if cur.Lag > 0 {
			return lagOK, "one sample: --watch tells whether the lag shrinks"
		}
		return lagOK, ""
	}
	var valid []lagStage
	for _, s := range window {
		if s.err == "" {
			valid = append(valid, s)
		}
	}
	if len(valid) < size {
		return lagOK, fmt.Sprintf("evaluating: %d of %d samples", len(valid), size)
	}
	span := valid[len(valid)-1].at.Sub(valid[0].at).Round(time.Second)
	over := fmt.Sprintf("over %d samples", len(valid))
	if span > 0 {
		over += " (" + span.String() + ")"
	}

	// Per partition series, for the partitions present in every sample.
	type point struct {
		committed int64 // -1: none
		lag       int64
	}
	series := map[int32][]point{}
	for _, s := range valid {
		for _, p := range s.Partitions {
			c := int64(-1)
			if p.Committed != nil {
				c = *p.Committed
			}
			series[p.Partition] = append(series[p.Partition], point{c, p.Lag})
		}
	}
	var ids []int32
	for p, pts := range series {
		if len(pts) == len(valid) {
			ids = append(ids, p)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })

	var stalled, growing []string
	moved := false
	for _, p := range ids {
		pts := series[p]
		first, last := pts[0], pts[len(pts)-1]
		if first.committed != last.committed {
			moved = true
		}
		still, behind, rising := true, true, true
		for i, pt := range pts {
			still = still && pt.committed == first.committed
			behind = behind && pt.lag > 0
			rising = rising && (i == 0 || pt.lag >= pts[i-1].lag)
		}
		switch {
		case still && behind:
			at := "-"
			if first.committed >= 0 {
				at = strconv.FormatInt(first.committed, 10)
			}
			stalled = append(stalled, fmt.Sprintf("%d (at %s, lag %d)", p, at, last.lag))
		case !still && rising && last.lag > first.lag:
			growing = append(growing, fmt.Sprintf("%d (%d -> %d)", p, first.lag, last.lag))
		}
	}
	if len(stalled) > 0 {
		return lagStalled, fmt.Sprintf("committed offset unchanged %s while lag > 0: partition %s", over, strings.Join(stalled, ", "))
	}
	totalRising := true
	for i := 1; i < len(valid); i++ {
		totalRising = totalRising && valid[i].Lag >= valid[i-1].Lag
	}
	if moved && totalRising && valid[len(valid)-1].Lag > valid[0].Lag {
		return lagWarning, fmt.Sprintf("lag grew from %d to %d %s while committing: falling behind", valid[0].Lag, valid[len(valid)-1].Lag, over)
	}
	if len(growing) > 0 {
		return lagWarning, fmt.Sprintf("lag grew %s while committing on partition %s", over, strings.Join(growing, ", "))
	}
	return lagOK, ""
}

func writeLagJSON(w io.Writer, s lagSample) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(s)
}

func writeLagTable(w io.Writer, s lagSample, watch bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if watch {
		fmt.Fprintf(tw, "sample %d at %s\n", s.Samples, s.Time.Format(time.RFC3339))
	}
	fmt.Fprintln(tw, "STAGE\tGROUP\tMEMBERS\tLAG\tSTATUS\tNOTE")
	for _, st := range s.Stages {
		lag := strconv.FormatInt(st.Lag, 10)
		if st.err != "" {
			lag = "?"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", st.Stage, st.Group, st.Members, lag, st.Status, st.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "STAGE\tTOPIC\tPARTITION\tCOMMITTED\tEND\tLAG")
	for _, st := range s.Stages {
		for _, p := range st.Partitions {
			c := "-"
			if p.Committed != nil {
				c = strconv.FormatInt(*p.Committed, 10)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\n", st.Stage, st.Topic, p.Partition, c, p.End, p.Lag)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if watch {
		fmt.Fprintln(w)
	}
	return nil
}
