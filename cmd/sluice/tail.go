package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type tailOpts struct {
	brokers         string
	cfgPath         string
	from            string
	format          string
	count           int
	follow          bool
	partition       int32
	noColor         bool
	readUncommitted bool
	key             string
	headers         []string
	where           []string
}

func newTailCmd() *cobra.Command {
	var o tailOpts
	c := &cobra.Command{
		Use:   "tail TOPIC...",
		Short: "Print the records of one or more topics",
		Long: `Print the records of the TOPICs. tail joins no consumer group and commits
nothing, so it never disturbs the stages reading the topics. It reads with
read_committed isolation: records of aborted or still-open transactions are
not shown (--read-uncommitted shows them).

Without -f it prints the records present when it starts and exits; an empty
topic exits at once. With -f it keeps printing new records until Ctrl-C.
-n N stops after N printed records (counted after the filters).

Where to start in each partition (--from; default earliest, or latest with -f):
  earliest   the oldest record kept
  latest     the end: only records produced from now on (useful with -f)
  42         offset 42 of every partition (or its first record kept, if
             later; or its end, if 42 is past it)
  -10        the last 10 offsets of every partition (a transactional
             topic shows fewer records: its commit markers take offsets)
  @TIME      the first record at or after TIME, and all after it:
             @2024-05-01T12:00:00Z, @-1h (an hour ago), @2024-05-01
             (midnight UTC), @1714564800000 (Unix milliseconds)
  @T1:T2     only records with timestamps in [T1, T2), e.g. @-2h:-1h. It
             starts at T1's offsets, stops each partition at T2's (its
             first record at or after T2), and drops the records in between
             whose out-of-order timestamps fall outside the range. With -f
             it waits for the partitions that have not reached T2 yet, and
             exits when all have.

Filters (a record is printed when it passes all of them):
  --key K        the key is exactly K
  --header k=v   a header k has the value v; --header k: a header k is
                 present. Repeatable.
  --where f=v    the value is JSON and its field f has the text v: f is a
                 top-level field or a dotted path (source.topic, items.0.id);
                 strings compare without their quotes, numbers also by value
                 (score=1 matches 1.0), and true, false, null as written.
                 --where f!=v: the field is absent or has another text.
                 Repeatable.

Formats (--format):
  pretty    time, partition/offset (topic/partition/offset with several
            topics), key and value on one line, headers indented below; "-"
            for an absent key or value. The default on a terminal, where it
            is coloured (--no-color or the NO_COLOR variable turns that off).
  json      one JSON object per line, the default when stdout is not a
            terminal:
              {"topic":"t","partition":0,"offset":7,
               "timestamp":"2025-01-02T15:04:05.000Z","key":"s-1",
               "value":"{\"temp\":21}","headers":{"source":"manual"}}
            key and value are null when absent; of a header key used twice
            the last value is kept. When the key, the value or a header
            value is not valid UTF-8, all three are base64 (standard,
            padded) and the object has "encoding":"base64".
  value     the raw value of each record followed by a newline
  TEMPLATE  any format containing %, with
              %t topic       %p partition   %o offset
              %k key         %v value       (raw bytes; absent: nothing)
              %h headers as k=v,k=v         %T timestamp (RFC 3339, ms, UTC)
              %% a percent sign, \n a newline, \t a tab, \\ a backslash
            Each record ends with a newline unless the template ends with \n.

--config FILE takes the brokers (and TLS, SASL) from the pipeline file and
decodes each value with its topic's format there: an Avro topic's records
(single-object or Confluent wire form, any of the topic's schema versions)
are shown as JSON, in every format and for --where; a JSON topic's as they
are; the pretty format re-prints JSON compactly on one line
({"sensor_id": "alpha", "value": 24.5}). A DLQ record is decoded with the
format of the topic it failed in (its sluice.source.topic header) when it
can be. A value that does not decode is shown as stored, with the reason:
on a line "! not decoded: ..." below it (pretty), in an "error" member
(json), or on stderr (value and templates); tail goes on, and at the end
says how many did not decode. Without --config values are shown as
stored: Avro is binary (base64 in the pretty and json formats).`,
		Example: `  sluice tail alerts -f
  sluice tail events.scored --where prediction=critical -n 5
  sluice tail events.scored --from @-1h:-30m --format '%T %k %v'
  sluice tail events.clean --from -3 --partition 2
  sluice tail events.scored --key alpha --from -5
  sluice tail events.scored --header sluice.stage=classify --where prediction!=normal
  sluice tail ingest.dlq filter.dlq --format '%t %o %h\n    %v\n'
  sluice tail events.scored --config config/examples/sensors.yaml --format pretty
  sluice tail events.scored --config config/examples/sensors-avro.yaml --where prediction=critical
  sluice tail events.parsed --format json | jq .value`,
		Args: topicsArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTail(cmd, args, &o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.from, "from", "", `where to start in each partition: earliest, latest, an offset (42), -N (the last N), @TIME or @T1:T2 (see above; default earliest, latest with -f)`)
	f.IntVarP(&o.count, "count", "n", 0, "stop after printing this many records (0: no limit)")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep printing new records until Ctrl-C instead of stopping at the end of the topics")
	f.Int32Var(&o.partition, "partition", -1, "read only this partition (of every topic); -1 reads them all")
	f.StringVar(&o.format, "format", "", `output format: pretty, json, value, or a template such as '%p/%o %k %v' (default pretty on a terminal, json otherwise)`)
	f.BoolVar(&o.noColor, "no-color", false, "no colours in the pretty format (also when NO_COLOR is set)")
	f.BoolVar(&o.readUncommitted, "read-uncommitted", false, "also show records of aborted and still-open transactions")
	f.StringVar(&o.key, "key", "", "print only records whose key is exactly this")
	f.StringArrayVar(&o.headers, "header", nil, "print only records with this header: k=v, or k for any value (repeatable; all must match)")
	f.StringArrayVar(&o.where, "where", nil, "print only records whose JSON value has field=value or field!=value, e.g. prediction=critical, source.topic=x (repeatable; all must match)")
	c.Flags().StringVarP(&o.cfgPath, "config", "c", "", "pipeline file (YAML); optional: its kafka section (brokers, TLS, SASL), and values decoded with their topic's format (Avro shown as JSON)")
	addBrokersFlag(c, &o.brokers)
	return c
}

// topicsArg requires one or more non-empty topic arguments.
func topicsArg(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return topicArg(cmd, args)
	}
	for _, a := range args {
		if a == "" {
			return topicArg(cmd, []string{""})
		}
	}
	return nil
}

func runTail(cmd *cobra.Command, args []string, o *tailOpts) error {
	ctx := cmd.Context()
	from, err := parseFrom(o.from, o.follow, time.Now())
	if err != nil {
		return usageError{err}
	}
	out := cmd.OutOrStdout()
	format := o.format
	if format == "" {
		format = "json"
		if isTerminal(out) {
			format = "pretty"
		}
	}
	printer, err := newTailPrinter(format)
	if err != nil {
		return usageError{err}
	}
	printer.color = colorWanted(isTerminal(out), o.noColor, os.Getenv("NO_COLOR"))
	printer.decode = o.cfgPath != ""
	if o.count < 0 {
		return usageError{fmt.Errorf("-n must be 0 (no limit) or more, got %d", o.count)}
	}
	if o.partition < -1 {
		return usageError{fmt.Errorf("--partition must be 0 or more, got %d", o.partition)}
	}
	var filter tailFilter
	if cmd.Flags().Changed("key") {
		filter.key = &o.key
	}
	for _, h := range o.headers {
		m, err := parseHeaderMatch(h)
		if err != nil {
			return usageError{err}
		}
		filter.headers = append(filter.headers, m)
	}
	for _, w := range o.where {
		m, err := parseWhere(w)
		if err != nil {
			return usageError{err}
		}
		filter.where = append(filter.where, m)
	}
	var topics []string
	seen := map[string]bool{}
	for _, t := range args {
		if !seen[t] {
			seen[t] = true
			topics = append(topics, t)
		}
	}
	printer.showTopic = len(topics) > 1

	p, err := loadPipeline(o.cfgPath)
	if err != nil {
		return err
	}
	var dec *tailDecoder
	if p != nil {
		// No Prepare: a reader registers nothing; a Confluent-wire value's
		// schema is asked from the registry by its id when first met.
		codecs, err := loadCodecs(p)
		if err != nil {
			return err
		}
		dec = &tailDecoder{codecs: codecs}
		defer func() {
			if dec.failed > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "sluice tail: %s did not decode (shown as stored)\n", plural(dec.failed, "record"))
			}
		}()
	}
	committed := !o.readUncommitted
	// The admin client: the consuming client needs the start offsets.
	adminCl, err := connect(ctx, o.brokers, p)
	if err != nil {
		return err
	}
	defer adminCl.Close()
	adm := kadm.NewClient(adminCl)
	parts := map[string][]int32{}
	for _, topic := range topics {
		td, err := lookupTopic(ctx, adm, topic, o.cfgPath, o.partition)
		if err != nil {
			return err
		}
		if o.partition >= 0 {
			parts[topic] = []int32{o.partition}
			continue
		}
		for part := range td.Partitions {
			parts[topic] = append(parts[topic], part)
		}
	}

	// Without -f, stop at the end each partition had at the start. With
	// read_committed that end is the last stable offset.
	plan, err := planTail(ctx, adm, parts, from, o.follow, committed)
	if err != nil {
		return err
	}
	// bounded: tail ends once every partition has reached its stop (or,
	// with a time range, a record past it); otherwise only Ctrl-C or -n
	// end it.
	bounded := !o.follow || from.hasEnd()
	pending := map[tailPart]bool{}
	consume := map[string]map[int32]kgo.Offset{}
	for k, start := range plan.start {
		if stop, ok := plan.stop[k]; ok && start >= stop {
			continue
		}
		pending[k] = true
		if consume[k.topic] == nil {
			consume[k.topic] = map[int32]kgo.Offset{}
		}
		consume[k.topic][k.part] = kgo.NewOffset().At(start)
	}
	if len(pending) == 0 {
		return nil
	}

	opts := []kgo.Opt{
		kgo.ConsumePartitions(consume),
		// Transaction markers tell how far a partition has been read
		// when its last records are markers; they are not printed.
		kgo.KeepControlRecords(),
	}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := connect(ctx, o.brokers, p, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	w := bufio.NewWriter(out)
	printed := 0
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return w.Flush() // Ctrl-C is how -f ends: a clean exit
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			var loss *kgo.ErrDataLoss
			switch {
			case errors.Is(err, context.Canceled):
			case errors.As(err, &loss):
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v\n", err)
			case ferr == nil:
				ferr = fmt.Errorf("read %s partition %d: %w", t, p, err)
			}
		})
		if ferr != nil {
			w.Flush()
			return ferr
		}
		for it := fetches.RecordIter(); !it.Done(); {
			r := it.Next()
			k := tailPart{r.Topic, r.Partition}
			if !pending[k] {
				continue // this partition is done
			}
			if stop, ok := plan.stop[k]; ok {
				if r.Offset >= stop {
					delete(pending, k) // produced after we started, or past the range
					continue
				}
				if r.Offset+1 >= stop {
					delete(pending, k)
				}
			}
			if r.Attrs.IsControl() {
				continue
			}
			if from.pastRange(r.Timestamp) {
				if _, ok := plan.stop[k]; !ok {
					// -f and T2 not reached when we started: the first
					// record at or after it ends the partition.
					delete(pending, k)
				}
				continue
			}
			if !from.inRange(r.Timestamp) {
				continue
			}
			derr := dec.decode(r) // before the filters: --where sees the JSON
			if !filter.match(r) {
				continue
			}
			if derr != nil && !printer.showsErrors() {
				w.Flush() // the warning after the records before it
				fmt.Fprintf(cmd.ErrOrStderr(), "sluice tail: %s/%d/%d: not decoded: %v\n", r.Topic, r.Partition, r.Offset, derr)
			}
			if err := printer.printDecoded(w, r, derr); err != nil {
				return err
			}
			printed++
			if o.count > 0 && printed >= o.count {
				return w.Flush()
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if bounded && len(pending) == 0 {
			return nil
		}
	}
}
