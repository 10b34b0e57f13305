package main

import (
	"log"
	"os"

	sluice "github.com/sluicehq/sluice/adapters/go"
)

// passthroughEnv names the environment variable that turns the node into a
// passthrough (see the package documentation).
const passthroughEnv = "SLUICE_FILTER_PASSTHROUGH"

func main() {
	handler := process
	if v := os.Getenv(passthroughEnv); v == "1" || v == "true" {
		// stderr is the node's log; the runtime keeps it apart from the protocol.
		log.Printf("filter: %s=%s: emitting every record unchanged", passthroughEnv, v)
		handler = passthrough
	}
	sluice.Node{Name: "filter", Version: "0.1.0", Process: handler}.Run()
}
