package main

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/stream"
	"github.com/sluicehq/sluice/stream/codec"
)

// tailDecoder turns record values into the JSON their topic's codec
// decodes them to (tail and trace --config): Avro becomes JSON, JSON
// stays JSON, raw stays as it is.
type tailDecoder struct {
	codecs *codec.Set
	// failed counts the records whose value did not decode.
	failed int
}

// decode replaces r.Value with its decoded form. A value that does not
// decode is left as it is and the codec's error returned, for tail to
// show next to the record: one bad record must not stop a tail.
//
// A DLQ record (a raw topic; the sluice.error header) keeps the bytes the
// failed input had in its own topic, named by sluice.source.topic: it is
// decoded with that topic's codec when it can be, and otherwise shown as
// it is, without an error (the record's sluice.error already says what
// is wrong with it).
func (d *tailDecoder) decode(r *kgo.Record) error {
	if d == nil || r.Value == nil {
		return nil
	}
	c := d.codecs.For(r.Topic)
	if !typed(c) {
		src, ok := header(r.Headers, stream.HeaderSourceTopic)
		if _, failed := header(r.Headers, stream.HeaderError); !ok || !failed || src == r.Topic {
			return nil
		}
		if sc := d.codecs.For(src); typed(sc) {
			if v, err := sc.Decode(r.Value); err == nil {
				r.Value = v
			}
		}
		return nil
	}
	v, err := c.Decode(r.Value)
	if err != nil {
		d.failed++
		return err
	}
	r.Value = v
	return nil
}

// header returns the value of the last header named key.
func header(hs []kgo.RecordHeader, key string) (string, bool) {
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].Key == key {
			return string(hs[i].Value), true
		}
	}
	return "", false
}
