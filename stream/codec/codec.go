package codec

import (
	"context"
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/config"
)

// Codec converts the values of one topic. A Codec is safe for concurrent
// use.
type Codec interface {
	// Topic is the topic the codec belongs to.
	Topic() string
	// Format is the topic's format (config.FormatRaw, FormatJSON, FormatAvro).
	Format() string
	// Decode turns a value as stored in the topic into the JSON a node
	// sees; raw returns it unchanged. A value that is not in the topic's
	// format gives an *Error.
	Decode(value []byte) ([]byte, error)
	// Encode turns a node's JSON output into the topic's wire form; raw
	// returns it unchanged. A value that does not match the topic's schema
	// gives an *Error naming the field.
	Encode(jsonValue []byte) ([]byte, error)
	// Check reports whether a value already in wire form (a node that
	// asked for raw values wrote it) is a valid value of the topic: nil,
	// or an *Error.
	Check(value []byte) error
}

// Error is a value that does not fit its topic's format or schema.
type Error struct {
	Topic string
	// Field is the path of the offending field: "value",
	// "location.lat", "tags[2]"; "" when the value as a whole is wrong.
	Field string
	// Reason says what is wrong: `expected double, got string "hot"`.
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("topic %s: %s", strconv.Quote(e.Topic), e.Reason)
	}
	return fmt.Sprintf("topic %s: field `%s`: %s", strconv.Quote(e.Topic), e.Field, e.Reason)
}

// Set holds the codecs of a pipeline's topics.
type Set struct {
	byTopic map[string]Codec
	reg     *registry // nil: no schema registry configured
}

// Load builds the codec of every topic of p: it reads and parses the
// schema files and checks each topic's versions keep its compatibility
// rule. What is wrong comes back as config.Problems (file, line, field and
// the reason). It does not touch the network: a Confluent-wire topic
// needs Prepare before use.
func Load(p *config.Pipeline) (*Set, error) {
	return load(p)
}

// For is the codec of topic; a topic the pipeline does not declare is raw.
func (s *Set) For(topic string) Codec {
	if s != nil {
		if c, ok := s.byTopic[topic]; ok {
			return c
		}
	}
	return rawCodec{topic: topic}
}

// Prepare does what the codecs of topics need from the network before
// use: for each Confluent-wire topic, registers its schema versions under
// its subject (the registry checks its own compatibility rule) and learns
// their ids. Topics without such needs cost nothing.
func (s *Set) Prepare(ctx context.Context, topics ...string) error {
	return s.prepare(ctx, topics)
}
