// Package sluice is the Go adapter for Sluice nodes: a node author writes a
// handler and calls Run; the adapter speaks node protocol v1 on stdin and
// stdout (handshake, batches, results, shutdown), batches its writes, and
// keeps stderr free for the author's logs.
//
//	func main() {
//		sluice.Run("upper", func(r sluice.Record) ([]sluice.Output, error) {
//			return []sluice.Output{{Value: bytes.ToUpper(r.Value)}}, nil
//		})
//	}
//
// A handler returns zero, one or many outputs per record; Output.Name picks a
// named output of the stage ("" is "default"). Returning an error sends the
// record to the stage's DLQ with the error text; wrap it with Retriable when
// the failure may pass. A panic in a handler is reported as that record's
// error, not a crash.
package sluice
