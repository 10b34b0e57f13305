package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream"
	"github.com/sluicehq/sluice/stream/codec"
)

// runStages runs the given stages of p until ctx is cancelled (then each
// drains and commits) or one of them fails (then the others are stopped the
// same way and the first error is returned).
func runStages(ctx context.Context, p *config.Pipeline, stages []config.Stage, brokers []string, log *zap.Logger) error {
	return runStagesWith(ctx, p, stages, brokers, log, runOptions{})
}

// runStagesWith is runStages that also serves metrics, health, readiness
// and the web view on opts.MetricsAddr: it creates the stages, starts the
// HTTP server over them, then runs them; the server stops after them.
func runStagesWith(ctx context.Context, p *config.Pipeline, stages []config.Stage, brokers []string, log *zap.Logger, opts runOptions) error {
	codecs, err := loadCodecs(p)
	if err != nil {
		return err
	}
	return runStagesCodecs(ctx, p, codecs, stages, brokers, log, opts)
}

// runStagesCodecs is runStagesWith with the codecs of p's topics already
// built (codec.Load), so that commands can refuse a bad schema before
// they start a broker or create topics. It prepares the codecs of the
// stages' topics (registering Confluent-wire schemas) before starting.
func runStagesCodecs(ctx context.Context, p *config.Pipeline, codecs *codec.Set, stages []config.Stage, brokers []string, log *zap.Logger, opts runOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var reg *prometheus.Registry
	var ln net.Listener
	if opts.MetricsAddr != "" {
		var err error
		ln, err = listenObserver(opts.MetricsAddr)
		switch {
		case err != nil && opts.MetricsAddrDefault && errors.Is(err, syscall.EADDRINUSE):
			log.Warn("the default --metrics-addr is in use (another sluice on this machine?); serving no metrics, health or web view: give --metrics-addr HOST:PORT", zap.String("addr", opts.MetricsAddr))
			if opts.Stderr != nil {
				fmt.Fprintf(opts.Stderr, "sluice: %s is in use; no metrics or web view (give --metrics-addr HOST:PORT)\n", opts.MetricsAddr)
			}
		case err != nil:
			return err
		default:
			defer ln.Close() // when something below fails before serving
			reg = newRegistry()
		}
	}
	sec, err := kafkaSecurity(p)
	if err != nil {
		return err
	}
	if err := prepareCodecs(ctx, codecs, stageTopics(stages)...); err != nil {
		return err
	}
	var all []*stream.Stage
	for _, st := range stages {
		s, err := stream.New(stream.Options{Stage: st, Pipeline: p.Name, Brokers: brokers, ClientID: p.Kafka.ClientID, Logger: log, Registry: reg, StartTraces: true, KafkaOpts: sec.Opts(), SecretEnv: p.Kafka.SecretEnv, InstanceID: opts.InstanceID, Codecs: codecs})
		if err != nil {
			return err
		}
		all = append(all, s)
	}
	if ln != nil {
		o := startObserver(ln, newObserveMux(reg, p, all, brokers), log)
		defer o.stop()
		log.Info("serving metrics, health and the web view", zap.String("addr", ln.Addr().String()))
		if opts.Stderr != nil {
			fmt.Fprintf(opts.Stderr, "sluice: web view on http://%s/ (metrics: /metrics, health: /healthz, /readyz)\n", ln.Addr())
		}
		if opts.onListen != nil {
			opts.onListen(ln.Addr())
		}
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := explainStage(sec, s.Name(), brokers, s.Run(ctx)); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stopped: %w", err)
	}
	return nil
}
