package main

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
)

func TestTopicsCreateTwice(t *testing.T) {
	addr := startKafka(t)
	path := writeFile(t, "sensors.yaml", pipelineYAML)

	stdout, _ := mustSluice(t, "", "topics", "create", "--config", path, "--brokers", addr)
	want := "created events.parsed (3 partitions)\n" +
		"created events.clean (2 partitions)\n" +
		"created clean.dlq (1 partition)\n"
	if stdout != want {
		t.Errorf("first run:\n%s\nwant:\n%s", stdout, want)
	}

	stdout, _ = mustSluice(t, "", "topics", "create", "--config", path, "--brokers", addr)
	want = "exists  events.parsed (3 partitions)\n" +
		"exists  events.clean (2 partitions)\n" +
		"exists  clean.dlq (1 partition)\n"
	if stdout != want {
		t.Errorf("second run:\n%s\nwant:\n%s", stdout, want)
	}

	// The configs of the file reached the broker.
	rcs, err := admin(t, addr).DescribeTopicConfigs(testCtx(t), "events.clean")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("events.clean", nil)
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
		t.Errorf("events.clean has no retention.ms=3600000: %+v", rc.Configs)
	}

	stdout, _ = mustSluice(t, "", "topics", "list", "--brokers", addr)
	want = "TOPIC          PARTITIONS  REPLICATION\n" +
		"clean.dlq      1           1\n" +
		"events.clean   2           1\n" +
		"events.parsed  3           1\n"
	if stdout != want {
		t.Errorf("topics list:\n%s\nwant:\n%s", stdout, want)
	}
}

func TestTopicsCreateFewerPartitions(t *testing.T) {
	addr := startKafka(t)
	makeTopic(t, addr, "events.parsed", 1)
	path := writeFile(t, "sensors.yaml", pipelineYAML)

	stdout, _ := mustSluice(t, "", "topics", "create", "--config", path, "--brokers", addr)
	want := "warning events.parsed has 1 partition, fewer than the 3 in the pipeline file; left unchanged (adding partitions would move keys to other partitions)\n" +
		"created events.clean (2 partitions)\n" +
		"created clean.dlq (1 partition)\n"
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	td, err := admin(t, addr).ListTopics(testCtx(t), "events.parsed")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(td["events.parsed"].Partitions); n != 1 {
		t.Errorf("events.parsed has %d partitions, want 1 (unchanged)", n)
	}
}

func TestEnsureTopics(t *testing.T) {
	addr := startKafka(t)
	adm := admin(t, addr)
	makeTopic(t, addr, "b", 4)
	topics := []config.Topic{
		{Name: "a", Partitions: 2, Replication: -1},
		{Name: "b", Partitions: 2, Replication: -1},
	}
	got, err := ensureTopics(testCtx(t), adm, topics)
	if err != nil {
		t.Fatal(err)
	}
	want := []topicStatus{
		{Name: "a", Created: true, Partitions: 2, Want: 2},
		{Name: "b", Created: false, Partitions: 4, Want: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("status %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	// A replication factor the cluster cannot satisfy is one clear error.
	_, err = ensureTopics(testCtx(t), adm, []config.Topic{{Name: "c", Partitions: 1, Replication: 3}})
	if err == nil || !strings.HasPrefix(err.Error(), `create topic "c" with 1 partition and replication 3: INVALID_REPLICATION_FACTOR`) {
		t.Errorf("err = %v, want a create error about the replication factor", err)
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
	path := writeFile(t, "sensors.yaml", pipelineYAML)
	for _, args := range [][]string{
		{"topics", "create", "--config", path, "--brokers", "127.0.0.1:1"},
		{"produce", "events.parsed", "--brokers", "127.0.0.1:1"},
		{"tail", "events.parsed", "--brokers", "127.0.0.1:1"},
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
