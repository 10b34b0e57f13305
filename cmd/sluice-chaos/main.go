// Command sluice-chaos is the chaos harness (make chaos): it drives records
// through a one-stage pipeline whose node is the misbehaving test node
// (stream/internal/testnode) while it injects one fault at a time —
// killed stage instances and node co-processes, hung nodes, garbage and
// oversized frames, poison records, a broker restart, a rebalance storm —
// and prints, per scenario and delivery mode, how many records went in,
// came out, went to the DLQ, were lost and were duplicated.
//
// It builds nothing: give it the binaries.
//
//	go build -o bin/sluice ./cmd/sluice && go build -o bin/testnode ./stream/internal/testnode
//	go run ./cmd/sluice-chaos --sluice bin/sluice --node bin/testnode --brokers 127.0.0.1:9092
//
// Without --brokers (or $SLUICE_BROKERS) it runs `sluice broker` itself.
// It exits 1 when a row lost a record, or an exactly-once row duplicated
// one; docs/reliability.md explains the scenarios and the counting.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	deliveryALO = "at-least-once"
	deliveryEO  = "exactly-once"
)

type options struct {
	sluice, node     string
	brokers          string
	records          int
	partitions       int
	scenarios        []string
	deliveries       []string
	json             bool
	out              string
	stall            time.Duration
	duration         time.Duration
	brokerRestartCmd string
	keep             bool
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "sluice-chaos:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rows, err := runAll(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice-chaos:", err)
		os.Exit(1)
	}
	for _, r := range rows {
		if r.failed() {
			os.Exit(1)
		}
	}
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("sluice-chaos", flag.ContinueOnError)
	var scen, delivery string
	fs.StringVar(&o.sluice, "sluice", "bin/sluice", "the sluice binary")
	fs.StringVar(&o.node, "node", "bin/testnode", "the test node binary (go build -o bin/testnode ./stream/internal/testnode)")
	fs.StringVar(&o.brokers, "brokers", os.Getenv("SLUICE_BROKERS"), "Kafka brokers (default $SLUICE_BROKERS; empty: run `sluice broker` in a temp dir)")
	fs.IntVar(&o.records, "records", 1_000_000, "records per run")
	fs.IntVar(&o.partitions, "partitions", 6, "partitions of the input and output topics")
	fs.StringVar(&scen, "scenarios", "all", "comma-separated scenarios, or all: "+scenarioNames())
	fs.StringVar(&delivery, "delivery", "both", "at-least-once, exactly-once or both")
	fs.BoolVar(&o.json, "json", false, "print the rows as JSON instead of a Markdown table")
	fs.StringVar(&o.out, "out", "", "also write the Markdown table to this file")
	fs.DurationVar(&o.duration, "produce-over", 20*time.Second, "spread each run's records over this long (0: as fast as possible), so faults hit a busy stage")
	fs.DurationVar(&o.stall, "stall-timeout", 2*time.Minute, "give up on a run when no record was accounted for in this long")
	fs.StringVar(&o.brokerRestartCmd, "broker-restart-cmd", "scripts/kafka.sh restart", "how to restart the given Kafka, keeping its data (KAFKA_PORT is set from --brokers)")
	fs.BoolVar(&o.keep, "keep", false, "keep every run's temp dir and topics, not only failed ones")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sluice-chaos --sluice bin/sluice --node bin/testnode [--brokers B] [flags]\n\nscenarios:\n")
		for _, s := range scenarios {
			fmt.Fprintf(fs.Output(), "  %-16s %s\n", s.name, s.what)
		}
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	if o.records < 100 {
		return nil, fmt.Errorf("--records %d: at least 100", o.records)
	}
	if o.partitions < 1 {
		return nil, fmt.Errorf("--partitions %d: at least 1", o.partitions)
	}
	for _, p := range []*string{&o.sluice, &o.node} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, err
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() {
			return nil, fmt.Errorf("%s: not found (make chaos builds bin/sluice and bin/testnode)", *p)
		}
		*p = abs
	}
	if scen == "all" || scen == "" {
		for _, s := range scenarios {
			o.scenarios = append(o.scenarios, s.name)
		}
	} else {
		for _, name := range strings.Split(scen, ",") {
			name = strings.TrimSpace(name)
			if _, ok := scenarioByName(name); !ok {
				return nil, fmt.Errorf("unknown scenario %q (have %s)", name, scenarioNames())
			}
			o.scenarios = append(o.scenarios, name)
		}
	}
	switch delivery {
	case "both":
		o.deliveries = []string{deliveryALO, deliveryEO}
	case deliveryALO, deliveryEO:
		o.deliveries = []string{delivery}
	default:
		return nil, fmt.Errorf("--delivery %q: at-least-once, exactly-once or both", delivery)
	}
	return o, nil
}

func scenarioNames() string {
	var names []string
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	return strings.Join(names, ",")
}

// environment is what every run shares: the broker and how to restart it.
type environment struct {
	opts           *options
	dir            string
	brokers        []string
	adm            *kadm.Client
	embedded       *embeddedBroker
	instanceIDFlag bool
}

func (e *environment) restartBroker() error {
	if e.embedded != nil {
		return e.embedded.restart()
	}
	var env []string
	if os.Getenv("KAFKA_PORT") == "" {
		if _, port, err := net.SplitHostPort(e.brokers[0]); err == nil {
			env = append(env, "KAFKA_PORT="+port)
		}
	}
	return runShell(e.opts.brokerRestartCmd, env, 5*time.Minute)
}

func runAll(ctx context.Context, o *options) ([]row, error) {
	dir, err := os.MkdirTemp("", "sluice-chaos-")
	if err != nil {
		return nil, err
	}
	e := &environment{opts: o, dir: dir}
	var rows []row
	// Last: the work dir goes unless a run failed or --keep; the embedded
	// broker is stopped first, or it would write its data dir back.
	defer func() {
		if e.embedded != nil {
			e.embedded.stop()
		}
		failed := 0
		for _, r := range rows {
			if r.failed() {
				failed++
			}
		}
		switch {
		case failed > 0:
			fmt.Fprintf(os.Stderr, "chaos: %d of %d runs failed (lost records, exactly-once duplicates or errors); work dir kept: %s\n", failed, len(rows), dir)
		case o.keep:
			fmt.Fprintf(os.Stderr, "chaos: %d runs passed; work dir kept: %s\n", len(rows), dir)
		default:
			os.RemoveAll(dir)
			fmt.Fprintf(os.Stderr, "chaos: %d runs, 0 lost, 0 duplicated in exactly-once rows\n", len(rows))
		}
	}()
	if o.brokers == "" {
		b, err := startEmbeddedBroker(o.sluice, dir)
		if err != nil {
			return nil, err
		}
		e.embedded = b
		o.brokers = b.addr
	}
	e.brokers = strings.Split(o.brokers, ",")
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	e.adm = kadm.NewClient(cl)
	help, _ := exec.Command(o.sluice, "run", "--help").CombinedOutput()
	e.instanceIDFlag = strings.Contains(string(help), "--instance-id")

	where := "Apache Kafka or another broker at " + o.brokers
	if e.embedded != nil {
		where = "the embedded broker (sluice broker) at " + o.brokers
	}
	fmt.Fprintf(os.Stderr, "chaos: %d records per run, %d partitions, 2 stage instances, on %s; work dir %s\n",
		o.records, o.partitions, where, dir)
	if !e.instanceIDFlag {
		fmt.Fprintln(os.Stderr, "chaos: this sluice run has no --instance-id; restarted instances get new identities")
	}
	if !o.json {
		fmt.Println(tableHeader)
	}
	for _, name := range o.scenarios {
		sc, _ := scenarioByName(name)
		for _, d := range o.deliveries {
			if ctx.Err() != nil {
				return rows, ctx.Err()
			}
			fmt.Fprintf(os.Stderr, "chaos: %s, %s ...\n", name, d)
			r := execute(ctx, e, sc, d)
			rows = append(rows, r)
			if !o.json {
				fmt.Println(r.markdown())
			}
		}
	}
	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return rows, err
		}
	}
	if o.out != "" {
		var b strings.Builder
		b.WriteString(tableHeader + "\n")
		for _, r := range rows {
			b.WriteString(r.markdown() + "\n")
		}
		if err := os.WriteFile(o.out, []byte(b.String()), 0o644); err != nil {
			return rows, err
		}
	}
	return rows, nil
}
