package codec

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/config"
)

// compatParse parses one schema version with a cache of its own: two
// versions of a topic share their record's name, and a shared cache would
// hand one version's named types to the other.
func compatParse(t testing.TB, s string) avro.Schema {
	t.Helper()
	sch, err := avro.ParseBytesWithCache([]byte(s), "", &avro.SchemaCache{})
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return sch
}

// compatHambaVerdict is hamba/avro's answer to the same question: nil when newer
// keeps mode with older. Each call gets a new SchemaCompatibility: its
// cache is keyed by canonical-form fingerprints, which leave out defaults
// and aliases, so a shared one would reuse the verdict of a schema that
// differs only by a default.
func compatHambaVerdict(mode string, older, newer avro.Schema) error {
	backward := func() error { return avro.NewSchemaCompatibility().Compatible(newer, older) }
	forward := func() error { return avro.NewSchemaCompatibility().Compatible(older, newer) }
	switch mode {
	case config.CompatBackward:
		return backward()
	case config.CompatForward:
		return forward()
	case config.CompatFull:
		if err := backward(); err != nil {
			return err
		}
		return forward()
	}
	return nil
}

// rec is the sensor event record with the given fields (JSON objects).
func compatRecord(fields ...string) string {
	return `{"type":"record","name":"SensorEvent","namespace":"sluice.sensors","fields":[` +
		strings.Join(fields, ",") + `]}`
}

// Fields the cases below build their schemas from.
const (
	cfSensor    = `{"name":"sensor_id","type":"string"}`
	cfValue     = `{"name":"value","type":"double"}`
	cfValueStr  = `{"name":"value","type":"string"}`
	cfValueF    = `{"name":"value","type":"float"}`
	cfUnit      = `{"name":"unit","type":"string"}`
	cfUnitDef   = `{"name":"unit","type":"string","default":"C"}`
	cfUnitOpt   = `{"name":"unit","type":["null","string"],"default":null}`
	cfCountInt  = `{"name":"count","type":"int"}`
	cfCountLong = `{"name":"count","type":"long"}`
	cfLevel3    = `{"name":"level","type":{"type":"enum","name":"Level","symbols":["INFO","WARNING","CRITICAL"]}}`
	cfLevel2    = `{"name":"level","type":{"type":"enum","name":"Level","symbols":["INFO","WARNING"]}}`
	cfLevel1    = `{"name":"level","type":{"type":"enum","name":"Level","symbols":["INFO"]}}`
	cfLevel2Def = `{"name":"level","type":{"type":"enum","name":"Level","symbols":["INFO","WARNING"],"default":"INFO"}}`
	cfLocation  = `{"name":"location","type":{"type":"record","name":"Location","fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double"}]}}`
)

// location is the nested Location record with the given fields, under a
// given record name and with extra attributes ("" for none).
func compatLocation(name, extra string, fields ...string) string {
	return `{"name":"location","type":{"type":"record","name":"` + name + `"` + extra +
		`,"fields":[` + strings.Join(fields, ",") + `]}}`
}

const (
	cLat    = `{"name":"lat","type":"double"}`
	cLatStr = `{"name":"lat","type":"string"}`
	cLon    = `{"name":"lon","type":"double"}`
	cAlt    = `{"name":"alt","type":"double"}`
	cAltDef = `{"name":"alt","type":"double","default":0}`
)

// compatCase is one schema change and what each mode says of it.
type compatCase struct {
	name         string
	mode         string
	older, newer string
	want         []string
	// hambaDiffers says why hamba/avro's verdict differs from the Avro
	// specification, which incompatibilities follows; "" when they must
	// agree.
	hambaDiffers string
}

var compatCases = []compatCase{
	// Fields added and removed.
	{name: "backward: field added without a default", mode: config.CompatBackward,
		older: compatRecord(cfSensor, cfValue), newer: compatRecord(cfSensor, cfValue, cfUnit),
		want: []string{"field `unit` added without a default (records written with the older schema have no `unit`)"}},
	{name: "backward: field added with a default", mode: config.CompatBackward,
		older: compatRecord(cfSensor, cfValue), newer: compatRecord(cfSensor, cfValue, cfUnitDef)},
	{name: "backward: optional field added", mode: config.CompatBackward,
		older: compatRecord(cfSensor, cfValue), newer: compatRecord(cfSensor, cfValue, cfUnitOpt)},
	{name: "backward: field removed", mode: config.CompatBackward,
		older: compatRecord(cfSensor, cfValue, cfUnit), newer: compatRecord(cfSensor, cfValue)},
	{name: "forward: field removed without a default", mode: config.CompatForward,
		older: compatRecord(cfSensor, cfValue, cfUnit), newer: compatRecord(cfSensor, cfValue),
		want: []string{"field `unit` removed without a default (readers with the older schema need `unit`)"}},
	{name: "forward: field removed that had a default", mode: config.CompatForward,
		older: compatRecord(cfSensor, cfValue, cfUnitDef), newer: compatRecord(cfSensor, cfValue)},
	{name: "forward: field added without a default", mode: config.CompatForward,
		older: compatRecord(cfSensor, cfValue), newer: compatRecord(cfSensor, cfValue, cfUnit)},
	{name: "full: field added without a default", mode: config.CompatFull,
		older: compatRecord(cfSensor, cfValue), newer: compatRecord(cfSensor, cfValue, cfUnit),
		want: []string{"field `unit` added without a default (records written with the older schema have no `unit`)"}},
	{name: "full: field removed without a default", mode: config.CompatFull,
		older: compatRecord(cfSensor, cfValue, cfUnit), newer: compatRecord(cfSensor, cfValue),
		want: []string{"field `unit` removed without a default (readers with the older schema need `unit`)"}},
	{name: "full: field added with a default", mode: config.CompatFull,
		older: compatRecord(cfSensor, cfValue), newer: compatRecord(cfSensor, cfValue, cfUnitDef)},
	{name: "none: anything goes", mode: config.CompatNone,
		older: compatRecord(cfSensor, cfValue, cfUnit), newer: compatRecord(cfValueStr, cfCountInt)},
	{name: "default mode is backward", mode: "",
		older: compatRecord(cfSensor, cfValue), newer: compatRecord(cfSensor, cfValue, cfUnit),
		want: []string{"field `unit` added without a default (records written with the older schema have no `unit`)"}},

	// Type changes and the spec's promotions.
	{name: "backward: double to string", mode: config.CompatBackward,
		older: compatRecord(cfValue), newer: compatRecord(cfValueStr),
		want: []string{"field `value` changed type from double to string"}},
	{name: "forward: double to string", mode: config.CompatForward,
		older: compatRecord(cfValue), newer: compatRecord(cfValueStr),
		want: []string{"field `value` changed type from double to string"}},
	{name: "full: double to string is one break", mode: config.CompatFull,
		older: compatRecord(cfValue), newer: compatRecord(cfValueStr),
		want: []string{"field `value` changed type from double to string"}},
	{name: "backward: int to long", mode: config.CompatBackward,
		older: compatRecord(cfCountInt), newer: compatRecord(cfCountLong)},
	{name: "forward: int to long", mode: config.CompatForward,
		older: compatRecord(cfCountInt), newer: compatRecord(cfCountLong),
		want: []string{"field `count` changed type from int to long: a long cannot be read as int"}},
	{name: "backward: long to int", mode: config.CompatBackward,
		older: compatRecord(cfCountLong), newer: compatRecord(cfCountInt),
		want: []string{"field `count` changed type from long to int: a long cannot be read as int"}},
	{name: "forward: long to int", mode: config.CompatForward,
		older: compatRecord(cfCountLong), newer: compatRecord(cfCountInt)},
	{name: "full: int to long", mode: config.CompatFull,
		older: compatRecord(cfCountInt), newer: compatRecord(cfCountLong),
		want: []string{"field `count` changed type from int to long: a long cannot be read as int"}},
	{name: "backward: float to double", mode: config.CompatBackward,
		older: compatRecord(cfValueF), newer: compatRecord(cfValue)},
	{name: "forward: float to double", mode: config.CompatForward,
		older: compatRecord(cfValueF), newer: compatRecord(cfValue),
		want: []string{"field `value` changed type from float to double: a double cannot be read as float"}},
	{name: "backward: int to double", mode: config.CompatBackward,
		older: compatRecord(cfCountInt), newer: compatRecord(`{"name":"count","type":"double"}`)},
	{name: "backward: long to float", mode: config.CompatBackward,
		older: compatRecord(cfCountLong), newer: compatRecord(`{"name":"count","type":"float"}`)},
	{name: "backward: int to boolean", mode: config.CompatBackward,
		older: compatRecord(cfCountInt), newer: compatRecord(`{"name":"count","type":"boolean"}`),
		want: []string{"field `count` changed type from int to boolean"}},
	{name: "full: string to bytes", mode: config.CompatFull,
		older: compatRecord(cfValueStr), newer: compatRecord(`{"name":"value","type":"bytes"}`)},
	{name: "backward: string to record", mode: config.CompatBackward,
		older: compatRecord(`{"name":"location","type":"string"}`), newer: compatRecord(cfLocation),
		want: []string{"field `location` changed type from string to record sluice.sensors.Location"}},
	{name: "backward: top-level type changed", mode: config.CompatBackward,
		older: compatRecord(cfValue), newer: `"string"`,
		want: []string{"the schema changed type from record sluice.sensors.SensorEvent to string"}},

	// Enums.
	{name: "backward: enum symbol removed", mode: config.CompatBackward,
		older: compatRecord(cfLevel3), newer: compatRecord(cfLevel2),
		want: []string{"field `level`: enum symbol `CRITICAL` removed without an enum default (records written with the older schema may hold `CRITICAL`)"}},
	{name: "backward: enum symbols removed", mode: config.CompatBackward,
		older: compatRecord(cfLevel3), newer: compatRecord(cfLevel1),
		want: []string{"field `level`: enum symbols `WARNING`, `CRITICAL` removed without an enum default (records written with the older schema may hold them)"}},
	{name: "backward: enum symbol removed, with an enum default", mode: config.CompatBackward,
		older: compatRecord(cfLevel3), newer: compatRecord(cfLevel2Def)},
	{name: "backward: enum symbol added", mode: config.CompatBackward,
		older: compatRecord(cfLevel2), newer: compatRecord(cfLevel3)},
	{name: "forward: enum symbol added", mode: config.CompatForward,
		older: compatRecord(cfLevel2), newer: compatRecord(cfLevel3),
		want: []string{"field `level`: enum symbol `CRITICAL` added (readers with the older schema do not know `CRITICAL` and have no enum default)"}},
	{name: "forward: enum symbol added, older has an enum default", mode: config.CompatForward,
		older: compatRecord(cfLevel2Def), newer: compatRecord(cfLevel3)},
	{name: "full: enum symbol removed", mode: config.CompatFull,
		older: compatRecord(cfLevel3), newer: compatRecord(cfLevel2),
		want: []string{"field `level`: enum symbol `CRITICAL` removed without an enum default (records written with the older schema may hold `CRITICAL`)"}},
	{name: "backward: enum renamed without an alias", mode: config.CompatBackward,
		older: compatRecord(cfLevel2), newer: compatRecord(`{"name":"level","type":{"type":"enum","name":"Severity","symbols":["INFO","WARNING"]}}`),
		want: []string{"field `level`: enum sluice.sensors.Level renamed to sluice.sensors.Severity without an alias (records written with the older schema are matched by name: the newer schema needs the alias sluice.sensors.Level)"}},

	// Unions.
	{name: "backward: union branch removed", mode: config.CompatBackward,
		older: compatRecord(`{"name":"value","type":["double","string"]}`), newer: compatRecord(cfValue),
		want: []string{"field `value`: union branch string removed (records written with the older schema may hold a string)"}},
	{name: "backward: null branch removed", mode: config.CompatBackward,
		older: compatRecord(cfUnitOpt), newer: compatRecord(cfUnit),
		want: []string{"field `unit`: union branch null removed (records written with the older schema may hold null)"}},
	{name: "backward: made optional", mode: config.CompatBackward,
		older: compatRecord(cfUnit), newer: compatRecord(cfUnitOpt)},
	{name: "forward: made optional", mode: config.CompatForward,
		older: compatRecord(cfUnit), newer: compatRecord(cfUnitOpt),
		want: []string{"field `unit`: union branch null added (readers with the older schema cannot read null)"}},
	{name: "forward: union branch added", mode: config.CompatForward,
		older: compatRecord(cfUnitOpt), newer: compatRecord(`{"name":"unit","type":["null","string","long"],"default":null}`),
		want: []string{"field `unit`: union branch long added (readers with the older schema cannot read a long)"}},
	{name: "backward: union branch added", mode: config.CompatBackward,
		older: compatRecord(cfUnitOpt), newer: compatRecord(`{"name":"unit","type":["null","string","long"],"default":null}`)},
	{name: "backward: union branch promoted", mode: config.CompatBackward,
		older: compatRecord(`{"name":"count","type":["null","int"],"default":null}`), newer: compatRecord(`{"name":"count","type":["null","long"],"default":null}`)},
	{name: "backward: union no branch of which is read", mode: config.CompatBackward,
		older: compatRecord(cfUnitOpt), newer: compatRecord(`{"name":"unit","type":"double"}`),
		want: []string{"field `unit` changed type from union [null, string] to double"}},
	{name: "backward: no branch of the new union reads the old type", mode: config.CompatBackward,
		older: compatRecord(cfUnit), newer: compatRecord(`{"name":"unit","type":["null","double"],"default":null}`),
		want: []string{"field `unit` changed type from string to union [null, double]"}},

	// Nested records, arrays, maps.
	{name: "backward: nested field added without a default", mode: config.CompatBackward,
		older: compatRecord(compatLocation("Location", "", cLat, cLon)), newer: compatRecord(compatLocation("Location", "", cLat, cLon, cAlt)),
		want: []string{"field `location.alt` added without a default (records written with the older schema have no `location.alt`)"}},
	{name: "backward: nested field added with a default", mode: config.CompatBackward,
		older: compatRecord(compatLocation("Location", "", cLat, cLon)), newer: compatRecord(compatLocation("Location", "", cLat, cLon, cAltDef))},
	{name: "forward: nested field removed", mode: config.CompatForward,
		older: compatRecord(compatLocation("Location", "", cLat, cLon)), newer: compatRecord(compatLocation("Location", "", cLat)),
		want: []string{"field `location.lon` removed without a default (readers with the older schema need `location.lon`)"}},
	{name: "full: nested type changed", mode: config.CompatFull,
		older: compatRecord(compatLocation("Location", "", cLat, cLon)), newer: compatRecord(compatLocation("Location", "", cLatStr, cLon)),
		want: []string{"field `location.lat` changed type from double to string"}},
	{name: "backward: optional nested record gains a required field", mode: config.CompatBackward,
		older: compatRecord(`{"name":"location","type":["null",{"type":"record","name":"Location","fields":[` + cLat + `,` + cLon + `]}],"default":null}`),
		newer: compatRecord(`{"name":"location","type":["null",{"type":"record","name":"Location","fields":[` + cLat + `,` + cLon + `,` + cAlt + `]}],"default":null}`),
		want:  []string{"field `location.alt` added without a default (records written with the older schema have no `location.alt`)"}},
	{name: "backward: array items changed type", mode: config.CompatBackward,
		older: compatRecord(`{"name":"tags","type":{"type":"array","items":"string"}}`), newer: compatRecord(`{"name":"tags","type":{"type":"array","items":"int"}}`),
		want: []string{"field `tags[]` changed type from string to int"}},
	{name: "backward: array items promoted", mode: config.CompatBackward,
		older: compatRecord(`{"name":"tags","type":{"type":"array","items":"int"}}`), newer: compatRecord(`{"name":"tags","type":{"type":"array","items":"long"}}`)},
	{name: "backward: array of records gains a required field", mode: config.CompatBackward,
		older: compatRecord(`{"name":"readings","type":{"type":"array","items":{"type":"record","name":"Reading","fields":[` + cfValue + `]}}}`),
		newer: compatRecord(`{"name":"readings","type":{"type":"array","items":{"type":"record","name":"Reading","fields":[` + cfValue + `,` + cfUnit + `]}}}`),
		want:  []string{"field `readings[].unit` added without a default (records written with the older schema have no `readings[].unit`)"}},
	{name: "backward: map values changed type", mode: config.CompatBackward,
		older: compatRecord(`{"name":"attrs","type":{"type":"map","values":"string"}}`), newer: compatRecord(`{"name":"attrs","type":{"type":"map","values":"long"}}`),
		want: []string{"field `attrs{}` changed type from string to long"}},
	{name: "forward: map values promoted the wrong way", mode: config.CompatForward,
		older: compatRecord(`{"name":"attrs","type":{"type":"map","values":"int"}}`), newer: compatRecord(`{"name":"attrs","type":{"type":"map","values":"long"}}`),
		want: []string{"field `attrs{}` changed type from int to long: a long cannot be read as int"}},
	{name: "backward: array became a map", mode: config.CompatBackward,
		older: compatRecord(`{"name":"tags","type":{"type":"array","items":"string"}}`), newer: compatRecord(`{"name":"tags","type":{"type":"map","values":"string"}}`),
		want: []string{"field `tags` changed type from array of string to map of string"}},

	// Renames: the reader's aliases map the writer's names.
	{name: "backward: field renamed with an alias", mode: config.CompatBackward,
		older: compatRecord(`{"name":"temperature","type":"double"}`), newer: compatRecord(`{"name":"temp","type":"double","aliases":["temperature"]}`)},
	{name: "backward: field renamed without an alias", mode: config.CompatBackward,
		older: compatRecord(`{"name":"temperature","type":"double"}`), newer: compatRecord(`{"name":"temp","type":"double"}`),
		want: []string{"field `temp` added without a default (records written with the older schema have no `temp`)"}},
	{name: "forward: field renamed with an alias", mode: config.CompatForward,
		older: compatRecord(`{"name":"temperature","type":"double"}`), newer: compatRecord(`{"name":"temp","type":"double","aliases":["temperature"]}`),
		want: []string{"field `temperature` renamed to `temp` (readers with the older schema need `temperature`; the alias only helps readers with the newer schema)"}},
	{name: "forward: nested field renamed with an alias", mode: config.CompatForward,
		older: compatRecord(compatLocation("Location", "", cLat, cLon)), newer: compatRecord(compatLocation("Location", "", `{"name":"latitude","type":"double","aliases":["lat"]}`, cLon)),
		want: []string{"field `location.lat` renamed to `location.latitude` (readers with the older schema need `location.lat`; the alias only helps readers with the newer schema)"}},
	{name: "backward: record renamed with an alias", mode: config.CompatBackward,
		older: compatRecord(compatLocation("Location", "", cLat, cLon)), newer: compatRecord(compatLocation("Place", `,"aliases":["Location"]`, cLat, cLon))},
	{name: "backward: record renamed without an alias", mode: config.CompatBackward,
		older: compatRecord(compatLocation("Location", "", cLat, cLon)), newer: compatRecord(compatLocation("Place", "", cLat, cLon)),
		want: []string{"field `location`: record sluice.sensors.Location renamed to sluice.sensors.Place without an alias (records written with the older schema are matched by name: the newer schema needs the alias sluice.sensors.Location)"}},
	{name: "forward: record renamed with an alias", mode: config.CompatForward,
		older: compatRecord(compatLocation("Location", "", cLat, cLon)), newer: compatRecord(compatLocation("Place", `,"aliases":["Location"]`, cLat, cLon)),
		want: []string{"field `location`: record sluice.sensors.Location renamed to sluice.sensors.Place (readers with the older schema know only sluice.sensors.Location)"}},
	{name: "backward: optional record renamed without an alias", mode: config.CompatBackward,
		older: compatRecord(`{"name":"location","type":["null",{"type":"record","name":"Location","fields":[` + cLat + `]}],"default":null}`),
		newer: compatRecord(`{"name":"location","type":["null",{"type":"record","name":"Place","fields":[` + cLat + `]}],"default":null}`),
		want:  []string{"field `location`: record sluice.sensors.Location renamed to sluice.sensors.Place without an alias (records written with the older schema are matched by name: the newer schema needs the alias sluice.sensors.Location)"}},
	{name: "backward: top-level record renamed without an alias", mode: config.CompatBackward,
		older: compatRecord(cfValue), newer: strings.Replace(compatRecord(cfValue), `"SensorEvent"`, `"Reading"`, 1),
		want: []string{"record sluice.sensors.SensorEvent renamed to sluice.sensors.Reading without an alias (records written with the older schema are matched by name: the newer schema needs the alias sluice.sensors.SensorEvent)"}},
	{name: "full: namespace changed", mode: config.CompatFull,
		older: compatRecord(cfValue), newer: strings.Replace(compatRecord(cfValue), `"sluice.sensors"`, `"sluice.devices"`, 1)},

	// Fixed and decimal.
	{name: "backward: fixed size changed", mode: config.CompatBackward,
		older: compatRecord(`{"name":"mac","type":{"type":"fixed","name":"MAC","size":6}}`), newer: compatRecord(`{"name":"mac","type":{"type":"fixed","name":"MAC","size":8}}`),
		want: []string{"field `mac`: fixed sluice.sensors.MAC changed size from 6 to 8 bytes"}},
	{name: "forward: fixed renamed without an alias", mode: config.CompatForward,
		older: compatRecord(`{"name":"mac","type":{"type":"fixed","name":"MAC","size":6}}`), newer: compatRecord(`{"name":"mac","type":{"type":"fixed","name":"HardwareAddress","size":6}}`),
		want: []string{"field `mac`: fixed sluice.sensors.MAC renamed to sluice.sensors.HardwareAddress (readers with the older schema know only sluice.sensors.MAC)"}},
	{name: "backward: decimal scale changed", mode: config.CompatBackward,
		older: compatRecord(`{"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}}`),
		newer: compatRecord(`{"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":3}}`),
		want:  []string{"field `price`: decimal changed from precision 9 scale 2 to precision 9 scale 3 (Avro reads a decimal only with the same precision and scale)"},
		hambaDiffers: "the spec: two decimal schemas match only if their scales and precisions match " +
			"(a value written as 12345 with scale 2 is 123.45, read with scale 3 it is 12.345); hamba/avro compares only the underlying bytes"},
	{name: "backward: fixed decimal precision changed", mode: config.CompatBackward,
		older:        compatRecord(`{"name":"price","type":{"type":"fixed","name":"Price","size":8,"logicalType":"decimal","precision":18,"scale":2}}`),
		newer:        compatRecord(`{"name":"price","type":{"type":"fixed","name":"Price","size":8,"logicalType":"decimal","precision":16,"scale":2}}`),
		want:         []string{"field `price`: decimal changed from precision 18 scale 2 to precision 16 scale 2 (Avro reads a decimal only with the same precision and scale)"},
		hambaDiffers: "the spec: two decimal schemas match only if their scales and precisions match; hamba/avro compares only the fixed's name and size"},
	{name: "backward: bytes became a decimal", mode: config.CompatBackward,
		older: compatRecord(`{"name":"price","type":"bytes"}`),
		newer: compatRecord(`{"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}}`)},
	{name: "backward: timestamp logical type added", mode: config.CompatBackward,
		older: compatRecord(`{"name":"ts","type":"long"}`), newer: compatRecord(`{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}}`)},

	// A field found by name before any alias.
	{name: "backward: a field's own name wins over an alias", mode: config.CompatBackward,
		older: compatRecord(`{"name":"temperature","type":"string"}`, `{"name":"temp","type":"double"}`),
		newer: compatRecord(`{"name":"temp","type":"double","aliases":["temperature"]}`),
		hambaDiffers: "the spec resolves a reader field by the writer field of the same name, its aliases only when none has it " +
			"(Java's SchemaCompatibility looks up the name first too); hamba/avro takes the first writer field matching name or alias, " +
			"here `temperature` (a string), and calls the change incompatible"},

	// Recursive types end.
	{name: "backward: recursive record", mode: config.CompatBackward,
		older: `{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"],"default":null}]}`,
		newer: `{"type":"record","name":"Node","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","Node"],"default":null}]}`},
	{name: "backward: recursive record gains a required field", mode: config.CompatBackward,
		older: `{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"],"default":null}]}`,
		newer: `{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"w","type":"int"},{"name":"next","type":["null","Node"],"default":null}]}`,
		want:  []string{"field `w` added without a default (records written with the older schema have no `w`)"}},

	// Several breaks: one reason each, in the order of the reader's fields.
	{name: "full: several breaks", mode: config.CompatFull,
		older: compatRecord(cfSensor, cfValue, cfLevel3, cfUnit),
		newer: compatRecord(cfSensor, cfValueStr, cfLevel2, cfCountInt),
		want: []string{
			"field `value` changed type from double to string",
			"field `level`: enum symbol `CRITICAL` removed without an enum default (records written with the older schema may hold `CRITICAL`)",
			"field `count` added without a default (records written with the older schema have no `count`)",
			"field `unit` removed without a default (readers with the older schema need `unit`)",
		}},
}

func TestCompatCases(t *testing.T) {
	for _, c := range compatCases {
		t.Run(c.name, func(t *testing.T) {
			older, newer := compatParse(t, c.older), compatParse(t, c.newer)
			got := incompatibilities(c.mode, older, newer)
			if !slices.Equal(got, c.want) {
				t.Errorf("incompatibilities(%q):\n got  %q\n want %q", c.mode, got, c.want)
			}
			if c.mode == config.CompatNone || c.mode == "" {
				return
			}
			herr := compatHambaVerdict(c.mode, older, newer)
			agree := (len(got) == 0) == (herr == nil)
			switch {
			case c.hambaDiffers == "" && !agree:
				t.Errorf("hamba/avro disagrees: ours %q, hamba's %v", got, herr)
			case c.hambaDiffers != "" && agree:
				t.Errorf("hamba/avro now agrees (ours %q, hamba's %v): drop the note %q", got, herr, c.hambaDiffers)
			}
		})
	}
}

// TestCompatSensorEventVersions is what `sluice validate` reports for the
// sensor event's schema files: a version that keeps the rule passes, one
// that breaks it gets the reason.
func TestCompatSensorEventVersions(t *testing.T) {
	load := func(name string) avro.Schema {
		b, err := os.ReadFile(filepath.Join("testdata", "compat", name))
		if err != nil {
			t.Fatal(err)
		}
		return compatParse(t, string(b))
	}
	v1, v2, v2bad, v3bad := load("sensor_event.v1.avsc"), load("sensor_event.v2.avsc"),
		load("sensor_event.v2-no-default.avsc"), load("sensor_event.v3-value-string.avsc")

	for _, c := range []struct {
		name         string
		mode         string
		older, newer avro.Schema
		want         []string
	}{
		{"v2 adds an optional unit: backward", config.CompatBackward, v1, v2, nil},
		{"v2 adds an optional unit: full", config.CompatFull, v1, v2, nil},
		{"v2 adds a required unit: backward", config.CompatBackward, v1, v2bad,
			[]string{"field `unit` added without a default (records written with the older schema have no `unit`)"}},
		{"v2 adds a required unit: forward", config.CompatForward, v1, v2bad, nil},
		{"v3 makes value a string: backward", config.CompatBackward, v2, v3bad,
			[]string{"field `value` changed type from double to string"}},
		{"v3 makes value a string: forward against v1", config.CompatForward, v1, v3bad,
			[]string{"field `value` changed type from double to string"}},
		{"going back from v2 to v1 drops a required unit: forward", config.CompatForward, v2bad, v1,
			[]string{"field `unit` removed without a default (readers with the older schema need `unit`)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := incompatibilities(c.mode, c.older, c.newer)
			if !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if herr := compatHambaVerdict(c.mode, c.older, c.newer); (herr == nil) != (len(got) == 0) {
				t.Errorf("hamba/avro disagrees: ours %q, hamba's %v", got, herr)
			}
		})
	}
}

// compatVariants are versions of a base record, each one change away
// from it: fields removed, added with and without defaults, retyped,
// enum symbols and union branches added and removed, nested fields and
// names changed. Decimals and a field with an alias that another writer
// field holds are left out: hamba/avro differs from the spec there (see
// compatCases).
func compatVariants() map[string]string {
	base := map[string]string{
		"id":       `{"name":"id","type":"string"}`,
		"count":    `{"name":"count","type":"int"}`,
		"value":    `{"name":"value","type":"double"}`,
		"ratio":    `{"name":"ratio","type":"float","default":1}`,
		"level":    `{"name":"level","type":{"type":"enum","name":"Level","symbols":["INFO","WARN","CRIT"]}}`,
		"location": `{"name":"location","type":{"type":"record","name":"Location","fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double"}]}}`,
		"tags":     `{"name":"tags","type":{"type":"array","items":"string"}}`,
		"attrs":    `{"name":"attrs","type":{"type":"map","values":"long"}}`,
		"note":     `{"name":"note","type":["null","string"],"default":null}`,
		"mac":      `{"name":"mac","type":{"type":"fixed","name":"MAC","size":6}}`,
	}
	order := []string{"id", "count", "value", "ratio", "level", "location", "tags", "attrs", "note", "mac"}
	build := func(change map[string]string, extra ...string) string {
		var fields []string
		for _, n := range order {
			f, ok := change[n]
			if !ok {
				f = base[n]
			}
			if f != "" {
				fields = append(fields, f)
			}
		}
		return compatRecord(append(fields, extra...)...)
	}

	v := map[string]string{"base": build(nil)}
	for _, n := range order {
		v["remove "+n] = build(map[string]string{n: ""})
	}
	prims := []string{"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
	defaults := map[string]string{"null": "null", "boolean": "false", "int": "0", "long": "0", "float": "0", "double": "0", "bytes": `""`, "string": `""`}
	for _, p := range prims {
		v["add "+p] = build(nil, `{"name":"extra","type":"`+p+`"}`)
		v["add "+p+" with default"] = build(nil, `{"name":"extra","type":"`+p+`","default":`+defaults[p]+`}`)
		for _, n := range []string{"count", "value", "id"} {
			v[n+" as "+p] = build(map[string]string{n: `{"name":"` + n + `","type":"` + p + `"}`})
		}
		v["tags of "+p] = build(map[string]string{"tags": `{"name":"tags","type":{"type":"array","items":"` + p + `"}}`})
		v["attrs of "+p] = build(map[string]string{"attrs": `{"name":"attrs","type":{"type":"map","values":"` + p + `"}}`})
		if p != "null" {
			v["note of null, "+p] = build(map[string]string{"note": `{"name":"note","type":["null","` + p + `"],"default":null}`})
		}
	}
	v["add optional record"] = build(nil, `{"name":"extra","type":["null",{"type":"record","name":"Extra","fields":[{"name":"x","type":"int"}]}],"default":null}`)
	for name, f := range map[string]string{
		"level without CRIT":             `{"name":"level","type":{"type":"enum","name":"Level","symbols":["INFO","WARN"]}}`,
		"level with FATAL":               `{"name":"level","type":{"type":"enum","name":"Level","symbols":["INFO","WARN","CRIT","FATAL"]}}`,
		"level without CRIT, defaulted":  `{"name":"level","type":{"type":"enum","name":"Level","symbols":["INFO","WARN"],"default":"INFO"}}`,
		"level with FATAL, defaulted":    `{"name":"level","type":{"type":"enum","name":"Level","symbols":["INFO","WARN","CRIT","FATAL"],"default":"INFO"}}`,
		"level renamed":                  `{"name":"level","type":{"type":"enum","name":"Severity","symbols":["INFO","WARN","CRIT"]}}`,
		"level renamed, aliased":         `{"name":"level","type":{"type":"enum","name":"Severity","aliases":["Level"],"symbols":["INFO","WARN","CRIT"]}}`,
		"level as string":                `{"name":"level","type":"string"}`,
		"location with alt":              `{"name":"location","type":{"type":"record","name":"Location","fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double"},{"name":"alt","type":"double"}]}}`,
		"location with cAlt, defaulted":  `{"name":"location","type":{"type":"record","name":"Location","fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double"},{"name":"alt","type":"double","default":0}]}}`,
		"location without lon":           `{"name":"location","type":{"type":"record","name":"Location","fields":[{"name":"lat","type":"double"}]}}`,
		"location cLat as string":        `{"name":"location","type":{"type":"record","name":"Location","fields":[{"name":"lat","type":"string"},{"name":"lon","type":"double"}]}}`,
		"location cLat as float":         `{"name":"location","type":{"type":"record","name":"Location","fields":[{"name":"lat","type":"float"},{"name":"lon","type":"double"}]}}`,
		"location cLat renamed, aliased": `{"name":"location","type":{"type":"record","name":"Location","fields":[{"name":"latitude","type":"double","aliases":["lat"]},{"name":"lon","type":"double"}]}}`,
		"location renamed":               `{"name":"location","type":{"type":"record","name":"Place","fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double"}]}}`,
		"location renamed, aliased":      `{"name":"location","type":{"type":"record","name":"Place","aliases":["Location"],"fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double"}]}}`,
		"location optional":              `{"name":"location","type":["null",{"type":"record","name":"Location","fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double"}]}],"default":null}`,
		"location optional with alt":     `{"name":"location","type":["null",{"type":"record","name":"Location","fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double"},{"name":"alt","type":"double"}]}],"default":null}`,
		"tags of records":                `{"name":"tags","type":{"type":"array","items":{"type":"record","name":"Tag","fields":[{"name":"k","type":"string"}]}}}`,
		"tags as map":                    `{"name":"tags","type":{"type":"map","values":"string"}}`,
		"note required":                  `{"name":"note","type":"string"}`,
		"note of null, string, long":     `{"name":"note","type":["null","string","long"],"default":null}`,
		"note of string, null":           `{"name":"note","type":["string","null"],"default":""}`,
		"count optional":                 `{"name":"count","type":["null","int"],"default":null}`,
		"count of int, string":           `{"name":"count","type":["int","string"]}`,
		"value renamed, aliased":         `{"name":"reading","type":"double","aliases":["value"]}`,
		"value renamed":                  `{"name":"reading","type":"double"}`,
		"ratio without default":          `{"name":"ratio","type":"float"}`,
		"ratio as double, defaulted":     `{"name":"ratio","type":"double","default":1}`,
		"mac of 8":                       `{"name":"mac","type":{"type":"fixed","name":"MAC","size":8}}`,
		"mac renamed":                    `{"name":"mac","type":{"type":"fixed","name":"Mac","size":6}}`,
		"mac renamed, aliased":           `{"name":"mac","type":{"type":"fixed","name":"Mac","aliases":["MAC"],"size":6}}`,
	} {
		n, _, _ := strings.Cut(name, " ") // the field the variant changes
		v[name] = build(map[string]string{n: f})
	}
	return v
}

// TestCompatAgreesWithHamba checks every pair of variants, in every mode:
// the verdict is hamba/avro's; the reasons follow the phrasing rules; full
// is backward and forward together; backward one way is forward the other.
func TestCompatAgreesWithHamba(t *testing.T) {
	variants := compatVariants()
	names := make([]string, 0, len(variants))
	schemas := map[string]avro.Schema{}
	for n, s := range variants {
		names = append(names, n)
		schemas[n] = compatParse(t, s)
	}
	slices.Sort(names)

	pairs, breaks := 0, 0
	for _, on := range names {
		for _, nn := range names {
			older, newer := schemas[on], schemas[nn]
			pairs++
			byMode := map[string][]string{}
			for _, mode := range []string{config.CompatBackward, config.CompatForward, config.CompatFull} {
				got := incompatibilities(mode, older, newer)
				byMode[mode] = got
				herr := compatHambaVerdict(mode, older, newer)
				if (len(got) == 0) != (herr == nil) {
					t.Errorf("%s: %q -> %q: ours %q, hamba/avro's %v", mode, on, nn, got, herr)
				}
				for _, r := range got {
					if err := compatCheckPhrasing(r); err != nil {
						t.Errorf("%s: %q -> %q: reason %q: %v", mode, on, nn, r, err)
					}
				}
				if len(got) > 0 {
					breaks++
				}
			}
			want := slices.Clone(byMode[config.CompatBackward])
			for _, r := range byMode[config.CompatForward] {
				if !slices.Contains(want, r) {
					want = append(want, r)
				}
			}
			if !slices.Equal(byMode[config.CompatFull], want) {
				t.Errorf("full: %q -> %q: %q, want backward+forward %q", on, nn, byMode[config.CompatFull], want)
			}
			if reverse := incompatibilities(config.CompatForward, newer, older); (len(reverse) == 0) != (len(byMode[config.CompatBackward]) == 0) {
				t.Errorf("%q -> %q backward gives %q, but %q -> %q forward gives %q", on, nn, byMode[config.CompatBackward], nn, on, reverse)
			}
			if none := incompatibilities(config.CompatNone, older, newer); none != nil {
				t.Errorf("none: %q -> %q: %q", on, nn, none)
			}
		}
	}
	t.Logf("%d variants, %d ordered pairs, %d breaking verdicts out of %d", len(names), pairs, breaks, 3*pairs)
	if breaks == 0 || breaks == 3*pairs {
		t.Fatalf("the variants do not exercise both verdicts")
	}
}

// compatCheckPhrasing holds a reason to the conventions in compat.go.
func compatCheckPhrasing(r string) error {
	first := []rune(r)[0]
	switch {
	case !unicode.IsLower(first):
		return fmt.Errorf("does not start lowercase")
	case strings.ContainsAny(r, "\n"):
		return fmt.Errorf("spans lines")
	case strings.HasPrefix(r, "field `"):
		if strings.Count(r, "`")%2 != 0 {
			return fmt.Errorf("unbalanced backticks")
		}
	case strings.HasPrefix(r, "record "), strings.HasPrefix(r, "the schema "):
		// the top-level schema itself: no field to name
	default:
		return fmt.Errorf("names no field")
	}
	directional := strings.Contains(r, "(records written with the older schema") ||
		strings.Contains(r, "(readers with the older schema")
	bothWays := strings.Contains(r, " changed type from ") || strings.Contains(r, " changed size from ") ||
		strings.Contains(r, ": decimal changed from ")
	if !directional && !bothWays {
		return fmt.Errorf("does not say which direction breaks")
	}
	return nil
}
