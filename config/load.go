package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Load reads and parses the pipeline file at path.
func Load(path string) (*Pipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// os errors already name the path; keep only the cause so the
		// message reads "read p.yaml: no such file or directory".
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes, defaults and validates a pipeline file. file is used only
// in messages and Pipeline.File. On failure the error is a Problems listing
// every mistake found, sorted by line, and the pipeline is nil.
func Parse(file string, data []byte) (*Pipeline, error) {
	d := newDecoder(file)
	p := &Pipeline{File: file}
	if root := d.document(data); root != nil && d.pipeline(root, p) {
		complete(p)
		validate(p, d)
	}
	if len(d.probs) > 0 {
		sortProblems(d.probs)
		return nil, d.probs
	}
	return p, nil
}

// complete fills the defaults that depend on the whole file: names derived
// from the pipeline name and the DLQ topics stages use without declaring.
func complete(p *Pipeline) {
	if p.Kafka.ClientID == "" {
		p.Kafka.ClientID = defaultClientID
	}
	declared := map[string]bool{}
	for _, t := range p.Topics {
		declared[t.Name] = true
	}
	for i := range p.Stages {
		s := &p.Stages[i]
		s.applyNameDefaults(p.Name)
		if s.DLQ == defaultDLQ(s.Name) && !declared[s.DLQ] {
			declared[s.DLQ] = true
			p.Topics = append(p.Topics, Topic{Name: s.DLQ, Partitions: 1, Replication: defaultReplication, Configs: map[string]string{}})
		}
	}
}

// Stage returns the stage called name. The error lists the stages there
// are, since the name usually comes from a command line.
func (p *Pipeline) Stage(name string) (*Stage, error) {
	names := make([]string, len(p.Stages))
	for i := range p.Stages {
		if p.Stages[i].Name == name {
			return &p.Stages[i], nil
		}
		names[i] = p.Stages[i].Name
	}
	where := p.File
	if where == "" {
		where = fmt.Sprintf("pipeline %q", p.Name)
	}
	list := strings.Join(names, ", ")
	if list == "" {
		list = "(none)"
	}
	return nil, fmt.Errorf("no stage %q in %s; stages: %s", name, where, list)
}

// Topic returns the topic called name, including implicit DLQ topics.
func (p *Pipeline) Topic(name string) (*Topic, bool) {
	for i := range p.Topics {
		if p.Topics[i].Name == name {
			return &p.Topics[i], true
		}
	}
	return nil, false
}
