package main

import (
	"fmt"
	"testing"

	sluice "github.com/sluicehq/sluice/adapters/go"
)

// typicalEvent is what a sensor of the demo sends: a temperature in °F with
// an RFC 3339 timestamp and two extra fields.
const typicalEvent = `{"sensor_id": "Alpha", "metric": "temperature", "value": 75.2, "unit": "F", "ts": "2024-05-01T12:00:00.123Z", "site": "plant-1", "fw": "2.3.1"}`

// genEvents returns n realistic events cycling through sensors, metrics,
// units and timestamp forms, every one valid: the test-only replacement for
// a data generator.
func genEvents(n int) [][]byte {
	sensors := []string{"alpha", "Beta", " gamma ", "delta"}
	out := make([][]byte, n)
	base := int64(1714564800)
	for i := range out {
		s := sensors[i%len(sensors)]
		sec := base + int64(i)
		var body string
		switch i % 5 {
		case 0:
			body = fmt.Sprintf(`"metric":"temperature","value":%.1f,"unit":"C","ts":"2024-05-01T12:%02d:%02dZ"`, 18+float64(i%70)/10, i/60%60, i%60)
		case 1:
			body = fmt.Sprintf(`"metric":"temperature","value":%.1f,"unit":"°F","ts":%d`, 64+float64(i%90)/10, sec)
		case 2:
			body = fmt.Sprintf(`"metric":"humidity","value":%.1f,"unit":"%%","ts":%d`, 30+float64(i%400)/10, sec*1000+int64(i%1000))
		case 3:
			body = fmt.Sprintf(`"metric":"pressure","value":%.1f,"unit":"hPa","ts":"2024-05-01 12:%02d:%02d"`, 1000+float64(i%300)/10, i/60%60, i%60)
		case 4:
			body = fmt.Sprintf(`"metric":"temperature","value":%.2f,"unit":"K","ts":"2024-05-01T14:%02d:%02d+02:00"`, 290+float64(i%1000)/100, i/60%60, i%60)
		}
		out[i] = fmt.Appendf(nil, `{"sensor_id":%q,%s,"site":"plant-%d"}`, s, body, 1+i%3)
	}
	return out
}

func TestGeneratedEventsAreValid(t *testing.T) {
	for i, e := range genEvents(500) {
		outs, err := process(sluice.Record{Value: e, Timestamp: recordTS})
		if err != nil {
			t.Fatalf("event %d %s: %v", i, e, err)
		}
		checkOutput(t, outs[0])
	}
}

func BenchmarkProcess(b *testing.B) {
	rec := sluice.Record{Topic: "events.parsed", Timestamp: recordTS, Value: []byte(typicalEvent),
		Headers: []sluice.Header{{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")}}}
	b.SetBytes(int64(len(rec.Value)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := process(rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkProcessMix(b *testing.B) {
	events := genEvents(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := process(sluice.Record{Value: events[i%len(events)], Timestamp: recordTS}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkProcessInvalid(b *testing.B) {
	rec := sluice.Record{Value: []byte(`{"sensor_id": "beta", "metric": "temperature", "value": "24.5", "unit": "C"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := process(rec); err == nil {
			b.Fatal("no error")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
