package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream"
)

// kafkaSecurity is the TLS and SASL of the pipeline file's kafka section:
// nil (no security) for a nil p or a file with neither.
func kafkaSecurity(p *config.Pipeline) (*stream.KafkaSecurity, error) {
	if p == nil {
		return nil, nil
	}
	return stream.NewKafkaSecurity(p.Kafka)
}

// securityOpts are the franz-go options of p's TLS and SASL, for the
// clients a command builds itself rather than through connect.
func securityOpts(p *config.Pipeline) ([]kgo.Opt, error) {
	sec, err := kafkaSecurity(p)
	return sec.Opts(), err
}

// pipelineClient is newClient with the TLS and SASL of p (which may be
// nil): a TLS or SASL failure is one line saying what the broker refused.
func pipelineClient(ctx context.Context, brokers []string, p *config.Pipeline, opts ...kgo.Opt) (*kgo.Client, error) {
	sec, err := kafkaSecurity(p)
	if err != nil {
		return nil, err
	}
	return newSecureClient(ctx, brokers, sec, opts...)
}

// explainStage rewords a stage's TLS or SASL failure as one line (its
// preflight would say "cannot reach Kafka"); other errors pass unchanged.
func explainStage(sec *stream.KafkaSecurity, name string, brokers []string, err error) error {
	if e := sec.Explain(brokers, err); e != nil {
		return fmt.Errorf("stage %q: %w", name, e)
	}
	return err
}

// errEmbeddedInsecure is sluice up's answer to a file that asks for TLS
// or SASL but names no broker: the embedded broker speaks neither.
var errEmbeddedInsecure = errors.New("kafka.tls or kafka.sasl is set but no brokers are configured, and the embedded broker speaks neither: give --brokers, $SLUICE_BROKERS or kafka.brokers (or switch them off for local runs, e.g. tls: ${KAFKA_TLS:-false})")
