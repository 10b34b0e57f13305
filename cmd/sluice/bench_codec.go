package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream"
	"github.com/sluicehq/sluice/stream/codec"
)

// benchFormatName names a --codec format in the table.
var benchFormatName = map[string]string{config.FormatJSON: "JSON", config.FormatAvro: "Avro"}

// parseBenchCodecs reads --codec: a comma-separated list of json and avro.
func parseBenchCodecs(list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	var out []string
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if _, ok := benchFormatName[f]; !ok {
			return nil, usageError{fmt.Errorf("--codec: unknown format %q (want avro, json, or json,avro)", f)}
		}
		out = append(out, f)
	}
	return out, nil
}

// benchEvents are the sensor events of a --codec run, as JSON and as the
// Avro the codec writes them.
type benchEvents struct {
	json, avro [][]byte
}

// benchEventKinds is the number of distinct events: one per key, as
// fillTopic keys records over 1000 sensors.
const benchEventKinds = 1000

// newBenchEvents makes the events and encodes them with the Avro schema
// at schemaPath (relative to the working directory).
func newBenchEvents(schemaPath string) (*benchEvents, error) {
	if _, err := os.Stat(schemaPath); err != nil {
		return nil, fmt.Errorf("--schema: %w (run sluice bench from the repository root, or give --schema)", err)
	}
	c, err := benchCodec(config.FormatAvro, schemaPath, "bench.events")
	if err != nil {
		return nil, err
	}
	metrics := []struct {
		name, unit string
		lo         float64
	}{{"temperature", "C", 18}, {"humidity", "%", 35}, {"pressure", "hPa", 995}}
	ev := &benchEvents{}
	for i := range benchEventKinds {
		m := metrics[i%len(metrics)]
		j := fmt.Appendf(nil, `{"sensor_id":"sensor-%03d","metric":%q,"value":%.1f,"unit":%q,"ts":"2024-05-01T12:%02d:%02dZ"}`,
			i, m.name, m.lo+float64(i%97)/10, m.unit, i/60%60, i%60)
		a, err := c.Encode(j)
		if err != nil {
			return nil, fmt.Errorf("bench event does not fit %s: %w", schemaPath, err)
		}
		ev.json = append(ev.json, j)
		ev.avro = append(ev.avro, a)
	}
	return ev, nil
}

// meanSize is the mean length of vals.
func (*benchEvents) meanSize(vals [][]byte) float64 {
	total := 0
	for _, v := range vals {
		total += len(v)
	}
	return float64(total) / float64(len(vals))
}

// benchCodec is the codec of one topic of format (json or avro, with the
// schema at schemaPath).
func benchCodec(format, schemaPath, topic string) (codec.Codec, error) {
	set, err := benchCodecs(format, schemaPath, topic)
	if err != nil {
		return nil, err
	}
	return set.For(topic), nil
}

// benchCodecs builds the codecs of topics, all of format, through the
// same codec.Load a pipeline file goes through.
func benchCodecs(format, schemaPath string, topics ...string) (*codec.Set, error) {
	p := &config.Pipeline{Name: "bench"}
	for _, t := range topics {
		tp := config.Topic{Name: t, Partitions: 1, Replication: -1, Configs: map[string]string{},
			Format: format, Compatibility: config.CompatBackward, Wire: config.WireSingleObject}
		if format == config.FormatAvro {
			tp.Schemas = []config.SchemaFile{{Path: schemaPath}}
		}
		p.Topics = append(p.Topics, tp)
	}
	set, err := codec.Load(p)
	if err != nil {
		return nil, fmt.Errorf("bench codecs: %w", err)
	}
	return set, nil
}

// fillEvents produces n records, the events in turn, keyed like fillTopic.
func fillEvents(ctx context.Context, cl *kgo.Client, topic string, n int, events [][]byte) error {
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		k := i % len(events)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "sensor-%03d", k), Value: events[k]}, func(_ *kgo.Record, err error) {
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return fmt.Errorf("filling %s: %w", topic, err)
	}
	return nil
}

// benchDLQEmpty returns an error with the reason of the first DLQ record
// once the DLQ topic has one.
func benchDLQEmpty(ctx context.Context, adm *kadm.Client, brokers []string, dlq string) error {
	ends, err := adm.ListEndOffsets(ctx, dlq)
	if err != nil {
		return nil // asked again on the next round
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(dlq), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return fmt.Errorf("records went to the DLQ %s", dlq)
	}
	defer cl.Close()
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, r := range cl.PollRecords(fctx, 1).Records() {
		why, _ := header(r.Headers, stream.HeaderError)
		return fmt.Errorf("records went to the DLQ %s, the first because: %s", dlq, why)
	}
	return fmt.Errorf("records went to the DLQ %s", dlq)
}
