package config

import "time"

// Delivery guarantees a stage may ask for.
const (
	DeliveryAtLeastOnce = "at-least-once"
	DeliveryExactlyOnce = "exactly-once"
)

// Pipeline is a decoded, defaulted and validated pipeline file.
type Pipeline struct {
	Name  string
	File  string // path it was loaded from ("" for Parse with an empty name)
	Kafka Kafka
	// Topics in file order, followed by the default DLQ topics that stages
	// use without declaring them (see doc.go).
	Topics []Topic
	Stages []Stage // file order
}

// Kafka holds the cluster settings of the file. Brokers here are only the
// file's opinion: ResolveBrokers decides which list is actually used.
type Kafka struct {
	Brokers  []string
	ClientID string
}

// Topic is a topic the pipeline reads or writes.
type Topic struct {
	Name        string
	Partitions  int32
	Replication int16 // -1 means the broker's default
	Configs     map[string]string
	Line        int // line of the topic's key; 0 for an implicit DLQ topic
}

// Stage is one consumer group running one node program.
type Stage struct {
	Name, Input, Group string
	Outputs            map[string]string // output name -> topic
	DLQ                string
	Node               Node
	Workers            int
	Batch              Batch
	Window             Window
	Timeouts           Timeouts
	CommitInterval     time.Duration
	Retries            int
	Backoff            Backoff
	MaxStartFailures   int
	MaxFrame           int64
	Delivery           string // DeliveryAtLeastOnce or DeliveryExactlyOnce
	Line               int    // line of the stage's key in the file
}

// Node is how to start a stage's co-process.
type Node struct {
	Command  string
	Args     []string
	Env      map[string]string
	Dir      string
	Settings map[string]string
}

// Batch bounds one batch sent to a node.
type Batch struct {
	MaxRecords int
	MaxBytes   int64
}

// Window bounds the work a stage has in flight.
type Window struct {
	Records int
	Bytes   int64
	Batches int
}

// Timeouts of a stage.
type Timeouts struct {
	Handshake, Batch, Drain, Shutdown time.Duration
}

// Backoff between node restarts.
type Backoff struct {
	Initial, Max time.Duration
}
