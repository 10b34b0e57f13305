package codec

import (
	"testing"

	"github.com/sluicehq/sluice/config"
)

// Codec costs per record for the sensor event
// (testdata/schemas/sensor_event.avsc), JSON vs Avro:
//
//   - JSON encode / decode: the json codec's Encode and Decode (a validity
//     check; the bytes pass unchanged);
//   - Avro encode: a node's JSON output -> Avro single-object binary;
//   - Avro decode: Avro binary -> the JSON a node sees.
//
// go test -run=NONE -bench=SensorEvent -benchmem ./stream/codec

func benchCodec(b *testing.B, c Codec, f func(Codec, []byte) ([]byte, error), in []byte) {
	b.Helper()
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := f(c, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func encodeWith(c Codec, v []byte) ([]byte, error) { return c.Encode(v) }
func decodeWith(c Codec, v []byte) ([]byte, error) { return c.Decode(v) }

func jsonSensorCodec(b *testing.B) Codec {
	return loadTopics(b, config.Topic{Name: "events.json", Format: config.FormatJSON}).For("events.json")
}

func BenchmarkSensorEventJSONEncode(b *testing.B) {
	benchCodec(b, jsonSensorCodec(b), encodeWith, []byte(sensorJSON))
}

func BenchmarkSensorEventJSONDecode(b *testing.B) {
	benchCodec(b, jsonSensorCodec(b), decodeWith, []byte(sensorJSON))
}

func BenchmarkSensorEventAvroEncode(b *testing.B) {
	benchCodec(b, avroCodecOf(b, sensorSchema), encodeWith, []byte(sensorJSON))
}

func BenchmarkSensorEventAvroDecode(b *testing.B) {
	c := avroCodecOf(b, sensorSchema)
	benchCodec(b, c, decodeWith, mustEncode(b, c, sensorJSON))
}

// A value written with an older version, resolved to the newest (fields
// dropped, added with defaults, reordered, promoted).
func BenchmarkAvroDecodeResolved(b *testing.B) {
	v1 := avroCodecOf(b, "testdata/core/reading.v1.avsc")
	c := avroCodecOf(b, "testdata/core/reading.v1.avsc", "testdata/core/reading.v2.avsc")
	benchCodec(b, c, decodeWith, mustEncode(b, v1, `{"sensor":"s-1","count":7,"value":0.5,"legacy":"x","kind":"B"}`))
}

// Check of a value a node wrote in wire form (node.values: raw).
func BenchmarkSensorEventAvroCheck(b *testing.B) {
	c := avroCodecOf(b, sensorSchema)
	in := mustEncode(b, c, sensorJSON)
	benchCodec(b, c, func(c Codec, v []byte) ([]byte, error) { return nil, c.Check(v) }, in)
}
