package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
)

// Schema versions of the sensor event for the validate tests: v2 adds
// `unit` with a default (a backward-compatible change), v2nodefault adds
// it without one (readers with v2 could not read what v1 wrote).
const (
	sensorV1 = `{"type": "record", "name": "SensorEvent", "namespace": "sluice.sensors", "fields": [
  {"name": "sensor_id", "type": "string"},
  {"name": "value", "type": "double"}
]}`
	sensorV2 = `{"type": "record", "name": "SensorEvent", "namespace": "sluice.sensors", "fields": [
  {"name": "sensor_id", "type": "string"},
  {"name": "value", "type": "double"},
  {"name": "unit", "type": ["null", "string"], "default": null}
]}`
	sensorV2NoDefault = `{"type": "record", "name": "SensorEvent", "namespace": "sluice.sensors", "fields": [
  {"name": "sensor_id", "type": "string"},
  {"name": "value", "type": "double"},
  {"name": "unit", "type": "string"}
]}`
)

// typedPipeline is a pipeline with an avro topic of two schema versions
// (line 6 lists v1, line 7 v2), a json topic and a stage between them;
// the schema files are relative to the pipeline file.
const typedPipeline = `pipeline: typed
topics:
  events.parsed:
    format: avro
    schema:
      - schemas/sensor_event.v1.avsc
      - schemas/sensor_event.v2.avsc
  archives: {format: json}
stages:
  archive:
    input: events.parsed
    outputs: {default: archives}
    node: {command: sh}
`

// writeTyped writes typedPipeline and its two schema versions into a fresh
// directory and returns the pipeline file's path.
func writeTyped(t *testing.T, v1, v2 string) string {
	t.Helper()
	path := writeFile(t, "typed.yaml", typedPipeline)
	dir := filepath.Join(filepath.Dir(path), "schemas")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"sensor_event.v1.avsc": v1, "sensor_event.v2.avsc": v2} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestValidateTypedTopics: a valid file with typed topics passes, and the
// summary says what was checked of each typed topic.
func TestValidateTypedTopics(t *testing.T) {
	path := writeTyped(t, sensorV1, sensorV2)
	stdout, stderr := mustSluice(t, "", "validate", "-c", path, "--offline")
	want := path + ": ok — pipeline typed, 3 topics, 1 stage (archive)\n" +
		"  events.parsed: avro, 2 schema versions (backward compatible), single-object\n" +
		"  archives: json\n"
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	if stderr != "" {
		t.Errorf("stderr = %q", stderr)
	}
}

// TestValidateIncompatibleSchema: a new schema version that breaks the
// topic's compatibility rule is refused with the version, the rule and
// the field, at the line that lists the version, and validate exits 2.
func TestValidateIncompatibleSchema(t *testing.T) {
	path := writeTyped(t, sensorV1, sensorV2NoDefault)
	stdout, _, err := sluice(t, "", "validate", "-c", path, "--offline")
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	wantProblems(t, err, path+`:7: topics["events.parsed"].schema[1]: sensor_event.v2.avsc is not backward compatible with sensor_event.v1.avsc: `+
		"field `unit` added without a default (records written with the older schema have no `unit`)")

	// compatibility: none lets the same change through, and says so.
	data, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatal(rerr)
	}
	none := strings.Replace(string(data), "    format: avro\n", "    format: avro\n    compatibility: none\n", 1)
	if err := os.WriteFile(path, []byte(none), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _ = mustSluice(t, "", "validate", "-c", path, "--offline")
	if want := "  events.parsed: avro, 2 schema versions (compatibility not checked), single-object\n"; !strings.Contains(stdout, want) {
		t.Errorf("stdout:\n%s\nwant a line %q", stdout, want)
	}
}

// TestValidateBrokenSchema: a schema file that is not a valid Avro schema
// is a problem at the line that names it, naming the file.
func TestValidateBrokenSchema(t *testing.T) {
	path := writeTyped(t, sensorV1, `{"type": "record", "name": "SensorEvent", "fields": [{"name": "value", "type": "dubble"}]}`)
	_, _, err := sluice(t, "", "validate", "-c", path, "--offline")
	var probs config.Problems
	if !errors.As(err, &probs) {
		t.Fatalf("err = %v (%T), want config.Problems (exit 2)", err, err)
	}
	// The reason after "not a valid Avro schema" is hamba/avro's.
	if len(probs) != 1 || probs[0].File != path || probs[0].Line != 7 || probs[0].Field != `topics["events.parsed"].schema[1]` ||
		!strings.Contains(probs[0].Message, "sensor_event.v2.avsc: not a valid Avro schema: ") || !strings.Contains(probs[0].Message, "dubble") {
		t.Errorf("problems:\n%v\nwant one at line 7, on schema[1], naming sensor_event.v2.avsc and the unknown type", err)
	}
}

// TestValidateSchemaFileMissing: a schema file that is not there is the
// config package's problem, with the path looked for.
func TestValidateSchemaFileMissing(t *testing.T) {
	path := writeTyped(t, sensorV1, sensorV2)
	if err := os.Remove(filepath.Join(filepath.Dir(path), "schemas", "sensor_event.v2.avsc")); err != nil {
		t.Fatal(err)
	}
	_, _, err := sluice(t, "", "validate", "-c", path, "--offline")
	missing := filepath.Join(filepath.Dir(path), "schemas", "sensor_event.v2.avsc")
	wantProblems(t, err, path+`:7: topics["events.parsed"].schema[1]: file not found: `+missing+` (schemas/sensor_event.v2.avsc, relative to the pipeline file's directory)`)
}
