//! The ingest binary as the runtime runs it: a child process speaking the
//! node protocol through pipes.

use std::borrow::Cow;
use std::io::{Cursor, Write};
use std::process::{Command, Stdio};

use sluice_node::wire::{self, Batch, Message};
use sluice_node::{FrameReader, Hello, NodeError, Output, Record};

#[test]
fn events_out_errors_to_the_dlq() {
    let values: [&[u8]; 3] = [
        b"temperature:24.5 sensor_id=Alpha",
        b"temperature:abc sensor_id=alpha",
        b"{oops",
    ];
    let records = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            topic: Cow::Borrowed("events.raw"),
            offset: i as i64,
            timestamp: 1_714_564_800_000,
            value: Some(v),
            headers: vec![(Cow::Borrowed("traceparent"), Some(b"00-abc-def-01"))],
            ..Default::default()
        })
        .collect();
    let mut input = Vec::new();
    wire::encode(
        &mut input,
        &Message::Hello(Hello {
            version: 1,
            stage: "ingest".into(),
            max_frame: 1 << 20,
            ..Default::default()
        }),
    );
    wire::encode(&mut input, &Message::Batch(Batch { id: 1, records }));
    wire::encode(&mut input, &Message::Shutdown);

    let mut child = Command::new(env!("CARGO_BIN_EXE_ingest"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start ingest");
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());

    let mut fr = FrameReader::new(Cursor::new(out.stdout), 0);
    let Message::HelloAck(ack) = wire::decode(fr.next_frame().unwrap().unwrap()).unwrap() else {
        panic!("no ack")
    };
    assert_eq!(ack.name, "ingest");
    let Message::Results(r) = wire::decode(fr.next_frame().unwrap().unwrap()).unwrap() else {
        panic!("no results")
    };
    assert_eq!(
        r.results,
        vec![
            Ok(vec![Output::new()
                .key("Alpha")
                .value(r#"{"sensor_id":"Alpha","metric":"temperature","value":24.5,"unit":"C","ts":"2024-05-01T12:00:00.000Z"}"#)
                .header("traceparent", "00-abc-def-01")]),
            Err(NodeError::permanent(r#"value "abc" is not a number"#)),
            Err(NodeError::permanent("invalid JSON: key must be a string at line 1 column 2")),
        ]
    );
}
