//! Throughput of the adapter through real pipes: 500k records of 200 bytes
//! through the conformance node (passthrough) in a child process.
//!
//!     cargo test --release --test bench -- --ignored --nocapture
//!
//! Two runs: with the runtime's default window of 4 batches in flight, and
//! with everything written at once (the adapter's ceiling).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use sluice_node::wire::{self, Batch, Message};
use sluice_node::{Hello, Record};

const RECORDS: usize = 500_000;
const BATCH: usize = 500;
const VALUE: usize = 200;

fn batches() -> Vec<Vec<u8>> {
    let value = vec![b'v'; VALUE];
    (0..RECORDS / BATCH)
        .map(|b| {
            let records = (0..BATCH)
                .map(|i| Record {
                    topic: Cow::Borrowed("events.raw"),
                    offset: (b * BATCH + i) as i64,
                    timestamp: 1_700_000_000_000,
                    key: Some(b"alpha"),
                    value: Some(&value),
                    ..Default::default()
                })
                .collect();
            let mut f = Vec::new();
            wire::encode(
                &mut f,
                &Message::Batch(Batch {
                    id: b as u64 + 1,
                    records,
                }),
            );
            f
        })
        .collect()
}

/// Pipes all batches through a fresh node with at most `window` unanswered
/// (0: no limit) and returns records per second.
fn run(frames: Vec<Vec<u8>>, window: usize) -> f64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_conformance-node"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::with_capacity(256 << 10, child.stdout.take().unwrap());
    let n = frames.len();
    // Credits: the reader returns one per answered batch.
    let (credit_tx, credit_rx) = sync_channel::<()>(n);
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        let mut hello = Vec::new();
        let h = Hello {
            version: 1,
            stage: "bench".into(),
            max_frame: 16 << 20,
            settings: BTreeMap::new(),
            worker: 0,
        };
        wire::encode(&mut hello, &Message::Hello(h));
        stdin.write_all(&hello).unwrap();
        for (i, f) in frames.iter().enumerate() {
            if window > 0 && i >= window {
                credit_rx.recv().unwrap();
            }
            stdin.write_all(f).unwrap();
        }
        let mut bye = Vec::new();
        wire::encode(&mut bye, &Message::Shutdown);
        stdin.write_all(&bye).unwrap();
    });
    let mut payload = Vec::new();
    let mut outputs = 0usize;
    for i in 0..=n {
        let mut len = [0u8; 4];
        stdout.read_exact(&mut len).unwrap();
        payload.resize(u32::from_be_bytes(len) as usize, 0);
        stdout.read_exact(&mut payload).unwrap();
        if i == 0 {
            continue; // the hello_ack
        }
        // Only the header is read here, so that the measuring side costs
        // little next to the node; the first answer is checked in full.
        assert_eq!(payload[0], wire::types::RESULTS);
        assert_eq!(
            u64::from_be_bytes(payload[1..9].try_into().unwrap()),
            i as u64
        );
        assert_eq!(
            u32::from_be_bytes(payload[9..13].try_into().unwrap()) as usize,
            BATCH
        );
        if i == 1 {
            let Message::Results(r) = wire::decode(&payload).unwrap() else {
                panic!("want results")
            };
            assert!(r
                .results
                .iter()
                .all(|o| o.as_ref().unwrap()[0].value.as_deref() == Some(&[b'v'; VALUE][..])));
        }
        outputs += BATCH;
        let _ = credit_tx.send(());
    }
    let secs = start.elapsed().as_secs_f64();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(outputs, RECORDS);
    RECORDS as f64 / secs
}

#[test]
#[ignore = "benchmark: cargo test --release --test bench -- --ignored --nocapture"]
fn passthrough_throughput() {
    let frames = batches();
    for (label, window) in [("window 4", 4), ("no window", 0)] {
        let best = (0..3)
            .map(|_| run(frames.clone(), window))
            .fold(0.0, f64::max);
        println!(
            "rust adapter, conformance node passthrough, {RECORDS} x {VALUE} B records, batches of {BATCH}, {label}: {:.0} records/s (best of 3)",
            best
        );
    }
}
