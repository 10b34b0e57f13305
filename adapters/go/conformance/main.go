// Command conformance is the Go adapter's conformance node: the behaviours
// of docs/conformance.md, which stream/conformance_test.go checks for every
// language's adapter.
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	sluice "github.com/sluicehq/sluice/adapters/go"
)

func main() {
	sluice.Node{Name: "conformance", Version: "1.0.0", Process: process}.Run()
}

func process(r sluice.Record) ([]sluice.Output, error) {
	v := string(r.Value)
	pass := []sluice.Output{{Key: r.Key, Value: r.Value, Headers: r.Headers}}
	switch {
	case strings.HasPrefix(v, "multi:"):
		n, err := strconv.Atoi(strings.TrimPrefix(v, "multi:"))
		if err != nil {
			return pass, nil
		}
		outs := make([]sluice.Output, 0, n)
		for i := range n {
			outs = append(outs, sluice.Output{Key: r.Key, Value: fmt.Appendf(nil, "%s#%d", v, i)})
		}
		return outs, nil
	case v == "alert":
		return append(pass, sluice.Output{Name: "alerts", Key: r.Key, Value: []byte("ALERT")}), nil
	case strings.HasPrefix(v, "fail:"):
		return nil, errors.New(strings.TrimPrefix(v, "fail:"))
	case strings.HasPrefix(v, "retry:"):
		return nil, sluice.Retriable(errors.New(strings.TrimPrefix(v, "retry:")))
	case v == "crash":
		os.Exit(3)
	case strings.HasPrefix(v, "log:"):
		fmt.Fprintln(os.Stderr, strings.TrimPrefix(v, "log:"))
	}
	return pass, nil
}
