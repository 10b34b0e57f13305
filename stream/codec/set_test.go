package codec

import (
	"context"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/config"
)

func loadProblems(t *testing.T, p *config.Pipeline) []string {
	t.Helper()
	_, err := Load(p)
	var probs config.Problems
	if !errors.As(err, &probs) {
		t.Fatalf("Load: %v (%T), want config.Problems", err, err)
	}
	var out []string
	for _, pr := range probs {
		out = append(out, pr.Error())
	}
	return out
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems:\n%q\nwant %d:\n%q", len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("problem %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

func TestLoadProblems(t *testing.T) {
	bad := avroTopic("events.parsed", "testdata/core/reading.v1.avsc", "testdata/core/invalid.avsc", "testdata/core/missing.avsc")
	one := avroTopic("single", "testdata/core/invalid.avsc")
	one.Line = 20
	one.Schemas[0].Line = 22
	got := loadProblems(t, &config.Pipeline{File: "pipelines/p.yaml", Topics: []config.Topic{bad, one}})
	sameLines(t, got, []string{
		`pipelines/p.yaml:6: topics["events.parsed"].schema[1]: testdata/core/invalid.avsc: not a valid Avro schema: unknown type: nosuchtype`,
		`pipelines/p.yaml:7: topics["events.parsed"].schema[2]: testdata/core/missing.avsc: cannot read: no such file or directory`,
		`pipelines/p.yaml:22: topics.single.schema: testdata/core/invalid.avsc: not a valid Avro schema: unknown type: nosuchtype`,
	})
}

func TestLoadCompatibility(t *testing.T) {
	topic := func(mode string) config.Topic {
		tp := avroTopic("events.parsed", "testdata/core/reading.v1.avsc", "testdata/core/reading.v2.avsc", "testdata/core/reading.v3-broken.avsc")
		tp.Compatibility = mode
		return tp
	}
	// backward (the default): v3 cannot read v1 or v2 records (unit has no default).
	got := loadProblems(t, &config.Pipeline{File: "p.yaml", Topics: []config.Topic{topic("")}})
	if len(got) < 2 {
		t.Fatalf("got %q", got)
	}
	for i, prefix := range []string{
		"p.yaml:7: topics[\"events.parsed\"].schema[2]: reading.v3-broken.avsc is not backward compatible with reading.v1.avsc: ",
	} {
		if len(got[i]) < len(prefix) || got[i][:len(prefix)] != prefix {
			t.Errorf("problem %d: %s\nwant prefix %s", i, got[i], prefix)
		}
	}
	for _, g := range got {
		t.Log(g)
	}
	// none: the versions are not compared.
	if _, err := Load(&config.Pipeline{File: "p.yaml", Topics: []config.Topic{topic(config.CompatNone)}}); err != nil {
		t.Errorf("compatibility none: %v", err)
	}
	// full: v2 adds site with a default and drops legacy (no default): forward breaks.
	full := avroTopic("events.parsed", "testdata/core/reading.v1.avsc", "testdata/core/reading.v2.avsc")
	full.Compatibility = config.CompatFull
	for _, g := range loadProblems(t, &config.Pipeline{File: "p.yaml", Topics: []config.Topic{full}}) {
		prefix := `p.yaml:6: topics["events.parsed"].schema[1]: reading.v2.avsc is not fully compatible with reading.v1.avsc: `
		if len(g) < len(prefix) || g[:len(prefix)] != prefix {
			t.Errorf("got %s\nwant prefix %s", g, prefix)
		}
	}
}

// A Pipeline built by hand (not through config) gets clear problems
// where config would have refused it.
func TestLoadDefensive(t *testing.T) {
	noSchema := config.Topic{Name: "a", Format: config.FormatAvro, Line: 4}
	confluent := avroTopic("b", sensorSchema)
	confluent.Wire = config.WireConfluent
	odd := config.Topic{Name: "c", Format: "xml", Line: 9}
	got := loadProblems(t, &config.Pipeline{File: "p.yaml", Topics: []config.Topic{noSchema, confluent, odd}})
	sameLines(t, got, []string{
		`p.yaml:4: topics.a.schema: format: avro needs schema: a .avsc file, or a list of versions oldest first`,
		`p.yaml:3: topics.b.wire: confluent needs schema_registry.url, the registry that holds the topic's schemas`,
		`p.yaml:9: topics.c.format: unknown format "xml" (raw, json or avro)`,
	})
}

func TestSetFor(t *testing.T) {
	s := loadTopics(t,
		avroTopic("events.parsed", sensorSchema),
		config.Topic{Name: "archives", Format: config.FormatJSON},
		config.Topic{Name: "events.raw", Format: config.FormatRaw},
	)
	for topic, format := range map[string]string{
		"events.parsed": config.FormatAvro, "archives": config.FormatJSON,
		"events.raw": config.FormatRaw, "elsewhere": config.FormatRaw,
	} {
		if c := s.For(topic); c.Format() != format || c.Topic() != topic {
			t.Errorf("For(%q): %s %s", topic, c.Topic(), c.Format())
		}
	}
	// Nothing to prepare without Confluent topics.
	if err := s.Prepare(context.Background(), "events.parsed", "archives"); err != nil {
		t.Errorf("Prepare: %v", err)
	}
	if err := s.Prepare(context.Background()); err != nil {
		t.Errorf("Prepare: %v", err)
	}
}
