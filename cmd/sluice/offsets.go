package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/config"
)

func newOffsetsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "offsets",
		Short: "Move a stage's committed offsets (rewind or skip ahead)",
		Long: `Manage the committed offsets of a stage's consumer group: where the stage
resumes in its input topic when it (re)starts.

"offsets reset" moves them to a point in time, the earliest or the latest
offsets, like kafka-consumer-groups --reset-offsets. It is a dry run unless
--execute is given, and refuses to change a group that has running members.`,
		Example: `  sluice offsets reset --config config/examples/sensors.yaml --stage filter --to @-1h
  sluice offsets reset --config config/examples/sensors.yaml --stage filter --to @-1h --execute`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for %q: use \"reset\" (see '%s --help')", args[0], cmd.CommandPath(), cmd.CommandPath())}
			}
			return cmd.Help()
		},
	}
	c.AddCommand(newOffsetsResetCmd())
	return c
}

type offsetsResetOpts struct {
	cfgPath, brokers, stage, to string
	execute                     bool
}

func newOffsetsResetCmd() *cobra.Command {
	var o offsetsResetOpts
	c := &cobra.Command{
		Use:   "reset --config FILE --stage NAME --to @TIME|earliest|latest [--execute]",
		Short: "Rewind (or forward) a stage's consumer group to a time, the earliest or the latest offsets",
		Long: `Set the committed offsets of the stage's consumer group on its input topic,
so that the stage, when started next, reprocesses from there (rewind) or
skips ahead. Without --execute it only prints what it would do:

  group sluice.sensors.filter, topic events.parsed: reset to the first offsets at or after 2024-05-01T12:00:00Z
  PARTITION  CURRENT  NEW
  0          1200     800
  1          1187     790
  2          -        0

CURRENT is the committed offset ("-": none yet), NEW the one --execute
commits. --to takes:
  @TIME     the first offset whose timestamp is at or after TIME (RFC 3339,
            a date, Unix ms, or a duration ago such as @-2h); a partition
            with nothing at or after TIME gets its end offset
  earliest  the oldest offset each partition still holds
  latest    the end of each partition: skip everything not yet processed

The stage must be stopped: a group with active members is refused, as its
members would overwrite the new offsets with their own. Reprocessing a range
without touching the group is 'sluice replay'.`,
		Example: `  # what would happen: a table of current and new offsets, nothing changed
  sluice offsets reset --config config/examples/sensors.yaml --stage filter --to @-1h

  # stop the stage, rewind it to 12:00 UTC, start it again
  sluice offsets reset -c config/examples/sensors.yaml --stage filter --to @2024-05-01T12:00:00Z --execute
  sluice run -c config/examples/sensors.yaml --stage filter

  # skip a backlog
  sluice offsets reset -c config/examples/sensors.yaml --stage classify --to latest --execute`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runOffsetsReset(cmd, &o)
		},
	}
	addConfigFlag(c, &o.cfgPath, true)
	addBrokersFlag(c, &o.brokers)
	f := c.Flags()
	f.StringVar(&o.stage, "stage", "", "the stage whose consumer group is reset (a key under stages: in the file)")
	f.StringVar(&o.to, "to", "", `where to: @TIME (RFC 3339, a date, Unix ms, or a duration ago such as @-1h), "earliest" or "latest"`)
	f.BoolVar(&o.execute, "execute", false, "commit the new offsets (without it: a dry run that changes nothing)")
	return c
}

// resetTarget is where offsets reset moves a group.
type resetTarget struct {
	kind string // "time", "earliest", "latest"
	at   time.Time
}

func parseResetTarget(s string, now time.Time) (resetTarget, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "earliest":
		return resetTarget{kind: "earliest"}, nil
	case "latest":
		return resetTarget{kind: "latest"}, nil
	}
	t, err := parseTime(s, now)
	if err != nil {
		return resetTarget{}, fmt.Errorf(`--to %q: want @TIME, "earliest" or "latest": %v`, s, err)
	}
	return resetTarget{kind: "time", at: t}, nil
}

func (t resetTarget) String() string {
	switch t.kind {
	case "time":
		return "the first offsets at or after " + fmtTime(t.at)
	case "earliest":
		return "the earliest offsets"
	default:
		return "the latest offsets"
	}
}

// resetRow is one partition of offsets reset.
type resetRow struct {
	Partition int32
	Current   int64 // -1: nothing committed
	New       int64
	Note      string
}

func runOffsetsReset(cmd *cobra.Command, o *offsetsResetOpts) error {
	if o.cfgPath == "" || o.stage == "" || o.to == "" {
		return usageError{errors.New("offsets reset needs --config FILE, --stage NAME and --to @TIME|earliest|latest (see 'sluice offsets reset --help')")}
	}
	target, err := parseResetTarget(o.to, time.Now())
	if err != nil {
		return usageError{err}
	}
	p, err := config.Load(o.cfgPath)
	if err != nil {
		return err
	}
	st, err := p.Stage(o.stage)
	if err != nil {
		return usageError{err}
	}
	ctx := cmd.Context()
	cl, err := connect(ctx, o.brokers, p)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	td, err := lookupTopic(ctx, adm, st.Input, o.cfgPath, -1)
	if err != nil {
		return err
	}
	members, err := groupMembers(ctx, adm, st.Group)
	if err != nil {
		return err
	}
	if o.execute && members > 0 {
		return fmt.Errorf("group %q has %s; stop the stage first", st.Group, plural(members, "active member"))
	}
	rows, err := resetPlan(ctx, adm, st.Group, st.Input, slices.Sorted(maps.Keys(td.Partitions)), target)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "group %s, topic %s: reset to %s\n", st.Group, st.Input, target)
	if err := writeResetTable(out, rows); err != nil {
		return err
	}
	if !o.execute {
		if members > 0 {
			fmt.Fprintf(out, "note: group %s has %s; stop the stage before --execute\n", st.Group, plural(members, "active member"))
		}
		fmt.Fprintln(out, "dry run: nothing changed; add --execute to commit the NEW offsets")
		return nil
	}
	var offs kadm.Offsets
	for _, r := range rows {
		offs.Add(kadm.Offset{Topic: st.Input, Partition: r.Partition, At: r.New, LeaderEpoch: -1})
	}
	err = retryRetriable(ctx, 30*time.Second, func() error {
		resp, err := adm.CommitOffsets(ctx, st.Group, offs)
		if err == nil {
			err = resp.Error()
		}
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.RebalanceInProgress) {
			return fmt.Errorf("commit offsets for group %q: %v (a member joined meanwhile? stop the stage first)", st.Group, err)
		}
		return fmt.Errorf("commit offsets for group %q: %w", st.Group, err)
	}
	fmt.Fprintf(out, "reset group %s: committed the NEW offsets for %s of %s\n", st.Group, plural(len(rows), "partition"), st.Input)
	return nil
}

// groupMembers returns how many members the group has (0 for a group
// that does not exist).
func groupMembers(ctx context.Context, adm *kadm.Client, group string) (int, error) {
	var dgs kadm.DescribedGroups
	err := retryRetriable(ctx, 30*time.Second, func() error {
		var err error
		dgs, err = adm.DescribeGroups(ctx, group)
		if err == nil {
			if dg, ok := dgs[group]; ok {
				err = dg.Err
			}
		}
		return err
	})
	switch {
	case err == nil:
		return len(dgs[group].Members), nil
	case errors.Is(err, kerr.GroupIDNotFound):
		return 0, nil
	case ctx.Err() != nil:
		return 0, ctx.Err()
	default:
		return 0, fmt.Errorf("describe group %q: %w", group, err)
	}
}

// resetPlan lists, per partition of topic, the group's committed offset
// and the target's offset.
func resetPlan(ctx context.Context, adm *kadm.Client, group, topic string, partitions []int32, target resetTarget) ([]resetRow, error) {
	var committed kadm.OffsetResponses
	err := retryRetriable(ctx, 30*time.Second, func() error {
		var err error
		committed, err = adm.FetchOffsets(ctx, group)
		return err
	})
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("fetch the committed offsets of group %q: %w", group, err)
	}
	ends, err := listed(ctx, topic)(adm.ListEndOffsets(ctx, topic))
	if err != nil {
		return nil, err
	}
	news := ends
	switch target.kind {
	case "earliest":
		news, err = listed(ctx, topic)(adm.ListStartOffsets(ctx, topic))
	case "time":
		news, err = listed(ctx, topic)(adm.ListOffsetsAfterMilli(ctx, target.at.UnixMilli(), topic))
	}
	if err != nil {
		return nil, err
	}
	rows := make([]resetRow, 0, len(partitions))
	for _, part := range partitions {
		n, ok := news.Lookup(topic, part)
		e, ok2 := ends.Lookup(topic, part)
		if !ok || !ok2 {
			return nil, fmt.Errorf("list offsets of %q: no answer for partition %d", topic, part)
		}
		r := resetRow{Partition: part, Current: -1, New: n.Offset}
		if c, ok := committed.Lookup(topic, part); ok && c.Err == nil && c.At >= 0 {
			r.Current = c.At
		}
		if target.kind == "time" && n.Offset >= e.Offset {
			r.Note = "end: nothing at or after " + fmtTime(target.at)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func writeResetTable(w io.Writer, rows []resetRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tCURRENT\tNEW\t")
	for _, r := range rows {
		cur := "-"
		if r.Current >= 0 {
			cur = strconv.FormatInt(r.Current, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\n", r.Partition, cur, r.New, r.Note)
	}
	return tw.Flush()
}
