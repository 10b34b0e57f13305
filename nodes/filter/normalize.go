package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	sluice "github.com/sluicehq/sluice/adapters/go"
)

// process is the node's handler: one normalised event per valid input, on
// the default output, keyed by sensor_id and carrying the input's headers.
func process(r sluice.Record) ([]sluice.Output, error) {
	value, id, err := normalize(r.Value, r.Timestamp)
	if err != nil {
		return nil, err
	}
	// The key is the sensor_id inside the output value: no copy. Its
	// capacity is capped so that nobody appending to it can touch the value.
	key := value[keyStart : keyStart+id : keyStart+id]
	return []sluice.Output{{Key: key, Value: value, Headers: r.Headers}}, nil
}

// passthrough is the handler used when SLUICE_FILTER_PASSTHROUGH=1: each
// input goes out unchanged, to measure the runtime without the JSON work.
//
// Like process with the headers, it hands the input's slices back without
// copying them. The adapter documents Record's slices as valid only during
// the handler call, but it encodes a batch's results before it reads the
// next frame, and each frame is a fresh allocation (protocol.FrameReader.ReadFrame), so
// the slices are intact when the outputs are written. Should the adapter
// start reusing frame buffers, copy here.
func passthrough(r sluice.Record) ([]sluice.Output, error) {
	return []sluice.Output{{Key: r.Key, Value: r.Value, Headers: r.Headers}}, nil
}

const (
	maxSensorID  = 128
	absoluteZero = -273.15
	// keyStart is where the sensor_id's characters start in an output.
	keyStart = len(`{"sensor_id":"`)
	// The last instant RFC 3339 (four-digit years) can write, in Unix
	// milliseconds: 9999-12-31T23:59:59.999Z. (Negative Unix times are
	// refused, so the year 0000 is the lower bound only for strings.)
	maxMillis = 253402300799999
	// Unix times above this are in milliseconds, at or below in seconds
	// (1e11 seconds is in the year 5138).
	millisThreshold = 1e11
)

// event holds the raw JSON values of one input object's members; nil is a
// member that is absent.
type event struct {
	sensorID, metric, value, unit, ts []byte
}

// absentIfNull is nil for a JSON null, else raw.
func absentIfNull(raw []byte) []byte {
	if string(raw) == "null" {
		return nil
	}
	return raw
}

// extra is a member the node does not interpret: kept as is, compacted.
type extra struct {
	key []byte // decoded
	raw []byte // the JSON value
}

// normalize turns one input value into the normalised event as compact JSON,
// or returns why it cannot. recordMillis is the Kafka record's timestamp,
// used when the event has no ts. idLen is the length of the normalised
// sensor_id, which starts at keyStart in out.
func normalize(data []byte, recordMillis int64) (out []byte, idLen int, err error) {
	var ev event
	var buf [8]extra // enough for most events, on the stack
	extras, err := parse(data, &ev, buf[:0])
	if err != nil {
		return nil, 0, err
	}
	// The optional members given as null are absent: an Avro topic hands
	// nodes an optional field the writer left out as null, and a JSON
	// writer may say the same thing either way.
	ev.unit, ev.ts = absentIfNull(ev.unit), absentIfNull(ev.ts)
	out = make([]byte, 0, len(data)+64)

	// sensor_id: trimmed, lower-case, [a-z0-9][a-z0-9._-]*, at most 128.
	if ev.sensorID == nil {
		return nil, 0, errors.New("sensor_id: missing")
	}
	if ev.sensorID[0] != '"' {
		return nil, 0, fmt.Errorf("sensor_id: expected a string, got %s", kind(ev.sensorID))
	}
	id := bytes.TrimSpace(stringContent(ev.sensorID))
	out = append(out, `{"sensor_id":"`...)
	if err := checkSensorID(id); err != nil {
		return nil, 0, err
	}
	for _, c := range id {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	idLen = len(id)

	// metric: trimmed, lower-case, non-empty.
	if ev.metric == nil {
		return nil, 0, errors.New("metric: missing")
	}
	if ev.metric[0] != '"' {
		return nil, 0, fmt.Errorf("metric: expected a string, got %s", kind(ev.metric))
	}
	metric := lower(bytes.TrimSpace(stringContent(ev.metric)))
	if len(metric) == 0 {
		return nil, 0, errors.New("metric: empty")
	}
	out = append(out, `","metric":`...)
	out = appendString(out, metric)
	isTemperature := string(metric) == "temperature"

	// value: a finite JSON number.
	if ev.value == nil {
		return nil, 0, errors.New("value: missing")
	}
	if c := ev.value[0]; c != '-' && (c < '0' || c > '9') {
		return nil, 0, fmt.Errorf("value: expected a number, got %s", kind(ev.value))
	}
	v, err := strconv.ParseFloat(string(ev.value), 64)
	if err != nil && (math.IsInf(v, 0) || math.IsNaN(v)) {
		// 1e999 and the like: out of float64's range.
		return nil, 0, errors.New("value: not a finite number")
	}

	// unit: temperatures become °C; any other unit passes through.
	var unit, unitTrimmed []byte
	if ev.unit != nil {
		if ev.unit[0] != '"' {
			return nil, 0, fmt.Errorf("unit: expected a string, got %s", kind(ev.unit))
		}
		unit = stringContent(ev.unit)
		unitTrimmed = bytes.TrimSpace(unit)
	}
	scale := temperatureScale(unitTrimmed)
	if isTemperature {
		switch {
		case ev.unit == nil:
			return nil, 0, errors.New("unit: missing (required for temperature)")
		case len(unitTrimmed) == 0:
			return nil, 0, errors.New("unit: empty (required for temperature)")
		case scale == 0:
			return nil, 0, fmt.Errorf("unit: %s is not a temperature unit (want C, F or K)", clipString(string(unitTrimmed)))
		}
	}
	if scale != 0 {
		original := v
		switch scale {
		case 'F':
			v = round4((v - 32) / 9 * 5) // divided first: cannot overflow
		case 'K':
			v = round4(v + absoluteZero)
		}
		if v < absoluteZero {
			from := ""
			if scale != 'C' {
				from = fmt.Sprintf(" (%s %s)", formatFloat(original), scaleSymbol(scale))
			}
			return nil, 0, fmt.Errorf("value: temperature %s °C%s is below absolute zero (-273.15 °C)", formatFloat(v), from)
		}
		unit = []byte("C")
	}
	switch string(metric) {
	case "humidity":
		if string(unitTrimmed) == "%" && (v < 0 || v > 100) {
			return nil, 0, fmt.Errorf("value: humidity %s %% is outside 0..100", formatFloat(v))
		}
	case "pressure":
		if v < 0 {
			u := ""
			if len(unitTrimmed) > 0 {
				u = " " + string(unitTrimmed)
			}
			return nil, 0, fmt.Errorf("value: pressure %s%s is negative", formatFloat(v), u)
		}
	}
	if v == 0 {
		v = 0 // no "-0"
	}
	out = append(out, `,"value":`...)
	out = appendFloat(out, v)
	if unit != nil {
		out = append(out, `,"unit":`...)
		out = appendString(out, unit)
	}

	// ts: RFC 3339 UTC with milliseconds.
	ms, err := timestamp(ev.ts, recordMillis)
	if err != nil {
		return nil, 0, err
	}
	out = append(out, `,"ts":"`...)
	out = appendMillis(out, ms)
	out = append(out, '"')

	// Everything else, sorted by key; of repeated keys the last wins, as
	// with encoding/json.
	if len(extras) > 1 {
		slices.SortStableFunc(extras, func(a, b extra) int { return bytes.Compare(a.key, b.key) })
	}
	for i, x := range extras {
		if i+1 < len(extras) && bytes.Equal(x.key, extras[i+1].key) {
			continue
		}
		out = append(out, ',')
		out = appendString(out, x.key)
		out = append(out, ':')
		out = appendCompact(out, x.raw)
	}
	return append(out, '}'), idLen, nil
}

// parse checks that data is one JSON object and collects its members: the
// fields in ev, the other members appended to extras.
func parse(data []byte, ev *event, extras []extra) ([]extra, error) {
	if data == nil {
		return nil, errors.New("invalid JSON: the record value is null")
	}
	if !utf8.Valid(data) {
		return nil, errors.New("invalid JSON: not valid UTF-8")
	}
	i := skipWS(data, 0)
	if i < len(data) && data[i] != '{' {
		end := scanValue(data, i, 0)
		if end < 0 || skipWS(data, end) != len(data) {
			return nil, invalidJSON(data)
		}
		return nil, fmt.Errorf("expected a JSON object, got %s", kind(data[i:end]))
	}
	if i = skipWS(data, i+1); i >= len(data) {
		return nil, invalidJSON(data)
	}
	if data[i] == '}' {
		return nil, endOfObject(data, i+1)
	}
	var caseErr error
	for {
		if data[i] != '"' {
			return nil, invalidJSON(data)
		}
		keyEnd, escaped := scanString(data, i)
		if keyEnd < 0 {
			return nil, invalidJSON(data)
		}
		rawKey := data[i:keyEnd]
		if i = skipWS(data, keyEnd); i >= len(data) || data[i] != ':' {
			return nil, invalidJSON(data)
		}
		i = skipWS(data, i+1)
		end := scanValue(data, i, 1)
		if end < 0 {
			return nil, invalidJSON(data)
		}
		raw := data[i:end]
		key := rawKey[1 : len(rawKey)-1]
		if escaped {
			key = stringContent(rawKey)
		}
		switch string(key) {
		case "sensor_id":
			ev.sensorID = raw
		case "metric":
			ev.metric = raw
		case "value":
			ev.value = raw
		case "unit":
			ev.unit = raw
		case "ts":
			ev.ts = raw
		default:
			// encoding/json matches member names to struct fields without
			// regard to case, so a consumer in Go would read "Sensor_ID"
			// as the sensor_id: refuse such a member rather than keep it.
			// (Reported once the whole text is known to be JSON.)
			if name := foldsToField(key); name != "" && caseErr == nil {
				caseErr = fmt.Errorf("%s: member %s differs from %q only in case", name, clipString(string(key)), name)
			}
			extras = append(extras, extra{key: key, raw: raw})
		}
		if i = skipWS(data, end); i >= len(data) {
			return nil, invalidJSON(data)
		}
		switch data[i] {
		case '}':
			if err := endOfObject(data, i+1); err != nil {
				return nil, err
			}
			return extras, caseErr
		case ',':
			if i = skipWS(data, i+1); i >= len(data) {
				return nil, invalidJSON(data)
			}
		default:
			return nil, invalidJSON(data)
		}
	}
}

// fields are the members the node interprets.
var fields = [...]string{"sensor_id", "metric", "value", "unit", "ts"}

// foldsToField returns the field that key equals under Unicode case folding
// (as encoding/json matches names), or "".
func foldsToField(key []byte) string {
	if len(key) < 2 || len(key) > 2*len("sensor_id") {
		return ""
	}
	// Only a first letter that folds to the first letter of a field can
	// start a match: ASCII s, m, v, u, t in either case, or the long s
	// (U+017F, C5 BF in UTF-8), the one non-ASCII letter folding to one.
	switch key[0] | 0x20 {
	case 's', 'm', 'v', 'u', 't', 0xC5 | 0x20:
	default:
		return ""
	}
	for _, f := range fields {
		if bytes.EqualFold(key, []byte(f)) {
			return f
		}
	}
	return ""
}

// endOfObject checks that only white space follows the object at i.
func endOfObject(data []byte, i int) error {
	if skipWS(data, i) != len(data) {
		return invalidJSON(data)
	}
	return nil
}

// invalidJSON explains why data, which the scanner refused, is not JSON, in
// encoding/json's words.
func invalidJSON(data []byte) error {
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	return errors.New("invalid JSON") // the fuzz test makes sure this cannot happen
}

// checkSensorID validates a trimmed sensor_id before it is lower-cased.
// Lower-casing is ASCII only: any other letter fails the pattern (so the
// Kelvin sign K cannot pass for a k).
func checkSensorID(id []byte) error {
	if len(id) == 0 {
		return errors.New("sensor_id: empty")
	}
	if n := utf8.RuneCount(id); n > maxSensorID {
		return fmt.Errorf("sensor_id: too long (%d characters, max %d)", n, maxSensorID)
	}
	for i, c := range id {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return fmt.Errorf("sensor_id: %s does not match [a-z0-9][a-z0-9._-]*", clipString(asciiLower(id)))
		}
	}
	return nil
}

// lower returns s lower-cased (Unicode): s itself when there is nothing to
// change, else a copy.
func lower(s []byte) []byte {
	for _, c := range s {
		if 'A' <= c && c <= 'Z' || c >= utf8.RuneSelf {
			return bytes.ToLower(s)
		}
	}
	return s
}

// asciiLower lower-cases the ASCII letters of s, as sensor_id is normalised.
func asciiLower(s []byte) string {
	b := make([]byte, len(s))
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return string(b)
}

// temperatureScale recognises a temperature unit, case-insensitively: 'C',
// 'F' or 'K', or 0 for any other unit.
func temperatureScale(u []byte) byte {
	switch len(u) {
	case 1:
		switch u[0] {
		case 'C', 'c':
			return 'C'
		case 'F', 'f':
			return 'F'
		case 'K', 'k':
			return 'K'
		}
		return 0
	case 3: // "°C", "°F": ° is two bytes in UTF-8
		if u[0] == 0xC2 && u[1] == 0xB0 {
			switch u[2] {
			case 'C', 'c':
				return 'C'
			case 'F', 'f':
				return 'F'
			}
		}
		return 0
	}
	switch {
	case bytes.EqualFold(u, []byte("celsius")):
		return 'C'
	case bytes.EqualFold(u, []byte("fahrenheit")):
		return 'F'
	case bytes.EqualFold(u, []byte("kelvin")):
		return 'K'
	}
	return 0
}

// scaleSymbol writes a temperature scale for messages.
func scaleSymbol(scale byte) string {
	switch scale {
	case 'F':
		return "°F"
	case 'K':
		return "K"
	}
	return "°C"
}

// round4 rounds to 4 decimal places, so that 75.2 °F is 24 °C and not
// 24.000000000000004.
func round4(v float64) float64 {
	if math.Abs(v) >= 1e15 { // no decimals left to round; avoid overflow
		return v
	}
	return math.Round(v*1e4) / 1e4
}
