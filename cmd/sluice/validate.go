package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	var cfgPath string
	c := &cobra.Command{
		Use:   "validate --config FILE",
		Short: "Check a pipeline file without connecting to Kafka",
		Long: `Check a pipeline file: its YAML, field names and types, topic and stage
names, and that every topic a stage uses is declared. Nothing is started and
Kafka is not contacted.

On success it prints a one-line summary and exits 0:

  pipeline.yaml: ok — pipeline sensors, 3 topics, 1 stage (filter)

Otherwise it prints every problem found, one per line as
"file:line: field: message", and exits 2.`,
		Example: `  sluice validate --config config/examples/filter.yaml
  sluice validate -c pipeline.yaml && sluice up -c pipeline.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				return usageError{errors.New("validate needs the pipeline file: sluice validate --config pipeline.yaml")}
			}
			p, err := loadPipeline(cfgPath)
			if err != nil {
				return err
			}
			names := make([]string, len(p.Stages))
			for i, s := range p.Stages {
				names[i] = s.Name
			}
			stages := plural(len(p.Stages), "stage")
			if len(names) > 0 {
				stages += " (" + strings.Join(names, ", ") + ")"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok — pipeline %s, %s, %s\n", cfgPath, p.Name, plural(len(p.Topics), "topic"), stages)
			return nil
		},
	}
	addConfigFlag(c, &cfgPath, true)
	return c
}
