package codec

// The codec of an Avro topic, in either wire form. Outputs are written
// with the newest schema version; inputs written with any version the
// topic knows are read as the newest one (Avro schema resolution). The
// writer's version is named by the value's header: a CRC-64-AVRO
// fingerprint (single-object) or a Schema Registry id (confluent).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/config"
)

// avroCodec is safe for concurrent use: its plans are built at Load (or,
// for registry ids met in records, once per id) and never change.
type avroCodec struct {
	topic    string
	wire     string
	versions []*schemaVersion // oldest first
	reader   *schemaVersion   // the newest: writes outputs, reads inputs
	enc      *encNode         // the newest version's encoder

	// single-object
	header        []byte               // C3 01 + the newest version's fingerprint
	byFingerprint map[uint64]*readPlan // every version's, both fingerprint forms

	// confluent
	reg      *registry
	subject  string
	writerID atomic.Int64 // the newest version's id; 0 until prepare
	byID     sync.Map     // int -> *readPlan
}

// readPlan reads the values of one writer schema as the reader schema.
type readPlan struct {
	plan *decNode // nil: the reader cannot read this writer (err)
	err  string
}

// newAvroCodec builds the codec of an avro topic from its parsed versions.
// It fails only on a schema hamba parsed but sluice cannot write (a
// default that does not fit its field).
func newAvroCodec(t *config.Topic, versions []*schemaVersion, reg *registry) (*avroCodec, error) {
	c := &avroCodec{
		topic:    t.Name,
		wire:     t.Wire,
		versions: versions,
		reader:   versions[len(versions)-1],
		reg:      reg,
		subject:  t.Subject,
	}
	if c.wire == "" {
		c.wire = config.WireSingleObject
	}
	if c.subject == "" {
		c.subject = t.Name + "-value"
	}
	var err error
	if c.enc, err = compileEncoder(c.reader.schema); err != nil {
		return nil, err
	}
	if c.wire == config.WireSingleObject {
		c.header = appendSingleObjectHeader(nil, c.reader.fingerprint)
		c.byFingerprint = map[uint64]*readPlan{}
		for _, v := range versions {
			p := c.planFor(v, v.base)
			// Two versions with the same canonical form are the same
			// schema to a reader: the first one stands for both.
			if _, dup := c.byFingerprint[v.fingerprint]; !dup {
				c.byFingerprint[v.fingerprint] = p
			}
			if _, dup := c.byFingerprint[v.hambaFingerprint]; !dup {
				c.byFingerprint[v.hambaFingerprint] = p
			}
		}
	}
	return c, nil
}

// planFor compiles how values written with w read as the reader schema;
// writer names w in messages.
func (c *avroCodec) planFor(w *schemaVersion, writer string) *readPlan {
	plan, err := compileDecoder(w.schema, c.reader.schema)
	if err != nil {
		return &readPlan{err: fmt.Sprintf("written with %s, which the topic's schema %s cannot read: %v", writer, c.reader.base, err)}
	}
	return &readPlan{plan: plan}
}

func (c *avroCodec) Topic() string  { return c.topic }
func (c *avroCodec) Format() string { return config.FormatAvro }

func (c *avroCodec) fail(reason string) *Error { return &Error{Topic: c.topic, Reason: reason} }

// Decode reads an Avro value of the topic and returns it as JSON (the
// newest schema's fields, in its order). A value that is not one gives an
// *Error; a registry that cannot be asked about an unknown schema id
// gives another error (the value may well be good).
func (c *avroCodec) Decode(value []byte) ([]byte, error) {
	p, payload, err := c.plan(value)
	if err != nil {
		return nil, err
	}
	return c.run(p, payload, make([]byte, 0, 2*len(payload)+64))
}

// Check reports whether value is an Avro value of the topic written with
// one of its versions, as Decode would read it.
func (c *avroCodec) Check(value []byte) error {
	p, payload, err := c.plan(value)
	if err != nil {
		return err
	}
	bp := checkBufs.Get().(*[]byte)
	out, err := c.run(p, payload, (*bp)[:0])
	if cap(out) <= 1<<20 {
		*bp = out[:0]
		checkBufs.Put(bp)
	}
	return err
}

// checkBufs recycles the JSON Check writes and drops.
var checkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (c *avroCodec) run(p *readPlan, payload, out []byte) ([]byte, error) {
	if p.plan == nil {
		return nil, c.fail(p.err)
	}
	r := avroReader{b: payload, budget: maxEmptyItems}
	out, werr := p.plan.decode(out, &r)
	if werr != nil {
		return nil, werr.asError(c.topic)
	}
	if left := len(payload) - r.i; left > 0 {
		return nil, c.fail(fmt.Sprintf("%d bytes left over after the value: not a value of the schema it names", left))
	}
	return out, nil
}

// plan finds the read plan of the writer schema value's header names.
func (c *avroCodec) plan(value []byte) (*readPlan, []byte, error) {
	if c.wire == config.WireConfluent {
		return c.confluentPlan(value)
	}
	fp, payload, reason := splitSingleObject(value)
	if reason != "" {
		return nil, nil, c.fail(reason)
	}
	p := c.byFingerprint[fp]
	if p == nil {
		return nil, nil, c.fail(fmt.Sprintf("written with an unknown schema (fingerprint 0x%016x)", fp))
	}
	return p, payload, nil
}

// Encode writes a node's JSON output as an Avro value of the newest
// schema, strictly (see avroencode.go). A value that does not fit gives
// an *Error naming the field; a Confluent-wire codec that was not
// prepared gives another error.
func (c *avroCodec) Encode(jsonValue []byte) ([]byte, error) {
	buf := make([]byte, 0, len(jsonValue)+16)
	if c.wire == config.WireConfluent {
		id := c.writerID.Load()
		if id == 0 {
			return nil, fmt.Errorf("topic %s: the Schema Registry id of its schema is not known: the codecs were not prepared (Set.Prepare)", strconv.Quote(c.topic))
		}
		buf = appendConfluentHeader(buf, int(id))
	} else {
		buf = append(buf, c.header...)
	}
	buf, werr := c.enc.encodeJSON(buf, jsonValue)
	if werr != nil {
		// Bad JSON is said first, whatever the walk met before it.
		if werr.syntax || !json.Valid(jsonValue) {
			return nil, c.fail("not valid JSON: " + jsonSyntaxReason(jsonValue))
		}
		return nil, werr.asError(c.topic)
	}
	return buf, nil
}

// jsonSyntaxReason is encoding/json's word on why b is not valid JSON.
func jsonSyntaxReason(b []byte) string {
	if err := json.Unmarshal(b, new(json.RawMessage)); err != nil {
		return err.Error()
	}
	return "unexpected end of JSON input" // not reached: b is not valid
}

// Confluent wire form.

// prepare registers the topic's versions, oldest first, under its
// subject (idempotent: the registry returns the id a schema already has)
// and learns their ids; the newest one's is what Encode writes.
func (c *avroCodec) prepare(ctx context.Context) error {
	if c.reg == nil {
		return fmt.Errorf("topic %s: wire confluent needs schema_registry in the pipeline file", strconv.Quote(c.topic))
	}
	if c.writerID.Load() != 0 {
		return nil // prepared already
	}
	var id int
	for _, v := range c.versions {
		var err error
		if id, err = c.reg.register(ctx, c.subject, v.text); err != nil {
			return fmt.Errorf("topic %s: %s: %w", strconv.Quote(c.topic), v.base, err)
		}
		c.byID.LoadOrStore(id, c.planFor(v, v.base))
	}
	c.writerID.Store(int64(id))
	return nil
}

// confluentPlan finds the plan of the schema id value's header names,
// asking the registry about an id met for the first time.
func (c *avroCodec) confluentPlan(value []byte) (*readPlan, []byte, error) {
	id, payload, err := splitConfluentHeader(value)
	if err != nil {
		return nil, nil, c.fail(err.Error())
	}
	if p, ok := c.byID.Load(id); ok {
		return p.(*readPlan), payload, nil
	}
	if c.reg == nil {
		return nil, nil, fmt.Errorf("topic %s: wire confluent needs schema_registry in the pipeline file", strconv.Quote(c.topic))
	}
	// The registry's client bounds each request; the id is asked once
	// for every caller at the same time (registry.schemaByID).
	text, err := c.reg.schemaByID(context.Background(), id)
	if err != nil {
		if registryAnswered(err) {
			// The registry said the id is not an Avro schema it has:
			// the value is at fault, and asking again would not help.
			return nil, nil, c.fail(fmt.Sprintf("written with schema id %d, which the registry cannot give: %v", id, err))
		}
		return nil, nil, fmt.Errorf("topic %s: %w", strconv.Quote(c.topic), err)
	}
	var p *readPlan
	if v, perr := parseSchema([]byte(text)); perr != nil {
		p = &readPlan{err: fmt.Sprintf("written with schema id %d, which is %v", id, perr)}
	} else {
		p = c.planFor(v, "schema id "+strconv.Itoa(id))
	}
	actual, _ := c.byID.LoadOrStore(id, p)
	return actual.(*readPlan), payload, nil
}

// registryAnswered reports whether a failed schemaByID is the registry's
// answer about the id (it has no such schema, or not an Avro one) rather
// than a failure to ask it (unreachable, refused credentials, 5xx). The
// former is the value's fault: the record goes to the DLQ; the latter is
// not, and must not send good records there.
func registryAnswered(err error) bool {
	return errors.As(err, new(*schemaIDError))
}
