package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/testbroker"
	"github.com/sluicehq/sluice/stream/codec"
)

// typedTopics are the names in a typed pipeline file: an Avro topic with
// two schema versions, a JSON topic, and the stage's raw DLQ topic.
type typedTopics struct{ avro, json, stage, dlq string }

// schemaPath is the absolute path of a file under testdata/schemas.
func schemaPath(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "schemas", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeTypedPipeline writes a pipeline file whose events topic is Avro (versions
// sensor_event.avsc and sensor_event.v2.avsc) and whose clean topic is
// JSON, named uniquely for t.
func writeTypedPipeline(t *testing.T) (string, typedTopics) {
	t.Helper()
	stage := testbroker.Name(t, "clean")
	n := typedTopics{avro: testbroker.Name(t, "events.parsed"), json: testbroker.Name(t, "events.clean"), stage: stage, dlq: stage + ".dlq"}
	path := writeFile(t, "typed.yaml", fmt.Sprintf(`pipeline: typed
topics:
  %[1]s:
    partitions: 1
    format: avro
    schema: [%[4]q, %[5]q]
  %[2]s: {partitions: 1, format: json}
stages:
  %[3]s:
    input: %[1]s
    outputs: {default: %[2]s}
    node: {command: bin/nodes/filter}
`, n.avro, n.json, n.stage, schemaPath(t, "sensor_event.avsc"), schemaPath(t, "sensor_event.v2.avsc")))
	return path, n
}

// jsonEqual reports whether two JSON texts hold the same value (numbers
// compared as float64, members in any order).
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// TestProduceAvroThenTail: produce --config writes JSON lines as Avro
// (single-object, the newest schema version); tail --config shows them as
// JSON (filters included) and resolves a record written with the older
// version; without --config both see the bytes as stored.
func TestProduceAvroThenTail(t *testing.T) {
	addr := startKafka(t)
	path, n := writeTypedPipeline(t)
	mustSluice(t, "", "topics", "create", "--config", path, "--brokers", addr)
	waitTopics(t, addr, n.avro, n.json, n.dlq)

	in := `{"sensor_id":"s-1","metric":"temperature","value":21.5,"unit":"C","ts":"2024-05-01T12:00:00Z"}
{"sensor_id":"s-2","metric":"humidity","value":40,"unit":"%","ts":"2024-05-01T12:00:10Z","site":"lab-2"}

{"sensor_id":"s-3","metric":"pressure","value":1013.2}
`
	_, stderr := mustSluice(t, in, "produce", n.avro, "--config", path, "--key-field", "sensor_id", "--brokers", addr)
	if want := "produced 3 records to " + n.avro + "\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	head := singleObjectHeader(t, schemaPath(t, "sensor_event.v2.avsc"))
	stored := readTopic(t, addr, n.avro)
	if len(stored) != 3 {
		t.Fatalf("%d records stored, want 3", len(stored))
	}
	for _, r := range stored {
		if !bytes.HasPrefix(r.Value, head) {
			t.Fatalf("stored value is not single-object Avro of sensor_event.v2.avsc: % x", r.Value)
		}
	}

	// A record written with version 1 (another producer, not yet
	// upgraded): read as version 2, site null.
	v1, err := codec.Load(&config.Pipeline{Name: "v1", Topics: []config.Topic{{Name: n.avro, Partitions: 1, Format: config.FormatAvro,
		Schemas: []config.SchemaFile{{Path: schemaPath(t, "sensor_event.avsc")}}, Compatibility: config.CompatBackward, Wire: config.WireSingleObject}}})
	if err != nil {
		t.Fatal(err)
	}
	old, err := v1.For(n.avro).Encode([]byte(`{"sensor_id":"s-4","metric":"temperature","value":-3,"unit":"C","ts":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(old, singleObjectHeader(t, schemaPath(t, "sensor_event.avsc"))) {
		t.Fatalf("version 1 value: % x", old)
	}
	produceRecords(t, addr, nil, &kgo.Record{Topic: n.avro, Key: []byte("s-4"), Value: old})

	recs := tailJSON(t, n.avro, "--config", path, "--brokers", addr)
	want := []string{
		`{"sensor_id":"s-1","metric":"temperature","value":21.5,"unit":"C","ts":"2024-05-01T12:00:00Z","site":null}`,
		`{"sensor_id":"s-2","metric":"humidity","value":40,"unit":"%","ts":"2024-05-01T12:00:10Z","site":"lab-2"}`,
		`{"sensor_id":"s-3","metric":"pressure","value":1013.2,"unit":null,"ts":null,"site":null}`,
		`{"sensor_id":"s-4","metric":"temperature","value":-3,"unit":"C","ts":null,"site":null}`,
	}
	if len(recs) != len(want) {
		t.Fatalf("tail printed %d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i, r := range recs {
		if r.Encoding != "" || r.Error != "" || !jsonEqual(t, []byte(str(r.Value)), want[i]) {
			t.Errorf("record %d: value %s (encoding %q, error %q), want %s", i, str(r.Value), r.Encoding, r.Error, want[i])
		}
		if wantKey := fmt.Sprintf("s-%d", i+1); str(r.Key) != wantKey {
			t.Errorf("record %d: key %q, want %q", i, str(r.Key), wantKey)
		}
	}
	// Filters see the JSON.
	recs = tailJSON(t, n.avro, "--config", path, "--brokers", addr, "--where", "site=lab-2")
	if len(recs) != 1 || str(recs[0].Key) != "s-2" {
		t.Errorf("--where site=lab-2: %+v", recs)
	}
	// The pretty format prints the JSON on one line.
	stdout, _ := mustSluice(t, "", "tail", n.avro, "--config", path, "--brokers", addr, "--format", "pretty", "-n", "1")
	if !strings.Contains(stdout, `{"sensor_id": "s-1", "metric": "temperature", "value": 21.5`) {
		t.Errorf("pretty: %q", stdout)
	}

	// Without --config: the bytes as stored (Avro is not UTF-8: base64).
	recs = tailJSON(t, n.avro, "--brokers", addr, "-n", "1")
	if len(recs) != 1 || recs[0].Encoding != "base64" {
		t.Fatalf("tail without --config: %+v", recs)
	}
}

// TestTailUndecodable: a value that is not in its topic's format is shown
// as stored with the reason — an "error" member, a "! not decoded" line,
// or a warning on stderr — and the records after it still print.
func TestTailUndecodable(t *testing.T) {
	addr := startKafka(t)
	path, n := writeTypedPipeline(t)
	mustSluice(t, "", "topics", "create", "--config", path, "--brokers", addr)
	waitTopics(t, addr, n.avro, n.json, n.dlq)
	// Produced without --config: no codec stops it.
	mustSluice(t, "not avro\n", "produce", n.avro, "--brokers", addr)
	mustSluice(t, `{"sensor_id":"s-1","metric":"temperature","value":21.5,"unit":"C","ts":"2024-05-01T12:00:00Z"}`+"\n",
		"produce", n.avro, "--config", path, "--brokers", addr)

	stdout, stderr := mustSluice(t, "", "tail", n.avro, "--config", path, "--brokers", addr, "--format", "json")
	recs := decodeTail(t, stdout)
	if len(recs) != 2 {
		t.Fatalf("tail printed %d records, want 2: %s", len(recs), stdout)
	}
	wantPrefix := `topic "` + n.avro + `": `
	if str(recs[0].Value) != "not avro" || !strings.HasPrefix(recs[0].Error, wantPrefix) {
		t.Errorf("undecodable record: value %q, error %q (want it to start with %q)", str(recs[0].Value), recs[0].Error, wantPrefix)
	}
	if recs[1].Error != "" || !jsonEqual(t, []byte(str(recs[1].Value)),
		`{"sensor_id":"s-1","metric":"temperature","value":21.5,"unit":"C","ts":"2024-05-01T12:00:00Z","site":null}`) {
		t.Errorf("record after it: %+v", recs[1])
	}
	if want := "sluice tail: 1 record did not decode (shown as stored)\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}

	stdout, _ = mustSluice(t, "", "tail", n.avro, "--config", path, "--brokers", addr, "--format", "pretty", "--no-color")
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "  not avro") || !strings.HasPrefix(lines[1], "    ! not decoded: "+wantPrefix) {
		t.Errorf("pretty:\n%s", stdout)
	}

	stdout, stderr = mustSluice(t, "", "tail", n.avro, "--config", path, "--brokers", addr, "--format", "value")
	if !strings.HasPrefix(stdout, "not avro\n{") {
		t.Errorf("value format: %q", stdout)
	}
	if want := "sluice tail: " + n.avro + "/0/0: not decoded: " + wantPrefix; !strings.HasPrefix(stderr, want) {
		t.Errorf("value format stderr = %q, want it to start with %q", stderr, want)
	}
}

// TestTailDLQDecoded: a DLQ record keeps the bytes its input had; tail
// --config shows them decoded with the format of the topic named by its
// sluice.source.topic header.
func TestTailDLQDecoded(t *testing.T) {
	addr := startKafka(t)
	path, n := writeTypedPipeline(t)
	mustSluice(t, "", "topics", "create", "--config", path, "--brokers", addr)
	waitTopics(t, addr, n.avro, n.json, n.dlq)
	p, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	codecs, err := codec.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := codecs.For(n.avro).Encode([]byte(`{"sensor_id":"s-1","metric":"temperature","value":21.5,"unit":"C","ts":"2024-05-01T12:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	produceRecords(t, addr, nil, &kgo.Record{Topic: n.dlq, Value: v, Headers: []kgo.RecordHeader{
		{Key: "sluice.source.topic", Value: []byte(n.avro)}, {Key: "sluice.error", Value: []byte("value: too warm")}}})
	recs := tailJSON(t, n.dlq, "--config", path, "--brokers", addr)
	if len(recs) != 1 || recs[0].Error != "" || !jsonEqual(t, []byte(str(recs[0].Value)),
		`{"sensor_id":"s-1","metric":"temperature","value":21.5,"unit":"C","ts":"2024-05-01T12:00:00Z","site":null}`) {
		t.Errorf("DLQ record: %+v", recs)
	}
}

// TestProduceRefusesLineNotInSchema: produce --config stops at the first
// line that does not fit the topic's schema, naming the line and the
// field; the lines before it are produced, it and the rest are not.
func TestProduceRefusesLineNotInSchema(t *testing.T) {
	addr := startKafka(t)
	path, n := writeTypedPipeline(t)
	mustSluice(t, "", "topics", "create", "--config", path, "--brokers", addr)
	waitTopics(t, addr, n.avro, n.json, n.dlq)

	for _, tc := range []struct {
		bad, want string
	}{
		{`{"sensor_id":"s-3","metric":"temperature","value":"hot"}`,
			"field `value`: expected double, got string \"hot\""},
		{`{"sensor_id":"s-3","metric":"temperature","value":20,"fw":"1.2"}`,
			"field `fw`: not in schema sluice.sensors.SensorEvent"},
	} {
		topic := n.avro
		before := endTotal(t, addr, topic)
		in := `{"sensor_id":"s-1","metric":"temperature","value":21.5}
{"sensor_id":"s-2","metric":"temperature","value":22}
` + tc.bad + `
{"sensor_id":"s-4","metric":"temperature","value":23}
`
		_, _, err := sluice(t, in, "produce", topic, "--config", path, "--brokers", addr)
		want := `line 3: topic "` + topic + `": ` + tc.want + "; produced 2 records from the lines before it, none from line 3 on"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v\nwant %s", err, want)
		}
		if got := endTotal(t, addr, topic) - before; got != 2 {
			t.Errorf("%d records produced, want 2", got)
		}
	}

	// A JSON topic: each line must be JSON.
	_, _, err := sluice(t, "{\"a\":1}\n{\"a\":\n", "produce", n.json, "--config", path, "--brokers", addr)
	if want := `line 2: topic "` + n.json + `": not valid JSON`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want it to start with %q", err, want)
	}
	if got := endTotal(t, addr, n.json); got != 1 {
		t.Errorf("%d records in the JSON topic, want 1", got)
	}
}
