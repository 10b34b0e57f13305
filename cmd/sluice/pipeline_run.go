package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.uber.org/zap"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/stream"
)

// runStages runs the given stages of p until ctx is cancelled (then each
// drains and commits) or one of them fails (then the others are stopped the
// same way and the first error is returned).
func runStages(ctx context.Context, p *config.Pipeline, stages []config.Stage, brokers []string, log *zap.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var all []*stream.Stage
	for _, st := range stages {
		s, err := stream.New(stream.Options{Stage: st, Pipeline: p.Name, Brokers: brokers, ClientID: p.Kafka.ClientID, Logger: log})
		if err != nil {
			return err
		}
		all = append(all, s)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stopped: %w", err)
	}
	return nil
}
