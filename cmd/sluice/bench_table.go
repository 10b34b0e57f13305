package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// benchHeader is what a result needs beside its rows to be compared: the
// machine, the broker, the command and when.
type benchHeader struct {
	Date       string  `json:"date"`
	Command    string  `json:"command"`
	Broker     string  `json:"broker"`
	CPUs       int     `json:"cpus"`
	CPUModel   string  `json:"cpu_model,omitempty"`
	MemoryGiB  float64 `json:"memory_gib,omitempty"`
	GoVersion  string  `json:"go_version"`
	OS         string  `json:"os"`
	Partitions int     `json:"partitions"`
	Records    int     `json:"records"`
	Size       int     `json:"size"`
	Workers    int     `json:"workers"`
	// LoadStart and LoadEnd are the 1-minute load averages when the run
	// started and ended: other work on the machine moves every figure.
	LoadStart float64 `json:"load_average_start,omitempty"`
	LoadEnd   float64 `json:"load_average_end,omitempty"`
}

// newBenchHeader describes this machine and run.
func newBenchHeader(f benchFlags, broker string) benchHeader {
	return benchHeader{
		Date:       time.Now().UTC().Format(time.RFC3339),
		Command:    strings.Join(os.Args, " "),
		Broker:     broker,
		CPUs:       runtime.NumCPU(),
		CPUModel:   cpuModel(),
		MemoryGiB:  memoryGiB(),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Partitions: f.partitions,
		Records:    f.records,
		Size:       f.size,
		Workers:    f.workers,
		LoadStart:  loadAverage(),
	}
}

// loadAverage is the 1-minute load average of /proc/loadavg (0 elsewhere).
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(data), " ")
	v, _ := strconv.ParseFloat(first, 64)
	return v
}

// cpuModel is the first "model name" of /proc/cpuinfo ("" elsewhere).
func cpuModel() string {
	return procField("/proc/cpuinfo", "model name", func(v string) string { return v })
}

// memoryGiB is MemTotal of /proc/meminfo in GiB (0 elsewhere).
func memoryGiB() float64 {
	v, _ := strconv.ParseFloat(procField("/proc/meminfo", "MemTotal", func(v string) string {
		return strings.TrimSuffix(v, " kB")
	}), 64)
	return float64(int(v/(1<<20)*10+0.5)) / 10
}

// procField is the value of the first "key: value" line of file.
func procField(file, key string, clean func(string) string) string {
	fh, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return clean(strings.TrimSpace(v))
		}
	}
	return ""
}

// benchColumns are the table's columns, in order.
var benchColumns = []string{"row", "records", "records/s", "MB/s", "ratio to ceiling", "p50 ms", "p99 ms",
	"stage peak RSS MB", "stage CPU s", "node CPU s", "aim"}

// writeBenchJSON prints the header and the rows as one JSON object.
func writeBenchJSON(out io.Writer, h benchHeader, rows []benchRow) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Header benchHeader `json:"header"`
		Rows   []benchRow  `json:"rows"`
	}{h, rows})
}

// writeBenchTable prints the header as two lines and the rows as a
// Markdown table; what was not measured shows as "-".
func writeBenchTable(out io.Writer, h benchHeader, rows []benchRow) {
	machine := fmt.Sprintf("%d CPUs", h.CPUs)
	if h.CPUModel != "" {
		machine += " (" + h.CPUModel + ")"
	}
	if h.MemoryGiB > 0 {
		machine += fmt.Sprintf(", %.0f GiB RAM", h.MemoryGiB)
	}
	load := ""
	if h.LoadStart > 0 || h.LoadEnd > 0 {
		load = fmt.Sprintf("; load average %.1f at the start, %.1f at the end", h.LoadStart, h.LoadEnd)
	}
	fmt.Fprintf(out, "%s; %s, %s; %s; %d partitions, %d worker(s)%s\n", h.Date, machine, h.GoVersion, h.Broker, h.Partitions, h.Workers, load)
	fmt.Fprintf(out, "command: %s\n\n", h.Command)
	fmt.Fprintf(out, "| %s |\n", strings.Join(benchColumns, " | "))
	fmt.Fprintf(out, "|---|%s\n", strings.Repeat("---:|", len(benchColumns)-2)+"---|")
	for _, r := range rows {
		ratio := dash(r.Ratio, "%.2f")
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Name, thousands(float64(r.Records)), thousands(r.RecordsPerSec), dash(r.MBPerSec, "%.1f"), ratio,
			dash(r.P50Millis, "%.1f"), dash(r.P99Millis, "%.1f"), dash(r.PeakRSSMB, "%.1f"),
			dash(r.CPUSeconds, "%.2f"), dash(r.NodeCPUSeconds, "%.2f"), r.Aim)
	}
	fmt.Fprintln(out, "\nratio: records/s over the ceiling's for the same record size; RSS and CPU: the stage process"+
		" (sluice run) and its node processes, from /proc, while the row ran.")
}

// dash formats v, or "-" when it was not measured (0).
func dash(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// thousands writes v rounded, with commas between thousands: 1,234,567.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
