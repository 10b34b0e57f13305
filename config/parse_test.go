package config

import (
	"errors"
	"strings"
	"testing"
)

// TestProblemText pins the exact message for each class of problem. Extra
// lines start at line 10 of stageFile.
func TestProblemText(t *testing.T) {
	for _, tc := range []struct{ name, extra, want string }{
		// unknown fields
		{"typo suggests", "    workres: 2\n",
			`p.yaml:10: stages.s.workres: unknown field "workres" (did you mean "workers"?)`},
		{"typo nested", "    timeouts: {handshak: 1s}\n",
			`p.yaml:10: stages.s.timeouts.handshak: unknown field "handshak" (did you mean "handshake"?)`},
		{"far off lists known", "    timeouts: {later: 1s}\n",
			`p.yaml:10: stages.s.timeouts.later: unknown field "later" (known fields: batch, drain, handshake, shutdown)`},
		{"top level", "stagse: {}\n",
			`p.yaml:10: stagse: unknown field "stagse" (did you mean "stages"?)`},
		// mistyped values
		{"integer", "    workers: two\n",
			`p.yaml:10: stages.s.workers: expected an integer, got "two"`},
		{"integer from float", "    retries: 2.5\n",
			`p.yaml:10: stages.s.retries: expected an integer, got "2.5"`},
		{"integer overflow", "    workers: 99999999999999999999\n",
			`p.yaml:10: stages.s.workers: 99999999999999999999 is too large for this field`},
		{"size", "    window: {bytes: lots}\n",
			`p.yaml:10: stages.s.window.bytes: expected a size such as 64MiB or 1048576, got "lots"`},
		{"size bad unit", "    max_frame: 16MB/s\n",
			`p.yaml:10: stages.s.max_frame: expected a size such as 64MiB or 1048576, got "16MB/s" (a size, not a rate: write 16MB)`},
		{"duration", "    commit_interval: soon\n",
			`p.yaml:10: stages.s.commit_interval: expected a duration such as 250ms or 10s, got "soon"`},
		{"duration without unit", "    timeouts: {batch: 30}\n",
			`p.yaml:10: stages.s.timeouts.batch: expected a duration such as 250ms or 10s, got "30" (add a unit: 30s or 30ms)`},
		{"list", "  t:\n    input: out\n    node: {command: x, args: --verbose}\n",
			`p.yaml:12: stages.t.node.args: expected a list, got "--verbose"`},
		{"list of mappings", "kafka: {brokers: {a: 1}}\n",
			`p.yaml:10: kafka.brokers: expected a list, got a mapping`},
		{"mapping", "    batch: 500\n",
			`p.yaml:10: stages.s.batch: expected a mapping, got "500"`},
		{"string", "kafka: {client_id: [a]}\n",
			`p.yaml:10: kafka.client_id: expected a string, got a list`},
		{"string map", "  t:\n    input: out\n    node: {command: x, env: [A=1]}\n",
			`p.yaml:12: stages.t.node.env: expected a mapping, got a list`},
		{"broker", "kafka: {brokers: [a:9092, localhost]}\n",
			`p.yaml:10: kafka.brokers[1]: expected host:port such as 127.0.0.1:9092, got "localhost"`},
		{"broker after env problem", "kafka: {brokers: [\"${SLUICE_T_NOPE}\", localhost]}\n",
			"p.yaml:10: kafka.brokers[0]: environment variable SLUICE_T_NOPE is not set (use ${SLUICE_T_NOPE:-default} for a fallback)\n" +
				`p.yaml:10: kafka.brokers[1]: expected host:port such as 127.0.0.1:9092, got "localhost"`},
		{"brokers as one string", "kafka: {brokers: \"a:1,b\"}\n",
			`p.yaml:10: kafka.brokers[1]: expected host:port such as 127.0.0.1:9092, got "b"`},
		// duplicates
		{"duplicate stage", "  s: {}\n",
			`p.yaml:10: stages.s: stage "s" is defined twice (lines 6 and 10): rename or remove one`},
		// ranges
		{"workers zero", "    workers: 0\n",
			`p.yaml:10: stages.s.workers: must be between 1 and 256, got 0`},
		{"retries", "    retries: 101\n",
			`p.yaml:10: stages.s.retries: must be between 1 and 100, got 101`},
		{"window batches", "    window: {batches: 2000}\n",
			`p.yaml:10: stages.s.window.batches: must be between 1 and 1024, got 2000`},
		{"batch records", "    batch: {max_records: 0}\n",
			`p.yaml:10: stages.s.batch.max_records: must be at least 1, got 0`},
		{"batch bytes", "    batch: {max_bytes: 512}\n",
			`p.yaml:10: stages.s.batch.max_bytes: must be at least 1KiB, got 512B`},
		{"frame", "    max_frame: 2GiB\n",
			`p.yaml:10: stages.s.max_frame: must be between 1KiB and 1GiB, got 2GiB`},
		{"start failures", "    max_start_failures: 0\n",
			`p.yaml:10: stages.s.max_start_failures: must be at least 1, got 0`},
		{"drain", "    timeouts: {drain: 0s}\n",
			`p.yaml:10: stages.s.timeouts.drain: must be greater than 0, got 0s`},
		{"batch timeout", "    timeouts: {batch: -1s}\n",
			`p.yaml:10: stages.s.timeouts.batch: must be greater than 0, got -1s`},
		// cross-field
		{"batch over frame", "    batch: {max_bytes: 32MiB}\n",
			`p.yaml:10: stages.s.batch.max_bytes (32MiB) exceeds stages.s.max_frame (16MiB): raise max_frame or lower batch.max_bytes`},
		{"frame under batch", "    max_frame: 512KiB\n",
			`p.yaml:10: stages.s.batch.max_bytes (1MiB) exceeds stages.s.max_frame (512KiB): raise max_frame or lower batch.max_bytes`},
		{"window records", "    window: {records: 100}\n",
			`p.yaml:10: stages.s.window.records (100) is smaller than stages.s.batch.max_records (500): the window could never hold a full batch: raise window.records or lower batch.max_records`},
		{"window bytes", "    window: {bytes: 512KiB}\n",
			`p.yaml:10: stages.s.window.bytes (512KiB) is smaller than stages.s.batch.max_bytes (1MiB): the window could never hold a full batch: raise window.bytes or lower batch.max_bytes`},
		{"backoff", "    backoff: {initial: 1m}\n",
			`p.yaml:10: stages.s.backoff.initial (1m) exceeds stages.s.backoff.max (10s): lower backoff.initial or raise backoff.max`},
		// delivery
		// retries, DLQ policy, transactions, assignor
		{"retry attempts", "    retry: {max_attempts: 0}\n",
			`p.yaml:10: stages.s.retry.max_attempts: must be between 1 and 100, got 0`},
		{"retry backoff", "    retry: {initial: 1m, max: 1s}\n",
			`p.yaml:10: stages.s.retry.initial (1m) exceeds stages.s.retry.max (1s): lower retry.initial or raise retry.max`},
		{"dlq write policy", "    dlq_policy: {on_write_failure: ignore}\n",
			`p.yaml:10: stages.s.dlq_policy.on_write_failure: expected stop, retry or drop, got "ignore"`},
		{"dlq cap", "    dlq_policy: {max_records: -1}\n",
			`p.yaml:10: stages.s.dlq_policy.max_records: must be at least 0, got -1`},
		{"dlq per", "    dlq_policy: {per: 0s}\n",
			`p.yaml:10: stages.s.dlq_policy.per: must be greater than 0, got 0s`},
		{"txn records", "    transaction: {max_records: 0}\n",
			`p.yaml:10: stages.s.transaction.max_records: must be at least 1, got 0`},
		{"txn timeout", "    transaction: {timeout: 1h}\n",
			`p.yaml:10: stages.s.transaction.timeout: must be at most 15m (Kafka's default transaction.max.timeout.ms refuses longer), got 1h`},
		{"txn interval", "    transaction: {interval: 2m, timeout: 1m}\n",
			`p.yaml:10: stages.s.transaction.interval (2m) must be shorter than stages.s.transaction.timeout (1m): the broker would abort every transaction`},
		{"assignor", "    assignor: roundrobin\n",
			`p.yaml:10: stages.s.assignor: expected cooperative-sticky, sticky, range or round-robin, got "roundrobin" (did you mean "round-robin"?)`},
		{"unknown delivery", "    delivery: at-most-once\n",
			`p.yaml:10: stages.s.delivery: expected at-least-once or exactly-once, got "at-most-once"`},
		// topics
		{"undeclared dlq", "    dlq: errors\n",
			`p.yaml:10: stages.s.dlq: topic "errors" is not declared under topics (declared: in, out)`},
		{"dlq loops", "    dlq: in\n",
			`p.yaml:10: stages.s.dlq: topic "in" would loop: it is the stage's input topic`},
		{"dlq is output", "    dlq: out\n",
			`p.yaml:10: stages.s.dlq: topic "out" is also the stage's output "default": dead letters would mix with results; give the DLQ its own topic`},
		{"second stage group", "  t:\n    input: out\n    group: sluice.p.s\n    node: {command: x}\n",
			`p.yaml:12: stages.t.group: consumer group "sluice.p.s" is also used by stage "s": give each stage its own group`},
		// environment
		{"unset variable", "    group: ${KAFKA_GROUP}\n",
			`p.yaml:10: stages.s.group: environment variable KAFKA_GROUP is not set (use ${KAFKA_GROUP:-default} for a fallback)`},
		{"mistyped variable", "    workers: ${SLUICE_TEST_TWO}\n",
			`p.yaml:10: stages.s.workers: expected an integer, got "two" (from "${SLUICE_TEST_TWO}")`},
		{"unterminated variable", "    group: ${X\n",
			`p.yaml:10: stages.s.group: unterminated "${": close it with "}" (write $$ for a literal $)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SLUICE_TEST_TWO", "two")
			assertErr(t, parseErr(t, stageFile+tc.extra), tc.want)
		})
	}
}

// TestWholeFileProblems covers problems that need their own file.
func TestWholeFileProblems(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"empty", "", `p.yaml: the file is empty; a pipeline needs "pipeline:" and "stages:"`},
		{"only comments", "# nothing yet\n\n", `p.yaml: the file is empty; a pipeline needs "pipeline:" and "stages:"`},
		{"syntax", "pipeline: p\nstages:\n  s: {input: [a\n", `p.yaml:3: invalid YAML: did not find expected ',' or ']'`},
		{"syntax scanner", "pipeline: p\nstages:\n  s:\n    input: a\n    node: b: c\n", `p.yaml:5: invalid YAML: mapping values are not allowed in this context`},
		{"typo of a required field", "pipline: p\nstages:\n  s: {input: in, node: {command: x}}\ntopics: {in: {}}\n",
			`p.yaml:1: pipline: unknown field "pipline" (did you mean "pipeline"?)`},
		{"unknown anchor", "pipeline: p\nstages: *nope\n", `p.yaml: invalid YAML: unknown anchor 'nope' referenced`},
		{"not a mapping", "- a\n- b\n", `p.yaml:1: expected a mapping with "pipeline:" and "stages:", got a list`},
		{"no stages", "pipeline: p\n", `p.yaml: stages: is required: declare at least one stage under "stages:"`},
		{"empty stages", "pipeline: p\nstages: {}\n", `p.yaml:2: stages: has no stages: declare at least one stage under it`},
		{"two documents", stageFile + "---\npipeline: q\n", `p.yaml:10: the file holds more than one YAML document ("---"); a pipeline file holds exactly one`},
		{"bad names", "pipeline: my pipeline\ntopics:\n  'a b': {partitions: 0, replication: 0}\n  ..: {}\nstages:\n  'my stage':\n    input: 'a b'\n    node: {command: x}\n", `
p.yaml:1: pipeline: invalid name "my pipeline": use only letters, digits, '.', '_' and '-'
p.yaml:3: topics["a b"]: invalid topic name "a b": Kafka allows only letters, digits, '.', '_' and '-'
p.yaml:3: topics["a b"].partitions: must be at least 1, got 0
p.yaml:3: topics["a b"].replication: must be -1 (the broker default) or at least 1, got 0
p.yaml:4: topics[".."]: topic name ".." is not allowed by Kafka: choose another name
p.yaml:6: stages["my stage"]: invalid stage name "my stage": use only letters, digits, '.', '_' and '-'`},
		{"long topic", "pipeline: p\ntopics:\n  " + strings.Repeat("t", 250) + ": {}\nstages:\n  s: {input: in, node: {command: x}}\n", `
p.yaml:3: topics.` + strings.Repeat("t", 250) + `: topic name is 250 characters long; Kafka allows at most 249
p.yaml:5: stages.s.input: topic "in" is not declared under topics (declared: ` + strings.Repeat("t", 250) + `)`},
		{"dotted topic paths", "pipeline: p\ntopics:\n  events.in:\n    partitions: x\n    configs: {retention.ms: [1]}\nstages:\n  s: {input: events.in, node: {command: x}}\n", `
p.yaml:4: topics["events.in"].partitions: expected an integer, got "x"
p.yaml:5: topics["events.in"].configs["retention.ms"]: expected a string, got a list`},
		{"output loops", "pipeline: p\ntopics: {in: {}, out: {}}\nstages:\n  s:\n    input: in\n    outputs:\n      default: in\n      audit: ot\n    node: {command: x}\n", `
p.yaml:7: stages.s.outputs.default: topic "in" would loop: it is the stage's input topic
p.yaml:8: stages.s.outputs.audit: topic "ot" is not declared under topics (declared: in, out); did you mean "out"?`},
		{"output without topic", "pipeline: p\ntopics: {in: {}}\nstages:\n  s:\n    input: in\n    outputs:\n      default:\n    node: {command: x}\n",
			`p.yaml:7: stages.s.outputs.default: has no topic: name the topic this output writes to`},
		{"duplicate field", "pipeline: p\ntopics: {in: {}}\nstages:\n  s:\n    input: in\n    workers: 1\n    node: {command: x}\n    workers: 2\n",
			`p.yaml:8: stages.s.workers: "workers" is set twice (lines 6 and 8): keep one`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertErr(t, parseErr(t, tc.src), expand(tc.want, "p.yaml"))
		})
	}
}

// TestAllProblemsAtOnce: one run must list every mistake, sorted by line,
// so the user fixes the file in one go.
func TestAllProblemsAtOnce(t *testing.T) {
	src := `pipeline: p
topics:
  in: {partitions: 0}
stages:
  b:
    input: missing
    workers: many
    node: {comand: x}
  a:
    node: {command: x}
    delivery: exactly-twice
`
	want := `p.yaml:3: topics.in.partitions: must be at least 1, got 0
p.yaml:6: stages.b.input: topic "missing" is not declared under topics (declared: in)
p.yaml:7: stages.b.workers: expected an integer, got "many"
p.yaml:8: stages.b.node.comand: unknown field "comand" (did you mean "command"?)
p.yaml:9: stages.a.input: is required: name the topic this stage consumes
p.yaml:11: stages.a.delivery: expected at-least-once or exactly-once, got "exactly-twice"`
	err := parseErr(t, src)
	assertErr(t, err, want)
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 6 {
		t.Fatalf("want Problems with 6 entries, got %T %d", err, len(ps))
	}
	if ps[2] != (Problem{File: "p.yaml", Line: 7, Field: "stages.b.workers", Message: `expected an integer, got "many"`}) {
		t.Errorf("structured problem: %+v", ps[2])
	}
}
