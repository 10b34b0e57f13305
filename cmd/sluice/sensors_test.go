package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/testbroker"
)

// sensorArtifacts are what the five-stage pipeline needs built (make build).
var sensorArtifacts = []string{
	".cache/cargo-target/release/ingest", "bin/nodes/filter", ".cache/venv/bin/python",
	".cache/models/classify.joblib", "nodes/alert/main.js", "nodes/archive/archive.sh",
}

func needSensorPipeline(t *testing.T) {
	t.Helper()
	var missing []string
	for _, a := range sensorArtifacts {
		if _, err := os.Stat(a); err != nil {
			missing = append(missing, a)
		}
	}
	for _, tool := range []string{"node", "bash", "jq", "tar", "gzip"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("SLUICE_REQUIRE_ADAPTERS") == "1" {
		t.Fatalf("the sensor pipeline needs %s (make build)", strings.Join(missing, ", "))
	}
	t.Skipf("the sensor pipeline needs %s (make build)", strings.Join(missing, ", "))
}

// webhookReceiver records the alerts posted to it.
type webhookReceiver struct {
	mu   sync.Mutex
	keys map[string]int // Idempotency-Key -> posts
}

func (w *webhookReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var msg map[string]any
	if json.Unmarshal(body, &msg) != nil || msg["text"] == nil {
		http.Error(rw, "not a Slack message", http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.keys[r.Header.Get("Idempotency-Key")]++
	w.mu.Unlock()
	rw.WriteHeader(http.StatusOK)
}

// TestSensorPipelineEndToEnd runs config/examples/sensors.yaml — Rust,
// Go, Python, Node.js and Shell nodes — over generated raw lines with
// malformed lines and anomalies, and checks that at every stage outputs
// and DLQ account for every input, that every anomaly was alerted (and
// posted to a local webhook), and that the archives on disk hold every
// scored record exactly once.
func TestSensorPipelineEndToEnd(t *testing.T) {
	t.Chdir("../..")
	needSensorPipeline(t)
	b := testbroker.Get(t)
	hook := &webhookReceiver{keys: map[string]int{}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	archiveDir := t.TempDir()
	t.Setenv("ALERT_WEBHOOK_URL", srv.URL)
	t.Setenv("ALERT_SUPPRESS_SECONDS", "0") // post every alert, so each anomaly can be checked
	t.Setenv("ARCHIVE_DIR", archiveDir)

	p, err := config.Load("config/examples/sensors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names := renameTopics(t, p)

	ctx, cancel := context.WithCancel(context.Background())
	log := zap.NewNop()
	if err := createPipelineTopics(ctx, b.Addrs, p, log); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runStages(ctx, p, p.Stages, b.Addrs, log) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pipeline: %v", err)
		}
	}()

	g := newSensorGen(genFlags{count: 400, malformed: 0.08, anomalies: 0.08, sensors: 8, seed: 42, jsonShare: 0.2, step: 10 * time.Second},
		time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	var lines []sensorLine
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	kinds := map[string]int{}
	for range 400 {
		l := g.next()
		lines = append(lines, l)
		kinds[l.Kind]++
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: names["events.raw"], Key: []byte(l.SensorID), Value: []byte(l.Text)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("generated %v", kinds)

	addr := strings.Join(b.Addrs, ",")
	count := func(topic string) int64 { return endTotal(t, addr, names[topic]) }
	// Wait until every stage has accounted for every input.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		raw, parsed, clean, scored := int64(len(lines)), count("events.parsed"), count("events.clean"), count("events.scored")
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

	// ingest: exactly the malformed lines went to its DLQ, each with a reason.
	if got := count("ingest.dlq"); got != int64(kinds[lineMalformed]) {
		t.Fatalf("ingest.dlq holds %d records, %d lines were malformed", got, kinds[lineMalformed])
	}
	for _, d := range readTopic(t, addr, names["ingest.dlq"]) {
		if hdr(d, "sluice.error") == "" {
			t.Fatalf("ingest DLQ record without a reason: %q", d.Value)
		}
	}
	// filter and classify: anomalies are physically possible, so nothing is rejected.
	if n := count("filter.dlq") + count("classify.dlq"); n != 0 {
		t.Fatalf("filter/classify rejected %d well-formed records", n)
	}

	// classify: every anomaly is warning or critical.
	scored := readTopic(t, addr, names["events.scored"])
	type event struct {
		SensorID   string  `json:"sensor_id"`
		TS         string  `json:"ts"`
		Value      float64 `json:"value"`
		Prediction string  `json:"prediction"`
	}
	flagged := map[string]bool{} // sensor@ts of warning/critical events
	notNormal := 0
	for _, r := range scored {
		var e event
		if err := json.Unmarshal(r.Value, &e); err != nil {
			t.Fatalf("scored record is not JSON: %q", r.Value)
		}
		ts, _ := time.Parse(time.RFC3339, e.TS)
		if e.Prediction != "normal" {
			flagged[e.SensorID+"@"+ts.UTC().Format(time.RFC3339)] = true
			notNormal++
		}
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
		t.Fatalf("%d alerts failed", n)
	}
	alerted := map[string]bool{}
	for _, a := range readTopic(t, addr, names["alerts"]) {
		var al struct {
			SensorID       string `json:"sensor_id"`
			TS             string `json:"ts"`
			IdempotencyKey string `json:"idempotency_key"`
		}
		if err := json.Unmarshal(a.Value, &al); err != nil {
			t.Fatalf("alert is not JSON: %q", a.Value)
		}
		ts, _ := time.Parse(time.RFC3339, al.TS)
		alerted[al.SensorID+"@"+ts.UTC().Format(time.RFC3339)] = true
		hook.mu.Lock()
		posted := hook.keys[al.IdempotencyKey]
		hook.mu.Unlock()
		if posted == 0 {
			t.Fatalf("alert %s was not posted to the webhook", a.Value)
		}
	}
	for _, l := range lines {
		if l.Kind == lineAnomaly && !alerted[l.SensorID+"@"+l.TS.Format(time.RFC3339)] {
			t.Fatalf("anomaly %q raised no alert", l.Text)
		}
	}

	// archive: the archives on disk hold every scored record exactly once.
	archived := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(archiveDir, "*.tar.gz"))
	for _, f := range files {
		for _, rec := range archiveRecords(t, f) {
			archived[rec]++
		}
	}
	for _, r := range scored {
		if archived[string(r.Value)] != 1 {
			t.Fatalf("scored record archived %d times: %s", archived[string(r.Value)], r.Value)
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

// renameTopics gives every topic and group of p a unique name (so the test
// can share a broker) and returns old name -> new name.
func renameTopics(t *testing.T, p *config.Pipeline) map[string]string {
	names := map[string]string{}
	for i := range p.Topics {
		n := testbroker.Name(t, p.Topics[i].Name)
		names[p.Topics[i].Name] = n
		p.Topics[i].Name = n
	}
	for i := range p.Stages {
		st := &p.Stages[i]
		st.Input, st.DLQ = names[st.Input], names[st.DLQ]
		for k, v := range st.Outputs {
			st.Outputs[k] = names[v]
		}
		st.Group = testbroker.Name(t, st.Group)
	}
	return names
}

func endTotal(t *testing.T, addr, topic string) int64 {
	ends, err := admin(t, addr).ListEndOffsets(context.Background(), topic)
	if err != nil {
		return 0
	}
	var total int64
	for _, ps := range ends {
		for _, o := range ps {
			total += o.Offset
		}
	}
	return total
}

// archivedCount sums the count of every manifest in the archives topic.
func archivedCount(t *testing.T, addr, topic string) int64 {
	if endTotal(t, addr, topic) == 0 {
		return 0
	}
	var total int64
	for _, r := range readTopic(t, addr, topic) {
		var m struct {
			Count int64 `json:"count"`
		}
		if err := json.Unmarshal(r.Value, &m); err != nil {
			t.Fatalf("manifest is not JSON: %q", r.Value)
		}
		total += m.Count
	}
	return total
}

// archiveRecords returns the lines of records.ndjson in a .tar.gz.
func archiveRecords(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s has no records.ndjson", path)
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if filepath.Base(hdr.Name) == "records.ndjson" {
			data, _ := io.ReadAll(tr)
			return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		}
	}
}
