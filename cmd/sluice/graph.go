package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/config"
)

func newGraphCmd() *cobra.Command {
	var cfgPath, format string
	c := &cobra.Command{
		Use:   "graph --config FILE",
		Short: "Draw the pipeline: topics, stages and their dead-letter topics",
		Long: `Print the pipeline file as a graph: each stage with the topic it reads, the
topics it writes and its dead-letter topic (dashed). Kafka is not contacted.

Formats (--format):
  text     plain ASCII, one block per stage in file order (the default):
             events.raw --> [ingest] --> events.parsed
                                     ..> ingest.dlq (dlq)
           "-->" is an output, "..>" the dead-letter topic; an output other
           than "default" is named in parentheses. Then the topics no stage
           writes (fed from outside the pipeline) and declared topics no
           stage uses.
  mermaid  a Mermaid flowchart (flowchart LR): paste it into a Markdown
           file between ` + "```mermaid" + ` fences, GitHub renders it
  dot      Graphviz: pipe it into "dot -Tsvg > pipeline.svg"

The output depends only on the file: stages and topics in file order (the
implicit <stage>.dlq topics after the declared ones), a stage's outputs with
"default" first and the others by name.`,
		Example: `  sluice graph --config config/examples/sensors.yaml
  sluice graph -c config/examples/sensors.yaml --format mermaid > pipeline.mmd
  sluice graph -c config/examples/sensors.yaml --format dot | dot -Tsvg > pipeline.svg`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				return usageError{errors.New("graph needs the pipeline file: sluice graph --config pipeline.yaml")}
			}
			var draw func(io.Writer, *config.Pipeline) error
			switch format {
			case "text":
				draw = graphText
			case "mermaid":
				draw = graphMermaid
			case "dot":
				draw = graphDot
			default:
				return usageError{fmt.Errorf(`--format %q: want "text", "mermaid" or "dot"`, format)}
			}
			p, err := loadPipeline(cfgPath)
			if err != nil {
				return err
			}
			return draw(cmd.OutOrStdout(), p)
		},
	}
	addConfigFlag(c, &cfgPath, true)
	c.Flags().StringVar(&format, "format", "text", `output format: "text", "mermaid" or "dot"`)
	return c
}

// stageEdge is one topic a stage writes.
type stageEdge struct {
	Name  string // output name; "" for the DLQ
	Topic string
	DLQ   bool
}

// stageEdges lists what st writes: its outputs, "default" first and the
// others by name, then its DLQ topic.
func stageEdges(st *config.Stage) []stageEdge {
	names := make([]string, 0, len(st.Outputs))
	for name := range st.Outputs {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "default") != (names[j] == "default") {
			return names[i] == "default"
		}
		return names[i] < names[j]
	})
	out := make([]stageEdge, 0, len(names)+1)
	for _, name := range names {
		out = append(out, stageEdge{Name: name, Topic: st.Outputs[name]})
	}
	if st.DLQ != "" {
		out = append(out, stageEdge{Topic: st.DLQ, DLQ: true})
	}
	return out
}

// graphTopics returns every topic of p in file order (declared ones, then
// the implicit DLQs) plus any a stage names without declaring, in stage
// order.
func graphTopics(p *config.Pipeline) []string {
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, t := range p.Topics {
		add(t.Name)
	}
	for i := range p.Stages {
		add(p.Stages[i].Input)
		for _, e := range stageEdges(&p.Stages[i]) {
			add(e.Topic)
		}
	}
	return out
}

func graphText(w io.Writer, p *config.Pipeline) error {
	var b strings.Builder
	topics := graphTopics(p)
	fmt.Fprintf(&b, "pipeline %s: %s, %s\n", p.Name, plural(len(p.Stages), "stage"), plural(len(topics), "topic"))
	read, written := map[string]bool{}, map[string]bool{}
	for i := range p.Stages {
		st := &p.Stages[i]
		read[st.Input] = true
		b.WriteString("\n")
		head := st.Input + " --> [" + st.Name + "] "
		for j, e := range stageEdges(st) {
			written[e.Topic] = true
			if j == 0 {
				b.WriteString(head)
			} else {
				b.WriteString(strings.Repeat(" ", len(head)))
			}
			arrow, note := "-->", ""
			switch {
			case e.DLQ:
				arrow, note = "..>", " (dlq)"
			case e.Name != "default":
				note = " (output " + e.Name + ")"
			}
			b.WriteString(arrow + " " + e.Topic + note + "\n")
		}
		if len(st.Outputs) == 0 && st.DLQ == "" {
			b.WriteString(head + "\n")
		}
	}
	var sources, unused []string
	for _, t := range topics {
		switch {
		case read[t] && !written[t]:
			sources = append(sources, t)
		case !read[t] && !written[t]:
			unused = append(unused, t)
		}
	}
	if len(sources) > 0 || len(unused) > 0 {
		b.WriteString("\n")
	}
	if len(sources) > 0 {
		b.WriteString("fed from outside the pipeline: " + strings.Join(sources, ", ") + "\n")
	}
	if len(unused) > 0 {
		b.WriteString("declared, used by no stage: " + strings.Join(unused, ", ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidLabel quotes s for a Mermaid node label.
func mermaidLabel(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, "#quot;") + `"`
}

func graphMermaid(w io.Writer, p *config.Pipeline) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	topics := graphTopics(p)
	tid := map[string]string{}
	for i, t := range topics {
		tid[t] = "t" + strconv.Itoa(i)
		fmt.Fprintf(&b, "  %s[(%s)]\n", tid[t], mermaidLabel(t))
	}
	for i := range p.Stages {
		fmt.Fprintf(&b, "  s%d[%s]\n", i, mermaidLabel(p.Stages[i].Name))
	}
	for i := range p.Stages {
		st := &p.Stages[i]
		fmt.Fprintf(&b, "  %s --> s%d\n", tid[st.Input], i)
		for _, e := range stageEdges(st) {
			switch {
			case e.DLQ:
				fmt.Fprintf(&b, "  s%d -.->|dlq| %s\n", i, tid[e.Topic])
			case e.Name != "default":
				fmt.Fprintf(&b, "  s%d -->|%s| %s\n", i, mermaidLabel(e.Name), tid[e.Topic])
			default:
				fmt.Fprintf(&b, "  s%d --> %s\n", i, tid[e.Topic])
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// dotID quotes s as a Graphviz ID.
func dotID(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func graphDot(w io.Writer, p *config.Pipeline) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotID(p.Name))
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [fontname=\"Helvetica\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\"];\n")
	for _, t := range graphTopics(p) {
		fmt.Fprintf(&b, "  %s [label=%s, shape=cylinder];\n", dotID("topic:"+t), dotID(t))
	}
	for i := range p.Stages {
		name := p.Stages[i].Name
		fmt.Fprintf(&b, "  %s [label=%s, shape=box, style=rounded];\n", dotID("stage:"+name), dotID(name))
	}
	for i := range p.Stages {
		st := &p.Stages[i]
		sid := dotID("stage:" + st.Name)
		fmt.Fprintf(&b, "  %s -> %s;\n", dotID("topic:"+st.Input), sid)
		for _, e := range stageEdges(st) {
			switch {
			case e.DLQ:
				fmt.Fprintf(&b, "  %s -> %s [style=dashed, label=\"dlq\"];\n", sid, dotID("topic:"+e.Topic))
			case e.Name != "default":
				fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", sid, dotID("topic:"+e.Topic), dotID(e.Name))
			default:
				fmt.Fprintf(&b, "  %s -> %s;\n", sid, dotID("topic:"+e.Topic))
			}
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
