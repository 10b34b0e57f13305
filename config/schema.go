package config

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// This file maps the YAML layout onto the structs: one function per
// mapping of the format, each listing its keys exactly once.

// pipeline decodes the root; false means the root is not a mapping, which
// leaves nothing worth validating.
func (d *decoder) pipeline(root *yaml.Node, p *Pipeline) bool {
	root = resolve(root)
	if root.Kind != yaml.MappingNode {
		d.problem(root.Line, "", `expected a mapping with "pipeline:" and "stages:", got %s`, describe(root))
		return false
	}
	var registryEnv []string
	set := map[string]func(field){
		"pipeline":        func(f field) { d.str(f, &p.Name) },
		"kafka":           func(f field) { d.kafka(f, &p.Kafka) },
		"schema_registry": func(f field) { p.SchemaRegistry, registryEnv = d.schemaRegistry(f) },
		"topics":          func(f field) { p.Topics = d.topics(f) },
		"stages":          func(f field) { p.Stages = d.stages(f) },
	}
	// Top-level keys starting with "x-" are skipped: they give YAML anchors
	// shared by several stages a home ("x-defaults: &defaults").
	own := *root
	own.Content = nil
	for i := 0; i+1 < len(root.Content); i += 2 {
		if !strings.HasPrefix(root.Content[i].Value, "x-") {
			own.Content = append(own.Content, root.Content[i], root.Content[i+1])
		}
	}
	d.fields(&own, "", set)
	// The registry password's variables join the Kafka ones: the runtime
	// keeps all of them out of nodes' environments (Kafka.SecretEnv).
	p.Kafka.SecretEnv = mergeSorted(p.Kafka.SecretEnv, registryEnv)
	return true
}

func (d *decoder) kafka(f field, k *Kafka) {
	d.fields(f.val, f.path, map[string]func(field){
		"brokers":   func(f field) { k.Brokers = d.brokers(f) },
		"client_id": func(f field) { d.str(f, &k.ClientID) },
		"tls":       func(f field) { k.TLS = d.tls(f) },
		"sasl":      func(f field) { k.SASL, k.SecretEnv = d.sasl(f) },
	})
}

// brokers takes a list, or one comma-separated string so that
// "brokers: ${KAFKA_BROKERS}" works with the usual a:9092,b:9092 variable.
func (d *decoder) brokers(f field) []string {
	var list []string
	if f.val.Kind == yaml.ScalarNode {
		v, ok := d.scalar(f, "a list")
		for i, b := range splitList(v) {
			if ok && d.checkBroker(f.val.Line, indexPath(f.path, i), b) {
				list = append(list, b)
			}
		}
		return list
	}
	for _, e := range d.items(f) {
		if b, ok := d.scalar(e, "host:port"); ok && d.checkBroker(e.line, e.path, b) {
			list = append(list, b)
		}
	}
	return list
}

func (d *decoder) checkBroker(line int, path, b string) bool {
	if !validBroker(b) {
		d.problem(line, path, "expected host:port such as 127.0.0.1:9092, got %q", b)
		return false
	}
	return true
}

func (d *decoder) topics(f field) []Topic {
	var out []Topic
	for _, e := range d.entries(f.val, f.path, "topic") {
		t := Topic{Name: e.key, Partitions: defaultPartitions, Replication: defaultReplication, Configs: map[string]string{}, Line: e.line}
		d.fields(e.val, e.path, map[string]func(field){
			"partitions":  func(f field) { integer(d, f, &t.Partitions) },
			"replication": func(f field) { integer(d, f, &t.Replication) },
			"configs":     func(f field) { t.Configs = d.strMap(f, "config") },
			// Typed topics (see topics_format.go and doc.go, "Typed topics").
			"format":        func(f field) { d.str(f, &t.Format) },
			"schema":        func(f field) { t.Schemas = d.schemaFiles(f) },
			"compatibility": func(f field) { d.str(f, &t.Compatibility) },
			"wire":          func(f field) { d.str(f, &t.Wire) },
			"subject":       func(f field) { d.str(f, &t.Subject) },
		})
		out = append(out, t)
	}
	return out
}

func (d *decoder) stages(f field) []Stage {
	out := []Stage{}
	for _, e := range d.entries(f.val, f.path, "stage") {
		// Start from the defaults so that only fields present in the file
		// change; an explicit 0 then reaches validation as a mistake.
		s := Stage{Name: e.key, Outputs: map[string]string{}, Line: e.line,
			Node: Node{Env: map[string]string{}, Settings: map[string]string{}}}
		s.applyValueDefaults()
		d.stage(e, &s)
		out = append(out, s)
	}
	return out
}

func (d *decoder) stage(f field, s *Stage) {
	d.fields(f.val, f.path, d.stageFields(s))
}

// stageFields maps every key of a stage to what decodes it into s.
func (d *decoder) stageFields(s *Stage) map[string]func(field) {
	return map[string]func(field){
		"input":              func(f field) { d.str(f, &s.Input) },
		"group":              func(f field) { d.str(f, &s.Group) },
		"outputs":            func(f field) { s.Outputs = d.outputs(f) },
		"dlq":                func(f field) { d.str(f, &s.DLQ) },
		"node":               func(f field) { d.node(f, &s.Node) },
		"workers":            func(f field) { integer(d, f, &s.Workers) },
		"batch":              func(f field) { d.batch(f, &s.Batch) },
		"window":             func(f field) { d.window(f, &s.Window) },
		"timeouts":           func(f field) { d.timeouts(f, &s.Timeouts) },
		"commit_interval":    func(f field) { d.duration(f, &s.CommitInterval) },
		"retries":            func(f field) { integer(d, f, &s.Retries) },
		"backoff":            func(f field) { d.backoff(f, &s.Backoff) },
		"max_start_failures": func(f field) { integer(d, f, &s.MaxStartFailures) },
		"max_frame":          func(f field) { d.size(f, &s.MaxFrame) },
		"delivery":           func(f field) { d.str(f, &s.Delivery) },
		"retry":              func(f field) { d.retry(f, &s.Retry) },
		"dlq_policy":         func(f field) { d.dlqPolicy(f, &s.DLQPolicy) },
		"transaction":        func(f field) { d.transaction(f, &s.Transaction) },
		"assignor":           func(f field) { d.str(f, &s.Assignor) },
	}
}

// outputs is a string map in which an empty topic is a mistake rather than
// "": an output must lead somewhere.
func (d *decoder) outputs(f field) map[string]string {
	out := map[string]string{}
	for _, e := range d.entries(f.val, f.path, "output") {
		if isNull(e.val) {
			d.problem(e.line, e.path, "has no topic: name the topic this output writes to")
			continue
		}
		if v, ok := d.scalar(e, "a topic name"); ok {
			out[e.key] = v
		}
	}
	return out
}

func (d *decoder) node(f field, n *Node) {
	d.fields(f.val, f.path, map[string]func(field){
		"command":  func(f field) { d.str(f, &n.Command) },
		"args":     func(f field) { n.Args = d.strList(f) },
		"env":      func(f field) { n.Env = d.strMap(f, "variable") },
		"dir":      func(f field) { d.str(f, &n.Dir) },
		"settings": func(f field) { n.Settings = d.strMap(f, "setting") },
		"values":   func(f field) { d.str(f, &n.Values) },
	})
}

func (d *decoder) batch(f field, b *Batch) {
	d.fields(f.val, f.path, map[string]func(field){
		"max_records": func(f field) { integer(d, f, &b.MaxRecords) },
		"max_bytes":   func(f field) { d.size(f, &b.MaxBytes) },
	})
}

func (d *decoder) window(f field, w *Window) {
	d.fields(f.val, f.path, map[string]func(field){
		"records": func(f field) { integer(d, f, &w.Records) },
		"bytes":   func(f field) { d.size(f, &w.Bytes) },
		"batches": func(f field) { integer(d, f, &w.Batches) },
	})
}

func (d *decoder) timeouts(f field, t *Timeouts) {
	d.fields(f.val, f.path, map[string]func(field){
		"handshake": func(f field) { d.duration(f, &t.Handshake) },
		"batch":     func(f field) { d.duration(f, &t.Batch) },
		"drain":     func(f field) { d.duration(f, &t.Drain) },
		"shutdown":  func(f field) { d.duration(f, &t.Shutdown) },
	})
}

func (d *decoder) backoff(f field, b *Backoff) {
	d.fields(f.val, f.path, map[string]func(field){
		"initial": func(f field) { d.duration(f, &b.Initial) },
		"max":     func(f field) { d.duration(f, &b.Max) },
	})
}

func (d *decoder) retry(f field, r *Retry) {
	d.fields(f.val, f.path, map[string]func(field){
		"max_attempts": func(f field) { integer(d, f, &r.MaxAttempts) },
		"initial":      func(f field) { d.duration(f, &r.Initial) },
		"max":          func(f field) { d.duration(f, &r.Max) },
	})
}

func (d *decoder) dlqPolicy(f field, p *DLQPolicy) {
	d.fields(f.val, f.path, map[string]func(field){
		"on_write_failure": func(f field) { d.str(f, &p.OnWriteFailure) },
		"max_records":      func(f field) { integer(d, f, &p.MaxRecords) },
		"per":              func(f field) { d.duration(f, &p.Per) },
	})
}

func (d *decoder) transaction(f field, t *Transaction) {
	d.fields(f.val, f.path, map[string]func(field){
		"max_records": func(f field) { integer(d, f, &t.MaxRecords) },
		"interval":    func(f field) { d.duration(f, &t.Interval) },
		"timeout":     func(f field) { d.duration(f, &t.Timeout) },
	})
}
