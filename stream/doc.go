// Package stream is the Sluice stage runtime: a franz-go consumer group on
// the stage's input topic, records routed by partition to node workers
// (co-processes speaking protocol v1), results produced to the stage's output
// topics in input order per partition, and input offsets committed only when
// the record and every earlier record of its partition are done.
//
// Data flow (one Stage):
//
//	poll loop ──records──▶ tracker (per-partition chunks, window)
//	    │                      ▲ done
//	    └──route by partition──▶ worker[i] ──batch──▶ node co-process
//	                               ▲                       │
//	                               └──────results──────────┘
//	                               │
//	                               └─ produce outputs / DLQ ──acks──▶ tracker
//	commit loop: tracker.committable() ──▶ CommitOffsetsSync
//
// A record is "done" when every output (or its DLQ record) is acknowledged
// by Kafka. The poll loop stops polling while the in-flight window (records
// or bytes) is full, so a slow node leaves the backlog in Kafka as lag.
// A bounded stage (Options.Bounded, used by `sluice replay`) reads a fixed
// range of its input by direct assignment instead, commits nothing, and
// returns from Run once the range is processed.
//
// See docs/architecture.md for the file map.
package stream
