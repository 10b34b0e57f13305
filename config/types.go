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
	// SchemaRegistry is the Confluent-compatible Schema Registry that
	// topics with "wire: confluent" use; nil: none configured.
	SchemaRegistry *SchemaRegistry
}

// SchemaRegistry is how to reach a Confluent-compatible Schema Registry
// (Confluent, Karapace, Apicurio's ccompat API, Redpanda...).
type SchemaRegistry struct {
	URLs     []string // one or more base URLs, e.g. http://127.0.0.1:8081
	Username string   // HTTP basic auth; "" for none
	// Password prints as [redacted]; from ${ENV} or PasswordFile.
	Password     Secret
	PasswordFile string
	Line         int // line of the schema_registry key
}

// Kafka holds the cluster settings of the file. Brokers here are only the
// file's opinion: ResolveBrokers decides which list is actually used.
type Kafka struct {
	Brokers  []string
	ClientID string
	// TLS, when set, encrypts the connections to the brokers (see doc.go,
	// "Kafka security"); nil: plaintext.
	TLS *TLS
	// SASL, when set, authenticates the client; nil: no authentication.
	SASL *SASL
	// SecretEnv names the environment variables a credential was read
	// from (${VAR} in kafka.sasl.password or schema_registry.password),
	// sorted, so the runtime can keep them out of nodes' environments.
	SecretEnv []string
}

// TLS settings of the Kafka connections. Paths are absolute or relative
// to the working directory: Load resolves the file's relative paths
// against the pipeline file's directory.
type TLS struct {
	CAFile             string // PEM roots to trust; "": the system roots
	CertFile, KeyFile  string // client certificate and key (mTLS); both or neither
	ServerName         string // expected name in the broker's certificate; "": the broker's host
	InsecureSkipVerify bool   // accept any broker certificate (testing only)
}

// SASL mechanisms the client speaks.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// SASL credentials of the Kafka client.
type SASL struct {
	Mechanism string // one of the SASL* constants
	Username  string
	// Password prints as [redacted]; Reveal gives the value.
	Password Secret
	// PasswordFile is where Password was read from; "" when it was
	// written (or ${VAR}-expanded) in the pipeline file.
	PasswordFile string
}

// Topic is a topic the pipeline reads or writes.
type Topic struct {
	Name        string
	Partitions  int32
	Replication int16 // -1 means the broker's default
	Configs     map[string]string
	Line        int // line of the topic's key; 0 for an implicit DLQ topic
	// Format is how the topic's values are encoded: one of the Format*
	// constants (default FormatRaw).
	Format string
	// Schemas are an Avro topic's schema versions, oldest first: outputs
	// are written with the last one; records written with any of them are
	// read, resolved to the last one (Avro schema resolution). Paths are
	// resolved against the pipeline file's directory by Load.
	Schemas []SchemaFile
	// Compatibility is the rule each schema version must keep with the
	// versions before it: one of the Compat* constants (default
	// CompatBackward). Checked by the codecs (sluice validate, run, up).
	Compatibility string
	// Wire is the Avro wire form: WireSingleObject (default: registry-free,
	// the schema files are the source of truth) or WireConfluent (magic
	// byte + schema id, schemas registered in the SchemaRegistry).
	Wire string
	// Subject is the registry subject of a WireConfluent topic; "" means
	// "<topic>-value" (the TopicNameStrategy).
	Subject string
}

// SchemaFile is one schema version of a topic.
type SchemaFile struct {
	Path string // as resolved by Load (absolute, or relative to the working directory)
	Line int    // line of the entry in the pipeline file
}

// Topic value formats.
const (
	FormatRaw  = "raw"  // bytes as they are: no decoding, no checks
	FormatJSON = "json" // one JSON value per record, checked well-formed
	FormatAvro = "avro" // Avro binary with a schema (Schemas)
)

// Schema compatibility rules between a topic's schema versions.
const (
	CompatBackward = "backward" // a new version reads what the previous ones wrote
	CompatForward  = "forward"  // the previous versions read what a new one writes
	CompatFull     = "full"     // both
	CompatNone     = "none"     // not checked
)

// Avro wire forms.
const (
	WireSingleObject = "single-object" // C3 01 + 8-byte schema fingerprint (Avro spec)
	WireConfluent    = "confluent"     // 00 + 4-byte registry schema id
)

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
	// Retry is the policy for records the node reports as failed but
	// retriable (status "retriable"): retried with backoff, then the DLQ.
	Retry Retry
	// DLQPolicy says what happens when writing to the DLQ fails and how
	// fast records may go there before the stage stops.
	DLQPolicy DLQPolicy
	// Transaction shapes the transactions of an exactly-once stage.
	Transaction Transaction
	// Assignor is the consumer-group partition assignor: one of the
	// Assignor* constants.
	Assignor string
	Line     int // line of the stage's key in the file
}

// Retry is the retry policy for node-reported retriable errors.
type Retry struct {
	// MaxAttempts counts every attempt, the first included; a record still
	// failing after that many goes to the DLQ (kind node-retriable).
	MaxAttempts int
	// Initial and Max bound the exponential backoff between attempts (the
	// delay doubles from Initial up to Max, with ±20% jitter).
	Initial, Max time.Duration
}

// What a stage does when a DLQ record cannot be written.
const (
	DLQWriteStop  = "stop"  // fail the stage; nothing past the record is committed
	DLQWriteRetry = "retry" // keep retrying (with backoff) until it is written or the stage stops
	DLQWriteDrop  = "drop"  // log and count it, then go on: the record is lost
)

// NoDLQCap as DLQPolicy.MaxRecords turns the DLQ rate cap off.
const NoDLQCap = -1

// DLQPolicy is a stage's dead-letter policy.
type DLQPolicy struct {
	OnWriteFailure string // DLQWriteStop, DLQWriteRetry or DLQWriteDrop
	// MaxRecords and Per cap the DLQ rate: when more than MaxRecords
	// records go to the DLQ within any Per, the stage stops with an error
	// instead of emptying its input into the DLQ. NoDLQCap (negative): no
	// cap ("max_records: 0" in a file); 0: not set, ApplyDefaults fills it.
	MaxRecords int
	Per        time.Duration
}

// Transaction shapes the transactions of an exactly-once stage: one
// transaction holds the outputs (and DLQ records) of the records polled
// within Interval (or until MaxRecords were polled) plus their input
// offsets.
type Transaction struct {
	MaxRecords int
	Interval   time.Duration
	// Timeout is the transaction timeout the broker enforces: a stage
	// that dies mid-transaction blocks read_committed readers of its
	// outputs until the broker aborts the transaction after this long.
	Timeout time.Duration
}

// Consumer-group assignors. cooperative-sticky rebalances incrementally
// (only moved partitions stop); the others are eager (every member gives
// up every partition on each rebalance).
const (
	AssignorCooperativeSticky = "cooperative-sticky"
	AssignorSticky            = "sticky"
	AssignorRange             = "range"
	AssignorRoundRobin        = "round-robin"
)

// Node is how to start a stage's co-process.
type Node struct {
	Command  string
	Args     []string
	Env      map[string]string
	Dir      string
	Settings map[string]string
	// Values is what the node sees of typed (json/avro) topics:
	// NodeValuesDecoded (default: JSON, whatever the topic's format) or
	// NodeValuesRaw (the bytes as stored; the node's outputs must then be
	// in the output topic's wire form, and are still checked).
	Values string
}

// What a node sees of record values (Node.Values).
const (
	NodeValuesDecoded = "decoded"
	NodeValuesRaw     = "raw"
)

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
