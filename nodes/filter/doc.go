// Command filter is the Sluice node of the demo pipeline
// (config/examples/filter.yaml): it reads JSON sensor events, normalises
// them, and sends every event it cannot make sense of to the stage's dead
// letter queue with a precise reason.
//
// # Input and output
//
// An input record's value is one JSON object:
//
//	{"sensor_id": "Alpha ", "metric": "temperature", "value": 75.2, "unit": "°F", "ts": "2024-05-01 12:00:00", "site": "plant-1"}
//
// For each valid event the node emits one record on the stage's default
// output: the normalised event as compact JSON, keyed by the normalised
// sensor_id, with the input record's headers (so trace headers survive):
//
//	key:   alpha
//	value: {"sensor_id":"alpha","metric":"temperature","value":24,"unit":"C","ts":"2024-05-01T12:00:00.000Z","site":"plant-1"}
//
// The members come in that order: sensor_id, metric, value, unit (left out
// when the input has none), ts, then any other members of the input, kept
// as they are (compacted) and sorted by key. When a key is repeated the last
// occurrence wins, as with encoding/json. Field names are matched exactly,
// and an event with a member that differs from a field name only in case
// ("Sensor_ID", "Value") is refused: encoding/json, and so any Go consumer
// of the output, would read it as that field.
//
// # Normalisation
//
//   - sensor_id: a string, trimmed of white space and lower-cased (ASCII
//     letters only); it must then be non-empty, match [a-z0-9][a-z0-9._-]*
//     and have at most 128 characters.
//   - metric: a string, trimmed and lower-cased; it must not be empty.
//   - value: a JSON number; a numeric string such as "24.5" is refused, as
//     is a number too large for a float64 (1e999).
//   - unit: a string. Temperatures become degrees Celsius with unit "C":
//     "F", "°F" and "fahrenheit" are converted from Fahrenheit, "K" and
//     "kelvin" from Kelvin, and "C", "°C" and "celsius" keep their value
//     (all case-insensitive, surrounding white space ignored). Converted
//     values are rounded to 4 decimal places, so 75.2 °F is 24, not
//     24.000000000000004. Any other unit passes through unchanged ("%",
//     "hPa"). The metric "temperature" requires a temperature unit; other
//     metrics may have no unit. A unit of null is no unit (an Avro topic
//     hands nodes an optional field the writer left out as null).
//   - Physically impossible values are refused: a temperature (any value
//     in a temperature unit) below -273.15 °C after conversion, a humidity
//     in "%" outside 0..100, a negative pressure.
//   - ts becomes RFC 3339 in UTC with milliseconds, 2024-05-01T12:00:00.000Z.
//     Accepted: RFC 3339 with or without fractional seconds and with "Z" or
//     an offset (2024-05-01T14:00:00+02:00); the same with a space instead
//     of the "T"; 2024-05-01T12:00:00 and 2024-05-01 12:00:00, read as UTC;
//     a Unix time as a JSON number or a string of digits, in seconds (which
//     may have decimals), or in milliseconds when above 1e11. Fractions
//     finer than a millisecond are truncated (rounded for decimal Unix
//     seconds). An event without ts (or with ts null) takes the Kafka
//     record's timestamp.
//
// # Errors
//
// An event that fails is not emitted; the handler returns an error, and the
// runtime sends the record to the stage's DLQ with the error text as the
// reason. The reasons, each naming the field at fault:
//
//	invalid JSON: <the encoding/json message>      e.g. invalid JSON: unexpected end of JSON input
//	invalid JSON: not valid UTF-8
//	invalid JSON: the record value is null         (a tombstone)
//	expected a JSON object, got <type>             e.g. expected a JSON object, got array
//	<field>: member "Sensor_ID" differs from "sensor_id" only in case
//	<field>: missing                               sensor_id, metric or value absent
//	<field>: expected a string, got <type>         e.g. sensor_id: expected a string, got number 42
//	value: expected a number, got <type>           e.g. value: expected a number, got string "24.5"
//	sensor_id: empty                               (also metric: empty)
//	sensor_id: too long (130 characters, max 128)
//	sensor_id: "al pha" does not match [a-z0-9][a-z0-9._-]*
//	value: not a finite number
//	unit: missing (required for temperature)
//	unit: empty (required for temperature)
//	unit: "hPa" is not a temperature unit (want C, F or K)
//	value: temperature -300 °C is below absolute zero (-273.15 °C)
//	value: temperature -317.7778 °C (-540 °F) is below absolute zero (-273.15 °C)
//	value: humidity 140 % is outside 0..100
//	value: pressure -5 hPa is negative
//	ts: expected a string or a number, got <type>  e.g. ts: expected a string or a number, got boolean true
//	ts: unrecognised timestamp "yesterday"
//	ts: negative unix time -5
//	ts: unix time 1e20 is out of range (years 0000 to 9999)
//	ts: "0000-01-01T00:00:00+01:00" is out of range (years 0000 to 9999)
//	ts: missing, and the record has no timestamp
//
// <type> is the JSON type with the value for scalars: string "24.5",
// number 42, boolean true, null, object, array; values longer than 64 bytes
// are cut and end in "...". The JSON text and member names are checked
// first, then the fields in the order sensor_id, metric, value, unit, ts;
// the first failure is the reason.
//
// # Passthrough
//
// With SLUICE_FILTER_PASSTHROUGH=1 (or =true) in its environment the node
// emits every input record unchanged (same key, value and headers) and does
// no JSON work at all. It exists for benchmarks: it measures what the
// runtime and the protocol cost without the normalisation. The node logs a
// line on stderr when it starts in that mode; other values are ignored.
//
// # Slowdown
//
// SLUICE_FILTER_DELAY, a Go duration such as 20us or 1ms, makes the node
// sleep that long per record on top of its work (in either mode), to play a
// slow node in backpressure experiments (scripts/soak.sh). The sleeps are
// grouped into chunks of at least a millisecond and an oversleep is paid
// back by the next records, so the average is accurate even for delays of
// a few microseconds, which a single sleep cannot honour. With
// SLUICE_FILTER_DELAY_FILE=PATH the node also reads the delay from that
// file (a duration, "0" for none) at start and then every second, so a
// running node can be slowed down or sped up without a restart; a missing,
// empty or malformed file keeps the delay it had (a malformed one is
// logged). A malformed or negative SLUICE_FILTER_DELAY stops the node at
// start. Each change of delay is logged on stderr.
package main
