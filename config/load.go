package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// maxFileSize bounds a pipeline file. Real files are a few KiB, generated
// ones with hundreds of stages some hundred KiB. The cap keeps a wrong path
// (a log file, /dev/zero) from being read whole, and bounds what yaml.v3
// builds from hostile text: up to about 150 bytes of node per 2 bytes of
// input ("[a,a,a,...").
const maxFileSize = 1 * mib

// Load reads and parses the pipeline file at path.
func Load(path string) (*Pipeline, error) {
	data, err := readPipelineFile(path)
	var probs Problems
	if errors.As(err, &probs) {
		return nil, probs
	}
	if err != nil {
		// os errors already name the path; keep only the cause so the
		// message reads "read p.yaml: no such file or directory".
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, data)
}

// readPipelineFile reads at most maxFileSize+1 bytes of path: enough for
// Parse to tell that a file is too large, whatever its size (pipes and
// devices included). A regular file over the cap is refused unread.
func readPipelineFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > maxFileSize {
		return nil, tooLarge(path, fmtFileSize(fi.Size()))
	}
	return io.ReadAll(io.LimitReader(f, maxFileSize+1))
}

// tooLarge is the one problem of a file over maxFileSize; size is how
// large it is, as far as is known.
func tooLarge(file, size string) Problems {
	return Problems{{File: file, Message: fmt.Sprintf("the file is %s; a pipeline file may be at most %s", size, formatSize(maxFileSize))}}
}

// fmtFileSize rounds n to one decimal in the largest binary unit below it:
// "12MiB", "4.5MiB", "900KiB".
func fmtFileSize(n int64) string {
	v, unit := float64(n), "B"
	for _, u := range []string{"KiB", "MiB", "GiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + unit
}

// Parse decodes, defaults and validates a pipeline file. file is used only
// in messages and Pipeline.File. On failure the error is a Problems listing
// every mistake found, sorted by line, and the pipeline is nil.
func Parse(file string, data []byte) (*Pipeline, error) {
	if len(data) > maxFileSize {
		size := fmtFileSize(int64(len(data)))
		if len(data) == maxFileSize+1 {
			size = "larger than " + formatSize(maxFileSize) // as far as Load read it
		}
		return nil, tooLarge(file, size)
	}
	d := newDecoder(file)
	p := &Pipeline{File: file}
	if root := d.document(data); root != nil && d.checkAliases(root) && d.pipeline(root, p) {
		complete(p)
		validate(p, d)
		for i := range p.Stages {
			// "max_records: 0" in a file means no cap; in Go a zero is
			// "not set" (ApplyDefaults fills it), so store it as NoDLQCap.
			if p.Stages[i].DLQPolicy.MaxRecords == 0 {
				p.Stages[i].DLQPolicy.MaxRecords = NoDLQCap
			}
		}
	}
	if len(d.probs) > 0 {
		sortProblems(d.probs)
		if d.truncated {
			d.probs = append(d.probs, Problem{File: file, Message: fmt.Sprintf("stopped after %d problems; fix these and run again", maxProblems)})
		}
		return nil, d.probs
	}
	return p, nil
}

// complete fills the defaults that depend on the whole file: names derived
// from the pipeline name and the DLQ topics stages use without declaring.
func complete(p *Pipeline) {
	if p.Kafka.ClientID == "" {
		p.Kafka.ClientID = defaultClientID
	}
	declared := map[string]bool{}
	for _, t := range p.Topics {
		declared[t.Name] = true
	}
	for i := range p.Stages {
		s := &p.Stages[i]
		s.applyNameDefaults(p.Name)
		if s.DLQ == defaultDLQ(s.Name) && !declared[s.DLQ] {
			declared[s.DLQ] = true
			p.Topics = append(p.Topics, Topic{Name: s.DLQ, Partitions: 1, Replication: defaultReplication, Configs: map[string]string{}, Format: FormatRaw})
		}
	}
	for i := range p.Topics {
		// The decoder started each topic from its numeric defaults, so an
		// explicit "partitions: 0" stays for validation to report.
		p.Topics[i].applyFormatDefaults()
	}
}

// Stage returns the stage called name. The error lists the stages there
// are, since the name usually comes from a command line.
func (p *Pipeline) Stage(name string) (*Stage, error) {
	names := make([]string, len(p.Stages))
	for i := range p.Stages {
		if p.Stages[i].Name == name {
			return &p.Stages[i], nil
		}
		names[i] = p.Stages[i].Name
	}
	where := p.File
	if where == "" {
		where = fmt.Sprintf("pipeline %q", p.Name)
	}
	list := strings.Join(names, ", ")
	if list == "" {
		list = "(none)"
	}
	return nil, fmt.Errorf("no stage %q in %s; stages: %s", name, where, list)
}

// Topic returns the topic called name, including implicit DLQ topics.
func (p *Pipeline) Topic(name string) (*Topic, bool) {
	for i := range p.Topics {
		if p.Topics[i].Name == name {
			return &p.Topics[i], true
		}
	}
	return nil, false
}
