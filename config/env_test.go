package config

import (
	"reflect"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	t.Setenv("SLUICE_T_SET", "v")
	t.Setenv("SLUICE_T_EMPTY", "")
	for _, tc := range []struct {
		in, want string
		errs     []string
	}{
		{"plain", "plain", nil},
		{"${SLUICE_T_SET}", "v", nil},
		{"a-${SLUICE_T_SET}-b", "a-v-b", nil},
		{"${SLUICE_T_UNSET:-d}", "d", nil},
		{"${SLUICE_T_EMPTY:-d}", "d", nil},
		{"${SLUICE_T_EMPTY}", "", nil},
		{"${SLUICE_T_SET:-d}", "v", nil},
		{"${SLUICE_T_UNSET:-}", "", nil},
		{"$${SLUICE_T_SET}", "${SLUICE_T_SET}", nil},
		{"cost: $$5", "cost: $5", nil},
		{"^a$", "^a$", nil},
		{"$HOME", "$HOME", nil},
		{"${SLUICE_T_UNSET}", "", []string{"environment variable SLUICE_T_UNSET is not set (use ${SLUICE_T_UNSET:-default} for a fallback)"}},
		{"${A B}", "", []string{`invalid environment variable name "A B" in ${A B}: use letters, digits and _ (write $$ for a literal $)`}},
		{"x${", "x${", []string{`unterminated "${": close it with "}" (write $$ for a literal $)`}},
	} {
		got, errs := expandEnv(tc.in)
		if got != tc.want || !reflect.DeepEqual(errs, tc.errs) {
			t.Errorf("expandEnv(%q) = %q, %q; want %q, %q", tc.in, got, errs, tc.want, tc.errs)
		}
	}
}

// TestParseExpandsEnv: variables work in values of every type, and a
// variable's content is data, never YAML.
func TestParseExpandsEnv(t *testing.T) {
	t.Setenv("SLUICE_T_BROKERS", "b1:9092, b2:9092")
	t.Setenv("SLUICE_T_WORKERS", "6")
	t.Setenv("SLUICE_T_INPUT", "in")
	t.Setenv("SLUICE_T_CMD", "bin/n\nworkers: 9")
	p := mustParse(t, `pipeline: p
kafka:
  brokers: ${SLUICE_T_BROKERS}
topics: {in: {}}
stages:
  s:
    input: ${SLUICE_T_INPUT}
    workers: ${SLUICE_T_WORKERS}
    max_frame: ${SLUICE_T_FRAME:-32MiB}
    node:
      command: ${SLUICE_T_CMD}
      args: ["--at=${SLUICE_T_INPUT}"]
`)
	s := p.Stages[0]
	if !reflect.DeepEqual(p.Kafka.Brokers, []string{"b1:9092", "b2:9092"}) {
		t.Errorf("brokers: %q", p.Kafka.Brokers)
	}
	if s.Input != "in" || s.Workers != 6 || s.MaxFrame != 32<<20 || s.Node.Args[0] != "--at=in" {
		t.Errorf("stage: %+v", s)
	}
	if s.Node.Command != "bin/n\nworkers: 9" {
		t.Errorf("command: %q", s.Node.Command)
	}
}
