package config

import "time"

// Defaults of the file format. doc.go documents the same values; keep them
// in step.
const (
	defaultClientID         = "sluice"
	defaultPartitions       = 1
	defaultReplication      = -1 // the broker's default.replication.factor
	defaultWorkers          = 1
	defaultBatchRecords     = 500
	defaultBatchBytes       = 1 * mib
	defaultWindowRecords    = 10000
	defaultWindowBytes      = 64 * mib
	defaultWindowBatches    = 4
	defaultHandshake        = 10 * time.Second
	defaultBatchTimeout     = 30 * time.Second
	defaultDrain            = 20 * time.Second
	defaultShutdown         = 30 * time.Second
	defaultCommitInterval   = 1 * time.Second
	defaultRetries          = 3
	defaultBackoffInitial   = 100 * time.Millisecond
	defaultBackoffMax       = 10 * time.Second
	defaultMaxStartFailures = 5
	defaultMaxFrame         = 16 * mib
	defaultRetryAttempts    = 5
	defaultRetryInitial     = 200 * time.Millisecond
	defaultRetryMax         = 30 * time.Second
	defaultDLQWrite         = DLQWriteStop
	defaultDLQMaxRecords    = 100000
	defaultDLQPer           = time.Minute
	defaultTxnRecords       = 50000
	defaultTxnInterval      = 250 * time.Millisecond
	defaultTxnTimeout       = time.Minute
	defaultAssignor         = AssignorCooperativeSticky
	defaultFormat           = FormatRaw
	defaultCompatibility    = CompatBackward
	defaultWire             = WireSingleObject
	defaultNodeValues       = NodeValuesDecoded
)

// DefaultStage returns a stage with every default filled in. Input, Outputs
// and Node are left empty: they have no sensible default.
func DefaultStage(pipeline, name string) Stage {
	s := Stage{Name: name}
	s.ApplyDefaults(pipeline)
	return s
}

// ApplyDefaults fills every zero field with its default. It is meant for
// stages built in Go (tests, embedding); Parse applies defaults only to
// fields absent from the file, so that an explicit 0 is reported as a
// mistake instead of being silently replaced.
func (s *Stage) ApplyDefaults(pipeline string) {
	s.applyValueDefaults()
	s.applyNameDefaults(pipeline)
}

// applyValueDefaults fills the zero numeric and duration fields.
func (s *Stage) applyValueDefaults() {
	setInt(&s.Workers, defaultWorkers)
	setInt(&s.Batch.MaxRecords, defaultBatchRecords)
	setInt64(&s.Batch.MaxBytes, defaultBatchBytes)
	setInt(&s.Window.Records, defaultWindowRecords)
	setInt64(&s.Window.Bytes, defaultWindowBytes)
	setInt(&s.Window.Batches, defaultWindowBatches)
	setDur(&s.Timeouts.Handshake, defaultHandshake)
	setDur(&s.Timeouts.Batch, defaultBatchTimeout)
	setDur(&s.Timeouts.Drain, defaultDrain)
	setDur(&s.Timeouts.Shutdown, defaultShutdown)
	setDur(&s.CommitInterval, defaultCommitInterval)
	setInt(&s.Retries, defaultRetries)
	setDur(&s.Backoff.Initial, defaultBackoffInitial)
	setDur(&s.Backoff.Max, defaultBackoffMax)
	setInt(&s.MaxStartFailures, defaultMaxStartFailures)
	setInt64(&s.MaxFrame, defaultMaxFrame)
	setInt(&s.Retry.MaxAttempts, defaultRetryAttempts)
	setDur(&s.Retry.Initial, defaultRetryInitial)
	setDur(&s.Retry.Max, defaultRetryMax)
	setInt(&s.DLQPolicy.MaxRecords, defaultDLQMaxRecords)
	setDur(&s.DLQPolicy.Per, defaultDLQPer)
	setInt(&s.Transaction.MaxRecords, defaultTxnRecords)
	setDur(&s.Transaction.Interval, defaultTxnInterval)
	setDur(&s.Transaction.Timeout, defaultTxnTimeout)
}

// applyNameDefaults fills the empty string fields. It runs after the whole
// file is decoded because the group depends on the pipeline name, which may
// come after the stages in the file.
func (s *Stage) applyNameDefaults(pipeline string) {
	if s.Group == "" {
		s.Group = defaultGroup(pipeline, s.Name)
	}
	if s.DLQ == "" && s.Name != "" {
		s.DLQ = defaultDLQ(s.Name)
	}
	if s.Delivery == "" {
		s.Delivery = DeliveryAtLeastOnce
	}
	if s.DLQPolicy.OnWriteFailure == "" {
		s.DLQPolicy.OnWriteFailure = defaultDLQWrite
	}
	if s.Assignor == "" {
		s.Assignor = defaultAssignor
	}
	if s.Node.Values == "" {
		s.Node.Values = defaultNodeValues
	}
}

// ApplyDefaults fills a topic's zero fields with their defaults: 1
// partition, the broker's replication, no configs, format raw, and for
// Avro compatibility backward and the single-object wire form. It is
// meant for topics built in Go; Parse fills only the fields absent from
// the file (an explicit "partitions: 0" is a mistake), and declares the
// implicit DLQ topics raw: they hold records as they arrived.
func (t *Topic) ApplyDefaults() {
	if t.Partitions == 0 {
		t.Partitions = defaultPartitions
	}
	if t.Replication == 0 {
		t.Replication = defaultReplication
	}
	if t.Configs == nil {
		t.Configs = map[string]string{}
	}
	t.applyFormatDefaults()
}

// applyFormatDefaults fills the empty format fields; "format:" or
// `format: ""` in a file means the default, as for the stages' strings.
func (t *Topic) applyFormatDefaults() {
	if t.Format == "" {
		t.Format = defaultFormat
	}
	if t.Compatibility == "" {
		t.Compatibility = defaultCompatibility
	}
	if t.Wire == "" {
		t.Wire = defaultWire
	}
}

func defaultGroup(pipeline, stage string) string { return "sluice." + pipeline + "." + stage }

func defaultDLQ(stage string) string { return stage + ".dlq" }

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setInt64(p *int64, v int64) {
	if *p == 0 {
		*p = v
	}
}

func setDur(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}
