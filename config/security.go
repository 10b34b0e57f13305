package config

// This file decodes and checks kafka.tls and kafka.sasl, and holds the
// Secret type that keeps a password out of every printout. Files named in
// these sections are read while the pipeline file loads, so a missing
// certificate or an unreadable password file is a config error with a
// line, not a connection failure later.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

const redacted = "[redacted]"

// Secret is a credential. Every way Go prints or encodes a value (fmt with
// any verb, JSON, text and YAML marshalling) shows "[redacted]", so a
// Pipeline can be logged or dumped with %+v without leaking it. Reveal
// returns the value. The value sits behind a pointer so that even printers
// that cannot call methods (an unexported field reached by reflection)
// show an address, not the text.
type Secret struct{ v *string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: &s} }

// Reveal returns the secret's value ("" for the zero Secret).
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]", for %#v.
func (Secret) GoString() string { return redacted }

// Format prints "[redacted]" whatever the verb (%v, %+v, %s, %q, %x, %d...).
func (Secret) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// MarshalJSON encodes "[redacted]".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes "[redacted]" (zap, encoding/xml, map keys...).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalYAML encodes "[redacted]".
func (Secret) MarshalYAML() (any, error) { return redacted, nil }

// SASLMechanisms lists the mechanisms kafka.sasl.mechanism accepts.
var SASLMechanisms = []string{SASLPlain, SASLScramSHA256, SASLScramSHA512}

// tls decodes kafka.tls: a mapping (TLS on, with these settings) or a
// boolean, so that "tls: true" means TLS with the system roots and
// "tls: ${KAFKA_TLS:-false}" can switch it per environment.
func (d *decoder) tls(f field) *TLS {
	if f.val.Kind == yaml.ScalarNode {
		var on bool
		if !d.boolean(f, &on, "true, false or a mapping") || !on {
			return nil
		}
		return &TLS{}
	}
	t := &TLS{}
	d.fields(f.val, f.path, map[string]func(field){
		"ca_file":              func(f field) { d.filePath(f, &t.CAFile) },
		"cert_file":            func(f field) { d.filePath(f, &t.CertFile) },
		"key_file":             func(f field) { d.filePath(f, &t.KeyFile) },
		"server_name":          func(f field) { d.str(f, &t.ServerName) },
		"insecure_skip_verify": func(f field) { d.boolean(f, &t.InsecureSkipVerify, "true or false") },
	})
	d.checkTLS(f, t)
	return t
}

// checkTLS loads the files the way the client will, reporting each
// failure on the field that names the file.
func (d *decoder) checkTLS(f field, t *TLS) {
	at := func(key string) (int, string) {
		p := fieldPath(f.path, key)
		if l, ok := d.lines[p]; ok {
			return l, p
		}
		return f.line, p
	}
	if t.CAFile != "" {
		if _, err := loadCA(t.CAFile); err != nil {
			l, p := at("ca_file")
			d.problem(l, p, "%v", err)
		}
		if t.InsecureSkipVerify {
			l, p := at("insecure_skip_verify")
			d.problem(l, p, "skips verifying the broker, so ca_file would be ignored: remove one of them")
		}
	}
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		l, p := at("cert_file")
		d.problem(l, p, "needs key_file too: the private key of the client certificate")
	case t.KeyFile != "" && t.CertFile == "":
		l, p := at("key_file")
		d.problem(l, p, "needs cert_file too: the client certificate of this key")
	case t.CertFile != "":
		if _, err := loadKeyPair(t.CertFile, t.KeyFile); err != nil {
			field := "cert_file"
			var ke keyFileError
			if errors.As(err, &ke) {
				field = "key_file"
			}
			l, p := at(field)
			d.problem(l, p, "%v", err)
		}
	}
}

// sasl decodes kafka.sasl and returns the names of the environment
// variables its password came from (sorted, no duplicates).
func (d *decoder) sasl(f field) (*SASL, []string) {
	if f.val.Kind != yaml.MappingNode {
		d.problem(f.val.Line, f.path, "expected a mapping with mechanism, username and password, got %s", describe(f.val))
		return nil, nil
	}
	s := &SASL{}
	var env []string
	var hasPassword, pwBad bool
	passwordRaw := ""
	d.fields(f.val, f.path, map[string]func(field){
		"mechanism": func(f field) { d.str(f, &s.Mechanism) },
		"username":  func(f field) { d.str(f, &s.Username) },
		"password": func(f field) {
			hasPassword = true
			env = envRefs(f.val.Value)
			passwordRaw = f.val.Value
			v, ok := d.scalar(f, "a string")
			pwBad = !ok // already reported
			s.Password = NewSecret(v)
		},
		"password_file": func(f field) { d.filePath(f, &s.PasswordFile) },
	})
	line := func(key string) (int, string) {
		p := fieldPath(f.path, key)
		if l, ok := d.lines[p]; ok {
			return l, p
		}
		return f.line, p
	}
	allowed := strings.Join(SASLMechanisms, ", ")
	switch m := strings.ToUpper(strings.TrimSpace(s.Mechanism)); {
	case s.Mechanism == "":
		if l, p := line("mechanism"); !d.typos[p] {
			d.problem(l, p, "is required: one of %s", allowed)
		}
	case !slices.Contains(SASLMechanisms, m):
		l, p := line("mechanism")
		d.problem(l, p, "unknown mechanism %q (allowed: %s)", s.Mechanism, allowed)
	default:
		s.Mechanism = m
	}
	if l, p := line("username"); s.Username == "" && !d.typos[p] {
		d.problem(l, p, "is required: the SASL user name")
	}
	switch {
	case hasPassword && s.PasswordFile != "":
		l, p := line("password_file")
		d.problem(l, p, "set either password or password_file, not both")
	case s.PasswordFile != "":
		pw, err := readPasswordFile(s.PasswordFile)
		if err != nil {
			l, p := line("password_file")
			d.problem(l, p, "%v", err)
		}
		s.Password = NewSecret(pw)
	case hasPassword && s.Password.Reveal() == "" && !pwBad:
		l, p := line("password")
		if strings.Contains(passwordRaw, "${") {
			d.problem(l, p, "is empty (from %q): set the variable, or use password_file", passwordRaw)
		} else {
			d.problem(l, p, "is empty: write the password, ${VAR}, or use password_file")
		}
	case !hasPassword:
		if l, p := line("password"); !d.typos[p] && !d.typos[fieldPath(f.path, "password_file")] {
			d.problem(l, p, "is required: set password (e.g. ${KAFKA_PASSWORD}) or password_file")
		}
	}
	return s, env
}

// filePath decodes a path, resolving a relative one against the pipeline
// file's directory so the file works from any working directory.
func (d *decoder) filePath(f field, dst *string) {
	v, ok := d.scalar(f, "a file path")
	if !ok || v == "" {
		return
	}
	if !filepath.IsAbs(v) && d.file != "" {
		v = filepath.Join(filepath.Dir(d.file), v)
	}
	*dst = v
}

// boolean decodes true or false (any case, also from ${VAR}).
func (d *decoder) boolean(f field, dst *bool, want string) bool {
	v, ok := d.scalar(f, want)
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		d.mistyped(f, want, v)
		return false
	}
	return true
}

// envRefs lists the variables ${NAME} and ${NAME:-default} in raw, with
// the same syntax expandEnv applies ($$ is a literal $).
func envRefs(raw string) []string {
	seen := map[string]bool{}
	for i := 0; i < len(raw); {
		switch {
		case strings.HasPrefix(raw[i:], "$$"):
			i += 2
		case strings.HasPrefix(raw[i:], "${"):
			end := strings.IndexByte(raw[i+2:], '}')
			if end < 0 {
				i = len(raw)
				continue
			}
			name, _, _ := strings.Cut(raw[i+2:i+2+end], ":-")
			if validVarName(name) {
				seen[name] = true
			}
			i += end + 3
		default:
			i++
		}
	}
	return sortedKeys(seen)
}

// Config builds the client TLS configuration: the CA file's roots (or the
// system's), the client certificate, the server name. Errors name the
// file at fault and never include file contents.
func (t *TLS) Config() (*tls.Config, error) {
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify,
	}
	if t.CAFile != "" {
		pool, err := loadCA(t.CAFile)
		if err != nil {
			return nil, err
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if t.CertFile == "" || t.KeyFile == "" {
			return nil, errors.New("kafka.tls: cert_file and key_file go together")
		}
		pair, err := loadKeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

func loadCA(path string) (*x509.CertPool, error) {
	pem, err := readFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate (expected \"-----BEGIN CERTIFICATE-----\" blocks)", path)
	}
	return pool, nil
}

// keyFileError marks a failure that is the key file's, so the problem is
// reported on key_file.
type keyFileError struct{ error }

func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	cert, err := readFile(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := readFile(keyFile)
	if err != nil {
		return tls.Certificate{}, keyFileError{err}
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		// crypto/tls's messages describe the PEM blocks, never their bytes.
		return tls.Certificate{}, fmt.Errorf("cannot use client certificate %s with key %s: %v", certFile, keyFile, err)
	}
	return pair, nil
}

// readPasswordFile reads a password, dropping the trailing newline(s)
// that editors and `echo` add.
func readPasswordFile(path string) (string, error) {
	b, err := readFile(path)
	if err != nil {
		return "", err
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return pw, nil
}

// readFile reads path with an error that names it once: "cannot read
// /x: permission denied".
func readFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %v", path, err)
	}
	return b, nil
}
