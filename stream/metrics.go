package stream

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"
)

// Metric names (see docs/metrics.md). The vectors are shared by every stage
// of a registry and told apart by their "stage" label.
const (
	MetricConsumed       = "sluice_records_consumed_total"
	MetricProduced       = "sluice_records_produced_total"
	MetricDLQ            = "sluice_records_dlq_total"
	MetricFiltered       = "sluice_records_filtered_total"
	MetricRetried        = "sluice_records_retried_total"
	MetricBatchDuration  = "sluice_node_batch_duration_seconds"
	MetricInflightRecs   = "sluice_inflight_records"
	MetricInflightBytes  = "sluice_inflight_bytes"
	MetricNodeRestarts   = "sluice_node_restarts_total"
	MetricCommitDuration = "sluice_commit_duration_seconds"
	MetricCommitFailures = "sluice_commit_failures_total"
	// MetricDLQWriteFailures counts DLQ records dropped because they could
	// not be written (dlq_policy.on_write_failure: drop).
	MetricDLQWriteFailures = "sluice_dlq_write_failures_total"
	MetricLag              = "sluice_consumergroup_lag"
	// KafkaMetricsNamespace prefixes franz-go's client metrics (kprom).
	KafkaMetricsNamespace = "sluice_kafka"
)

// Restart reasons of MetricNodeRestarts.
const (
	RestartCrash    = "crash"
	RestartTimeout  = "timeout"
	RestartProtocol = "protocol"
	RestartStart    = "start"
)

// metricVecs are the vectors of one registry.
type metricVecs struct {
	consumed, filtered, retried, commitFailures *prometheus.CounterVec
	produced, dlq, restarts                     *prometheus.CounterVec
	batchDur, commitDur                         *prometheus.HistogramVec
	lag                                         *prometheus.GaugeVec
	dlqWriteFailures                            *prometheus.CounterVec
}

// register registers c, or returns the collector already registered under
// the same description (several stages share one registry).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

func newMetricVecs(reg prometheus.Registerer) *metricVecs {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, append([]string{"stage"}, labels...)))
	}
	// Node batches take from sub-millisecond (a Go filter) to seconds (a
	// model); commits a few milliseconds.
	buckets := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	hist := func(name, help string) *prometheus.HistogramVec {
		return register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, []string{"stage"}))
	}
	return &metricVecs{
		consumed:       counter(MetricConsumed, "Input records polled by the stage."),
		produced:       counter(MetricProduced, "Output records handed to the producer, by output name.", "output"),
		dlq:            counter(MetricDLQ, "Input records sent to the stage's dead-letter topic, by error kind.", "kind"),
		filtered:       counter(MetricFiltered, "Input records the node answered with no output."),
		retried:        counter(MetricRetried, "Input records sent to a node again because they failed: in flight when it crashed, hung or broke the protocol, or answered retriable."),
		restarts:       counter(MetricNodeRestarts, "Node processes that failed and were restarted, by reason: crash, timeout, protocol, start.", "reason"),
		commitFailures: counter(MetricCommitFailures, "Offset commits (or partitions of one) that failed."),
		dlqWriteFailures: counter(MetricDLQWriteFailures,
			"DLQ records that could not be written and were dropped (dlq_policy.on_write_failure: drop): lost records."),
		batchDur:  hist(MetricBatchDuration, "Round trip of one batch: sent to the node until its answer arrived."),
		commitDur: hist(MetricCommitDuration, "Duration of a synchronous offset commit."),
		lag: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricLag,
			Help: "Records between the stage's committed offset and the partition's high watermark, as last seen by this instance."},
			[]string{"stage", "topic", "partition"})),
	}
}

// stageMetrics are the metrics of one stage; a nil *stageMetrics records
// nothing (no registry).
type stageMetrics struct {
	stage string
	v     *metricVecs

	consumed, filtered, retried, commitFailures prometheus.Counter
	produced                                    map[string]prometheus.Counter // by output name
	batchDur, commitDur                         prometheus.Observer

	lagMu sync.Mutex
	lag   map[tpKey]*lagState

	kafka *kprom.Metrics
	txn   *txnMetrics // see metrics_txn.go
}

type lagState struct {
	hwm, committed int64 // -1: unknown
}

func newStageMetrics(reg *prometheus.Registry, s *Stage) *stageMetrics {
	if reg == nil {
		return nil
	}
	v := newMetricVecs(reg)
	name := s.cfg.Name
	m := &stageMetrics{
		stage: name, v: v,
		consumed: v.consumed.WithLabelValues(name), filtered: v.filtered.WithLabelValues(name),
		retried: v.retried.WithLabelValues(name), commitFailures: v.commitFailures.WithLabelValues(name),
		produced:  map[string]prometheus.Counter{},
		batchDur:  v.batchDur.WithLabelValues(name),
		commitDur: v.commitDur.WithLabelValues(name),
		lag:       map[tpKey]*lagState{},
	}
	for out := range s.cfg.Outputs {
		m.produced[out] = v.produced.WithLabelValues(name, out)
	}
	// Zero-valued series from the start, so rates and alerts see them.
	for _, k := range []string{KindNodeError, KindNodeRetriable, KindCrash, KindTimeout, KindProtocol, KindUnknownOutput, KindTooLarge, KindSchema} {
		v.dlq.WithLabelValues(name, k)
	}
	for _, r := range []string{RestartCrash, RestartTimeout, RestartProtocol, RestartStart} {
		v.restarts.WithLabelValues(name, r)
	}
	v.dlqWriteFailures.WithLabelValues(name)
	// In-flight gauges read the tracker at scrape time: always exact.
	for _, g := range []struct {
		name, help string
		fn         func() float64
	}{
		{MetricInflightRecs, "Input records polled and not yet done (produced and acknowledged).",
			func() float64 { n, _ := s.tracker.inFlight(); return float64(n) }},
		{MetricInflightBytes, "Key and value bytes of the in-flight input records (with the values decoded for the node, typed input topics).",
			func() float64 { _, b := s.tracker.inFlight(); return float64(b) }},
	} {
		gf := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: g.name, Help: g.help, ConstLabels: prometheus.Labels{"stage": name}}, g.fn)
		if err := reg.Register(gf); err != nil {
			// A stage of the same name registered before (a restart in
			// the same process): the new one replaces it.
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				reg.Unregister(are.ExistingCollector)
				reg.MustRegister(gf)
			}
		}
	}
	// franz-go's client metrics; the stage label keeps the clients of
	// several stages apart on one registry.
	m.kafka = kprom.NewMetrics(KafkaMetricsNamespace, kprom.Registry(reg), kprom.WithStaticLabel(prometheus.Labels{"stage": name}))
	m.txn = newTxnMetrics(reg, name)
	return m
}

func (m *stageMetrics) addConsumed(n int) {
	if m != nil && n > 0 {
		m.consumed.Add(float64(n))
	}
}

func (m *stageMetrics) addProduced(output string, n int) {
	if m == nil {
		return
	}
	c, ok := m.produced[output]
	if !ok {
		c = m.v.produced.WithLabelValues(m.stage, output)
	}
	c.Add(float64(n))
}

func (m *stageMetrics) addDLQ(kind string) {
	if m != nil {
		m.v.dlq.WithLabelValues(m.stage, kind).Inc()
	}
}

func (m *stageMetrics) addFiltered() {
	if m != nil {
		m.filtered.Inc()
	}
}

func (m *stageMetrics) addRetried(n int) {
	if m != nil && n > 0 {
		m.retried.Add(float64(n))
	}
}

func (m *stageMetrics) addDLQWriteFailure() {
	if m != nil {
		m.v.dlqWriteFailures.WithLabelValues(m.stage).Inc()
	}
}

func (m *stageMetrics) addRestart(reason string) {
	if m != nil {
		m.v.restarts.WithLabelValues(m.stage, reason).Inc()
	}
}

func (m *stageMetrics) observeBatch(d time.Duration) {
	if m != nil {
		m.batchDur.Observe(d.Seconds())
	}
}

func (m *stageMetrics) observeCommit(d time.Duration) {
	if m != nil {
		m.commitDur.Observe(d.Seconds())
	}
}

func (m *stageMetrics) addCommitFailure() {
	if m != nil {
		m.commitFailures.Inc()
	}
}

func (m *stageMetrics) kafkaOpts() []kgo.Opt {
	if m == nil {
		return nil
	}
	return []kgo.Opt{kgo.WithHooks(m.kafka)}
}

// fetched updates the lag of a partition from a fetch: its high watermark,
// and, when this instance has not committed it yet, the first offset
// fetched (where the group's committed offset stood).
func (m *stageMetrics) fetched(fp kgo.FetchTopicPartition) {
	if m == nil || fp.Err != nil || fp.HighWatermark < 0 {
		return
	}
	m.lagMu.Lock()
	defer m.lagMu.Unlock()
	k := tpKey{fp.Topic, fp.Partition}
	st := m.lag[k]
	if st == nil {
		st = &lagState{hwm: -1, committed: -1}
		m.lag[k] = st
	}
	st.hwm = fp.HighWatermark
	if st.committed < 0 && len(fp.Records) > 0 {
		st.committed = fp.Records[0].Offset
	}
	m.setLag(k, st)
}

// committed updates the lag of committed partitions.
func (m *stageMetrics) committed(offs map[string]map[int32]kgo.EpochOffset) {
	if m == nil {
		return
	}
	m.lagMu.Lock()
	defer m.lagMu.Unlock()
	for topic, ps := range offs {
		for p, eo := range ps {
			k := tpKey{topic, p}
			st := m.lag[k]
			if st == nil {
				st = &lagState{hwm: -1, committed: -1}
				m.lag[k] = st
			}
			st.committed = eo.Offset
			m.setLag(k, st)
		}
	}
}

// forget drops the lag series of partitions this instance no longer owns,
// so that a sum over instances counts each partition once.
func (m *stageMetrics) forget(parts []*partState) {
	if m == nil {
		return
	}
	m.lagMu.Lock()
	defer m.lagMu.Unlock()
	for _, p := range parts {
		k := tpKey{p.topic, p.partition}
		delete(m.lag, k)
		m.v.lag.DeleteLabelValues(m.stage, p.topic, strconv.Itoa(int(p.partition)))
	}
}

func (m *stageMetrics) setLag(k tpKey, st *lagState) {
	if st.hwm < 0 {
		return
	}
	lag := int64(0)
	if st.committed >= 0 {
		lag = max(st.hwm-st.committed, 0)
	}
	m.v.lag.WithLabelValues(m.stage, k.topic, strconv.Itoa(int(k.partition))).Set(float64(lag))
}

// Progress and stalls.

// progress remembers when the stage last completed a record (or started
// work after being idle), for Stalled.
type progress struct{ last atomic.Int64 }

func (p *progress) mark() { p.last.Store(time.Now().UnixNano()) }

// Stalled reports whether the stage has records in flight but has
// completed none of them for longer than its batch timeout, and for how
// long nothing completed.
func (s *Stage) Stalled() (bool, time.Duration) {
	n, _ := s.tracker.inFlight()
	if n == 0 {
		return false, 0
	}
	last := s.progress.last.Load()
	if last == 0 {
		return false, 0
	}
	since := time.Since(time.Unix(0, last))
	return since > s.cfg.Timeouts.Batch, since
}

// BatchTimeout is the stage's timeouts.batch.
func (s *Stage) BatchTimeout() time.Duration { return s.cfg.Timeouts.Batch }

// Trace context (W3C traceparent).

// traceIDs returns a random trace id (16 bytes, not all zero). The ids come
// from math/rand/v2's top-level generator — a ChaCha8 stream per thread,
// seeded by the runtime from the OS — which is fast, safe for concurrent
// use and unpredictable enough for trace ids (they are not secrets); if it
// ever returned zero, crypto/rand is asked instead.
func newTraceID() (id [16]byte) {
	for {
		putU64(id[:8], mrand.Uint64())
		putU64(id[8:], mrand.Uint64())
		if id != ([16]byte{}) {
			return id
		}
		rand.Read(id[:])
	}
}

func newSpanID() (id [8]byte) {
	for id == ([8]byte{}) {
		putU64(id[:], mrand.Uint64())
	}
	return id
}

func putU64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

// parseTraceparent returns the trace id and flags of a valid traceparent
// value (version 00, or a later version's first four fields).
func parseTraceparent(v []byte) (traceID [16]byte, flags byte, ok bool) {
	if len(v) < 55 || (len(v) > 55 && (string(v[:2]) == "00" || v[55] != '-')) {
		return traceID, 0, false
	}
	if v[2] != '-' || v[35] != '-' || v[52] != '-' || string(v[:2]) == "ff" {
		return traceID, 0, false
	}
	var ver, span [8]byte
	var fl [1]byte
	if _, err := hex.Decode(ver[:1], v[:2]); err != nil {
		return traceID, 0, false
	}
	if _, err := hex.Decode(traceID[:], v[3:35]); err != nil || traceID == ([16]byte{}) {
		return traceID, 0, false
	}
	if _, err := hex.Decode(span[:], v[36:52]); err != nil || span == ([8]byte{}) {
		return traceID, 0, false
	}
	if _, err := hex.Decode(fl[:], v[53:55]); err != nil {
		return traceID, 0, false
	}
	return traceID, fl[0], true
}

// formatTraceparent builds a version 00 traceparent value.
func formatTraceparent(traceID [16]byte, spanID [8]byte, flags byte) []byte {
	b := make([]byte, 55)
	b[0], b[1], b[2] = '0', '0', '-'
	hex.Encode(b[3:35], traceID[:])
	b[35] = '-'
	hex.Encode(b[36:52], spanID[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{flags})
	return b
}

// traceContext is the trace an input record's outputs belong to: the
// input's, or a new one when the input carries no traceparent. An input
// traceparent that does not parse is passed on unchanged (raw): it is
// somebody else's, and replacing it would break their tracing.
type traceContext struct {
	id    [16]byte
	flags byte
	raw   []byte
}

func inputTrace(r *kgo.Record, start bool) traceContext {
	for _, h := range r.Headers {
		if h.Key == HeaderTraceparent {
			if id, fl, ok := parseTraceparent(h.Value); ok {
				return traceContext{id: id, flags: fl}
			}
			return traceContext{raw: h.Value}
		}
	}
	if !start {
		return traceContext{}
	}
	return traceContext{id: newTraceID(), flags: 0x01}
}

// child is the traceparent of one output: the trace's id with a new span
// (nil: no trace).
func (tc traceContext) child() []byte {
	if tc.raw != nil {
		return tc.raw
	}
	if tc.id == ([16]byte{}) {
		return nil
	}
	return formatTraceparent(tc.id, newSpanID(), tc.flags)
}
