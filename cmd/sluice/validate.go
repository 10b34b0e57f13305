package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream/codec"
)

// validateBrokerTimeout is how long validate waits for a broker before it
// skips the topic checks.
const validateBrokerTimeout = 3 * time.Second

func newValidateCmd() *cobra.Command {
	var cfgPath, brokersFlag string
	var offline bool
	c := &cobra.Command{
		Use:   "validate --config FILE",
		Short: "Check a pipeline file, its node programs and, if Kafka answers, its topics",
		Long: `Check a pipeline file: its YAML, field names and types, topic and stage
names, and that every topic a stage uses is declared. Then, without starting
anything:

  - that the schema files of avro topics parse, and that each topic's
    schema versions keep its compatibility rule (backward by default),
    saying which field breaks it and why; no schema registry is contacted;
  - that every stage's node.command can be started: a bare name (node,
    python3) must be found in $PATH; a path must exist, relative to node.dir
    when that is set, else to the current directory (sluice starts nodes
    from where it runs), be a file, and be executable;
  - when a broker answers within 3 seconds (brokers from --brokers, else
    $SLUICE_BROKERS, else the file's kafka.brokers, else 127.0.0.1:9092),
    that every topic of the file exists with at least the partitions the
    file declares. When no broker answers the topic checks are skipped with
    a note on stderr, which alone is no failure; --offline skips them
    without trying.

On success it prints a one-line summary and exits 0:

  pipeline.yaml: ok — pipeline sensors, 3 topics, 1 stage (filter)

(followed by "; topics checked on BROKERS" when they were), then a line
for each typed (json or avro) topic:

  events.parsed: avro, 2 schema versions (backward compatible), single-object

Otherwise it prints every problem found, one per line as
"file:line: field: message", and exits 2.`,
		Example: `  sluice validate --config config/examples/filter.yaml
  sluice validate -c pipeline.yaml --offline          # in CI, without Kafka
  sluice validate -c pipeline.yaml --brokers kafka-1:9092 && sluice up -c pipeline.yaml --brokers kafka-1:9092`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				return usageError{errors.New("validate needs the pipeline file: sluice validate --config pipeline.yaml")}
			}
			if offline && brokersFlag != "" {
				return usageError{errors.New("--offline and --brokers contradict each other: --offline contacts no broker")}
			}
			p, err := loadPipeline(cfgPath)
			if err != nil {
				return err
			}
			lines := newYAMLLines(cfgPath)
			probs, err := schemaProblems(p)
			if err != nil {
				return err
			}
			probs = append(probs, nodeProblems(p, lines)...)
			checked := ""
			if !offline {
				brokers, _ := config.ResolveBrokers(brokersFlag, p)
				where := strings.Join(brokers, ",")
				tp, reachable, err := topicProblems(cmd.Context(), p, brokers)
				switch {
				case err != nil:
					return err
				case !reachable:
					fmt.Fprintf(cmd.ErrOrStderr(), "note: broker not reachable at %s: skipped the topic checks\n", where)
				default:
					probs = append(probs, tp...)
					checked = "; topics checked on " + where
				}
			}
			if len(probs) > 0 {
				sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
				return probs
			}
			names := make([]string, len(p.Stages))
			for i, s := range p.Stages {
				names[i] = s.Name
			}
			stages := plural(len(p.Stages), "stage")
			if len(names) > 0 {
				stages += " (" + strings.Join(names, ", ") + ")"
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: ok — pipeline %s, %s, %s%s\n", cfgPath, p.Name, plural(len(p.Topics), "topic"), stages, checked)
			for _, t := range p.Topics {
				if line := typedTopicSummary(t); line != "" {
					fmt.Fprintf(out, "  %s: %s\n", t.Name, line)
				}
			}
			return nil
		},
	}
	addConfigFlag(c, &cfgPath, true)
	addBrokersFlag(c, &brokersFlag)
	c.Flags().BoolVar(&offline, "offline", false, "do not contact Kafka: skip the topic checks")
	return c
}

// schemaProblems loads the topics' codecs: schema files that do not parse
// and schema versions that break their topic's compatibility rule come
// back from codec.Load as config.Problems, reported like the file's own.
func schemaProblems(p *config.Pipeline) (config.Problems, error) {
	_, err := codec.Load(p)
	var probs config.Problems
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &probs):
		return probs, nil
	}
	return nil, err
}

// typedTopicSummary describes what validate checked of a typed topic's
// values, e.g. "avro, 2 schema versions (backward compatible),
// single-object"; "" for a raw topic.
func typedTopicSummary(t config.Topic) string {
	switch t.Format {
	case config.FormatRaw:
		return ""
	case config.FormatAvro:
	default:
		return t.Format
	}
	s := "avro, " + plural(len(t.Schemas), "schema version")
	if len(t.Schemas) > 1 {
		switch t.Compatibility {
		case config.CompatNone:
			s += " (compatibility not checked)"
		case config.CompatFull:
			s += " (fully compatible)"
		default:
			s += " (" + t.Compatibility + " compatible)"
		}
	}
	s += ", " + t.Wire
	if t.Wire == config.WireConfluent {
		subject := t.Subject
		if subject == "" {
			subject = t.Name + "-value"
		}
		s += ", subject " + subject
	}
	return s
}

// problemField appends key to the dotted field path parent as the config
// package writes it: topics["events.raw"] for keys with dots, stages.filter
// for plain ones.
func problemField(parent, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			plain = false
		}
	}
	if !plain {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	return parent + "." + key
}

// yamlLines finds the lines of keys in a pipeline file, for problems
// about fields the config package does not record lines for.
type yamlLines struct{ root *yaml.Node }

func newYAMLLines(path string) yamlLines {
	data, err := os.ReadFile(path)
	if err != nil {
		return yamlLines{}
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return yamlLines{}
	}
	return yamlLines{doc.Content[0]}
}

// line returns the line of the key at path (stages, filter, node,
// command), or 0 when it is not written plainly there (merge keys,
// defaults).
func (l yamlLines) line(path ...string) int {
	n := l.root
	for i, key := range path {
		for n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n == nil || n.Kind != yaml.MappingNode {
			return 0
		}
		var next *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == key {
				if i == len(path)-1 {
					return n.Content[j].Line
				}
				next = n.Content[j+1]
			}
		}
		n = next
	}
	return 0
}

// nodeProblems checks that every stage's node program can be started.
func nodeProblems(p *config.Pipeline, lines yamlLines) config.Problems {
	var probs config.Problems
	for i := range p.Stages {
		st := &p.Stages[i]
		at := func(key string) (int, string) {
			field := problemField("stages", st.Name) + ".node." + key
			if l := lines.line("stages", st.Name, "node", key); l > 0 {
				return l, field
			}
			return st.Line, field
		}
		add := func(key, format string, args ...any) {
			line, field := at(key)
			probs = append(probs, config.Problem{File: p.File, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
		}
		dir := st.Node.Dir
		if dir != "" {
			fi, err := os.Stat(dir)
			switch {
			case err != nil:
				add("dir", "%s does not exist", dir)
				continue
			case !fi.IsDir():
				add("dir", "%s is not a directory", dir)
				continue
			}
		}
		c := st.Node.Command
		if !strings.ContainsRune(c, filepath.Separator) {
			if _, err := exec.LookPath(c); err != nil {
				if errors.Is(err, exec.ErrDot) {
					add("command", "%q resolves to a program in the current directory through a relative $PATH entry, which is not run: write ./%s", c, c)
				} else {
					add("command", "%q is not in $PATH", c)
				}
			}
			continue
		}
		path := c
		if !filepath.IsAbs(c) && dir != "" {
			path = filepath.Join(dir, c)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			abs = path
		}
		fi, err := os.Stat(path)
		switch {
		case err != nil && !filepath.IsAbs(c):
			add("command", "%s does not exist (looked for %s)", c, abs)
		case err != nil:
			add("command", "%s does not exist", c)
		case fi.IsDir():
			add("command", "%s is a directory, not a program", c)
		case fi.Mode().Perm()&0o111 == 0:
			add("command", "%s is not executable (chmod +x %s)", c, path)
		}
	}
	return probs
}

// topicProblems checks that every topic of p exists on brokers with at
// least its declared partitions. reachable is false when no broker answered
// within validateBrokerTimeout; err is for failures past that point.
func topicProblems(ctx context.Context, p *config.Pipeline, brokers []string) (probs config.Problems, reachable bool, err error) {
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID("sluice"), kgo.DialTimeout(validateBrokerTimeout)}
	if p.Kafka.ClientID != "" {
		opts = append(opts, kgo.ClientID(p.Kafka.ClientID))
	}
	sec, err := kafkaSecurity(p)
	if err != nil {
		return nil, false, err
	}
	cl, err := kgo.NewClient(append(opts, sec.Opts()...)...)
	if err != nil {
		return nil, false, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, validateBrokerTimeout)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		if err := sec.Explain(brokers, err); err != nil {
			return nil, true, err // reached, and refused: the file's kafka section is wrong
		}
		return nil, false, nil
	}
	names := make([]string, len(p.Topics))
	for i, t := range p.Topics {
		names[i] = t.Name
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tds, err := kadm.NewClient(cl).ListTopics(lctx, names...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, true, ctx.Err()
		}
		return nil, true, fmt.Errorf("list topics on %s: %w", strings.Join(brokers, ","), err)
	}
	where := strings.Join(brokers, ",")
	for _, t := range p.Topics {
		line, implicit := t.Line, ""
		if line == 0 {
			// An implicit DLQ topic: point at the stage that uses it.
			for _, st := range p.Stages {
				if st.DLQ == t.Name {
					line, implicit = st.Line, " (the default dead-letter topic of stage "+st.Name+")"
					break
				}
			}
		}
		field := problemField("topics", t.Name)
		td, ok := tds[t.Name]
		switch {
		case !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition):
			probs = append(probs, config.Problem{File: p.File, Line: line, Field: field,
				Message: fmt.Sprintf("topic does not exist on %s%s; create it with: sluice topics create --config %s", where, implicit, p.File)})
		case td.Err != nil:
			probs = append(probs, config.Problem{File: p.File, Line: line, Field: field,
				Message: fmt.Sprintf("cannot describe the topic on %s: %v", where, td.Err)})
		case int32(len(td.Partitions)) < t.Partitions:
			probs = append(probs, config.Problem{File: p.File, Line: line, Field: field + ".partitions",
				Message: fmt.Sprintf("the file says %d, the topic on %s has %d; sluice never adds partitions (that moves keys to other partitions): change the file, or the topic", t.Partitions, where, len(td.Partitions))})
		}
	}
	return probs, true, nil
}
