package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream"
)

// defaultMetricsAddr is where up and run serve /metrics, /healthz, /readyz
// and the web view: 9464 is the usual Prometheus exporter port of
// OpenTelemetry SDKs, on loopback so nothing is exposed by accident.
const defaultMetricsAddr = "127.0.0.1:9464"

func addMetricsAddrFlag(c *cobra.Command, addr *string) {
	c.Flags().StringVar(addr, "metrics-addr", defaultMetricsAddr,
		"where to serve /metrics (Prometheus), /healthz, /readyz and the web view (/); \"\" disables; use 0.0.0.0:9464 in a container")
}

// metricsOptions are the runOptions of the --metrics-addr flag of c.
func metricsOptions(c *cobra.Command, addr string) runOptions {
	return runOptions{MetricsAddr: addr, MetricsAddrDefault: !c.Flags().Changed("metrics-addr"), Stderr: c.ErrOrStderr()}
}

// runOptions are runStagesWith's extras over runStages.
type runOptions struct {
	// MetricsAddr is the HTTP address of the observability endpoints; ""
	// serves nothing (and collects no metrics).
	MetricsAddr string
	// MetricsAddrDefault says MetricsAddr is the flag's default: when it
	// is in use (a second sluice on the machine), serve nothing and warn
	// instead of failing; an address given explicitly must be free.
	MetricsAddrDefault bool
	// Stderr receives the one-line "serving on" notice; nil: none.
	Stderr interface{ Write([]byte) (int, error) }
	// onListen, when set, is called with the bound address (tests use
	// 127.0.0.1:0).
	onListen func(net.Addr)
	// InstanceID names this instance of exactly-once stages (their
	// transactional id); "" is a random one per start.
	InstanceID string
}

// observer is the HTTP server of a running pipeline process.
type observer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// listenObserver binds addr; a port in use is a one-line error.
func listenObserver(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("--metrics-addr %s: %w (another sluice up/run?); pick another address, or --metrics-addr \"\" to serve nothing", addr, syscall.EADDRINUSE)
		}
		return nil, fmt.Errorf("--metrics-addr %s: %v", addr, err)
	}
	return ln, nil
}

// newObserveMux routes the endpoints: /metrics from reg, /healthz,
// /readyz over stages, and the web view at /.
func newObserveMux(reg *prometheus.Registry, p *config.Pipeline, stages []*stream.Stage, brokers []string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		reasons := notReady(stages)
		if len(reasons) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, strings.Join(reasons, "\n"))
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("/", newWebView(p, stages, brokers))
	return mux
}

// notReady returns one line per stage that is not ready: its nodes have
// not all completed the handshake, or it is stalled (records in flight,
// none completed for longer than its batch timeout).
func notReady(stages []*stream.Stage) []string {
	var out []string
	for _, s := range stages {
		if !s.Ready() {
			out = append(out, fmt.Sprintf("stage %s: not ready: node handshake not completed by every worker", s.Name()))
			continue
		}
		if stalled, since := s.Stalled(); stalled {
			out = append(out, fmt.Sprintf("stage %s: stalled: %d records in flight, none completed for %s (timeouts.batch %s)",
				s.Name(), s.Stats().InFlightRecords, since.Round(time.Millisecond), s.BatchTimeout()))
		}
	}
	return out
}

// startObserver serves the endpoints on ln until stop is called.
func startObserver(ln net.Listener, handler http.Handler, log *zap.Logger) *observer {
	o := &observer{
		srv:  &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(o.done)
		if err := o.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server stopped", zap.Error(err))
		}
	}()
	return o
}

func (o *observer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	o.srv.Shutdown(ctx)
	<-o.done
}

// newRegistry is the process's registry: the stages' metrics, Go runtime
// and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
