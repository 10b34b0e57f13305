package stream

// Rebalance correctness (issue 5): two or three instances of one stage
// share its consumer group while the input is still being written;
// instances join, leave (soft stop) or crash mid-stream, under a
// cooperative and an eager assignor. What a user relies on: no input is
// lost, each source partition's records come out in order (first
// occurrences), at-least-once duplicates only come from re-processing
// (counted and logged), exactly-once has none, and once every instance
// stopped cleanly the group's committed offsets are the input's end.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
)

const (
	// rebalanceRecords is N, the records written during a case; set
	// SLUICE_REBALANCE_RECORDS for a heavier run (e.g. 50000).
	rebalanceRecords    = 20000
	rebalancePartitions = 8
	// The input is written at this pace, so the joins, leaves and crashes
	// below happen while records are still arriving and in flight.
	rebalanceProduceEvery = 60 * time.Millisecond
	rebalanceBurst        = 200
	// Group timing for the test: Kafka's minimum session timeout, so a
	// crashed instance is noticed in seconds; frequent heartbeats, so
	// members learn of a rebalance quickly.
	rebalanceSession   = 6 * time.Second
	rebalanceHeartbeat = 500 * time.Millisecond
)

// How instance B goes away mid-stream.
const (
	exitLeave = "leave" // soft stop: finish in-flight, commit, leave the group
	exitCrash = "crash" // connections cut, then a hard stop: no commit, no LeaveGroup
)

type rebalanceCase struct {
	name     string
	assignor string
	exit     string
	// drain is timeouts.drain of every instance: short, a revoke abandons
	// in-flight records to the next owner instead of finishing them.
	drain time.Duration
	// flaky makes every 100th record fail once (retriable) before it
	// passes: batches fail partially while partitions move.
	flaky bool
	// extended cases run only with SLUICE_REBALANCE_ALL=1.
	extended bool
}

// The default cases: per assignor kind, a graceful leave (long drain: the
// path users run by default) and a crash with short drains and flaky
// records (every abandon and partial-failure path at once). Set
// SLUICE_REBALANCE_ALL=1 for the extended set, which separates those
// causes and covers the other two eager assignors.
var rebalanceCases = []rebalanceCase{
	{name: "cooperative/leave", assignor: config.AssignorCooperativeSticky, exit: exitLeave, drain: 5 * time.Second},
	{name: "cooperative/crash-short-drain-flaky", assignor: config.AssignorCooperativeSticky, exit: exitCrash, drain: time.Millisecond, flaky: true},
	{name: "eager-range/leave", assignor: config.AssignorRange, exit: exitLeave, drain: 5 * time.Second},
	{name: "eager-range/crash-short-drain-flaky", assignor: config.AssignorRange, exit: exitCrash, drain: time.Millisecond, flaky: true},

	{name: "cooperative/leave-short-drain-flaky", assignor: config.AssignorCooperativeSticky, exit: exitLeave, drain: time.Millisecond, flaky: true, extended: true},
	{name: "cooperative/crash", assignor: config.AssignorCooperativeSticky, exit: exitCrash, drain: 5 * time.Second, extended: true},
	{name: "eager-sticky/leave-short-drain-flaky", assignor: config.AssignorSticky, exit: exitLeave, drain: time.Millisecond, flaky: true, extended: true},
	{name: "eager-roundrobin/crash", assignor: config.AssignorRoundRobin, exit: exitCrash, drain: 5 * time.Second, extended: true},
}

func TestRebalanceAtLeastOnce(t *testing.T) {
	for _, c := range rebalanceCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runRebalanceCase(t, c, false)
		})
	}
}

func TestRebalanceExactlyOnce(t *testing.T) {
	for _, c := range rebalanceCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runRebalanceCase(t, c, true)
		})
	}
}

// srcPos is where an input record was written.
type srcPos struct {
	partition int32
	offset    int64
}

// rebalanceRun is one case in progress.
type rebalanceRun struct {
	t    *testing.T
	h    *harness
	c    rebalanceCase
	eos  bool
	n    int
	out  *outputCollector
	inst []*instance
	// began is the case's start, for the phase log lines.
	began time.Time
	// state is the nodes' TESTNODE_STATE, shared by every instance so a
	// flaky record fails once wherever it goes.
	state string
}

// phase logs a step of the case with the time since it began.
func (r *rebalanceRun) phase(format string, args ...any) {
	r.t.Helper()
	r.t.Logf("%6.2fs %s", time.Since(r.began).Seconds(), fmt.Sprintf(format, args...))
}

func runRebalanceCase(t *testing.T, c rebalanceCase, eos bool) {
	if c.extended && os.Getenv("SLUICE_REBALANCE_ALL") != "1" {
		t.Skip("extended case: set SLUICE_REBALANCE_ALL=1")
	}
	n := rebalanceRecords
	if v := os.Getenv("SLUICE_REBALANCE_RECORDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			t.Fatalf("SLUICE_REBALANCE_RECORDS=%q: want a number >= 1000", v)
		}
	}
	h := newHarness(t, rebalancePartitions)
	r := &rebalanceRun{t: t, h: h, c: c, eos: eos, n: n, began: time.Now(), state: t.TempDir()}
	r.waitTopics()
	r.out = collectOutputs(t, h, eos)

	// The input is written while the instances come and go.
	var input sync.Map // key -> srcPos
	producerDone := make(chan struct{})
	pctx, stopProducer := context.WithCancel(context.Background())
	t.Cleanup(func() { stopProducer(); <-producerDone })
	go func() {
		defer close(producerDone)
		tick := time.NewTicker(rebalanceProduceEvery)
		defer tick.Stop()
		for i := 0; i < n; i += rebalanceBurst {
			recs := make([]*kgo.Record, 0, rebalanceBurst)
			for j := i; j < min(i+rebalanceBurst, n); j++ {
				k := fmt.Appendf(nil, "id-%06d", j)
				v := k
				if c.flaky && j%100 == 7 {
					v = fmt.Appendf(nil, "retry-n:%s:1", k) // testnode: retriable once, then passes
				}
				recs = append(recs, &kgo.Record{Topic: h.in, Key: k, Value: v})
			}
			res := h.cl.ProduceSync(pctx, recs...)
			if err := res.FirstErr(); err != nil {
				if pctx.Err() == nil {
					t.Errorf("writing the input: %v", err)
				}
				return
			}
			for _, pr := range res {
				input.Store(string(pr.Record.Key), srcPos{pr.Record.Partition, pr.Record.Offset})
			}
			select {
			case <-tick.C:
			case <-pctx.Done():
				return
			}
		}
	}()

	a := r.start("A")
	r.waitProgress(n/10, "A alone")
	r.phase("A working; starting B (%d keys out)", r.out.unique())
	b := r.start("B")
	r.waitWorking(b)
	r.phase("B working")
	r.waitProgress(r.out.unique()+n/10, "A and B")
	r.phase("starting C (%d keys out)", r.out.unique())
	cc := r.start("C")
	r.waitWorking(cc)
	r.phase("C working")
	r.waitProgress(r.out.unique()+n/10, "A, B and C")
	produced := r.out.unique()
	switch c.exit {
	case exitLeave:
		if err := b.stop(60 * time.Second); err != nil {
			t.Fatalf("B's soft stop: %v", err)
		}
	case exitCrash:
		b.crash()
	}
	select {
	case <-producerDone:
		r.phase("B went away (%s) with %d of %d keys out; the input was already written", c.exit, produced, n)
	default:
		r.phase("B went away (%s) with %d of %d keys out, while the input was being written", c.exit, produced, n)
	}
	<-producerDone
	if t.Failed() {
		return
	}
	r.phase("input written")
	r.waitAllKeys(&input, 120*time.Second)
	r.phase("every key out")
	if c.exit == exitCrash {
		// The crashed instance's Run must end by itself (its hard stop).
		err := b.stop(60 * time.Second)
		t.Logf("crashed B's Run returned: %v", err)
	}
	for _, in := range []*instance{a, cc} {
		if err := in.stop(60 * time.Second); err != nil {
			t.Fatalf("%s's soft stop: %v", in.name, err)
		}
	}
	r.phase("A and C stopped")
	for _, in := range r.inst {
		if in.s.Stats().Consumed == 0 {
			t.Fatalf("instance %s consumed nothing: the test did not spread the work", in.name)
		}
	}

	// Every output, to the end of the output topic (read_committed for
	// exactly-once: an aborted transaction's records do not count).
	outs := r.out.drain()
	r.phase("output read to its end")
	r.check(&input, outs)
	if n := h.count(h.dlq); n != 0 {
		t.Fatalf("%d records went to the DLQ; every record passes (flaky ones on their second attempt)", n)
	}
	r.checkCommitted()
}

// instance is one running Stage of the group, with its own client, nodes
// and Run goroutine, as if it were its own process.
type instance struct {
	name   string
	s      *Stage
	cancel context.CancelFunc
	cut    *connCutter
	// stopping is set when the test stops (or crashes) the instance; Run
	// ending before that is a failure of the stage.
	stopping atomic.Bool
	// expendable: the instance is to be crashed anyway, so its stopping
	// by itself first is logged, not failed (B in the crash cases, whose
	// short transaction timeout a loaded machine may exceed).
	expendable bool
	finished   chan struct{} // closed when Run returned
	runErr     error         // Run's error, once finished is closed
}

// stageConfig is the stage every instance runs; name picks B's crash
// settings.
func (r *rebalanceRun) stageConfig(name string) config.Stage {
	st := r.h.stageConfig(func(s *config.Stage) {
		s.Assignor = r.c.assignor
		s.Workers = 2
		// Small batches and window: work is spread over many polls and
		// many records are in flight whenever a rebalance comes.
		s.Window.Records = 200
		s.Batch.MaxRecords = 20
		s.Timeouts.Drain = r.c.drain
		s.Timeouts.Shutdown = 30 * time.Second
		// 100µs asked, about 1ms slept (timer granularity): per worker
		// about a thousand records a second.
		s.Node.Env = map[string]string{"TESTNODE_DELAY": "100us", "TESTNODE_STATE": r.state}
		if r.eos {
			s.Delivery = config.DeliveryExactlyOnce
		}
		if name == "B" && r.c.exit == exitCrash {
			// The crash: after the cut nothing more may be finished.
			s.Timeouts.Shutdown = 100 * time.Millisecond
			// Its open transaction holds back read_committed readers
			// (and the offsets of its partitions) until the broker
			// aborts it at this timeout. Only B's: the survivors keep
			// the default, so a loaded machine cannot time theirs out.
			s.Transaction.Timeout = 10 * time.Second
		}
	})
	return st
}

// start runs a new instance of the stage until the test stops it.
func (r *rebalanceRun) start(name string) *instance {
	r.t.Helper()
	st := r.stageConfig(name)
	cut := &connCutter{}
	s, err := New(Options{Stage: st, Pipeline: "test", Brokers: r.h.addrs,
		Logger: r.h.log.With(zap.String("instance", name)),
		KafkaOpts: []kgo.Opt{
			kgo.SessionTimeout(rebalanceSession),
			kgo.HeartbeatInterval(rebalanceHeartbeat),
			kgo.Dialer(cut.dial),
			kgo.RetryTimeoutFn(cut.retryTimeout),
		}})
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{name: name, s: s, cancel: cancel, cut: cut, finished: make(chan struct{}),
		expendable: name == "B" && r.c.exit == exitCrash}
	go func() {
		defer close(in.finished)
		in.runErr = s.Run(ctx)
	}()
	r.t.Cleanup(func() { in.stop(90 * time.Second) })
	r.inst = append(r.inst, in)
	return in
}

// stop cancels the instance (a soft stop) and returns Run's error.
func (in *instance) stop(timeout time.Duration) error {
	in.stopping.Store(true)
	in.cancel()
	select {
	case <-in.finished:
		return in.runErr
	case <-time.After(timeout):
		return fmt.Errorf("instance %s did not stop within %s", in.name, timeout)
	}
}

// checkAlive fails the test when an instance's Run ended without being
// stopped: the stage failed, and waiting for its output is pointless.
func (r *rebalanceRun) checkAlive() {
	r.t.Helper()
	for _, in := range r.inst {
		select {
		case <-in.finished:
			if !in.stopping.Load() && in.expendable {
				in.stopping.Store(true)
				r.t.Logf("instance %s stopped by itself before its crash: %v", in.name, in.runErr)
			}
			if !in.stopping.Load() {
				r.dumpLogs()
				r.t.Fatalf("instance %s stopped by itself (%d of %d keys out): %v", in.name, r.out.unique(), r.n, in.runErr)
			}
		default:
		}
	}
}

// crash makes the instance vanish the way a killed process does as far as
// Kafka can tell: every connection is cut first (no commit, no LeaveGroup,
// no more produce; the group notices at the session timeout), then the
// stage is stopped with its 100ms shutdown timeout so its nodes are killed
// and nothing more is finished. A real SIGKILL is the chaos harness's.
func (in *instance) crash() {
	in.stopping.Store(true)
	in.cut.cutAll()
	in.cancel()
}

// connCutter is a kgo.Dialer whose connections can all be cut at once.
type connCutter struct {
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

var errCut = errors.New("connection cut by the test (simulated crash)")

func (c *connCutter) dial(ctx context.Context, network, host string) (net.Conn, error) {
	conn, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		conn.Close()
		return nil, errCut
	}
	c.conns = append(c.conns, conn)
	return conn, nil
}

func (c *connCutter) cutAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = true
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// retryTimeout is franz-go's default until the cut; after it, requests give
// up at once, so the crashed stage's Run ends in a moment instead of
// retrying commits and a LeaveGroup that can never arrive.
func (c *connCutter) retryTimeout(key int16) time.Duration {
	c.mu.Lock()
	cut := c.cut
	c.mu.Unlock()
	switch {
	case cut:
		return 100 * time.Millisecond
	case key == kmsg.JoinGroup.Int16(), key == kmsg.SyncGroup.Int16(), key == kmsg.Heartbeat.Int16():
		return rebalanceSession
	default:
		return 30 * time.Second
	}
}

// waitTopics waits until the broker's metadata shows the case's topics: a
// busy Apache Kafka can take seconds to, and a stage gives up on a topic
// it does not see within five.
func (r *rebalanceRun) waitTopics() {
	r.t.Helper()
	topics := []string{r.h.in, r.h.out, r.h.alerts, r.h.dlq}
	deadline := time.Now().Add(90 * time.Second)
	for {
		md, err := r.h.adm.Metadata(context.Background(), topics...)
		missing := ""
		if err != nil {
			missing = err.Error()
		}
		for _, tp := range topics {
			if td, ok := md.Topics[tp]; missing == "" && (!ok || td.Err != nil || len(td.Partitions) == 0) {
				missing = tp
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("topics not visible after 90s: %s", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitProgress waits until at least want distinct keys came out.
func (r *rebalanceRun) waitProgress(want int, phase string) {
	r.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for r.out.unique() < want {
		r.checkAlive()
		if time.Now().After(deadline) {
			r.dumpLogs()
			r.t.Fatalf("%s: %d distinct keys out after 90s, want %d", phase, r.out.unique(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitWorking waits until a newly started instance has records: the group
// gave it partitions while the input still flows.
func (r *rebalanceRun) waitWorking(in *instance) {
	r.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for in.s.Stats().Consumed == 0 {
		r.checkAlive()
		if time.Now().After(deadline) {
			r.t.Fatalf("instance %s got no records within 90s (%d of %d keys out)", in.name, r.out.unique(), r.n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitAllKeys waits until every input key came out, and names the missing
// ones (with where they were written) if some never do.
func (r *rebalanceRun) waitAllKeys(input *sync.Map, timeout time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for r.out.unique() < r.n {
		r.checkAlive()
		if time.Now().After(deadline) {
			seen := r.out.keys()
			var missing []string
			byPart := map[int32]int{}
			input.Range(func(k, v any) bool {
				if !seen[k.(string)] {
					p := v.(srcPos)
					byPart[p.partition]++
					if len(missing) < 20 {
						missing = append(missing, fmt.Sprintf("%s@%d/%d", k, p.partition, p.offset))
					}
				}
				return true
			})
			r.dumpLogs()
			r.t.Fatalf("LOSS: %d of %d keys out after %s; missing per source partition %v; e.g. %v",
				len(seen), r.n, timeout, byPart, missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// check asserts lineage, order and (exactly-once) no duplicates, and logs
// the at-least-once duplicate count.
func (r *rebalanceRun) check(input *sync.Map, outs map[int32][]outRec) {
	t := r.t
	total, dups := 0, 0
	seen := map[string]bool{}
	dupsBySrc := map[int32]int{}
	for op, recs := range outs {
		// For each source partition, the first occurrences of its records
		// in this output partition must come in source-offset order.
		last := map[int32]int64{}
		for _, o := range recs {
			total++
			v, ok := input.Load(o.key)
			if !ok {
				t.Fatalf("output %q (partition %d) is no input key", o.key, op)
			}
			if p := v.(srcPos); p.partition != o.srcPart || p.offset != o.srcOff {
				t.Fatalf("output %q names its source as %d/%d, it was written to %d/%d", o.key, o.srcPart, o.srcOff, p.partition, p.offset)
			}
			if seen[o.key] {
				dups++
				dupsBySrc[o.srcPart]++
				continue
			}
			seen[o.key] = true
			if prev, ok := last[o.srcPart]; ok && o.srcOff <= prev {
				t.Fatalf("ORDER: output partition %d: source %d/%d first appears after %d/%d", op, o.srcPart, o.srcOff, o.srcPart, prev)
			}
			last[o.srcPart] = o.srcOff
		}
	}
	if len(seen) != r.n {
		t.Fatalf("LOSS: %d of %d keys in the output", len(seen), r.n)
	}
	var per []string
	for _, in := range r.inst {
		st := in.s.Stats()
		per = append(per, fmt.Sprintf("%s consumed %d produced %d", in.name, st.Consumed, st.Produced))
	}
	abandoned := r.h.logs.FilterMessage("partition revoked before its records finished; abandoning them for the next owner").Len()
	aborted := r.h.logs.FilterMessageSnippet("transaction aborted").Len()
	t.Logf("%s eos=%v: %d in, %d out, %d duplicates (per source partition %v); %d revokes abandoned in-flight records, %d transactions aborted; %s",
		r.c.name, r.eos, r.n, total, dups, dupsBySrc, abandoned, aborted, strings.Join(per, ", "))
	if os.Getenv("SLUICE_REBALANCE_LOGS") == "1" {
		r.dumpLogs()
	}
	if r.eos && dups > 0 {
		r.dumpLogs()
		t.Fatalf("DUPLICATES: exactly-once output holds %d duplicates (per source partition %v)", dups, dupsBySrc)
	}
}

// checkCommitted asserts the group committed the input's end offsets.
func (r *rebalanceRun) checkCommitted() {
	ends, committed := r.h.endOffsets(), r.h.committed(r.h.group)
	for p, end := range ends {
		if committed[p] != end {
			r.t.Fatalf("partition %d: committed %d, end %d (all instances stopped cleanly)", p, committed[p], end)
		}
	}
}

// dumpLogs logs the runtime's warnings and rebalance lines, for a failure.
func (r *rebalanceRun) dumpLogs() {
	for _, e := range r.h.logs.All() {
		if e.Level < zap.WarnLevel && !strings.Contains(e.Message, "partitions") && !strings.Contains(e.Message, "transaction") {
			continue
		}
		f := e.ContextMap()
		r.t.Logf("log %s %s %s %v", e.Time.Format("15:04:05.000"), e.Level, e.Message, f)
	}
}

// outRec is one output record, as the test needs it.
type outRec struct {
	key     string
	srcPart int32
	srcOff  int64
}

// outputCollector reads the output topic from the start for the whole
// case, keeping each partition's records in order.
type outputCollector struct {
	t    *testing.T
	h    *harness
	cl   *kgo.Client
	stop context.CancelFunc
	done chan struct{}

	mu        sync.Mutex
	parts     map[int32][]outRec
	seen      map[string]bool
	sentinels map[int32]bool
	nUnique   atomic.Int64
}

const sentinelKey = "sentinel"

func collectOutputs(t *testing.T, h *harness, readCommitted bool) *outputCollector {
	opts := []kgo.Opt{kgo.SeedBrokers(h.addrs...), kgo.ConsumeTopics(h.out),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200 * time.Millisecond)}
	if readCommitted {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &outputCollector{t: t, h: h, cl: cl, stop: cancel, done: make(chan struct{}),
		parts: map[int32][]outRec{}, seen: map[string]bool{}, sentinels: map[int32]bool{}}
	go c.run(ctx)
	t.Cleanup(func() { cancel(); <-c.done; cl.Close() })
	return c
}

func (c *outputCollector) run(ctx context.Context) {
	defer close(c.done)
	for ctx.Err() == nil {
		fs := c.cl.PollFetches(ctx)
		c.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			k := string(r.Key)
			if k == sentinelKey {
				c.sentinels[r.Partition] = true
				return
			}
			sp, _ := strconv.ParseInt(header(r, HeaderSourcePartition), 10, 32)
			so, _ := strconv.ParseInt(header(r, HeaderSourceOffset), 10, 64)
			c.parts[r.Partition] = append(c.parts[r.Partition], outRec{key: k, srcPart: int32(sp), srcOff: so})
			if !c.seen[k] {
				c.seen[k] = true
				c.nUnique.Add(1)
			}
		})
		c.mu.Unlock()
	}
}

func (c *outputCollector) unique() int { return int(c.nUnique.Load()) }

func (c *outputCollector) keys() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]bool, len(c.seen))
	for k := range c.seen {
		out[k] = true
	}
	return out
}

// drain writes a sentinel to every output partition (after every instance
// stopped) and waits until the collector read them all: then it has read
// everything written before, whatever the isolation level. It returns the
// records per output partition.
func (c *outputCollector) drain() map[int32][]outRec {
	c.t.Helper()
	ends, err := c.h.adm.ListEndOffsets(context.Background(), c.h.out)
	if err != nil {
		c.t.Fatal(err)
	}
	var parts []int32
	ends.Each(func(o kadm.ListedOffset) { parts = append(parts, o.Partition) })
	slices.Sort(parts)
	manual, err := kgo.NewClient(kgo.SeedBrokers(c.h.addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		c.t.Fatal(err)
	}
	defer manual.Close()
	for _, p := range parts {
		rec := &kgo.Record{Topic: c.h.out, Partition: p, Key: []byte(sentinelKey)}
		if err := manual.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
			c.t.Fatalf("writing the sentinel to %d: %v", p, err)
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		c.mu.Lock()
		all := len(c.sentinels) == len(parts)
		c.mu.Unlock()
		if all {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the output's end (sentinels) not read within 90s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.stop()
	<-c.done
	return c.parts
}
