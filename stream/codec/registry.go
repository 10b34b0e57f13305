package codec

// The Schema Registry client of Confluent-wire topics, and the wire format
// itself. Contract (used by the Avro codec of Confluent-wire topics):
//
//	newRegistry(cfg *config.SchemaRegistry) (*registry, error)
//	(*registry).register(ctx, subject, schemaJSON string) (id int, err error)
//	(*registry).schemaByID(ctx, id int) (schemaJSON string, err error) // cached
//	appendConfluentHeader(dst []byte, id int) []byte
//	splitConfluentHeader(b []byte) (id int, payload []byte, err error)
//
// The registry is reached through franz-go's pkg/sr client, so anything
// that speaks the Confluent Schema Registry REST API works: Confluent's
// own, Karapace, Redpanda, Apicurio's ccompat API (/apis/ccompat/v7).

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/config"
)

// registryTimeout bounds one HTTP exchange with the registry. The calls are
// rare (start-up registration, the first record of each unknown schema id),
// so a generous bound costs nothing, while no bound at all could hang a
// stage's start on a registry that accepts connections and never answers.
const registryTimeout = 15 * time.Second

// registry is a Schema Registry client. It is safe for concurrent use.
type registry struct {
	cl   *sr.Client
	urls []string // as configured, credentials redacted: for messages

	mu sync.Mutex
	// byID caches schemaByID. Only successful lookups are stored (an id the
	// registry does not know yet may appear later, once a producer
	// registers it); an id's schema never changes, so entries never expire.
	byID map[int]string
	// pending holds the lookups under way, so that the partitions of a
	// stage meeting a new id at once ask the registry once.
	pending map[int]*idLookup
}

// idLookup is one schemaByID request under way; done is closed once schema
// and err are set.
type idLookup struct {
	done   chan struct{}
	schema string
	err    error
}

// newRegistry builds the client of cfg. It does not touch the network.
func newRegistry(cfg *config.SchemaRegistry) (*registry, error) {
	if cfg == nil || len(cfg.URLs) == 0 {
		return nil, errors.New("schema_registry: no url configured")
	}
	urls := make([]string, len(cfg.URLs))
	shown := make([]string, len(cfg.URLs))
	for i, u := range cfg.URLs {
		u = strings.TrimSpace(u)
		// Like sr.URLs: a bare host:port means plain HTTP.
		if !strings.Contains(u, "://") {
			u = "http://" + u
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("schema_registry: url %q is not an http(s) URL", cfg.URLs[i])
		}
		u = strings.TrimRight(u, "/")
		urls[i] = u
		p.Path = strings.TrimRight(p.Path, "/")
		shown[i] = p.Redacted()
	}
	opts := []sr.ClientOpt{
		sr.URLs(urls...),
		sr.HTTPClient(&http.Client{Timeout: registryTimeout}),
		sr.UserAgent("sluice"),
	}
	if user, pass := cfg.Username, cfg.Password.Reveal(); user != "" || pass != "" {
		opts = append(opts, sr.BasicAuth(user, pass))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("schema_registry: %v", err)
	}
	return &registry{cl: cl, urls: shown, byID: map[int]string{}, pending: map[int]*idLookup{}}, nil
}

// register registers the Avro schema schemaJSON under subject and returns
// its id. It is idempotent: a schema the subject already has gets its
// existing id back (the registry's rule), so every start may call it. The
// registry applies its own compatibility rule for the subject; a refusal
// reads `schema registry refused the schema for subject "x": incompatible
// with an earlier version (<the registry's words>)`.
func (r *registry) register(ctx context.Context, subject, schemaJSON string) (int, error) {
	// RegisterSchema is one POST /subjects/{subject}/versions answering
	// {"id": N}; CreateSchema would add a second request for the version
	// number, which sluice does not use.
	id, err := r.cl.RegisterSchema(ctx, subject, sr.Schema{Schema: schemaJSON, Type: sr.TypeAvro}, -1, -1)
	if err != nil {
		var re *sr.ResponseError
		if errors.As(err, &re) {
			switch {
			case re.StatusCode == http.StatusConflict:
				return 0, fmt.Errorf("schema registry refused the schema for subject %s: incompatible with an earlier version (%s)",
					strconv.Quote(subject), registryMessage(re))
			case re.StatusCode == http.StatusUnprocessableEntity:
				return 0, fmt.Errorf("schema registry refused the schema for subject %s: not a valid schema (%s)",
					strconv.Quote(subject), registryMessage(re))
			}
		}
		return 0, r.explain(ctx, err, "registering the schema of subject "+strconv.Quote(subject))
	}
	if id <= 0 {
		return 0, fmt.Errorf("schema registry %s: registering the schema of subject %s: the answer has no schema id",
			r.where(""), strconv.Quote(subject))
	}
	return id, nil
}

// schemaByID returns the Avro schema the registry knows by id. Answers are
// cached; a failed lookup is not, so it is asked again next time. Callers
// asking for the same id at once share one request.
func (r *registry) schemaByID(ctx context.Context, id int) (string, error) {
	for {
		r.mu.Lock()
		if s, ok := r.byID[id]; ok {
			r.mu.Unlock()
			return s, nil
		}
		l, waiting := r.pending[id]
		if !waiting {
			l = &idLookup{done: make(chan struct{})}
			r.pending[id] = l
		}
		r.mu.Unlock()

		if !waiting {
			l.schema, l.err = r.fetchSchema(ctx, id)
			r.mu.Lock()
			if l.err == nil {
				r.byID[id] = l.schema
			}
			delete(r.pending, id)
			r.mu.Unlock()
			close(l.done)
			return l.schema, l.err
		}
		select {
		case <-l.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		// The request that failed because its own caller gave up says
		// nothing about this caller's: ask again.
		if l.err != nil && ctx.Err() == nil && (errors.Is(l.err, context.Canceled) || errors.Is(l.err, context.DeadlineExceeded)) {
			continue
		}
		return l.schema, l.err
	}
}

// fetchSchema asks the registry for schema id (no cache).
func (r *registry) fetchSchema(ctx context.Context, id int) (string, error) {
	s, err := r.cl.SchemaByID(ctx, id)
	if err != nil {
		var re *sr.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
			return "", idErrorf("schema registry %s: no schema with id %d (%s)", r.where(re.URL), id, registryMessage(re))
		}
		return "", r.explain(ctx, err, fmt.Sprintf("looking up schema id %d", id))
	}
	// A Protobuf or JSON Schema id in an Avro topic is a producer's mistake
	// worth naming, not a parse error of a schema in another language.
	if s.Type != sr.TypeAvro {
		return "", idErrorf("schema registry %s: schema id %d is a %s schema, not Avro", r.where(""), id, s.Type)
	}
	if len(s.References) > 0 {
		return "", idErrorf("schema registry %s: schema id %d refers to other schemas (references), which sluice does not resolve", r.where(""), id)
	}
	if s.Schema == "" {
		return "", idErrorf("schema registry %s: schema id %d: the answer has no schema", r.where(""), id)
	}
	return s.Schema, nil
}

// schemaIDError is a schemaByID failure that is the registry's answer
// about the id (it has no such schema, or none sluice can read) rather
// than a failure to ask it (unreachable, refused credentials, 5xx): the
// record that names the id is at fault, and asking again will not help.
// Tell them apart with errors.As(err, new(*schemaIDError)).
type schemaIDError struct{ msg string }

func (e *schemaIDError) Error() string { return e.msg }

func idErrorf(format string, args ...any) error {
	return &schemaIDError{msg: fmt.Sprintf(format, args...)}
}

// explain turns an error of the sr client into one line naming the
// registry: `schema registry http://host:8081: <reason>`. doing says what
// was under way, for the answers that need it to make sense.
func (r *registry) explain(ctx context.Context, err error, doing string) error {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		where := r.where(re.URL)
		switch re.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("schema registry %s: 401 unauthorized (%s): check schema_registry.username and password", where, registryMessage(re))
		case http.StatusForbidden:
			return fmt.Errorf("schema registry %s: 403 forbidden (%s): the user may not do this (%s)", where, registryMessage(re), doing)
		}
		return fmt.Errorf("schema registry %s: %s: HTTP %d (%s)", where, doing, re.StatusCode, registryMessage(re))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		where := r.where(ue.URL)
		// The HTTP client's own bound, not the caller's deadline or
		// cancellation (those say so themselves).
		if ue.Timeout() && ctx.Err() == nil {
			return fmt.Errorf("schema registry %s: no answer within %s", where, registryTimeout)
		}
		return fmt.Errorf("schema registry %s: %w", where, ue.Err)
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) {
		return fmt.Errorf("schema registry %s: %s: the answer is not a Schema Registry's (%v)", r.where(""), doing, se)
	}
	if errors.As(err, &te) {
		return fmt.Errorf("schema registry %s: %s: the answer is not a Schema Registry's (%v)", r.where(""), doing, te)
	}
	return fmt.Errorf("schema registry %s: %s: %v", r.where(""), doing, err)
}

// where is the base URL a request went to (reqURL: the full URL, "" if
// unknown), credentials redacted; with several URLs and no request URL,
// all of them.
func (r *registry) where(reqURL string) string {
	if reqURL != "" {
		if p, err := url.Parse(reqURL); err == nil {
			for _, u := range r.urls {
				b, err := url.Parse(u)
				if err == nil && b.Scheme == p.Scheme && b.Host == p.Host && strings.HasPrefix(p.Path, b.Path) {
					return u
				}
			}
		}
	}
	return strings.Join(r.urls, ", ")
}

// registryMessage is what the registry said: its JSON "message", or the
// raw body (cut short) when the answer was not the registry's JSON error.
func registryMessage(re *sr.ResponseError) string {
	msg := re.Message
	if msg == "" {
		msg = string(re.Raw)
	}
	msg = strings.Join(strings.Fields(msg), " ") // one line
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	if msg == "" {
		msg = http.StatusText(re.StatusCode)
	}
	return msg
}

// The Confluent wire format: a zero "magic" byte, the schema id as a 4-byte
// big-endian integer, then the Avro binary value.
const (
	confluentMagic     = 0x00
	confluentHeaderLen = 5
)

// appendConfluentHeader appends the Confluent wire header of schema id to
// dst. Registry ids are positive 32-bit integers.
func appendConfluentHeader(dst []byte, id int) []byte {
	dst = append(dst, confluentMagic)
	return binary.BigEndian.AppendUint32(dst, uint32(id))
}

// splitConfluentHeader reads the schema id of a value in the Confluent wire
// format and returns it with the Avro payload that follows (which aliases
// b). A value not in that format gives an error saying why.
func splitConfluentHeader(b []byte) (int, []byte, error) {
	switch {
	case len(b) == 0:
		return 0, nil, errors.New("not in the Confluent wire format: empty value")
	case b[0] != confluentMagic:
		return 0, nil, fmt.Errorf("not in the Confluent wire format: first byte 0x%02x, expected 0x00", b[0])
	case len(b) < confluentHeaderLen:
		return 0, nil, fmt.Errorf("not in the Confluent wire format: %d bytes, shorter than the 5-byte header (0x00 and a 4-byte schema id)", len(b))
	}
	return int(binary.BigEndian.Uint32(b[1:confluentHeaderLen])), b[confluentHeaderLen:], nil
}
