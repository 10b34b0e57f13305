package codec

// Schema files: reading and parsing one .avsc version of a topic, and the
// identity of a schema on the wire (its Parsing Canonical Form and the
// CRC-64-AVRO fingerprint of that form, as the Avro specification defines
// them).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"
)

// maxSchemaFileSize bounds a schema file: real ones are a few KiB. The cap
// keeps a wrong path (a log file, /dev/zero) from being read whole.
const maxSchemaFileSize = 4 << 20

// schemaVersion is one parsed schema version of a topic.
type schemaVersion struct {
	path   string // as configured (resolved against the pipeline file's directory)
	base   string // file name, for messages
	text   string // the file's text: what is registered in a Schema Registry
	schema avro.Schema
	// fingerprint is the CRC-64-AVRO fingerprint of the schema's Parsing
	// Canonical Form: the single-object encoding's header.
	fingerprint uint64
	// hambaFingerprint is the same CRC-64-AVRO over hamba's canonical form,
	// which keeps logical types (so differs for schemas that have any):
	// what a Go producer using hamba's soe package writes. Decoding
	// accepts it too.
	hambaFingerprint uint64
}

// readSchemaFile reads and parses the schema file at path, each file with
// its own name cache: two versions of a topic name the same record type
// (sluice.sensors.SensorEvent), which hamba's global cache would mix. The
// error is the message of a config.Problem: "<path>: cannot read: ..." or
// "<path>: not a valid Avro schema: ...".
func readSchemaFile(path string) (*schemaVersion, error) {
	text, err := readSmallFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said once, first
		}
		return nil, fmt.Errorf("%s: cannot read: %v", path, err)
	}
	v, err := parseSchema(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	v.path, v.base = path, filepath.Base(path)
	return v, nil
}

// parseSchema parses the text of an Avro schema (a file, or a Schema
// Registry's answer). The error reads "not a valid Avro schema: <why>".
func parseSchema(text []byte) (*schemaVersion, error) {
	s, err := avro.ParseBytesWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("not a valid Avro schema: %s", strings.TrimPrefix(err.Error(), "avro: "))
	}
	v := &schemaVersion{
		text:        strings.TrimSpace(string(text)),
		schema:      s,
		fingerprint: crc64Avro([]byte(canonicalForm(s))),
	}
	v.hambaFingerprint = v.fingerprint
	if fp, err := s.FingerprintUsing(avro.CRC64AvroLE); err == nil && len(fp) == 8 {
		v.hambaFingerprint = binary.LittleEndian.Uint64(fp)
	}
	return v, nil
}

func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSchemaFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSchemaFileSize {
		return nil, fmt.Errorf("larger than %d MiB, too large for a schema", maxSchemaFileSize>>20)
	}
	return b, nil
}

// canonicalForm is the schema's Parsing Canonical Form (Avro spec,
// "Parsing Canonical Form for Schemas"): full names, only the attributes
// that matter to parsing (type, name, fields, symbols, items, values,
// size, in that order), no white space, each named type written in full
// once. Unlike hamba's Schema.String() it drops logical types, as the
// spec and the Java implementation do, so that the fingerprints of
// schemas with logical types match other Avro implementations'.
func canonicalForm(s avro.Schema) string {
	var b strings.Builder
	writeCanonical(&b, s, map[string]bool{})
	return b.String()
}

func writeCanonical(b *strings.Builder, s avro.Schema, seen map[string]bool) {
	if ref, ok := s.(*avro.RefSchema); ok {
		s = ref.Schema()
	}
	if n, ok := s.(avro.NamedSchema); ok {
		if seen[n.FullName()] {
			b.WriteString(strconv.Quote(n.FullName()))
			return
		}
		seen[n.FullName()] = true
	}
	switch t := s.(type) {
	case *avro.RecordSchema:
		typ := "record"
		if t.IsError() {
			typ = "error"
		}
		b.WriteString(`{"name":` + strconv.Quote(t.FullName()) + `,"type":"` + typ + `","fields":[`)
		for i, f := range t.Fields() {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"name":` + strconv.Quote(f.Name()) + `,"type":`)
			writeCanonical(b, f.Type(), seen)
			b.WriteByte('}')
		}
		b.WriteString("]}")
	case *avro.EnumSchema:
		b.WriteString(`{"name":` + strconv.Quote(t.FullName()) + `,"type":"enum","symbols":[`)
		for i, sym := range t.Symbols() {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(sym))
		}
		b.WriteString("]}")
	case *avro.FixedSchema:
		b.WriteString(`{"name":` + strconv.Quote(t.FullName()) + `,"type":"fixed","size":` + strconv.Itoa(t.Size()) + "}")
	case *avro.ArraySchema:
		b.WriteString(`{"type":"array","items":`)
		writeCanonical(b, t.Items(), seen)
		b.WriteByte('}')
	case *avro.MapSchema:
		b.WriteString(`{"type":"map","values":`)
		writeCanonical(b, t.Values(), seen)
		b.WriteByte('}')
	case *avro.UnionSchema:
		b.WriteByte('[')
		for i, u := range t.Types() {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, u, seen)
		}
		b.WriteByte(']')
	default: // primitives (null included), logical types dropped
		b.WriteString(`"` + string(s.Type()) + `"`)
	}
}

// crc64AvroEmpty is the spec's CRC-64-AVRO initial value.
const crc64AvroEmpty = 0xc15d213aa4d7a795

var crc64AvroTable = func() (t [256]uint64) {
	for i := range t {
		fp := uint64(i)
		for range 8 {
			fp = (fp >> 1) ^ (crc64AvroEmpty & -(fp & 1))
		}
		t[i] = fp
	}
	return t
}()

// crc64Avro is the Avro spec's 64-bit Rabin fingerprint (CRC-64-AVRO).
func crc64Avro(b []byte) uint64 {
	fp := uint64(crc64AvroEmpty)
	for _, c := range b {
		fp = (fp >> 8) ^ crc64AvroTable[byte(fp)^c]
	}
	return fp
}
