package stream

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Transaction metrics of exactly-once stages (docs/metrics.md).
const (
	MetricTransactions        = "sluice_transactions_total"
	MetricTransactionDuration = "sluice_transaction_duration_seconds"
)

// Outcomes of MetricTransactions.
const (
	TxnCommitted = "committed"
	TxnAborted   = "aborted"
	// TxnFailed: ending the transaction failed, so its outcome is unknown
	// to the stage (it rejoins and resumes from what Kafka committed).
	TxnFailed = "failed"
)

type txnMetrics struct {
	outcomes map[string]prometheus.Counter
	duration prometheus.Observer
}

func newTxnMetrics(reg prometheus.Registerer, stage string) *txnMetrics {
	count := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricTransactions,
		Help: "Transactions of an exactly-once stage, by outcome: committed, aborted (rebalance, failed write, stop), failed (outcome unknown)."},
		[]string{"stage", "outcome"}))
	dur := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricTransactionDuration,
		Help:    "From a transaction's first poll to its end (commit or abort).",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}},
		[]string{"stage"}))
	m := &txnMetrics{outcomes: map[string]prometheus.Counter{}, duration: dur.WithLabelValues(stage)}
	for _, o := range []string{TxnCommitted, TxnAborted, TxnFailed} {
		m.outcomes[o] = count.WithLabelValues(stage, o)
	}
	return m
}

// addTxn counts one ended transaction.
func (m *stageMetrics) addTxn(outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.txn.outcomes[outcome].Inc()
	m.txn.duration.Observe(took.Seconds())
}
