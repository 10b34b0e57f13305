// Command sluice runs Sluice pipelines: stages that read a Kafka topic, hand
// records to a node co-process in any language, and produce its results.
// See `sluice --help` and README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sluice",
		Short: "Kafka-native pipelines of nodes in any language",
		Long: `Sluice runs pipelines of stages joined by Kafka topics. Each stage is a
consumer group that reads one topic, hands records to its node (a program in
any language, kept running as a co-process) and produces the node's results to
the next topics, committing an input offset only once its outputs are written.

Quick start, with no Kafka installed (an embedded broker starts by itself):
  sluice up --config config/examples/filter.yaml
  sluice produce events.parsed --file testdata/events/sample.jsonl
  sluice tail events.clean -n 10

Brokers are taken from --brokers, else $SLUICE_BROKERS, else the pipeline
file's kafka.brokers, else 127.0.0.1:9092.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newUpCmd(),
		newRunCmd(),
		newBrokerCmd(),
		newProduceCmd(),
		newTailCmd(),
		newValidateCmd(),
		newTopicsCmd(),
		newBenchCmd(),
		newGenCmd(),
		newLagCmd(), newTraceCmd(), newGraphCmd(),
		newReplayCmd(), newOffsetsCmd(),
	)
	return root
}

// usageError marks mistakes in how the command was called (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	err := root.ExecuteContext(ctx)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "sluice: "+err.Error())
	var ue usageError
	var probs config.Problems
	if errors.As(err, &ue) || errors.As(err, &probs) {
		os.Exit(2)
	}
	os.Exit(1)
}
