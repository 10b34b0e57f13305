package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/stream"
)

// maxLineBytes bounds one input line of produce (one record value).
const maxLineBytes = 16 << 20

// defaultMaxMessageBytes is Kafka's default max.message.bytes, used as the
// batch limit when the topic's own setting cannot be read.
const defaultMaxMessageBytes = 1000012

type produceOpts struct {
	brokers   string
	cfgPath   string
	file      string
	keyField  string
	key       string
	partition int32
	headers   []string
}

func newProduceCmd() *cobra.Command {
	var o produceOpts
	c := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Produce lines from stdin or a file as records",
		Long: `Produce one record per non-empty line read from stdin (or --file) to TOPIC.
The record value is the line without its trailing newline ("\n" or "\r\n");
lines may be up to 16 MiB, within the topic's max.message.bytes.

Keys: by default records have no key and are spread over the partitions.
--key-field NAME takes the key from the top-level field NAME of each line
read as a JSON object (a string is used as is, a number as written), so all
records of one sensor, user or order land on one partition, in order. A line
that is not a JSON object or lacks the field is produced with a null key; a
warning at the end counts them. --key gives every record the same key.

Records are produced with the idempotent producer and acks=all, so a
record is reported as produced only once every in-sync replica has it, and
retries never duplicate it. The topic must exist: produce never creates
topics (see "sluice topics create"). On success it prints
"produced N records to TOPIC" on stderr; if any record fails, it exits
non-zero with the first error.

--config FILE also encodes each line in the topic's format there: for an
Avro topic each line is a JSON object, written as Avro with the topic's
newest schema version (in its wire form); for a JSON topic each line must
be JSON. A line that does not fit stops produce before it is produced:
the lines before it are produced, that line and the ones after it are
not, and produce exits 1 naming the line and the field:

  line 3: topic "events.parsed": field ` + "`value`" + `: expected double, got string "hot"; produced 2 records from the lines before it, none from line 3 on

Without --config the lines are produced as they are, whatever the topic.`,
		Example: `  sluice produce events.parsed --file testdata/events/sample.jsonl
  echo '{"sensor_id":"s-1","temp":21.5}' | sluice produce events.parsed --key-field sensor_id
  sluice produce events.parsed --key s-1 --header source=manual < readings.jsonl
  sluice produce events.parsed --partition 0 --brokers kafka-1:9092 < readings.jsonl
  sluice produce events.parsed --config config/examples/sensors-avro.yaml --key-field sensor_id < readings.jsonl`,
		Args: topicArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProduce(cmd, args[0], &o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.file, "file", "", "read lines from this file instead of stdin")
	f.StringVar(&o.keyField, "key-field", "", "take each record's key from this top-level field of the line's JSON object, e.g. sensor_id")
	f.StringVar(&o.key, "key", "", "use this key for every record (an empty --key '' gives an empty, non-null key)")
	f.Int32Var(&o.partition, "partition", -1, "produce every record to this partition; -1 lets the key choose (a hash of the key; records without a key are spread evenly)")
	f.StringArrayVar(&o.headers, "header", nil, "add a record header key=value to every record; repeat for more headers")
	c.Flags().StringVarP(&o.cfgPath, "config", "c", "", "pipeline file (YAML); optional: its kafka section (brokers, TLS, SASL), and lines encoded in the topic's format there (an Avro topic gets Avro)")
	addBrokersFlag(c, &o.brokers)
	return c
}

func runProduce(cmd *cobra.Command, topic string, o *produceOpts) error {
	ctx := cmd.Context()
	fixedKey := cmd.Flags().Changed("key")
	if fixedKey && o.keyField != "" {
		return usageError{errors.New("--key and --key-field cannot be used together: --key gives every record one key, --key-field takes it from each line")}
	}
	if o.partition < -1 {
		return usageError{fmt.Errorf("--partition must be 0 or more, got %d", o.partition)}
	}
	headers, err := parseHeaders(o.headers)
	if err != nil {
		return err
	}

	in := cmd.InOrStdin()
	if o.file != "" {
		f, err := os.Open(o.file)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("open %s: %w", o.file, err)
		}
		defer f.Close()
		in = f
	}

	p, err := loadPipeline(o.cfgPath)
	if err != nil {
		return err
	}
	codecs, err := loadCodecs(p)
	if err != nil {
		return err
	}
	enc := codecs.For(topic)
	// Batches are bounded by the topic's max.message.bytes, learned once
	// the client is connected; kgo reads the limit through this function.
	var maxBatch atomic.Int32
	maxBatch.Store(defaultMaxMessageBytes)
	opts := []kgo.Opt{
		kgo.ProducerBatchMaxBytesFn(func(string) int32 { return maxBatch.Load() }),
	}
	if o.partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	cl, err := connect(ctx, o.brokers, p, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	_, err = lookupTopic(ctx, adm, topic, o.cfgPath, o.partition)
	if err != nil {
		return err
	}
	if n := stream.TopicMaxMessageBytes(ctx, adm, topic); n > 0 {
		maxBatch.Store(n)
	}
	if err := prepareCodecs(ctx, codecs, topic); err != nil {
		return err
	}

	var (
		mu       sync.Mutex
		firstErr error
		failed   atomic.Bool
		produced atomic.Int64
		sent     int
		noKey    int
		readErr  error
		badLine  error // a line that does not fit the topic's format
		badN     int   // its number
	)
	rctx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	lines := readLines(rctx, in)
read:
	for {
		var l line
		select {
		case <-ctx.Done():
			break read
		case next, ok := <-lines:
			if !ok {
				break read
			}
			l = next
		}
		if l.err != nil {
			readErr = l.err
			break
		}
		if len(bytes.TrimSpace(l.data)) == 0 {
			continue
		}
		value := l.data
		if typed(enc) {
			// Nothing of a line that does not fit is produced, nor of the
			// lines after it: the user fixes the input and produces the
			// rest (the lines before it are in the topic, in order).
			v, err := enc.Encode(l.data)
			if err != nil {
				badLine, badN = err, l.n
				break
			}
			value = v
		}
		r := &kgo.Record{Topic: topic, Value: value, Headers: headers}
		if o.partition >= 0 {
			r.Partition = o.partition
		}
		switch {
		case fixedKey:
			r.Key = []byte(o.key)
		case o.keyField != "":
			if k, ok := jsonKey(l.data, o.keyField); ok {
				r.Key = k
			} else {
				noKey++
			}
		}
		lineNo := l.n
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("line %d: %w", lineNo, err)
				}
				mu.Unlock()
				failed.Store(true)
				return
			}
			produced.Add(1)
		})
		sent++
		if failed.Load() {
			break
		}
	}
	flushErr := cl.Flush(ctx)

	errOut := cmd.ErrOrStderr()
	warnNoKey := func() {
		if noKey == 0 {
			return
		}
		had := "lines had"
		if noKey == 1 {
			had = "line had"
		}
		fmt.Fprintf(errOut, "%d %s no %q field; produced with a null key\n", noKey, had, o.keyField)
	}
	defer warnNoKey()
	n := produced.Load()
	mu.Lock()
	recErr := firstErr
	mu.Unlock()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: produced %s of %d to %s", plural(int(n), "record"), sent, topic)
	case recErr != nil:
		return fmt.Errorf("produce to %s failed at %v (produced %s of %d)", topic, recErr, plural(int(n), "record"), sent)
	case flushErr != nil:
		return fmt.Errorf("produce to %s: %v (produced %s of %d)", topic, flushErr, plural(int(n), "record"), sent)
	case readErr != nil:
		return fmt.Errorf("%v; stopped after producing %s to %s", readErr, plural(int(n), "record"), topic)
	case badLine != nil:
		return fmt.Errorf("line %d: %w; produced %s from the lines before it, none from line %d on", badN, badLine, plural(int(n), "record"), badN)
	}
	fmt.Fprintf(errOut, "produced %s to %s\n", plural(int(n), "record"), topic)
	return nil
}

// line is one input line, numbered from 1, or the error that ended input.
type line struct {
	data []byte
	n    int
	err  error
}

// readLines reads lines in the background so that Ctrl-C interrupts a
// produce waiting on a terminal. The channel closes at the end of input,
// after an error, or once ctx is done.
func readLines(ctx context.Context, in io.Reader) <-chan line {
	ch := make(chan line, 64)
	go func() {
		defer close(ch)
		r := bufio.NewReaderSize(in, 64<<10)
		for n := 1; ; n++ {
			data, err := readLine(r)
			if err == io.EOF {
				return
			}
			if errors.Is(err, errLineTooLong) {
				err = fmt.Errorf("line %d is longer than %d MiB", n, maxLineBytes>>20)
			} else if err != nil {
				err = fmt.Errorf("read line %d: %w", n, err)
			}
			select {
			case ch <- line{data: data, n: n, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its "\n" or "\r\n"; the last
// line need not end with a newline. It returns io.EOF when no bytes are
// left, and errLineTooLong without buffering more than maxLineBytes+2.
func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(buf)+len(frag) > maxLineBytes+2 {
			return nil, errLineTooLong
		}
		buf = append(buf, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(buf) > 0 {
			break
		}
		if err != nil {
			return nil, err
		}
		break
	}
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	if len(buf) > maxLineBytes {
		return nil, errLineTooLong
	}
	return buf, nil
}

// jsonKey returns the top-level field of line, a JSON object, as a key: a
// string's contents, or a number as written. ok is false when line is not
// a JSON object or the field is missing or of another type.
func jsonKey(line []byte, field string) (key []byte, ok bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(line, &obj) != nil {
		return nil, false
	}
	raw := obj[field]
	if len(raw) == 0 {
		return nil, false
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		return []byte(s), true
	case c == '-' || c >= '0' && c <= '9':
		return []byte(raw), true
	}
	return nil, false
}

// parseHeaders parses repeated --header key=value flags.
func parseHeaders(specs []string) ([]kgo.RecordHeader, error) {
	var hs []kgo.RecordHeader
	for _, s := range specs {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--header %q: want key=value, e.g. --header source=manual", s)}
		}
		hs = append(hs, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return hs, nil
}
