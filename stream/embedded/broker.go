// Package embedded runs a Kafka-protocol broker inside the sluice process:
// franz-go's kfake, listening on a real TCP port and persisting its data to a
// directory, so `sluice up` works with no Kafka installed and every other
// command (produce, tail, run) talks to it exactly as to a real cluster.
package embedded

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
	Addr    string // host:port it listens on
	DataDir string // "" when it keeps data in memory only
}

// ErrAddrInUse is returned when the listen address is taken (often by
// another broker: the caller may choose to use that one instead).
var ErrAddrInUse = errors.New("address already in use")

// Start listens on addr ("127.0.0.1:9092") and keeps data in dataDir, which
// is created if needed; a broker started again on the same directory resumes
// with its topics, records and committed offsets. An empty dataDir keeps
// everything in memory.
func Start(addr, dataDir string) (*Broker, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker port %q is not a number", portStr)
	}
	// Probe the port ourselves: kfake would otherwise fail with a less
	// helpful message, and callers branch on ErrAddrInUse.
	probe, err := net.Listen("tcp", net.JoinHostPort(host, portStr))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("embedded broker on %s: %w", addr, ErrAddrInUse)
		}
		return nil, fmt.Errorf("embedded broker on %s: %w", addr, err)
	}
	probe.Close()
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.ClusterID("sluice-embedded"),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, portStr))
		}),
	}
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("embedded broker data directory: %w", err)
		}
		opts = append(opts, kfake.DataDir(dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("starting the embedded broker on %s: %w", addr, err)
	}
	return &Broker{cluster: c, Addr: c.ListenAddrs()[0], DataDir: dataDir}, nil
}

// Close stops the broker and flushes its data directory.
func (b *Broker) Close() { b.cluster.Close() }
