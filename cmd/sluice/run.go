package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/config"
)

func newRunCmd() *cobra.Command {
	var (
		cfgPath, brokersFlag, stage string
		metricsAddr, instanceID     string
		cpuProfile                  string
		logs                        logFlags
	)
	c := &cobra.Command{
		Use:   "run --config FILE --stage NAME",
		Short: "Run one stage: the unit of deployment",
		Long: `Run one stage of the pipeline file until interrupted. This is how stages are
deployed: one process (container, pod, unit) per stage, scaled by starting more
processes of the same stage — the consumer group shares the input partitions
among them, so replicas beyond the partition count stay idle.

Topics must exist (see 'sluice topics create'). Ctrl-C or SIGTERM stops softly:
in-flight records are finished and committed, bounded by timeouts.shutdown.

A stage with "delivery: exactly-once" commits its outputs and input offsets in
Kafka transactions; give each instance a stable --instance-id where the
platform offers one.

Metrics (Prometheus), /healthz and /readyz (for liveness and readiness
probes) and a web view are served on --metrics-addr (default
127.0.0.1:9464; 0.0.0.0:9464 in a container; see docs/metrics.md).`,
		Example: `  sluice run --config config/examples/filter.yaml --stage filter
  SLUICE_BROKERS=kafka-0:9092,kafka-1:9092 sluice run -c pipeline.yaml --stage classify`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" || stage == "" {
				return usageError{errors.New("run needs --config FILE and --stage NAME (see 'sluice run --help')")}
			}
			p, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			st, err := p.Stage(stage)
			if err != nil {
				return usageError{err}
			}
			codecs, err := loadCodecs(p)
			if err != nil {
				return err
			}
			log, err := logs.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer log.Sync()
			brokers, source := config.ResolveBrokers(brokersFlag, p)
			fmt.Fprintf(cmd.ErrOrStderr(), "sluice: running stage %s of %s on %s (from %s); Ctrl-C to stop\n",
				st.Name, p.Name, strings.Join(brokers, ","), source)
			opts := metricsOptions(cmd, metricsAddr)
			opts.InstanceID = instanceID
			stopProfile, err := startCPUProfile(cpuProfile)
			if err != nil {
				return err
			}
			defer stopProfile()
			return runStagesCodecs(cmd.Context(), p, codecs, []config.Stage{*st}, brokers, log, opts)
		},
	}
	addConfigFlag(c, &cfgPath, true)
	addBrokersFlag(c, &brokersFlag)
	c.Flags().StringVar(&stage, "stage", "", "the stage to run (a key under stages: in the file)")
	addMetricsAddrFlag(c, &metricsAddr)
	c.Flags().StringVar(&instanceID, "instance-id", "", "exactly-once stages: a stable name for this instance (e.g. the pod name of a StatefulSet); a restarted instance with the same id aborts its predecessor's open transaction at once instead of after transaction.timeout. Never give two running instances the same id. Default: random per start")
	logs.add(c)
	addCPUProfileFlag(c, &cpuProfile)
	return c
}
