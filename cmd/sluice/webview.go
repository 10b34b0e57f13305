package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream"
)

// The live web view: one page (webview/index.html, app.js, style.css, no
// build step, nothing fetched from elsewhere) that polls /api/status every
// second and draws the pipeline graph with each stage's rates, lag, DLQ
// count, node restarts and readiness.

//go:embed webview/index.html webview/app.js webview/style.css
var webviewFiles embed.FS

// webviewLagTTL is how long a lag measurement is reused, so that pages
// polling every second do not query Kafka every second.
const webviewLagTTL = 2 * time.Second

// webviewAssets are the static files besides the page, with their types
// (set here rather than guessed from /etc/mime.types).
var webviewAssets = map[string]string{
	"/app.js":    "text/javascript; charset=utf-8",
	"/style.css": "text/css; charset=utf-8",
}

// webView is the handler newWebView returns. Close releases its Kafka
// client.
type webView struct {
	p       *config.Pipeline
	running map[string]*stream.Stage // the stages this process runs, by name
	brokers []string
	page    []byte

	mu     sync.Mutex // guards the fields below; held while lag is measured
	cl     *kgo.Client
	lagAt  time.Time
	lag    map[string]int64  // by stage
	lagErr map[string]string // by stage, when its lag is unknown
}

// newWebView serves the live view of p: the page at /, its assets, and
// /api/status (JSON). stages are the stages running in this process (any
// subset of p's); brokers are used to measure each stage's lag.
func newWebView(p *config.Pipeline, stages []*stream.Stage, brokers []string) http.Handler {
	v := &webView{p: p, running: map[string]*stream.Stage{}, brokers: brokers}
	for _, s := range stages {
		v.running[s.Name()] = s
	}
	tmpl := template.Must(template.ParseFS(webviewFiles, "webview/index.html"))
	var b bytes.Buffer
	if err := tmpl.Execute(&b, struct{ Pipeline string }{p.Name}); err != nil {
		panic(err) // the embedded template is ours: a test catches this
	}
	v.page = b.Bytes()
	return v
}

func (v *webView) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch path := r.URL.Path; path {
	case "/", "/index.html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(v.page)
	case "/api/status":
		body, err := json.Marshal(v.status(r.Context()))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(append(body, '\n'))
	default:
		ctype, ok := webviewAssets[path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		data, err := webviewFiles.ReadFile("webview" + path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(data)
	}
}

// Close releases the Kafka client used for lag, if one was made.
func (v *webView) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cl != nil {
		v.cl.Close()
		v.cl = nil
	}
	return nil
}

// webStatus is the /api/status document.
type webStatus struct {
	Pipeline string     `json:"pipeline"`
	Now      int64      `json:"now"` // Unix ms, for rates
	Topics   []string   `json:"topics"`
	Stages   []webStage `json:"stages"`
	LagAt    *int64     `json:"lag_at"` // Unix ms of the lag measurement
	Brokers  []string   `json:"brokers"`
}

// webStage is one stage of the graph and, when it runs in this process,
// its totals.
type webStage struct {
	Name    string            `json:"name"`
	Input   string            `json:"input"`
	Outputs map[string]string `json:"outputs"`
	DLQ     string            `json:"dlq"`
	Group   string            `json:"group"`
	Running bool              `json:"running"` // in this process
	Ready   bool              `json:"ready"`
	Stats   *webStats         `json:"stats"` // nil when not running here
	Lag     *int64            `json:"lag"`   // nil when unknown
	LagErr  string            `json:"lag_error,omitempty"`
}

type webStats struct {
	Consumed        int64 `json:"consumed"`
	Produced        int64 `json:"produced"`
	DLQ             int64 `json:"dlq"`
	Filtered        int64 `json:"filtered"`
	NodeRestarts    int64 `json:"node_restarts"`
	InFlightRecords int   `json:"in_flight_records"`
}

func (v *webView) status(ctx context.Context) webStatus {
	lag, lagErr, lagAt := v.lagSample(ctx)
	st := webStatus{Pipeline: v.p.Name, Now: time.Now().UnixMilli(), Topics: graphTopics(v.p),
		Stages: []webStage{}, Brokers: v.brokers}
	if !lagAt.IsZero() {
		ms := lagAt.UnixMilli()
		st.LagAt = &ms
	}
	if st.Topics == nil {
		st.Topics = []string{}
	}
	for i := range v.p.Stages {
		cs := &v.p.Stages[i]
		ws := webStage{Name: cs.Name, Input: cs.Input, Outputs: cs.Outputs, DLQ: cs.DLQ, Group: cs.Group}
		if ws.Outputs == nil {
			ws.Outputs = map[string]string{}
		}
		if s := v.running[cs.Name]; s != nil {
			t := s.Stats()
			ws.Running, ws.Ready = true, s.Ready()
			ws.Stats = &webStats{Consumed: t.Consumed, Produced: t.Produced, DLQ: t.DLQ, Filtered: t.Filtered,
				NodeRestarts: t.NodeRestarts, InFlightRecords: t.InFlightRecords}
		}
		if n, ok := lag[cs.Name]; ok {
			ws.Lag = &n
		} else {
			ws.LagErr = lagErr[cs.Name]
			if ws.LagErr == "" {
				ws.LagErr = "not measured"
			}
		}
		st.Stages = append(st.Stages, ws)
	}
	return st
}

// lagSample returns each stage's lag, measured at most webviewLagTTL ago.
func (v *webView) lagSample(ctx context.Context) (map[string]int64, map[string]string, time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.lag == nil || time.Since(v.lagAt) >= webviewLagTTL {
		// Not the request's context: a page closed mid-measurement should
		// not leave an error cached for the others.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		v.lag, v.lagErr = v.measureLag(mctx)
		cancel()
		v.lagAt = time.Now()
	}
	return v.lag, v.lagErr, v.lagAt
}

// measureLag sums, per stage, over the partitions of its input topic, the
// end offset (the last stable offset, what a read_committed stage can
// reach) minus the group's committed offset; a partition the group never
// committed on counts whole (end minus log start), as in `sluice lag`.
func (v *webView) measureLag(ctx context.Context) (map[string]int64, map[string]string) {
	lag, errs := map[string]int64{}, map[string]string{}
	failAll := func(msg string) (map[string]int64, map[string]string) {
		for i := range v.p.Stages {
			errs[v.p.Stages[i].Name] = msg
		}
		return lag, errs
	}
	if len(v.brokers) == 0 {
		return failAll("no brokers to measure lag on")
	}
	if v.cl == nil {
		secOpts, err := securityOpts(v.p)
		if err != nil {
			return failAll(err.Error())
		}
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(v.brokers...), kgo.ClientID("sluice-webview")}, secOpts...)...)
		if err != nil {
			return failAll(fmt.Sprintf("kafka client: %v", err))
		}
		v.cl = cl
	}
	adm := kadm.NewClient(v.cl)
	var topics []string
	seen := map[string]bool{}
	for i := range v.p.Stages {
		if t := v.p.Stages[i].Input; !seen[t] {
			seen[t] = true
			topics = append(topics, t)
		}
	}
	ends, err := adm.ListCommittedOffsets(ctx, topics...)
	if err != nil {
		return failAll(fmt.Sprintf("end offsets: %v", err))
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return failAll(fmt.Sprintf("start offsets: %v", err))
	}
	for i := range v.p.Stages {
		cs := &v.p.Stages[i]
		parts, ok := ends[cs.Input]
		if !ok || len(parts) == 0 {
			errs[cs.Name] = fmt.Sprintf("input topic %q does not exist", cs.Input)
			continue
		}
		committed, err := adm.FetchOffsetsForTopics(ctx, cs.Group, cs.Input)
		if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			errs[cs.Name] = fmt.Sprintf("committed offsets of group %s: %v", cs.Group, err)
			continue
		}
		var total int64
		for p, end := range parts {
			if end.Err != nil {
				errs[cs.Name] = fmt.Sprintf("end offset of %s/%d: %v", cs.Input, p, end.Err)
				break
			}
			if c, ok := committed.Lookup(cs.Input, p); ok && c.Err == nil && c.At >= 0 {
				total += max(end.Offset-c.At, 0)
				continue
			}
			var start int64
			if s, ok := starts.Lookup(cs.Input, p); ok && s.Err == nil {
				start = s.Offset
			}
			total += max(end.Offset-start, 0)
		}
		if errs[cs.Name] == "" {
			lag[cs.Name] = total
		}
	}
	return lag, errs
}
