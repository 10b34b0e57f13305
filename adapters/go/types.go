package sluice

import (
	"errors"

	"github.com/sluicehq/sluice/stream/protocol"
)

// Record is an input record with its Kafka metadata. Its byte slices are
// only valid during the handler call: copy what you keep.
type Record = protocol.Record

// Output is a record the node emits. Name selects the stage output ("" is
// "default"). Nil Key or Value is null.
type Output = protocol.Output

// Header is a Kafka record header.
type Header = protocol.Header

// Hello is what the runtime tells the node at start: stage, worker index,
// settings from the pipeline file.
type Hello = protocol.Hello

// Result is the outcome of one record for a batch handler: outputs, or Err.
type Result struct {
	Outputs []Output
	Err     error
}

// RetriableError marks a failure that may pass if the record is retried.
type RetriableError struct{ Err error }

func (e *RetriableError) Error() string { return e.Err.Error() }
func (e *RetriableError) Unwrap() error { return e.Err }

// Retriable wraps err so the runtime knows a retry may succeed.
func Retriable(err error) error { return &RetriableError{Err: err} }

func isRetriable(err error) bool {
	var r *RetriableError
	return errors.As(err, &r)
}
