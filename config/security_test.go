package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/internal/securetest"
)

// TestSecurityProblems checks the exact message of every mistake in
// kafka.tls and kafka.sasl. {d} is a directory holding the test PKI and
// a few bad files.
func TestSecurityProblems(t *testing.T) {
	c := securetest.NewCerts(t)
	d := c.Dir
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("notpem.txt", "hunter2-not-a-cert\n")
	write("empty-pw", "\n\n")
	t.Setenv("SLUICE_T_EMPTY", "")
	for _, tc := range []struct{ name, extra, want string }{
		// sasl
		{"unknown mechanism", "kafka:\n  sasl: {mechanism: GSSAPI, username: u, password: p}\n",
			`p.yaml:11: kafka.sasl.mechanism: unknown mechanism "GSSAPI" (allowed: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)`},
		{"mechanism missing", "kafka:\n  sasl: {username: u, password: p}\n",
			`p.yaml:11: kafka.sasl.mechanism: is required: one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`},
		{"username missing", "kafka:\n  sasl:\n    mechanism: PLAIN\n    password: p\n",
			`p.yaml:11: kafka.sasl.username: is required: the SASL user name`},
		{"password missing", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n",
			`p.yaml:11: kafka.sasl.password: is required: set password (e.g. ${KAFKA_PASSWORD}) or password_file`},
		{"password and file", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password: p\n    password_file: {d}/pw\n",
			`p.yaml:15: kafka.sasl.password_file: set either password or password_file, not both`},
		{"password file missing", "kafka:\n  sasl: {mechanism: PLAIN, username: u, password_file: {d}/nope}\n",
			`p.yaml:11: kafka.sasl.password_file: cannot read {d}/nope: no such file or directory`},
		{"password file relative", "kafka:\n  sasl: {mechanism: PLAIN, username: u, password_file: secrets/nope}\n",
			`p.yaml:11: kafka.sasl.password_file: cannot read secrets/nope: no such file or directory`},
		{"password file is a directory", "kafka:\n  sasl: {mechanism: PLAIN, username: u, password_file: {d}}\n",
			`p.yaml:11: kafka.sasl.password_file: cannot read {d}: is a directory`},
		{"password file empty", "kafka:\n  sasl: {mechanism: PLAIN, username: u, password_file: {d}/empty-pw}\n",
			`p.yaml:11: kafka.sasl.password_file: {d}/empty-pw is empty`},
		{"password empty from env", "kafka:\n  sasl: {mechanism: PLAIN, username: u, password: \"${SLUICE_T_EMPTY:-}\"}\n",
			`p.yaml:11: kafka.sasl.password: is empty (from "${SLUICE_T_EMPTY:-}"): set the variable, or use password_file`},
		{"password empty", "kafka:\n  sasl: {mechanism: PLAIN, username: u, password: \"\"}\n",
			`p.yaml:11: kafka.sasl.password: is empty: write the password, ${VAR}, or use password_file`},
		{"password env unset", "kafka:\n  sasl: {mechanism: PLAIN, username: u, password: \"${SLUICE_T_NOPE}\"}\n",
			`p.yaml:11: kafka.sasl.password: environment variable SLUICE_T_NOPE is not set (use ${SLUICE_T_NOPE:-default} for a fallback)`},
		{"password typo is one problem", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    pasword: p\n",
			`p.yaml:14: kafka.sasl.pasword: unknown field "pasword" (did you mean "password"?)`},
		{"sasl not a mapping", "kafka:\n  sasl: PLAIN\n",
			`p.yaml:11: kafka.sasl: expected a mapping with mechanism, username and password, got "PLAIN"`},
		// tls
		{"tls not a boolean", "kafka:\n  tls: yes\n",
			`p.yaml:11: kafka.tls: expected true, false or a mapping, got "yes"`},
		{"tls unknown field", "kafka:\n  tls: {cafile: x}\n",
			`p.yaml:11: kafka.tls.cafile: unknown field "cafile" (did you mean "ca_file"?)`},
		{"insecure not a boolean", "kafka:\n  tls: {insecure_skip_verify: maybe}\n",
			`p.yaml:11: kafka.tls.insecure_skip_verify: expected true or false, got "maybe"`},
		{"ca file missing", "kafka:\n  tls:\n    ca_file: {d}/nope.pem\n",
			`p.yaml:12: kafka.tls.ca_file: cannot read {d}/nope.pem: no such file or directory`},
		{"ca file not PEM", "kafka:\n  tls: {ca_file: {d}/notpem.txt}\n",
			`p.yaml:11: kafka.tls.ca_file: {d}/notpem.txt holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----" blocks)`},
		{"ca and insecure", "kafka:\n  tls:\n    ca_file: {d}/ca.pem\n    insecure_skip_verify: true\n",
			`p.yaml:13: kafka.tls.insecure_skip_verify: skips verifying the broker, so ca_file would be ignored: remove one of them`},
		{"cert without key", "kafka:\n  tls:\n    cert_file: {d}/client.pem\n",
			`p.yaml:12: kafka.tls.cert_file: needs key_file too: the private key of the client certificate`},
		{"key without cert", "kafka:\n  tls:\n    key_file: {d}/client-key.pem\n",
			`p.yaml:12: kafka.tls.key_file: needs cert_file too: the client certificate of this key`},
		{"key file missing", "kafka:\n  tls:\n    cert_file: {d}/client.pem\n    key_file: {d}/nope-key.pem\n",
			`p.yaml:13: kafka.tls.key_file: cannot read {d}/nope-key.pem: no such file or directory`},
		{"key of another cert", "kafka:\n  tls:\n    cert_file: {d}/client.pem\n    key_file: {d}/server-key.pem\n",
			`p.yaml:12: kafka.tls.cert_file: cannot use client certificate {d}/client.pem with key {d}/server-key.pem: tls: private key does not match public key`},
		{"cert not PEM", "kafka:\n  tls:\n    cert_file: {d}/notpem.txt\n    key_file: {d}/client-key.pem\n",
			`p.yaml:12: kafka.tls.cert_file: cannot use client certificate {d}/notpem.txt with key {d}/client-key.pem: tls: failed to find any PEM data in certificate input`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := strings.ReplaceAll(tc.extra, "{d}", d)
			want := strings.ReplaceAll(tc.want, "{d}", d)
			err := parseErr(t, stageFile+extra)
			assertErr(t, err, want)
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows a file's content: %v", err)
			}
		})
	}
}

// TestSecurityLoad loads a file with every field set: relative paths
// resolve against the file's directory, the mechanism is normalised, the
// password file loses its newline, and the variables are recorded.
func TestSecurityLoad(t *testing.T) {
	c := securetest.NewCerts(t)
	if err := os.Mkdir(filepath.Join(c.Dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "secrets", "kafka"), []byte("s3cret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(c.Dir, "p.yaml")
	src := stageFile + `kafka:
  tls:
    ca_file: ca.pem
    cert_file: ./client.pem
    key_file: ` + c.ClientKeyFile + `
    server_name: kafka.test
  sasl:
    mechanism: scram-sha-512
    username: pipeline
    password_file: secrets/kafka
`
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // paths must not depend on the working directory
	p, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	wantTLS := &TLS{CAFile: c.CAFile, CertFile: c.ClientCertFile, KeyFile: c.ClientKeyFile, ServerName: "kafka.test"}
	if !reflect.DeepEqual(p.Kafka.TLS, wantTLS) {
		t.Errorf("tls = %+v, want %+v", *p.Kafka.TLS, *wantTLS)
	}
	s := p.Kafka.SASL
	if s.Mechanism != SASLScramSHA512 || s.Username != "pipeline" || s.Password.Reveal() != "s3cret-from-file" ||
		s.PasswordFile != filepath.Join(c.Dir, "secrets", "kafka") {
		t.Errorf("sasl = %s %s %q %s", s.Mechanism, s.Username, s.Password.Reveal(), s.PasswordFile)
	}
	if len(p.Kafka.SecretEnv) != 0 {
		t.Errorf("SecretEnv = %v, want none (the password came from a file)", p.Kafka.SecretEnv)
	}
	cfg, err := p.Kafka.TLS.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.ServerName != "kafka.test" {
		t.Errorf("tls.Config: roots %v, %d certificates, server name %q", cfg.RootCAs != nil, len(cfg.Certificates), cfg.ServerName)
	}
}

func TestSecretEnv(t *testing.T) {
	t.Setenv("SLUICE_T_PW", "pw-from-env")
	t.Setenv("SLUICE_T_PW2", "")
	p := mustParse(t, stageFile+"kafka:\n  sasl: {mechanism: PLAIN, username: \"${SLUICE_T_USER:-u}\", password: \"$${SLUICE_T_LIT}${SLUICE_T_PW}${SLUICE_T_PW2:-x}${SLUICE_T_PW}\"}\n")
	if got, want := p.Kafka.SecretEnv, []string{"SLUICE_T_PW", "SLUICE_T_PW2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SecretEnv = %v, want %v", got, want)
	}
	if got := p.Kafka.SASL.Password.Reveal(); got != "${SLUICE_T_LIT}pw-from-envxpw-from-env" {
		t.Errorf("password = %q", got)
	}
	for raw, want := range map[string][]string{
		"plain":              nil,
		"${A}":               {"A"},
		"${B:-fallback}${A}": {"A", "B"},
		"$${A}":              nil,
		"${A":                nil,
		"${1X}${_ok}":        {"_ok"},
	} {
		if got := envRefs(raw); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
			t.Errorf("envRefs(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestTLSSwitch(t *testing.T) {
	t.Setenv("SLUICE_T_TLS", "true")
	for extra, on := range map[string]bool{
		"kafka: {tls: true}\n":                         true,
		"kafka: {tls: false}\n":                        false,
		"kafka: {tls: \"${SLUICE_T_TLS}\"}\n":          true,
		"kafka: {tls: \"${SLUICE_T_NOTLS:-false}\"}\n": false,
		"kafka: {tls: {}}\n":                           true,
		"kafka: {}\n":                                  false,
	} {
		p := mustParse(t, stageFile+extra)
		if got := p.Kafka.TLS != nil; got != on {
			t.Errorf("%q: TLS on = %v, want %v", extra, got, on)
		}
		if p.Kafka.TLS != nil && !reflect.DeepEqual(*p.Kafka.TLS, TLS{}) {
			t.Errorf("%q: TLS = %+v, want all defaults", extra, *p.Kafka.TLS)
		}
	}
}

// TestSecretNeverPrinted prints and encodes a pipeline holding a password
// every way a log line or a debug dump might.
func TestSecretNeverPrinted(t *testing.T) {
	const pw = "correct-horse-battery"
	t.Setenv("SLUICE_T_PW", pw)
	p := mustParse(t, stageFile+"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: \"${SLUICE_T_PW}\"}\n")
	if p.Kafka.SASL.Password.Reveal() != pw {
		t.Fatalf("password = %q", p.Kafka.SASL.Password.Reveal())
	}
	var outs []string
	for _, v := range []any{p, *p, p.Kafka, p.Kafka.SASL, *p.Kafka.SASL, p.Kafka.SASL.Password, &p.Kafka.SASL.Password} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %10.3v"} {
			outs = append(outs, fmt.Sprintf(verb, v))
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, string(j), string(y), fmt.Sprint(v), fmt.Sprintln(v))
	}
	for _, o := range outs {
		if strings.Contains(o, pw) || strings.Contains(o, fmt.Sprintf("%x", pw)) {
			t.Errorf("output shows the password: %s", o)
		}
	}
	for verb, want := range map[string]string{"%v": "[redacted]", "%#v": "[redacted]", "%q": "[redacted]"} {
		if got := fmt.Sprintf(verb, p.Kafka.SASL.Password); got != want {
			t.Errorf("Sprintf(%s) = %q, want %q", verb, got, want)
		}
	}
	if got := fmt.Sprintf("%+v", *p.Kafka.SASL); !strings.Contains(got, "Password:[redacted]") {
		t.Errorf("%%+v of SASL = %s, want Password:[redacted]", got)
	}
	if j, _ := json.Marshal(p.Kafka.SASL); !strings.Contains(string(j), `"Password":"[redacted]"`) {
		t.Errorf("JSON = %s", j)
	}
}
