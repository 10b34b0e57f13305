package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream/embedded"
)

func newBrokerCmd() *cobra.Command {
	var addr, dataDir, cfgPath string
	var memory bool
	c := &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded Kafka-protocol broker alone",
		Long: `Run the embedded broker (franz-go's kfake, which speaks the Kafka protocol)
until interrupted. It keeps its data in --data-dir, so a restart resumes with
the same topics, records and committed offsets. With --config, the pipeline's
topics are created at start.

It is for development and tests: one node, no replication, no security. Use
Apache Kafka for anything else (see docker-compose.kafka.yml).`,
		Example: `  sluice broker
  sluice broker --addr 127.0.0.1:19092 --config config/examples/filter.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPipeline(cfgPath)
			if err != nil {
				return err
			}
			dir := dataDir
			if memory {
				dir = ""
			}
			b, err := embedded.Start(addr, dir)
			if err != nil {
				return err
			}
			defer b.Close()
			if p != nil {
				var logs logFlags
				logs.level, logs.format = "info", "auto"
				log, err := logs.logger(cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				if err := createPipelineTopics(cmd.Context(), []string{b.Addr}, p, log); err != nil {
					return err
				}
			}
			where := "in memory"
			if dir != "" {
				where = "data in " + dir
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "sluice: embedded broker listening on %s (%s); Ctrl-C to stop\n", b.Addr, where)
			<-cmd.Context().Done()
			fmt.Fprintln(cmd.ErrOrStderr(), "sluice: broker stopped")
			return nil
		},
	}
	c.Flags().StringVar(&addr, "addr", config.DefaultBrokers, "address to listen on")
	c.Flags().StringVar(&dataDir, "data-dir", ".sluice/broker", "where to keep topics, records and offsets")
	c.Flags().BoolVar(&memory, "memory", false, "keep nothing on disk")
	addConfigFlag(c, &cfgPath, false)
	return c
}
