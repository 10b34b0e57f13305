package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/stream/protocol"
)

// buildNode compiles the node into a temporary directory.
func buildNode(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the node binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	bin := filepath.Join(t.TempDir(), "filter")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// converse runs the node binary with env added to its environment, sends it
// a handshake, one batch of records and a shutdown over stdin, and returns
// what it answered, after checking that it exited 0.
func converse(t *testing.T, bin string, env []string, records []protocol.Record) (*protocol.HelloAck, *protocol.Results, string) {
	t.Helper()
	var in []byte
	for _, m := range []protocol.Message{
		&protocol.Hello{Version: 1, Stage: "filter", MaxFrame: 1 << 20},
		&protocol.Batch{ID: 1, Records: records},
		&protocol.Shutdown{},
	} {
		var err error
		if in, err = protocol.Append(in, m); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		stdin.Write(in)
		stdin.Close()
	}()

	fr := protocol.NewFrameReader(stdout, 0)
	m, err := fr.ReadMessage()
	if err != nil {
		t.Fatalf("reading the hello ack: %v (stderr: %s)", err, stderr.String())
	}
	ack, ok := m.(*protocol.HelloAck)
	if !ok {
		t.Fatalf("first answer is %s, want hello_ack (%+v)", m.Type(), m)
	}
	m, err = fr.ReadMessage()
	if err != nil {
		t.Fatalf("reading the results: %v (stderr: %s)", err, stderr.String())
	}
	res, ok := m.(*protocol.Results)
	if !ok {
		t.Fatalf("second answer is %s, want results (%+v)", m.Type(), m)
	}
	if m, err := fr.ReadMessage(); err != io.EOF {
		t.Fatalf("after the results: %v, %v; want the end of output", m, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node exit: %v (stderr: %s)", err, stderr.String())
	}
	return ack, res, stderr.String()
}

func TestNodeOverProtocol(t *testing.T) {
	bin := buildNode(t)
	trace := []protocol.Header{{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")}}
	records := []protocol.Record{
		{Topic: "events.parsed", Partition: 0, Offset: 10, Timestamp: recordTS, Headers: trace,
			Value: []byte(`{"sensor_id": "Alpha ", "metric": "temperature", "value": 75.2, "unit": "°F", "ts": "2024-05-01 12:00:00", "site": "plant-1"}`)},
		{Topic: "events.parsed", Partition: 0, Offset: 11, Timestamp: recordTS,
			Value: []byte(`{"sensor_id": "beta", "metric": "temperature", "value": "24.5", "unit": "C"}`)},
	}
	ack, res, _ := converse(t, bin, nil, records)
	if ack.Version != 1 || ack.Name != "filter" || ack.NodeVersion != "0.1.0" {
		t.Fatalf("hello ack %+v", ack)
	}
	if res.ID != 1 || len(res.Results) != 2 {
		t.Fatalf("results %+v, want 2 results for batch 1", res)
	}

	ok := res.Results[0]
	if ok.Status != protocol.StatusOK || len(ok.Outputs) != 1 {
		t.Fatalf("valid record: %+v", ok)
	}
	o := ok.Outputs[0]
	const want = `{"sensor_id":"alpha","metric":"temperature","value":24,"unit":"C","ts":"2024-05-01T12:00:00.000Z","site":"plant-1"}`
	if string(o.Value) != want || string(o.Key) != "alpha" || o.Name != "" {
		t.Fatalf("valid record: output name %q key %q value %s, want key alpha value %s", o.Name, o.Key, o.Value, want)
	}
	if len(o.Headers) != 1 || o.Headers[0].Key != "traceparent" || !bytes.Equal(o.Headers[0].Value, trace[0].Value) {
		t.Fatalf("valid record: headers %+v, want %+v", o.Headers, trace)
	}

	bad := res.Results[1]
	if bad.Status != protocol.StatusError || bad.Error != `value: expected a number, got string "24.5"` || len(bad.Outputs) != 0 {
		t.Fatalf("invalid record: %+v", bad)
	}
}

func TestNodePassthroughOverProtocol(t *testing.T) {
	bin := buildNode(t)
	records := []protocol.Record{
		{Key: []byte("k1"), Value: []byte("not json at all"), Headers: []protocol.Header{{Key: "h", Value: []byte("v")}}},
		{Key: nil, Value: []byte(`{"sensor_id":"Alpha "}`)},
	}
	_, res, stderr := converse(t, bin, []string{passthroughEnv + "=1"}, records)
	if len(res.Results) != 2 {
		t.Fatalf("results %+v", res)
	}
	for i, r := range res.Results {
		if r.Status != protocol.StatusOK || len(r.Outputs) != 1 {
			t.Fatalf("record %d: %+v", i, r)
		}
		o, in := r.Outputs[0], records[i]
		if !bytes.Equal(o.Key, in.Key) || (o.Key == nil) != (in.Key == nil) || !bytes.Equal(o.Value, in.Value) || len(o.Headers) != len(in.Headers) {
			t.Fatalf("record %d changed: %+v, want %+v", i, o, in)
		}
	}
	if !bytes.Contains([]byte(stderr), []byte(passthroughEnv)) {
		t.Errorf("passthrough mode not logged on stderr: %q", stderr)
	}
}
