package codec

// The codec of a json topic: one JSON value per record, checked to be
// well-formed and passed on unchanged (nodes see JSON already).

import (
	"encoding/json"

	"github.com/sluicehq/sluice/config"
)

type jsonCodec struct{ topic string }

func (c jsonCodec) Topic() string  { return c.topic }
func (c jsonCodec) Format() string { return config.FormatJSON }

// Decode returns value itself (not a copy) when it is valid JSON.
func (c jsonCodec) Decode(value []byte) ([]byte, error) {
	if err := c.Check(value); err != nil {
		return nil, err
	}
	return value, nil
}

// Encode returns jsonValue itself (not a copy) when it is valid JSON.
func (c jsonCodec) Encode(jsonValue []byte) ([]byte, error) { return c.Decode(jsonValue) }

// Check refuses a value that is not exactly one well-formed JSON value.
func (c jsonCodec) Check(value []byte) error {
	if json.Valid(value) {
		return nil
	}
	// json.Valid says only no; Unmarshal says why (rare path).
	return &Error{Topic: c.topic, Reason: "not valid JSON: " + jsonSyntaxReason(value)}
}
