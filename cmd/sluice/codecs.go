package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream/codec"
)

// loadCodecs builds the codecs of p's topics (nil p: none, every topic
// raw). Schema files that cannot be read or parsed and schema versions
// that break their topic's compatibility rule come back as
// config.Problems, so the command exits 2 like for any other mistake in
// the file.
func loadCodecs(p *config.Pipeline) (*codec.Set, error) {
	if p == nil {
		return nil, nil
	}
	return codec.Load(p)
}

// prepareCodecs does what the codecs of topics need from the network
// before use (a Confluent-wire topic registers its schemas with the
// registry); nothing for the others.
func prepareCodecs(ctx context.Context, codecs *codec.Set, topics ...string) error {
	if codecs == nil {
		return nil
	}
	if err := codecs.Prepare(ctx, topics...); err != nil {
		return fmt.Errorf("preparing the topics' schemas: %w", err)
	}
	return nil
}

// stageTopics lists the topics stages read and write, once each.
func stageTopics(stages []config.Stage) []string {
	var ts []string
	for _, st := range stages {
		ts = append(ts, st.Input, st.DLQ)
		for _, o := range st.Outputs {
			ts = append(ts, o)
		}
	}
	slices.Sort(ts)
	return slices.Compact(ts)
}

// typed reports whether c converts values (json or avro), as opposed to
// passing raw bytes through.
func typed(c codec.Codec) bool { return c.Format() != config.FormatRaw }
