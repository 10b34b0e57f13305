package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	sluice "github.com/sluicehq/sluice/adapters/go"
)

// recordTS is the Kafka timestamp of the test records: 2024-05-01T12:00:00.123Z.
const recordTS = 1714564800123

// ev builds a test event: sensor "alpha", metric, value and unit as JSON
// text, and the members in more (JSON text without braces, may be "").
func ev(metric, value, unit, more string) string {
	s := `{"sensor_id":"alpha","metric":` + metric + `,"value":` + value
	if unit != "" {
		s += `,"unit":` + unit
	}
	if more != "" {
		s += "," + more
	}
	return s + "}"
}

// out is the expected output for ev's events with the default timestamp.
func out(metric, value, unit, more string) string {
	s := `{"sensor_id":"alpha","metric":"` + metric + `","value":` + value
	if unit != "" {
		s += `,"unit":"` + unit + `"`
	}
	s += `,"ts":"2024-05-01T12:00:00.000Z"`
	if more != "" {
		s += "," + more
	}
	return s + "}"
}

const ts0 = `"ts":"2024-05-01T12:00:00Z"`

func TestNormalizes(t *testing.T) {
	long := strings.Repeat("a", 128)
	tests := []struct {
		name, in, want string
	}{
		// sensor_id
		{"plain event", ev(`"temperature"`, "21.5", `"C"`, ts0), out("temperature", "21.5", "C", "")},
		{"sensor_id trimmed and lower-cased", `{"sensor_id":"  Alpha ","metric":"humidity","value":40,"unit":"%",` + ts0 + `}`, out("humidity", "40", "%", "")},
		{"sensor_id with dots, dashes, underscores", `{"sensor_id":"Plant-1.North_A7","metric":"co2","value":400,` + ts0 + `}`,
			`{"sensor_id":"plant-1.north_a7","metric":"co2","value":400,"ts":"2024-05-01T12:00:00.000Z"}`},
		{"sensor_id with escapes", `{"sensor_id":"\u0041lpha","metric":"co2","value":400,` + ts0 + `}`, out("co2", "400", "", "")},
		{"sensor_id of 128 characters", `{"sensor_id":"` + long + `","metric":"co2","value":1,` + ts0 + `}`,
			`{"sensor_id":"` + long + `","metric":"co2","value":1,"ts":"2024-05-01T12:00:00.000Z"}`},
		{"sensor_id starting with a digit", `{"sensor_id":"7alpha","metric":"co2","value":1,` + ts0 + `}`,
			`{"sensor_id":"7alpha","metric":"co2","value":1,"ts":"2024-05-01T12:00:00.000Z"}`},

		// metric
		{"metric trimmed and lower-cased", ev(`" TEMPERATURE "`, "21.5", `"C"`, ts0), out("temperature", "21.5", "C", "")},
		{"metric lower-cased beyond ASCII", ev(`"DRUCK-Ä"`, "1", "", ts0), out("druck-ä", "1", "", "")},
		{"metric re-escaped", ev(`" A\"b\\c\n\u2028d "`, "1", "", ts0), `{"sensor_id":"alpha","metric":"a\"b\\c\n\u2028d","value":1,"ts":"2024-05-01T12:00:00.000Z"}`},

		// value
		{"integer value", ev(`"co2"`, "400", "", ts0), out("co2", "400", "", "")},
		{"trailing zeros dropped", ev(`"co2"`, "24.50", "", ts0), out("co2", "24.5", "", "")},
		{"exponent", ev(`"co2"`, "1e3", "", ts0), out("co2", "1000", "", "")},
		{"negative zero", ev(`"co2"`, "-0", "", ts0), out("co2", "0", "", "")},
		{"tiny value", ev(`"co2"`, "1E-7", "", ts0), out("co2", "1e-7", "", "")},
		{"huge value", ev(`"co2"`, "1e21", "", ts0), out("co2", "1e+21", "", "")},
		{"underflow is zero", ev(`"co2"`, "1e-999", "", ts0), out("co2", "0", "", "")},

		// temperature units
		{"212 F is 100 C", ev(`"temperature"`, "212", `"F"`, ts0), out("temperature", "100", "C", "")},
		{"32 F is 0 C", ev(`"temperature"`, "32", `"F"`, ts0), out("temperature", "0", "C", "")},
		{"75.2 F is 24 C", ev(`"temperature"`, "75.2", `"F"`, ts0), out("temperature", "24", "C", "")},
		{"-40 F is -40 C", ev(`"temperature"`, "-40", `"°F"`, ts0), out("temperature", "-40", "C", "")},
		{"98.6 fahrenheit", ev(`"temperature"`, "98.6", `"fahrenheit"`, ts0), out("temperature", "37", "C", "")},
		{"70.7 F rounds to 4 places", ev(`"temperature"`, "70.7", `"F"`, ts0), out("temperature", "21.5", "C", "")},
		{"71.1 F rounds to 4 places", ev(`"temperature"`, "71.1", `"F"`, ts0), out("temperature", "21.7222", "C", "")},
		{"F case-insensitive, spaced", ev(`"temperature"`, "50", `" °f "`, ts0), out("temperature", "10", "C", "")},
		{"FAHRENHEIT", ev(`"temperature"`, "50", `"FAHRENHEIT"`, ts0), out("temperature", "10", "C", "")},
		{"huge F does not overflow", ev(`"temperature"`, "1.7e308", `"F"`, ts0), out("temperature", "9.444444444444444e+307", "C", "")},
		{"huge K", ev(`"temperature"`, "1.7e308", `"K"`, ts0), out("temperature", "1.7e+308", "C", "")},
		{"-459.67 F is absolute zero", ev(`"temperature"`, "-459.67", `"F"`, ts0), out("temperature", "-273.15", "C", "")},
		{"°C", ev(`"temperature"`, "19.85", `"°C"`, ts0), out("temperature", "19.85", "C", "")},
		{"celsius", ev(`"temperature"`, "19.85", `"Celsius"`, ts0), out("temperature", "19.85", "C", "")},
		{"lower-case c", ev(`"temperature"`, "19.85", `"c"`, ts0), out("temperature", "19.85", "C", "")},
		{"C is not rounded", ev(`"temperature"`, "19.123456", `"C"`, ts0), out("temperature", "19.123456", "C", "")},
		{"-273.15 C", ev(`"temperature"`, "-273.15", `"C"`, ts0), out("temperature", "-273.15", "C", "")},
		{"273.15 K is 0 C", ev(`"temperature"`, "273.15", `"K"`, ts0), out("temperature", "0", "C", "")},
		{"300 K", ev(`"temperature"`, "300", `"kelvin"`, ts0), out("temperature", "26.85", "C", "")},
		{"0 K", ev(`"temperature"`, "0", `"k"`, ts0), out("temperature", "-273.15", "C", "")},
		{"temperature unit on another metric", ev(`"dew_point"`, "50", `"F"`, ts0), out("dew_point", "10", "C", "")},

		// other units
		{"humidity %", ev(`"humidity"`, "41.2", `"%"`, ts0), out("humidity", "41.2", "%", "")},
		{"humidity 0 %", ev(`"humidity"`, "0", `"%"`, ts0), out("humidity", "0", "%", "")},
		{"humidity 100 %", ev(`"humidity"`, "100", `"%"`, ts0), out("humidity", "100", "%", "")},
		{"absolute humidity is not bounded", ev(`"humidity"`, "140", `"g/m3"`, ts0), out("humidity", "140", "g/m3", "")},
		{"pressure hPa", ev(`"pressure"`, "1013.2", `"hPa"`, ts0), out("pressure", "1013.2", "hPa", "")},
		{"pressure 0", ev(`"pressure"`, "0", `"hPa"`, ts0), out("pressure", "0", "hPa", "")},
		{"unit passes through unchanged", ev(`"pressure"`, "1013", `" hPa "`, ts0), out("pressure", "1013", " hPa ", "")},
		{"no unit on another metric", ev(`"co2"`, "400", "", ts0), out("co2", "400", "", "")},
		{"empty unit on another metric", ev(`"co2"`, "400", `""`, ts0), `{"sensor_id":"alpha","metric":"co2","value":400,"unit":"","ts":"2024-05-01T12:00:00.000Z"}`},

		// timestamps
		{"ts RFC 3339", ev(`"co2"`, "1", "", `"ts":"2024-05-01T12:00:00Z"`), out("co2", "1", "", "")},
		{"ts RFC 3339 with milliseconds", ev(`"co2"`, "1", "", `"ts":"2024-05-01T12:00:00.250Z"`),
			strings.Replace(out("co2", "1", "", ""), ".000Z", ".250Z", 1)},
		{"ts nanoseconds truncated", ev(`"co2"`, "1", "", `"ts":"2024-05-01T12:00:00.123999999Z"`),
			strings.Replace(out("co2", "1", "", ""), ".000Z", ".123Z", 1)},
		{"ts with offset", ev(`"co2"`, "1", "", `"ts":"2024-05-01T14:00:00+02:00"`), out("co2", "1", "", "")},
		{"ts with negative offset", ev(`"co2"`, "1", "", `"ts":"2024-05-01T07:30:00-04:30"`), out("co2", "1", "", "")},
		{"ts with a space", ev(`"co2"`, "1", "", `"ts":"2024-05-01 12:00:00"`), out("co2", "1", "", "")},
		{"ts with a space and a zone", ev(`"co2"`, "1", "", `"ts":"2024-05-01 14:00:00+02:00"`), out("co2", "1", "", "")},
		{"ts without zone", ev(`"co2"`, "1", "", `"ts":"2024-05-01T12:00:00"`), out("co2", "1", "", "")},
		{"ts without zone, fraction", ev(`"co2"`, "1", "", `"ts":"2024-05-01T12:00:00.5"`),
			strings.Replace(out("co2", "1", "", ""), ".000Z", ".500Z", 1)},
		{"ts trimmed", ev(`"co2"`, "1", "", `"ts":" 2024-05-01T12:00:00Z "`), out("co2", "1", "", "")},
		{"ts unix seconds", ev(`"co2"`, "1", "", `"ts":1714564800`), out("co2", "1", "", "")},
		{"ts unix seconds with decimals", ev(`"co2"`, "1", "", `"ts":1714564800.123`),
			strings.Replace(out("co2", "1", "", ""), ".000Z", ".123Z", 1)},
		{"ts unix seconds in exponent form", ev(`"co2"`, "1", "", `"ts":1.7145648e9`), out("co2", "1", "", "")},
		{"ts unix milliseconds", ev(`"co2"`, "1", "", `"ts":1714564800123`),
			strings.Replace(out("co2", "1", "", ""), ".000Z", ".123Z", 1)},
		{"ts unix seconds as a string", ev(`"co2"`, "1", "", `"ts":"1714564800"`), out("co2", "1", "", "")},
		{"ts unix milliseconds as a string", ev(`"co2"`, "1", "", `"ts":"1714564800123"`),
			strings.Replace(out("co2", "1", "", ""), ".000Z", ".123Z", 1)},
		{"ts unix seconds with decimals as a string", ev(`"co2"`, "1", "", `"ts":"1714564800.5"`),
			strings.Replace(out("co2", "1", "", ""), ".000Z", ".500Z", 1)},
		{"ts 1e11 is still seconds", ev(`"co2"`, "1", "", `"ts":100000000000`),
			strings.Replace(out("co2", "1", "", ""), "2024-05-01T12:00:00.000Z", "5138-11-16T09:46:40.000Z", 1)},
		{"ts zero", ev(`"co2"`, "1", "", `"ts":0`),
			strings.Replace(out("co2", "1", "", ""), "2024-05-01T12:00:00.000Z", "1970-01-01T00:00:00.000Z", 1)},
		{"ts missing: the record's timestamp", ev(`"co2"`, "1", "", ""),
			strings.Replace(out("co2", "1", "", ""), ".000Z", ".123Z", 1)},
		{"ts null: the record's timestamp (Avro's absent optional field)", ev(`"co2"`, "1", "", `"ts":null`),
			strings.Replace(out("co2", "1", "", ""), ".000Z", ".123Z", 1)},
		{"unit null: no unit", ev(`"co2"`, "1", "null", ts0), out("co2", "1", "", "")},

		// extra fields, order
		{"extras kept, sorted, compacted", ev(`"co2"`, "1", "", `"zone" : "b", "site":"plant-1", `+ts0+`, "tags": [ "a", { "x" : " y z " } ], "n": null`),
			out("co2", "1", "", `"n":null,"site":"plant-1","tags":["a",{"x":" y z "}],"zone":"b"`)},
		{"extras named almost like fields", ev(`"co2"`, "1", "", ts0+`,"units":"x","sensor":"y","t":1`), out("co2", "1", "", `"sensor":"y","t":1,"units":"x"`)},
		{"extras out of float64's range kept", ev(`"co2"`, "1", "", ts0+`,"big":1e700`), out("co2", "1", "", `"big":1e700`)},
		{"extras with escaped keys", ev(`"co2"`, "1", "", ts0+`, "\u00e9t\u00e9":1,"a\"b":2`), out("co2", "1", "", `"a\"b":2,"été":1`)},
		{"repeated extra: last wins", ev(`"co2"`, "1", "", ts0+`,"site":"a","site":"b"`), out("co2", "1", "", `"site":"b"`)},
		{"repeated field: last wins", `{"sensor_id":"beta","sensor_id":"alpha","metric":"co2","value":2,"value":1,` + ts0 + `}`, out("co2", "1", "", "")},
		{"members in any order", `{"extra":true,` + ts0 + `,"unit":"F","value":212,"metric":"temperature","sensor_id":"alpha"}`,
			out("temperature", "100", "C", `"extra":true`)},
		{"white space around", " \n\t" + ev(`"co2"`, "1", "", ts0) + " \r\n", out("co2", "1", "", "")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			outs, err := process(sluice.Record{Value: []byte(tc.in), Timestamp: recordTS})
			if err != nil {
				t.Fatalf("process(%s): %v", tc.in, err)
			}
			if len(outs) != 1 {
				t.Fatalf("got %d outputs, want 1", len(outs))
			}
			got := string(outs[0].Value)
			if got != tc.want {
				t.Fatalf("process(%s)\n got %s\nwant %s", tc.in, got, tc.want)
			}
			checkOutput(t, outs[0])
		})
	}
}

// checkOutput checks what holds for every output: valid JSON, key equal to
// sensor_id, default output, and normalising it again changes nothing.
func checkOutput(t *testing.T, o sluice.Output) {
	t.Helper()
	if !json.Valid(o.Value) {
		t.Fatalf("output is not valid JSON: %s", o.Value)
	}
	// Extra members are kept as they are, even numbers out of float64's
	// range: decode only what is checked.
	var m struct {
		SensorID string `json:"sensor_id"`
	}
	if err := json.Unmarshal(o.Value, &m); err != nil {
		t.Fatal(err)
	}
	if m.SensorID != string(o.Key) {
		t.Fatalf("key %q, sensor_id %q", o.Key, m.SensorID)
	}
	if o.Name != "" {
		t.Fatalf("output name %q, want the default", o.Name)
	}
	again, err := process(sluice.Record{Value: o.Value, Timestamp: recordTS})
	if err != nil {
		t.Fatalf("normalising the output %s again: %v", o.Value, err)
	}
	if !bytes.Equal(again[0].Value, o.Value) {
		t.Fatalf("normalising is not idempotent:\n once  %s\n twice %s", o.Value, again[0].Value)
	}
}

func TestRejects(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		recordTS  int64
		wantError string
	}{
		// not an event at all
		{"empty value", ``, 0, `invalid JSON: unexpected end of JSON input`},
		{"truncated", `{"sensor_id":"alpha"`, 0, `invalid JSON: unexpected end of JSON input`},
		{"garbage", `not json at all`, 0, `invalid JSON: invalid character 'o' in literal null (expecting 'u')`},
		{"trailing garbage", ev(`"co2"`, "1", "", ts0) + `x`, 0, `invalid JSON: invalid character 'x' after top-level value`},
		{"two values", ev(`"co2"`, "1", "", ts0) + ev(`"co2"`, "1", "", ts0), 0, `invalid JSON: invalid character '{' after top-level value`},
		{"invalid UTF-8", "{\"sensor_id\":\"\xff\"}", 0, `invalid JSON: not valid UTF-8`},
		{"array", `[1, 2]`, 0, `expected a JSON object, got array`},
		{"string", ` "alpha" `, 0, `expected a JSON object, got string "alpha"`},
		{"number", `42`, 0, `expected a JSON object, got number 42`},
		{"null", `null`, 0, `expected a JSON object, got null`},
		{"boolean", `true`, 0, `expected a JSON object, got boolean true`},
		{"empty object", `{}`, 0, `sensor_id: missing`},

		// sensor_id
		{"sensor_id missing", `{"metric":"co2","value":1}`, 0, `sensor_id: missing`},
		{"sensor_id null", `{"sensor_id":null,"metric":"co2","value":1}`, 0, `sensor_id: expected a string, got null`},
		{"sensor_id number", `{"sensor_id":42,"metric":"co2","value":1}`, 0, `sensor_id: expected a string, got number 42`},
		{"sensor_id object", `{"sensor_id":{"id":"a"},"metric":"co2","value":1}`, 0, `sensor_id: expected a string, got object`},
		{"sensor_id empty", `{"sensor_id":"","metric":"co2","value":1}`, 0, `sensor_id: empty`},
		{"sensor_id blank", `{"sensor_id":" \t ","metric":"co2","value":1}`, 0, `sensor_id: empty`},
		{"sensor_id with a space", `{"sensor_id":"Al pha","metric":"co2","value":1}`, 0, `sensor_id: "al pha" does not match [a-z0-9][a-z0-9._-]*`},
		{"sensor_id starting with a dash", `{"sensor_id":"-alpha","metric":"co2","value":1}`, 0, `sensor_id: "-alpha" does not match [a-z0-9][a-z0-9._-]*`},
		{"sensor_id starting with a dot", `{"sensor_id":".alpha","metric":"co2","value":1}`, 0, `sensor_id: ".alpha" does not match [a-z0-9][a-z0-9._-]*`},
		{"sensor_id with a slash", `{"sensor_id":"plant/alpha","metric":"co2","value":1}`, 0, `sensor_id: "plant/alpha" does not match [a-z0-9][a-z0-9._-]*`},
		{"sensor_id not ASCII", `{"sensor_id":"Äpfel","metric":"co2","value":1}`, 0, `sensor_id: "Äpfel" does not match [a-z0-9][a-z0-9._-]*`},
		{"sensor_id with the Kelvin sign", `{"sensor_id":"\u212Aitchen","metric":"co2","value":1}`, 0, "sensor_id: \"\u212Aitchen\" does not match [a-z0-9][a-z0-9._-]*"},
		{"sensor_id too long", `{"sensor_id":"` + strings.Repeat("a", 129) + `","metric":"co2","value":1}`, 0, `sensor_id: too long (129 characters, max 128)`},

		// metric
		{"metric missing", `{"sensor_id":"alpha","value":1}`, 0, `metric: missing`},
		{"metric array", `{"sensor_id":"alpha","metric":["co2"],"value":1}`, 0, `metric: expected a string, got array`},
		{"metric empty", `{"sensor_id":"alpha","metric":"  ","value":1}`, 0, `metric: empty`},

		// value
		{"value missing", `{"sensor_id":"alpha","metric":"co2"}`, 0, `value: missing`},
		{"value numeric string", ev(`"temperature"`, `"24.5"`, `"C"`, ts0), 0, `value: expected a number, got string "24.5"`},
		{"value null", ev(`"co2"`, `null`, "", ts0), 0, `value: expected a number, got null`},
		{"value boolean", ev(`"co2"`, `false`, "", ts0), 0, `value: expected a number, got boolean false`},
		{"value long string clipped", ev(`"co2"`, `"`+strings.Repeat("x", 100)+`"`, "", ts0), 0, `value: expected a number, got string "` + strings.Repeat("x", 63) + `...`},
		{"value too large", ev(`"co2"`, `1e999`, "", ts0), 0, `value: not a finite number`},
		{"value too small", ev(`"co2"`, `-1e999`, "", ts0), 0, `value: not a finite number`},

		// unit
		{"unit missing on a temperature", ev(`"temperature"`, "21", "", ts0), 0, `unit: missing (required for temperature)`},
		{"unit empty on a temperature", ev(`"temperature"`, "21", `" "`, ts0), 0, `unit: empty (required for temperature)`},
		{"unit not a temperature unit", ev(`"temperature"`, "21", `"hPa"`, ts0), 0, `unit: "hPa" is not a temperature unit (want C, F or K)`},
		{"unit number", ev(`"humidity"`, "21", `5`, ts0), 0, `unit: expected a string, got number 5`},
		{"unit null on a temperature", ev(`"temperature"`, "21", `null`, ts0), 0, `unit: missing (required for temperature)`},

		// impossible values
		{"below absolute zero", ev(`"temperature"`, "-300", `"C"`, ts0), 0, `value: temperature -300 °C is below absolute zero (-273.15 °C)`},
		{"below absolute zero in F", ev(`"temperature"`, "-540", `"F"`, ts0), 0, `value: temperature -317.7778 °C (-540 °F) is below absolute zero (-273.15 °C)`},
		{"negative kelvin", ev(`"temperature"`, "-1", `"K"`, ts0), 0, `value: temperature -274.15 °C (-1 K) is below absolute zero (-273.15 °C)`},
		{"just below absolute zero", ev(`"temperature"`, "-273.16", `"celsius"`, ts0), 0, `value: temperature -273.16 °C is below absolute zero (-273.15 °C)`},
		{"humidity over 100", ev(`"humidity"`, "140", `"%"`, ts0), 0, `value: humidity 140 % is outside 0..100`},
		{"humidity negative", ev(`"humidity"`, "-0.5", `"%"`, ts0), 0, `value: humidity -0.5 % is outside 0..100`},
		{"pressure negative", ev(`"pressure"`, "-5", `"hPa"`, ts0), 0, `value: pressure -5 hPa is negative`},
		{"pressure negative, no unit", ev(`"pressure"`, "-5", "", ts0), 0, `value: pressure -5 is negative`},

		// ts
		{"ts unrecognised", ev(`"co2"`, "1", "", `"ts":"yesterday"`), 0, `ts: unrecognised timestamp "yesterday"`},
		{"ts US date", ev(`"co2"`, "1", "", `"ts":"05/01/2024 12:00:28"`), 0, `ts: unrecognised timestamp "05/01/2024 12:00:28"`},
		{"ts impossible date", ev(`"co2"`, "1", "", `"ts":"2024-13-01T00:00:00Z"`), 0, `ts: unrecognised timestamp "2024-13-01T00:00:00Z"`},
		{"ts date only", ev(`"co2"`, "1", "", `"ts":"2024-05-01"`), 0, `ts: unrecognised timestamp "2024-05-01"`},
		{"ts empty", ev(`"co2"`, "1", "", `"ts":""`), 0, `ts: unrecognised timestamp ""`},
		{"ts boolean", ev(`"co2"`, "1", "", `"ts":true`), 0, `ts: expected a string or a number, got boolean true`},
		{"ts object", ev(`"co2"`, "1", "", `"ts":{"s":1}`), 0, `ts: expected a string or a number, got object`},
		{"ts negative", ev(`"co2"`, "1", "", `"ts":-5`), 0, `ts: negative unix time -5`},
		{"ts negative float", ev(`"co2"`, "1", "", `"ts":-5.5`), 0, `ts: negative unix time -5.5`},
		{"ts too large", ev(`"co2"`, "1", "", `"ts":1e20`), 0, `ts: unix time 1e20 is out of range (years 0000 to 9999)`},
		{"ts too large integer", ev(`"co2"`, "1", "", `"ts":"253402300800000"`), 0, `ts: unix time "253402300800000" is out of range (years 0000 to 9999)`},
		{"ts infinite", ev(`"co2"`, "1", "", `"ts":1e999`), 0, `ts: unix time 1e999 is out of range (years 0000 to 9999)`},
		{"ts before year 0", ev(`"co2"`, "1", "", `"ts":"0000-01-01T00:00:00+01:00"`), 0, `ts: "0000-01-01T00:00:00+01:00" is out of range (years 0000 to 9999)`},
		{"ts missing, no record timestamp", ev(`"co2"`, "1", "", ""), -1, `ts: missing, and the record has no timestamp`},

		// members named like a field but for case
		{"field name in another case", ev(`"co2"`, "1", "", ts0+`,"Sensor_ID":"x"`), 0, `sensor_id: member "Sensor_ID" differs from "sensor_id" only in case`},
		{"field name only in another case", `{"sensor_id":"alpha","metric":"co2","Value":1}`, 0, `value: member "Value" differs from "value" only in case`},
		{"field name folding to ASCII", `{"sensor_id":"alpha","metric":"co2","value":1,"ſensor_id":"x"}`, 0, "sensor_id: member \"\u017Fensor_id\" differs from \"sensor_id\" only in case"},
		{"misnamed field in a text that is not JSON", `{"unIt":00`, 0, `invalid JSON: invalid character '0' after object key:value pair`},
		{"ts in capitals", ev(`"co2"`, "1", "", `"TS":1714564800`), 0, `ts: member "TS" differs from "ts" only in case`},

		// the first failure, in field order, is the reason
		{"first failure wins", `{"ts":"never","value":"x","metric":"","sensor_id":"alpha"}`, 0, `metric: empty`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			outs, err := process(sluice.Record{Value: []byte(tc.in), Timestamp: tc.recordTS})
			if err == nil {
				t.Fatalf("process(%s) = %s, want error %q", tc.in, outs[0].Value, tc.wantError)
			}
			if outs != nil {
				t.Fatalf("outputs %v along with error %v", outs, err)
			}
			if err.Error() != tc.wantError {
				t.Fatalf("process(%s)\n got error %q\nwant error %q", tc.in, err, tc.wantError)
			}
		})
	}
}

func TestNullValue(t *testing.T) {
	_, err := process(sluice.Record{Value: nil})
	if err == nil || err.Error() != "invalid JSON: the record value is null" {
		t.Fatalf("got %v", err)
	}
}

func TestKeyAndHeaders(t *testing.T) {
	headers := []sluice.Header{{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")}, {Key: "empty", Value: nil}}
	in := sluice.Record{Topic: "events.parsed", Partition: 2, Offset: 7, Timestamp: recordTS,
		Key: []byte("ignored"), Value: []byte(`{"sensor_id":" Beta-7 ","metric":"co2","value":1}`), Headers: headers}
	outs, err := process(in)
	if err != nil {
		t.Fatal(err)
	}
	o := outs[0]
	if string(o.Key) != "beta-7" {
		t.Fatalf("key %q, want beta-7", o.Key)
	}
	if len(o.Headers) != 2 || o.Headers[0].Key != "traceparent" || string(o.Headers[0].Value) != string(headers[0].Value) ||
		o.Headers[1].Key != "empty" || o.Headers[1].Value != nil {
		t.Fatalf("headers %+v, want %+v", o.Headers, headers)
	}
	// The key shares the value's memory; appending to it must not write
	// into the value.
	before := string(o.Value)
	_ = append(o.Key, "XXXXXXXX"...)
	if string(o.Value) != before {
		t.Fatalf("appending to the key changed the value: %s", o.Value)
	}
	checkOutput(t, o)
}

func TestPassthrough(t *testing.T) {
	in := sluice.Record{Key: []byte("k"), Value: []byte("not json at all"), Headers: []sluice.Header{{Key: "h", Value: []byte("v")}}}
	outs, err := passthrough(in)
	if err != nil || len(outs) != 1 {
		t.Fatalf("passthrough: %v, %d outputs", err, len(outs))
	}
	o := outs[0]
	if o.Name != "" || string(o.Key) != "k" || string(o.Value) != "not json at all" || len(o.Headers) != 1 || o.Headers[0].Key != "h" {
		t.Fatalf("passthrough changed the record: %+v", o)
	}
}

func TestAppendString(t *testing.T) {
	for in, want := range map[string]string{
		"":                   `""`,
		"plain":              `"plain"`,
		"q\"b\\s/":           `"q\"b\\s/"`,
		"\n\r\t\x00\x1f":     `"\n\r\t\u0000\u001f"`,
		"a\u2028b\u2029c":    `"a\u2028b\u2029c"`,
		"été €":              `"été €"`,
		"<&>":                `"<&>"`,
		"\u2027\u202a\u20ac": "\"\u2027\u202a\u20ac\"",
	} {
		got := string(appendString(nil, []byte(in)))
		if got != want {
			t.Errorf("appendString(%q) = %s, want %s", in, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil || back != in {
			t.Errorf("appendString(%q) = %s, which decodes to %q, %v", in, got, back, err)
		}
	}
}
