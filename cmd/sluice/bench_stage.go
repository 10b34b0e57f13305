package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/config"
)

// benchEnv is what every row of one bench run shares.
type benchEnv struct {
	brokers []string
	adm     *kadm.Client
	run     string // the run's suffix of topic and group names
	dir     string // pipeline files and stage logs
	sluice  string // the binary that runs stages (`sluice run`)
	f       benchFlags
}

// stageResult is one stage row's measurement.
type stageResult struct {
	secs  float64
	usage procUsage
}

// benchStage runs a stage over in as its own process — `sluice run
// --config <generated file> --stage bench`, the way stages are deployed —
// and measures it: the seconds from starting the process until every
// output is in the output topic (exactly-once: until every input offset
// is committed), and the process's peak RSS and CPU time and its nodes'
// CPU time from /proc. Then it stops the process with SIGTERM and checks
// that it exited cleanly. row numbers its topics; profile, when set, is
// where the stage process writes a CPU profile.
func benchStage(ctx context.Context, env *benchEnv, in benchInput, n benchNode, row int, profile string) (stageResult, error) {
	p := benchPipeline{
		in:         in.topic,
		out:        fmt.Sprintf("bench.out%d.%s", row, env.run),
		dlq:        fmt.Sprintf("bench.dlq%d.%s", row, env.run),
		group:      fmt.Sprintf("bench-stage%d-%s", row, env.run),
		partitions: env.f.partitions,
		node:       n,
		f:          env.f,
		schema:     env.f.schema,
	}
	if p.schema != "" {
		p.schema, _ = filepath.Abs(p.schema)
	}
	if err := benchCreateTopic(ctx, env.adm, p.out, env.f.partitions); err != nil {
		return stageResult{}, err
	}
	if err := benchCreateTopic(ctx, env.adm, p.dlq, 1); err != nil {
		return stageResult{}, err
	}
	// The outputs are not needed after the row; on the embedded broker
	// they would stay in memory for the rest of the run.
	defer deleteTopics(env.adm, p.out, p.dlq)
	file := filepath.Join(env.dir, fmt.Sprintf("row%d.yaml", row))
	if err := os.WriteFile(file, []byte(p.yaml()), 0o644); err != nil {
		return stageResult{}, err
	}
	logPath := filepath.Join(env.dir, fmt.Sprintf("row%d.log", row))
	logFile, err := os.Create(logPath)
	if err != nil {
		return stageResult{}, err
	}
	defer logFile.Close()

	args := []string{"run", "--config", file, "--stage", "bench", "--brokers", strings.Join(env.brokers, ","),
		// Metrics on, as in a deployed stage, on a port of its own.
		"--metrics-addr", "127.0.0.1:0", "--log-format", "json"}
	if profile != "" {
		args = append(args, "--cpuprofile", profile)
	}
	cmd := exec.Command(env.sluice, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return stageResult{}, fmt.Errorf("starting the stage process: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	sampler := startProcSampler(cmd.Process.Pid, 100*time.Millisecond)
	stop := func() { // stop the process on the way out of a failure
		sampler.finish()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	st := config.Stage{Input: in.topic, Group: p.group, Outputs: map[string]string{"default": p.out}}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case err := <-exited:
			sampler.finish()
			return stageResult{}, fmt.Errorf("the stage process stopped early (%v): %s", err, lastLogLine(logPath))
		case <-ctx.Done():
			stop()
			return stageResult{}, ctx.Err()
		case <-tick.C:
		}
		if i%25 == 0 {
			// A record in the DLQ never reaches the output: the row
			// would wait forever.
			if err := benchDLQEmpty(ctx, env.adm, env.brokers, p.dlq); err != nil {
				stop()
				return stageResult{}, err
			}
		}
		done, err := benchStageDone(ctx, env.adm, st, n.exactlyOnce, in.records)
		if err != nil || !done {
			continue
		}
		res := stageResult{secs: time.Since(start).Seconds(), usage: sampler.finish()}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				return stageResult{}, fmt.Errorf("the stage process did not stop cleanly after SIGTERM (%v): %s", err, lastLogLine(logPath))
			}
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			<-exited
			return stageResult{}, errors.New("the stage process did not stop within 2 minutes of SIGTERM")
		}
		return res, nil
	}
}

// lastLogLine is what a stage process said last: its "sluice: ..." error
// line when it has one, else its last line.
func lastLogLine(path string) string {
	data, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if bytes.HasPrefix(lines[i], []byte("sluice: ")) {
			return string(lines[i])
		}
	}
	if len(lines) == 0 || len(lines[len(lines)-1]) == 0 {
		return "it wrote nothing"
	}
	return string(lines[len(lines)-1])
}

// benchStageDone reports whether the stage's row is complete: every output
// written (at-least-once), or every input offset committed (exactly-once:
// the outputs commit in the same transactions, and transaction markers
// take offsets of the output topic, so its end offsets would overcount).
func benchStageDone(ctx context.Context, adm *kadm.Client, st config.Stage, exactlyOnce bool, records int) (bool, error) {
	if !exactlyOnce {
		ends, err := adm.ListEndOffsets(ctx, st.Outputs["default"])
		if err != nil {
			return false, err
		}
		var total int64
		ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
		return total >= int64(records), nil
	}
	offs, err := adm.FetchOffsets(ctx, st.Group)
	if err != nil {
		return false, err
	}
	var total int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == st.Input {
			total += o.At
		}
	})
	return total >= int64(records), nil
}

// benchCreateTopic creates a bench topic.
func benchCreateTopic(ctx context.Context, adm *kadm.Client, name string, partitions int) error {
	resp, err := adm.CreateTopic(ctx, int32(partitions), -1, nil, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	return nil
}

// deleteTopics deletes bench topics once a row is done with them; a
// failure only leaves them behind.
func deleteTopics(adm *kadm.Client, names ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = adm.DeleteTopics(ctx, names...)
}
