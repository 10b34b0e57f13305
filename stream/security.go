package stream

// This file turns the pipeline file's kafka.tls and kafka.sasl into
// franz-go options, and TLS and SASL failures into one line that says
// which broker refused what, never showing the password.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluicehq/sluice/config"
)

// tlsHandshakeTimeout bounds connecting plus the TLS handshake, like
// franz-go's default dial timeout.
const tlsHandshakeTimeout = 10 * time.Second

// KafkaSecurity is the TLS and SASL side of Kafka clients: the franz-go
// options for a pipeline file's kafka section, and the explanation of a
// failed connection. Clients built with the same KafkaSecurity share what
// it observed of their SASL exchanges, so one value per process is the
// intended use. A nil *KafkaSecurity means no TLS and no SASL.
type KafkaSecurity struct {
	k    config.Kafka
	opts []kgo.Opt

	mu sync.Mutex
	// saslBroker is the broker of the latest SASL request; saslCut is set
	// when that broker closed the connection instead of answering it (how
	// kfake, and some proxies, refuse credentials).
	saslBroker string
	saslCut    *saslCut
	// tlsFail is the latest failed handshake, cleared by a good one: a
	// handshake that timed out can surface as a later dial's timeout.
	tlsFail *TLSError
}

type saslCut struct {
	broker    string
	handshake bool // the handshake (mechanism choice), not the credentials
}

// NewKafkaSecurity prepares the options for k's TLS and SASL settings; it
// returns nil when k has neither. Certificates and keys are read now, so a
// file that changed since the pipeline file was loaded fails here.
func NewKafkaSecurity(k config.Kafka) (*KafkaSecurity, error) {
	if k.TLS == nil && k.SASL == nil {
		return nil, nil
	}
	s := &KafkaSecurity{k: k}
	if k.TLS != nil {
		c, err := k.TLS.Config()
		if err != nil {
			return nil, err
		}
		s.opts = append(s.opts, kgo.Dialer(s.tlsDialer(c)))
	}
	if k.SASL != nil {
		m, err := saslMechanism(k.SASL)
		if err != nil {
			return nil, err
		}
		s.opts = append(s.opts, kgo.SASL(m), kgo.WithHooks(saslWatch{s}))
	}
	return s, nil
}

// Opts are the franz-go options to add to a client (Options.KafkaOpts for
// a stage).
func (s *KafkaSecurity) Opts() []kgo.Opt {
	if s == nil {
		return nil
	}
	return s.opts
}

func saslMechanism(s *config.SASL) (sasl.Mechanism, error) {
	user, pass := s.Username, s.Password.Reveal()
	switch strings.ToUpper(s.Mechanism) {
	case config.SASLPlain:
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case config.SASLScramSHA256:
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case config.SASLScramSHA512:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("kafka.sasl.mechanism: unknown mechanism %q (allowed: %s)", s.Mechanism, strings.Join(config.SASLMechanisms, ", "))
}

// saslWatch notes which broker a SASL request went to and whether the
// broker hung up on it, which franz-go reports as a bare EOF.
type saslWatch struct{ s *KafkaSecurity }

func (w saslWatch) OnBrokerE2E(meta kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	handshake := key == int16(kmsg.SASLHandshake)
	if !handshake && key != int16(kmsg.SASLAuthenticate) {
		return
	}
	broker := net.JoinHostPort(meta.Host, strconv.Itoa(int(meta.Port)))
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.s.saslBroker = broker
	switch {
	case e2e.Err() != nil && closedConn(e2e.Err()):
		w.s.saslCut = &saslCut{broker: broker, handshake: handshake}
	case e2e.Err() == nil && !handshake:
		w.s.saslCut = nil
	}
}

// tlsDialer dials with TLS like kgo.DialTLSConfig (the server name
// defaults to the broker's host), but a failed handshake comes back as a
// *TLSError naming the broker, wherever the client reports it.
func (s *KafkaSecurity) tlsDialer(c *tls.Config) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, host string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
		defer cancel()
		raw, err := (&net.Dialer{}).DialContext(ctx, network, host)
		if err != nil {
			return nil, err // not reached the handshake: an ordinary dial error
		}
		cfg := c.Clone()
		if cfg.ServerName == "" {
			if h, _, err := net.SplitHostPort(host); err == nil {
				cfg.ServerName = h
			} else {
				cfg.ServerName = host
			}
		}
		conn := tls.Client(raw, cfg)
		err = conn.HandshakeContext(ctx)
		var fail *TLSError
		if err != nil {
			raw.Close()
			fail = &TLSError{Broker: host, Err: err, hint: tlsHint(err, s.k.TLS, cfg.ServerName)}
		}
		s.mu.Lock()
		s.tlsFail = fail
		s.mu.Unlock()
		if fail != nil {
			return nil, fail
		}
		return conn, nil
	}
}

// TLSError is a failed TLS handshake with a broker.
type TLSError struct {
	Broker string
	Err    error
	hint   string
}

func (e *TLSError) Error() string {
	msg := fmt.Sprintf("TLS handshake with broker %s failed: %v", e.Broker, e.Err)
	if e.hint != "" {
		msg += " (" + e.hint + ")"
	}
	return msg
}

func (e *TLSError) Unwrap() error { return e.Err }

// tlsHint says which setting to look at for the usual handshake failures.
func tlsHint(err error, t *config.TLS, serverName string) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		header   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknown) && t.CAFile != "":
		return "the broker's certificate is not signed by a CA in kafka.tls.ca_file " + t.CAFile
	case errors.As(err, &unknown):
		return "the broker's certificate is not signed by a CA this system trusts: set kafka.tls.ca_file"
	case errors.As(err, &hostname):
		return fmt.Sprintf("the broker's certificate is not valid for %q: set kafka.tls.server_name to a name it holds", serverName)
	case errors.As(err, &header):
		return "the broker does not speak TLS on this port: is it a PLAINTEXT listener?"
	case isRemoteTLSAlert(err):
		return clientCertHint(t)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF):
		return "the broker did not complete the handshake: is it a PLAINTEXT listener?"
	}
	return ""
}

// isRemoteTLSAlert is true for an alert the broker sent, typically a
// refused client certificate ("remote error: tls: certificate required").
func isRemoteTLSAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

func clientCertHint(t *config.TLS) string {
	if t == nil || t.CertFile == "" {
		return "the broker refused the connection: it may require a client certificate (kafka.tls.cert_file and key_file)"
	}
	return "the broker refused the connection: does it trust the CA of kafka.tls.cert_file " + t.CertFile + "?"
}

// closedConn is true for the errors of a connection the peer closed.
func closedConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// SecurityError is a connection that failed on TLS or SASL, worded for
// the user; Unwrap gives franz-go's error.
type SecurityError struct {
	msg string
	err error
}

func (e *SecurityError) Error() string { return e.msg }

func (e *SecurityError) Unwrap() error { return e.err }

// Explain returns err reworded as one line naming the broker and what
// failed when it is a TLS or SASL failure, and nil otherwise (or when s
// is nil). brokers are the bootstrap brokers, named when the failing one
// is not known. The password (of four characters or more) never appears
// in the result, even if a broker were to echo it.
func (s *KafkaSecurity) Explain(brokers []string, err error) error {
	if s == nil || err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	s.mu.Lock()
	broker, cut, tlsFail := s.saslBroker, s.saslCut, s.tlsFail
	s.mu.Unlock()
	if broker == "" {
		broker = strings.Join(brokers, ",")
	}
	var (
		k      = s.k
		tlsErr *TLSError
		eof    *kgo.ErrFirstReadEOF
		msg    string
	)
	switch {
	case errors.As(err, &tlsErr):
		msg = tlsErr.Error()
	case tlsFail != nil && isTimeout(err):
		msg = tlsFail.Error()
	case isRemoteTLSAlert(err) && k.TLS != nil:
		// With TLS 1.3 a refused client certificate shows on the first
		// read after the handshake, past the dialer.
		msg = fmt.Sprintf("TLS with Kafka at %s failed: %v (%s)", strings.Join(brokers, ","), err, clientCertHint(k.TLS))
	case k.SASL == nil:
		if errors.As(err, &eof) {
			msg = fmt.Sprintf("Kafka at %s closed the connection: %v", strings.Join(brokers, ","), eof)
		}
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		msg = fmt.Sprintf("SASL authentication failed for user %q (mechanism %s) at broker %s: %v (check kafka.sasl.username and the password)",
			k.SASL.Username, k.SASL.Mechanism, broker, err)
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		msg = fmt.Sprintf("broker %s does not accept SASL mechanism %s: %v (check kafka.sasl.mechanism)", broker, k.SASL.Mechanism, err)
	case errors.Is(err, kerr.IllegalSaslState):
		msg = fmt.Sprintf("SASL with broker %s failed for user %q (mechanism %s): %v (is SASL enabled on this listener?)",
			broker, k.SASL.Username, k.SASL.Mechanism, err)
	case cut != nil && cut.handshake && closedConn(err):
		msg = fmt.Sprintf("SASL handshake with broker %s failed (mechanism %s): the broker closed the connection (is SASL enabled on this listener, with this mechanism?)",
			cut.broker, k.SASL.Mechanism)
	case cut != nil && closedConn(err):
		msg = fmt.Sprintf("SASL authentication failed for user %q (mechanism %s) at broker %s: the broker closed the connection (check kafka.sasl.username, the password, and that the user has %s credentials)",
			k.SASL.Username, k.SASL.Mechanism, cut.broker, k.SASL.Mechanism)
	case errors.As(err, &eof):
		msg = fmt.Sprintf("Kafka at %s closed the connection: %v", strings.Join(brokers, ","), eof)
	}
	if msg == "" {
		return nil
	}
	if k.SASL != nil {
		if pw := k.SASL.Password.Reveal(); len(pw) >= 4 {
			msg = strings.ReplaceAll(msg, pw, "[redacted]")
		}
	}
	return &SecurityError{msg: msg, err: err}
}
