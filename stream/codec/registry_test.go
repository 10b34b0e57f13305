package codec

// Tests of the Schema Registry client path. Without a registry they replay
// the HTTP exchanges of testdata/schemaregistry/*.json: TRANSCRIBED from
// Confluent's Schema Registry API reference, NOT recorded from a live
// registry (see the README.md there). With SLUICE_TEST_SCHEMA_REGISTRY set
// to a registry's base URL (scripts/schema-registry.sh starts one), the
// TestRegistryLive* tests run the same path against it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/testbroker"
)

// exchange is one recorded HTTP request and the registry's answer.
type exchange struct {
	Request struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		// Headers that the request must carry (others are not checked).
		Headers map[string]string `json:"headers"`
		// Body is the JSON the request must carry (nil: none); a "schema"
		// string in it is compared as JSON, so whitespace does not matter.
		Body json.RawMessage `json:"body"`
	} `json:"request"`
	Response struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"response"`
}

// replay is an HTTP server that plays one recording: each request must be
// the next recorded one, and gets the recorded answer. Anything else fails
// the test (and is answered 500, so the client fails too); so does a
// recorded exchange that was never asked for.
type replay struct {
	*httptest.Server
	name     string
	mu       sync.Mutex
	pending  []exchange
	requests atomic.Int64
	// hold, when set, is waited on before answering (concurrency tests).
	hold chan struct{}
}

func newReplay(t *testing.T, name string) *replay {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "schemaregistry", name))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		About     string     `json:"about"`
		Exchanges []exchange `json:"exchanges"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(rec.Exchanges) == 0 {
		t.Fatalf("%s: no exchanges", name)
	}
	rp := &replay{name: name, pending: rec.Exchanges}
	rp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rp.requests.Add(1)
		if rp.hold != nil {
			<-rp.hold
		}
		body, _ := io.ReadAll(req.Body)
		rp.mu.Lock()
		if len(rp.pending) == 0 {
			rp.mu.Unlock()
			rp.refuse(t, w, fmt.Sprintf("unexpected request %s %s: the recording has no more exchanges", req.Method, req.URL.RequestURI()))
			return
		}
		ex := rp.pending[0]
		rp.pending = rp.pending[1:]
		rp.mu.Unlock()
		if why := ex.mismatch(req, body); why != "" {
			rp.refuse(t, w, why)
			return
		}
		for k, v := range ex.Response.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(ex.Response.Status)
		w.Write(ex.Response.Body)
	}))
	t.Cleanup(func() {
		rp.Close()
		rp.mu.Lock()
		defer rp.mu.Unlock()
		for _, ex := range rp.pending {
			t.Errorf("%s: recorded request %s %s was never made", name, ex.Request.Method, ex.Request.Path)
		}
	})
	return rp
}

func (rp *replay) refuse(t *testing.T, w http.ResponseWriter, why string) {
	t.Errorf("%s: %s", rp.name, why)
	w.WriteHeader(http.StatusInternalServerError)
	json.NewEncoder(w).Encode(map[string]any{"error_code": 50001, "message": "replay: " + why})
}

// mismatch says how req differs from the recorded request ("" if it
// matches).
func (ex exchange) mismatch(req *http.Request, body []byte) string {
	want := ex.Request
	if req.Method != want.Method || req.URL.RequestURI() != want.Path {
		return fmt.Sprintf("request %s %s, the recording expects %s %s", req.Method, req.URL.RequestURI(), want.Method, want.Path)
	}
	for k, v := range want.Headers {
		if got := req.Header.Get(k); got != v {
			return fmt.Sprintf("%s %s: header %s is %q, the recording expects %q", req.Method, want.Path, k, got, v)
		}
	}
	if want.Body == nil {
		if len(body) != 0 {
			return fmt.Sprintf("%s %s: unexpected body %s", req.Method, want.Path, body)
		}
		return ""
	}
	g, err1 := jsonBody(body)
	w, err2 := jsonBody(want.Body)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(g, w) {
		return fmt.Sprintf("%s %s: body %s, the recording expects %s", req.Method, want.Path, body, want.Body)
	}
	return ""
}

// jsonBody decodes a request body, and its "schema" string too when that
// is JSON.
func jsonBody(b []byte) (any, error) {
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	if s, ok := v["schema"].(string); ok {
		var schema any
		if json.Unmarshal([]byte(s), &schema) == nil {
			v["schema"] = schema
		}
	}
	return v, nil
}

// testRegistry is a client of url (basic auth when user != "").
func testRegistry(t *testing.T, url, user, pass string) *registry {
	t.Helper()
	cfg := &config.SchemaRegistry{URLs: []string{url}, Username: user}
	if pass != "" {
		cfg.Password = config.NewSecret(pass)
	}
	r, err := newRegistry(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const readingSchema = `{"type":"record","name":"Reading","namespace":"sluice.test","fields":[{"name":"value","type":"double"}]}`

// readingV2 adds a field without a default: not backward compatible.
const readingV2 = `{"type":"record","name":"Reading","namespace":"sluice.test","fields":[{"name":"value","type":"double"},{"name":"unit","type":"string"}]}`

func TestRegistryRegisterIsIdempotentAndLookupsAreCached(t *testing.T) {
	rp := newReplay(t, "register_and_fetch.json")
	r := testRegistry(t, rp.URL, "sluice", "s3cret")
	ctx := context.Background()

	for i := 0; i < 2; i++ {
		id, err := r.register(ctx, "events.parsed-value", readingSchema)
		if err != nil {
			t.Fatalf("register #%d: %v", i+1, err)
		}
		if id != 1 {
			t.Fatalf("register #%d: id %d, the registry answered 1", i+1, id)
		}
	}
	// Registering is not cached: each call asks the registry, which is
	// what makes a changed schema file reach it on the next start.
	if n := rp.requests.Load(); n != 2 {
		t.Fatalf("two registrations made %d requests, want 2", n)
	}
	for i := 0; i < 3; i++ {
		s, err := r.schemaByID(ctx, 1)
		if err != nil {
			t.Fatalf("schemaByID #%d: %v", i+1, err)
		}
		if s != readingSchema {
			t.Fatalf("schemaByID #%d: %s, want %s", i+1, s, readingSchema)
		}
	}
	if n := rp.requests.Load(); n != 3 {
		t.Fatalf("three lookups of id 1 made %d requests in all, want 3 (2 registrations + 1 lookup, then the cache)", n)
	}
}

func TestRegistryConcurrentLookupsShareOneRequest(t *testing.T) {
	rp := newReplay(t, "fetch_by_id.json")
	rp.hold = make(chan struct{})
	r := testRegistry(t, rp.URL, "", "")

	const callers = 8
	var started, done sync.WaitGroup
	errs := make(chan error, callers)
	for i := 0; i < callers; i++ {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			s, err := r.schemaByID(context.Background(), 1)
			if want := `{"type": "string"}`; err == nil && s != want {
				err = fmt.Errorf("schema %s, want %s", s, want)
			}
			errs <- err
		}()
	}
	started.Wait()
	close(rp.hold) // the one request in flight may now be answered
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := rp.requests.Load(); n != 1 {
		t.Fatalf("%d concurrent lookups of id 1 made %d requests, want 1", callers, n)
	}
}

func TestRegistryIncompatibleSchema(t *testing.T) {
	rp := newReplay(t, "incompatible.json")
	r := testRegistry(t, rp.URL, "", "")
	_, err := r.register(context.Background(), "events.parsed-value", readingV2)
	want := `schema registry refused the schema for subject "events.parsed-value": incompatible with an earlier version (Schema being registered is incompatible with an earlier schema for subject "events.parsed-value")`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestRegistryInvalidSchema(t *testing.T) {
	rp := newReplay(t, "invalid_schema.json")
	r := testRegistry(t, rp.URL, "", "")
	_, err := r.register(context.Background(), "events.parsed-value", `{"type":"record","name":"Reading"}`)
	want := `schema registry refused the schema for subject "events.parsed-value": not a valid schema (Invalid schema)`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestRegistryUnknownIDIsNotCached(t *testing.T) {
	rp := newReplay(t, "unknown_id.json")
	r := testRegistry(t, rp.URL, "", "")
	want := fmt.Sprintf("schema registry %s: no schema with id 7 (Schema 7 not found)", rp.URL)
	for i := 0; i < 2; i++ {
		_, err := r.schemaByID(context.Background(), 7)
		if err == nil || err.Error() != want {
			t.Fatalf("lookup #%d: got  %v\nwant %s", i+1, err, want)
		}
	}
	if n := rp.requests.Load(); n != 2 {
		t.Fatalf("two failed lookups made %d requests, want 2 (a failure is not cached)", n)
	}
}

// isIDAnswer: the registry's answer about an id (the record is at fault),
// not a failure to ask it.
func isIDAnswer(err error) bool { return errors.As(err, new(*schemaIDError)) }

func TestRegistryAnswersAboutAnIDAreTyped(t *testing.T) {
	rp := newReplay(t, "unknown_id.json")
	r := testRegistry(t, rp.URL, "", "")
	for i := 0; i < 2; i++ {
		if _, err := r.schemaByID(context.Background(), 7); !isIDAnswer(err) {
			t.Fatalf("404 for id 7: %v is not a *schemaIDError", err)
		}
	}

	rp = newReplay(t, "not_avro.json")
	r = testRegistry(t, rp.URL, "", "")
	_, err := r.schemaByID(context.Background(), 12)
	want := fmt.Sprintf("schema registry %s: schema id 12 is a PROTOBUF schema, not Avro", rp.URL)
	if err == nil || err.Error() != want || !isIDAnswer(err) {
		t.Fatalf("got  %v\nwant %s (a *schemaIDError)", err, want)
	}

	// Failing to ask is not an answer about the id.
	r = testRegistry(t, "http://127.0.0.1:1", "", "")
	if _, err := r.schemaByID(context.Background(), 7); err == nil || isIDAnswer(err) {
		t.Fatalf("unreachable registry: %v should not be a *schemaIDError", err)
	}
}

func TestRegistryUnauthorized(t *testing.T) {
	rp := newReplay(t, "unauthorized.json")
	r := testRegistry(t, rp.URL, "sluice", "wrong")
	_, err := r.register(context.Background(), "events.parsed-value", readingSchema)
	want := fmt.Sprintf("schema registry %s: 401 unauthorized (Unauthorized): check schema_registry.username and password", rp.URL)
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("the error shows the password: %v", err)
	}
}

func TestRegistryUnreachable(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	url := "http://" + addr
	r := testRegistry(t, url, "sluice", "s3cret")

	_, err = r.register(context.Background(), "events.parsed-value", readingSchema)
	want := fmt.Sprintf("schema registry %s: dial tcp %s: connect: connection refused", url, addr)
	if err == nil || err.Error() != want {
		t.Fatalf("register: got  %v\nwant %s", err, want)
	}
	_, err = r.schemaByID(context.Background(), 1)
	if err == nil || err.Error() != want {
		t.Fatalf("schemaByID: got  %v\nwant %s", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("the error is not one line: %q", err)
	}
}

func TestRegistryURLCredentialsAreRedacted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := testRegistry(t, "http://sluice:hunter2@"+addr+"/", "", "")
	_, err = r.schemaByID(context.Background(), 1)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.HasPrefix(err.Error(), "schema registry http://sluice:xxxxx@"+addr+":") {
		t.Fatalf("got %v, want the URL with its password redacted", err)
	}
}

func TestRegistryConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  *config.SchemaRegistry
		want string
	}{
		{nil, "schema_registry: no url configured"},
		{&config.SchemaRegistry{}, "schema_registry: no url configured"},
		{&config.SchemaRegistry{URLs: []string{"http://"}}, `schema_registry: url "http://" is not an http(s) URL`},
		{&config.SchemaRegistry{URLs: []string{"ftp://registry:21"}}, `schema_registry: url "ftp://registry:21" is not an http(s) URL`},
	} {
		_, err := newRegistry(tc.cfg)
		if err == nil || err.Error() != tc.want {
			t.Errorf("newRegistry(%+v): got %v, want %s", tc.cfg, err, tc.want)
		}
	}
	// A bare host:port is plain HTTP, as in sr.URLs.
	if _, err := newRegistry(&config.SchemaRegistry{URLs: []string{"127.0.0.1:8081"}}); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryConfluentHeader(t *testing.T) {
	for _, id := range []int{0, 1, 7, 256, 1<<31 - 1} {
		payload := []byte{0x02, 0x0a, 'h', 'i'}
		b := appendConfluentHeader([]byte(nil), id)
		if len(b) != 5 || b[0] != 0 {
			t.Fatalf("id %d: header % x", id, b)
		}
		b = append(b, payload...)
		got, rest, err := splitConfluentHeader(b)
		if err != nil || got != id || !bytes.Equal(rest, payload) {
			t.Fatalf("id %d: split gives %d, % x, %v", id, got, rest, err)
		}
	}
	// Big-endian, as Confluent's serializers write it.
	if b := appendConfluentHeader([]byte{0xff}, 0x01020304); !bytes.Equal(b, []byte{0xff, 0, 1, 2, 3, 4}) {
		t.Fatalf("header % x, want ff 00 01 02 03 04 (appended to dst)", b)
	}
	// A bare header is a valid (empty) payload.
	if id, rest, err := splitConfluentHeader([]byte{0, 0, 0, 0, 9}); err != nil || id != 9 || len(rest) != 0 {
		t.Fatalf("bare header: %d, % x, %v", id, rest, err)
	}
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{nil, "not in the Confluent wire format: empty value"},
		{[]byte(`{"value":1}`), "not in the Confluent wire format: first byte 0x7b, expected 0x00"},
		{[]byte{0xc3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}, "not in the Confluent wire format: first byte 0xc3, expected 0x00"},
		{[]byte{0, 0, 1}, "not in the Confluent wire format: 3 bytes, shorter than the 5-byte header (0x00 and a 4-byte schema id)"},
	} {
		_, _, err := splitConfluentHeader(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("split(% x): got %v, want %s", tc.in, err, tc.want)
		}
	}
}

// liveRegistry is the registry of SLUICE_TEST_SCHEMA_REGISTRY, or skips.
func liveRegistry(t *testing.T) (*registry, string) {
	t.Helper()
	url := os.Getenv("SLUICE_TEST_SCHEMA_REGISTRY")
	if url == "" {
		t.Skip("SLUICE_TEST_SCHEMA_REGISTRY is not set (start one with scripts/schema-registry.sh up)")
	}
	return testRegistry(t, url, "", ""), url
}

func TestRegistryLiveRegisterAndLookup(t *testing.T) {
	r, _ := liveRegistry(t)
	ctx := context.Background()
	subject := testbroker.Name(t, "events") + "-value"

	id, err := r.register(ctx, subject, readingSchema)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.register(ctx, subject, readingSchema)
	if err != nil {
		t.Fatal(err)
	}
	if again != id {
		t.Fatalf("registering the same schema twice gave ids %d and %d", id, again)
	}
	s, err := r.schemaByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := jsonBody([]byte(fmt.Sprintf(`{"schema":%q}`, s)))
	w, _ := jsonBody([]byte(fmt.Sprintf(`{"schema":%q}`, readingSchema)))
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("schema of id %d is %s, want %s", id, s, readingSchema)
	}

	const unknown = 987654321
	_, err = r.schemaByID(ctx, unknown)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf(": no schema with id %d (", unknown)) {
		t.Fatalf("unknown id: got %v", err)
	}
}

func TestRegistryLiveIncompatible(t *testing.T) {
	r, _ := liveRegistry(t)
	ctx := context.Background()
	subject := testbroker.Name(t, "events") + "-value"
	if _, err := r.register(ctx, subject, readingSchema); err != nil {
		t.Fatal(err)
	}
	// The subject's rule is the registry's business; the test sets it with
	// the same client library rather than rely on the registry's default.
	for _, res := range r.cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatBackward}, subject) {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	_, err := r.register(ctx, subject, readingV2)
	prefix := fmt.Sprintf("schema registry refused the schema for subject %q: incompatible with an earlier version (", subject)
	if err == nil || !strings.HasPrefix(err.Error(), prefix) {
		t.Fatalf("got  %v\nwant %s...)", err, prefix)
	}
	t.Logf("the registry's refusal: %v", err)

	_, err = r.register(ctx, subject, `{"type":"record","name":"Reading"`)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("schema registry refused the schema for subject %q: ", subject)) {
		t.Fatalf("broken schema: got %v", err)
	}
	t.Logf("the registry's refusal of a broken schema: %v", err)
}

func TestRegistryCancelled(t *testing.T) {
	// The caller's cancellation (a stage shutting down) comes back as
	// itself, not as an unreachable registry.
	r := testRegistry(t, "http://127.0.0.1:1", "", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.schemaByID(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("schemaByID: got %v, want context.Canceled", err)
	}
	if _, err := r.register(ctx, "x-value", readingSchema); !errors.Is(err, context.Canceled) {
		t.Fatalf("register: got %v, want context.Canceled", err)
	}
}

// sensorEvent is a record of testdata/schemas/sensor_event.avsc as a node
// sees it.
const sensorEvent = `{"sensor_id":"s-17","metric":"temperature","value":21.5,"unit":"C","ts":"2026-11-21T13:00:00Z"}`

// confluentPipeline loads a pipeline whose topic is Avro in the Confluent
// wire format, its registry at url with basic auth.
func confluentPipeline(t *testing.T, url, topic string) *Set {
	t.Helper()
	schema, err := filepath.Abs(filepath.Join("..", "..", "testdata", "schemas", "sensor_event.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pipeline.yaml")
	yaml := fmt.Sprintf(`pipeline: sr-wire
schema_registry:
  url: %s
  username: sluice
  password: s3cret
topics:
  events.raw: {}
  %s:
    format: avro
    schema: %s
    wire: confluent
stages:
  ingest:
    input: events.raw
    outputs: {default: %s}
    node: {command: ingest}
`, url, topic, schema, topic)
	p, err := config.Parse(file, []byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	set, err := Load(p)
	if err != nil {
		t.Fatalf("codec.Load: %v", err)
	}
	return set
}

// sameJSONValue compares two JSON documents as values (numbers exactly).
func sameJSONValue(t *testing.T, got, want []byte) {
	t.Helper()
	decode := func(b []byte) any {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return v
	}
	if !reflect.DeepEqual(decode(got), decode(want)) {
		t.Fatalf("decoded %s\nwant    %s", got, want)
	}
}

// confluentRoundTrip writes the sensor event through a prepared codec and
// reads it back through it and through a fresh one (which must ask the
// registry for the id); it returns the value it wrote and its schema id.
func confluentRoundTrip(t *testing.T, url, topic string) ([]byte, int) {
	t.Helper()
	ctx := context.Background()
	writer := confluentPipeline(t, url, topic)
	if err := writer.Prepare(ctx, topic); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	c := writer.For(topic)
	value, err := c.Encode([]byte(sensorEvent))
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	id, payload, err := splitConfluentHeader(value)
	if err != nil {
		t.Fatalf("Encode wrote % x: %v", value, err)
	}
	if len(payload) == 0 {
		t.Fatalf("Encode wrote a header and no Avro payload: % x", value)
	}
	if err := c.Check(value); err != nil {
		t.Fatalf("Check of Encode's output: %v", err)
	}
	got, err := c.Decode(value)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	sameJSONValue(t, got, []byte(sensorEvent))

	// A stage that reads the topic without having registered its schema
	// meets the id first in a record.
	reader := confluentPipeline(t, url, topic)
	for i := 0; i < 3; i++ {
		got, err = reader.For(topic).Decode(value)
		if err != nil {
			t.Fatalf("Decode #%d by a reader that did not register: %v", i+1, err)
		}
		sameJSONValue(t, got, []byte(sensorEvent))
	}
	return value, id
}

func TestRegistryConfluentWireAvro(t *testing.T) {
	rp := newReplay(t, "sensor_event.json")
	value, _ := confluentRoundTrip(t, rp.URL, "events.parsed")
	// 0x00, then id 21 big-endian.
	if header := []byte{0x00, 0x00, 0x00, 0x00, 0x15}; !bytes.HasPrefix(value, header) {
		t.Fatalf("Encode wrote % x, want it to start with % x (schema id 21, as the registry answered)", value, header)
	}
	// One registration, one lookup by the reader; its later records and
	// the writer's own decoding use what they know.
	if n := rp.requests.Load(); n != 2 {
		t.Fatalf("%d requests to the registry, want 2", n)
	}

	// The codec refuses a value that is not in the Confluent wire format,
	// with the topic and the reason.
	set := confluentPipeline(t, rp.URL, "events.parsed")
	_, err := set.For("events.parsed").Decode([]byte(sensorEvent))
	var cerr *Error
	if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "not in the Confluent wire format: first byte 0x7b, expected 0x00") {
		t.Fatalf("Decode of plain JSON: got %v, want an *Error saying the first byte is 0x7b", err)
	}
}

func TestRegistryLiveConfluentWireAvro(t *testing.T) {
	_, url := liveRegistry(t)
	topic := testbroker.Name(t, "events.parsed")
	_, id := confluentRoundTrip(t, url, topic)
	// Registering again (the next start of the stage) keeps the id.
	again := confluentPipeline(t, url, topic)
	if err := again.Prepare(context.Background(), topic); err != nil {
		t.Fatal(err)
	}
	value, err := again.For(topic).Encode([]byte(sensorEvent))
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := splitConfluentHeader(value); got != id {
		t.Fatalf("a second Prepare writes id %d, the first %d", got, id)
	}
}
