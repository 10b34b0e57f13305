package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
)

func newTopicsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "topics",
		Short: "Create or list Kafka topics",
		Long: `Manage the Kafka topics a pipeline uses.

"topics create" creates every topic declared in a pipeline file that does
not exist yet, with the partitions, replication and configs the file gives.
Topics that already exist are left alone, even when their shape differs
from the file: sluice never deletes topics or adds partitions (adding
partitions moves keys to other partitions and breaks per-key ordering).`,
		Example: `  sluice topics create --config config/examples/filter.yaml
  sluice topics list --brokers kafka-1:9092`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for %q: use \"create\" or \"list\" (see '%s --help')", args[0], cmd.CommandPath(), cmd.CommandPath())}
			}
			return cmd.Help()
		},
	}
	c.AddCommand(newTopicsCreateCmd(), newTopicsListCmd())
	return c
}

func newTopicsCreateCmd() *cobra.Command {
	var brokers, cfgPath string
	c := &cobra.Command{
		Use:   "create --config FILE",
		Short: "Create the topics of a pipeline file that do not exist yet",
		Long: `Create every topic declared in the pipeline file (plus the default
dead-letter topics of its stages) that does not exist yet, and print one line
per topic:

  created events.clean (3 partitions)
  exists  events.parsed (3 partitions)

A topic that exists with fewer partitions than the file asks for gets a
warning line and is not changed. Running it again is harmless.`,
		Example: `  sluice topics create --config config/examples/filter.yaml
  sluice topics create --config pipeline.yaml --brokers kafka-1:9092,kafka-2:9092`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				return usageError{errors.New(`topics create needs the pipeline file: sluice topics create --config pipeline.yaml`)}
			}
			p, err := loadPipeline(cfgPath)
			if err != nil {
				return err
			}
			cl, err := connect(cmd.Context(), brokers, p)
			if err != nil {
				return err
			}
			defer cl.Close()
			statuses, err := ensureTopics(cmd.Context(), kadm.NewClient(cl), p.Topics)
			out := cmd.OutOrStdout()
			for _, s := range statuses {
				fmt.Fprintln(out, s)
			}
			return err
		},
	}
	addConfigFlag(c, &cfgPath, true)
	addBrokersFlag(c, &brokers)
	return c
}

func newTopicsListCmd() *cobra.Command {
	var brokers, cfgPath string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the topics of the cluster with their partitions",
		Long: `List the cluster's topics (internal ones such as __consumer_offsets
excluded), sorted by name, with their partition count and replication factor.`,
		Example: `  sluice topics list
  sluice topics list --brokers kafka-1:9092
  sluice topics list --config pipeline.yaml   # brokers from the file's kafka.brokers`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPipeline(cfgPath)
			if err != nil {
				return err
			}
			cl, err := connect(cmd.Context(), brokers, p)
			if err != nil {
				return err
			}
			defer cl.Close()
			tds, err := kadm.NewClient(cl).ListTopics(cmd.Context())
			if err != nil {
				return fmt.Errorf("list topics: %w", err)
			}
			if len(tds) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no topics")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tREPLICATION")
			for _, name := range tds.Names() {
				td := tds[name]
				repl := "?"
				if p0, ok := td.Partitions[0]; ok {
					repl = strconv.Itoa(len(p0.Replicas))
				}
				if td.Err != nil {
					fmt.Fprintf(tw, "%s\t(%v)\t\n", name, td.Err)
					continue
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\n", name, len(td.Partitions), repl)
			}
			return tw.Flush()
		},
	}
	addConfigFlag(c, &cfgPath, false)
	addBrokersFlag(c, &brokers)
	return c
}

// topicStatus is what ensureTopics found or did for one topic.
type topicStatus struct {
	Name       string
	Created    bool  // created now; false if it already existed
	Partitions int32 // partitions the topic has on the cluster
	Want       int32 // partitions the pipeline file asks for
}

// Fewer reports a topic that already existed with fewer partitions than
// the file asks for. It is left as it is: adding partitions would move
// keys to other partitions.
func (s topicStatus) Fewer() bool { return !s.Created && s.Partitions < s.Want }

// String is the line "topics create" and "up" print for the topic.
func (s topicStatus) String() string {
	switch {
	case s.Created:
		return fmt.Sprintf("created %s (%s)", s.Name, plural(int(s.Partitions), "partition"))
	case s.Fewer():
		return fmt.Sprintf("warning %s has %s, fewer than the %d in the pipeline file; left unchanged (adding partitions would move keys to other partitions)",
			s.Name, plural(int(s.Partitions), "partition"), s.Want)
	default:
		return fmt.Sprintf("exists  %s (%s)", s.Name, plural(int(s.Partitions), "partition"))
	}
}

// ensureTopics creates each of topics that does not exist yet, with its
// partitions, replication (-1: the broker's default) and configs, and
// leaves existing topics unchanged. It returns one status per topic, in
// order; on error, the statuses of the topics handled before it.
func ensureTopics(ctx context.Context, adm *kadm.Client, topics []config.Topic) ([]topicStatus, error) {
	if len(topics) == 0 {
		return nil, nil
	}
	names := make([]string, len(topics))
	for i, t := range topics {
		names[i] = t.Name
	}
	tds, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	out := make([]topicStatus, 0, len(topics))
	for _, t := range topics {
		st := topicStatus{Name: t.Name, Want: t.Partitions}
		td, ok := tds[t.Name]
		switch {
		case ok && td.Err == nil:
			st.Partitions = int32(len(td.Partitions))
		case !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition):
			n, created, err := createTopic(ctx, adm, t)
			if err != nil {
				return out, err
			}
			st.Partitions, st.Created = n, created
		default:
			return out, fmt.Errorf("topic %q: %v", t.Name, td.Err)
		}
		out = append(out, st)
	}
	return out, nil
}

// createTopic creates t and returns its partition count. created is false
// when someone else created the topic in the meantime.
func createTopic(ctx context.Context, adm *kadm.Client, t config.Topic) (partitions int32, created bool, err error) {
	var cfgs map[string]*string
	if len(t.Configs) > 0 {
		cfgs = make(map[string]*string, len(t.Configs))
		for k, v := range t.Configs {
			cfgs[k] = kadm.StringPtr(v)
		}
	}
	resp, err := adm.CreateTopic(ctx, t.Partitions, t.Replication, cfgs, t.Name)
	switch {
	case err == nil:
		if resp.NumPartitions > 0 {
			return resp.NumPartitions, true, nil
		}
		return t.Partitions, true, nil
	case errors.Is(err, kerr.TopicAlreadyExists):
		td, err := lookupTopic(ctx, adm, t.Name, "", -1)
		if err != nil {
			return 0, false, err
		}
		return int32(len(td.Partitions)), false, nil
	}
	repl := "the broker's default replication"
	if t.Replication > 0 {
		repl = "replication " + strconv.Itoa(int(t.Replication))
	}
	msg := err.Error()
	if resp.ErrMessage != "" && resp.ErrMessage != msg {
		msg += " (" + resp.ErrMessage + ")"
	}
	return 0, false, fmt.Errorf("create topic %q with %s and %s: %s", t.Name, plural(int(t.Partitions), "partition"), repl, msg)
}

// lookupTopic describes topic, turning "unknown topic" into an error that
// says how to create it. cfgPath (may be "") is the pipeline file the
// user passed, used in that hint. A partition >= 0 must exist in it.
func lookupTopic(ctx context.Context, adm *kadm.Client, topic, cfgPath string, partition int32) (kadm.TopicDetail, error) {
	tds, err := adm.ListTopics(ctx, topic)
	if err != nil {
		if ctx.Err() != nil {
			return kadm.TopicDetail{}, ctx.Err()
		}
		return kadm.TopicDetail{}, fmt.Errorf("describe topic %q: %w", topic, err)
	}
	td, ok := tds[topic]
	switch {
	case !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition):
		return td, errTopicMissing(topic, cfgPath)
	case td.Err != nil:
		return td, fmt.Errorf("topic %q: %v", topic, td.Err)
	}
	if partition >= 0 {
		return td, checkPartition(td, partition)
	}
	return td, nil
}

// errTopicMissing is the error produce and tail return for a topic that
// does not exist.
func errTopicMissing(topic, cfgPath string) error {
	if cfgPath == "" {
		cfgPath = "FILE"
	}
	return fmt.Errorf(`topic %q does not exist (create it with "sluice topics create --config %s" or "sluice up")`, topic, cfgPath)
}

// checkPartition verifies that the topic described by td has partition p.
func checkPartition(td kadm.TopicDetail, p int32) error {
	n := int32(len(td.Partitions))
	if p < n {
		return nil
	}
	return fmt.Errorf("topic %q has %s (0-%d); there is no partition %d", td.Topic, plural(int(n), "partition"), n-1, p)
}

// connect resolves the brokers (--brokers, else $SLUICE_BROKERS, else the
// pipeline file p if any, else the default) and returns a client that a
// broker has answered.
func connect(ctx context.Context, brokersFlag string, p *config.Pipeline, opts ...kgo.Opt) (*kgo.Client, error) {
	brokers, _ := config.ResolveBrokers(brokersFlag, p)
	if p != nil && p.Kafka.ClientID != "" {
		opts = append([]kgo.Opt{kgo.ClientID(p.Kafka.ClientID)}, opts...)
	}
	return pipelineClient(ctx, brokers, p, opts...)
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q (see '%s --help')", cmd.CommandPath(), args, cmd.CommandPath())}
	}
	return nil
}

// topicArg requires exactly one positional argument, the topic.
func topicArg(cmd *cobra.Command, args []string) error {
	switch len(args) {
	case 1:
		if args[0] == "" {
			return usageError{fmt.Errorf("%s: the topic name is empty", cmd.CommandPath())}
		}
		return nil
	case 0:
		return usageError{fmt.Errorf("%s needs a TOPIC argument, e.g. %q (see '%s --help')", cmd.CommandPath(), cmd.CommandPath()+" events.parsed", cmd.CommandPath())}
	default:
		return usageError{fmt.Errorf("%s takes one TOPIC, got %d arguments %q (see '%s --help')", cmd.CommandPath(), len(args), args, cmd.CommandPath())}
	}
}

// plural formats "1 record", "3 records".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
