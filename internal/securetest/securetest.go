// Package securetest gives the tests of Sluice's Kafka security a
// throwaway PKI (a CA, a broker certificate, a client certificate, all
// written as PEM files in a temporary directory) and in-process kfake
// clusters that require TLS, SASL or both.
//
// These tests always run on kfake, even when SLUICE_TEST_BROKERS names an
// Apache Kafka: a TLS or SASL listener needs broker configuration that a
// shared test cluster does not have.
package securetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// ServerName is a DNS name in the broker certificate besides 127.0.0.1 and
// localhost, for kafka.tls.server_name tests.
const ServerName = "kafka.test"

// Certs are PEM files in Dir.
type Certs struct {
	Dir                           string
	CAFile                        string // the CA that signed the two certificates below
	OtherCAFile                   string // a CA that signed nothing here
	ServerCertFile, ServerKeyFile string
	ClientCertFile, ClientKeyFile string

	ca       *x509.Certificate
	caKey    *ecdsa.PrivateKey
	server   tls.Certificate
	clientCA *x509.CertPool
}

// NewCerts makes a fresh CA and certificates in t.TempDir().
func NewCerts(t testing.TB) *Certs {
	t.Helper()
	c := &Certs{Dir: t.TempDir()}
	var caPEM []byte
	c.ca, c.caKey, caPEM = newCA(t, "sluice test CA")
	_, _, otherPEM := newCA(t, "some other CA")
	c.CAFile = c.write(t, "ca.pem", caPEM)
	c.OtherCAFile = c.write(t, "other-ca.pem", otherPEM)

	srvCert, srvKey := c.leaf(t, "broker", x509.ExtKeyUsageServerAuth)
	c.ServerCertFile = c.write(t, "server.pem", srvCert)
	c.ServerKeyFile = c.write(t, "server-key.pem", srvKey)
	cliCert, cliKey := c.leaf(t, "pipeline", x509.ExtKeyUsageClientAuth)
	c.ClientCertFile = c.write(t, "client.pem", cliCert)
	c.ClientKeyFile = c.write(t, "client-key.pem", cliKey)

	var err error
	if c.server, err = tls.X509KeyPair(srvCert, srvKey); err != nil {
		t.Fatal(err)
	}
	c.clientCA = x509.NewCertPool()
	c.clientCA.AddCert(c.ca)
	return c
}

// ServerTLS is the broker side: the broker certificate, and client
// certificates signed by the CA required when requireClientCert is set
// (mTLS), verified when given otherwise.
func (c *Certs) ServerTLS(requireClientCert bool) *tls.Config {
	auth := tls.VerifyClientCertIfGiven
	if requireClientCert {
		auth = tls.RequireAndVerifyClientCert
	}
	return &tls.Config{Certificates: []tls.Certificate{c.server}, ClientCAs: c.clientCA, ClientAuth: auth, MinVersion: tls.VersionTLS12}
}

func (c *Certs) write(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(c.Dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// leaf returns a certificate signed by the CA (valid for 127.0.0.1, ::1,
// localhost and ServerName) and its key, as PEM.
func (c *Certs) leaf(t testing.TB, name string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     []string{"localhost", ServerName},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.ca, &key.PublicKey, c.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// User is a SASL user of a Cluster.
type User struct{ Mechanism, Name, Password string }

// Cluster starts a one-broker kfake cluster, closed when t ends: TLS with
// serverTLS when it is not nil, SASL with users when there are any. It
// returns the bootstrap addresses.
func Cluster(t testing.TB, serverTLS *tls.Config, users ...User) []string {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if serverTLS != nil {
		opts = append(opts, kfake.TLS(serverTLS))
	}
	if len(users) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range users {
			opts = append(opts, kfake.Superuser(u.Mechanism, u.Name, u.Password))
		}
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}
