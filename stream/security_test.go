package stream

// These tests run on kfake clusters that require TLS and/or SASL (see
// internal/securetest), whatever SLUICE_TEST_BROKERS says: a shared
// Apache Kafka has no such listener.

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/securetest"
)

// secureHarness is a harness whose cluster requires the security of k;
// its own client (h.cl) uses the same settings.
func secureHarness(t *testing.T, addrs []string, k config.Kafka) (*harness, *KafkaSecurity) {
	t.Helper()
	sec, err := NewKafkaSecurity(k)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, addrs: addrs, in: "in", out: "out", alerts: "alerts", dlq: "s.dlq", group: "g"}
	h.cl, err = kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.ProducerLinger(0)}, sec.Opts()...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.cl.Close)
	h.adm = kadm.NewClient(h.cl)
	for _, topic := range []string{h.in, h.out, h.alerts, h.dlq} {
		if _, err := h.adm.CreateTopic(context.Background(), 2, 1, nil, topic); err != nil {
			t.Fatalf("creating %s over the secured connection: %v", topic, err)
		}
	}
	core, logs := observer.New(zap.DebugLevel)
	h.logs, h.log = logs, zap.New(core)
	return h, sec
}

// passThrough runs a stage with the harness's security, feeds it n
// records and checks that n come out and their offsets are committed.
func passThrough(t *testing.T, h *harness, sec *KafkaSecurity, n int) {
	t.Helper()
	for i := range n {
		h.produce(&kgo.Record{Topic: h.in, Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	s, err := New(Options{Stage: h.stageConfig(), Pipeline: "test", Brokers: h.addrs, Logger: h.log, KafkaOpts: sec.Opts()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	got := h.waitCount(h.out, int64(n), 60*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for !committedAll(h) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("stage: %v", err)
	}
	if got != int64(n) {
		t.Errorf("%d records out, want %d", got, n)
	}
	if !committedAll(h) {
		t.Errorf("committed %v, want the end offsets %v", h.committed(h.group), h.endOffsets())
	}
}

func committedAll(h *harness) bool {
	c, ends := h.committed(h.group), h.endOffsets()
	for p, end := range ends {
		if c[p] != end {
			return false
		}
	}
	return true
}

func TestStageOverMutualTLS(t *testing.T) {
	c := securetest.NewCerts(t)
	addrs := securetest.Cluster(t, c.ServerTLS(true))
	h, sec := secureHarness(t, addrs, config.Kafka{TLS: &config.TLS{CAFile: c.CAFile, CertFile: c.ClientCertFile, KeyFile: c.ClientKeyFile}})
	passThrough(t, h, sec, 200)
}

func TestStageOverSASL(t *testing.T) {
	for _, mech := range config.SASLMechanisms {
		t.Run(mech, func(t *testing.T) {
			addrs := securetest.Cluster(t, nil, securetest.User{Mechanism: mech, Name: "pipeline", Password: "pw-" + mech})
			h, sec := secureHarness(t, addrs, config.Kafka{SASL: &config.SASL{Mechanism: mech, Username: "pipeline", Password: config.NewSecret("pw-" + mech)}})
			passThrough(t, h, sec, 100)
		})
	}
}

func TestStageOverTLSAndSCRAM(t *testing.T) {
	c := securetest.NewCerts(t)
	addrs := securetest.Cluster(t, c.ServerTLS(false), securetest.User{Mechanism: config.SASLScramSHA512, Name: "pipeline", Password: "s3cret"})
	// server_name: the certificate holds kafka.test, not only 127.0.0.1.
	k := config.Kafka{
		TLS:  &config.TLS{CAFile: c.CAFile, ServerName: securetest.ServerName},
		SASL: &config.SASL{Mechanism: config.SASLScramSHA512, Username: "pipeline", Password: config.NewSecret("s3cret")},
	}
	h, sec := secureHarness(t, addrs, k)
	passThrough(t, h, sec, 100)
}

// TestStageWrongPassword: the stage fails at once with one line that names
// the user, the mechanism and the broker, and neither that line nor the
// stage's log (debug level included) shows the password.
func TestStageWrongPassword(t *testing.T) {
	const right, wrong = "right-password-1", "wrong-password-2"
	for _, mech := range config.SASLMechanisms {
		t.Run(mech, func(t *testing.T) {
			addrs := securetest.Cluster(t, nil, securetest.User{Mechanism: mech, Name: "pipeline", Password: right})
			h, _ := secureHarness(t, addrs, config.Kafka{SASL: &config.SASL{Mechanism: mech, Username: "pipeline", Password: config.NewSecret(right)}})
			bad := config.Kafka{SASL: &config.SASL{Mechanism: mech, Username: "pipeline", Password: config.NewSecret(wrong)}}
			sec, err := NewKafkaSecurity(bad)
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(Options{Stage: h.stageConfig(), Pipeline: "test", Brokers: addrs, Logger: h.log, KafkaOpts: sec.Opts()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			runErr := s.Run(ctx)
			if runErr == nil {
				t.Fatal("the stage ran with a wrong password")
			}
			got := sec.Explain(addrs, runErr)
			want := fmt.Sprintf("SASL authentication failed for user \"pipeline\" (mechanism %s) at broker %s: the broker closed the connection (check kafka.sasl.username, the password, and that the user has %s credentials)", mech, addrs[0], mech)
			if got == nil || got.Error() != want {
				t.Fatalf("explained:\n got: %v\nwant: %s\n(stage error: %v)", got, want, runErr)
			}
			for _, text := range append(logText(h.logs), runErr.Error(), got.Error()) {
				if strings.Contains(text, wrong) || strings.Contains(text, right) {
					t.Errorf("a password shows in: %s", text)
				}
			}
		})
	}
}

// TestExplainTLSFailures: each usual TLS mistake reads as one line naming
// the broker and the setting to look at.
func TestExplainTLSFailures(t *testing.T) {
	c := securetest.NewCerts(t)
	addrs := securetest.Cluster(t, c.ServerTLS(true))
	for _, tc := range []struct {
		name string
		tls  *config.TLS
		want string
	}{
		{"wrong CA", &config.TLS{CAFile: c.OtherCAFile, CertFile: c.ClientCertFile, KeyFile: c.ClientKeyFile},
			"TLS handshake with broker {b} failed: tls: failed to verify certificate: x509: certificate signed by unknown authority (the broker's certificate is not signed by a CA in kafka.tls.ca_file " + c.OtherCAFile + ")"},
		{"wrong server name", &config.TLS{CAFile: c.CAFile, ServerName: "wrong.test", CertFile: c.ClientCertFile, KeyFile: c.ClientKeyFile},
			`TLS handshake with broker {b} failed: tls: failed to verify certificate: x509: certificate is valid for localhost, kafka.test, not wrong.test (the broker's certificate is not valid for "wrong.test": set kafka.tls.server_name to a name it holds)`},
		{"no client certificate", &config.TLS{CAFile: c.CAFile},
			"TLS with Kafka at {b} failed: remote error: tls: certificate required (the broker refused the connection: it may require a client certificate (kafka.tls.cert_file and key_file))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := config.Kafka{TLS: tc.tls}
			err := ping(t, addrs, k, 30*time.Second)
			want := strings.ReplaceAll(tc.want, "{b}", addrs[0])
			if err == nil || err.Error() != want {
				t.Errorf("got:  %v\nwant: %s", err, want)
			}
		})
	}
}

// TestExplainMissingSecurity: a client without TLS or SASL against a
// cluster that requires them is told which is missing.
func TestExplainMissingSecurity(t *testing.T) {
	c := securetest.NewCerts(t)
	tlsAddrs := securetest.Cluster(t, c.ServerTLS(false))
	saslAddrs := securetest.Cluster(t, nil, securetest.User{Mechanism: config.SASLPlain, Name: "u", Password: "p"})
	onlySASL := config.Kafka{SASL: &config.SASL{Mechanism: config.SASLPlain, Username: "u", Password: config.NewSecret("p")}}
	if err := ping(t, tlsAddrs, onlySASL, 30*time.Second); err == nil || !strings.Contains(err.Error(), "is TLS missing?") {
		t.Errorf("no TLS: %v", err)
	}
	// kfake never answers a TLS hello on a plaintext port (Kafka closes
	// the connection): the handshake is cut short by the deadline.
	onlyTLS := config.Kafka{TLS: &config.TLS{CAFile: c.CAFile}}
	if err := ping(t, saslAddrs, onlyTLS, 2*time.Second); err == nil || !strings.Contains(err.Error(), "TLS handshake with broker "+saslAddrs[0]) {
		t.Errorf("no SASL, TLS to a plaintext port: %v", err)
	}
}

// ping connects with k's security and returns the explained error.
func ping(t *testing.T, addrs []string, k config.Kafka, timeout time.Duration) error {
	t.Helper()
	sec, err := NewKafkaSecurity(k)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...)}, sec.Opts()...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err = cl.Ping(ctx)
	if err == nil {
		t.Fatal("connected")
	}
	return sec.Explain(addrs, err)
}

func logText(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.All() {
		out = append(out, fmt.Sprintf("%s %v", e.Message, e.ContextMap()))
	}
	return out
}

// TestNodeEnvHidesSecrets: a node does not inherit the variables the
// runtime's Kafka credentials came from, unless its node.env names them;
// everything else of Sluice's environment reaches it.
func TestNodeEnvHidesSecrets(t *testing.T) {
	t.Setenv("SLUICE_T_KAFKA_PW", "hidden-secret")
	t.Setenv("SLUICE_T_ASKED_PW", "asked-for")
	t.Setenv("SLUICE_T_OTHER", "visible")
	h := newHarness(t, 1)
	st := h.stageConfig(func(st *config.Stage) {
		st.Workers = 1
		st.Node.Env = map[string]string{"SLUICE_T_ASKED_PW": os.Getenv("SLUICE_T_ASKED_PW")}
	})
	names := []string{"SLUICE_T_KAFKA_PW", "SLUICE_T_ASKED_PW", "SLUICE_T_OTHER"}
	for _, n := range names {
		h.produce(&kgo.Record{Topic: h.in, Value: []byte("env:" + n)})
	}
	s, err := New(Options{Stage: st, Pipeline: "test", Brokers: h.addrs, Logger: h.log, SecretEnv: []string{"SLUICE_T_KAFKA_PW", "SLUICE_T_ASKED_PW"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	h.waitCount(h.out, int64(len(names)), 60*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range h.readAll(h.out) {
		got = append(got, string(r.Value))
	}
	want := []string{"SLUICE_T_KAFKA_PW unset", "SLUICE_T_ASKED_PW=asked-for", "SLUICE_T_OTHER=visible"}
	if !slices.Equal(got, want) {
		t.Errorf("the node saw %q, want %q", got, want)
	}
}

func TestNodeEnv(t *testing.T) {
	got := nodeEnv([]string{"A=1", "PW=x", "B=2=3", "PW2=y"}, []string{"PW", "PW2"}, map[string]string{"PW2": "asked", "C": "4"})
	want := []string{"A=1", "B=2=3", "C=4", "PW2=asked"}
	if !slices.Equal(got, want) {
		t.Errorf("nodeEnv = %q, want %q", got, want)
	}
}
