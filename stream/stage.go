package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream/codec"
)

// Options configure a Stage.
type Options struct {
	// Stage is the stage's section of the pipeline file, with defaults
	// applied (config.Load does that; for a Stage built in Go call
	// ApplyDefaults).
	Stage config.Stage
	// Pipeline names the pipeline (used for the default group id).
	Pipeline string
	// Brokers are the Kafka bootstrap brokers.
	Brokers []string
	// ClientID is the Kafka client id; default "sluice".
	ClientID string
	// Logger receives the stage's structured log; default: no logging.
	Logger *zap.Logger
	// KafkaOpts are extra franz-go options (TLS, SASL, ...), applied last.
	KafkaOpts []kgo.Opt
	// SecretEnv names environment variables that hold the runtime's Kafka
	// credentials (config.Kafka.SecretEnv): nodes do not inherit them,
	// unless the stage's node.env sets them explicitly.
	SecretEnv []string
	// Bounded, when set, runs the stage over a fixed range of its input
	// instead of as a member of its consumer group (see Bounds).
	Bounded *Bounds
	// Registry, when set, receives the stage's Prometheus metrics (see
	// docs/metrics.md) and its Kafka client's (namespace sluice_kafka);
	// the stages of one process share one registry. Nil: no metrics.
	Registry *prometheus.Registry
	// StartTraces makes the stage start a W3C trace for each input record
	// without a traceparent header: its outputs get a traceparent with a
	// new trace id. Either way, an input's valid traceparent is continued
	// (same trace id, a new span id per output). sluice up and run set it.
	StartTraces bool
	// InstanceID names this instance of the stage for exactly-once
	// delivery: the transactional id is "<group>-<InstanceID>". Give a
	// restarted instance the same id (a StatefulSet pod name, say) and its
	// predecessor's open transaction is aborted at once instead of after
	// transaction.timeout. Two live instances must never share one. Empty:
	// a random id per start.
	InstanceID string
	// Codecs decode the input topic's values for the node and encode its
	// outputs with each output topic's codec (codec.Load builds them from
	// the pipeline file; Prepare them first for Confluent-wire topics).
	// Nil: every topic is raw.
	Codecs *codec.Set
}

// Stage runs one stage: the unit of deployment. Create it with New and call
// Run; run several instances (processes) of the same stage to scale: the
// consumer group splits the partitions between them.
type Stage struct {
	cfg     *config.Stage
	opts    Options
	log     *zap.Logger
	cl      *kgo.Client
	tracker *tracker
	workers []*worker
	started []bool // per worker: the node has been started once

	softCtx, hardCtx       context.Context
	cancelSoft, cancelHard context.CancelFunc
	pollDone               chan struct{}

	failMu  sync.Mutex
	failErr error

	ready    atomic.Bool
	readyN   atomic.Int32
	stats    counters
	metrics  *stageMetrics // nil without a registry
	progress progress
	outputs  map[string]string
	codecs   stageCodecs // typed topics (codecs.go); zero: all raw
	lineage  lineage
	bounded  *bounded  // nil: the normal, consumer group mode
	txn      *txnState // nil unless the stage is exactly-once
	// dlqCap is the DLQ rate cap (dlqlimit.go), made on first use.
	dlqCapOnce sync.Once
	dlqCap     *dlqLimit
	// maxBatch is each output topic's max.message.bytes, read in preflight
	// (before anything is produced) so large records the topic accepts are
	// not refused by the client.
	maxBatch map[string]int32
}

// New checks the options and prepares a stage; it does not connect.
func New(opts Options) (*Stage, error) {
	st := opts.Stage
	if st.Name == "" || st.Input == "" || st.Node.Command == "" {
		return nil, errors.New("stream: a stage needs a name, an input topic and a node command")
	}
	st.ApplyDefaults(opts.Pipeline)
	if len(opts.Brokers) == 0 {
		opts.Brokers = []string{config.DefaultBrokers}
	}
	if opts.ClientID == "" {
		opts.ClientID = "sluice"
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Stage{
		cfg:      &st,
		opts:     opts,
		log:      log.With(zap.String("stage", st.Name)),
		tracker:  newTracker(st.Window.Records, st.Window.Bytes),
		started:  make([]bool, st.Workers),
		pollDone: make(chan struct{}),
		outputs:  st.Outputs,
		lineage:  newLineage(st.Name, st.Input),
	}
	s.codecs = newStageCodecs(opts.Codecs, s.cfg)
	if opts.Bounded != nil {
		s.bounded = newBounded(*opts.Bounded)
		if opts.Bounded.Tag != "" {
			s.lineage.extra = []kgo.RecordHeader{{Key: HeaderReplay, Value: []byte(opts.Bounded.Tag)}}
		}
	}
	if st.Delivery == config.DeliveryExactlyOnce && opts.Bounded == nil {
		// A bounded run (replay) has no group to commit to, so it is
		// never transactional; its outputs carry idempotency keys.
		s.txn = newTxnState(st.Group, opts.InstanceID)
	}
	for i := range st.Workers {
		s.workers = append(s.workers, newWorker(s, i))
	}
	s.metrics = newStageMetrics(opts.Registry, s)
	return s, nil
}

// Name is the stage's name.
func (s *Stage) Name() string { return s.cfg.Name }

// Ready reports whether every worker's node has completed a handshake.
func (s *Stage) Ready() bool { return s.ready.Load() }

func (s *Stage) markReady() {
	if int(s.readyN.Add(1)) >= len(s.workers) {
		s.ready.Store(true)
	}
}

// Run consumes, processes and produces until ctx is cancelled or the stage
// fails. Cancelling ctx starts a soft stop: polling stops, in-flight records
// are finished and their offsets committed, nodes are asked to shut down;
// after Timeouts.Shutdown the remaining work is abandoned (hard stop), and
// nothing unfinished is committed. Run returns nil after a clean stop, or
// the error that failed the stage. A bounded stage (Options.Bounded) also
// stops by itself, once its whole range is read, processed and produced.
func (s *Stage) Run(ctx context.Context) error {
	s.softCtx, s.cancelSoft = context.WithCancel(ctx)
	s.hardCtx, s.cancelHard = context.WithCancel(context.WithoutCancel(ctx))
	defer s.cancelHard()
	defer s.cancelSoft()

	cl, err := s.newClient()
	if err != nil {
		return fmt.Errorf("stage %q: kafka client: %w", s.cfg.Name, err)
	}
	if err := s.preflight(ctx); err != nil {
		cl.Close()
		if ctx.Err() != nil {
			return nil // stopped before it started: not an error
		}
		return err
	}
	s.log.Info("stage starting", zap.String("input", s.cfg.Input), zap.String("group", s.cfg.Group),
		zap.Int("workers", len(s.workers)), zap.Strings("brokers", s.opts.Brokers), zap.Bool("bounded", s.bounded != nil))

	var workers sync.WaitGroup
	for _, w := range s.workers {
		workers.Add(1)
		go func() { defer workers.Done(); w.run() }()
	}
	commitDone := make(chan struct{})
	if s.bounded == nil && s.txn == nil {
		go func() { defer close(commitDone); s.commitLoop() }()
	} else {
		close(commitDone) // bounded: no group; exactly-once: transactions commit
	}
	// Soft stop: workers finish what they hold, bounded by the shutdown
	// timeout; then the producer is flushed and done offsets committed.
	// The clock starts when the stop is asked for, so an exactly-once
	// stage finishing its transaction is bounded too.
	var hardTimer *time.Timer
	var timerMu sync.Mutex
	stopTimer := context.AfterFunc(s.softCtx, func() {
		s.tracker.wake()
		timerMu.Lock()
		defer timerMu.Unlock()
		hardTimer = time.AfterFunc(s.cfg.Timeouts.Shutdown, func() {
			s.log.Warn("shutdown timeout reached; abandoning unfinished records (they were not committed)", zap.Duration("timeout", s.cfg.Timeouts.Shutdown))
			s.cancelHard()
			s.tracker.wake()
		})
	})

	switch {
	case s.bounded != nil:
		s.boundedPollLoop()
	case s.txn != nil:
		s.txnLoop()
	default:
		s.pollLoop()
	}
	close(s.pollDone)
	workers.Wait()
	flushCtx, cancel := context.WithTimeout(s.hardCtx, s.cfg.Timeouts.Shutdown)
	if err := s.cl.Flush(flushCtx); err != nil {
		s.log.Warn("flushing outputs at shutdown", zap.Error(err))
	}
	cancel()
	stopTimer()
	timerMu.Lock()
	if hardTimer != nil {
		hardTimer.Stop()
	}
	timerMu.Unlock()
	s.cancelHard()
	<-commitDone
	if s.bounded == nil && s.txn == nil {
		s.commit(s.tracker.all(), "shutdown")
	}
	s.cl.Close() // leaves the group; the revoke callback finds nothing in flight
	if err := s.err(); err != nil {
		return err
	}
	s.log.Info("stage stopped", zap.Int64("consumed", s.stats.consumed.Load()), zap.Int64("produced", s.stats.produced.Load()), zap.Int64("dlq", s.stats.dlq.Load()))
	return nil
}

func (s *Stage) kafkaOpts() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(s.opts.Brokers...),
		kgo.ClientID(s.opts.ClientID),
		kgo.WithLogger(zapLogger{s.log.With(zap.String("component", "kafka"))}),
	}
	if s.bounded != nil {
		opts = append(opts, s.boundedConsumerOpts()...)
	} else {
		opts = append(opts, s.groupConsumerOpts()...)
	}
	opts = append(opts,
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Bound what franz-go buffers ahead of the window: at most this
		// many fetches of at most FetchMaxBytes each.
		// 4 MiB at most: with many partitions the per-partition cap no
		// longer limits a fetch, and two 32 MiB fetches decoded into
		// records broke the 150 MB soak bound (scripts/soak.sh, 64
		// partitions: 177 MB before, 64 MB after, same throughput).
		kgo.FetchMaxBytes(int32(min(max(s.cfg.Window.Bytes/16, 1<<20), 4<<20))),
		kgo.MaxConcurrentFetches(2),
		// producer: idempotent (the default) with acks from all in-sync
		// replicas, so retries never duplicate or reorder a partition.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(max(2*s.cfg.Window.Records, 10000)),
		kgo.ProducerBatchMaxBytesFn(func(topic string) int32 {
			if n := s.maxBatch[topic]; n > 0 {
				return n
			}
			return 1000012 // Kafka's default max.message.bytes
		}),
	)
	if s.txn != nil {
		opts = append(opts, s.txn.kafkaOpts(s.cfg)...)
	}
	opts = append(opts, s.metrics.kafkaOpts()...)
	return append(opts, s.opts.KafkaOpts...)
}

// groupConsumerOpts are the consumer options of the normal mode: a member
// of the stage's consumer group with manual commits.
func (s *Stage) groupConsumerOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumerGroup(s.cfg.Group),
		kgo.ConsumeTopics(s.cfg.Input),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(s.onAssigned),
		kgo.OnPartitionsRevoked(s.revokeHandler()),
		kgo.OnPartitionsLost(s.lostHandler()),
		kgo.Balancers(balancer(s.cfg.Assignor)),
		// A new group starts at the beginning: a pipeline must not skip
		// what was produced before its first start.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}
}

// balancer maps the stage's assignor setting onto franz-go's balancer.
func balancer(name string) kgo.GroupBalancer {
	switch name {
	case config.AssignorSticky:
		return kgo.StickyBalancer()
	case config.AssignorRange:
		return kgo.RangeBalancer()
	case config.AssignorRoundRobin:
		return kgo.RoundRobinBalancer()
	default:
		return kgo.CooperativeStickyBalancer()
	}
}

// preflight checks that every topic the stage uses exists, so a typo is one
// clear error instead of a stage that waits forever.
func (s *Stage) preflight(ctx context.Context) error {
	adm := kadm.NewClient(s.cl)
	need := []string{s.cfg.Input, s.cfg.DLQ}
	for _, t := range s.cfg.Outputs {
		need = append(need, t)
	}
	mctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// A topic created a moment ago (sluice up creates them just before
	// the stages start) can take a few hundred milliseconds to appear in
	// a real cluster's metadata: look again for a few seconds before
	// calling it missing.
	missingUntil := time.Now().Add(5 * time.Second)
	for {
		md, err := adm.Metadata(mctx, need...)
		if err != nil {
			return fmt.Errorf("stage %q: cannot reach Kafka at %v: %w", s.cfg.Name, s.opts.Brokers, err)
		}
		missing := ""
		for _, t := range need {
			if td, ok := md.Topics[t]; !ok || td.Err != nil {
				missing = t
				break
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(missingUntil) {
			return fmt.Errorf("%w: stage %q needs topic %q (create the pipeline's topics with \"sluice topics create --config FILE\")", ErrTopicMissing, s.cfg.Name, missing)
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-mctx.Done():
			return fmt.Errorf("stage %q: cannot reach Kafka at %v: %w", s.cfg.Name, s.opts.Brokers, mctx.Err())
		}
	}
	s.maxBatch = map[string]int32{}
	for _, t := range need {
		s.maxBatch[t] = TopicMaxMessageBytes(mctx, adm, t)
	}
	return nil
}

// pollLoop fetches while the window has room and hands records to workers.
func (s *Stage) pollLoop() {
	for {
		n := s.tracker.waitFree(s.softCtx.Done())
		if n == 0 || s.softCtx.Err() != nil {
			return
		}
		fetches := s.cl.PollRecords(s.softCtx, n)
		if fetches.IsClientClosed() {
			s.cl.AllowRebalance()
			return
		}
		s.logFetchErrors(fetches)
		s.dispatch(fetches)
		s.cl.AllowRebalance()
	}
}

// dispatch registers polled records with the tracker and hands each
// partition's records to its worker; it returns how many there were.
func (s *Stage) dispatch(fetches kgo.Fetches) int {
	total := 0
	if n, _ := s.tracker.inFlight(); n == 0 {
		s.progress.mark() // idle until now: the stall clock starts here
	}
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		s.metrics.fetched(fp)
		if len(fp.Records) == 0 {
			return
		}
		c := s.tracker.add(fp.Records)
		if s.txn != nil {
			s.txn.blame.recall(c.recs)
		}
		recs := make([]*inflight, len(c.recs))
		for i := range c.recs {
			recs[i] = &c.recs[i]
		}
		s.workerFor(fp.Partition).enqueue(recs)
		total += len(recs)
	})
	s.stats.consumed.Add(int64(total))
	s.metrics.addConsumed(total)
	return total
}

// logFetchErrors logs fetch errors, except those of our own stopping.
func (s *Stage) logFetchErrors(fetches kgo.Fetches) {
	fetches.EachError(func(t string, p int32, err error) {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn("fetch error", zap.String("topic", t), zap.Int32("partition", p), zap.Error(err))
		}
	})
}

// workerFor routes a partition to a worker: always the same one, so the
// records of a partition are processed in order by one node.
func (s *Stage) workerFor(partition int32) *worker {
	return s.workers[int(partition)%len(s.workers)]
}

// fail records the first fatal error and starts a soft stop.
func (s *Stage) fail(err error) {
	s.failMu.Lock()
	first := s.failErr == nil
	if first {
		s.failErr = err
	}
	s.failMu.Unlock()
	if first {
		s.log.Error("stage failed; stopping", zap.Error(err))
		s.cancelSoft()
	}
}

func (s *Stage) err() error {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	return s.failErr
}

// backoff is the delay before restart number n (n >= 1): exponential from
// Backoff.Initial, capped at Backoff.Max, with ±20% jitter so that many
// workers do not restart in lockstep.
func (s *Stage) backoff(n int) time.Duration {
	return backoffDelay(s.cfg.Backoff.Initial, s.cfg.Backoff.Max, n)
}
