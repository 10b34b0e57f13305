package sluice

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/stream/protocol"
)

func frames(t *testing.T, msgs ...protocol.Message) *bytes.Buffer {
	t.Helper()
	var b []byte
	for _, m := range msgs {
		var err error
		if b, err = protocol.Append(b, m); err != nil {
			t.Fatal(err)
		}
	}
	return bytes.NewBuffer(b)
}

func readAll(t *testing.T, out *bytes.Buffer) []protocol.Message {
	t.Helper()
	fr := protocol.NewFrameReader(out, 0)
	var ms []protocol.Message
	for {
		m, err := fr.ReadMessage()
		if err != nil {
			return ms
		}
		ms = append(ms, m)
	}
}

var hello = &protocol.Hello{Version: 1, Stage: "s", MaxFrame: 1 << 20, Settings: map[string]string{"mode": "loud"}}

func TestServeAnswersEachBatchInOrder(t *testing.T) {
	var gotSettings string
	n := Node{Name: "fan", Version: "1.2.3",
		Init: func(h Hello) error { gotSettings = h.Settings["mode"]; return nil },
		Process: func(r Record) ([]Output, error) {
			switch string(r.Value) {
			case "drop":
				return nil, nil
			case "bad":
				return nil, errors.New("bad value")
			case "later":
				return nil, Retriable(errors.New("try later"))
			case "boom":
				panic("kaboom")
			}
			return []Output{{Value: r.Value}, {Name: "alerts", Key: r.Key, Value: []byte(strings.ToUpper(string(r.Value)))}}, nil
		}}
	in := frames(t, hello,
		&protocol.Batch{ID: 1, Records: []protocol.Record{{Value: []byte("a"), Key: []byte("k")}, {Value: []byte("drop")}}},
		&protocol.Batch{ID: 2, Records: []protocol.Record{{Value: []byte("bad")}, {Value: []byte("later")}, {Value: []byte("boom")}}},
		&protocol.Shutdown{})
	var out bytes.Buffer
	if err := n.Serve(in, &out); err != nil {
		t.Fatal(err)
	}
	if gotSettings != "loud" {
		t.Fatalf("Init did not see settings, got %q", gotSettings)
	}
	ms := readAll(t, &out)
	if len(ms) != 3 {
		t.Fatalf("want ack + 2 results, got %d messages", len(ms))
	}
	ack := ms[0].(*protocol.HelloAck)
	if ack.Name != "fan" || ack.NodeVersion != "1.2.3" || ack.Version != 1 {
		t.Fatalf("ack %+v", ack)
	}
	r1 := ms[1].(*protocol.Results)
	if r1.ID != 1 || len(r1.Results) != 2 || len(r1.Results[0].Outputs) != 2 || len(r1.Results[1].Outputs) != 0 {
		t.Fatalf("batch 1 results %+v", r1)
	}
	if o := r1.Results[0].Outputs[1]; o.Name != "alerts" || string(o.Value) != "A" || string(o.Key) != "k" {
		t.Fatalf("named output %+v", o)
	}
	r2 := ms[2].(*protocol.Results)
	want := []struct {
		st  protocol.Status
		err string
	}{{protocol.StatusError, "bad value"}, {protocol.StatusRetriable, "try later"}, {protocol.StatusError, "panic: kaboom"}}
	for i, w := range want {
		if r2.Results[i].Status != w.st || r2.Results[i].Error != w.err {
			t.Fatalf("result %d: got %+v, want %+v", i, r2.Results[i], w)
		}
	}
}

func TestServeRefusesAnotherVersion(t *testing.T) {
	in := frames(t, &protocol.Hello{Version: 2, Stage: "s", MaxFrame: 1024})
	var out bytes.Buffer
	err := Node{Name: "x", Process: func(Record) ([]Output, error) { return nil, nil }}.Serve(in, &out)
	want := "unsupported protocol version 2; this node speaks 1"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	ms := readAll(t, &out)
	if len(ms) != 1 || ms[0].(*protocol.Fatal).Message != want {
		t.Fatalf("the runtime must be told why: %+v", ms)
	}
}

func TestServeBatchHandlerAndOversizedOutput(t *testing.T) {
	small := &protocol.Hello{Version: 1, Stage: "s", MaxFrame: 4096}
	in := frames(t, small, &protocol.Batch{ID: 1, Records: []protocol.Record{{Value: []byte("1")}, {Value: []byte("2")}, {Value: []byte("3")}}})
	var out bytes.Buffer
	err := Node{Name: "b", ProcessBatch: func(rs []Record) []Result {
		res := make([]Result, len(rs))
		for i, r := range rs {
			v := r.Value
			if string(v) == "2" {
				v = bytes.Repeat([]byte("x"), 10000) // bigger than the frame limit
			}
			res[i] = Result{Outputs: []Output{{Value: v}}}
		}
		return res
	}}.Serve(in, &out)
	if err != nil {
		t.Fatal(err)
	}
	ms := readAll(t, &out)
	if ack := ms[0].(*protocol.HelloAck); ack.Features&protocol.FeatureBatchHandler == 0 {
		t.Fatal("batch handler feature not announced")
	}
	rs := ms[1].(*protocol.Results).Results
	if rs[0].Status != protocol.StatusOK || rs[2].Status != protocol.StatusOK || string(rs[2].Outputs[0].Value) != "3" {
		t.Fatalf("small records must pass: %+v", rs)
	}
	if rs[1].Status != protocol.StatusError || !strings.Contains(rs[1].Error, "over the 4096-byte frame limit") {
		t.Fatalf("oversized output must fail its record: %+v", rs[1])
	}
}

func TestServeMalformedInput(t *testing.T) {
	in := frames(t, hello)
	in.Write([]byte{0, 0, 0, 1, 0x42})
	var out bytes.Buffer
	err := Node{Name: "x", Process: func(Record) ([]Output, error) { return nil, nil }}.Serve(in, &out)
	if !errors.Is(err, protocol.ErrMalformed) {
		t.Fatalf("want ErrMalformed, got %v", err)
	}
	ms := readAll(t, &out)
	if f, ok := ms[len(ms)-1].(*protocol.Fatal); !ok || !strings.Contains(f.Message, "unknown message type 0x42") {
		t.Fatalf("last message should be fatal with the reason: %+v", ms)
	}
}

func BenchmarkServePassthrough(b *testing.B) {
	recs := make([]protocol.Record, 500)
	for i := range recs {
		recs[i] = protocol.Record{Topic: "t", Offset: int64(i), Value: bytes.Repeat([]byte("v"), 200)}
	}
	var msgs []protocol.Message
	msgs = append(msgs, hello)
	for i := range 100 {
		msgs = append(msgs, &protocol.Batch{ID: uint64(i + 1), Records: recs})
	}
	var in []byte
	for _, m := range msgs {
		in, _ = protocol.Append(in, m)
	}
	n := Node{Name: "p", Process: func(r Record) ([]Output, error) { return []Output{{Key: r.Key, Value: r.Value}}, nil }}
	b.ReportAllocs()
	for b.Loop() {
		var out bytes.Buffer
		if err := n.Serve(bytes.NewReader(in), &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*500*100)/b.Elapsed().Seconds(), "records/s")
	_ = fmt.Sprint()
}
