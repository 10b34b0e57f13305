package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
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
	// all selects every row (make bench).
	all bool
	// windowOfOne adds the Go stage one record at a time, on fewRecords
	// records (also the Shell row's count).
	windowOfOne bool
	fewRecords  int
	// sizes adds a ceiling and a Go stage row per record size; each
	// carries sizeMB megabytes of values (at most records records).
	sizes  string
	sizeMB int
	// profileRow picks the stage row --cpuprofile profiles: the first
	// whose name contains it ("": the first stage row).
	profileRow string
	// ceilingRuns is how many times each ceiling runs (the median counts).
	ceilingRuns int
	// keep keeps the generated pipeline files and the stage processes'
	// logs (--keep), to rerun or inspect a row.
	keep bool
}

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

// defaultSizes are the record sizes of --all.
const defaultSizes = "100,1024,16384"

func newBenchCmd() *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure stages against the Kafka ceiling, in one run",
		Long: `Measure, in one run against the same broker, the ceiling — a plain franz-go
consumer-group loop that consumes and produces with the stage's client
settings — and stages running passthrough nodes, and print each row's
records/s, MB/s and ratio to the ceiling. The ratio is what to compare
across machines: all rows share the machine's noise.

Each stage row runs the stage as its own process, as it is deployed:
'sluice run' on a generated pipeline file (this binary; the node paths are
relative to the repository root, so run bench from there after 'make
build'). The table gives that process's peak RSS (VmHWM) and CPU seconds
and its nodes' CPU seconds, read from /proc ("-" where there is no /proc).

Rows, beyond the ceiling and the Go passthrough stage (bin/nodes/filter
with SLUICE_FILTER_PASSTHROUGH=1):
  --adapters all       a row per language adapter's conformance node: Go,
                       Rust, Python (record and batch handler), Node.js,
                       Shell (files mode, on --few-records records)
  --window-of-one      the Go stage one record at a time (batch.max_records
                       1, window.batches 1), on --few-records records
  --exactly-once       the Go stage with delivery: exactly-once
  --sizes 100,1024     a ceiling and a Go stage per record size, each with
                       --size-mb MB of values
  --latency            the five-stage sensor pipeline at a fixed rate:
                       p50/p99 from events.raw to events.scored
  --all                all of the above (make bench)
The Aim column says whether a row met the aim set for it (200-byte records,
embedded broker): Go and Rust >= 0.7 of the ceiling, Python and Node.js
>= 0.4, the pipelined Go stage >= 20x the window-of-1 row.

By default an in-memory embedded broker is started on a free port; pass
--brokers to measure against a real cluster (topics bench.* are created and
deleted).

--codec avro measures typed topics: the records become sensor events
(JSON objects of --schema's fields, about 110 bytes; --size is ignored)
and a row runs the same passthrough stage with its input and output
topics in Avro (single-object encoding): the runtime decodes each input
for the node and encodes each output with the schema. --codec json adds
the row with both topics "format: json" (every value checked to be JSON);
--codec json,avro adds both. The rows without a codec carry the same
events as JSON, so the ratios compare like with like.`,
		Example: `  sluice bench
  sluice bench --all                      # every row, as make bench runs it
  sluice bench --adapters python,python-batch --records 300000
  sluice bench --records 300000 --codec json,avro
  sluice bench --brokers 127.0.0.1:9092 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.all {
				if !cmd.Flags().Changed("adapters") {
					f.adapters = "all"
				}
				if !cmd.Flags().Changed("sizes") {
					f.sizes = defaultSizes
				}
				f.windowOfOne, f.eos, f.latency = true, true, true
			}
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
	c.Flags().StringVar(&f.adapters, "adapters", "", "also a passthrough row per language adapter: all, or a list such as go,rust,python,python-batch,node,shell (run make build first)")
	c.Flags().BoolVar(&f.eos, "exactly-once", false, "also the Go passthrough stage with delivery: exactly-once (transactions), to compare with at-least-once")
	c.Flags().BoolVar(&f.windowOfOne, "window-of-one", false, "also the Go passthrough stage one record at a time (batch.max_records 1, window.batches 1), to show what pipelining buys")
	c.Flags().IntVar(&f.fewRecords, "few-records", 20_000, "records of the slow rows: the window of 1 and Shell files mode")
	c.Flags().StringVar(&f.sizes, "sizes", "", "also a ceiling and a Go passthrough row per record size in bytes, e.g. 100,1024,16384")
	c.Flags().IntVar(&f.sizeMB, "size-mb", 300, "with --sizes: megabytes of values per size (records = this / size, at most --records)")
	c.Flags().BoolVar(&f.all, "all", false, "every row: --adapters all --window-of-one --exactly-once --sizes "+defaultSizes+" --latency")
	c.Flags().StringVar(&f.codecs, "codec", "", "also the passthrough stage with typed topics: avro, json, or json,avro (the records become sensor events)")
	c.Flags().StringVar(&f.schema, "schema", "testdata/schemas/sensor_event.avsc", "with --codec avro: the Avro schema of the sensor events")
	c.Flags().StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of one stage row's stage process (sluice side) to this file")
	c.Flags().StringVar(&f.profileRow, "profile-row", "", "with --cpuprofile: profile the first stage row whose name contains this (default: the first stage row)")
	c.Flags().IntVar(&f.ceilingRuns, "ceiling-runs", 3, "runs of each ceiling; its row is the median run")
	c.Flags().BoolVar(&f.keep, "keep", false, "keep each stage row's generated pipeline file and its stage process's log (printed: where)")
	addLatencyFlags(c, &f)
	return c
}

// benchRun is one `sluice bench`: its shared setup and the rows so far.
type benchRun struct {
	*benchEnv
	cl       *kgo.Client
	rows     []benchRow
	stages   int  // stage rows run, to number their topics
	profiled bool // --cpuprofile done
}

func runBench(ctx context.Context, out io.Writer, f benchFlags) error {
	if f.records <= 0 || f.size <= 0 || f.partitions <= 0 || f.fewRecords <= 0 || f.sizeMB <= 0 || f.workers <= 0 || f.ceilingRuns <= 0 {
		return usageError{errors.New("--records, --size, --partitions, --few-records, --size-mb, --workers and --ceiling-runs must be positive")}
	}
	if _, err := os.Stat(f.node); err != nil {
		return fmt.Errorf("bench node %q: %w (run 'make build' from the repository root first)", f.node, err)
	}
	adapters, err := parseAdapters(f.adapters)
	if err != nil {
		return err
	}
	sizes, err := parseSizes(f.sizes)
	if err != nil {
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
	if f.cpuProfile != "" {
		if f.cpuProfile, err = filepath.Abs(f.cpuProfile); err != nil {
			return err
		}
	}
	exe, err := sluiceExecutable()
	if err != nil {
		return fmt.Errorf("finding the sluice binary to run stages: %w", err)
	}

	var brokers []string
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
	dir, err := os.MkdirTemp("", "sluice-bench-")
	if err != nil {
		return err
	}
	if f.keep {
		fmt.Fprintf(os.Stderr, "bench: pipeline files and stage logs are kept in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	r := &benchRun{benchEnv: &benchEnv{brokers: brokers, adm: kadm.NewClient(cl), run: fmt.Sprintf("%d", time.Now().UnixNano()),
		dir: dir, sluice: exe, f: f}, cl: cl}
	header := newBenchHeader(f, where)
	// The aims are set for 200-byte records on the embedded broker.
	aims := f.size == 200 && f.brokers == "" && events == nil

	// The main rows: the ceiling, then each stage over the same records.
	main := benchInput{topic: "bench.in." + r.run, records: f.records, size: float64(f.size)}
	label := sizeLabel(f.size)
	if events == nil {
		if err := r.fill(ctx, main, nil); err != nil {
			return err
		}
	} else {
		main.size = events.meanSize(events.json)
		label = "sensor events"
		if err := r.fill(ctx, main, events.json); err != nil {
			return err
		}
	}
	defer deleteTopics(r.adm, main.topic)
	ceiling, err := r.ceiling(ctx, "ceiling: franz-go consume→produce, "+label, main)
	if err != nil {
		return err
	}
	workers := ""
	if f.workers > 1 {
		workers = fmt.Sprintf(", %d workers", f.workers)
	}
	goNode := benchNode{row: "Go passthrough (filter node)" + workers, command: f.node,
		env: map[string]string{"SLUICE_FILTER_PASSTHROUGH": "1"}, aim: 0.7}
	nodes := []benchNode{goNode}
	for _, a := range adapters {
		a.row += workers
		nodes = append(nodes, a)
	}
	if f.windowOfOne {
		one := goNode
		one.row, one.windowOfOne, one.few, one.aim = "Go passthrough (filter node), window of 1: one record at a time"+workers, true, true, 0
		nodes = append(nodes, one)
	}
	if f.eos {
		eos := goNode
		eos.row, eos.exactlyOnce, eos.aim = "Go passthrough (filter node), exactly-once"+workers, true, 0
		nodes = append(nodes, eos)
	}
	for _, format := range formats {
		typed := goNode
		typed.row, typed.format, typed.aim = fmt.Sprintf("Go passthrough (filter node), %s topics%s", benchFormatName[format], workers), format, 0
		nodes = append(nodes, typed)
	}

	var few, avro *benchInput
	var pipelined float64 // the Go stage's records/s, for the aims of the window of 1 and exactly-once
	for _, n := range nodes {
		in := main
		switch {
		case n.few:
			if few == nil {
				few = &benchInput{topic: "bench.in.few." + r.run, records: min(f.fewRecords, f.records), size: main.size}
				var vals [][]byte
				if events != nil {
					vals = events.json
				}
				if err := r.fill(ctx, *few, vals); err != nil {
					return err
				}
				defer deleteTopics(r.adm, few.topic)
			}
			in = *few
		case n.format == config.FormatAvro:
			if avro == nil {
				avro = &benchInput{topic: "bench.in.avro." + r.run, records: f.records, size: events.meanSize(events.avro)}
				if err := r.fill(ctx, *avro, events.avro); err != nil {
					return err
				}
				defer deleteTopics(r.adm, avro.topic)
			}
			in = *avro
		}
		row, err := r.stage(ctx, n, in, ceiling)
		if err != nil {
			return err
		}
		switch {
		case !aims:
		case n.aim > 0:
			row.Aim = aimText(n.aim, row.Ratio)
		case n.windowOfOne && pipelined > 0:
			row.Aim = pipelinedAim(pipelined, row.RecordsPerSec)
		case n.exactlyOnce && pipelined > 0:
			row.Aim = exactlyOnceAim(pipelined, row.RecordsPerSec)
		}
		if n.row == goNode.row {
			pipelined = row.RecordsPerSec
		}
		r.rows = append(r.rows, row)
	}

	// Per record size: its own ceiling and the Go stage, on a byte budget.
	for _, size := range sizes {
		in := benchInput{topic: fmt.Sprintf("bench.in.s%d.%s", size, r.run), records: sizeRecords(f, size), size: float64(size)}
		if err := r.fill(ctx, in, nil); err != nil {
			return err
		}
		n := goNode
		n.row = "Go passthrough (filter node), " + sizeLabel(size) + workers
		ceil, err := r.ceiling(ctx, "ceiling, "+sizeLabel(size), in)
		var row benchRow
		if err == nil {
			row, err = r.stage(ctx, n, in, ceil)
		}
		deleteTopics(r.adm, in.topic) // kfake would keep it in memory
		if err != nil {
			return err
		}
		r.rows = append(r.rows, row)
	}

	if f.latency {
		fmt.Fprintln(os.Stderr, "bench: end-to-end latency of the sensor pipeline")
		row, err := benchLatency(ctx, brokers, f)
		if err != nil {
			return err
		}
		r.rows = append(r.rows, row)
	}

	header.LoadEnd = loadAverage()
	if f.asJSON {
		return writeBenchJSON(out, header, r.rows)
	}
	writeBenchTable(out, header, r.rows)
	return nil
}

// fill creates in's topic and produces its records: vals in turn, or
// values of in.size bytes when vals is nil.
func (r *benchRun) fill(ctx context.Context, in benchInput, vals [][]byte) error {
	if err := benchCreateTopic(ctx, r.adm, in.topic, r.f.partitions); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: producing %s records of %.0f bytes to %s\n", thousands(float64(in.records)), in.size, in.topic)
	if vals != nil {
		return fillEvents(ctx, r.cl, in.topic, in.records, vals)
	}
	return fillTopic(ctx, r.cl, in.topic, in.records, int(in.size))
}

// ceiling measures the ceiling over in f.ceilingRuns times and adds a row
// with the median run; it returns that run's records/s, the reference of
// the rows over the same size. The ceiling's runs are the shortest of all
// rows and every ratio divides by them: one run caught by a burst of
// other work on the machine would skew the whole table.
func (r *benchRun) ceiling(ctx context.Context, name string, in benchInput) (float64, error) {
	if r.f.ceilingRuns > 1 {
		name += fmt.Sprintf(" (median of %d)", r.f.ceilingRuns)
	}
	fmt.Fprintf(os.Stderr, "bench: %s\n", name)
	var runs []float64
	for i := range r.f.ceilingRuns {
		out := fmt.Sprintf("bench.ceiling%d.%s", i, in.topic)
		if err := benchCreateTopic(ctx, r.adm, out, r.f.partitions); err != nil {
			return 0, err
		}
		secs, err := benchCeiling(ctx, r.brokers, in.topic, out, in.records)
		deleteTopics(r.adm, out)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		runs = append(runs, secs)
	}
	slices.Sort(runs)
	secs := runs[len(runs)/2]
	rps := float64(in.records) / secs
	r.rows = append(r.rows, benchRow{Name: name, Records: in.records, Seconds: secs, RecordsPerSec: rps,
		MBPerSec: rps * in.size / 1e6, Ratio: 1, ValueBytes: in.size})
	fmt.Fprintf(os.Stderr, "bench:   %s records/s (runs: %s)\n", thousands(rps), ceilingRuns(in.records, runs))
	return rps, nil
}

// ceilingRuns lists the records/s of a ceiling's runs, fastest first.
func ceilingRuns(records int, secs []float64) string {
	var parts []string
	for _, s := range secs {
		parts = append(parts, thousands(float64(records)/s))
	}
	return strings.Join(parts, ", ")
}

// stage measures the stage row of n over in; ceiling is the records/s of
// the ceiling over the same record size.
func (r *benchRun) stage(ctx context.Context, n benchNode, in benchInput, ceiling float64) (benchRow, error) {
	fmt.Fprintf(os.Stderr, "bench: %s\n", n.row)
	profile := ""
	if r.f.cpuProfile != "" && !r.profiled && strings.Contains(n.row, r.f.profileRow) {
		profile, r.profiled = r.f.cpuProfile, true
	}
	r.stages++
	res, err := benchStage(ctx, r.benchEnv, in, n, r.stages, profile)
	if err != nil {
		return benchRow{}, fmt.Errorf("%s: %w", n.row, err)
	}
	rps := float64(in.records) / res.secs
	row := benchRow{Name: n.row, Records: in.records, Seconds: res.secs, RecordsPerSec: rps,
		MBPerSec: rps * in.size / 1e6, Ratio: rps / ceiling, ValueBytes: in.size,
		PeakRSSMB: res.usage.PeakRSSMB, CPUSeconds: res.usage.CPUSeconds, NodeCPUSeconds: res.usage.NodeCPUSeconds}
	fmt.Fprintf(os.Stderr, "bench:   %s records/s, %.2f of the ceiling\n", thousands(rps), row.Ratio)
	return row, nil
}
