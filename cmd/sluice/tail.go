package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type tailOpts struct {
	brokers   string
	cfgPath   string
	from      string
	format    string
	count     int
	follow    bool
	partition int32
}

func newTailCmd() *cobra.Command {
	var o tailOpts
	c := &cobra.Command{
		Use:   "tail TOPIC",
		Short: "Print the records of a topic",
		Long: `Print the records of TOPIC. tail joins no consumer group and commits
nothing, so it never disturbs the stages reading the topic. It reads with
read_committed isolation: records of aborted or still-open transactions are
not shown.

Without -f it prints the records present when it starts (from the earliest,
or with --from latest none) and exits; an empty topic exits at once. With -f
it keeps printing new records until Ctrl-C. -n N stops after N records.

Formats (--format):
  pretty  partition/offset, time, key and value on one line, headers
          indented below; the default on a terminal
  json    one JSON object per line, the default when stdout is not a
          terminal:
            {"topic":"t","partition":0,"offset":7,
             "timestamp":"2025-01-02T15:04:05.000Z","key":"s-1",
             "value":"{\"temp\":21}","headers":{"source":"manual"}}
          key and value are null when absent; of a header key used twice
          the last value is kept. When the key, the value or a
          header value is not valid UTF-8, all three are base64 (standard,
          padded) and the object has "encoding":"base64".
  value   the raw value of each record followed by a newline`,
		Example: `  sluice tail events.clean
  sluice tail events.clean -n 10 --format value
  sluice tail events.clean -f --from latest
  sluice tail events.parsed --partition 2 --format json | jq .value`,
		Args: topicArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTail(cmd, args[0], &o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.from, "from", "earliest", `where to start in each partition: "earliest" (the oldest record kept) or "latest" (only records produced from now on; useful with -f)`)
	f.IntVarP(&o.count, "count", "n", 0, "stop after printing this many records (0: no limit)")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep printing new records until Ctrl-C instead of stopping at the end of the topic")
	f.Int32Var(&o.partition, "partition", -1, "read only this partition; -1 reads them all")
	f.StringVar(&o.format, "format", "", `output format: "pretty", "json" or "value" (default pretty on a terminal, json otherwise)`)
	addConfigFlag(c, &o.cfgPath, false)
	addBrokersFlag(c, &o.brokers)
	return c
}

func runTail(cmd *cobra.Command, topic string, o *tailOpts) error {
	ctx := cmd.Context()
	var start kgo.Offset
	switch o.from {
	case "earliest":
		start = kgo.NewOffset().AtStart()
	case "latest":
		start = kgo.NewOffset().AtEnd()
	default:
		return usageError{fmt.Errorf(`--from %q: want "earliest" or "latest"`, o.from)}
	}
	out := cmd.OutOrStdout()
	format := o.format
	if format == "" {
		format = "json"
		if isTerminal(out) {
			format = "pretty"
		}
	}
	var write func(w *bufio.Writer, r *kgo.Record) error
	switch format {
	case "pretty":
		write = writePretty
	case "json":
		write = writeJSON
	case "value":
		write = writeValue
	default:
		return usageError{fmt.Errorf(`--format %q: want "pretty", "json" or "value"`, format)}
	}
	if o.count < 0 {
		return usageError{fmt.Errorf("-n must be 0 (no limit) or more, got %d", o.count)}
	}
	if o.partition < -1 {
		return usageError{fmt.Errorf("--partition must be 0 or more, got %d", o.partition)}
	}

	p, err := loadPipeline(o.cfgPath)
	if err != nil {
		return err
	}
	consume := kgo.ConsumeTopics(topic)
	if o.partition >= 0 {
		consume = kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {o.partition: start}})
	}
	cl, err := connect(ctx, o.brokers, p,
		consume,
		kgo.ConsumeResetOffset(start),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers tell how far a partition has been read
		// when its last records are markers; they are not printed.
		kgo.KeepControlRecords(),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := lookupTopic(ctx, adm, topic, o.cfgPath, o.partition); err != nil {
		return err
	}

	// Without -f, stop at the end each partition had at the start. With
	// read_committed that end is the last stable offset.
	var ends map[int32]int64 // partition -> offset to stop before
	pending := map[int32]bool{}
	if !o.follow {
		ends, err = tailEnds(ctx, adm, topic)
		if err != nil {
			return err
		}
		if o.from == "earliest" {
			starts, err := adm.ListStartOffsets(ctx, topic)
			if err != nil {
				return listOffsetsErr(ctx, topic, err)
			}
			for part, end := range ends {
				lo, ok := starts.Lookup(topic, part)
				if (o.partition < 0 || part == o.partition) && (!ok || lo.Err != nil || lo.Offset < end) {
					pending[part] = true
				}
			}
		}
		if len(pending) == 0 {
			return nil
		}
	}

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
			if !o.follow {
				end, ok := ends[r.Partition]
				if !ok || r.Offset >= end {
					continue // produced after we started
				}
				if r.Offset+1 >= end {
					delete(pending, r.Partition)
				}
			}
			if r.Attrs.IsControl() {
				continue
			}
			if err := write(w, r); err != nil {
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
		if !o.follow && len(pending) == 0 {
			return nil
		}
	}
}

// tailEnds lists the last stable offset of every partition of topic.
func tailEnds(ctx context.Context, adm *kadm.Client, topic string) (map[int32]int64, error) {
	los, err := adm.ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = los.Error()
	}
	if err != nil {
		return nil, listOffsetsErr(ctx, topic, err)
	}
	ends := map[int32]int64{}
	for part, lo := range los[topic] {
		ends[part] = lo.Offset
	}
	return ends, nil
}

func listOffsetsErr(ctx context.Context, topic string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("list offsets of %q: %w", topic, err)
}

// isTerminal reports whether w is a terminal (character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

const tsLayout = "2006-01-02T15:04:05.000Z07:00"

// tailRecord is the envelope of --format json.
type tailRecord struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Timestamp string            `json:"timestamp"`
	Key       *string           `json:"key"`
	Value     *string           `json:"value"`
	Headers   map[string]string `json:"headers"`
	Encoding  string            `json:"encoding,omitempty"`
}

func writeJSON(w *bufio.Writer, r *kgo.Record) error {
	text := utf8.Valid(r.Key) && utf8.Valid(r.Value)
	for _, h := range r.Headers {
		text = text && utf8.Valid(h.Value)
	}
	enc := func(b []byte) string {
		if text {
			return string(b)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	opt := func(b []byte) *string {
		if b == nil {
			return nil
		}
		s := enc(b)
		return &s
	}
	tr := tailRecord{
		Topic:     r.Topic,
		Partition: r.Partition,
		Offset:    r.Offset,
		Timestamp: r.Timestamp.UTC().Format(tsLayout),
		Key:       opt(r.Key),
		Value:     opt(r.Value),
		Headers:   make(map[string]string, len(r.Headers)),
	}
	for _, h := range r.Headers {
		tr.Headers[h.Key] = enc(h.Value)
	}
	if !text {
		tr.Encoding = "base64"
	}
	je := json.NewEncoder(w)
	je.SetEscapeHTML(false)
	return je.Encode(tr) // Encode ends the object with a newline
}

func writePretty(w *bufio.Writer, r *kgo.Record) error {
	show := func(b []byte) string {
		if b == nil {
			return "-"
		}
		if !utf8.Valid(b) {
			return "base64:" + base64.StdEncoding.EncodeToString(b)
		}
		return string(b)
	}
	fmt.Fprintf(w, "%d/%d  %s  %s  %s\n", r.Partition, r.Offset, r.Timestamp.Format(tsLayout), show(r.Key), show(r.Value))
	for _, h := range r.Headers {
		fmt.Fprintf(w, "    %s: %s\n", h.Key, show(h.Value))
	}
	return nil
}

func writeValue(w *bufio.Writer, r *kgo.Record) error {
	w.Write(r.Value)
	return w.WriteByte('\n')
}
