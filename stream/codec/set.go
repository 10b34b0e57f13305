package codec

// Building a pipeline's codecs (Load) and getting them ready to use
// (Prepare).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/config"
)

func load(p *config.Pipeline) (*Set, error) {
	s := &Set{byTopic: map[string]Codec{}}
	var probs config.Problems
	problem := func(line int, field, format string, args ...any) {
		probs = append(probs, config.Problem{File: p.File, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if p.SchemaRegistry != nil {
		reg, err := newRegistry(p.SchemaRegistry)
		if err != nil {
			problem(p.SchemaRegistry.Line, "schema_registry", "%s", strings.TrimPrefix(err.Error(), "schema_registry: "))
		}
		s.reg = reg
	}
	for i := range p.Topics {
		t := &p.Topics[i]
		base := topicField(t.Name)
		switch t.Format {
		case config.FormatRaw, "":
			continue // For gives raw for any topic not in byTopic
		case config.FormatJSON:
			s.byTopic[t.Name] = jsonCodec{topic: t.Name}
			continue
		case config.FormatAvro:
		default:
			problem(t.Line, base+".format", "unknown format %s (raw, json or avro)", strconv.Quote(t.Format))
			continue
		}
		// config validates these; a Pipeline built by hand may not be.
		if len(t.Schemas) == 0 {
			problem(t.Line, base+".schema", "format: avro needs schema: a .avsc file, or a list of versions oldest first")
			continue
		}
		if t.Wire == config.WireConfluent && p.SchemaRegistry == nil {
			problem(t.Line, base+".wire", "confluent needs schema_registry.url, the registry that holds the topic's schemas")
			continue
		}
		versions, vprobs := loadVersions(p, t)
		probs = append(probs, vprobs...)
		if len(vprobs) > 0 {
			continue
		}
		c, err := newAvroCodec(t, versions, s.reg)
		if err != nil {
			last := len(t.Schemas) - 1
			problem(t.Schemas[last].Line, schemaField(t, last), "%s: %v", versions[last].path, err)
			continue
		}
		s.byTopic[t.Name] = c
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return s, nil
}

// loadVersions parses a topic's schema files and checks each version
// keeps the topic's compatibility rule with every earlier one.
func loadVersions(p *config.Pipeline, t *config.Topic) ([]*schemaVersion, config.Problems) {
	var probs config.Problems
	versions := make([]*schemaVersion, len(t.Schemas))
	for i, sf := range t.Schemas {
		v, err := readSchemaFile(sf.Path)
		if err != nil {
			probs = append(probs, config.Problem{File: p.File, Line: sf.Line, Field: schemaField(t, i), Message: err.Error()})
			continue
		}
		versions[i] = v
	}
	if len(probs) > 0 || t.Compatibility == config.CompatNone {
		return versions, probs
	}
	mode := t.Compatibility
	if mode == "" {
		mode = config.CompatBackward
	}
	for i := 1; i < len(versions); i++ {
		for j := range i {
			for _, reason := range incompatibilities(mode, versions[j].schema, versions[i].schema) {
				probs = append(probs, config.Problem{
					File: p.File, Line: t.Schemas[i].Line, Field: schemaField(t, i),
					Message: fmt.Sprintf("%s is not %s compatible with %s: %s", versions[i].base, modeWord(mode), versions[j].base, reason),
				})
			}
		}
	}
	return versions, probs
}

func modeWord(mode string) string {
	if mode == config.CompatFull {
		return "fully"
	}
	return mode
}

// topicField is config's path of a topic: topics.x, or topics["events.parsed"]
// when the name would be ambiguous in a dotted path (config/paths.go).
func topicField(name string) string {
	plain := name != ""
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			plain = false
			break
		}
	}
	if plain {
		return "topics." + name
	}
	return "topics[" + strconv.Quote(name) + "]"
}

// schemaField is the path of a topic's i-th schema version: .schema when
// there is one (written as a scalar, the usual way), .schema[i] in a list.
func schemaField(t *config.Topic, i int) string {
	if len(t.Schemas) == 1 {
		return topicField(t.Name) + ".schema"
	}
	return topicField(t.Name) + ".schema[" + strconv.Itoa(i) + "]"
}

func (s *Set) prepare(ctx context.Context, topics []string) error {
	if s == nil {
		return nil
	}
	var errs []error
	prepared := func(c Codec) {
		if ac, ok := c.(*avroCodec); ok && ac.wire == config.WireConfluent {
			if err := ac.prepare(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(topics) == 0 {
		for _, c := range s.byTopic {
			prepared(c)
		}
	}
	seen := map[string]bool{}
	for _, t := range topics {
		if !seen[t] {
			seen[t] = true
			prepared(s.For(t))
		}
	}
	return errors.Join(errs...)
}
