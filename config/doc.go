// Package config reads Sluice pipeline files.
//
// A pipeline is a chain of stages joined by Kafka topics. Each stage is a
// Kafka consumer group that reads one input topic, hands the records in
// batches to a "node" (a program Sluice runs as a co-process) and produces
// what the node returns to named output topics. The pipeline file describes
// the topics and the stages; this comment is its reference.
//
// Load and Parse decode the file, fill in defaults and validate it in one
// pass. When anything is wrong they return Problems, which lists every
// mistake at once, each as "<file>:<line>: <field>: <message>", sorted by
// line:
//
//	sensors.yaml:14: stages.filter.node.comand: unknown field "comand" (did you mean "command"?)
//	sensors.yaml:17: stages.filter.workers: expected an integer, got "two"
//
// Fields are named by their dotted YAML path. Names that contain dots
// (topic names usually do) are quoted: topics["events.parsed"].partitions.
//
// Limits against runaway files: a pipeline file may be at most 1MiB,
// aliases may add at most 100000 values to it (an alias inside its own
// anchor is refused), and after 100 problems the report stops.
//
// # The file
//
// A complete file, with every field at its default unless marked required:
//
//	pipeline: sensors                 # required
//	kafka:
//	  brokers: [127.0.0.1:9092]
//	  client_id: sluice
//	topics:
//	  events.parsed:
//	    partitions: 3
//	    replication: -1
//	    configs: {retention.ms: "604800000"}
//	    format: raw                     # raw, json or avro; see "Typed topics"
//	  events.clean: {partitions: 3}
//	stages:
//	  filter:
//	    input: events.parsed            # required
//	    group: ""                       # "" = sluice.sensors.filter
//	    outputs:
//	      default: events.clean
//	    dlq: ""                         # "" = filter.dlq
//	    node:
//	      command: bin/nodes/filter     # required
//	      args: []
//	      env: {}
//	      dir: ""
//	      settings: {}
//	      values: decoded               # or raw; see "Typed topics"
//	    workers: 1
//	    batch:
//	      max_records: 500
//	      max_bytes: 1MiB
//	    window:
//	      records: 10000
//	      bytes: 64MiB
//	      batches: 4
//	    timeouts:
//	      handshake: 10s
//	      batch: 30s
//	      drain: 20s
//	      shutdown: 30s
//	    commit_interval: 1s
//	    retries: 3
//	    backoff:
//	      initial: 100ms
//	      max: 10s
//	    max_start_failures: 5
//	    max_frame: 16MiB
//	    delivery: at-least-once
//	    retry:
//	      max_attempts: 5
//	      initial: 200ms
//	      max: 30s
//	    dlq_policy:
//	      on_write_failure: stop
//	      max_records: 100000
//	      per: 1m
//	    transaction:                    # exactly-once only
//	      max_records: 50000
//	      interval: 250ms
//	      timeout: 1m
//	    assignor: cooperative-sticky
//
// A field that is absent, or present with an empty value ("workers:"),
// takes its default. A value written explicitly is checked as written:
// "workers: 0" is an error, not a request for the default.
//
// # Top level
//
// pipeline (required): the pipeline's name, made of letters, digits, '.',
// '_' and '-'. It is part of every default consumer group, so renaming a
// pipeline makes its stages start from their topics' reset position again.
//
// kafka.brokers: the bootstrap brokers, a list of host:port (IPv6 hosts in
// brackets: [::1]:9092). A single comma-separated string is accepted too,
// so "brokers: ${KAFKA_BROKERS}" works. Optional: the --brokers flag wins
// over the SLUICE_BROKERS environment variable, which wins over this field,
// which wins over DefaultBrokers (127.0.0.1:9092); see ResolveBrokers.
//
// kafka.client_id: the Kafka client id, visible in broker logs and quotas.
// Default "sluice".
//
// Top-level keys starting with "x-" are ignored. They are a place for YAML
// anchors that several stages share:
//
//	x-node-defaults: &slow
//	  timeouts: {batch: 2m}
//	  retries: 5
//	stages:
//	  enrich:
//	    <<: *slow
//	    input: events.clean
//	    node: {command: bin/nodes/enrich}
//
// Keys written in the stage win over keys merged with "<<".
//
// # Kafka security
//
// kafka.tls and kafka.sasl connect to a cluster that requires TLS, SASL or
// both; every command that talks to Kafka (run, up, replay, topics,
// produce, tail, lag, trace, validate...) uses them. Without them the
// connection is plaintext and unauthenticated.
//
//	kafka:
//	  brokers: [kafka-0.example.com:9093]
//	  tls:
//	    ca_file: certs/ca.pem             # default: the system's roots
//	    cert_file: certs/client.pem       # client certificate (mTLS),
//	    key_file: certs/client-key.pem    #   with its key
//	    server_name: ""                   # default: the broker's host
//	    insecure_skip_verify: false
//	  sasl:
//	    mechanism: SCRAM-SHA-512          # PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
//	    username: pipeline
//	    password: ${KAFKA_PASSWORD}       # or password_file: /run/secrets/kafka
//
// kafka.tls: present, TLS is on. A mapping of the fields below (an empty
// one, "tls: {}", takes their defaults), or a boolean: "tls: true" is TLS
// with the system's roots, and "tls: ${KAFKA_TLS:-false}" switches it per
// environment.
//
// kafka.tls.ca_file: PEM certificates of the CAs that sign the brokers'
// certificates. Default: the system's roots.
//
// kafka.tls.cert_file, kafka.tls.key_file: the client certificate and its
// private key, PEM (PKCS#1, PKCS#8 or EC; unencrypted), for brokers that
// require mutual TLS (ssl.client.auth=required). Both or neither.
//
// kafka.tls.server_name: the name expected in the brokers' certificates,
// when it is not the host the client connects to (brokers reached through
// an IP address or a tunnel). Default: the broker's host.
//
// kafka.tls.insecure_skip_verify: accept any broker certificate. Only for
// tests: it gives up the protection TLS exists for. Not with ca_file.
//
// File paths are relative to the pipeline file's directory. The files are
// read when the pipeline file is loaded, so a missing or malformed one is
// reported like any other mistake in the file.
//
// kafka.sasl.mechanism (required with sasl): PLAIN, SCRAM-SHA-256 or
// SCRAM-SHA-512 (any case). PLAIN sends the password as it is: use it
// only together with tls.
//
// kafka.sasl.username (required with sasl): the SASL user.
//
// kafka.sasl.password: the password, normally ${VAR} so that it stays out
// of the file. kafka.sasl.password_file instead names a file holding it
// (a mounted secret); its trailing newline is ignored. Exactly one of the
// two is required.
//
// The password is never printed: not in logs, errors or any dump of the
// decoded file (config.Secret prints as [redacted]). Nodes do not inherit
// the environment variables a password came from (KAFKA_PASSWORD above),
// though they get the rest of Sluice's environment; a node that needs
// one asks for it by name in its node.env (KAFKA_PASSWORD:
// ${KAFKA_PASSWORD}).
//
// A broker that refuses the connection is reported in one line naming
// the broker and what failed: the TLS handshake (with the setting to
// check), or SASL authentication (with the user and the mechanism).
//
// # Topics
//
// topics is a mapping from topic name to its settings; an empty value
// ("events.parsed:" or "events.parsed: {}") takes all defaults. Every topic a
// stage reads or writes must be declared here, so that a typo in a stage
// cannot silently create a new topic. The one exception is a stage's
// default dead-letter topic "<stage>.dlq": when it is not declared it is
// declared implicitly with 1 partition and the broker's replication.
// Topic names follow Kafka's rules: 1 to 249 letters, digits, '.', '_' and
// '-', and neither "." nor "..".
//
// partitions: number of partitions, at least 1. Default 1. Partitions bound
// a stage's parallelism: a consumer group has at most one busy member per
// partition.
//
// replication: replication factor, at least 1, or -1 for the broker's
// default.replication.factor. Default -1.
//
// configs: topic configs passed to Kafka when the topic is created, such
// as retention.ms or cleanup.policy. Values may be written as numbers; they
// are kept as strings. Default none.
//
// format, schema, compatibility, wire, subject: what the topic's values
// are; see "Typed topics". Default format raw.
//
// # Stages
//
// stages is a mapping from stage name to its settings, in the order the
// stages are listed; at least one stage is required. Stage names use the
// same characters as the pipeline name.
//
// input (required): the topic the stage consumes.
//
// group: the Kafka consumer group id. Default "sluice.<pipeline>.<stage>".
// Two stages may not share a group: they would split each other's
// partitions. Changing the group makes the stage start over from its
// input's reset position.
//
// outputs: a mapping from output name to topic. The node tags each result
// record with an output name; results without one go to the output named
// "default". Optional: a sink stage (one that writes to a database, say)
// has no outputs. No output may be the stage's own input topic, which
// would loop forever.
//
// dlq: the dead-letter topic, where records go that the node rejected or
// that were implicated in too many node crashes (see retries). Default
// "<stage>.dlq". It must not be the input topic nor one of the outputs.
//
// node.command (required): the program to run as the node.
//
// node.args: arguments passed to the program. Default none.
//
// node.env: environment variables added to those Sluice itself runs with.
// Default none.
//
// node.dir: the node's working directory. Default "": Sluice's own working
// directory.
//
// node.settings: a string mapping handed to the node in the protocol
// handshake, for configuration the node interprets itself. Default none.
//
// node.values: what the node sees of the values of typed (json, avro)
// topics: decoded (JSON) or raw (the bytes as stored); see "Typed
// topics". Default decoded.
//
// workers: how many copies of the node run side by side, each processing
// its own batches. 1 to 256. Default 1.
//
// batch.max_records: the most records sent to a node in one batch, at
// least 1. Default 500.
//
// batch.max_bytes: the most bytes of records in one batch, at least 1KiB
// and at most max_frame. Default 1MiB.
//
// window.records: the most records the stage holds in flight (consumed but
// not yet finished), across all workers; at least batch.max_records. This
// bounds the stage's memory. Default 10000.
//
// window.bytes: the same bound in bytes, at least batch.max_bytes. Default
// 64MiB.
//
// window.batches: how many batches may be sent to one node before it has
// answered the first (pipelining depth). 1 to 1024. Default 4.
//
// timeouts.handshake: how long a node may take to start and complete the
// protocol handshake. Default 10s.
//
// timeouts.batch: how long a node may take to answer a batch; a node that
// takes longer is killed and restarted, and the batch counts against
// retries. Default 30s.
//
// timeouts.drain: on a consumer-group rebalance, how long the stage keeps
// working on the records of partitions taken away from it before it gives
// them up (they are then redelivered to the new owner). Default 20s.
//
// timeouts.shutdown: on stop, how long the stage may finish its in-flight
// work before it stops hard. Default 30s.
//
// commit_interval: how often processed offsets are committed to Kafka. A
// longer interval means fewer commits and more redelivery after a crash.
// Default 1s.
//
// retries: the crash budget of a record: how many node crashes or batch
// timeouts it may be part of before it is sent to the DLQ instead of being
// retried, so that one poison record cannot stop a stage. 1 to 100.
// Default 3.
//
// backoff.initial, backoff.max: the delay before restarting a node that
// exited or failed to start, growing from initial up to max; initial may
// not exceed max. Defaults 100ms and 10s.
//
// max_start_failures: how many node starts in a row may fail (the program
// is missing, exits at once, fails the handshake) before the stage gives up
// with an error, at least 1. Default 5.
//
// max_frame: the largest protocol frame sent to or accepted from the node,
// 1KiB to 1GiB. A batch of batch.max_bytes must fit in a frame. Default
// 16MiB.
//
// delivery: the delivery guarantee, at-least-once or exactly-once.
// at-least-once commits a record's offset once its results are written, so
// after a crash or a rebalance some records may be processed and written
// again. exactly-once writes the results (and DLQ records) of a
// transaction's worth of input together with the input offsets in one Kafka
// transaction: downstream stages (which read read_committed) see each
// result once, even across crashes and rebalances. What the node does
// outside Kafka (a webhook, a database write) is still at-least-once: a
// record can be handed to the node again after an aborted transaction.
// Every output carries a sluice.idempotency.key header that is the same
// each time the same input produces it, for downstream de-duplication.
// Default at-least-once.
//
// retry: what to do with a record the node reports as failed but
// retriable (the adapters' "retriable" error). It is sent to the node
// again after a backoff that doubles from retry.initial up to retry.max
// (with ±20% jitter), up to retry.max_attempts attempts in all (1 to 100),
// then goes to the DLQ. While it waits, the later records of its partition
// wait too, so a partition's results keep their order (answers the node
// already gave for them are dropped and they are sent again: the node may
// see a record more than once). Errors the node does not mark retriable go
// to the DLQ at once. Defaults 5, 200ms, 30s.
//
// dlq_policy.on_write_failure: what a failed write to the DLQ does. stop
// (the default) fails the stage; the record and everything after it in
// its partition stay uncommitted, so a restart tries again. retry keeps
// writing it, with the retry backoff (retry.initial up to retry.max),
// until it succeeds or the stage is stopped; later records go on, but the
// partition's committed offset stays before it. drop logs and counts the
// record (sluice_dlq_write_failures_total) and goes on: the record is
// lost, so choose it only for data you can afford to lose.
//
// dlq_policy.max_records, dlq_policy.per: a cap on the DLQ rate. When more
// than max_records records go to the DLQ within any per, the stage stops
// with an error instead of emptying its input into the DLQ (a node broken
// by a bad deploy rejects everything). max_records 0 means no cap. Defaults
// 100000 per 1m.
//
// transaction.max_records, transaction.interval: an exactly-once stage
// ends a transaction (and commits) after polling this many records or
// after this long, whichever comes first. Longer transactions amortise
// the commit; downstream readers see results only when a transaction
// commits, so the interval adds to end-to-end latency. Defaults 50000 and
// 250ms.
//
// transaction.timeout: how long the broker lets a transaction stay open.
// If a stage dies mid-transaction, read_committed readers of its outputs
// wait until the broker aborts it after this long (or until an instance
// with the same --instance-id starts). At most 15m, longer than the
// interval. A transaction waits for its slowest record, so a record that
// keeps hanging the node (timeouts.batch, retries) can outlast it: the
// broker then aborts the transaction and the stage starts over from the
// last commit, counting that record's crashes across the abort so it still
// reaches the DLQ after its retries. Default 1m.
//
// assignor: how the consumer group spreads partitions over the stage's
// instances. cooperative-sticky (the default) moves only the partitions
// that must move and lets the rest keep working through a rebalance;
// sticky, range and round-robin are eager: every instance gives up all
// its partitions on each rebalance. All instances of a stage must use the
// same assignor.
//
// # Typed topics
//
// A topic's format says what its values are, so that every stage checks
// them on the way in and out (a quality gate), and so that the same nodes
// work whatever the encoding: nodes see JSON.
//
//	schema_registry:                  # only for wire: confluent topics
//	  url: http://127.0.0.1:8081
//	topics:
//	  events.raw: {}                    # format: raw
//	  archives: {format: json}
//	  events.parsed:
//	    format: avro
//	    schema:                         # the versions, oldest first
//	      - schemas/sensor_event.avsc
//	      - schemas/sensor_event.v2.avsc
//	    compatibility: backward
//	    wire: single-object
//	  events.scored:
//	    format: avro
//	    schema: schemas/scored_event.avsc
//	    wire: confluent
//	    subject: ""                     # "" = events.scored-value
//
// format: raw, json or avro. Default raw.
//
//   - raw: bytes as they are; nothing is checked.
//   - json: each value is one JSON document. A stage refuses an input that
//     is not valid JSON (the record goes to its DLQ) and never writes an
//     output that is not.
//   - avro: Avro binary, written with the topic's schema. A stage decodes
//     each input to JSON for its node and encodes each output of the node
//     with the output topic's schema. A record that does not fit (a wrong
//     type, a field the schema lacks, a required field missing) goes to
//     the stage's DLQ with the field and the reason in its sluice.error
//     header; nothing that breaks a topic's schema is ever written to it.
//
// schema (required with format avro, refused otherwise): the topic's Avro
// schema, a .avsc file, or a list of them: the versions of the schema,
// oldest first. Outputs are written with the last version; records
// written with any listed version are read, resolved to the last version
// by Avro's schema resolution rules (a field added with a default gets
// it, for example). Paths are relative to the pipeline file's directory;
// a missing file is an error in the file.
//
// compatibility (avro only): the rule each version must keep with every
// version listed before it. backward: a new version reads what the older
// ones wrote (consumers upgrade first); forward: the older versions read
// what a new one writes (producers upgrade first); full: both; none: not
// checked. sluice validate, run and up refuse a list that breaks it and
// say why ("field `unit` added without a default"). Default backward.
//
// wire (avro only): how a value is laid out in Kafka. single-object is
// the Avro specification's single-object encoding: the bytes C3 01, the
// writer schema's 8-byte CRC-64-AVRO fingerprint, then the Avro binary.
// It needs no registry: the .avsc files are the source of truth, and a
// reader finds the version by its fingerprint. confluent is the
// Confluent Schema Registry format: a zero byte and the registry's 4-byte
// schema id, then the Avro binary; it needs schema_registry, with which
// the schema versions are registered (the registry applies its own
// compatibility rule too) and which readers ask for ids they do not
// know. Default single-object.
//
// subject (wire confluent only): the registry subject of the topic's
// schemas. Default "<topic>-value" (Confluent's TopicNameStrategy).
//
// schema_registry.url (required with schema_registry): the base URL of a
// Confluent-compatible registry (Confluent, Karapace, Redpanda, Apicurio's
// ccompat API), http:// or https://, with a path when the registry is
// served under one: http://127.0.0.1:8081,
// https://registry.example.com/apis/ccompat/v7. A list, or one
// comma-separated string, names several servers of one registry.
//
// schema_registry.username, schema_registry.password,
// schema_registry.password_file: HTTP basic authentication, both or
// neither. The password is handled like kafka.sasl.password: ${VAR} or
// password_file (relative to the pipeline file's directory), never
// printed, and nodes do not inherit the variables it came from. Default:
// no authentication.
//
// Dead-letter topics are raw: a DLQ keeps each record as it arrived,
// which need not be valid in any format (a value that failed to decode,
// a line a node refused). The implicit <stage>.dlq topics are raw, and
// declaring a stage's DLQ with format json or avro is an error.
//
// node.values: raw hands the node the values as they are stored (for a
// node that reads Avro itself, or passes values through untouched). That
// is allowed with any format: the node's outputs must then already be in
// each output topic's wire form (for avro: its wire form, written with
// one of its schema versions), and they are still checked before they
// are written; what does not fit goes to the DLQ. Default decoded.
//
// What a node sees of an Avro value: a record is a JSON object (fields in
// the schema's order); a union of null and one type is null or the plain
// value; other unions are {"<type name>": value}, as in Avro's JSON
// encoding; bytes and fixed are strings of \u00XX code points; an enum
// is a string; long and int are integers; logical types keep their
// underlying type (a timestamp-millis is a number of milliseconds).
//
// # Values
//
// Sizes are a number of bytes (1048576) or a number with a unit: B; KB, MB,
// GB (powers of 1000); KiB, MiB, GiB (powers of 1024). Units are not case
// sensitive and may follow a space: 64MiB, 512 KiB, 1MB.
//
// Durations are Go durations: 250ms, 10s, 1m30s, 2h.
//
// # Environment variables
//
// ${VAR} in any value is replaced with the environment variable VAR, and
// ${VAR:-fallback} with fallback when VAR is unset or empty. An unset VAR
// without a fallback is an error. Write $$ for a literal $; any other $ is
// kept as is. Expansion happens after the YAML is parsed, one value at a
// time, so a variable's content can never change the file's structure.
// Keys (topic and stage names) are not expanded.
//
//	kafka:
//	  brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}
//	stages:
//	  enrich:
//	    workers: ${ENRICH_WORKERS:-2}
package config
