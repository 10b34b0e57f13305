package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream"
)

// webviewStatus is what the test reads of /api/status.
type webviewStatus struct {
	Pipeline string   `json:"pipeline"`
	Now      int64    `json:"now"`
	Topics   []string `json:"topics"`
	Stages   []struct {
		Name    string            `json:"name"`
		Input   string            `json:"input"`
		Outputs map[string]string `json:"outputs"`
		DLQ     string            `json:"dlq"`
		Running bool              `json:"running"`
		Ready   bool              `json:"ready"`
		Stats   *struct {
			Consumed        int64 `json:"consumed"`
			Produced        int64 `json:"produced"`
			DLQ             int64 `json:"dlq"`
			Filtered        int64 `json:"filtered"`
			NodeRestarts    int64 `json:"node_restarts"`
			InFlightRecords int   `json:"in_flight_records"`
		} `json:"stats"`
		Lag    *int64 `json:"lag"`
		LagErr string `json:"lag_error"`
	} `json:"stages"`
}

func webviewGet(t *testing.T, url string) (body, ctype string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, data)
	}
	return string(data), resp.Header.Get("Content-Type")
}

// TestWebView serves the view over a filter stage really running: the
// status counts what the stage did and its lag drains to zero; the page and
// its assets are served with their types.
func TestWebView(t *testing.T) {
	addr := startKafka(t)
	brokers := strings.Split(addr, ",")
	names := uniqueTopics(t)
	p, err := config.Load(filterPipeline(t, buildFilter(t), names))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	if err := createPipelineTopics(ctx, brokers, p, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	waitTopics(t, addr, names.parsed, names.clean, names.dlq)
	st, err := stream.New(stream.Options{Stage: p.Stages[0], Pipeline: p.Name, Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := st.Run(ctx); err != nil {
			t.Errorf("stage: %v", err)
		}
	}()
	defer wg.Wait()
	defer cancel()

	h := newWebView(p, []*stream.Stage{st}, brokers)
	if c, ok := h.(io.Closer); ok {
		defer c.Close()
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	lines, invalid := sensorEvents(700)
	mustSluice(t, strings.Join(lines, "\n")+"\n", "produce", names.parsed, "--brokers", addr, "--key-field", "sensor_id")

	var s webviewStatus
	deadline := time.Now().Add(60 * time.Second)
	for {
		body, ctype := webviewGet(t, srv.URL+"/api/status")
		if ctype != "application/json" {
			t.Fatalf("/api/status Content-Type %q", ctype)
		}
		s = webviewStatus{}
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatalf("/api/status: %v\n%s", err, body)
		}
		if len(s.Stages) != 1 || s.Stages[0].Stats == nil {
			t.Fatalf("/api/status: %s", body)
		}
		ss := s.Stages[0]
		if ss.Ready && ss.Stats.Consumed == int64(len(lines)) && ss.Stats.InFlightRecords == 0 && ss.Lag != nil && *ss.Lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the status never showed all %d records done:\n%s", len(lines), body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ss := s.Stages[0]
	if s.Pipeline != names.pipeline || ss.Name != "filter" || ss.Input != names.parsed ||
		ss.Outputs["default"] != names.clean || ss.DLQ != names.dlq || !ss.Running {
		t.Fatalf("graph: %+v", s)
	}
	if s.Now < time.Now().Add(-time.Minute).UnixMilli() {
		t.Fatalf("now = %d", s.Now)
	}
	for _, topic := range []string{names.parsed, names.clean, names.dlq} {
		if !strings.Contains(strings.Join(s.Topics, " "), topic) {
			t.Fatalf("topics %v lack %s", s.Topics, topic)
		}
	}
	if got := ss.Stats; got.DLQ != int64(invalid) || got.Produced+got.Filtered+got.DLQ != int64(len(lines)) || got.NodeRestarts != 0 {
		t.Fatalf("%d in (%d invalid): stats %+v", len(lines), invalid, *got)
	}

	page, ctype := webviewGet(t, srv.URL+"/")
	if !strings.HasPrefix(ctype, "text/html") || !strings.Contains(page, "<title>sluice · "+names.pipeline+"</title>") {
		t.Fatalf("/ (%s):\n%s", ctype, page)
	}
	for path, want := range map[string]string{"/app.js": "text/javascript", "/style.css": "text/css"} {
		body, ctype := webviewGet(t, srv.URL+path)
		if !strings.HasPrefix(ctype, want) || len(body) < 100 {
			t.Fatalf("%s: Content-Type %q, %d bytes", path, ctype, len(body))
		}
		if !strings.Contains(page, `"`+strings.TrimPrefix(path, "/")+`"`) {
			t.Fatalf("the page does not load %s", path)
		}
	}
	if resp, err := http.Get(srv.URL + "/nothing.js"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/nothing.js: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestWebViewLagError: without a reachable broker the status still
// answers, with lag null and the reason.
func TestWebViewLagError(t *testing.T) {
	p, err := config.Load(filterPipeline(t, "/bin/true", exampleTopics()))
	if err != nil {
		t.Fatal(err)
	}
	h := newWebView(p, nil, []string{freeAddr(t)})
	if c, ok := h.(io.Closer); ok {
		defer c.Close()
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	body, _ := webviewGet(t, srv.URL+"/api/status")
	var s webviewStatus
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Stages) != 1 || s.Stages[0].Lag != nil || s.Stages[0].LagErr == "" || s.Stages[0].Running || s.Stages[0].Stats != nil {
		t.Fatalf("want lag null with an error, not running:\n%s", body)
	}
}
