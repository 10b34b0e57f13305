//! The adapter's behaviour with in-memory input and output: handshake,
//! per-record errors and panics, batch handlers, the frame limit, fatal
//! answers, and write batching.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Cursor, Write};

use sluice_node::wire::{self, features, Batch, Message, Results};
use sluice_node::{
    from_fn, serve, Error, FrameReader, Handler, Hello, NodeError, Outcome, Output, Record,
};

fn hello(max_frame: u32) -> Message<'static> {
    let settings = BTreeMap::from([("mode".to_string(), "loud".to_string())]);
    Message::Hello(Hello {
        version: 1,
        stage: "s".into(),
        worker: 0,
        max_frame,
        settings,
    })
}

fn rec(value: &str) -> Record<'_> {
    Record {
        topic: Cow::Borrowed("t"),
        value: Some(value.as_bytes()),
        key: Some(b"k"),
        ..Default::default()
    }
}

fn batch<'a>(id: u64, values: &[&'a str]) -> Message<'a> {
    Message::Batch(Batch {
        id,
        records: values.iter().map(|v| rec(v)).collect(),
    })
}

fn frames(msgs: &[Message<'_>]) -> Vec<u8> {
    let mut b = Vec::new();
    for m in msgs {
        wire::encode(&mut b, m);
    }
    b
}

fn read_all(out: &[u8]) -> Vec<Message<'static>> {
    let mut fr = FrameReader::new(Cursor::new(out), 0);
    let mut ms = Vec::new();
    while let Some(p) = fr
        .next_frame()
        .expect("the node's output must be valid frames")
    {
        match wire::decode(p).expect("decodable") {
            Message::Results(r) => ms.push(Message::Results(r)),
            Message::HelloAck(a) => ms.push(Message::HelloAck(a)),
            Message::Fatal(f) => ms.push(Message::Fatal(f)),
            m => panic!("a node does not send {m:?}"),
        }
    }
    ms
}

fn results<'m>(m: &'m Message<'_>) -> &'m Results {
    match m {
        Message::Results(r) => r,
        m => panic!("want results, got {m:?}"),
    }
}

/// The Go adapter's test node: drop, errors, a panic, and two outputs.
#[derive(Default)]
struct Fan {
    mode: String,
}

impl Handler for Fan {
    fn init(&mut self, h: &Hello) -> Result<(), String> {
        self.mode = h.settings.get("mode").cloned().unwrap_or_default();
        Ok(())
    }

    fn process(&mut self, r: &Record<'_>) -> Result<Vec<Output>, NodeError> {
        match r.value_str().unwrap() {
            "drop" => Ok(vec![]),
            "bad" => Err(NodeError::permanent("bad value")),
            "later" => Err(NodeError::retriable("try later")),
            "boom" => panic!("kaboom"),
            "boom-fmt" => panic!("kaboom {}", 2),
            v => Ok(vec![
                Output::new().value(v),
                Output::to("alerts")
                    .key_opt(r.key)
                    .value(v.to_uppercase())
                    .headers_from(r),
            ]),
        }
    }
}

#[test]
fn answers_each_batch_in_order_with_errors_and_panics() {
    let input = frames(&[
        hello(1 << 20),
        batch(1, &["a", "drop"]),
        batch(2, &["bad", "later", "boom", "boom-fmt", "b"]),
        Message::Shutdown,
    ]);
    let mut out = Vec::new();
    let mut fan = Fan::default();
    serve(Cursor::new(input), &mut out, "fan", "1.2.3", &mut fan).unwrap();
    assert_eq!(fan.mode, "loud", "init sees the settings");

    let ms = read_all(&out);
    assert_eq!(ms.len(), 3, "ack + 2 results: {ms:?}");
    let Message::HelloAck(ack) = &ms[0] else {
        panic!("{:?}", ms[0])
    };
    assert_eq!(
        (
            ack.version,
            ack.name.as_str(),
            ack.node_version.as_str(),
            ack.features
        ),
        (1, "fan", "1.2.3", 0)
    );

    let r1 = results(&ms[1]);
    assert_eq!(r1.id, 1);
    assert_eq!(r1.results.len(), 2);
    let outs = r1.results[0].as_ref().unwrap();
    assert_eq!(outs[0], Output::new().value("a"));
    assert_eq!(outs[1], Output::to("alerts").key("k").value("A"));
    assert_eq!(r1.results[1], Ok(vec![]));

    let r2 = results(&ms[2]);
    assert_eq!(r2.id, 2);
    assert_eq!(
        r2.results,
        vec![
            Err(NodeError::permanent("bad value")),
            Err(NodeError::retriable("try later")),
            Err(NodeError::permanent("panic: kaboom")),
            Err(NodeError::permanent("panic: kaboom 2")),
            Ok(vec![
                Output::new().value("b"),
                Output::to("alerts").key("k").value("B")
            ]),
        ]
    );
}

#[test]
fn end_of_input_is_a_shutdown() {
    let input = frames(&[hello(0), batch(1, &["a"])]);
    let mut out = Vec::new();
    serve(Cursor::new(input), &mut out, "fan", "", &mut Fan::default()).unwrap();
    let ms = read_all(&out);
    let Message::HelloAck(ack) = &ms[0] else {
        panic!()
    };
    assert_eq!(ack.node_version, "0.0.0");
    assert_eq!(results(&ms[1]).results.len(), 1);

    let mut out = Vec::new();
    serve(
        Cursor::new(Vec::new()),
        &mut out,
        "fan",
        "1",
        &mut Fan::default(),
    )
    .unwrap();
    assert!(out.is_empty(), "no hello, no answer");
}

#[test]
fn another_version_is_refused_with_fatal() {
    let mut input = Vec::new();
    wire::encode(
        &mut input,
        &Message::Hello(Hello {
            version: 2,
            stage: "s".into(),
            max_frame: 1024,
            ..Default::default()
        }),
    );
    let mut out = Vec::new();
    let err = serve(Cursor::new(input), &mut out, "x", "1", &mut Fan::default()).unwrap_err();
    let want = "unsupported protocol version 2; this node speaks 1";
    assert_eq!(err.to_string(), want);
    assert_eq!(read_all(&out), vec![Message::Fatal(want.into())]);
}

#[test]
fn init_error_is_fatal() {
    struct Picky;
    impl Handler for Picky {
        fn init(&mut self, h: &Hello) -> Result<(), String> {
            Err(format!("setting model is missing (stage {})", h.stage))
        }
        fn process(&mut self, _: &Record<'_>) -> Result<Vec<Output>, NodeError> {
            unreachable!()
        }
    }
    let mut out = Vec::new();
    let err = serve(
        Cursor::new(frames(&[hello(0)])),
        &mut out,
        "p",
        "1",
        &mut Picky,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Init(_)));
    assert_eq!(
        read_all(&out),
        vec![Message::Fatal(
            "init: setting model is missing (stage s)".into()
        )]
    );
}

#[test]
fn malformed_input_is_fatal_after_the_pending_results() {
    let mut input = frames(&[hello(0), batch(1, &["a"])]);
    input.extend_from_slice(&[0, 0, 0, 1, 0x42]);
    let mut out = Vec::new();
    let err = serve(Cursor::new(input), &mut out, "x", "1", &mut Fan::default()).unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err:?}");
    let ms = read_all(&out);
    assert_eq!(ms.len(), 3, "ack, results of batch 1, fatal: {ms:?}");
    assert_eq!(
        ms[2],
        Message::Fatal("malformed frame: unknown message type 0x42".into())
    );
}

#[test]
fn unexpected_frames_are_fatal() {
    let cases = [
        (
            vec![Message::Shutdown],
            "expected a hello frame first, got shutdown",
        ),
        (
            vec![hello(0), hello(0)],
            "unexpected hello frame after the handshake",
        ),
        (
            vec![
                hello(0),
                Message::FileBatch {
                    id: 1,
                    count: 1,
                    path: "/tmp/x".into(),
                },
            ],
            "unexpected file_batch frame after the handshake",
        ),
    ];
    for (msgs, want) in cases {
        let mut out = Vec::new();
        let err = serve(
            Cursor::new(frames(&msgs)),
            &mut out,
            "x",
            "1",
            &mut Fan::default(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), want);
        assert_eq!(read_all(&out).last(), Some(&Message::Fatal(want.into())));
    }
}

#[test]
fn a_frame_over_the_hellos_limit_is_fatal() {
    let mut input = frames(&[hello(64)]);
    input.extend_from_slice(&frames(&[batch(1, &[&"x".repeat(100)])]));
    let mut out = Vec::new();
    let err = serve(Cursor::new(input), &mut out, "x", "1", &mut Fan::default()).unwrap_err();
    assert!(matches!(err, Error::TooLarge { limit: 64, .. }), "{err:?}");
    assert!(
        matches!(read_all(&out).last(), Some(Message::Fatal(m)) if m.starts_with("frame too large"))
    );
}

/// A batch handler whose second record makes an output over the limit.
struct Big;

impl Handler for Big {
    fn process(&mut self, _: &Record<'_>) -> Result<Vec<Output>, NodeError> {
        unreachable!("process_batch is overridden")
    }
    fn process_batch(&mut self, records: &[Record<'_>]) -> Vec<Outcome> {
        records
            .iter()
            .map(|r| match r.value_str() {
                Some("2") => Ok(vec![Output::new().value("x".repeat(10_000))]),
                _ => Ok(vec![Output::new().value_opt(r.value)]),
            })
            .collect()
    }
    fn batch_handler(&self) -> bool {
        true
    }
}

#[test]
fn batch_handler_and_oversized_output() {
    let input = frames(&[hello(4096), batch(1, &["1", "2", "3"])]);
    let mut out = Vec::new();
    serve(Cursor::new(input), &mut out, "b", "1", &mut Big).unwrap();
    let ms = read_all(&out);
    let Message::HelloAck(ack) = &ms[0] else {
        panic!()
    };
    assert_eq!(
        ack.features & features::BATCH_HANDLER,
        features::BATCH_HANDLER
    );
    let rs = &results(&ms[1]).results;
    assert_eq!(rs[0], Ok(vec![Output::new().value("1")]));
    assert_eq!(rs[2], Ok(vec![Output::new().value("3")]));
    let e = rs[1].as_ref().unwrap_err();
    assert!(!e.retriable);
    assert!(
        e.message.contains("over the 4096-byte frame limit"),
        "{}",
        e.message
    );
    let mut enc = Vec::new();
    wire::encode(&mut enc, &ms[1]);
    assert!(enc.len() - 4 <= 4096);
}

#[test]
fn batch_handler_panics_and_wrong_counts_fail_the_batch() {
    struct Bad(bool);
    impl Handler for Bad {
        fn process(&mut self, _: &Record<'_>) -> Result<Vec<Output>, NodeError> {
            unreachable!()
        }
        fn process_batch(&mut self, _: &[Record<'_>]) -> Vec<Outcome> {
            if self.0 {
                panic!("whole batch")
            }
            vec![Ok(vec![])]
        }
    }
    for (h, want) in [
        (Bad(true), "panic in batch handler: whole batch"),
        (Bad(false), "batch handler returned 1 results for 2 records"),
    ] {
        let mut h = h;
        let mut out = Vec::new();
        serve(
            Cursor::new(frames(&[hello(0), batch(1, &["a", "b"])])),
            &mut out,
            "b",
            "1",
            &mut h,
        )
        .unwrap();
        let ms = read_all(&out);
        assert_eq!(
            results(&ms[1]).results,
            vec![Err(NodeError::permanent(want)); 2]
        );
    }
}

#[test]
fn closures_are_handlers() {
    let mut seen = 0;
    let mut h = from_fn(|r: &Record<'_>| {
        seen += 1;
        Ok(vec![Output::passthrough(r)])
    });
    let mut out = Vec::new();
    serve(
        Cursor::new(frames(&[hello(0), batch(1, &["a", "b"])])),
        &mut out,
        "f",
        "1",
        &mut h,
    )
    .unwrap();
    assert_eq!(seen, 2);
    assert_eq!(
        results(&read_all(&out)[1]).results[1],
        Ok(vec![Output::new().key("k").value("b")])
    );
}

/// Counts system-call-like writes and flushes.
#[derive(Default)]
struct Counting {
    bytes: Vec<u8>,
    writes: usize,
    flushes: usize,
}

impl Write for Counting {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.writes += 1;
        self.bytes.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.flushes += 1;
        Ok(())
    }
}

#[test]
fn pipelined_batches_are_answered_with_one_write() {
    // Everything is in the read buffer at once, as when the runtime has
    // pipelined its window: one write for the ack, one for all the results.
    let input = frames(&[
        hello(0),
        batch(1, &["a"]),
        batch(2, &["b"]),
        batch(3, &["c"]),
        Message::Shutdown,
    ]);
    let mut w = Counting::default();
    serve(Cursor::new(input), &mut w, "f", "1", &mut Fan::default()).unwrap();
    assert_eq!(read_all(&w.bytes).len(), 4);
    assert_eq!(
        (w.writes, w.flushes),
        (2, 2),
        "ack, then batches 1-3 together at shutdown"
    );
}

#[test]
fn answers_are_flushed_when_the_input_runs_dry() {
    // A reader that hands out one frame per read: the node must not sit on
    // an answer while the runtime waits for it.
    struct OneFrameAtATime(Vec<Vec<u8>>);
    impl io::Read for OneFrameAtATime {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let f = self.0.remove(0);
            buf[..f.len()].copy_from_slice(&f);
            Ok(f.len())
        }
    }
    let input = OneFrameAtATime(
        [hello(0), batch(1, &["a"]), batch(2, &["b"])]
            .iter()
            .map(|m| frames(std::slice::from_ref(m)))
            .collect(),
    );
    let mut w = Counting::default();
    serve(input, &mut w, "f", "1", &mut Fan::default()).unwrap();
    assert_eq!(
        (w.writes, w.flushes),
        (3, 4),
        "ack, batch 1, batch 2, each flushed; then the final flush"
    );
}
