// Package codec converts record values between a topic's wire format and
// what nodes see.
//
// A topic declares its format in the pipeline file (config.Topic.Format):
//
//   - raw: bytes as they are, no checks (the default);
//   - json: one JSON value per record, checked to be well-formed;
//   - avro: Avro binary written with one of the topic's schema versions,
//     in one of two wire forms: registry-free single-object encoding (the
//     Avro spec's C3 01 marker + the writer schema's 8-byte CRC-64-AVRO
//     fingerprint; the .avsc files in the repository are the source of
//     truth) or the Confluent format (a zero byte + the 4-byte schema id of
//     a Schema Registry, through franz-go's pkg/sr client).
//
// Nodes see JSON whatever the format: the stage decodes each input record
// (Avro -> JSON, resolving the writer's schema version to the topic's
// newest one by Avro's resolution rules) and encodes each output with the
// output topic's newest schema. A value that does not fit is refused with
// an *Error naming the field and the reason; the stage sends the record to
// its DLQ instead (a quality gate), so nothing that breaks a topic's schema
// is ever written to it.
//
// Load also checks that each schema version of a topic keeps the declared
// compatibility (backward, forward, full) with the versions before it, and
// explains a break ("field `unit` removed without a default").
package codec
