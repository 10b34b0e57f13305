package main

// The commands against a cluster that requires mutual TLS and SCRAM, set
// up only by the pipeline file. Always kfake (internal/securetest): a
// shared Apache Kafka has no such listener.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/securetest"
)

const securePassword = "pipeline-s3cret-pw"

// securePipeline starts a cluster requiring mTLS and SCRAM-SHA-256 and
// writes a pipeline file next to the certificates that reaches it with
// relative paths and the password from $SLUICE_T_KAFKA_PW; the stage runs
// node. It returns the file's path and the broker address.
func securePipeline(t *testing.T, node string) (string, string) {
	t.Helper()
	c := securetest.NewCerts(t)
	addr := securetest.Cluster(t, c.ServerTLS(true), securetest.User{Mechanism: "SCRAM-SHA-256", Name: "pipeline", Password: securePassword})[0]
	t.Setenv("SLUICE_T_KAFKA_PW", securePassword)
	t.Setenv("SLUICE_BROKERS", "")
	file := filepath.Join(c.Dir, "secure.yaml")
	src := fmt.Sprintf(`pipeline: secure
kafka:
  brokers: [%s]
  tls:
    ca_file: ca.pem
    cert_file: client.pem
    key_file: client-key.pem
  sasl:
    mechanism: SCRAM-SHA-256
    username: pipeline
    password: ${SLUICE_T_KAFKA_PW}
topics:
  in: {partitions: 2}
  out: {partitions: 2}
stages:
  s:
    input: in
    outputs: {default: out}
    node: {command: %s}
`, addr, node)
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, addr
}

// buildTestNode compiles stream/internal/testnode, whose "env:NAME"
// records answer with what the node sees of $NAME.
func buildTestNode(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "testnode")
	if out, err := exec.Command("go", "build", "-o", bin, "../../stream/internal/testnode").CombinedOutput(); err != nil {
		t.Fatalf("building the test node: %v\n%s", err, out)
	}
	return bin
}

// TestSecureClusterCommands: topics create, produce, run and tail work
// with nothing but the pipeline file's tls and sasl sections; every
// record gets through; the node does not see the Kafka password's
// variable; nothing printed shows the password.
func TestSecureClusterCommands(t *testing.T) {
	file, _ := securePipeline(t, buildTestNode(t))
	t.Setenv("SLUICE_T_OTHER", "visible")
	var printed []string
	_, stderr := mustSluice(t, "", "topics", "create", "--config", file)
	printed = append(printed, stderr)

	var in strings.Builder
	var want []string
	for i := range 40 {
		fmt.Fprintf(&in, "record-%d\n", i)
		want = append(want, fmt.Sprintf("record-%d", i))
	}
	in.WriteString("env:SLUICE_T_KAFKA_PW\nenv:SLUICE_T_OTHER\n")
	want = append(want, "SLUICE_T_KAFKA_PW unset", "SLUICE_T_OTHER=visible")
	_, stderr = mustSluice(t, in.String(), "produce", "in", "--config", file)
	printed = append(printed, stderr)

	ctx, cancel := context.WithCancel(testCtx(t))
	var runOut, runErr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runIn(ctx, "", &runOut, &runErr, "run", "--config", file, "--stage", "s", "--metrics-addr", "", "--log-level", "debug")
	}()
	var got []string
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		got = got[:0]
		for _, r := range tailJSON(t, "out", "--config", file) {
			got = append(got, str(r.Value))
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("sluice run: %v\n%s", err, runErr.String())
	}
	printed = append(printed, runOut.String(), runErr.String())
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("out holds %d records %q\nwant %d: %q", len(got), got, len(want), want)
	}
	for _, p := range printed {
		if strings.Contains(p, securePassword) {
			t.Errorf("printed the password:\n%s", p)
		}
	}
}

// TestSecureClusterWrongPassword: one line naming the user, mechanism and
// broker; no password anywhere in what the command printed.
func TestSecureClusterWrongPassword(t *testing.T) {
	file, addr := securePipeline(t, "/bin/cat")
	t.Setenv("SLUICE_T_KAFKA_PW", "not-the-"+securePassword)
	want := fmt.Sprintf(`SASL authentication failed for user "pipeline" (mechanism SCRAM-SHA-256) at broker %s: the broker closed the connection (check kafka.sasl.username, the password, and that the user has SCRAM-SHA-256 credentials)`, addr)
	for _, args := range [][]string{
		{"topics", "create", "--config", file},
		{"validate", "--config", file},
	} {
		stdout, stderr, err := sluice(t, "", args...)
		if err == nil || err.Error() != want {
			t.Errorf("sluice %s:\n got: %v\nwant: %s", args[0], err, want)
		}
		if strings.Contains(stdout+stderr+fmt.Sprint(err), securePassword) {
			t.Errorf("sluice %s printed the password", args[0])
		}
	}

	// run: the stage's own client meets the same refusal.
	stdout, stderr, err := sluice(t, "", "run", "--config", file, "--stage", "s", "--metrics-addr", "", "--log-level", "debug")
	if err == nil || err.Error() != `stage "s": `+want {
		t.Errorf("sluice run:\n got: %v\nwant: stage \"s\": %s", err, want)
	}
	if strings.Contains(stdout+stderr+fmt.Sprint(err), securePassword) {
		t.Errorf("sluice run printed the password:\n%s", stderr)
	}
}

// TestUpRefusesEmbeddedWithSecurity: with TLS or SASL set and no broker
// named anywhere, up does not start a broker that speaks neither.
func TestUpRefusesEmbeddedWithSecurity(t *testing.T) {
	t.Setenv("SLUICE_BROKERS", "")
	file := writeFile(t, "p.yaml", `pipeline: p
kafka:
  sasl: {mechanism: PLAIN, username: u, password: p}
topics: {in: {}}
stages:
  s: {input: in, node: {command: /bin/cat}}
`)
	_, _, err := sluice(t, "", "up", "--config", file, "--data-dir", t.TempDir(), "--metrics-addr", "")
	if !errors.Is(err, errEmbeddedInsecure) {
		t.Errorf("up: %v, want %v", err, errEmbeddedInsecure)
	}
}
