package main

// The end-to-end latency row of `sluice bench` (--latency): the five-stage
// sensor pipeline of config/examples/sensors.yaml, run by `sluice up` as a
// child process, fed raw sensor lines at a fixed rate; each record's
// latency is the time from producing it into events.raw to its arrival in
// events.scored. The `up` process's peak RSS and its and its nodes' CPU
// seconds come from /proc (bench_proc.go).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"gopkg.in/yaml.v3"
)

// latencyPipeline is the pipeline the latency row runs; its node paths
// are relative to the repository root, where bench is started.
const latencyPipeline = "config/examples/sensors.yaml"

// latencyArtifacts are what the pipeline needs built (make build), and
// latencyTools the programs it needs on $PATH.
var (
	latencyArtifacts = []string{
		".cache/cargo-target/release/ingest", "bin/nodes/filter", ".cache/venv/bin/python",
		".cache/models/classify.joblib", "nodes/classify/classify.py", "nodes/alert/main.js", "nodes/archive/archive.sh",
	}
	latencyTools = []string{"node", "bash", "jq", "tar", "gzip"}
)

// Phases of the row. Variables so that the test can run a short one.
var (
	// latencyWarmup is how long records flow before the measured ones
	// (and at least until one has come through): the first records wait
	// for the consumer groups to settle and the nodes to warm up.
	latencyWarmup = 3 * time.Second
	// latencyStartup bounds the wait for every stage to be ready (the
	// Python node imports scikit-learn and loads the model).
	latencyStartup = 2 * time.Minute
	// latencyStragglers bounds the wait for the last measured records.
	latencyStragglers = time.Minute
)

// latencyDrop deletes a run's topics and groups; the test keeps them to
// look at.
var latencyDrop = dropLatencyRun

// sluiceExecutable is the sluice binary that runs the pipeline: this one
// (the test points it at a freshly built binary instead of the test's).
var sluiceExecutable = os.Executable

func addLatencyFlags(c *cobra.Command, f *benchFlags) {
	c.Flags().BoolVar(&f.latency, "latency", false,
		"also the end-to-end latency row: the five-stage sensor pipeline ("+latencyPipeline+", run make build first) at a fixed rate, p50/p99 from events.raw to events.scored")
	c.Flags().IntVar(&f.latencyRate, "latency-rate", 1000, "with --latency: raw lines produced per second")
	c.Flags().DurationVar(&f.latencyDuration, "latency-duration", 20*time.Second, "with --latency: how long the measured records are produced (after a warm-up)")
}

// latencyResult is what one run of the latency row measured.
type latencyResult struct {
	rate      int               // the rate asked for
	names     map[string]string // topic of sensors.yaml -> this run's
	produced  int               // measured lines produced
	malformed int               // of which malformed (ingest's DLQ)
	bytes     int64             // their values' bytes
	seconds   float64           // producing them took
	latencies []time.Duration   // of the measured records arrived in events.scored, sorted
	// every line produced (warm-up too), and how many were malformed
	allProduced, allMalformed int
	rssMB, cpu, nodeCPU       float64
}

// benchLatency runs the latency row against brokers.
func benchLatency(ctx context.Context, brokers []string, f benchFlags) (benchRow, error) {
	r, err := runLatency(ctx, brokers, f, os.Stderr)
	if err != nil {
		return benchRow{}, fmt.Errorf("latency row: %w", err)
	}
	return r.row(), nil
}

// row is the table line of r. The ratio to the ceiling means nothing for
// a fixed rate: 0. CPU seconds are those spent while the measured records
// were produced and until the last arrived (not the nodes' start-up).
func (r *latencyResult) row() benchRow {
	row := benchRow{
		Name:    fmt.Sprintf("pipeline: sensors, 5 stages, %d records/s — events.raw → events.scored", r.rate),
		Records: r.produced, Seconds: r.seconds,
		PeakRSSMB: r.rssMB, CPUSeconds: r.cpu, NodeCPUSeconds: r.nodeCPU,
	}
	if r.seconds > 0 {
		row.RecordsPerSec = float64(r.produced) / r.seconds
		row.MBPerSec = float64(r.bytes) / r.seconds / 1e6
	}
	if r.produced > 0 {
		row.ValueBytes = float64(r.bytes) / float64(r.produced)
	}
	row.P50Millis = millis(percentile(r.latencies, 0.50))
	row.P99Millis = millis(percentile(r.latencies, 0.99))
	return row
}

// percentile is the nearest-rank p-quantile of sorted ds (0 when empty).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// latencyMissing lists what the pipeline needs and is not there.
func latencyMissing() []string {
	var missing []string
	for _, a := range latencyArtifacts {
		if _, err := os.Stat(a); err != nil {
			missing = append(missing, a)
		}
	}
	for _, tool := range latencyTools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	return missing
}

// runLatency starts the pipeline (`sluice up` on a copy of sensors.yaml
// with this run's topics and groups), waits until every stage is ready,
// produces at f.latencyRate — a warm-up, then f.latencyDuration measured
// — and collects the measured records' latencies as they arrive in
// events.scored. Progress lines go to log.
func runLatency(ctx context.Context, brokers []string, f benchFlags, log io.Writer) (*latencyResult, error) {
	if f.latencyRate <= 0 || f.latencyDuration <= 0 {
		return nil, usageError{errors.New("--latency-rate and --latency-duration must be positive")}
	}
	if missing := latencyMissing(); len(missing) > 0 {
		return nil, fmt.Errorf("the sensor pipeline needs %s: run make build first", strings.Join(missing, ", "))
	}
	exe, err := sluiceExecutable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sluice-bench-latency-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	suffix := "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg, names, groups, err := writeLatencyPipeline(latencyPipeline, dir, suffix)
	if err != nil {
		return nil, err
	}
	res := &latencyResult{rate: f.latencyRate, names: names}

	fmt.Fprintf(log, "bench: starting the sensor pipeline (sluice up, topics *.%s)\n", suffix)
	up, err := startUp(exe, cfg, brokers, dir)
	if err != nil {
		return nil, err
	}
	defer latencyDrop(brokers, names, groups) // after up stopped
	defer up.kill()
	if err := up.waitReady(ctx, brokers, groups, latencyStartup); err != nil {
		return nil, err
	}

	arrivals, err := watchArrivals(ctx, brokers, names["events.scored"])
	if err != nil {
		return nil, err
	}
	defer arrivals.stop()
	prod, err := newClient(ctx, brokers, kgo.ProducerLinger(0)) // sent at once: the row measures the pipeline
	if err != nil {
		return nil, err
	}
	defer prod.Close()
	p := &pacedProducer{cl: prod, topic: names["events.raw"], rate: float64(f.latencyRate),
		gen: newSensorGen(genFlags{malformed: 0.05, anomalies: 0.03, jsonShare: 0.2, sensors: 12, seed: 1, step: 10 * time.Second},
			time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))}

	fmt.Fprintf(log, "bench: warming up at %d records/s\n", f.latencyRate)
	warm := time.Now()
	p.start()
	for time.Since(warm) < latencyWarmup || arrivals.count() == 0 {
		if time.Since(warm) > latencyStartup {
			return nil, fmt.Errorf("no record reached %s in %s of warm-up", names["events.scored"], latencyStartup)
		}
		if err := p.next(ctx); err != nil {
			return nil, err
		}
		if err := up.exited(); err != nil {
			return nil, err
		}
	}
	// Records are told apart by their timestamps (milliseconds): the
	// measured ones start in a later millisecond than the last warm-up one.
	lastWarm := p.lastMilli
	for time.Now().UnixMilli() <= lastWarm {
		time.Sleep(100 * time.Microsecond)
	}
	cpu0 := sampleCPU(up.pid())
	fmt.Fprintf(log, "bench: measuring for %s\n", f.latencyDuration)
	warmProduced, warmMalformed := p.produced, p.malformed
	p.start()
	begun := time.Now()
	for time.Since(begun) < f.latencyDuration {
		if err := p.next(ctx); err != nil {
			return nil, err
		}
	}
	res.seconds = time.Since(begun).Seconds()
	lastMeasured := p.lastMilli
	if err := prod.Flush(ctx); err != nil {
		return nil, err
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	res.allProduced, res.allMalformed = p.produced, p.malformed
	res.produced, res.malformed, res.bytes = p.produced-warmProduced, p.malformed-warmMalformed, p.bytes-p.bytesAtStart
	measured := func(ms int64) bool { return ms > lastWarm && ms <= lastMeasured }

	want := res.produced - res.malformed
	deadline := time.Now().Add(latencyStragglers)
	for {
		res.latencies = arrivals.latencies(measured)
		if len(res.latencies) >= want {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of the %d measured well-formed records reached %s in %s after the last was produced",
				len(res.latencies), want, names["events.scored"], latencyStragglers)
		}
		if err := up.exited(); err != nil {
			return nil, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.cpu, res.nodeCPU = sampleCPU(up.pid()).since(cpu0)
	res.rssMB, _ = procHWM(up.pid()) // 0 without /proc: not measured
	slices.Sort(res.latencies)
	return res, up.stop()
}

// writeLatencyPipeline writes a copy of the pipeline file src to dir with
// every topic, DLQ and consumer group suffixed (so that a run on a shared
// cluster starts from empty topics), and returns its path and the topic
// names (old -> new) and consumer groups. Node paths stay relative to the
// working directory.
func writeLatencyPipeline(src, dir, suffix string) (path string, names map[string]string, groups []string, err error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return "", nil, nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", nil, nil, fmt.Errorf("%s: %w", src, err)
	}
	if len(doc.Content) == 0 {
		return "", nil, nil, fmt.Errorf("%s: empty", src)
	}
	root := doc.Content[0]
	topics, stages := yamlGet(root, "topics"), yamlGet(root, "stages")
	if topics == nil || stages == nil || topics.Kind != yaml.MappingNode || stages.Kind != yaml.MappingNode {
		return "", nil, nil, fmt.Errorf("%s: no topics or stages", src)
	}
	names = map[string]string{}
	for i := 0; i < len(topics.Content); i += 2 {
		old := topics.Content[i].Value
		names[old] = old + "." + suffix
		topics.Content[i].Value = names[old]
	}
	rename := func(n *yaml.Node) {
		if n != nil && names[n.Value] != "" {
			n.Value = names[n.Value]
		}
	}
	for i := 0; i < len(stages.Content); i += 2 {
		name, st := stages.Content[i].Value, stages.Content[i+1]
		rename(yamlGet(st, "input"))
		if outs := yamlGet(st, "outputs"); outs != nil {
			for j := 1; j < len(outs.Content); j += 2 {
				rename(outs.Content[j])
			}
		}
		// Only <stage>.dlq is declared implicitly: declare this run's.
		dlq := name + ".dlq"
		names[dlq] = dlq + "." + suffix
		yamlSet(st, "dlq", names[dlq])
		group := "sluice.sensors." + name + "." + suffix
		groups = append(groups, group)
		yamlSet(st, "group", group)
		topics.Content = append(topics.Content, yamlScalar(names[dlq]),
			&yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{yamlScalar("partitions"), yamlScalar("1")}})
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return "", nil, nil, err
	}
	path = filepath.Join(dir, filepath.Base(src))
	return path, names, groups, os.WriteFile(path, out, 0o644)
}

func yamlGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func yamlSet(m *yaml.Node, key, value string) {
	if n := yamlGet(m, key); n != nil {
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!str", value
		return
	}
	m.Content = append(m.Content, yamlScalar(key), yamlScalar(value))
}

func yamlScalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

// dropLatencyRun deletes the run's topics and consumer groups (on a shared
// cluster they would pile up; the embedded broker keeps them in memory).
// Best effort: the row is measured by then.
func dropLatencyRun(brokers []string, names map[string]string, groups []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topics := make([]string, 0, len(names))
	for _, t := range names {
		topics = append(topics, t)
	}
	_, _ = adm.DeleteGroups(ctx, groups...)
	_, _ = adm.DeleteTopics(ctx, topics...)
}

// upProcess is the `sluice up` child running the pipeline.
type upProcess struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{} // closed when it exited; then err is set
	err    error
}

// startUp starts `exe up` on cfg against brokers, its metrics on a free
// port, the archive stage's files under dir, and no webhook.
func startUp(exe, cfg string, brokers []string, dir string) (*upProcess, error) {
	cmd := exec.Command(exe, "up", "--config", cfg, "--brokers", strings.Join(brokers, ","),
		"--metrics-addr", "127.0.0.1:0", "--log-format", "json", "--data-dir", filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "ARCHIVE_DIR="+filepath.Join(dir, "archives"), "ALERT_WEBHOOK_URL=")
	u := &upProcess{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = u.stderr, u.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting sluice up: %w", err)
	}
	go func() {
		err := cmd.Wait()
		if err == nil {
			err = errors.New("exited")
		}
		u.err = fmt.Errorf("sluice up stopped early: %v", err)
		if last := u.lastLine(); last != "" {
			u.err = fmt.Errorf("%w: %s", u.err, last)
		}
		close(u.done)
	}()
	return u, nil
}

func (u *upProcess) pid() int { return u.cmd.Process.Pid }

// exited returns the error of an `up` that stopped, nil while it runs.
func (u *upProcess) exited() error {
	select {
	case <-u.done:
		return u.err
	default:
		return nil
	}
}

// lastLine is the last line `up` wrote: the message (and error) of a
// JSON log line, else the line.
func (u *upProcess) lastLine() string {
	lines := strings.Split(strings.TrimSpace(u.stderr.String()), "\n")
	last := lines[len(lines)-1]
	var entry struct{ Msg, Error string }
	if json.Unmarshal([]byte(last), &entry) == nil && entry.Msg != "" {
		if entry.Error != "" {
			return entry.Msg + ": " + entry.Error
		}
		return entry.Msg
	}
	return last
}

var (
	webViewLine = regexp.MustCompile(`web view on http://([^/\s]+)/`)
	readyClient = &http.Client{Timeout: 5 * time.Second}
)

// waitReady waits until `up` serves /readyz with every stage ready (each
// node's handshake done) and every stage's consumer group is stable.
func (u *upProcess) waitReady(ctx context.Context, brokers []string, groups []string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	adm, err := newClient(ctx, brokers)
	if err != nil {
		return err
	}
	defer adm.Close()
	last := "the web view address"
	for {
		if err := u.exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the sensor pipeline was not ready in %s: waiting for %s", limit, last)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
		m := webViewLine.FindStringSubmatch(u.stderr.String())
		if m == nil {
			continue
		}
		resp, err := readyClient.Get("http://" + m[1] + "/readyz")
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			last = strings.TrimSpace(string(body))
			continue
		}
		described, err := kadm.NewClient(adm).DescribeGroups(ctx, groups...)
		if err != nil {
			last = err.Error()
			continue
		}
		stable := true
		for _, g := range groups {
			if d := described[g]; d.State != "Stable" || len(d.Members) == 0 {
				stable, last = false, fmt.Sprintf("consumer group %s (%s)", g, d.State)
				break
			}
		}
		if stable {
			return nil
		}
	}
}

// stop ends `up` softly (SIGTERM: in-flight records finish) and checks it
// exited cleanly.
func (u *upProcess) stop() error {
	select {
	case <-u.done:
		return u.err
	default:
	}
	_ = u.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-u.done:
	case <-time.After(time.Minute):
		u.cmd.Process.Kill()
		<-u.done
		return errors.New("sluice up did not stop within a minute of SIGTERM")
	}
	if u.cmd.ProcessState.ExitCode() != 0 {
		return u.err
	}
	return nil
}

// kill stops `up` at once (an abandoned run); nothing when it exited.
func (u *upProcess) kill() {
	select {
	case <-u.done:
	default:
		_ = u.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-u.done:
		case <-time.After(30 * time.Second):
			u.cmd.Process.Kill()
			<-u.done
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lockedBuffer is a bytes.Buffer safe for a process's writes and our reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// pacedProducer produces generated sensor lines at a fixed rate, each
// record's timestamp the moment it is produced (the stages carry the
// input's timestamp to their outputs, stream/deliver.go outputRecord).
type pacedProducer struct {
	cl    *kgo.Client
	topic string
	rate  float64
	gen   *sensorGen

	begun        time.Time
	i            int // records since begun
	lastMilli    int64
	produced     int
	malformed    int
	bytes        int64
	bytesAtStart int64 // bytes when start was last called
	mu           sync.Mutex
	firstErr     error
}

// start restarts the schedule: the next record is due now.
func (p *pacedProducer) start() {
	p.begun, p.i, p.bytesAtStart = time.Now(), 0, p.bytes
}

// next waits until the next record is due and produces it; behind
// schedule, it produces at once (catching up).
func (p *pacedProducer) next(ctx context.Context) error {
	due := p.begun.Add(time.Duration(float64(p.i) / p.rate * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
	}
	p.i++
	l := p.gen.next()
	now := time.Now()
	p.lastMilli = now.UnixMilli()
	p.produced++
	p.bytes += int64(len(l.Text))
	if l.Kind == lineMalformed {
		p.malformed++
	}
	p.cl.Produce(ctx, &kgo.Record{Topic: p.topic, Key: []byte(l.SensorID), Value: []byte(l.Text), Timestamp: now},
		func(_ *kgo.Record, err error) {
			if err != nil {
				p.mu.Lock()
				if p.firstErr == nil {
					p.firstErr = err
				}
				p.mu.Unlock()
			}
		})
	return p.err()
}

func (p *pacedProducer) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.firstErr != nil {
		return fmt.Errorf("producing to %s: %w", p.topic, p.firstErr)
	}
	return nil
}

// arrivalWatch consumes a topic from its start and notes, for every
// record, its timestamp and how long after it the record arrived here.
type arrivalWatch struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	ts     []int64 // record timestamps (Unix ms)
	lat    []time.Duration
}

func watchArrivals(ctx context.Context, brokers []string, topic string) (*arrivalWatch, error) {
	cl, err := newClient(ctx, brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &arrivalWatch{cl: cl, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for wctx.Err() == nil {
			fs := cl.PollFetches(wctx)
			now := time.Now()
			w.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				w.ts = append(w.ts, r.Timestamp.UnixMilli())
				// Kafka keeps milliseconds: the latency is over by
				// less than one.
				w.lat = append(w.lat, now.Sub(r.Timestamp))
			})
			w.mu.Unlock()
		}
	}()
	return w, nil
}

func (w *arrivalWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ts)
}

// latencies returns those of the records whose timestamp keep accepts.
func (w *arrivalWatch) latencies(keep func(ms int64) bool) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []time.Duration
	for i, ms := range w.ts {
		if keep(ms) {
			out = append(out, w.lat[i])
		}
	}
	return out
}

func (w *arrivalWatch) stop() {
	w.cancel()
	<-w.done
	w.cl.Close()
}

// cpuSample is the CPU time of a stage process and of each of its nodes
// at one moment.
type cpuSample struct {
	stage float64
	nodes map[int]float64
}

// sampleCPU reads pid's and its children's CPU time from /proc
// (bench_proc.go); a child's includes what it reaped (the Shell node's
// jq, tar, gzip).
func sampleCPU(pid int) cpuSample {
	s := cpuSample{nodes: map[int]float64{}}
	s.stage, _, _ = procCPU(pid)
	for _, c := range procChildren(pid) {
		if own, reaped, ok := procCPU(c); ok {
			s.nodes[c] = own + reaped
		}
	}
	return s
}

// since returns the stage's and the nodes' CPU seconds from earlier to s
// (a node started in between counts from 0).
func (s cpuSample) since(earlier cpuSample) (stage, nodes float64) {
	for pid, t := range s.nodes {
		nodes += t - earlier.nodes[pid]
	}
	return s.stage - earlier.stage, nodes
}
