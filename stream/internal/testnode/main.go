// Command testnode is a node whose misbehaviour is chosen by its input, for
// the stage runtime's tests. By record value:
//
//	crash            exit(3) every time (a poison record)
//	crash-once:ID    exit(3) the first time ID is seen (state in $TESTNODE_STATE)
//	hang             never answer
//	garbage          write a malformed frame, then exit
//	oversize         announce a 2 GiB frame, then exit
//	fail:MSG         report the record as failed with MSG
//	retry:MSG        report the record as failed, retriable
//	retry-n:ID:N     report the record as retriable the first N times ID is seen
//	                 (state in $TESTNODE_STATE), then pass it through
//	multi:N          emit N outputs
//	alert            emit to the named output "alerts" and the default
//	unknown-output   emit to an output the stage does not have
//	log:TEXT         write TEXT to stderr, pass through
//	env:NAME         emit "NAME=value" of the node's environment, or "NAME unset"
//	anything else    pass through (key, value, headers)
//
// Whatever the value (typed topics give the node JSON), headers can choose
// the outputs instead: testnode.emit=V emits V to the default output in
// place of the input's value; testnode.alert=V also emits V to "alerts"
// (a wrong value for a typed output topic, say). Both keep the input's key
// and headers.
//
// Environment: TESTNODE_EXIT_AT_START=1 exits before the handshake;
// TESTNODE_ACK_VERSION=N answers the handshake with version N;
// TESTNODE_PIDDIR=dir writes dir/<pid>; TESTNODE_DELAY=duration sleeps per record;
// TESTNODE_FILES=1 speaks files mode (spool files instead of batch frames).
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sluice "github.com/sluicehq/sluice/adapters/go"
	"github.com/sluicehq/sluice/stream/protocol"
)

func main() {
	if os.Getenv("TESTNODE_EXIT_AT_START") == "1" {
		fmt.Fprintln(os.Stderr, "testnode: cannot load my model (on purpose)")
		os.Exit(1)
	}
	if v := os.Getenv("TESTNODE_ACK_VERSION"); v != "" {
		ackVersion(v)
		return
	}
	if os.Getenv("TESTNODE_FILES") == "1" {
		if err := serveFiles(); err != nil {
			fmt.Fprintln(os.Stderr, "testnode files mode:", err)
			os.Exit(1)
		}
		return
	}
	if dir := os.Getenv("TESTNODE_PIDDIR"); dir != "" {
		os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o644)
	}
	delay, _ := time.ParseDuration(os.Getenv("TESTNODE_DELAY"))
	sluice.Node{Name: "testnode", Version: "1.0.0", Process: func(r sluice.Record) ([]sluice.Output, error) {
		if delay > 0 {
			time.Sleep(delay)
		}
		return process(r)
	}}.Run()
}

func process(r sluice.Record) ([]sluice.Output, error) {
	if outs := emitByHeader(r); outs != nil {
		return outs, nil
	}
	v := string(r.Value)
	pass := []sluice.Output{{Key: r.Key, Value: r.Value, Headers: r.Headers}}
	switch {
	case v == "crash":
		os.Exit(3)
	case strings.HasPrefix(v, "crash-once:"):
		marker := filepath.Join(os.Getenv("TESTNODE_STATE"), strings.TrimPrefix(v, "crash-once:"))
		if _, err := os.Stat(marker); err != nil {
			os.WriteFile(marker, nil, 0o644)
			os.Exit(3)
		}
	case v == "hang":
		time.Sleep(time.Hour)
	case v == "garbage":
		os.Stdout.Write([]byte{0, 0, 0, 3, 0x42, 0x42, 0x42})
		os.Exit(0)
	case v == "oversize":
		os.Stdout.Write([]byte{0x7F, 0xFF, 0xFF, 0xFF})
		time.Sleep(time.Hour)
	case strings.HasPrefix(v, "fail:"):
		return nil, errors.New(strings.TrimPrefix(v, "fail:"))
	case strings.HasPrefix(v, "retry-n:"):
		id, n, _ := strings.Cut(strings.TrimPrefix(v, "retry-n:"), ":")
		limit, _ := strconv.Atoi(n)
		counter := filepath.Join(os.Getenv("TESTNODE_STATE"), "retry-n-"+id)
		seen, _ := os.ReadFile(counter)
		if len(seen) < limit {
			os.WriteFile(counter, append(seen, '.'), 0o644)
			return nil, sluice.Retriable(fmt.Errorf("%s: not yet (%d of %d)", id, len(seen)+1, limit))
		}
	case strings.HasPrefix(v, "retry:"):
		return nil, sluice.Retriable(errors.New(strings.TrimPrefix(v, "retry:")))
	case strings.HasPrefix(v, "multi:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(v, "multi:"))
		var outs []sluice.Output
		for i := range n {
			outs = append(outs, sluice.Output{Key: r.Key, Value: fmt.Appendf(nil, "%s#%d", v, i)})
		}
		return outs, nil
	case v == "alert":
		return append(pass, sluice.Output{Name: "alerts", Key: r.Key, Value: []byte("ALERT")}), nil
	case v == "unknown-output":
		return []sluice.Output{{Name: "nope", Value: r.Value}}, nil
	case strings.HasPrefix(v, "log:"):
		fmt.Fprintln(os.Stderr, strings.TrimPrefix(v, "log:"))
	case strings.HasPrefix(v, "env:"):
		name := strings.TrimPrefix(v, "env:")
		out := name + " unset"
		if val, ok := os.LookupEnv(name); ok {
			out = name + "=" + val
		}
		return []sluice.Output{{Key: r.Key, Value: []byte(out)}}, nil
	}
	return pass, nil
}

// emitByHeader emits the values the record's testnode.emit and
// testnode.alert headers give, or returns nil when it has neither.
func emitByHeader(r sluice.Record) []sluice.Output {
	var outs []sluice.Output
	for _, h := range r.Headers {
		switch h.Key {
		case "testnode.emit":
			outs = append(outs, sluice.Output{Key: r.Key, Value: h.Value, Headers: r.Headers})
		case "testnode.alert":
			outs = append(outs, sluice.Output{Name: "alerts", Key: r.Key, Value: h.Value, Headers: r.Headers})
		}
	}
	return outs
}

// ackVersion answers the handshake with another protocol version.
func ackVersion(v string) {
	n, _ := strconv.Atoi(v)
	var lenBuf [4]byte
	os.Stdin.Read(lenBuf[:])
	buf := make([]byte, binary.BigEndian.Uint32(lenBuf[:]))
	os.Stdin.Read(buf)
	frame, _ := protocol.Append(nil, &protocol.HelloAck{Version: uint16(n), Name: "future-node", NodeVersion: "9.0.0"})
	os.Stdout.Write(frame)
	time.Sleep(10 * time.Second)
}
