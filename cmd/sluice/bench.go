package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream"
	"github.com/sluicehq/sluice/stream/codec"
	"github.com/sluicehq/sluice/stream/embedded"
)

// benchFlags are the knobs of `sluice bench`.
type benchFlags struct {
	records    int
	size       int
	partitions int
	brokers    string
	node       string
	workers    int
	asJSON     bool
	cpuProfile string
	window     int
	depth      int
	batch      int
	adapters   string
	eos        bool
	codecs     string // --codec: json, avro or both, comma-separated
	schema     string // the Avro schema of the sensor events
	// The five-stage sensor pipeline's end-to-end latency row
	// (bench_latency.go): --latency, at latencyRate records/s for
	// latencyDuration.
	latency         bool
	latencyRate     int
	latencyDuration time.Duration
}

// benchNode is a passthrough node a stage row runs.
type benchNode struct {
	row     string
	command string
	args    []string
	env     map[string]string
	batch   int // batch.max_records for this row (0: the default)
	// exactlyOnce runs the row's stage with delivery: exactly-once.
	exactlyOnce bool
	// format, when set (json or avro), declares the row's input and
	// output topics in that format: the stage decodes and checks or
	// encodes every value (--codec).
	format string
}

// adapterBenchNodes are the conformance nodes of each language adapter
// (docs/conformance.md), which pass ordinary records through unchanged.
var adapterBenchNodes = map[string]benchNode{
	"go":     {"stage: Go adapter (conformance node)", "bin/conformance/go", nil, nil, 0, false, ""},
	"rust":   {"stage: Rust adapter (conformance node)", ".cache/cargo-target/release/conformance-node", nil, nil, 0, false, ""},
	"python": {"stage: Python adapter (conformance node)", ".cache/venv/bin/python", []string{"adapters/python/conformance_node.py"}, nil, 0, false, ""},
	"node":   {"stage: Node.js adapter (conformance node)", "node", []string{"adapters/node/conformance-node.js"}, nil, 0, false, ""},
	// Files mode pays a few processes per batch (jq, tar, ...): such nodes
	// are run with large batches, as a pipeline file would.
	"shell": {"stage: Shell adapter, files mode, batches of 10000 (conformance node)", "bash", []string{"adapters/shell/conformance-node.sh"}, nil, 10000, false, ""},
}

var adapterOrder = []string{"go", "rust", "python", "node", "shell"}

// benchRow is one line of the result table.
type benchRow struct {
	Name          string  `json:"name"`
	Records       int     `json:"records"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	Ratio         float64 `json:"ratio_to_ceiling"`
	ValueBytes    float64 `json:"value_bytes"` // mean value size of the row's input topic
	// P50Millis and P99Millis are per-record latencies where they mean
	// something (the fixed-rate pipeline row): 0 elsewhere.
	P50Millis float64 `json:"p50_ms,omitempty"`
	P99Millis float64 `json:"p99_ms,omitempty"`
	// PeakRSSMB is the stage process's peak resident memory (VmHWM);
	// CPUSeconds its CPU time (user + system), NodeCPUSeconds its node
	// co-processes'. 0: not measured.
	PeakRSSMB      float64 `json:"peak_rss_mb,omitempty"`
	CPUSeconds     float64 `json:"cpu_seconds,omitempty"`
	NodeCPUSeconds float64 `json:"node_cpu_seconds,omitempty"`
	// Aim is the aim for the row's ratio, and whether this run
	// met it: "≥ 0.7: met", "≥ 0.4: missed"; "" when there is none.
	Aim string `json:"aim,omitempty"`
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure a stage against the Kafka ceiling, in one run",
		Long: `Measure, in one run against the same broker, the ceiling — a plain franz-go
consumer-group loop that consumes and produces with the stage's client
settings — and a stage running a passthrough Go node (bin/nodes/filter with
SLUICE_FILTER_PASSTHROUGH=1), and print records/s and the ratio to the
ceiling. The ratio is what to compare across machines: both rows share the
machine's noise.

By default an in-memory embedded broker is started on a free port; pass
--brokers to measure against a real cluster (topics bench.* are created).

--codec avro measures typed topics: the records become sensor events
(JSON objects of --schema's fields, about 110 bytes; --size is ignored)
and a row runs the same passthrough stage with its input and output
topics in Avro (single-object encoding): the runtime decodes each input
for the node and encodes each output with the schema. --codec json adds
the row with both topics "format: json" (every value checked to be JSON);
--codec json,avro adds both. The rows without a codec carry the same
events as JSON, so the ratios compare like with like.`,
		Example: `  sluice bench
  sluice bench --records 2000000 --size 1024
  sluice bench --records 300000 --codec json,avro
  sluice bench --brokers 127.0.0.1:9092 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	c.Flags().IntVar(&f.records, "records", 1_000_000, "records per row")
	c.Flags().IntVar(&f.size, "size", 200, "value size in bytes")
	c.Flags().IntVar(&f.partitions, "partitions", 3, "partitions of the input topic")
	c.Flags().StringVar(&f.brokers, "brokers", "", "measure against these brokers instead of an embedded one")
	c.Flags().StringVar(&f.node, "node", "bin/nodes/filter", "the Go node to run in passthrough mode")
	c.Flags().IntVar(&f.workers, "workers", 1, "node co-processes of the stage")
	c.Flags().BoolVar(&f.asJSON, "json", false, "print JSON instead of a table")
	c.Flags().IntVar(&f.window, "window", 0, "the stage's window.records (0: the default)")
	c.Flags().IntVar(&f.depth, "window-batches", 0, "the stage's window.batches, batches in flight per node (0: the default)")
	c.Flags().IntVar(&f.batch, "batch", 0, "the stage's batch.max_records (0: the default)")
	c.Flags().StringVar(&f.adapters, "adapters", "", "also a passthrough row per language adapter: all, or a list such as go,rust,python,node,shell (run make build first)")
	c.Flags().BoolVar(&f.eos, "exactly-once", false, "also the Go passthrough stage with delivery: exactly-once (transactions), to compare with at-least-once")
	c.Flags().StringVar(&f.codecs, "codec", "", "also the passthrough stage with typed topics: avro, json, or json,avro (the records become sensor events)")
	c.Flags().StringVar(&f.schema, "schema", "testdata/schemas/sensor_event.avsc", "with --codec avro: the Avro schema of the sensor events")
	c.Flags().StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the stage row (the sluice side) to this file")
	return c
}

func runBench(ctx context.Context, out io.Writer, f benchFlags) error {
	if f.records <= 0 || f.size <= 0 || f.partitions <= 0 {
		return usageError{errors.New("--records, --size and --partitions must be positive")}
	}
	if _, err := os.Stat(f.node); err != nil {
		return fmt.Errorf("bench node %q: %w (run 'make build' first)", f.node, err)
	}
	if _, err := parseAdapters(f.adapters); err != nil {
		return err
	}
	formats, err := parseBenchCodecs(f.codecs)
	if err != nil {
		return err
	}
	var events *benchEvents
	if len(formats) > 0 {
		if events, err = newBenchEvents(f.schema); err != nil {
			return err
		}
	}
	brokers := []string{}
	where := f.brokers
	if f.brokers == "" {
		b, err := embedded.Start("127.0.0.1:0", "")
		if err != nil {
			return err
		}
		defer b.Close()
		brokers = []string{b.Addr}
		where = "embedded broker (kfake, in memory)"
	} else {
		brokers = strings.Split(f.brokers, ",")
	}
	cl, err := newClient(ctx, brokers, kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	in := "bench.in." + run
	for _, t := range []struct {
		name string
		p    int
	}{{in, f.partitions}, {"bench.ceiling." + run, f.partitions}, {"bench.dlq." + run, 1}} {
		if _, err := adm.CreateTopic(ctx, int32(t.p), -1, nil, t.name); err != nil {
			return fmt.Errorf("creating %s: %w", t.name, err)
		}
	}
	jsonBytes := float64(f.size)
	if events == nil {
		fmt.Fprintf(os.Stderr, "bench: producing %d records of %d bytes to %s on %s\n", f.records, f.size, in, where)
		if err := fillTopic(ctx, cl, in, f.records, f.size); err != nil {
			return err
		}
	} else {
		jsonBytes = events.meanSize(events.json)
		fmt.Fprintf(os.Stderr, "bench: producing %d sensor events (JSON, %.0f bytes on average) to %s on %s\n", f.records, jsonBytes, in, where)
		if err := fillEvents(ctx, cl, in, f.records, events.json); err != nil {
			return err
		}
	}
	inAvro := "bench.in.avro." + run
	if slices.Contains(formats, config.FormatAvro) {
		if _, err := adm.CreateTopic(ctx, int32(f.partitions), -1, nil, inAvro); err != nil {
			return fmt.Errorf("creating %s: %w", inAvro, err)
		}
		fmt.Fprintf(os.Stderr, "bench: producing the same events in Avro (single-object, %.0f bytes on average) to %s\n", events.meanSize(events.avro), inAvro)
		if err := fillEvents(ctx, cl, inAvro, f.records, events.avro); err != nil {
			return err
		}
	}

	fmt.Fprintln(os.Stderr, "bench: ceiling (franz-go consume -> produce loop)")
	ceil, err := benchCeiling(ctx, brokers, in, "bench.ceiling."+run, f.records)
	if err != nil {
		return err
	}
	nodes := []benchNode{{fmt.Sprintf("stage: Go passthrough node (filter, %d worker)", f.workers), f.node, nil,
		map[string]string{"SLUICE_FILTER_PASSTHROUGH": "1"}, 0, false, ""}}
	extra, err := parseAdapters(f.adapters)
	if err != nil {
		return err
	}
	if f.eos {
		eos := nodes[0]
		eos.row = fmt.Sprintf("stage: Go passthrough node (filter, %d worker), exactly-once", f.workers)
		eos.exactlyOnce = true
		nodes = append(nodes, eos)
	}
	for _, format := range formats {
		typed := nodes[0]
		typed.row = fmt.Sprintf("stage: Go passthrough node (filter, %d worker), %s topics", f.workers, benchFormatName[format])
		typed.format = format
		nodes = append(nodes, typed)
	}
	nodes = append(nodes, extra...)
	rows := []benchRow{makeRow("ceiling: franz-go consume→produce", f, ceil, ceil, jsonBytes)}
	for i, n := range nodes {
		fmt.Fprintf(os.Stderr, "bench: %s\n", n.row)
		out := fmt.Sprintf("bench.stage%d.%s", i, run)
		if _, err := adm.CreateTopic(ctx, int32(f.partitions), -1, nil, out); err != nil {
			return fmt.Errorf("creating %s: %w", out, err)
		}
		input, size := in, jsonBytes
		var codecs *codec.Set
		if n.format != "" {
			if n.format == config.FormatAvro {
				input, size = inAvro, events.meanSize(events.avro)
			}
			if codecs, err = benchCodecs(n.format, f.schema, input, out); err != nil {
				return err
			}
		}
		secs, err := benchStage(ctx, brokers, input, out, "bench.dlq."+run, n, f, i == 0, codecs)
		if err != nil {
			return fmt.Errorf("%s: %w", n.row, err)
		}
		rows = append(rows, makeRow(n.row, f, secs, ceil, size))
	}
	if f.asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"records": f.records, "size": f.size, "partitions": f.partitions, "broker": where,
			"cpus": runtime.NumCPU(), "rows": rows})
	}
	if events == nil {
		fmt.Fprintf(out, "%d records of %d bytes, %d partitions, %s, %d CPUs\n\n", f.records, f.size, f.partitions, where, runtime.NumCPU())
	} else {
		fmt.Fprintf(out, "%d sensor events (JSON %.0f bytes, Avro single-object %.0f bytes on average), %d partitions, %s, %d CPUs; MB/s of the row's input values\n\n",
			f.records, jsonBytes, events.meanSize(events.avro), f.partitions, where, runtime.NumCPU())
	}
	fmt.Fprintln(out, "| row | records/s | MB/s | seconds | ratio to ceiling |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(out, "| %s | %.0f | %.1f | %.2f | %.2f |\n", r.Name, r.RecordsPerSec, r.MBPerSec, r.Seconds, r.Ratio)
	}
	return nil
}

func makeRow(name string, f benchFlags, secs, ceiling, valueBytes float64) benchRow {
	rps := float64(f.records) / secs
	return benchRow{Name: name, Records: f.records, Seconds: secs, RecordsPerSec: rps,
		MBPerSec: rps * valueBytes / 1e6, Ratio: ceiling / secs, ValueBytes: valueBytes}
}

// fillTopic produces n records of size bytes, keyed over 1000 keys.
func fillTopic(ctx context.Context, cl *kgo.Client, topic string, n, size int) error {
	val := make([]byte, size)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "sensor-%03d", i%1000), Value: val}, func(_ *kgo.Record, err error) {
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return fmt.Errorf("filling %s: %w", topic, err)
	}
	return nil
}

// benchCeiling is the plain loop a stage competes with: a consumer group
// polling, producing each record (idempotent, acks=all, same linger), and
// committing. It returns the seconds until every output was acknowledged.
func benchCeiling(ctx context.Context, brokers []string, in, out string, n int) (float64, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumerGroup("bench-ceiling-"+out),
		kgo.ConsumeTopics(in),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(20000),
	)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	start := time.Now()
	var acked atomic.Int64
	var firstErr atomic.Value
	done := make(chan struct{})
	consumed := 0
	for consumed < n {
		fs := cl.PollRecords(ctx, 10000)
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		fs.EachRecord(func(r *kgo.Record) {
			consumed++
			cl.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: r.Value, Headers: r.Headers}, func(_ *kgo.Record, err error) {
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				if acked.Add(1) == int64(n) {
					close(done)
				}
			})
		})
		cl.CommitUncommittedOffsets(ctx)
	}
	<-done
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}

// benchStage runs the stage runtime with the passthrough node until every
// output is acknowledged and returns the seconds it took.
func benchStage(ctx context.Context, brokers []string, in, out, dlq string, n benchNode, f benchFlags, profile bool, codecs *codec.Set) (float64, error) {
	st := config.DefaultStage("bench", "passthrough")
	st.Input, st.DLQ, st.Group = in, dlq, "bench-stage-"+out
	st.Outputs = map[string]string{"default": out}
	st.Node.Command = n.command
	if strings.Contains(n.command, "/") {
		st.Node.Command, _ = filepath.Abs(n.command)
	}
	st.Node.Args = n.args
	st.Node.Env = n.env
	st.Workers = f.workers
	if n.exactlyOnce {
		st.Delivery = config.DeliveryExactlyOnce
	}
	if f.window > 0 {
		st.Window.Records = f.window
	}
	if f.depth > 0 {
		st.Window.Batches = f.depth
	}
	if f.batch > 0 {
		st.Batch.MaxRecords = f.batch
		st.Window.Records = max(st.Window.Records, f.batch)
	}
	if n.batch > 0 {
		st.Batch.MaxRecords = n.batch
		st.Batch.MaxBytes = max(st.Batch.MaxBytes, int64(n.batch)*int64(f.size+512))
		st.Window.Records = max(st.Window.Records, 4*n.batch)
		st.MaxFrame = max(st.MaxFrame, st.Batch.MaxBytes)
	}
	s, err := stream.New(stream.Options{Stage: st, Pipeline: "bench", Brokers: brokers, Codecs: codecs})
	if err != nil {
		return 0, err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if f.cpuProfile != "" && profile {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return 0, err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return 0, err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- s.Run(sctx) }()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for {
		select {
		case err := <-errc:
			if err == nil {
				err = errors.New("stage stopped early")
			}
			return 0, err
		case <-time.After(20 * time.Millisecond):
		}
		if n.format != "" {
			// A value the codecs refuse goes to the DLQ, and the row
			// would wait for its outputs forever.
			if err := benchDLQEmpty(ctx, adm, brokers, dlq); err != nil {
				return 0, err
			}
		}
		done, err := benchStageDone(ctx, adm, st, n.exactlyOnce, f.records)
		if err != nil {
			continue
		}
		if done {
			secs := time.Since(start).Seconds()
			cancel()
			if err := <-errc; err != nil {
				return 0, err
			}
			return secs, nil
		}
	}
}

// benchStageDone reports whether the stage's row is complete: every output
// written (at-least-once), or every input offset committed (exactly-once:
// the outputs commit in the same transactions, and transaction markers
// take offsets of the output topic, so its end offsets would overcount).
func benchStageDone(ctx context.Context, adm *kadm.Client, st config.Stage, exactlyOnce bool, records int) (bool, error) {
	if !exactlyOnce {
		ends, err := adm.ListEndOffsets(ctx, st.Outputs["default"])
		if err != nil {
			return false, err
		}
		var total int64
		ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
		return total >= int64(records), nil
	}
	offs, err := adm.FetchOffsets(ctx, st.Group)
	if err != nil {
		return false, err
	}
	var total int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == st.Input {
			total += o.At
		}
	})
	return total >= int64(records), nil
}

// parseAdapters turns --adapters into the nodes to measure, checking each
// is built.
func parseAdapters(list string) ([]benchNode, error) {
	if list == "" {
		return nil, nil
	}
	names := strings.Split(list, ",")
	if list == "all" {
		names = adapterOrder
	}
	var out []benchNode
	for _, name := range names {
		n, ok := adapterBenchNodes[strings.TrimSpace(name)]
		if !ok {
			return nil, usageError{fmt.Errorf("--adapters: unknown adapter %q (want all, or some of %s)", name, strings.Join(adapterOrder, ","))}
		}
		probe := n.command
		if len(n.args) > 0 {
			probe = n.args[0]
		}
		if _, err := os.Stat(probe); err != nil && strings.Contains(probe, "/") {
			return nil, fmt.Errorf("--adapters %s: %s not found (run 'make build' first)", name, probe)
		}
		out = append(out, n)
	}
	return out, nil
}
