package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/internal/testbroker"
)

// tailJSON runs tail with --format json and decodes its lines.
func tailJSON(t *testing.T, args ...string) []tailRecord {
	t.Helper()
	stdout, _ := mustSluice(t, "", append([]string{"tail", "--format", "json"}, args...)...)
	return decodeTail(t, stdout)
}

func decodeTail(t *testing.T, out string) []tailRecord {
	t.Helper()
	var recs []tailRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r tailRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("tail printed a line that is not JSON: %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestProduceKeyFieldThenTail(t *testing.T) {
	addr := startKafka(t)
	path, names := writeSensors(t)
	mustSluice(t, "", "topics", "create", "--config", path, "--brokers", addr)
	waitTopics(t, addr, names.parsed, names.clean, names.dlq)
	topic := names.parsed

	// 30 readings of 5 sensors, keyed by sensor_id (strings and numbers),
	// plus blank lines (skipped), a CRLF line, a line that is not JSON and
	// one without the field (both produced with a null key).
	var in strings.Builder
	var values []string
	for i := range 30 {
		id := strconv.Quote("s-" + strconv.Itoa(i%5))
		if i%5 == 4 {
			id = "42"
		}
		v := fmt.Sprintf(`{"sensor_id":%s,"seq":%d}`, id, i)
		values = append(values, v)
		in.WriteString(v + "\n")
		if i == 10 {
			in.WriteString("\n   \n")
		}
	}
	in.WriteString(`{"seq":30}` + "\r\n")
	in.WriteString("not json") // no final newline
	values = append(values, `{"seq":30}`, "not json")

	_, stderr := mustSluice(t, in.String(), "produce", topic, "--key-field", "sensor_id", "--brokers", addr)
	want := "produced 32 records to " + topic + "\n2 lines had no \"sensor_id\" field; produced with a null key\n"
	if stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}

	recs := tailJSON(t, topic, "-n", "32", "--brokers", addr)
	if len(recs) != 32 {
		t.Fatalf("tail printed %d records, want 32", len(recs))
	}
	// Per partition, the records keep the input order; one key always
	// lands on one partition.
	index := map[string]int{}
	for i, v := range values {
		index[v] = i
	}
	last := map[int32]int{}
	keyPart := map[string]int32{}
	seen := map[string]bool{}
	for _, r := range recs {
		v := str(r.Value)
		i, ok := index[v]
		if !ok || seen[v] {
			t.Fatalf("unexpected or repeated value %q", v)
		}
		seen[v] = true
		if prev, ok := last[r.Partition]; ok && i < prev {
			t.Errorf("partition %d: %q came after a later line", r.Partition, v)
		}
		last[r.Partition] = i
		var wantKey *string
		if i < 30 {
			k := "s-" + strconv.Itoa(i%5)
			if i%5 == 4 {
				k = "42"
			}
			wantKey = &k
		}
		if str(r.Key) != str(wantKey) {
			t.Errorf("value %q: key %s, want %s", v, str(r.Key), str(wantKey))
		}
		if wantKey != nil {
			if p, ok := keyPart[*wantKey]; ok && p != r.Partition {
				t.Errorf("key %s on partitions %d and %d", *wantKey, p, r.Partition)
			}
			keyPart[*wantKey] = r.Partition
		}
		if r.Topic != topic || r.Headers == nil || r.Encoding != "" {
			t.Errorf("bad envelope %+v", r)
		}
	}
	if len(last) < 2 {
		t.Errorf("all records on %d partition(s); keys should spread them", len(last))
	}

	// Without -n, tail stops at the end of the topic by itself.
	if recs := tailJSON(t, topic, "--brokers", addr); len(recs) != 32 {
		t.Errorf("tail without -n printed %d records, want 32", len(recs))
	}
}

func TestProduceFileKeyPartitionHeaders(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "t")
	makeTopic(t, addr, topic, 3)
	file := writeFile(t, "in.txt", "a\nb\nc\n")
	_, stderr := mustSluice(t, "", "produce", topic, "--file", file, "--key", "k1", "--partition", "2",
		"--header", "source=test", "--header", "eq=a=b", "--brokers", addr)
	if want := "produced 3 records to " + topic + "\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	recs := tailJSON(t, topic, "--partition", "2", "--brokers", addr)
	if len(recs) != 3 {
		t.Fatalf("got %d records on partition 2, want 3", len(recs))
	}
	for i, r := range recs {
		if str(r.Value) != string(rune('a'+i)) || str(r.Key) != "k1" || r.Partition != 2 || r.Offset != int64(i) ||
			r.Headers["source"] != "test" || r.Headers["eq"] != "a=b" {
			t.Errorf("record %d = %+v", i, r)
		}
	}
	if recs := tailJSON(t, topic, "--partition", "0", "--brokers", addr); len(recs) != 0 {
		t.Errorf("partition 0 has %d records, want 0", len(recs))
	}
}

func TestProduceLongLine(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "big")
	makeTopic(t, addr, topic, 1)
	long := strings.Repeat("x", 300<<10) // beyond bufio's 64 KiB buffer
	mustSluice(t, "short\n"+long+"\nend\n", "produce", topic, "--brokers", addr)
	recs := tailJSON(t, topic, "--brokers", addr)
	if len(recs) != 3 || str(recs[0].Value) != "short" || str(recs[1].Value) != long || str(recs[2].Value) != "end" {
		t.Errorf("got %d records, want short, 300 KiB of x, end", len(recs))
	}
}

func TestProduceRecordTooLarge(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "small")
	// The limit is set, not assumed: brokers' defaults differ (Apache
	// Kafka 1048588, kfake 1 MiB) and a shared cluster may raise them.
	makeTopicWith(t, addr, topic, 1, map[string]*string{"max.message.bytes": kadm.StringPtr("1048576")})
	in := "ok\n" + strings.Repeat("x", 2<<20) + "\n"
	_, _, err := sluice(t, in, "produce", topic, "--brokers", addr)
	if want := "produce to " + topic + " failed at line 2: MESSAGE_TOO_LARGE"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want one starting %q", err, want)
	}
	// The line before it was produced; the too large one was not.
	recs := tailJSON(t, topic, "--brokers", addr)
	if len(recs) != 1 || str(recs[0].Value) != "ok" {
		t.Errorf("topic holds %d records, want only \"ok\"", len(recs))
	}
}

func TestProduceMissingTopic(t *testing.T) {
	addr := startKafka(t)
	nope := testbroker.Name(t, "nope")
	_, _, err := sluice(t, "x\n", "produce", nope, "--brokers", addr)
	want := `topic "` + nope + `" does not exist (create it with "sluice topics create --config FILE" or "sluice up")`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	// It must not have been created by asking (Apache Kafka creates
	// topics on request when auto.create.topics.enable is on).
	td, err := admin(t, addr).ListTopics(testCtx(t), nope)
	if err != nil {
		t.Fatal(err)
	}
	if td.Has(nope) {
		t.Errorf("topic %s now exists", nope)
	}

	path, _ := writeSensors(t)
	_, _, err = sluice(t, "x\n", "produce", nope, "--config", path, "--brokers", addr)
	want = `topic "` + nope + `" does not exist (create it with "sluice topics create --config ` + path + `" or "sluice up")`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestProduceUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"produce"}, `sluice produce needs a TOPIC argument, e.g. "sluice produce events.parsed" (see 'sluice produce --help')`},
		{[]string{"produce", "t", "--key", "k", "--key-field", "id"}, "--key and --key-field cannot be used together: --key gives every record one key, --key-field takes it from each line"},
		{[]string{"produce", "t", "--header", "novalue"}, `--header "novalue": want key=value, e.g. --header source=manual`},
		{[]string{"produce", "t", "--partition", "-2"}, "--partition must be 0 or more, got -2"},
	} {
		_, _, err := sluice(t, "", tc.args...)
		var ue usageError
		if !errors.As(err, &ue) || err.Error() != tc.want {
			t.Errorf("%v: err = %v, want usage error %q", tc.args, err, tc.want)
		}
	}
}

func TestProduceBadPartition(t *testing.T) {
	addr := startKafka(t)
	topic := testbroker.Name(t, "t")
	makeTopic(t, addr, topic, 3)
	_, _, err := sluice(t, "x\n", "produce", topic, "--partition", "3", "--brokers", addr)
	if want := `topic "` + topic + `" has 3 partitions (0-2); there is no partition 3`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestJSONKey(t *testing.T) {
	for _, tc := range []struct {
		line, key string
		ok        bool
	}{
		{`{"id":"a\"b"}`, `a"b`, true},
		{`{"id":-1.5e3}`, `-1.5e3`, true},
		{`{"id": 7 , "x":{}}`, `7`, true},
		{`{"id":null}`, ``, false},
		{`{"id":true}`, ``, false},
		{`{"id":{"a":1}}`, ``, false},
		{`{"other":1}`, ``, false},
		{`[1,2]`, ``, false},
		{`plain text`, ``, false},
	} {
		k, ok := jsonKey([]byte(tc.line), "id")
		if ok != tc.ok || string(k) != tc.key {
			t.Errorf("jsonKey(%s) = %q, %v; want %q, %v", tc.line, k, ok, tc.key, tc.ok)
		}
	}
}
