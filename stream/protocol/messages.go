package protocol

// Version is the protocol version this package speaks.
const Version uint16 = 1

// MsgType is the first byte of every frame payload.
type MsgType uint8

// Message types of protocol v1. Types 0x07 and 0x08 are files mode: the
// runtime spools a batch to a file and the frame carries its path.
const (
	TypeHello     MsgType = 0x01 // runtime -> node: version, stage, settings
	TypeHelloAck  MsgType = 0x02 // node -> runtime: version, name, features
	TypeBatch     MsgType = 0x03 // runtime -> node: a batch of input records
	TypeResults   MsgType = 0x04 // node -> runtime: one result per record of a batch
	TypeShutdown  MsgType = 0x05 // runtime -> node: drain, answer, exit
	TypeFatal     MsgType = 0x06 // node -> runtime: the node cannot go on (message)
	TypeFileBatch MsgType = 0x07 // runtime -> node: a batch spooled to an NDJSON file (files mode)
	TypeFileAck   MsgType = 0x08 // node -> runtime: the batch's results, in an NDJSON file
)

func (t MsgType) String() string {
	switch t {
	case TypeHello:
		return "hello"
	case TypeHelloAck:
		return "hello_ack"
	case TypeBatch:
		return "batch"
	case TypeResults:
		return "results"
	case TypeShutdown:
		return "shutdown"
	case TypeFatal:
		return "fatal"
	case TypeFileBatch:
		return "file_batch"
	case TypeFileAck:
		return "file_ack"
	}
	return "unknown"
}

// Features is the bit set a node announces in its HelloAck.
type Features uint32

const (
	// FeatureBatchHandler: the node processes whole batches at once
	// (informational; the wire format is the same).
	FeatureBatchHandler Features = 1 << 0
	// FeatureFiles: the node works in files mode: it receives FileBatch
	// frames instead of Batch frames and answers with FileAck.
	FeatureFiles Features = 1 << 1
)

// Message is any protocol message.
type Message interface {
	Type() MsgType
}

// Header is a Kafka record header. A nil Value is a null header value.
type Header struct {
	Key   string
	Value []byte
}

// Record is one input record with its full Kafka metadata. A nil Key or
// Value is null; a non-nil empty slice is an empty (non-null) value.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp int64 // milliseconds since the Unix epoch
	Key       []byte
	Value     []byte
	Headers   []Header
}

// Output is one record a node emits for an input record. Name selects the
// stage output it goes to ("" is the output named "default"); the pipeline
// file maps names to topics.
type Output struct {
	Name    string
	Key     []byte
	Value   []byte
	Headers []Header
}

// Status is the outcome of one input record.
type Status uint8

const (
	StatusOK        Status = 0 // Outputs holds 0..N records
	StatusError     Status = 1 // a permanent failure: the record goes to the DLQ
	StatusRetriable Status = 2 // a transient failure the node believes may pass
)

// Result is the node's answer for one input record.
type Result struct {
	Status  Status
	Outputs []Output // only for StatusOK
	Error   string   // only for StatusError and StatusRetriable
}

// Hello opens the conversation: the runtime tells the node who it is.
type Hello struct {
	Version  uint16
	Stage    string
	Worker   uint32 // index of this co-process among the stage's workers
	MaxFrame uint32 // the largest frame either side may send
	Settings map[string]string
}

// HelloAck is the node's answer to Hello.
type HelloAck struct {
	Version     uint16
	Name        string
	NodeVersion string
	Features    Features
}

// Batch carries input records. IDs increase by one per batch, from 1.
type Batch struct {
	ID      uint64
	Records []Record
}

// Results answers the Batch with the same ID, one Result per record, in order.
type Results struct {
	ID      uint64
	Results []Result
}

// FileBatch is a batch in files mode: Count records are in the NDJSON file
// at Path (see docs/protocol.md for the line format). IDs are shared with
// Batch: one sequence per node.
type FileBatch struct {
	ID    uint64
	Count uint32
	Path  string
}

// FileAck answers the FileBatch with the same ID: Path is an NDJSON file
// with one result line per record, in order.
type FileAck struct {
	ID   uint64
	Path string
}

// Shutdown asks the node to answer every batch it has received, then exit 0.
type Shutdown struct{}

// Fatal is a node's last word before it exits, e.g. an unsupported version.
type Fatal struct {
	Message string
}

func (*Hello) Type() MsgType     { return TypeHello }
func (*HelloAck) Type() MsgType  { return TypeHelloAck }
func (*Batch) Type() MsgType     { return TypeBatch }
func (*Results) Type() MsgType   { return TypeResults }
func (*Shutdown) Type() MsgType  { return TypeShutdown }
func (*FileBatch) Type() MsgType { return TypeFileBatch }
func (*FileAck) Type() MsgType   { return TypeFileAck }
func (*Fatal) Type() MsgType     { return TypeFatal }
