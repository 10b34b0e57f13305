package main

// End to end through the CLI with wire: confluent topics and a live
// Schema Registry: produce --config registers the input schema and writes
// the Confluent format, `sluice run` decodes it for the filter node and
// encodes the node's outputs under the output subject, tail --config
// decodes them back. Runs only with SLUICE_TEST_SCHEMA_REGISTRY set to a
// registry's base URL (make registry-up; scripts/schema-registry.sh url).

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testbroker"
)

// liveRegistryURL is the registry of SLUICE_TEST_SCHEMA_REGISTRY, or skips.
func liveRegistryURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("SLUICE_TEST_SCHEMA_REGISTRY")
	if u == "" {
		t.Skip("SLUICE_TEST_SCHEMA_REGISTRY is not set (start a registry with make registry-up; its URL: scripts/schema-registry.sh url)")
	}
	return strings.TrimRight(u, "/")
}

// latestSchemaID asks the registry, with a plain HTTP GET (not the codec's
// client), for the id of the latest schema registered under subject.
func latestSchemaID(t *testing.T, registryURL, subject string) int {
	t.Helper()
	id, status := latestSchema(t, registryURL, subject)
	if status != http.StatusOK {
		t.Fatalf("the registry has no schema under subject %s: HTTP %d", subject, status)
	}
	return id
}

// latestSchema is GET <registry>/subjects/<subject>/versions/latest: the
// id of the latest schema under subject, and the HTTP status.
func latestSchema(t *testing.T, registryURL, subject string) (id, status int) {
	t.Helper()
	u := registryURL + "/subjects/" + url.PathEscape(subject) + "/versions/latest"
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, resp.StatusCode
	}
	var body struct {
		ID     int    `json:"id"`
		Schema string `json:"schema"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if body.ID <= 0 || !strings.Contains(body.Schema, "SensorEvent") {
		t.Fatalf("GET %s: id %d, schema %q", u, body.ID, body.Schema)
	}
	return body.ID, resp.StatusCode
}

// confluentID is the schema id in the Confluent wire header of value
// (0x00, then the id as 4 bytes big-endian), read here rather than with
// the codec under test.
func confluentID(t *testing.T, r *kgo.Record) int {
	t.Helper()
	if len(r.Value) < 5 || r.Value[0] != 0x00 {
		t.Fatalf("%s/%d/%d is not in the Confluent wire format: % x", r.Topic, r.Partition, r.Offset, r.Value)
	}
	return int(binary.BigEndian.Uint32(r.Value[1:5]))
}

// startStage runs `sluice run --stage` in the background until the test
// ends; stop cancels it and returns its error.
func startStage(t *testing.T, cfg, addr, stage string) (stop func() error, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runIn(ctx, "", &syncBuffer{}, stderr, "run", "--config", cfg, "--brokers", addr, "--stage", stage,
			"--metrics-addr", freeAddr(t), "--log-format", "json")
	}()
	stopped := false
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop, stderr
}

// waitEnd waits until topic holds at least n records; stage is the
// stage's log, shown if it never does.
func waitEnd(t *testing.T, addr, topic string, n int64, stage *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for endTotal(t, addr, topic) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d records, want %d; the stage's log:\n%s", topic, endTotal(t, addr, topic), n, stage.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestConfluentWireEndToEnd: N JSON sensor events through produce
// --config, the filter stage and tail --config, both topics in the
// Confluent wire format with a live registry. Every stored value carries
// the id the registry gives its topic's subject; the filter node's
// normalised events come out of tail as JSON; in = out, nothing in the
// DLQ. Then a raw JSON line produced without --config into the input
// topic goes to the DLQ (kind schema, the Confluent format named), and a
// value that names a schema id the registry does not have goes there too.
func TestConfluentWireEndToEnd(t *testing.T) {
	registryURL := liveRegistryURL(t)
	addr := startKafka(t)
	in, out := testbroker.Name(t, "events.parsed"), testbroker.Name(t, "events.clean")
	stage := testbroker.Name(t, "clean")
	dlq := stage + ".dlq"
	inSubject := testbroker.Name(t, "sensor-events") // set in the file
	outSubject := out + "-value"                     // the default: <topic>-value
	cfg := writeFile(t, "confluent.yaml", fmt.Sprintf(`pipeline: %[1]s
schema_registry:
  url: %[2]s
topics:
  %[3]s:
    partitions: 2
    format: avro
    schema: %[6]q
    wire: confluent
    subject: %[7]s
  %[4]s:
    partitions: 2
    format: avro
    schema: %[6]q
    wire: confluent
stages:
  %[5]s:
    input: %[3]s
    outputs: {default: %[4]s}
    node: {command: %[8]q}
`, testbroker.Name(t, "confluent"), registryURL, in, out, stage, schemaPath(t, "sensor_event.avsc"), inSubject, buildFilter(t)))
	mustSluice(t, "", "topics", "create", "--config", cfg, "--brokers", addr)
	waitTopics(t, addr, in, out, dlq)

	// N events as a device sends them: mixed-case ids, Fahrenheit; every
	// fourth a humidity without a unit. want is what filter makes of each,
	// as tail --config shows it (every field of the schema, unit null when
	// absent), by normalised sensor_id.
	const n = 24
	var lines []string
	want := map[string]string{}
	for i := range n {
		id := fmt.Sprintf("sensor-%02d", i)
		ts := fmt.Sprintf("2024-05-01T12:%02d:00", i)
		if i%4 == 3 {
			lines = append(lines, fmt.Sprintf(`{"sensor_id":"Sensor-%02d","metric":"humidity","value":%d,"ts":"%sZ"}`, i, 40+i, ts))
			want[id] = fmt.Sprintf(`{"sensor_id":%q,"metric":"humidity","value":%d,"unit":null,"ts":"%s.000Z"}`, id, 40+i, ts)
			continue
		}
		// 59 + 9i °F is exactly 15 + 5i °C.
		lines = append(lines, fmt.Sprintf(`{"sensor_id":"Sensor-%02d","metric":"temperature","value":%d,"unit":"F","ts":"%sZ"}`, i, 59+9*i, ts))
		want[id] = fmt.Sprintf(`{"sensor_id":%q,"metric":"temperature","value":%d,"unit":"C","ts":"%s.000Z"}`, id, 15+5*i, ts)
	}
	_, stderr := mustSluice(t, strings.Join(lines, "\n")+"\n", "produce", in, "--config", cfg, "--key-field", "sensor_id", "--brokers", addr)
	if w := fmt.Sprintf("produced %d records to %s\n", n, in); stderr != w {
		t.Errorf("produce: stderr = %q, want %q", stderr, w)
	}

	// produce --config registered the schema under the input subject and
	// wrote its id into every value.
	inID := latestSchemaID(t, registryURL, inSubject)
	stored := readTopic(t, addr, in)
	if len(stored) != n {
		t.Fatalf("%s holds %d records, want %d", in, len(stored), n)
	}
	for _, r := range stored {
		if id := confluentID(t, r); id != inID {
			t.Fatalf("%s/%d/%d: schema id %d, the registry's id for %s is %d", r.Topic, r.Partition, r.Offset, id, inSubject, inID)
		}
	}

	// Nothing has written the output topic yet: its subject is unknown.
	if _, status := latestSchema(t, registryURL, outSubject); status != http.StatusNotFound {
		t.Fatalf("subject %s before the stage ran: HTTP %d, want 404", outSubject, status)
	}
	stop, stageLog := startStage(t, cfg, addr, stage)
	waitEnd(t, addr, out, n, stageLog)
	time.Sleep(500 * time.Millisecond) // anything extra would show up now

	// The stage registered the output subject (at start) and wrote its id.
	outID := latestSchemaID(t, registryURL, outSubject)
	outRecs := readTopic(t, addr, out)
	if len(outRecs) != n {
		t.Fatalf("%d in, %d out", n, len(outRecs))
	}
	for _, r := range outRecs {
		if id := confluentID(t, r); id != outID {
			t.Fatalf("%s/%d/%d: schema id %d, the registry's id for %s is %d", r.Topic, r.Partition, r.Offset, id, outSubject, outID)
		}
	}
	t.Logf("schema ids: %d under %s, %d under %s", inID, inSubject, outID, outSubject)
	if got := endTotal(t, addr, dlq); got != 0 {
		t.Fatalf("%d records in the DLQ, want none: %+v", got, readTopic(t, addr, dlq))
	}

	// tail --config: the N normalised events, as JSON, each once.
	recs := tailJSON(t, out, "--config", cfg, "--brokers", addr)
	if len(recs) != n {
		t.Fatalf("tail printed %d records, want %d", len(recs), n)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		key := str(r.Key)
		w, ok := want[key]
		switch {
		case !ok || seen[key]:
			t.Errorf("unexpected record (key %q, seen before: %v): %s", key, seen[key], str(r.Value))
		case r.Error != "" || r.Encoding != "" || !jsonEqual(t, []byte(str(r.Value)), w):
			t.Errorf("key %s: value %s (encoding %q, error %q), want %s", key, str(r.Value), r.Encoding, r.Error, w)
		}
		seen[key] = true
	}

	// A JSON line produced as raw bytes (no --config) into the Confluent
	// topic: its value is "hot", but the stage cannot even read it. It goes
	// to the DLQ as it was, nothing comes out of it.
	bad := `{"sensor_id":"Sensor-99","metric":"temperature","value":"hot","unit":"F"}`
	mustSluice(t, bad+"\n", "produce", in, "--key-field", "sensor_id", "--brokers", addr)
	// A value in the Confluent format naming a schema id the registry does
	// not have (another registry's, say).
	const unknownID = 0x7ffffff0
	unknown := binary.BigEndian.AppendUint32([]byte{0x00}, unknownID)
	unknown = append(unknown, 0x02, 'x')
	produceRecords(t, addr, nil, &kgo.Record{Topic: in, Key: []byte("sensor-98"), Value: unknown})
	waitEnd(t, addr, dlq, 2, stageLog)
	time.Sleep(500 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stageLog.String())
	}

	wantWhy := map[string]string{
		bad:             `topic "` + in + `": not in the Confluent wire format: first byte 0x7b, expected 0x00`,
		string(unknown): fmt.Sprintf(`topic %q: written with schema id %d, which the registry cannot give: `, in, unknownID),
	}
	dead := readTopic(t, addr, dlq)
	if len(dead) != 2 {
		t.Fatalf("%d records in the DLQ, want 2", len(dead))
	}
	for _, d := range dead {
		why, ok := wantWhy[string(d.Value)]
		if !ok {
			t.Errorf("DLQ record %q is not one of the inputs as they were", d.Value)
			continue
		}
		t.Logf("DLQ: %q: %s", d.Value, hdr(d, "sluice.error"))
		if kind := hdr(d, "sluice.error.kind"); kind != "schema" {
			t.Errorf("DLQ record %q: kind %q, want schema", d.Value, kind)
		}
		if got := hdr(d, "sluice.error"); !strings.HasPrefix(got, why) {
			t.Errorf("DLQ record %q: sluice.error = %q, want it to start with %q", d.Value, got, why)
		}
		if src := hdr(d, "sluice.source.topic"); src != in {
			t.Errorf("DLQ record %q: sluice.source.topic = %q, want %q", d.Value, src, in)
		}
		delete(wantWhy, string(d.Value))
	}

	// Counts: everything in came out once, as an output or in the DLQ.
	total, outs, dead2 := endTotal(t, addr, in), endTotal(t, addr, out), endTotal(t, addr, dlq)
	if total != n+2 || outs != n || dead2 != 2 {
		t.Fatalf("%d in -> %d out + %d DLQ, want %d -> %d + 2", total, outs, dead2, n+2, n)
	}
}
