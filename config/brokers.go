package config

import (
	"net"
	"os"
	"strconv"
	"strings"
)

// DefaultBrokers is used when neither the flag, the environment nor the
// file names brokers: a local single-broker development cluster.
const DefaultBrokers = "127.0.0.1:9092"

// BrokerSource says where ResolveBrokers found the brokers, so commands can
// print it; "why is it connecting there?" is a common question.
type BrokerSource string

// Where brokers can come from, highest precedence first.
const (
	BrokersFromFlag    BrokerSource = "flag"
	BrokersFromEnv     BrokerSource = "env"
	BrokersFromFile    BrokerSource = "file"
	BrokersFromDefault BrokerSource = "default"
)

// ResolveBrokers picks the broker list: the --brokers flag, then the
// SLUICE_BROKERS environment variable, then the pipeline file, then
// DefaultBrokers. flag and the variable are comma-separated lists; blank
// entries are dropped and a list with nothing left counts as unset. p may
// be nil. The returned slice is never shared with p.
func ResolveBrokers(flag string, p *Pipeline) ([]string, BrokerSource) {
	if list := splitList(flag); len(list) > 0 {
		return list, BrokersFromFlag
	}
	if list := splitList(os.Getenv("SLUICE_BROKERS")); len(list) > 0 {
		return list, BrokersFromEnv
	}
	if p != nil && len(p.Kafka.Brokers) > 0 {
		return append([]string(nil), p.Kafka.Brokers...), BrokersFromFile
	}
	return []string{DefaultBrokers}, BrokersFromDefault
}

// splitList splits "a:9092, b:9092" into trimmed, non-empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// validBroker accepts host:port with a port in 1..65535; IPv6 hosts need
// brackets ([::1]:9092), as everywhere else in Go.
func validBroker(b string) bool {
	host, port, err := net.SplitHostPort(b)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}
