//! testdata/protocol/vectors.json, byte for byte: each valid frame decodes
//! to its message and that message encodes back to the same bytes; each
//! invalid frame is refused with the right kind of error.

use std::borrow::Cow;
use std::io::Cursor;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use sluice_node::wire::{self, Batch, HelloAck, Message, Results};
use sluice_node::{Error, FrameReader, Hello, NodeError, Outcome, Output, Record};

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/protocol/vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("read vectors.json");
    serde_json::from_str(&text).expect("parse vectors.json")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A byte field: standard base64, or null.
fn bytes(v: &Value) -> Option<Vec<u8>> {
    v.as_str().map(|s| STANDARD.decode(s).expect("base64"))
}

fn num(v: &Value, field: &str) -> u64 {
    v.get(field).map_or(0, |n| {
        n.as_u64().unwrap_or_else(|| n.as_i64().unwrap() as u64)
    })
}

fn text(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn list<'v>(v: &'v Value, field: &str) -> &'v [Value] {
    v.get(field)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn owned_headers(v: &Value) -> Vec<(String, Option<Vec<u8>>)> {
    list(v, "headers")
        .iter()
        .map(|h| (text(h, "key"), bytes(&h["value"])))
        .collect()
}

/// The records of a batch own their bytes here; `Record` borrows them.
struct OwnedRecord {
    topic: String,
    partition: i32,
    offset: i64,
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

impl OwnedRecord {
    fn borrow(&self) -> Record<'_> {
        Record {
            topic: Cow::Borrowed(&self.topic),
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), v.as_deref()))
                .collect(),
        }
    }
}

fn owned_records(m: &Value) -> Vec<OwnedRecord> {
    list(m, "records")
        .iter()
        .map(|r| OwnedRecord {
            topic: text(r, "topic"),
            partition: r["partition"].as_i64().unwrap() as i32,
            offset: r["offset"].as_i64().unwrap(),
            timestamp: r["timestamp"].as_i64().unwrap(),
            key: bytes(&r["key"]),
            value: bytes(&r["value"]),
            headers: owned_headers(r),
        })
        .collect()
}

fn outcome(r: &Value) -> Outcome {
    match r["status"].as_str().unwrap() {
        "ok" => Ok(list(r, "outputs")
            .iter()
            .map(|o| Output {
                name: text(o, "name"),
                key: bytes(&o["key"]),
                value: bytes(&o["value"]),
                headers: owned_headers(o),
            })
            .collect()),
        "error" => Err(NodeError::permanent(text(r, "error"))),
        "retriable" => Err(NodeError::retriable(text(r, "error"))),
        s => panic!("unknown status {s}"),
    }
}

/// The message a vector describes; `records` holds a batch's bytes.
fn expected<'a>(m: &Value, records: &'a [OwnedRecord]) -> Message<'a> {
    match m["type"].as_str().unwrap() {
        "hello" => Message::Hello(Hello {
            version: num(m, "version") as u16,
            stage: text(m, "stage"),
            worker: num(m, "worker") as u32,
            max_frame: num(m, "max_frame") as u32,
            settings: m
                .get("settings")
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        }),
        "hello_ack" => Message::HelloAck(HelloAck {
            version: num(m, "version") as u16,
            name: text(m, "name"),
            node_version: text(m, "node_version"),
            features: num(m, "features") as u32,
        }),
        "batch" => Message::Batch(Batch {
            id: num(m, "id"),
            records: records.iter().map(OwnedRecord::borrow).collect(),
        }),
        "results" => Message::Results(Results {
            id: num(m, "id"),
            results: list(m, "results").iter().map(outcome).collect(),
        }),
        "shutdown" => Message::Shutdown,
        "fatal" => Message::Fatal(text(m, "message")),
        "file_batch" => Message::FileBatch {
            id: num(m, "id"),
            count: num(m, "count") as u32,
            path: text(m, "path"),
        },
        "file_ack" => Message::FileAck {
            id: num(m, "id"),
            path: text(m, "path"),
        },
        t => panic!("unknown type {t}"),
    }
}

#[test]
fn valid_vectors_decode_and_encode_byte_for_byte() {
    let v = vectors();
    let valid = v["valid"].as_array().unwrap();
    assert!(valid.len() >= 18, "too few vectors: {}", valid.len());
    for vec in valid {
        let name = vec["name"].as_str().unwrap();
        let frame = hex(vec["frame"].as_str().unwrap());
        let records = owned_records(&vec["message"]);
        let want = expected(&vec["message"], &records);

        let mut fr = FrameReader::new(Cursor::new(&frame), 0);
        let payload = fr
            .next_frame()
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .expect("a frame");
        let got = wire::decode(payload).unwrap_or_else(|e| panic!("{name}: decode: {e}"));
        assert_eq!(got, want, "{name}: decoded message");

        let mut enc = Vec::new();
        wire::encode(&mut enc, &want);
        assert_eq!(enc, frame, "{name}: encoded bytes");
        assert!(fr.next_frame().unwrap().is_none(), "{name}: one frame only");
    }
}

#[test]
fn invalid_vectors_are_refused() {
    let v = vectors();
    for vec in v["invalid"].as_array().unwrap() {
        let name = vec["name"].as_str().unwrap();
        let frame = hex(vec["frame"].as_str().unwrap());
        let max = vec["max_frame"].as_u64().unwrap() as usize;
        let mut fr = FrameReader::new(Cursor::new(&frame), max);
        let err = match fr.next_frame() {
            Err(e) => e,
            Ok(None) => panic!("{name}: no frame"),
            Ok(Some(p)) => match wire::decode(p) {
                Err(e) => e,
                Ok(m) => panic!("{name}: accepted as {m:?}"),
            },
        };
        match (vec["error"].as_str().unwrap(), &err) {
            ("malformed", Error::Malformed(_)) | ("too_large", Error::TooLarge { .. }) => {}
            (want, got) => panic!("{name}: want {want}, got {got:?}"),
        }
    }
}

#[test]
fn too_large_is_refused_before_reading_the_payload() {
    // Only the prefix is there: a reader that allocated and read first
    // would report the end of input instead.
    let mut fr = FrameReader::new(Cursor::new(vec![0x7f, 0xff, 0xff, 0xff]), 1024);
    assert!(matches!(
        fr.next_frame(),
        Err(Error::TooLarge {
            announced: 0x7fff_ffff,
            limit: 1024
        })
    ));
}

#[test]
fn truncated_input_is_malformed_and_clean_eof_is_none() {
    let mut fr = FrameReader::new(Cursor::new(vec![0, 0, 0, 5, 3, 0]), 1024);
    assert!(matches!(fr.next_frame(), Err(Error::Malformed(_))));
    let mut fr = FrameReader::new(Cursor::new(vec![0, 0]), 1024);
    assert!(matches!(fr.next_frame(), Err(Error::Malformed(_))));
    let mut fr = FrameReader::new(Cursor::new(Vec::<u8>::new()), 1024);
    assert!(fr.next_frame().unwrap().is_none());
}

#[test]
fn non_utf8_strings_are_replaced_not_refused() {
    let mut frame = Vec::new();
    let rec = Record {
        topic: Cow::Borrowed("t"),
        headers: vec![(Cow::Borrowed("k"), None)],
        ..Default::default()
    };
    wire::encode(
        &mut frame,
        &Message::Batch(Batch {
            id: 1,
            records: vec![rec],
        }),
    );
    // Patch the header key "k" into 0xff.
    let pos = frame.iter().rposition(|&b| b == b'k').unwrap();
    frame[pos] = 0xff;
    let Message::Batch(b) = wire::decode(&frame[4..]).unwrap() else {
        panic!()
    };
    assert_eq!(b.records[0].headers[0].0, "\u{fffd}");
}
