package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
)

// genFlags are the knobs of `sluice gen sensors`.
type genFlags struct {
	count     int
	rate      float64
	malformed float64
	anomalies float64
	sensors   int
	seed      uint64
	jsonShare float64
	start     string
	step      time.Duration
	topic     string
	brokers   string
	cfgPath   string
}

func newGenCmd() *cobra.Command {
	gen := &cobra.Command{
		Use:   "gen",
		Short: "Generate sample data",
		Args:  noArgs,
	}
	var f genFlags
	c := &cobra.Command{
		Use:   "sensors",
		Short: "Generate raw sensor lines (with malformed lines and anomalies) for events.raw",
		Long: `Generate raw device lines such as "temperature:24.5 sensor_id=alpha ts=...",
with a share of JSON lines, of malformed lines (the ingest stage sends them to
its DLQ) and of anomalies (out-of-range readings the classify stage should
flag and the alert stage should report). Lines go to stdout, or straight to a
topic with --topic. The same --seed gives the same lines.`,
		Example: `  sluice gen sensors --count 1000 | sluice produce events.raw
  sluice gen sensors --count 100000 --rate 2000 --topic events.raw
  sluice gen sensors --malformed 0.1 --anomalies 0.05 --seed 7`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.count < 0 || f.rate < 0 || f.sensors < 1 || f.malformed < 0 || f.anomalies < 0 || f.malformed+f.anomalies > 1 {
				return usageError{errors.New("--count and --rate must be >= 0, --sensors >= 1, and --malformed + --anomalies between 0 and 1")}
			}
			start, err := time.Parse(time.RFC3339, f.start)
			if err != nil {
				return usageError{fmt.Errorf("--start: %v", err)}
			}
			g := newSensorGen(f, start)
			if f.topic == "" {
				return g.write(cmd.Context(), cmd.OutOrStdout())
			}
			return g.produce(cmd.Context(), f, cmd.ErrOrStderr())
		},
	}
	fl := c.Flags()
	fl.IntVarP(&f.count, "count", "n", 1000, "lines to generate (0: until interrupted)")
	fl.Float64Var(&f.rate, "rate", 0, "lines per second (0: as fast as possible)")
	fl.Float64Var(&f.malformed, "malformed", 0.05, "share of malformed lines")
	fl.Float64Var(&f.anomalies, "anomalies", 0.03, "share of anomalous readings")
	fl.Float64Var(&f.jsonShare, "json", 0.2, "share of well-formed lines written as JSON instead of the raw form")
	fl.IntVar(&f.sensors, "sensors", 12, "number of distinct sensors")
	fl.Uint64Var(&f.seed, "seed", 1, "random seed")
	fl.StringVar(&f.start, "start", "2024-05-01T12:00:00Z", "event time of the first line")
	fl.DurationVar(&f.step, "step", 10*time.Second, "event time between consecutive lines")
	fl.StringVar(&f.topic, "topic", "", "produce to this topic instead of writing to stdout")
	addBrokersFlag(c, &f.brokers)
	addConfigFlag(c, &f.cfgPath, false)
	gen.AddCommand(c)
	return gen
}

// Kind of a generated line, for tests and for the summary.
const (
	lineNormal    = "normal"
	lineAnomaly   = "anomaly"
	lineMalformed = "malformed"
)

// sensorLine is one generated line and what it is.
type sensorLine struct {
	Text     string
	Kind     string
	SensorID string
	TS       time.Time
}

type sensorGen struct {
	f     genFlags
	rnd   *rand.Rand
	start time.Time
	i     int
}

func newSensorGen(f genFlags, start time.Time) *sensorGen {
	return &sensorGen{f: f, rnd: rand.New(rand.NewPCG(f.seed, f.seed^0x5eed)), start: start}
}

var sensorMetrics = []struct {
	name, unit string
	lo, hi     float64 // normal range
	bad        []float64
}{
	{"temperature", "C", 18, 27, []float64{95, 120, -60, 250}},
	{"humidity", "%", 35, 55, []float64{99.9, 0.5, 98}},
	{"pressure", "hPa", 995, 1025, []float64{1200, 700, 1300}},
}

var malformedLines = []string{
	"temperature=abc sensor_id=%s",
	"humidity:wet sensor_id=%s",
	"pressure:1013",
	"",
	"{\"sensor_id\": \"%s\", \"metric\": \"temperature\", \"value\": ",
	"::: garbage ::: %s",
	"temperature:21.5 device=%s",
}

// next returns the next line.
func (g *sensorGen) next() sensorLine {
	i := g.i
	g.i++
	ts := g.start.Add(time.Duration(i) * g.f.step).UTC()
	sensor := fmt.Sprintf("sensor-%02d", g.rnd.IntN(g.f.sensors))
	r := g.rnd.Float64()
	if r < g.f.malformed {
		tmpl := malformedLines[g.rnd.IntN(len(malformedLines))]
		text := tmpl
		if strings.Contains(tmpl, "%s") {
			text = fmt.Sprintf(tmpl, sensor)
		}
		if text == "" {
			text = " " // an empty record value, after trimming: "empty line"
		}
		return sensorLine{Text: text, Kind: lineMalformed, SensorID: sensor, TS: ts}
	}
	m := sensorMetrics[g.rnd.IntN(len(sensorMetrics))]
	kind := lineNormal
	value := m.lo + g.rnd.Float64()*(m.hi-m.lo)
	if r < g.f.malformed+g.f.anomalies {
		kind = lineAnomaly
		value = m.bad[g.rnd.IntN(len(m.bad))]
	}
	value = float64(int(value*10)) / 10
	tsText := ts.Format(time.RFC3339)
	var text string
	if g.rnd.Float64() < g.f.jsonShare {
		text = fmt.Sprintf(`{"sensor_id":%q,"metric":%q,"value":%g,"unit":%q,"ts":%q}`, sensor, m.name, value, m.unit, tsText)
	} else {
		text = fmt.Sprintf("%s:%g sensor_id=%s unit=%s ts=%s", m.name, value, sensor, m.unit, tsText)
	}
	return sensorLine{Text: text, Kind: kind, SensorID: sensor, TS: ts}
}

// pace sleeps so that line i goes out at the configured rate.
func (g *sensorGen) pace(ctx context.Context, begun time.Time, i int) error {
	if g.f.rate <= 0 {
		return ctx.Err()
	}
	due := begun.Add(time.Duration(float64(i) / g.f.rate * float64(time.Second)))
	select {
	case <-time.After(time.Until(due)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *sensorGen) write(ctx context.Context, out io.Writer) error {
	w := bufio.NewWriter(out)
	defer w.Flush()
	begun := time.Now()
	for i := 0; g.f.count == 0 || i < g.f.count; i++ {
		if err := g.pace(ctx, begun, i); err != nil {
			return nil // interrupted: a clean stop
		}
		if _, err := w.WriteString(g.next().Text + "\n"); err != nil {
			return err
		}
		if g.f.rate > 0 {
			w.Flush()
		}
	}
	return nil
}

func (g *sensorGen) produce(ctx context.Context, f genFlags, log io.Writer) error {
	p, err := loadPipeline(f.cfgPath)
	if err != nil {
		return err
	}
	cl, err := connect(ctx, f.brokers, p)
	if err != nil {
		return err
	}
	defer cl.Close()
	counts := map[string]int{}
	var firstErr error
	begun := time.Now()
	for i := 0; f.count == 0 || i < f.count; i++ {
		if err := g.pace(ctx, begun, i); err != nil {
			break
		}
		l := g.next()
		counts[l.Kind]++
		cl.Produce(ctx, &kgo.Record{Topic: f.topic, Key: []byte(l.SensorID), Value: []byte(l.Text)}, func(_ *kgo.Record, err error) {
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	if err := cl.Flush(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if firstErr != nil {
		return fmt.Errorf("producing to %s: %w", f.topic, firstErr)
	}
	fmt.Fprintf(log, "produced %d lines to %s: %d normal, %d anomalies, %d malformed\n",
		counts[lineNormal]+counts[lineAnomaly]+counts[lineMalformed], f.topic, counts[lineNormal], counts[lineAnomaly], counts[lineMalformed])
	return nil
}
