package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream"
)

const (
	// traceMaxHops bounds a lineage walk; real pipelines are far shorter,
	// so hitting it means the headers form a loop.
	traceMaxHops = 100
	// traceExcerpt is how many characters of a value a chain line shows.
	traceExcerpt = 80
	// traceReadTimeout bounds reading one record; traceScanTimeout one
	// forward scan of a stage's output topics.
	traceReadTimeout = 15 * time.Second
	traceScanTimeout = time.Minute
)

type traceOpts struct {
	brokers, cfgPath string
	forward          bool
	within           time.Duration
}

func newTraceCmd() *cobra.Command {
	var o traceOpts
	c := &cobra.Command{
		Use:   "trace TOPIC PARTITION OFFSET",
		Short: "Follow a record's lineage back to its raw input, or forward to what it became",
		Long: `Print the record at TOPIC PARTITION OFFSET (also written TOPIC/PARTITION/OFFSET,
as trace prints records), then follow its lineage back hop by hop. Every
record a stage writes, outputs and dead letters alike, carries the headers
sluice.stage, sluice.source.topic, sluice.source.partition and
sluice.source.offset naming the one input record it came from; trace reads
that record, then its source, and so on until a record without lineage: the
raw input. Each hop is one line: the stage that wrote the record ("-" for
the raw input, "<stage> (dlq)" for a dead letter), where it is, its
timestamp (the event time, which stages carry over) and the first 80
characters of its value.

If a hop's source cannot be read — its records were deleted by retention,
or its topic is gone — trace prints the chain it has, a last line with what
the headers still say about the missing record, and exits 1.

--forward goes the other way: what did this record become? For each stage
of the pipeline file that reads the record's topic, trace scans the stage's
output and dead-letter topics for records whose lineage points at it, then
follows each of those the same way. The scan is bounded: in each partition it
starts at the first record whose timestamp is at or after the traced
record's (outputs carry their input's timestamp) and stops at the end of the
partition as it was when the scan started, or at the first record more than
--within (default 1h) later in event time. Streams whose event time is far
out of order may need a larger --within. When a stage has nothing for the
record, trace says whether the stage's group has committed past it yet
(processed, and the node produced nothing) or not (not processed yet).
--forward needs --config. Records are read read_committed, like a stage.

--config FILE also decodes each value with its topic's format there, as
tail --config does: an Avro topic's records (single-object or Confluent
wire form, any of the topic's schema versions) are shown as JSON, a JSON
topic's as they are, and a dead letter with the format of the topic it
failed in (its sluice.source.topic header) when it can be. A value that
does not decode is shown as stored, with the reason: on a line
"! not decoded: ..." below the record's value, and "(not decoded: ...)"
after it on the lines of the chain and of --forward. Without --config
values are shown as stored: Avro is binary (base64).`,
		Example: `  sluice trace alerts 0 12 --config config/examples/sensors.yaml
  sluice trace ingest.dlq/0/3                      # why did this line fail, and what was it?
  sluice trace events.raw 2 44 -c config/examples/sensors.yaml --forward
  sluice trace events.raw/2/44 -c pipeline.yaml --forward --within 6h
  sluice trace alerts/0/12 -c config/examples/sensors-avro.yaml  # Avro values shown as JSON`,
		Args: func(cmd *cobra.Command, args []string) error {
			_, _, _, err := parseTraceArgs(cmd, args)
			return err
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			topic, part, off, _ := parseTraceArgs(cmd, args)
			return runTrace(cmd, &o, topic, part, off)
		},
	}
	addConfigFlag(c, &o.cfgPath, false)
	c.Flags().Lookup("config").Usage = "pipeline file (YAML): the stages --forward follows, kafka.brokers, and the topics' formats (Avro values shown as JSON)"
	addBrokersFlag(c, &o.brokers)
	c.Flags().BoolVar(&o.forward, "forward", false, "follow the record downstream (needs --config) instead of back to its raw input")
	c.Flags().DurationVar(&o.within, "within", time.Hour, "with --forward, how far past the record's event time to look for what it became")
	return c
}

// parseTraceArgs reads TOPIC PARTITION OFFSET or TOPIC/PARTITION/OFFSET.
func parseTraceArgs(cmd *cobra.Command, args []string) (topic string, part int32, off int64, err error) {
	usage := func(format string, a ...any) error {
		return usageError{fmt.Errorf(format+" (see '%s --help')", append(a, cmd.CommandPath())...)}
	}
	switch len(args) {
	case 1:
		s := args[0]
		i := strings.LastIndex(s, "/")
		j := -1
		if i > 0 {
			j = strings.LastIndex(s[:i], "/")
		}
		if j <= 0 {
			return "", 0, 0, usage("%s needs TOPIC PARTITION OFFSET, or TOPIC/PARTITION/OFFSET; got %q", cmd.CommandPath(), s)
		}
		args = []string{s[:j], s[j+1 : i], s[i+1:]}
	case 3:
	default:
		return "", 0, 0, usage("%s needs TOPIC PARTITION OFFSET, e.g. %q; got %d arguments", cmd.CommandPath(), cmd.CommandPath()+" events.clean 1 17", len(args))
	}
	topic = args[0]
	if topic == "" {
		return "", 0, 0, usage("%s: the topic name is empty", cmd.CommandPath())
	}
	p, perr := strconv.ParseInt(args[1], 10, 32)
	if perr != nil || p < 0 {
		return "", 0, 0, usage("partition %q: want a number, 0 or more", args[1])
	}
	o, oerr := strconv.ParseInt(args[2], 10, 64)
	if oerr != nil || o < 0 {
		return "", 0, 0, usage("offset %q: want a number, 0 or more", args[2])
	}
	return topic, int32(p), o, nil
}

func runTrace(cmd *cobra.Command, o *traceOpts, topic string, part int32, off int64) error {
	switch {
	case o.forward && o.cfgPath == "":
		return usageError{errors.New("--forward needs --config: the pipeline file tells which stages read the topic")}
	case o.within <= 0:
		return usageError{fmt.Errorf("--within must be positive, got %s", o.within)}
	case cmd.Flags().Changed("within") && !o.forward:
		return usageError{errors.New("--within goes with --forward")}
	}
	p, err := loadPipeline(o.cfgPath)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	var opts []kgo.Opt
	if p != nil && p.Kafka.ClientID != "" {
		opts = append(opts, kgo.ClientID(p.Kafka.ClientID))
	}
	secOpts, err := securityOpts(p)
	if err != nil {
		return err
	}
	opts = append(opts, secOpts...)
	cl, err := connect(ctx, o.brokers, p)
	if err != nil {
		return err
	}
	defer cl.Close()
	seeds, _ := config.ResolveBrokers(o.brokers, p)
	t := &tracer{ctx: ctx, adm: kadm.NewClient(cl), seeds: seeds, opts: opts, cfgPath: o.cfgPath}
	if p != nil {
		// No Prepare, as for tail: a reader registers nothing.
		codecs, err := loadCodecs(p)
		if err != nil {
			return err
		}
		t.dec = &tailDecoder{codecs: codecs}
		t.undecoded = map[recordID]error{}
	}

	rec, err := t.fetch(topic, part, off)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	t.writeRecord(out, rec)
	fmt.Fprintln(out)
	if o.forward {
		return t.forward(out, p, rec, o.within)
	}
	return t.back(out, rec)
}

// tracer reads records for trace.
type tracer struct {
	ctx     context.Context
	adm     *kadm.Client
	seeds   []string
	opts    []kgo.Opt
	cfgPath string
	// dec decodes values with their topic's format (--config; nil: values
	// as stored); undecoded holds why a record's value did not decode.
	dec       *tailDecoder
	undecoded map[recordID]error
}

// decode replaces r.Value with its decoded form (--config), once per
// fetched record. A value that does not decode stays as stored, and why
// is kept for the lines that show it: one bad value must not stop a trace.
func (t *tracer) decode(r *kgo.Record) {
	if err := t.dec.decode(r); err != nil {
		t.undecoded[idOf(r)] = err
	}
}

// excerpt is r's value for a chain line, followed by why it did not
// decode, if it did not.
func (t *tracer) excerpt(r *kgo.Record) string {
	s := lineExcerpt(r.Value, traceExcerpt)
	if err := t.undecoded[idOf(r)]; err != nil {
		s += "  (not decoded: " + err.Error() + ")"
	}
	return s
}

// recordID is a record's address.
type recordID struct {
	topic string
	part  int32
	off   int64
}

func (id recordID) String() string { return fmt.Sprintf("%s/%d/%d", id.topic, id.part, id.off) }

func idOf(r *kgo.Record) recordID { return recordID{r.Topic, r.Partition, r.Offset} }

// lineageRef is what a record's lineage headers say.
type lineageRef struct {
	stage string
	src   recordID
}

// lastHeader returns the last value of header key ("" if absent).
func lastHeader(r *kgo.Record, key string) (string, bool) {
	v, ok := "", false
	for _, h := range r.Headers {
		if h.Key == key {
			v, ok = string(h.Value), true
		}
	}
	return v, ok
}

// recordLineage reads r's lineage headers; ok is false for a record
// without them (a raw input).
func recordLineage(r *kgo.Record) (ref lineageRef, ok bool, err error) {
	topic, hasT := lastHeader(r, stream.HeaderSourceTopic)
	ps, hasP := lastHeader(r, stream.HeaderSourcePartition)
	offStr, hasO := lastHeader(r, stream.HeaderSourceOffset)
	if !hasT && !hasP && !hasO {
		return ref, false, nil
	}
	ref.stage, _ = lastHeader(r, stream.HeaderStage)
	p, perr := strconv.ParseInt(ps, 10, 32)
	o, oerr := strconv.ParseInt(offStr, 10, 64)
	if topic == "" || perr != nil || oerr != nil || p < 0 || o < 0 {
		return ref, false, fmt.Errorf("%s has broken lineage headers: %s=%q %s=%q %s=%q",
			idOf(r), stream.HeaderSourceTopic, topic, stream.HeaderSourcePartition, ps, stream.HeaderSourceOffset, offStr)
	}
	ref.src = recordID{topic, int32(p), o}
	return ref, true, nil
}

// recordGoneError is a record that is no longer in its partition.
type recordGoneError struct {
	id    recordID
	start int64
}

func (e recordGoneError) Error() string {
	return fmt.Sprintf("%s is gone: %s/%d now starts at offset %d (older records were deleted by retention)", e.id, e.id.topic, e.id.part, e.start)
}

// topicGoneError is a lineage hop into a topic that no longer exists.
type topicGoneError struct{ topic string }

func (e topicGoneError) Error() string {
	return fmt.Sprintf("topic %q no longer exists", e.topic)
}

// topicGone reports whether the cluster says topic does not exist.
func (t *tracer) topicGone(topic string) bool {
	tds, err := t.adm.ListTopics(t.ctx, topic)
	if err != nil {
		return false
	}
	td, ok := tds[topic]
	return !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition)
}

// offsets returns the log start and the last stable offset of a partition.
func (t *tracer) offsets(topic string, part int32) (start, end int64, err error) {
	starts, err := t.adm.ListStartOffsets(t.ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return 0, 0, listOffsetsErr(t.ctx, topic, err)
	}
	ends, err := t.adm.ListCommittedOffsets(t.ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, 0, listOffsetsErr(t.ctx, topic, err)
	}
	s, _ := starts.Lookup(topic, part)
	e, _ := ends.Lookup(topic, part)
	return s.Offset, e.Offset, nil
}

// fetch reads the record at topic/part/off.
func (t *tracer) fetch(topic string, part int32, off int64) (*kgo.Record, error) {
	id := recordID{topic, part, off}
	if _, err := lookupTopic(t.ctx, t.adm, topic, t.cfgPath, part); err != nil {
		return nil, err
	}
	start, end, err := t.offsets(topic, part)
	if err != nil {
		return nil, err
	}
	switch {
	case off >= end && start >= end:
		return nil, fmt.Errorf("%s/%d holds no records: there is no offset %d (the next record will get offset %d)", topic, part, off, end)
	case off >= end:
		return nil, fmt.Errorf("offset %d is beyond the end of %s/%d, which holds offsets %d-%d", off, topic, part, start, end-1)
	case off < start:
		return nil, recordGoneError{id, start}
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(t.seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {part: kgo.NewOffset().At(off)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	}, t.opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.ctx, traceReadTimeout)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			if t.ctx.Err() != nil {
				return nil, t.ctx.Err()
			}
			return nil, fmt.Errorf("read %s: no record came within %s", id, traceReadTimeout)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			var loss *kgo.ErrDataLoss
			switch {
			case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			case errors.As(err, &loss) || errors.Is(err, kerr.OffsetOutOfRange):
				// Deleted between the offset check and the read.
				if s, _, oerr := t.offsets(topic, part); oerr == nil && s > off {
					ferr = recordGoneError{id, s}
				} else if ferr == nil {
					ferr = fmt.Errorf("read %s: %w", id, err)
				}
			case ferr == nil:
				ferr = fmt.Errorf("read %s: %w", id, err)
			}
		})
		if ferr != nil {
			return nil, ferr
		}
		for it := fs.RecordIter(); !it.Done(); {
			r := it.Next()
			switch {
			case r.Offset < off:
				continue
			case r.Offset > off:
				return nil, fmt.Errorf("%s holds no record (an aborted or compacted one, or a transaction marker); the next record is at offset %d", id, r.Offset)
			case r.Attrs.IsControl():
				return nil, fmt.Errorf("%s is a transaction marker, not a record", id)
			}
			t.decode(r)
			return r, nil
		}
	}
}

// lineExcerpt renders b on one line, cut to n characters.
func lineExcerpt(b []byte, n int) string {
	if b == nil {
		return "-"
	}
	var s string
	if utf8.Valid(b) {
		s = strings.Map(func(r rune) rune {
			switch {
			case r == '\n' || r == '\r' || r == '\t':
				return ' '
			case unicode.IsControl(r):
				return '?'
			}
			return r
		}, string(b))
	} else {
		s = "base64:" + base64.StdEncoding.EncodeToString(b)
	}
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return s
}

// fullBytes renders a key, value or header value in full.
func fullBytes(b []byte) string {
	switch {
	case b == nil:
		return "-"
	case !utf8.Valid(b):
		return "base64:" + base64.StdEncoding.EncodeToString(b)
	}
	return string(b)
}

// writeRecord prints r in full, with why its value did not decode, if it
// did not.
func (t *tracer) writeRecord(w io.Writer, r *kgo.Record) {
	fmt.Fprintf(w, "%s\n", idOf(r))
	fmt.Fprintf(w, "  time     %s\n", r.Timestamp.UTC().Format(tsLayout))
	fmt.Fprintf(w, "  key      %s\n", fullBytes(r.Key))
	fmt.Fprintf(w, "  value    %s\n", fullBytes(r.Value))
	if err := t.undecoded[idOf(r)]; err != nil {
		fmt.Fprintf(w, "           ! not decoded: %v\n", err)
	}
	for i, h := range r.Headers {
		label := "         "
		if i == 0 {
			label = "headers  "
		}
		fmt.Fprintf(w, "  %s%s: %s\n", label, h.Key, fullBytes(h.Value))
	}
}

// wroteBy names the stage that wrote r for a chain line: "-" for a raw
// input, "<stage> (dlq)" for a dead letter.
func wroteBy(r *kgo.Record) string {
	stage, ok := lastHeader(r, stream.HeaderStage)
	if !ok || stage == "" {
		if _, lin, _ := recordLineage(r); !lin {
			return "-"
		}
		stage = "?"
	}
	if _, dead := lastHeader(r, stream.HeaderError); dead {
		stage += " (dlq)"
	}
	return stage
}

// back prints the chain from rec back to its raw input.
func (t *tracer) back(w io.Writer, rec *kgo.Record) error {
	chain := []*kgo.Record{rec}
	seen := map[recordID]bool{idOf(rec): true}
	var (
		stopErr error
		missing *lineageRef // the hop that could not be read
	)
	for {
		r := chain[len(chain)-1]
		ref, ok, err := recordLineage(r)
		if err != nil {
			stopErr = err
			break
		}
		if !ok {
			break
		}
		if seen[ref.src] || len(chain) > traceMaxHops {
			stopErr = fmt.Errorf("the lineage of %s loops back to %s: the headers are not sluice's", idOf(r), ref.src)
			break
		}
		src, err := t.fetch(ref.src.topic, ref.src.part, ref.src.off)
		if err != nil && t.topicGone(ref.src.topic) {
			err = topicGoneError{ref.src.topic}
		}
		if err != nil {
			if t.ctx.Err() != nil {
				return t.ctx.Err()
			}
			missing, stopErr = &ref, err
			break
		}
		seen[ref.src] = true
		chain = append(chain, src)
	}

	fmt.Fprintln(w, "lineage, from this record back to its raw input:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STAGE\tRECORD\tTIME\tVALUE")
	for _, r := range chain {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", wroteBy(r), idOf(r), r.Timestamp.UTC().Format(tsLayout), t.excerpt(r))
	}
	if missing != nil {
		reason := "cannot be read"
		var gone recordGoneError
		var topicGone topicGoneError
		switch {
		case errors.As(stopErr, &gone):
			reason = "gone: deleted by retention"
		case errors.As(stopErr, &topicGone):
			reason = "gone: its topic was deleted"
		}
		fmt.Fprintf(tw, "  ?\t%s\t?\t(%s)\n", missing.src, reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	last := chain[len(chain)-1]
	switch {
	case missing != nil:
		return fmt.Errorf("lineage stops after %s: %s (written by stage %s) points at %s: %w",
			plural(len(chain)-1, "hop"), idOf(last), wroteBy(last), missing.src, stopErr)
	case stopErr != nil:
		return fmt.Errorf("lineage stops after %s: %w", plural(len(chain)-1, "hop"), stopErr)
	case len(chain) == 1:
		fmt.Fprintf(w, "%s has no lineage headers: it is a raw input, written by no stage.\n", idOf(last))
	default:
		fmt.Fprintf(w, "%s has no lineage headers: it is the raw input, %s back.\n", idOf(last), plural(len(chain)-1, "hop"))
	}
	return nil
}

// forward prints what rec became downstream, stage by stage.
func (t *tracer) forward(w io.Writer, p *config.Pipeline, rec *kgo.Record, within time.Duration) error {
	fmt.Fprintf(w, "downstream, outputs up to %s after its event time:\n", shortDuration(within))
	fmt.Fprintf(w, "  %s  %s\n", idOf(rec), t.excerpt(rec))
	f := &forwarder{tracer: t, w: w, p: p, within: within, seen: map[recordID]bool{idOf(rec): true}}
	f.from(rec, 1)
	return f.err
}

// shortDuration writes d as time.Duration does, minus zero units at the
// end: 1h, 1h30m, 45s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

type forwarder struct {
	*tracer
	w      io.Writer
	p      *config.Pipeline
	within time.Duration
	seen   map[recordID]bool
	err    error // the first error met; the walk goes on past it
}

func (f *forwarder) from(rec *kgo.Record, depth int) {
	indent := strings.Repeat("  ", depth+1)
	var readers []*config.Stage
	for i := range f.p.Stages {
		if f.p.Stages[i].Input == rec.Topic {
			readers = append(readers, &f.p.Stages[i])
		}
	}
	if len(readers) == 0 && depth == 1 {
		fmt.Fprintf(f.w, "%sno stage of %s reads %s: nothing downstream\n", indent, f.p.File, rec.Topic)
	}
	if depth > len(f.p.Stages)+1 {
		return
	}
	for _, st := range readers {
		var topics []string
		for _, e := range stageEdges(st) {
			if !traceHas(topics, e.Topic) {
				topics = append(topics, e.Topic)
			}
		}
		src := idOf(rec)
		found, scanned, err := f.scan(topics, rec.Timestamp, func(r *kgo.Record) bool {
			ref, ok, err := recordLineage(r)
			return err == nil && ok && ref.stage == st.Name && ref.src == src
		})
		if err != nil {
			if f.ctx.Err() != nil {
				f.err = f.ctx.Err()
				return
			}
			fmt.Fprintf(f.w, "%s%s: %v\n", indent, st.Name, err)
			if f.err == nil {
				f.err = fmt.Errorf("stage %s: %w", st.Name, err)
			}
			continue
		}
		if len(found) == 0 {
			fmt.Fprintf(f.w, "%s%s: nothing in %s (%s scanned)%s\n", indent, st.Name, strings.Join(topics, ", "),
				plural(scanned, "record"), f.progress(st, rec))
			continue
		}
		for _, r := range found {
			f.decode(r)
			line := fmt.Sprintf("%s%s -> %s  %s  %s", indent, st.Name, idOf(r), r.Timestamp.UTC().Format(tsLayout), f.excerpt(r))
			if reason, dead := lastHeader(r, stream.HeaderError); dead {
				line += "  (dlq: " + lineExcerpt([]byte(reason), traceExcerpt) + ")"
			}
			fmt.Fprintln(f.w, line)
			if !f.seen[idOf(r)] {
				f.seen[idOf(r)] = true
				f.from(r, depth+1)
			}
		}
	}
}

func traceHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// progress says whether st has processed rec, judged by its group's
// committed offset on rec's partition.
func (f *forwarder) progress(st *config.Stage, rec *kgo.Record) string {
	var offs kadm.OffsetResponses
	err := retryRetriable(f.ctx, 15*time.Second, func() error {
		var err error
		offs, err = f.adm.FetchOffsetsForTopics(f.ctx, st.Group, rec.Topic)
		return err
	})
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return ""
	}
	c, ok := offs.Lookup(rec.Topic, rec.Partition)
	switch {
	case !ok || c.Err != nil || c.At < 0:
		return fmt.Sprintf("; not processed yet: group %s never committed on %s/%d", st.Group, rec.Topic, rec.Partition)
	case c.At <= rec.Offset:
		return fmt.Sprintf("; not processed yet: group %s committed %s/%d up to %d", st.Group, rec.Topic, rec.Partition, c.At)
	}
	return fmt.Sprintf("; processed (group %s committed %s/%d up to %d): the node produced nothing for it, or its outputs are beyond --within", st.Group, rec.Topic, rec.Partition, c.At)
}

// scan reads topics from the first record at or after the event time from
// to the end each partition has now, or to the first record more than
// f.within after from, and returns the records match accepts, by topic (in
// the order given), partition and offset.
func (f *forwarder) scan(topics []string, from time.Time, match func(*kgo.Record) bool) (found []*kgo.Record, scanned int, err error) {
	for _, topic := range topics {
		if _, err := lookupTopic(f.ctx, f.adm, topic, f.cfgPath, -1); err != nil {
			return nil, 0, err
		}
	}
	fromMs, toMs := from.UnixMilli(), from.Add(f.within).UnixMilli()
	starts, err := f.adm.ListOffsetsAfterMilli(f.ctx, fromMs, topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("list offsets by time of %s: %w", strings.Join(topics, ", "), err)
	}
	ends, err := f.adm.ListCommittedOffsets(f.ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("list end offsets of %s: %w", strings.Join(topics, ", "), err)
	}
	type tp struct {
		topic string
		part  int32
	}
	assign := map[string]map[int32]kgo.Offset{}
	pending := map[tp]int64{} // partition -> end offset
	ends.Each(func(e kadm.ListedOffset) {
		s, ok := starts.Lookup(e.Topic, e.Partition)
		if !ok || s.Offset < 0 || s.Offset >= e.Offset {
			return
		}
		if assign[e.Topic] == nil {
			assign[e.Topic] = map[int32]kgo.Offset{}
		}
		assign[e.Topic][e.Partition] = kgo.NewOffset().At(s.Offset)
		pending[tp{e.Topic, e.Partition}] = e.Offset
	})
	if len(pending) == 0 {
		return nil, 0, nil
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(f.seeds...),
		kgo.ConsumePartitions(assign),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	}, f.opts...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(f.ctx, traceScanTimeout)
	defer cancel()
	done := func(k tp) {
		delete(pending, k)
		cl.PauseFetchPartitions(map[string][]int32{k.topic: {k.part}})
	}
	for len(pending) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			if f.ctx.Err() != nil {
				return nil, scanned, f.ctx.Err()
			}
			return found, scanned, fmt.Errorf("scanning %s took over %s; stopped after %s", strings.Join(topics, ", "), traceScanTimeout, plural(scanned, "record"))
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if ferr == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				ferr = fmt.Errorf("read %s/%d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return found, scanned, ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			k := tp{r.Topic, r.Partition}
			end, ok := pending[k]
			switch {
			case !ok:
				return
			case r.Offset >= end:
				done(k)
				return
			}
			if !r.Attrs.IsControl() {
				if r.Timestamp.UnixMilli() > toMs {
					done(k)
					return
				}
				scanned++
				if match(r) {
					found = append(found, r)
				}
			}
			if r.Offset+1 >= end {
				done(k)
			}
		})
	}
	order := map[string]int{}
	for i, t := range topics {
		order[t] = i
	}
	sort.Slice(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if a.Topic != b.Topic {
			return order[a.Topic] < order[b.Topic]
		}
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		return a.Offset < b.Offset
	})
	return found, scanned, nil
}
