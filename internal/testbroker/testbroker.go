// Package testbroker gives tests a Kafka broker to run against, chosen in
// this order:
//
//  1. SLUICE_TEST_BROKERS (comma-separated): an existing cluster, e.g. the
//     Apache Kafka that `make kafka-up` starts; CI runs the suite this way.
//  2. A Docker engine that answers (DOCKER_HOST, or /var/run/docker.sock):
//     testcontainers-go's Kafka module, one container per test process.
//  3. Otherwise franz-go's kfake, in process, a new cluster per test.
//
// Because the first two are shared, tests must name their topics and groups
// with Name so they never collide.
package testbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go/modules/kafka"
	"github.com/twmb/franz-go/pkg/kfake"
)

// ContainerImage is the image the testcontainers path runs (the Kafka
// module's supported KRaft image).
const ContainerImage = "confluentinc/confluent-local:7.5.0"

// Broker is what a test connects to.
type Broker struct {
	Addrs []string
	// Kind says which of the three it is, for logs: "kfake",
	// "SLUICE_TEST_BROKERS", "testcontainers".
	Kind string
	// Real is true for an Apache Kafka (not kfake).
	Real bool
}

func (b *Broker) String() string {
	return fmt.Sprintf("%s at %s", b.Kind, strings.Join(b.Addrs, ","))
}

var (
	containerOnce sync.Once
	container     *Broker
	containerErr  error
	announceOnce  sync.Once
)

// Get returns the broker for t (see the package doc). It logs which one.
func Get(t testing.TB) *Broker {
	t.Helper()
	b := pick(t)
	announceOnce.Do(func() {
		// Printed once per test binary so a CI log shows which broker each
		// package's suite used.
		fmt.Fprintf(os.Stderr, "testbroker: suite uses %s\n", b)
	})
	t.Logf("broker: %s", b)
	return b
}

func pick(t testing.TB) *Broker {
	if env := os.Getenv("SLUICE_TEST_BROKERS"); env != "" {
		return &Broker{Addrs: strings.Split(env, ","), Kind: "SLUICE_TEST_BROKERS", Real: true}
	}
	if dockerAnswers() {
		containerOnce.Do(startContainer)
		if containerErr == nil {
			return container
		}
		t.Logf("testcontainers Kafka did not start (%v); using kfake", containerErr)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &Broker{Addrs: c.ListenAddrs(), Kind: "kfake"}
}

// dockerAnswers reports whether a Docker engine accepts connections.
func dockerAnswers() bool {
	host := os.Getenv("DOCKER_HOST")
	network, addr := "unix", "/var/run/docker.sock"
	switch {
	case strings.HasPrefix(host, "unix://"):
		addr = strings.TrimPrefix(host, "unix://")
	case strings.HasPrefix(host, "tcp://"):
		network, addr = "tcp", strings.TrimPrefix(host, "tcp://")
	case host != "":
		return false
	}
	conn, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// startContainer starts one Kafka container for the whole test process;
// testcontainers' reaper removes it when the process exits.
func startContainer() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	kc, err := kafka.Run(ctx, ContainerImage, kafka.WithClusterID("sluice-test"))
	if err != nil {
		containerErr = err
		return
	}
	addrs, err := kc.Brokers(ctx)
	if err != nil {
		containerErr = err
		return
	}
	container = &Broker{Addrs: addrs, Kind: "testcontainers " + ContainerImage, Real: true}
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// Name returns base made unique for this test run: base, the test's name
// and a random suffix, in Kafka's topic alphabet, e.g.
// "in.TestRebalance.3f9a1c".
func Name(t testing.TB, base string) string {
	var b [3]byte
	rand.Read(b[:])
	name := unsafeChars.ReplaceAllString(t.Name(), "_")
	if len(name) > 120 {
		name = name[:120]
	}
	return base + "." + name + "." + hex.EncodeToString(b[:])
}
