package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream/codec"
)

// Typed topics (codecs.go) with the real codecs of package codec: the node
// sees JSON, outputs are encoded with their topic's schema, and a value
// that does not fit goes to the DLQ with kind "schema" (the quality gate).

const (
	sensorSchema = "../testdata/schemas/sensor_event.avsc" // sluice.sensors.SensorEvent
	alertSchema  = "testdata/schemas/alert.avsc"           // sluice.test.Alert
)

func avroTopic(name, schema string) config.Topic {
	return config.Topic{Name: name, Partitions: 3, Replication: -1, Line: 1, Format: config.FormatAvro,
		Schemas: []config.SchemaFile{{Path: schema, Line: 1}}, Compatibility: config.CompatBackward, Wire: config.WireSingleObject}
}

func jsonTopic(name string) config.Topic {
	return config.Topic{Name: name, Partitions: 3, Replication: -1, Line: 1, Format: config.FormatJSON}
}

// useCodecs loads the codecs of topics, declared as a pipeline file would
// declare them, for the stages the harness starts; topics not listed are
// raw.
func (h *harness) useCodecs(topics ...config.Topic) *codec.Set {
	h.t.Helper()
	set, err := codec.Load(&config.Pipeline{Name: "test", Topics: topics})
	if err != nil {
		h.t.Fatal(err)
	}
	h.codecs = set
	return set
}

// sensorEvent is sensor event i as JSON, as a node sees it.
func sensorEvent(i int) string {
	unit := `"C"`
	if i%3 == 0 {
		unit = "null"
	}
	return fmt.Sprintf(`{"sensor_id":"s-%04d","metric":"temperature","value":%d.25,"unit":%s,"ts":null}`, i, 15+i%20, unit)
}

// encodeAll encodes JSON values with c into records for topic, keyed by
// key(i); it fails the test on a value c refuses.
func encodeAll(t *testing.T, c codec.Codec, topic string, values []string, key func(int) string) []*kgo.Record {
	t.Helper()
	out := make([]*kgo.Record, len(values))
	for i, v := range values {
		b, err := c.Encode([]byte(v))
		if err != nil {
			t.Fatalf("encoding %s: %v", v, err)
		}
		out[i] = &kgo.Record{Topic: topic, Key: []byte(key(i)), Value: b}
	}
	return out
}

// sensorRecords are n Avro sensor events for the input, keyed by sensor id,
// and their JSON by key.
func (h *harness) sensorRecords(n int) ([]*kgo.Record, map[string]string) {
	h.t.Helper()
	values := make([]string, n)
	want := map[string]string{}
	for i := range n {
		values[i] = sensorEvent(i)
		want[fmt.Sprintf("s-%04d", i)] = values[i]
	}
	return encodeAll(h.t, h.codecs.For(h.in), h.in, values, func(i int) string { return fmt.Sprintf("s-%04d", i) }), want
}

// values are the records' values.
func values(recs []*kgo.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

// sameJSON fails the test unless got and want are the same JSON value.
func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: not JSON: %q: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: got %s, want %s", what, got, want)
	}
}

// stopClean stops r and checks it stopped without error and with nothing
// left in its window (decoded values are counted in it, and released).
func stopClean(t *testing.T, r *running) Stats {
	t.Helper()
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	st := r.s.Stats()
	if st.InFlightRecords != 0 || st.InFlightBytes != 0 {
		t.Fatalf("after the stop: %d records, %d bytes in flight, want none", st.InFlightRecords, st.InFlightBytes)
	}
	return st
}

// dlqRecord checks a DLQ record: kind schema, the exact error text and the
// input's bytes as stored.
func dlqRecord(t *testing.T, d *kgo.Record, input []byte, wantErr string) {
	t.Helper()
	if header(d, HeaderErrorKind) != KindSchema {
		t.Fatalf("DLQ record %q: kind %q, want %q (error %q)", d.Key, header(d, HeaderErrorKind), KindSchema, header(d, HeaderError))
	}
	if got := header(d, HeaderError); got != wantErr {
		t.Fatalf("DLQ record %q: sluice.error\n got %s\nwant %s", d.Key, got, wantErr)
	}
	if !bytes.Equal(d.Value, input) {
		t.Fatalf("DLQ record %q: value %q, want the input's bytes %q", d.Key, d.Value, input)
	}
}

// TestTypedAvroInAvroOut runs Avro in -> JSON node -> Avro out: every
// record comes out, each output decodes to the value that went in, and
// nothing goes to the DLQ.
func TestTypedAvroInAvroOut(t *testing.T) {
	h := newHarness(t, 3)
	set := h.useCodecs(avroTopic(h.in, sensorSchema), avroTopic(h.out, sensorSchema), avroTopic(h.alerts, alertSchema))
	const n = 300
	recs, want := h.sensorRecords(n)
	h.produce(recs...)
	r := h.start(h.stageConfig())
	h.waitCount(h.out, n, 60*time.Second)
	st := stopClean(t, r)
	if st.Consumed != n || st.Produced != n || st.DLQ != 0 {
		t.Fatalf("stats %+v: want %d consumed and produced, 0 DLQ", st, n)
	}
	if c := h.count(h.dlq); c != 0 {
		t.Fatalf("DLQ holds %d records, want 0: %s", c, header(h.readAll(h.dlq)[0], HeaderError))
	}
	got := h.readAll(h.out)
	if len(got) != n {
		t.Fatalf("output holds %d records, want %d", len(got), n)
	}
	for _, o := range got {
		if !bytes.HasPrefix(o.Value, []byte{0xC3, 0x01}) {
			t.Fatalf("output %s is not Avro single-object: %q", o.Key, o.Value)
		}
		js, err := set.For(h.out).Decode(o.Value)
		if err != nil {
			t.Fatalf("output %s: %v", o.Key, err)
		}
		w, ok := want[string(o.Key)]
		if !ok {
			t.Fatalf("output %s: unexpected or repeated", o.Key)
		}
		delete(want, string(o.Key))
		sameJSON(t, "output "+string(o.Key), js, w)
	}
}

// TestTypedNodeSeesJSON checks what the node gets of an Avro input, in
// both the frame and the files mode: the JSON the codec decodes, which
// a passthrough node writes unchanged to a raw output topic.
func TestTypedNodeSeesJSON(t *testing.T) {
	for _, mode := range []string{"frames", "files"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, 3)
			set := h.useCodecs(avroTopic(h.in, sensorSchema)) // the output topics are raw
			const n = 50
			recs, want := h.sensorRecords(n)
			h.produce(recs...)
			r := h.start(h.stageConfig(func(s *config.Stage) {
				if mode == "files" {
					s.Node.Env["TESTNODE_FILES"] = "1"
				}
			}))
			h.waitCount(h.out, n, 60*time.Second)
			stopClean(t, r)
			stored := map[string][]byte{}
			for _, in := range recs {
				stored[string(in.Key)] = in.Value
			}
			for _, o := range h.readAll(h.out) {
				js, err := set.For(h.in).Decode(stored[string(o.Key)])
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(o.Value, js) {
					t.Fatalf("node saw %q, want the decoded value %q", o.Value, js)
				}
				sameJSON(t, "node's value", o.Value, want[string(o.Key)])
			}
		})
	}
}

// TestTypedUndecodableInputGoesToDLQ sends input records that are not in
// the topic's format — not Avro at all, and Avro of a schema the topic
// does not know — to the DLQ with kind schema and their bytes as stored;
// the node never sees them, the others pass.
func TestTypedUndecodableInputGoesToDLQ(t *testing.T) {
	h := newHarness(t, 1)
	set := h.useCodecs(avroTopic(h.in, sensorSchema), avroTopic(h.out, sensorSchema))
	good := encodeAll(t, set.For(h.in), h.in, []string{sensorEvent(1), sensorEvent(2), sensorEvent(3)},
		func(i int) string { return fmt.Sprintf("good-%d", i) })
	notAvro := &kgo.Record{Topic: h.in, Key: []byte("not-avro"), Value: []byte(`{"sensor_id":"s-1"}`)}
	unknown := &kgo.Record{Topic: h.in, Key: []byte("unknown-schema"),
		Value: append([]byte{0xC3, 0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}, good[0].Value[10:]...)}
	h.produce(good[0], notAvro, good[1], unknown, good[2])

	// Batches of 2: a batch's records are decoded just before batching,
	// and one that fails leaves room for the next.
	r := h.start(h.stageConfig(func(s *config.Stage) { s.Batch.MaxRecords = 2 }))
	h.waitCount(h.out, 3, 60*time.Second)
	h.waitCount(h.dlq, 2, 60*time.Second)
	st := stopClean(t, r)
	if st.Consumed != 5 || st.Produced != 3 || st.DLQ != 2 {
		t.Fatalf("stats %+v: want 5 consumed, 3 produced, 2 DLQ", st)
	}
	if c := h.count(h.out); c != 3 {
		t.Fatalf("output holds %d records, want 3", c)
	}
	dlq := h.readAll(h.dlq)
	if len(dlq) != 2 {
		t.Fatalf("DLQ holds %d records, want 2", len(dlq))
	}
	_, decErr := set.For(h.in).Decode(notAvro.Value)
	dlqRecord(t, dlq[0], notAvro.Value, decErr.Error())
	if !strings.HasPrefix(decErr.Error(), fmt.Sprintf("topic %q: ", h.in)) {
		t.Fatalf("the reason does not name the topic: %s", decErr)
	}
	dlqRecord(t, dlq[1], unknown.Value, fmt.Sprintf("topic %q: written with an unknown schema (fingerprint 0x0807060504030201)", h.in))
	if header(dlq[1], HeaderAttempts) != "0" {
		t.Fatalf("attempts %q, want 0: the node never saw it", header(dlq[1], HeaderAttempts))
	}
}

// TestTypedOutputNotInSchemaGoesToDLQ checks the quality gate on outputs:
// an output that breaks its topic's schema sends its input to the DLQ
// whole, with the output, the topic and the field in sluice.error, and
// nothing of that input reaches an output topic.
func TestTypedOutputNotInSchemaGoesToDLQ(t *testing.T) {
	h := newHarness(t, 1)
	set := h.useCodecs(avroTopic(h.in, sensorSchema), avroTopic(h.out, sensorSchema), avroTopic(h.alerts, alertSchema))
	recs := encodeAll(t, set.For(h.in), h.in, []string{sensorEvent(0), sensorEvent(1), sensorEvent(2), sensorEvent(3), sensorEvent(4), sensorEvent(5)},
		func(i int) string { return fmt.Sprintf("r%d", i) })
	emit := func(r *kgo.Record, key, value string) {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: key, Value: []byte(value)})
	}
	// r1: a wrong type; r3: a fine event but a wrong alert (both outputs
	// must stay unwritten); r4: a field the schema lacks; r5: a fine
	// event and a fine alert.
	emit(recs[1], "testnode.emit", `{"sensor_id":"s-1","metric":"temperature","value":"hot","unit":null,"ts":null}`)
	emit(recs[3], "testnode.emit", sensorEvent(3))
	emit(recs[3], "testnode.alert", `{"sensor_id":"s-3","level":"warn","score":"high"}`)
	emit(recs[4], "testnode.emit", `{"sensor_id":"s-4","metric":"temperature","value":1.5,"unit":null,"ts":null,"fw":"1.2"}`)
	emit(recs[5], "testnode.emit", sensorEvent(5))
	emit(recs[5], "testnode.alert", `{"sensor_id":"s-5","level":"critical","score":0.97}`)
	h.produce(recs...)

	r := h.start(h.stageConfig())
	h.waitCount(h.dlq, 3, 60*time.Second)
	h.waitCount(h.out, 3, 60*time.Second)
	st := stopClean(t, r)
	if st.Consumed != 6 || st.DLQ != 3 || st.Produced != 4 {
		t.Fatalf("stats %+v: want 6 consumed, 3 DLQ, 4 produced", st)
	}
	var outKeys []string
	for _, o := range h.readAll(h.out) {
		outKeys = append(outKeys, string(o.Key))
	}
	slices.Sort(outKeys)
	if strings.Join(outKeys, ",") != "r0,r2,r5" {
		t.Fatalf("output holds %v, want r0, r2, r5", outKeys)
	}
	alerts := h.readAll(h.alerts)
	if len(alerts) != 1 || string(alerts[0].Key) != "r5" {
		t.Fatalf("alerts hold %d records, want r5's alone", len(alerts))
	}
	js, err := set.For(h.alerts).Decode(alerts[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "alert", js, `{"sensor_id":"s-5","level":"critical","score":0.97}`)

	dlq := h.readAll(h.dlq)
	if len(dlq) != 3 {
		t.Fatalf("DLQ holds %d records, want 3", len(dlq))
	}
	dlqRecord(t, dlq[0], recs[1].Value, fmt.Sprintf("output \"default\" to topic %q: field `value`: expected double, got string \"hot\"", h.out))
	dlqRecord(t, dlq[1], recs[3].Value, fmt.Sprintf("output \"alerts\" to topic %q: field `score`: expected double, got string \"high\"", h.alerts))
	dlqRecord(t, dlq[2], recs[4].Value, fmt.Sprintf("output \"default\" to topic %q: field `fw`: not in schema sluice.sensors.SensorEvent", h.out))
}

// TestTypedJSONTopics checks json topics: an input that is not JSON goes
// to the DLQ before the node, an output that is not JSON sends its input
// there, and valid values pass unchanged.
func TestTypedJSONTopics(t *testing.T) {
	h := newHarness(t, 1)
	set := h.useCodecs(jsonTopic(h.in), jsonTopic(h.out))
	rec := func(key, value string) *kgo.Record {
		return &kgo.Record{Topic: h.in, Key: []byte(key), Value: []byte(value)}
	}
	badOut := rec("bad-out", `{"ok":true}`)
	badOut.Headers = []kgo.RecordHeader{{Key: "testnode.emit", Value: []byte(`{"b":`)}}
	recs := []*kgo.Record{rec("a", `{"a": 1}`), rec("bad-in", `{"a": 1`), badOut, rec("b", `[1, 2.5, "x"]`)}
	h.produce(recs...)

	r := h.start(h.stageConfig())
	h.waitCount(h.dlq, 2, 60*time.Second)
	h.waitCount(h.out, 2, 60*time.Second)
	stopClean(t, r)
	out := h.readAll(h.out)
	want := map[string]string{"a": `{"a": 1}`, "b": `[1, 2.5, "x"]`}
	if len(out) != 2 || want[string(out[0].Key)] != string(out[0].Value) || want[string(out[1].Key)] != string(out[1].Value) {
		t.Fatalf("output: %d records %q, want the 2 valid ones unchanged", len(out), values(out))
	}
	_, inErr := set.For(h.in).Decode(recs[1].Value)
	_, outErr := set.For(h.out).Encode([]byte(`{"b":`))
	if inErr == nil || outErr == nil {
		t.Fatal("the json codec accepts invalid JSON")
	}
	dlq := h.readAll(h.dlq)
	if len(dlq) != 2 {
		t.Fatalf("DLQ holds %d records, want 2", len(dlq))
	}
	dlqRecord(t, dlq[0], recs[1].Value, inErr.Error())
	dlqRecord(t, dlq[1], recs[2].Value, fmt.Sprintf("output \"default\" to topic %q: %s", h.out, schemaReason(outErr)))
	if !strings.Contains(header(dlq[1], HeaderError), "not valid JSON") {
		t.Fatalf("sluice.error %q does not say what is wrong", header(dlq[1], HeaderError))
	}
}

// TestTypedRawValues: a node with node.values: raw gets the stored bytes,
// and its outputs, already in wire form, are checked, not encoded again.
func TestTypedRawValues(t *testing.T) {
	h := newHarness(t, 1)
	h.useCodecs(avroTopic(h.in, sensorSchema), avroTopic(h.out, sensorSchema))
	const n = 20
	recs, _ := h.sensorRecords(n)
	bad := &kgo.Record{Topic: h.in, Key: []byte("json-out"), Value: recs[0].Value,
		Headers: []kgo.RecordHeader{{Key: "testnode.emit", Value: []byte(sensorEvent(0))}}}
	h.produce(append(recs, bad)...)

	r := h.start(h.stageConfig(func(s *config.Stage) { s.Node.Values = config.NodeValuesRaw }))
	h.waitCount(h.out, n, 60*time.Second)
	h.waitCount(h.dlq, 1, 60*time.Second)
	stopClean(t, r)
	stored := map[string][]byte{}
	for _, in := range recs {
		stored[string(in.Key)] = in.Value
	}
	out := h.readAll(h.out)
	if len(out) != n {
		t.Fatalf("output holds %d records, want %d", len(out), n)
	}
	for _, o := range out {
		if !bytes.Equal(o.Value, stored[string(o.Key)]) {
			t.Fatalf("output %s: %q, want the stored bytes %q", o.Key, o.Value, stored[string(o.Key)])
		}
	}
	dlq := h.readAll(h.dlq)
	if len(dlq) != 1 || header(dlq[0], HeaderErrorKind) != KindSchema || !bytes.Equal(dlq[0].Value, bad.Value) ||
		!strings.HasPrefix(header(dlq[0], HeaderError), fmt.Sprintf("output \"default\" to topic %q: ", h.out)) {
		t.Fatalf("DLQ: %d records, want the JSON output's input with kind schema", len(dlq))
	}
}

// TestTypedExactlyOnce: an exactly-once stage with Avro topics conserves
// records: every good one once in the output (read_committed), the bad
// input and the bad output's input in the DLQ.
func TestTypedExactlyOnce(t *testing.T) {
	h := newHarness(t, 3)
	set := h.useCodecs(avroTopic(h.in, sensorSchema), avroTopic(h.out, sensorSchema))
	const n = 400
	recs, want := h.sensorRecords(n)
	recs[100].Value = []byte("not avro")
	recs[200].Headers = []kgo.RecordHeader{{Key: "testnode.emit", Value: []byte(`{"sensor_id":"s-0200","metric":"t","value":"hot"}`)}}
	delete(want, "s-0100")
	delete(want, "s-0200")
	h.produce(recs...)

	r := h.start(h.stageConfig(exactlyOnce))
	seen, out := h.readCommittedRecords(h.out, n-2, 90*time.Second)
	dlqSeen, dlq := h.readCommittedRecords(h.dlq, 2, 60*time.Second)
	st := stopClean(t, r)
	if d := duplicates(seen) + duplicates(dlqSeen); d != 0 || len(out) != n-2 || len(dlq) != 2 {
		t.Fatalf("read_committed: %d outputs, %d DLQ records, %d duplicates; want %d, 2, 0", len(out), len(dlq), d, n-2)
	}
	if st.TxnCommitted == 0 {
		t.Fatal("no transaction committed")
	}
	for _, o := range out {
		js, err := set.For(h.out).Decode(o.Value)
		if err != nil {
			t.Fatalf("output %s: %v", o.Key, err)
		}
		sameJSON(t, "output "+string(o.Key), js, want[string(o.Key)])
	}
	for _, d := range dlq {
		if header(d, HeaderErrorKind) != KindSchema {
			t.Fatalf("DLQ record %s: kind %q, want schema", d.Key, header(d, HeaderErrorKind))
		}
	}
}

// TestTypedBounded: a bounded run (sluice replay) decodes and encodes as
// the normal mode does.
func TestTypedBounded(t *testing.T) {
	h := newHarness(t, 1)
	set := h.useCodecs(avroTopic(h.in, sensorSchema), avroTopic(h.out, sensorSchema))
	const n = 30
	recs, want := h.sensorRecords(n)
	recs[7].Value = []byte("not avro")
	delete(want, "s-0007")
	h.produce(recs...)

	s, err := New(Options{Stage: h.stageConfig(), Pipeline: "test", Brokers: h.addrs, Logger: h.log, Codecs: set,
		Bounded: &Bounds{Start: map[int32]int64{0: 0}, Stop: map[int32]int64{0: n}, Tag: "replay-typed"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	out := h.readAll(h.out)
	if len(out) != n-1 {
		t.Fatalf("output holds %d records, want %d", len(out), n-1)
	}
	for _, o := range out {
		js, err := set.For(h.out).Decode(o.Value)
		if err != nil {
			t.Fatalf("output %s: %v", o.Key, err)
		}
		sameJSON(t, "output "+string(o.Key), js, want[string(o.Key)])
	}
	dlq := h.readAll(h.dlq)
	if len(dlq) != 1 || header(dlq[0], HeaderErrorKind) != KindSchema || string(dlq[0].Value) != "not avro" || header(dlq[0], HeaderReplay) != "replay-typed" {
		t.Fatalf("DLQ: %d records, want the bad input with kind schema and the replay tag", len(dlq))
	}
}

// TestTypedCodecFailureStopsTheStage: a codec that fails for a reason
// that is not the value's — a Schema Registry that cannot be reached
// about an input's schema id, an output codec never prepared — stops the
// stage with ErrCodec instead of sending good records to the DLQ; the
// record is neither produced nor committed.
func TestTypedCodecFailureStopsTheStage(t *testing.T) {
	for _, side := range []string{"input", "output"} {
		t.Run(side, func(t *testing.T) {
			h := newHarness(t, 1)
			confluent := avroTopic(h.in, sensorSchema)
			confluent.Wire = config.WireConfluent
			if side == "output" {
				confluent.Name = h.out
			}
			set, err := codec.Load(&config.Pipeline{Name: "test", Topics: []config.Topic{confluent},
				SchemaRegistry: &config.SchemaRegistry{URLs: []string{"http://127.0.0.1:1"}, Line: 1}})
			if err != nil {
				t.Fatal(err)
			}
			h.codecs = set
			value := []byte(sensorEvent(1)) // the input is raw JSON
			if side == "input" {
				value = append([]byte{0, 0, 0, 0, 42}, 0x02, 'x') // Confluent wire, schema id 42
			}
			h.produce(&kgo.Record{Topic: h.in, Key: []byte("k"), Value: value})
			r := h.start(h.stageConfig())
			var runErr error
			select {
			case runErr = <-r.done:
				r.done <- runErr
			case <-time.After(60 * time.Second):
				t.Fatal("the stage did not stop by itself")
			}
			want := fmt.Sprintf("stage \"s\": record %s/0@0: ", h.in)
			if !errors.Is(runErr, ErrCodec) || !strings.Contains(runErr.Error(), want) {
				t.Fatalf("Run: %v, want ErrCodec naming %s", runErr, want)
			}
			t.Log(runErr)
			if o, d := h.count(h.out), h.count(h.dlq); o != 0 || d != 0 {
				t.Fatalf("%d outputs and %d DLQ records, want none", o, d)
			}
			if c := h.committed(h.group); c[0] > 0 {
				t.Fatalf("committed offset %d, want nothing committed", c[0])
			}
		})
	}
}
