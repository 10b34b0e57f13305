package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// addCPUProfileFlag adds the hidden --cpuprofile flag of `sluice run`:
// `sluice bench --cpuprofile` profiles a stage row through it, since each
// row's stage is a `sluice run` process of its own.
func addCPUProfileFlag(c *cobra.Command, path *string) {
	c.Flags().StringVar(path, "cpuprofile", "", "write a CPU profile of this process to this file (for sluice bench)")
	_ = c.Flags().MarkHidden("cpuprofile")
}

// startCPUProfile profiles the process into path until the returned stop
// is called; with path "" it does nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
