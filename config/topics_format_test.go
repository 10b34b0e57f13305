package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sensorSchema is a schema file of the repository; paths in Parse("p.yaml")
// files are relative to this package's directory.
const sensorSchema = "../testdata/schemas/sensor_event.avsc"

// typedFile is a valid file with typed topics: in (avro, one version),
// out (json) and a stage between them. The topics come last, so that
// topics written after it (indent 2) start at line 12.
const typedFile = `pipeline: p
stages:
  s:
    input: in
    outputs: {default: out}
    node: {command: bin/n}
topics:
  in:
    format: avro
    schema: ` + sensorSchema + `
  out: {format: json}
`

// TestTypedTopicsDecode: every new key reaches the structs, with the
// defaults where the file is silent.
func TestTypedTopicsDecode(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"v1.avsc", "v2.avsc", "sub/v3.avsc"} {
		writeTestFile(t, filepath.Join(dir, f), `{"type": "string"}`)
	}
	abs := filepath.Join(dir, "v1.avsc")
	path := writeTestFile(t, filepath.Join(dir, "p.yaml"), `pipeline: p
schema_registry:
  url: [http://sr-1:8081, "https://sr-2/apis/ccompat/v7/"]
  username: sluice
  password: ${SLUICE_T_SR_PW}
topics:
  a:
    format: avro
    schema: v1.avsc
  b:
    format: avro
    schema:
      - `+abs+`
      - v2.avsc
      - sub/v3.avsc
    compatibility: full
    wire: confluent
    subject: b-events
  c: {format: json}
  d: {}
stages:
  s:
    input: a
    outputs: {default: b}
    node: {command: x, values: raw}
  t:
    input: b
    node: {command: x}
`)
	t.Setenv("SLUICE_T_SR_PW", "s3cret")
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Topic{
		{Name: "a", Partitions: 1, Replication: -1, Configs: map[string]string{}, Line: 7, Format: FormatAvro,
			Schemas: []SchemaFile{{Path: filepath.Join(dir, "v1.avsc"), Line: 9}}, Compatibility: CompatBackward, Wire: WireSingleObject},
		{Name: "b", Partitions: 1, Replication: -1, Configs: map[string]string{}, Line: 10, Format: FormatAvro,
			Schemas:       []SchemaFile{{Path: abs, Line: 13}, {Path: filepath.Join(dir, "v2.avsc"), Line: 14}, {Path: filepath.Join(dir, "sub", "v3.avsc"), Line: 15}},
			Compatibility: CompatFull, Wire: WireConfluent, Subject: "b-events"},
		{Name: "c", Partitions: 1, Replication: -1, Configs: map[string]string{}, Line: 19, Format: FormatJSON, Compatibility: CompatBackward, Wire: WireSingleObject},
		{Name: "d", Partitions: 1, Replication: -1, Configs: map[string]string{}, Line: 20, Format: FormatRaw, Compatibility: CompatBackward, Wire: WireSingleObject},
		{Name: "s.dlq", Partitions: 1, Replication: -1, Configs: map[string]string{}, Format: FormatRaw, Compatibility: CompatBackward, Wire: WireSingleObject},
		{Name: "t.dlq", Partitions: 1, Replication: -1, Configs: map[string]string{}, Format: FormatRaw, Compatibility: CompatBackward, Wire: WireSingleObject},
	}
	if !reflect.DeepEqual(p.Topics, want) {
		t.Errorf("topics:\n got %+v\nwant %+v", p.Topics, want)
	}
	r := p.SchemaRegistry
	if r == nil {
		t.Fatal("no schema registry")
	}
	if !reflect.DeepEqual(r.URLs, []string{"http://sr-1:8081", "https://sr-2/apis/ccompat/v7"}) || r.Username != "sluice" ||
		r.Password.Reveal() != "s3cret" || r.PasswordFile != "" || r.Line != 2 {
		t.Errorf("schema registry: %+v (password %q)", *r, r.Password.Reveal())
	}
	if !reflect.DeepEqual(p.Kafka.SecretEnv, []string{"SLUICE_T_SR_PW"}) {
		t.Errorf("SecretEnv = %v, want the registry password's variable", p.Kafka.SecretEnv)
	}
	if v := p.Stages[0].Node.Values; v != NodeValuesRaw {
		t.Errorf("stage s: node.values %q", v)
	}
	if v := p.Stages[1].Node.Values; v != NodeValuesDecoded {
		t.Errorf("stage t: node.values %q, want the default", v)
	}
}

// TestRegistrySecrets: the password from a file, the variables of Kafka's
// and the registry's passwords merged for the runtime to hide, and no
// printout of the pipeline showing a password.
func TestRegistrySecrets(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "sr.pw"), "file-secret\n")
	t.Setenv("SLUICE_T_KAFKA_PW", "kafka-secret")
	t.Setenv("SLUICE_T_SR_PW", "sr-secret")
	p, err := Load(writeTestFile(t, filepath.Join(dir, "p.yaml"), `pipeline: p
kafka:
  sasl: {mechanism: PLAIN, username: u, password: "${SLUICE_T_KAFKA_PW}"}
schema_registry: {url: "http://sr:8081", username: u, password_file: sr.pw}
topics: {in: {}}
stages:
  s: {input: in, node: {command: x}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.SchemaRegistry.Password.Reveal(); got != "file-secret" {
		t.Errorf("password from file = %q", got)
	}
	if p.SchemaRegistry.PasswordFile != filepath.Join(dir, "sr.pw") {
		t.Errorf("password_file = %q, want it resolved against the file's directory", p.SchemaRegistry.PasswordFile)
	}
	if !reflect.DeepEqual(p.Kafka.SecretEnv, []string{"SLUICE_T_KAFKA_PW"}) {
		t.Errorf("SecretEnv = %v", p.Kafka.SecretEnv)
	}

	// Both passwords from variables, one of them twice: sorted, once.
	p, err = Parse("p.yaml", []byte(`pipeline: p
schema_registry: {url: "http://sr:8081", username: u, password: "${SLUICE_T_SR_PW}:${SLUICE_T_KAFKA_PW}"}
kafka:
  sasl: {mechanism: PLAIN, username: u, password: "${SLUICE_T_KAFKA_PW}"}
topics: {in: {}}
stages:
  s: {input: in, node: {command: x}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"SLUICE_T_KAFKA_PW", "SLUICE_T_SR_PW"}; !reflect.DeepEqual(p.Kafka.SecretEnv, want) {
		t.Errorf("SecretEnv = %v, want %v", p.Kafka.SecretEnv, want)
	}
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		if out := fmt.Sprintf(verb, p); strings.Contains(out, "sr-secret") || strings.Contains(out, "kafka-secret") {
			t.Errorf("%s of the pipeline shows a password: %s", verb, out)
		}
	}
}

// TestTypedTopicProblems pins the message of each mistake in the typed
// topic keys. Extra lines start at line 12 of typedFile.
func TestTypedTopicProblems(t *testing.T) {
	t.Setenv("SLUICE_T_UNSET", "")
	os.Unsetenv("SLUICE_T_UNSET")
	t.Setenv("SLUICE_T_EMPTY", "")
	for _, tc := range []struct{ name, extra, want string }{
		// format
		{"format typo", "  x: {format: arvo, schema: " + sensorSchema + "}\n",
			`p.yaml:12: topics.x.format: expected raw, json or avro, got "arvo" (did you mean "avro"?)`},
		{"format far off", "  x: {format: protobuf}\n",
			`p.yaml:12: topics.x.format: expected raw, json or avro, got "protobuf"`},
		{"format case", "  x: {format: JSON}\n",
			`p.yaml:12: topics.x.format: expected raw, json or avro, got "JSON" (did you mean "json"?)`},
		// schema
		{"avro without schema", "  x: {format: avro}\n",
			`p.yaml:12: topics.x.schema: format: avro needs schema: a .avsc file, or a list of versions oldest first (schema: [event.v1.avsc, event.v2.avsc])`},
		{"avro with empty list", "  x:\n    format: avro\n    schema: []\n",
			`p.yaml:14: topics.x.schema: format: avro needs schema: a .avsc file, or a list of versions oldest first (schema: [event.v1.avsc, event.v2.avsc])`},
		{"schema on a raw topic", "  x:\n    schema: " + sensorSchema + "\n",
			`p.yaml:13: topics.x.schema: schema only applies to format: avro, and this topic's format is raw (the default): add format: avro, or remove schema`},
		{"schema on a json topic", "  x:\n    format: json\n    schema: " + sensorSchema + "\n    wire: confluent\n",
			`p.yaml:14: topics.x.schema: schema and wire only apply to format: avro, and this topic's format is json: set format: avro, or remove schema and wire`},
		{"compatibility on a raw topic", "  x: {compatibility: full}\n",
			`p.yaml:12: topics.x.compatibility: compatibility only applies to format: avro, and this topic's format is raw (the default): add format: avro, or remove compatibility`},
		{"schema missing", "  x: {format: avro, schema: nope.avsc}\n",
			`p.yaml:12: topics.x.schema: file not found: nope.avsc`},
		{"schema missing, absolute", "  x: {format: avro, schema: /nonexistent/sluice/e.avsc}\n",
			`p.yaml:12: topics.x.schema: file not found: /nonexistent/sluice/e.avsc`},
		{"schema version missing", "  x:\n    format: avro\n    schema:\n      - " + sensorSchema + "\n      - v2.avsc\n",
			`p.yaml:16: topics.x.schema[1]: file not found: v2.avsc`},
		{"schema list of one", "  x:\n    format: avro\n    schema: [v1.avsc]\n",
			`p.yaml:14: topics.x.schema[0]: file not found: v1.avsc`},
		{"schema is a directory", "  x: {format: avro, schema: ../testdata/schemas}\n",
			`p.yaml:12: topics.x.schema: ../testdata/schemas is a directory, not a .avsc file`},
		{"schema listed twice", "  x:\n    format: avro\n    schema: [" + sensorSchema + ", " + sensorSchema + "]\n",
			`p.yaml:14: topics.x.schema[1]: ` + sensorSchema + ` is listed twice (also schema[0]): list each version once`},
		{"schema mapping", "  x: {format: avro, schema: {v1: a.avsc}}\n",
			`p.yaml:12: topics.x.schema: expected a .avsc file, or a list of them (the versions, oldest first), got a mapping`},
		{"schema empty entry", "  x: {format: avro, schema: [\"\"]}\n",
			`p.yaml:12: topics.x.schema[0]: is empty: name a .avsc file`},
		{"schema unset variable", "  x: {format: avro, schema: \"${SLUICE_T_UNSET}\"}\n",
			`p.yaml:12: topics.x.schema: environment variable SLUICE_T_UNSET is not set (use ${SLUICE_T_UNSET:-default} for a fallback)`},
		{"schemas misspelt", "  x: {format: avro, schemas: " + sensorSchema + "}\n",
			`p.yaml:12: topics.x.schemas: unknown field "schemas" (did you mean "schema"?)`},
		// compatibility, wire, subject
		{"compatibility typo", "  x: {format: avro, schema: " + sensorSchema + ", compatibility: backwards}\n",
			`p.yaml:12: topics.x.compatibility: expected backward, forward, full or none, got "backwards" (did you mean "backward"?)`},
		{"wire typo", "  x: {format: avro, schema: " + sensorSchema + ", wire: single_object}\n",
			`p.yaml:12: topics.x.wire: expected single-object or confluent, got "single_object" (did you mean "single-object"?)`},
		{"confluent without registry", "  x: {format: avro, schema: " + sensorSchema + ", wire: confluent}\n",
			`p.yaml:12: topics.x.wire: confluent needs schema_registry.url, the registry that holds the topic's schemas: add at the top level schema_registry: {url: http://127.0.0.1:8081}, or use wire: single-object (no registry)`},
		{"subject without confluent", "  x: {format: avro, schema: " + sensorSchema + ", subject: x-value}\n",
			`p.yaml:12: topics.x.subject: is a Schema Registry subject, used only with wire: confluent (this topic's wire is single-object, which needs no registry): set wire: confluent, or remove subject`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertErr(t, parseErr(t, typedFile+tc.extra), tc.want)
		})
	}
}

// TestTypedStageProblems: node.values, and a DLQ that could not hold
// every record.
func TestTypedStageProblems(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"values typo", "node: {command: bin/n}", "node: {command: bin/n, values: rwa}",
			`p.yaml:6: stages.s.node.values: expected decoded or raw, got "rwa" (did you mean "raw"?)`},
		{"values far off", "node: {command: bin/n}", "node:\n      command: bin/n\n      values: json",
			`p.yaml:8: stages.s.node.values: expected decoded or raw, got "json"`},
		{"typed dlq", "node: {command: bin/n}", "node: {command: bin/n}\n    dlq: out",
			`p.yaml:7: stages.s.dlq: topic "out" is also the stage's output "default": dead letters would mix with results; give the DLQ its own topic`},
		{"json dlq", "  out: {format: json}\n", "  out: {format: json}\n  errs: {format: json}\n",
			``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(typedFile, tc.old, strings.ReplaceAll(tc.new, `\n`, "\n"), 1)
			if tc.want == "" {
				src = strings.Replace(src, "node: {command: bin/n}", "node: {command: bin/n}\n    dlq: errs", 1)
				tc.want = `p.yaml:13: topics.errs.format: json does not fit a dead-letter topic (of stage s): it keeps records as they arrived, which need not be valid json: use format: raw (the default)`
			}
			assertErr(t, parseErr(t, src), tc.want)
		})
	}
	// Raw values with typed topics are fine: the node handles the wire
	// form, and its outputs are still checked.
	p := mustParse(t, strings.Replace(typedFile, "node: {command: bin/n}", "node: {command: bin/n, values: raw}", 1))
	if p.Stages[0].Node.Values != NodeValuesRaw {
		t.Errorf("node.values = %q", p.Stages[0].Node.Values)
	}
}

// TestRegistryProblems pins the messages about schema_registry. Extra
// lines start at line 12 of typedFile.
func TestRegistryProblems(t *testing.T) {
	t.Setenv("SLUICE_T_EMPTY", "")
	for _, tc := range []struct{ name, extra, want string }{
		{"no url", "schema_registry: {username: u, password: p}\n",
			`p.yaml:12: schema_registry.url: is required: the registry's base URL, e.g. http://127.0.0.1:8081`},
		{"empty url", "schema_registry: {url: \"\"}\n",
			`p.yaml:12: schema_registry.url: is empty: name the registry, e.g. http://127.0.0.1:8081`},
		{"url without scheme", "schema_registry: {url: \"localhost:8081\"}\n",
			`p.yaml:12: schema_registry.url: expected an http:// or https:// URL such as http://127.0.0.1:8081, got "localhost:8081" (write http://localhost:8081)`},
		{"url scheme", "schema_registry: {url: \"ftp://sr:8081\"}\n",
			`p.yaml:12: schema_registry.url: expected an http:// or https:// URL such as http://127.0.0.1:8081, got "ftp://sr:8081" (the registry speaks HTTP)`},
		{"url port", "schema_registry: {url: \"http://sr:99999\"}\n",
			`p.yaml:12: schema_registry.url: expected an http:// or https:// URL such as http://127.0.0.1:8081, got "http://sr:99999" (the port must be 1 to 65535)`},
		{"url no host", "schema_registry: {url: \"http://:8081\"}\n",
			`p.yaml:12: schema_registry.url: expected an http:// or https:// URL such as http://127.0.0.1:8081, got "http://:8081"`},
		{"url query", "schema_registry: {url: \"http://sr:8081/?x=1\"}\n",
			`p.yaml:12: schema_registry.url: expected an http:// or https:// URL such as http://127.0.0.1:8081, got "http://sr:8081/?x=1" (a base URL takes no ?query or #fragment)`},
		{"url credentials", "schema_registry: {url: \"http://u:pw@sr:8081\"}\n",
			`p.yaml:12: schema_registry.url: holds credentials: move them to schema_registry.username and password (a URL ends up in logs)`},
		{"url list item", "schema_registry:\n  url:\n    - http://sr-1:8081\n    - sr-2:8081\n",
			`p.yaml:15: schema_registry.url[1]: expected an http:// or https:// URL such as http://127.0.0.1:8081, got "sr-2:8081" (write http://sr-2:8081)`},
		{"url comma list", "schema_registry: {url: \"http://sr-1:8081,sr-2\"}\n",
			`p.yaml:12: schema_registry.url[1]: expected an http:// or https:// URL such as http://127.0.0.1:8081, got "sr-2" (write http://sr-2)`},
		{"not a mapping", "schema_registry: http://sr:8081\n",
			`p.yaml:12: schema_registry: expected a mapping with url (and username, password when the registry asks), got "http://sr:8081"`},
		{"typo", "schema_registry: {url: \"http://sr:8081\", username: u, pasword: x}\n",
			`p.yaml:12: schema_registry.pasword: unknown field "pasword" (did you mean "password"?)`},
		{"user without password", "schema_registry: {url: \"http://sr:8081\", username: u}\n",
			`p.yaml:12: schema_registry.password: is required with username: set password (e.g. ${SCHEMA_REGISTRY_PASSWORD}) or password_file`},
		{"password without user", "schema_registry:\n  url: http://sr:8081\n  password: pw\n",
			`p.yaml:12: schema_registry.username: is required with a password: the registry user (HTTP basic authentication)`},
		{"both passwords", "schema_registry:\n  url: http://sr:8081\n  username: u\n  password: pw\n  password_file: /nonexistent/pw\n",
			`p.yaml:16: schema_registry.password_file: set either password or password_file, not both`},
		{"password file missing", "schema_registry:\n  url: http://sr:8081\n  username: u\n  password_file: /nonexistent/pw\n",
			`p.yaml:15: schema_registry.password_file: cannot read /nonexistent/pw: no such file or directory`},
		{"password from empty variable", "schema_registry:\n  url: http://sr:8081\n  username: u\n  password: ${SLUICE_T_EMPTY}\n",
			`p.yaml:15: schema_registry.password: is empty (from "${SLUICE_T_EMPTY}"): set the variable, or use password_file`},
		{"registry of a single-object topic is fine, a bad one is not", "schema_registry: {}\n",
			`p.yaml:12: schema_registry.url: is required: the registry's base URL, e.g. http://127.0.0.1:8081`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertErr(t, parseErr(t, typedFile+tc.extra), tc.want)
		})
	}
	// A registry with a typo'd url does not also make confluent topics
	// "need schema_registry.url".
	err := parseErr(t, typedFile+"  x: {format: avro, schema: "+sensorSchema+", wire: confluent}\nschema_registry: {url: sr}\n")
	assertErr(t, err, `p.yaml:13: schema_registry.url: expected an http:// or https:// URL such as http://127.0.0.1:8081, got "sr" (write http://sr)`)
}

func writeTestFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
