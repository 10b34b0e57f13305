//! The conformance node binary, run as a child process through pipes as the
//! runtime runs it (docs/conformance.md).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::process::{Command, Output as ProcOutput, Stdio};

use sluice_node::wire::{self, Batch, Message, Results};
use sluice_node::{FrameReader, Hello, NodeError, Output, Record};

const NODE: &str = env!("CARGO_BIN_EXE_conformance-node");

fn hello(version: u16) -> Message<'static> {
    Message::Hello(Hello {
        version,
        stage: "conf".into(),
        worker: 0,
        max_frame: 1 << 20,
        settings: BTreeMap::new(),
    })
}

/// Runs the node with `input` on its stdin (then closed) and returns how it
/// ended, with its stdout decoded.
fn run(input: Vec<u8>) -> (ProcOutput, Vec<Message<'static>>) {
    let mut child = Command::new(NODE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the conformance node");
    let mut stdin = child.stdin.take().unwrap();
    // Write from a thread: a node that answers as it reads would otherwise
    // block on a full stdout pipe while we block on its full stdin.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let mut fr = FrameReader::new(Cursor::new(out.stdout.clone()), 0);
    let mut ms = Vec::new();
    while let Some(p) = fr.next_frame().expect("valid frames on stdout") {
        ms.push(match wire::decode(p).unwrap() {
            Message::HelloAck(a) => Message::HelloAck(a),
            Message::Results(r) => Message::Results(r),
            Message::Fatal(f) => Message::Fatal(f),
            m => panic!("a node does not send {m:?}"),
        });
    }
    (out, ms)
}

fn encode(msgs: &[Message<'_>]) -> Vec<u8> {
    let mut b = Vec::new();
    for m in msgs {
        wire::encode(&mut b, m);
    }
    b
}

fn rec<'a>(offset: i64, key: Option<&'a [u8]>, value: Option<&'a [u8]>) -> Record<'a> {
    Record {
        topic: Cow::Borrowed("conf.in"),
        partition: 1,
        offset,
        timestamp: 1_700_000_000_000,
        key,
        value,
        headers: vec![
            (Cow::Borrowed("traceparent"), Some(b"00-abc-def-01")),
            (Cow::Borrowed("nul"), None),
        ],
    }
}

fn results(m: &Message<'_>) -> Results {
    match m {
        Message::Results(r) => r.clone(),
        m => panic!("want results, got {m:?}"),
    }
}

#[test]
fn every_conformance_case() {
    let values: [Option<&[u8]>; 12] = [
        Some(b"multi:3"),
        Some(b"multi:0"),
        Some(b"alert"),
        Some(b"fail:no such sensor"),
        Some(b"retry:broker busy"),
        Some(b"log:hello from rust"),
        None,
        Some(b""),
        Some(&[0x00, 0xff, 0x10, 0x80]),
        Some(b"multi:x"),
        Some(b"plain text"),
        Some(b"fail:"),
    ];
    let records: Vec<Record<'_>> = values
        .iter()
        .enumerate()
        .map(|(i, v)| rec(i as i64, Some(b"k1"), *v))
        .collect();
    let input = encode(&[
        hello(1),
        Message::Batch(Batch {
            id: 1,
            records: records[..6].to_vec(),
        }),
        Message::Batch(Batch {
            id: 2,
            records: records[6..].to_vec(),
        }),
        Message::Batch(Batch {
            id: 3,
            records: vec![rec(99, None, Some(b"x"))],
        }),
        Message::Shutdown,
    ]);
    let (out, ms) = run(input);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr)
        .lines()
        .any(|l| l == "hello from rust"));
    assert_eq!(ms.len(), 4, "{ms:?}");
    let Message::HelloAck(ack) = &ms[0] else {
        panic!("{:?}", ms[0])
    };
    assert_eq!((ack.version, ack.name.as_str()), (1, "conformance"));

    let pass = |r: &Record<'_>| Output::passthrough(r);
    let multi = |n: usize| {
        (0..n)
            .map(|i| Output::new().key("k1").value(format!("multi:{n}#{i}")))
            .collect::<Vec<_>>()
    };
    let r1 = results(&ms[1]);
    assert_eq!(r1.id, 1);
    assert_eq!(
        r1.results,
        vec![
            Ok(multi(3)),
            Ok(vec![]),
            Ok(vec![
                pass(&records[2]),
                Output::to("alerts").key("k1").value("ALERT")
            ]),
            Err(NodeError::permanent("no such sensor")),
            Err(NodeError::retriable("broker busy")),
            Ok(vec![pass(&records[5])]),
        ]
    );
    let r2 = results(&ms[2]);
    assert_eq!(r2.id, 2);
    assert_eq!(r2.results.len(), 6);
    for (i, r) in records[6..11].iter().enumerate() {
        assert_eq!(
            r2.results[i],
            Ok(vec![pass(r)]),
            "record {i} passes through byte for byte"
        );
    }
    assert_eq!(
        r2.results[0].as_ref().unwrap()[0].value,
        None,
        "null stays null"
    );
    assert_eq!(
        r2.results[1].as_ref().unwrap()[0].value,
        Some(vec![]),
        "empty stays empty"
    );
    assert_eq!(r2.results[5], Err(NodeError::permanent("")));
    let r3 = results(&ms[3]);
    assert_eq!(
        r3.results[0].as_ref().unwrap()[0].key,
        None,
        "null key stays null"
    );
}

#[test]
fn crash_exits_3_without_answering() {
    let v: &[u8] = b"crash";
    let input = encode(&[
        hello(1),
        Message::Batch(Batch {
            id: 1,
            records: vec![rec(0, None, Some(b"ok")), rec(1, None, Some(v))],
        }),
    ]);
    let (out, ms) = run(input);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(ms.len(), 1, "only the ack: {ms:?}");
}

#[test]
fn another_version_gets_fatal_and_nonzero_exit() {
    let (out, ms) = run(encode(&[hello(2)]));
    assert_ne!(out.status.code(), Some(0));
    match &ms[..] {
        [Message::Fatal(m)] => assert!(m.contains("unsupported protocol version"), "{m}"),
        ms => panic!("want one fatal, got {ms:?}"),
    }
}

#[test]
fn end_of_input_exits_0_and_garbage_exits_nonzero() {
    let (out, ms) = run(encode(&[hello(1)]));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(ms.len(), 1);

    let mut input = encode(&[hello(1)]);
    input.extend_from_slice(&[0, 0, 0, 2, 0x42, 0]);
    let (out, ms) = run(input);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        matches!(ms.last(), Some(Message::Fatal(m)) if m.contains("unknown message type 0x42"))
    );
}

#[test]
fn answers_while_the_runtime_keeps_the_pipe_open() {
    // The runtime waits for each answer before it sends more when its window
    // is full: the node must flush without seeing the end of its input.
    let mut child = Command::new(NODE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut read_frame = || {
        let mut len = [0u8; 4];
        stdout.read_exact(&mut len).unwrap();
        let mut p = vec![0u8; u32::from_be_bytes(len) as usize];
        stdout.read_exact(&mut p).unwrap();
        p
    };
    stdin.write_all(&encode(&[hello(1)])).unwrap();
    assert_eq!(read_frame()[0], wire::types::HELLO_ACK);
    for id in 1..=3u64 {
        let v = format!("v{id}");
        stdin
            .write_all(&encode(&[Message::Batch(Batch {
                id,
                records: vec![rec(0, None, Some(v.as_bytes()))],
            })]))
            .unwrap();
        let p = read_frame();
        let Message::Results(r) = wire::decode(&p).unwrap() else {
            panic!()
        };
        assert_eq!(r.id, id);
    }
    stdin.write_all(&encode(&[Message::Shutdown])).unwrap();
    assert!(child.wait().unwrap().success());
}
