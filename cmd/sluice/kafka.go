package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream"
)

// addBrokersFlag registers --brokers on a command.
func addBrokersFlag(c *cobra.Command, dst *string) {
	c.Flags().StringVar(dst, "brokers", "", "comma-separated Kafka bootstrap brokers (default $SLUICE_BROKERS, else the pipeline file, else "+config.DefaultBrokers+")")
}

// addConfigFlag registers --config on a command.
func addConfigFlag(c *cobra.Command, dst *string, required bool) {
	help := "pipeline file (YAML)"
	if !required {
		help += "; optional, used for its kafka section (brokers, TLS, SASL)"
	}
	c.Flags().StringVarP(dst, "config", "c", "", help)
}

// loadPipeline loads the pipeline file when path is set (nil otherwise).
func loadPipeline(path string) (*config.Pipeline, error) {
	if path == "" {
		return nil, nil
	}
	return config.Load(path)
}

// newClient makes a franz-go client for the brokers and checks within a few
// seconds that a broker answers, so a wrong address is one clear line
// instead of a command that hangs. It speaks neither TLS nor SASL; see
// pipelineClient.
func newClient(ctx context.Context, brokers []string, opts ...kgo.Opt) (*kgo.Client, error) {
	return newSecureClient(ctx, brokers, nil, opts...)
}

// newSecureClient is newClient with the TLS and SASL of sec (nil: none);
// their failures are worded by sec.Explain.
func newSecureClient(ctx context.Context, brokers []string, sec *stream.KafkaSecurity, opts ...kgo.Opt) (*kgo.Client, error) {
	all := append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID("sluice")}, opts...)
	all = append(all, sec.Opts()...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := sec.Explain(brokers, err); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("cannot reach Kafka at %s: %v (start one with `sluice broker` or `sluice up`, or pass --brokers)", strings.Join(brokers, ","), err)
	}
	return cl, nil
}

// listOffsetsErr is the error of listing topic's offsets: the context's
// error when it ended, so Ctrl-C stays a clean exit.
func listOffsetsErr(ctx context.Context, topic string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("list offsets of %q: %w", topic, err)
}

// listed folds the per-partition errors of a kadm offsets listing into its
// error, worded by listOffsetsErr: call it as listed(ctx, topic)(adm.ListEndOffsets(ctx, topic)).
func listed(ctx context.Context, topic string) func(kadm.ListedOffsets, error) (kadm.ListedOffsets, error) {
	return func(los kadm.ListedOffsets, err error) (kadm.ListedOffsets, error) {
		if err == nil {
			err = los.Error()
		}
		if err != nil {
			return nil, listOffsetsErr(ctx, topic, err)
		}
		return los, nil
	}
}
