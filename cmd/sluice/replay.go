package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream"
	"github.com/sluicehq/sluice/stream/codec"
)

type replayOpts struct {
	cfgPath, brokers, stage string
	from, to                string
	toTopic, dlqTopic       string
	dryRun                  bool
	logs                    logFlags
}

func newReplayCmd() *cobra.Command {
	var o replayOpts
	c := &cobra.Command{
		Use:   "replay --config FILE --stage NAME --from TIME [--to TIME]",
		Short: "Backfill: run a stage's node over the input records of a time range",
		Long: `Run the stage's node (same command, settings and batching as 'sluice run')
over the records of its input topic whose timestamps fall in [--from, --to),
then stop. Use it to reprocess a time range after fixing a node, or to fill a
new output topic with history.

replay does not join or commit for the stage's consumer group: the live
stage, running or not, is not disturbed and keeps its position. In each input
partition it reads from the first offset whose timestamp is at or after
--from up to (not including) the first offset at or after --to — without
--to, up to the end of the partition when replay starts. Records read whose
timestamp is outside the range (timestamps need not grow with offsets) are
skipped. Failures go to the stage's DLQ (or --dlq-topic) exactly as in
'sluice run'.

Outputs go to the stage's output topics, or all of them to --to-topic,
encoded in the format of the topic they go to (declare a side topic with
the same format and schema as the output it stands in for). Every
output and DLQ record carries the header sluice.replay, whose value (the
replay's start time) identifies the run, next to the usual lineage headers.
Topics must exist; replay creates none.

Times: RFC 3339 (2024-05-01T12:00:00Z), a date (2024-05-01, midnight UTC),
Unix milliseconds, a duration ago (-2h, -90m) or "now"; a leading @ is
allowed. On a terminal a progress line shows records read, records/s and
the time left; at the end one line sums up:

  replayed stage filter: read 1200 records (1180 in range), produced 1100, DLQ 80, in 3.2s

--dry-run prints, per partition, the offsets that would be read, and stops.`,
		Example: `  # what would be read for the last hour, without running anything
  sluice replay --config config/examples/sensors.yaml --stage filter --from -1h --dry-run

  # reprocess 12:00-13:00 into a side topic, to compare with the live output
  sluice replay -c config/examples/sensors.yaml --stage filter \
      --from 2024-05-01T12:00:00Z --to 2024-05-01T13:00:00Z --to-topic events.clean.backfill

  # redo yesterday into the stage's own outputs (consumers see sluice.replay)
  sluice replay -c pipeline.yaml --stage classify --from 2024-05-01 --to 2024-05-02`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReplay(cmd, &o)
		},
	}
	f := c.Flags()
	addConfigFlag(c, &o.cfgPath, true)
	addBrokersFlag(c, &o.brokers)
	f.StringVar(&o.stage, "stage", "", "the stage whose node is replayed (a key under stages: in the file)")
	f.StringVar(&o.from, "from", "", "start of the range, inclusive: RFC 3339, a date, Unix ms, or a duration ago such as -2h")
	f.StringVar(&o.to, "to", "", "end of the range, exclusive (default: the end of each partition when replay starts)")
	f.StringVar(&o.toTopic, "to-topic", "", "write every output to this topic instead of the stage's outputs")
	f.StringVar(&o.dlqTopic, "dlq-topic", "", "write failed records to this topic instead of the stage's DLQ")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the offsets that would be read per partition, and run nothing")
	// Quieter than run: the stage's routine log lines would drown the
	// progress line; warnings and errors still show.
	f.StringVar(&o.logs.level, "log-level", "warn", "log level of the stage: debug, info, warn, error")
	f.StringVar(&o.logs.format, "log-format", "auto", "log format: json, console, or auto (console on a terminal, JSON otherwise)")
	return c
}

// replayRange is the offsets of one input partition a replay reads.
type replayRange struct {
	Partition   int32
	Start, Stop int64
}

func (r replayRange) count() int64 { return max(r.Stop-r.Start, 0) }

func runReplay(cmd *cobra.Command, o *replayOpts) error {
	if o.cfgPath == "" || o.stage == "" || o.from == "" {
		return usageError{errors.New("replay needs --config FILE, --stage NAME and --from TIME (see 'sluice replay --help')")}
	}
	now := time.Now()
	from, err := parseTime(o.from, now)
	if err != nil {
		return usageError{fmt.Errorf("--from: %v", err)}
	}
	var to time.Time
	if o.to != "" {
		if to, err = parseTime(o.to, now); err != nil {
			return usageError{fmt.Errorf("--to: %v", err)}
		}
		if !to.After(from) {
			return usageError{fmt.Errorf("--to %s is not after --from %s: the range [from, to) is empty", fmtTime(to), fmtTime(from))}
		}
	}
	p, err := config.Load(o.cfgPath)
	if err != nil {
		return err
	}
	st, err := p.Stage(o.stage)
	if err != nil {
		return usageError{err}
	}
	codecs, err := loadCodecs(p)
	if err != nil {
		return err
	}
	stage := *st
	if o.toTopic != "" {
		if o.toTopic == stage.Input {
			return usageError{fmt.Errorf("--to-topic %q is the stage's input topic: the replay would feed its own input", o.toTopic)}
		}
		stage.Outputs = map[string]string{}
		for name := range st.Outputs {
			stage.Outputs[name] = o.toTopic
		}
	}
	if o.dlqTopic != "" {
		stage.DLQ = o.dlqTopic
	}

	ctx := cmd.Context()
	cl, err := connect(ctx, o.brokers, p)
	if err != nil {
		return err
	}
	closeClient := sync.OnceFunc(cl.Close)
	defer closeClient()
	adm := kadm.NewClient(cl)
	td, err := lookupTopic(ctx, adm, stage.Input, o.cfgPath, -1)
	if err != nil {
		return err
	}
	for _, f := range [][2]string{{"--to-topic", o.toTopic}, {"--dlq-topic", o.dlqTopic}} {
		if f[1] == "" {
			continue
		}
		tds, err := adm.ListTopics(ctx, f[1])
		if err != nil {
			return listOffsetsErr(ctx, f[1], err)
		}
		if td, ok := tds[f[1]]; !ok || td.Err != nil {
			return fmt.Errorf("%s %q: the topic does not exist; create it first (replay creates no topics)", f[0], f[1])
		}
	}
	ranges, err := replayRanges(ctx, adm, stage.Input, slices.Sorted(maps.Keys(td.Partitions)), from, to)
	if err != nil {
		return err
	}
	if o.dryRun {
		return printReplayPlan(cmd.OutOrStdout(), &stage, ranges, from, to)
	}

	log, err := o.logs.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer log.Sync()
	start := time.Now()
	id := start.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	bounds := &stream.Bounds{Start: map[int32]int64{}, Stop: map[int32]int64{}, From: from, To: to, Tag: id}
	for _, r := range ranges {
		bounds.Start[r.Partition], bounds.Stop[r.Partition] = r.Start, r.Stop
	}
	brokers, _ := config.ResolveBrokers(o.brokers, p)
	sec, err := kafkaSecurity(p)
	if err != nil {
		return err
	}
	warnFormatChange(cmd.ErrOrStderr(), codecs, st, o.toTopic)
	if err := prepareCodecs(ctx, codecs, stageTopics([]config.Stage{stage})...); err != nil {
		return err
	}
	s, err := stream.New(stream.Options{Stage: stage, Pipeline: p.Name, Brokers: brokers, ClientID: p.Kafka.ClientID, Logger: log, Bounded: bounds, KafkaOpts: sec.Opts(), SecretEnv: p.Kafka.SecretEnv, Codecs: codecs})
	if err != nil {
		return err
	}
	closeClient() // the stage has its own

	done := make(chan error, 1)
	go func() { done <- explainStage(sec, stage.Name, brokers, s.Run(ctx)) }()
	errOut := cmd.ErrOrStderr()
	if isTerminal(errOut) {
		err = showProgress(errOut, s, stage.Name, start, done)
	} else {
		err = <-done
	}
	if err != nil {
		return err
	}
	pr, stats := s.BoundedProgress(), s.Stats()
	took := time.Since(start)
	if pr.Completed < pr.Total {
		return fmt.Errorf("replay of stage %s interrupted after %.1fs: handled %d of %d records, produced %d, DLQ %d (tagged sluice.replay=%s); a new replay of the range starts over",
			stage.Name, took.Seconds(), pr.Completed, pr.Total, stats.Produced, stats.DLQ, id)
	}
	fmt.Fprintf(errOut, "replayed stage %s: read %s (%d in range), produced %d, DLQ %d, in %.1fs\n",
		stage.Name, plural(int(pr.Read), "record"), pr.InRange, stats.Produced, stats.DLQ, took.Seconds())
	if stats.Produced+stats.DLQ > 0 {
		fmt.Fprintf(errOut, "outputs carry the header sluice.replay=%s\n", id)
	}
	return nil
}

// warnFormatChange says when --to-topic has another format than the
// stage's outputs it stands in for: outputs are encoded with the side
// topic's codec, so a raw side topic gets the node's JSON as is.
func warnFormatChange(w io.Writer, codecs *codec.Set, st *config.Stage, toTopic string) {
	if toTopic != "" {
		side := codecs.For(toTopic)
		for _, out := range slices.Compact(slices.Sorted(maps.Values(st.Outputs))) {
			if f := codecs.For(out).Format(); f != side.Format() {
				fmt.Fprintf(w, "note: --to-topic %s is %s, the stage's output %s is %s: outputs are written as %s\n",
					toTopic, side.Format(), out, f, formatDesc(side.Format()))
			}
		}
	}
}

// formatDesc says what a value of a topic of format f is.
func formatDesc(f string) string {
	switch f {
	case config.FormatRaw:
		return "the node's output as is"
	case config.FormatJSON:
		return "the node's output, checked to be JSON"
	}
	return f + ", with the topic's schema"
}

// replayRanges lists, for each partition of topic, the first offset at or
// after from and the one to stop before: the first offset at or after to,
// or with a zero to the partition's end. A partition with nothing at or
// after a time lists its end offset for it.
func replayRanges(ctx context.Context, adm *kadm.Client, topic string, partitions []int32, from, to time.Time) ([]replayRange, error) {
	starts, err := listed(ctx, topic)(adm.ListOffsetsAfterMilli(ctx, from.UnixMilli(), topic))
	if err != nil {
		return nil, err
	}
	var stops kadm.ListedOffsets
	if to.IsZero() {
		stops, err = listed(ctx, topic)(adm.ListEndOffsets(ctx, topic))
	} else {
		stops, err = listed(ctx, topic)(adm.ListOffsetsAfterMilli(ctx, to.UnixMilli(), topic))
	}
	if err != nil {
		return nil, err
	}
	out := make([]replayRange, 0, len(partitions))
	for _, part := range partitions {
		lo, ok1 := starts.Lookup(topic, part)
		hi, ok2 := stops.Lookup(topic, part)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("list offsets of %q: no answer for partition %d", topic, part)
		}
		out = append(out, replayRange{Partition: part, Start: lo.Offset, Stop: max(hi.Offset, lo.Offset)})
	}
	return out, nil
}

// printReplayPlan is the output of --dry-run.
func printReplayPlan(w io.Writer, st *config.Stage, ranges []replayRange, from, to time.Time) error {
	end := "the end of each partition"
	if !to.IsZero() {
		end = fmtTime(to)
	}
	fmt.Fprintf(w, "dry run: replay of stage %s would read %s from %s to %s:\n", st.Name, st.Input, fmtTime(from), end)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tSTART\tSTOP\tRECORDS")
	var total int64
	for _, r := range ranges {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\n", r.Partition, r.Start, r.Stop, r.count())
		total += r.count()
	}
	fmt.Fprintf(tw, "total\t\t\t%d\n", total)
	if err := tw.Flush(); err != nil {
		return err
	}
	outs := slices.Sorted(maps.Values(st.Outputs))
	outs = slices.Compact(outs)
	_, err := fmt.Fprintf(w, "outputs would go to %s, failures to %s; records whose timestamps fall outside the range are read but skipped. Nothing was run.\n",
		strings.Join(outs, ", "), st.DLQ)
	return err
}

// showProgress redraws a one-line progress bar on w about four times a
// second until the run ends, then clears it and returns the run's result.
func showProgress(w io.Writer, s *stream.Stage, stage string, start time.Time, done <-chan error) error {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			fmt.Fprint(w, "\r\x1b[K")
			return err
		case <-t.C:
			fmt.Fprint(w, "\r"+progressLine(stage, s.BoundedProgress(), time.Since(start))+"\x1b[K")
		}
	}
}

// progressLine renders the progress of a replay — records handled (read
// and processed, or skipped) of those in the offset range — e.g.
// "replay filter [#######.............]  35%  350/1000 records  1200 rec/s  ETA 1s".
func progressLine(stage string, pr stream.BoundedProgress, elapsed time.Duration) string {
	const width = 20
	frac := 1.0
	if pr.Total > 0 {
		frac = float64(pr.Completed) / float64(pr.Total)
	}
	filled := int(frac * width)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	rate := 0.0
	if secs := elapsed.Seconds(); secs > 0 {
		rate = float64(pr.Completed) / secs
	}
	eta := "--"
	switch {
	case pr.Completed >= pr.Total:
		eta = "0s"
	case rate > 0:
		eta = time.Duration(float64(pr.Total-pr.Completed) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("replay %s [%s] %3d%%  %d/%d records  %.0f rec/s  ETA %s",
		stage, bar, int(frac*100), pr.Completed, pr.Total, rate, eta)
}

// fmtTime shows a time given on the command line, in UTC, to the
// millisecond (Kafka's timestamp precision).
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z07:00") }
