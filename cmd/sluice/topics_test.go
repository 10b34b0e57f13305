package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/testbroker"
)

func TestTopicsCreateTwice(t *testing.T) {
	addr := startKafka(t)
	path, n := writeSensors(t)

	stdout, _ := mustSluice(t, "", "topics", "create", "--config", path, "--brokers", addr)
	want := "created " + n.parsed + " (3 partitions)\n" +
		"created " + n.clean + " (2 partitions)\n" +
		"created " + n.dlq + " (1 partition)\n"
	if stdout != want {
		t.Errorf("first run:\n%s\nwant:\n%s", stdout, want)
	}
	// Apache Kafka creates topics asynchronously: before its metadata
	// shows them, a second run could not see that they exist.
	waitTopics(t, addr, n.parsed, n.clean, n.dlq)

	stdout, _ = mustSluice(t, "", "topics", "create", "--config", path, "--brokers", addr)
	want = "exists  " + n.parsed + " (3 partitions)\n" +
		"exists  " + n.clean + " (2 partitions)\n" +
		"exists  " + n.dlq + " (1 partition)\n"
	if stdout != want {
		t.Errorf("second run:\n%s\nwant:\n%s", stdout, want)
	}

	// The configs of the file reached the broker.
	adm := admin(t, addr)
	rcs, err := adm.DescribeTopicConfigs(testCtx(t), n.clean)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(n.clean, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range rc.Configs {
		if c.Key == "retention.ms" && c.Value != nil && *c.Value == "3600000" {
			found = true
		}
	}
	if !found {
		t.Errorf("%s has no retention.ms=3600000: %+v", n.clean, rc.Configs)
	}

	// The file gives no replication: the topics have the broker's default
	// (1 on a single broker), which list must report.
	tds, err := adm.ListTopics(testCtx(t), n.parsed)
	if err != nil {
		t.Fatal(err)
	}
	repl := strconv.Itoa(len(tds[n.parsed].Partitions[0].Replicas))

	// A shared broker holds other topics too: check the header, then the
	// lines of this test's topics, in name order and aligned under it.
	want = strings.Join([]string{
		n.dlq + " 1 " + repl,
		n.clean + " 2 " + repl,
		n.parsed + " 3 " + repl,
	}, "\n")
	var got string
	deadline := time.Now().Add(10 * time.Second)
	for {
		stdout, _ = mustSluice(t, "", "topics", "list", "--brokers", addr)
		got, err = listedTopics(stdout, n.parsed, n.clean, n.dlq)
		if err != nil {
			t.Fatalf("topics list: %v\n%s", err, stdout)
		}
		if got == want || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got != want {
		t.Errorf("topics list shows\n%s\nwant\n%s\nin:\n%s", got, want, stdout)
	}
}

// listedTopics returns the lines of `topics list` output for the given
// topics, in output order, with their columns joined by one space. It
// checks the header and that each line's columns start under the
// header's.
func listedTopics(out string, topics ...string) (string, error) {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	header := lines[0]
	if f := strings.Fields(header); strings.Join(f, " ") != "TOPIC PARTITIONS REPLICATION" || !strings.HasPrefix(header, "TOPIC ") {
		return "", fmt.Errorf("header %q", header)
	}
	cols := []int{strings.Index(header, "PARTITIONS"), strings.Index(header, "REPLICATION")}
	mine := map[string]bool{}
	for _, t := range topics {
		mine[t] = true
	}
	var got []string
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) == 0 || !mine[f[0]] {
			continue
		}
		if len(f) != 3 {
			return "", fmt.Errorf("line %q: want 3 columns", line)
		}
		at := len(f[0])
		for i, col := range cols {
			at += strings.Index(line[at:], f[i+1])
			if at != col {
				return "", fmt.Errorf("line %q: column %d starts at %d, the header's at %d", line, i+2, at, col)
			}
			at += len(f[i+1])
		}
		got = append(got, strings.Join(f, " "))
	}
	return strings.Join(got, "\n"), nil
}

func TestTopicsCreateFewerPartitions(t *testing.T) {
	addr := startKafka(t)
	path, n := writeSensors(t)
	makeTopic(t, addr, n.parsed, 1)

	stdout, _ := mustSluice(t, "", "topics", "create", "--config", path, "--brokers", addr)
	want := "warning " + n.parsed + " has 1 partition, fewer than the 3 in the pipeline file; left unchanged (adding partitions would move keys to other partitions)\n" +
		"created " + n.clean + " (2 partitions)\n" +
		"created " + n.dlq + " (1 partition)\n"
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	td, err := admin(t, addr).ListTopics(testCtx(t), n.parsed)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(td[n.parsed].Partitions); got != 1 {
		t.Errorf("%s has %d partitions, want 1 (unchanged)", n.parsed, got)
	}
}

func TestEnsureTopics(t *testing.T) {
	addr := startKafka(t)
	adm := admin(t, addr)
	a, b, c := testbroker.Name(t, "a"), testbroker.Name(t, "b"), testbroker.Name(t, "c")
	makeTopic(t, addr, b, 4)
	topics := []config.Topic{
		{Name: a, Partitions: 2, Replication: -1},
		{Name: b, Partitions: 2, Replication: -1},
	}
	got, err := ensureTopics(testCtx(t), adm, topics)
	if err != nil {
		t.Fatal(err)
	}
	want := []topicStatus{
		{Name: a, Created: true, Partitions: 2, Want: 2},
		{Name: b, Created: false, Partitions: 4, Want: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("status %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	// A replication factor the cluster cannot satisfy (one more than it
	// has brokers) is one clear error.
	brokers, err := adm.ListBrokers(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	repl := int16(len(brokers) + 1)
	_, err = ensureTopics(testCtx(t), adm, []config.Topic{{Name: c, Partitions: 1, Replication: repl}})
	if want := fmt.Sprintf("create topic %q with 1 partition and replication %d: INVALID_REPLICATION_FACTOR", c, repl); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want one starting %q", err, want)
	}
}

func TestTopicsCreateNeedsConfig(t *testing.T) {
	_, _, err := sluice(t, "", "topics", "create")
	if want := "topics create needs the pipeline file: sluice topics create --config pipeline.yaml"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestUnreachableBroker(t *testing.T) {
	t.Parallel()
	path, n := writeSensors(t)
	for _, args := range [][]string{
		{"topics", "create", "--config", path, "--brokers", "127.0.0.1:1"},
		{"produce", n.parsed, "--brokers", "127.0.0.1:1"},
		{"tail", n.parsed, "--brokers", "127.0.0.1:1"},
	} {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			_, _, err := sluice(t, "x\n", args...)
			if err == nil || !strings.HasPrefix(err.Error(), "cannot reach Kafka at 127.0.0.1:1") {
				t.Errorf("err = %v, want one starting %q", err, "cannot reach Kafka at 127.0.0.1:1")
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("err is not one line: %q", err)
			}
		})
	}
}
