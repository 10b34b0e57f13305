package codec

import "github.com/sluicehq/sluice/config"

// rawCodec is the codec of a raw topic (and of any topic the pipeline does
// not declare): bytes as they are, nothing checked.
type rawCodec struct{ topic string }

func (c rawCodec) Topic() string                   { return c.topic }
func (c rawCodec) Format() string                  { return config.FormatRaw }
func (c rawCodec) Decode(v []byte) ([]byte, error) { return v, nil }
func (c rawCodec) Encode(v []byte) ([]byte, error) { return v, nil }
func (c rawCodec) Check(v []byte) error            { return nil }
