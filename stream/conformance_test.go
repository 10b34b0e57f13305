package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream/protocol"
)

// The conformance suite (docs/conformance.md): the same stage, inputs and
// expectations over each language adapter's conformance node.

type adapterNode struct {
	name    string
	command string
	args    []string
	// missing says why the node cannot run here ("" if it can).
	missing func() string
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func fileMissing(path, how string) func() string {
	return func() string {
		if _, err := os.Stat(path); err != nil {
			return fmt.Sprintf("%s not found (%s)", path, how)
		}
		return ""
	}
}

func toolMissing(tool string, then func() string) func() string {
	return func() string {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not installed"
		}
		return then()
	}
}

func conformanceNodes(t *testing.T) []adapterNode {
	root := repoRoot(t)
	p := func(rel string) string { return filepath.Join(root, rel) }
	return []adapterNode{
		{"go", p("bin/conformance/go"), nil, fileMissing(p("bin/conformance/go"), "make adapters")},
		{"python", p(".cache/venv/bin/python"), []string{p("adapters/python/conformance_node.py")},
			fileMissing(p(".cache/venv/bin/python"), "make adapters")},
		{"node", "node", []string{p("adapters/node/conformance-node.js")},
			toolMissing("node", fileMissing(p("adapters/node/conformance-node.js"), "the Node.js adapter"))},
		{"rust", p(".cache/cargo-target/release/conformance-node"), nil,
			fileMissing(p(".cache/cargo-target/release/conformance-node"), "make adapters")},
		{"shell", "bash", []string{p("adapters/shell/conformance-node.sh")},
			toolMissing("jq", fileMissing(p("adapters/shell/conformance-node.sh"), "the Shell adapter"))},
	}
}

// needNode skips (or, with SLUICE_REQUIRE_ADAPTERS=1, fails) when the
// adapter's node is not built here.
func needNode(t *testing.T, n adapterNode) {
	t.Helper()
	if why := n.missing(); why != "" {
		if os.Getenv("SLUICE_REQUIRE_ADAPTERS") == "1" {
			t.Fatalf("%s adapter required (SLUICE_REQUIRE_ADAPTERS=1): %s", n.name, why)
		}
		t.Skipf("%s adapter: %s", n.name, why)
	}
}

func TestConformance(t *testing.T) {
	for _, n := range conformanceNodes(t) {
		t.Run(n.name, func(t *testing.T) {
			needNode(t, n)
			t.Run("stage", func(t *testing.T) { conformStage(t, n) })
			t.Run("version refusal", func(t *testing.T) { conformVersionRefusal(t, n) })
		})
	}
}

func conformStage(t *testing.T, n adapterNode) {
	h := newHarness(t, 1)
	big := bytes.Repeat([]byte("z"), 1<<20)
	bin := []byte{0, 0xff, 0xfe, 0x80, 0x01}
	rec := func(key, value []byte, hs ...kgo.RecordHeader) *kgo.Record {
		return &kgo.Record{Topic: h.in, Key: key, Value: value, Headers: hs}
	}
	inputs := []*kgo.Record{
		rec([]byte("k1"), []byte("hello"), kgo.RecordHeader{Key: "z", Value: []byte("1")}, kgo.RecordHeader{Key: "n", Value: nil}),
		rec(bin, bin),
		rec(nil, []byte("null-key")),
		rec([]byte("null-value"), nil),
		rec([]byte("empty"), []byte{}),
		rec([]byte("m0"), []byte("multi:0")),
		rec([]byte("m3"), []byte("multi:3")),
		rec([]byte("al"), []byte("alert")),
		rec([]byte("f"), []byte("fail:boom")),
		rec([]byte("r"), []byte("retry:later")),
		rec([]byte("big"), big),
		rec([]byte("lg"), []byte("log:conformance says hi")),
		rec([]byte("c"), []byte("crash")),
		rec([]byte("last"), []byte("after the crash")),
	}
	h.produce(inputs...)
	r := h.start(h.stageConfig(func(s *config.Stage) {
		s.Workers = 1
		s.Retries = 2
		s.Node.Command = n.command
		s.Node.Args = n.args
		s.Node.Env = map[string]string{}
	}))
	h.waitCount(h.out, 11, 60*time.Second)
	h.waitCount(h.dlq, 3, 60*time.Second)
	h.waitCount(h.alerts, 1, 60*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if h.logs.FilterMessage("node did not exit after the shutdown request; killed").Len() > 0 {
		t.Fatal("the node did not exit on shutdown")
	}

	out := h.readAll(h.out)
	// Outputs spread over the output topic's partitions by key; put them
	// back in input order (stable: outputs of one input keep their order).
	slices.SortStableFunc(out, func(a, b *kgo.Record) int {
		oa, _ := strconv.Atoi(header(a, HeaderSourceOffset))
		ob, _ := strconv.Atoi(header(b, HeaderSourceOffset))
		return oa - ob
	})
	var got []string
	for _, o := range out {
		got = append(got, describe(o))
	}
	want := []string{
		`"k1"="hello" [z=1 n=<null>]`,
		fmt.Sprintf("%q=%q []", bin, bin),
		`<null>="null-key" []`,
		`"null-value"=<null> []`,
		`"empty"="" []`,
		`"m3"="multi:3#0" []`, `"m3"="multi:3#1" []`, `"m3"="multi:3#2" []`,
		`"al"="alert" []`,
		fmt.Sprintf(`"big"=<%d bytes> []`, len(big)),
		`"lg"="log:conformance says hi" []`,
		`"last"="after the crash" []`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("outputs differ\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, o := range out {
		if string(o.Key) == "big" && !bytes.Equal(o.Value, big) {
			t.Fatal("the 1 MiB value changed on the way")
		}
	}
	if a := h.readAll(h.alerts); len(a) != 1 || string(a[0].Value) != "ALERT" || string(a[0].Key) != "al" {
		t.Fatalf("named output: %v", a)
	}
	dlq := map[string]string{}
	for _, d := range h.readAll(h.dlq) {
		dlq[string(d.Value)] = header(d, HeaderErrorKind) + ": " + header(d, HeaderError)
	}
	if dlq["fail:boom"] != "node-error: boom" || dlq["retry:later"] != "node-retriable: later" ||
		!strings.HasPrefix(dlq["crash"], "crash: node failed 2 times while processing this record") {
		t.Fatalf("dlq: %v", dlq)
	}
	// at least once: the crash later in the batch makes the runtime re-send it
	if h.logs.FilterMessage("conformance says hi").Len() == 0 {
		t.Fatal("the node's stderr line was not logged")
	}
}

// describe renders a record as key=value [headers] for comparison.
func describe(r *kgo.Record) string {
	show := func(b []byte) string {
		switch {
		case b == nil:
			return "<null>"
		case len(b) > 1000:
			return fmt.Sprintf("<%d bytes>", len(b))
		}
		return fmt.Sprintf("%q", b)
	}
	var hs []string
	for _, h := range r.Headers {
		if strings.HasPrefix(h.Key, "sluice.") {
			continue
		}
		v := string(h.Value)
		if h.Value == nil {
			v = "<null>"
		}
		hs = append(hs, h.Key+"="+v)
	}
	return fmt.Sprintf("%s=%s [%s]", show(r.Key), show(r.Value), strings.Join(hs, " "))
}

// conformVersionRefusal speaks to the node directly: a hello of another
// version must be answered with a fatal frame and a non-zero exit.
func conformVersionRefusal(t *testing.T, n adapterNode) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.command, n.args...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	frame, _ := protocol.Append(nil, &protocol.Hello{Version: 2, Stage: "conformance", MaxFrame: 1 << 20, Settings: map[string]string{}})
	stdin.Write(frame)
	m, err := protocol.NewFrameReader(stdout, 1<<20).ReadMessage()
	stdin.Close()
	waitErr := cmd.Wait()
	if err != nil {
		t.Fatalf("reading the answer to a v2 hello: %v", err)
	}
	f, ok := m.(*protocol.Fatal)
	if !ok || !strings.Contains(f.Message, "unsupported protocol version") {
		t.Fatalf("want a fatal frame about the version, got %T %+v", m, m)
	}
	var exit *exec.ExitError
	if !errors.As(waitErr, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("the node must exit non-zero after refusing, got %v", waitErr)
	}
}
