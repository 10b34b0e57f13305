package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/testbroker"
	"github.com/sluicehq/sluice/stream/codec"
)

// singleObjectHeader is what every value written with the schema at path
// starts with in the Avro single-object encoding: the marker C3 01, then
// the schema's CRC-64-AVRO fingerprint, little-endian (Avro spec,
// "Single-object encoding"). Computed with hamba/avro directly, not with
// the codec under test.
func singleObjectHeader(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := avro.ParseBytesWithCache(data, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	fp, err := s.FingerprintUsing(avro.CRC64AvroLE)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{0xC3, 0x01}, fp...)
}

// decodeAll decodes the values of records with c, failing the test on a
// value that is not in c's topic's format.
func decodeAll(t *testing.T, c codec.Codec, rs []*kgo.Record) [][]byte {
	t.Helper()
	out := make([][]byte, len(rs))
	for i, r := range rs {
		v, err := c.Decode(r.Value)
		if err != nil {
			t.Fatalf("%s/%d/%d: %v (value %q)", r.Topic, r.Partition, r.Offset, err, r.Value)
		}
		out[i] = v
	}
	return out
}

// avroGateLines are device lines the JSON pipeline passes but the Avro
// one stops at ingest's output (events.parsed's schema), each with the
// field its DLQ record must name.
var avroGateLines = []struct{ line, field string }{
	// ingest keeps an integer ts as a number; events.parsed wants a string
	{"temperature:21.5 sensor_id=sensor-01 unit=C ts=1714564800", "ts"},
	// a member the schema does not have
	{`{"sensor_id":"sensor-02","metric":"humidity","value":40,"unit":"%","ts":"2024-05-01T12:00:00Z","fw":"1.2"}`, "fw"},
}

// avroSiteLine uses version 2 of events.parsed's schema: its site goes
// through filter and classify into events.scored.
const avroSiteLine = "temperature:22 sensor_id=sensor-03 unit=C ts=2024-05-01T13:00:00Z site=lab-2"

// TestSensorPipelineAvro runs config/examples/sensors-avro.yaml — the
// five stages of sensors.yaml with Avro topics — over the same generated
// lines as TestSensorPipelineEndToEnd and checks the same things: every
// stage's outputs and DLQ account for every input, exactly the malformed
// lines go to a DLQ, every anomaly is alerted and posted, the archives
// hold every scored record once. And that the topics really hold Avro in
// the single-object encoding of their newest schema, while the nodes saw
// JSON; that lines whose parsed event breaks events.parsed's schema go to
// ingest's DLQ naming the field (the quality gate); and that a field of
// the second schema version (site) arrives in events.scored.
func TestSensorPipelineAvro(t *testing.T) {
	t.Chdir("../..")
	needSensorPipeline(t)
	b := testbroker.Get(t)
	hook := &webhookReceiver{keys: map[string]int{}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	archiveDir := t.TempDir()
	t.Setenv("ALERT_WEBHOOK_URL", srv.URL)
	t.Setenv("ALERT_SUPPRESS_SECONDS", "0")
	t.Setenv("ARCHIVE_DIR", archiveDir)

	p, err := config.Load("config/examples/sensors-avro.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names := renameTopics(t, p)
	codecs, err := codec.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"events.parsed", "events.clean", "events.scored", "alerts"} {
		if f := codecs.For(names[topic]).Format(); f != config.FormatAvro {
			t.Fatalf("%s: format %s, want avro", topic, f)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	log := zap.NewNop()
	if err := createPipelineTopics(ctx, b.Addrs, p, log); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runStagesCodecs(ctx, p, codecs, p.Stages, b.Addrs, log, runOptions{}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pipeline: %v", err)
		}
	}()

	// The same lines as the JSON pipeline's test, then the extra ones.
	g := newSensorGen(genFlags{count: 400, malformed: 0.08, anomalies: 0.08, sensors: 8, seed: 42, jsonShare: 0.2, step: 10 * time.Second},
		time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	var lines []sensorLine
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	kinds := map[string]int{}
	produce := func(key, text string) {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: names["events.raw"], Key: []byte(key), Value: []byte(text)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for range 400 {
		l := g.next()
		lines = append(lines, l)
		kinds[l.Kind]++
		produce(l.SensorID, l.Text)
	}
	for _, gl := range avroGateLines {
		produce("gate", gl.line)
	}
	produce("sensor-03", avroSiteLine)
	t.Logf("generated %v, plus %d lines the schema refuses and one with a site", kinds, len(avroGateLines))
	raw := int64(len(lines) + len(avroGateLines) + 1)

	addr := strings.Join(b.Addrs, ",")
	count := func(topic string) int64 { return endTotal(t, addr, names[topic]) }
	deadline := time.Now().Add(3 * time.Minute)
	for {
		parsed, clean, scored := count("events.parsed"), count("events.clean"), count("events.scored")
		settled := parsed+count("ingest.dlq") == raw &&
			clean+count("filter.dlq") == parsed &&
			scored+count("classify.dlq") == clean && scored > 0 &&
			archivedCount(t, addr, names["archives"])+count("archive.dlq") == scored
		if settled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stages did not settle: raw %d, parsed %d (+%d dlq), clean %d (+%d dlq), scored %d (+%d dlq), archived %d (+%d dlq)",
				raw, parsed, count("ingest.dlq"), clean, count("filter.dlq"), scored, count("classify.dlq"),
				archivedCount(t, addr, names["archives"]), count("archive.dlq"))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// ingest: the malformed lines, as in the JSON pipeline, and the lines
	// the schema refuses, each naming its field.
	if got, want := count("ingest.dlq"), int64(kinds[lineMalformed]+len(avroGateLines)); got != want {
		t.Fatalf("ingest.dlq holds %d records, want %d (%d malformed lines, %d the schema refuses)", got, want, kinds[lineMalformed], len(avroGateLines))
	}
	gated := map[string]bool{}
	for _, d := range readTopic(t, addr, names["ingest.dlq"]) {
		why := hdr(d, "sluice.error")
		if why == "" {
			t.Fatalf("ingest DLQ record without a reason: %q", d.Value)
		}
		for _, gl := range avroGateLines {
			if string(d.Value) != gl.line {
				continue
			}
			gated[gl.field] = true
			if kind := hdr(d, "sluice.error.kind"); kind != "schema" {
				t.Errorf("DLQ record of %q: kind %q, want schema", gl.line, kind)
			}
			if want := `topic "` + names["events.parsed"] + `": field ` + "`" + gl.field + "`"; !strings.Contains(why, want) {
				t.Errorf("DLQ reason of %q = %q, want it to contain %q", gl.line, why, want)
			}
		}
	}
	for _, gl := range avroGateLines {
		if !gated[gl.field] {
			t.Errorf("line %q is not in ingest.dlq as it was", gl.line)
		}
	}
	if n := count("filter.dlq") + count("classify.dlq"); n != 0 {
		for _, topic := range []string{"filter.dlq", "classify.dlq"} {
			for _, d := range readTopic(t, addr, names[topic]) {
				t.Logf("%s: %s", topic, hdr(d, "sluice.error"))
			}
		}
		t.Fatalf("filter/classify rejected %d well-formed records", n)
	}

	// Every typed topic holds Avro, written with its newest schema.
	for topic, schema := range map[string]string{
		"events.parsed": "testdata/schemas/sensor_event.v2.avsc",
		"events.clean":  "testdata/schemas/clean_event.avsc",
		"events.scored": "testdata/schemas/scored_event.avsc",
	} {
		head := singleObjectHeader(t, schema)
		for _, r := range readTopic(t, addr, names[topic]) {
			if !bytes.HasPrefix(r.Value, head) {
				t.Fatalf("%s/%d/%d does not start with the single-object header of %s (% x): % x",
					topic, r.Partition, r.Offset, filepath.Base(schema), head, r.Value[:min(len(r.Value), 10)])
			}
		}
	}

	// classify: every anomaly is warning or critical; the site arrived.
	scored := readTopic(t, addr, names["events.scored"])
	scoredJSON := decodeAll(t, codecs.For(names["events.scored"]), scored)
	type event struct {
		SensorID   string   `json:"sensor_id"`
		TS         string   `json:"ts"`
		Value      float64  `json:"value"`
		Site       *string  `json:"site"`
		Prediction string   `json:"prediction"`
		Score      *float64 `json:"score"`
	}
	flagged := map[string]bool{}
	notNormal, sites := 0, 0
	for _, v := range scoredJSON {
		var e event
		if err := json.Unmarshal(v, &e); err != nil {
			t.Fatalf("decoded scored record is not JSON: %q", v)
		}
		if e.Score == nil || e.Prediction == "" {
			t.Fatalf("decoded scored record lacks prediction or score: %s", v)
		}
		ts, _ := time.Parse(time.RFC3339, e.TS)
		if e.Prediction != "normal" {
			flagged[e.SensorID+"@"+ts.UTC().Format(time.RFC3339)] = true
			notNormal++
		}
		if e.Site != nil {
			sites++
			if *e.Site != "lab-2" || e.SensorID != "sensor-03" {
				t.Errorf("scored event with a site: %s", v)
			}
		}
	}
	if sites != 1 {
		t.Errorf("%d scored events have a site, want 1 (%q)", sites, avroSiteLine)
	}
	for _, l := range lines {
		if l.Kind == lineAnomaly && !flagged[l.SensorID+"@"+l.TS.Format(time.RFC3339)] {
			t.Fatalf("anomaly %q was scored normal", l.Text)
		}
	}

	// alert: one alert per warning/critical event, every one posted.
	deadline = time.Now().Add(time.Minute)
	for count("alerts")+count("alert.dlq") < int64(notNormal) {
		if time.Now().After(deadline) {
			t.Fatalf("alerts %d (+%d dlq) for %d warning/critical events", count("alerts"), count("alert.dlq"), notNormal)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := count("alert.dlq"); n != 0 {
		for _, d := range readTopic(t, addr, names["alert.dlq"]) {
			t.Logf("alert.dlq: %s", hdr(d, "sluice.error"))
		}
		t.Fatalf("%d alerts failed", n)
	}
	alertRecs := readTopic(t, addr, names["alerts"])
	alertHead := singleObjectHeader(t, "testdata/schemas/alert.avsc")
	alerted := map[string]bool{}
	for i, v := range decodeAll(t, codecs.For(names["alerts"]), alertRecs) {
		if !bytes.HasPrefix(alertRecs[i].Value, alertHead) {
			t.Fatalf("alert %d is not single-object Avro of alert.avsc: % x", i, alertRecs[i].Value[:min(len(alertRecs[i].Value), 10)])
		}
		var al struct {
			SensorID       string `json:"sensor_id"`
			TS             string `json:"ts"`
			IdempotencyKey string `json:"idempotency_key"`
			Webhook        string `json:"webhook"`
		}
		if err := json.Unmarshal(v, &al); err != nil {
			t.Fatalf("decoded alert is not JSON: %q", v)
		}
		if al.Webhook != "sent" {
			t.Errorf("alert %s: webhook %q, want sent", v, al.Webhook)
		}
		ts, _ := time.Parse(time.RFC3339, al.TS)
		alerted[al.SensorID+"@"+ts.UTC().Format(time.RFC3339)] = true
		hook.mu.Lock()
		posted := hook.keys[al.IdempotencyKey]
		hook.mu.Unlock()
		if posted == 0 {
			t.Fatalf("alert %s was not posted to the webhook", v)
		}
	}
	for _, l := range lines {
		if l.Kind == lineAnomaly && !alerted[l.SensorID+"@"+l.TS.Format(time.RFC3339)] {
			t.Fatalf("anomaly %q raised no alert", l.Text)
		}
	}

	// archive: the node saw JSON — the archives hold every scored record,
	// decoded, exactly once.
	archived := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(archiveDir, "*.tar.gz"))
	for _, f := range files {
		for _, rec := range archiveRecords(t, f) {
			archived[rec]++
		}
	}
	for _, v := range scoredJSON {
		if archived[string(v)] != 1 {
			t.Fatalf("scored record archived %d times: %s", archived[string(v)], v)
		}
	}
	total := 0
	for _, n := range archived {
		total += n
	}
	if total != len(scored) {
		t.Fatalf("%d records archived, %d scored", total, len(scored))
	}
}
