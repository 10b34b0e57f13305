package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream/embedded"
)

func newUpCmd() *cobra.Command {
	var (
		cfgPath, brokersFlag, dataDir, embeddedAddr string
		metricsAddr                                 string
		logs                                        logFlags
	)
	c := &cobra.Command{
		Use:   "up --config FILE",
		Short: "Run every stage of a pipeline in this process (starts a broker if none is configured)",
		Long: `Run every stage of the pipeline file in one process, for local development
and demos. Topics of the file are created if missing.

When no brokers are configured anywhere (no --brokers, no $SLUICE_BROKERS, no
kafka.brokers in the file), up starts an embedded Kafka-protocol broker on
127.0.0.1:9092 that keeps its data in --data-dir, so stopping and starting up
again resumes where it left off; every other sluice command (produce, tail,
run) reaches it at the default address. If something already answers on
that port, up uses it instead.

Metrics (Prometheus), /healthz, /readyz and a web view are served on
--metrics-addr (default 127.0.0.1:9464; see docs/metrics.md).

Ctrl-C stops softly: in-flight records are finished and committed first.`,
		Example: `  sluice up --config config/examples/filter.yaml
  sluice up --config pipeline.yaml --brokers localhost:9092`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				return usageError{errors.New("up needs --config FILE (see 'sluice up --help')")}
			}
			p, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			codecs, err := loadCodecs(p) // schema mistakes before any broker starts
			if err != nil {
				return err
			}
			log, err := logs.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer log.Sync()
			ctx := cmd.Context()
			brokers, source := config.ResolveBrokers(brokersFlag, p)
			where := fmt.Sprintf("%s (from %s)", strings.Join(brokers, ","), source)
			if source == config.BrokersFromDefault {
				if p.Kafka.TLS != nil || p.Kafka.SASL != nil {
					return errEmbeddedInsecure
				}
				brokers = []string{embeddedAddr}
				b, err := embedded.Start(embeddedAddr, filepath.Join(dataDir, "broker"))
				switch {
				case errors.Is(err, embedded.ErrAddrInUse):
					where = embeddedAddr + " (a broker already listening there)"
				case err != nil:
					return err
				default:
					defer b.Close()
					where = fmt.Sprintf("%s (embedded broker, data in %s)", b.Addr, b.DataDir)
				}
			}
			if err := createPipelineTopics(ctx, brokers, p, log); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "sluice: pipeline %s up: %s on %s; Ctrl-C to stop\n",
				p.Name, plural(len(p.Stages), "stage"), where)
			err = runStagesCodecs(ctx, p, codecs, p.Stages, brokers, log, metricsOptions(cmd, metricsAddr))
			if err == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "sluice: pipeline %s stopped\n", p.Name)
			}
			return err
		},
	}
	addConfigFlag(c, &cfgPath, true)
	addBrokersFlag(c, &brokersFlag)
	c.Flags().StringVar(&dataDir, "data-dir", ".sluice", "where the embedded broker keeps its data (in DIR/broker)")
	c.Flags().StringVar(&embeddedAddr, "embedded-addr", config.DefaultBrokers, "where the embedded broker listens when no brokers are configured")
	addMetricsAddrFlag(c, &metricsAddr)
	logs.add(c)
	return c
}

// createPipelineTopics creates the file's missing topics and logs each.
func createPipelineTopics(ctx context.Context, brokers []string, p *config.Pipeline, log *zap.Logger) error {
	cl, err := pipelineClient(ctx, brokers, p)
	if err != nil {
		return err
	}
	defer cl.Close()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sts, err := ensureTopics(tctx, kadm.NewClient(cl), p.Topics)
	if err != nil {
		return fmt.Errorf("creating the pipeline's topics: %w", err)
	}
	for _, st := range sts {
		if st.Fewer() {
			log.Warn(st.String())
		} else {
			log.Info(st.String())
		}
	}
	return nil
}
