//! The frames of node protocol v1 (`docs/protocol.md`): every message as a
//! type, [`decode`] for a frame's payload and [`encode`] for a whole frame.
//!
//! The adapter needs only half of it (it decodes what the runtime sends and
//! encodes what a node sends); all of it is here so that tests can check
//! `testdata/protocol/vectors.json` both ways and play the runtime.

mod decode;
mod encode;

pub use decode::decode;
pub use encode::{
    begin_frame, encode, encode_record, encode_result, end_frame, put_bytes, put_str, put_u16,
    put_u32, put_u64, result_len,
};

use crate::types::{Hello, Outcome, Record};

/// Message type bytes (the first byte of a payload).
pub mod types {
    /// runtime → node: version, stage, settings.
    pub const HELLO: u8 = 0x01;
    /// node → runtime: version, name, features.
    pub const HELLO_ACK: u8 = 0x02;
    /// runtime → node: a batch of input records.
    pub const BATCH: u8 = 0x03;
    /// node → runtime: one result per record of a batch.
    pub const RESULTS: u8 = 0x04;
    /// runtime → node: answer what you have, exit 0.
    pub const SHUTDOWN: u8 = 0x05;
    /// node → runtime: the node cannot go on.
    pub const FATAL: u8 = 0x06;
    /// runtime → node: a batch spooled to an NDJSON file (files mode).
    pub const FILE_BATCH: u8 = 0x07;
    /// node → runtime: the results file of a file batch (files mode).
    pub const FILE_ACK: u8 = 0x08;
}

/// Feature bits of a hello_ack.
pub mod features {
    /// The node uses a batch handler (informational).
    pub const BATCH_HANDLER: u32 = 1;
    /// Files mode: the node receives file_batch frames.
    pub const FILES: u32 = 2;
}

/// A result's status byte.
pub mod status {
    /// Zero, one or many outputs.
    pub const OK: u8 = 0;
    /// A permanent error: the record goes to the DLQ.
    pub const ERROR: u8 = 1;
    /// An error the node believes may pass on a retry.
    pub const RETRIABLE: u8 = 2;
}

/// The node's answer to a hello.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HelloAck {
    /// The protocol version the node speaks.
    pub version: u16,
    /// The node's name, for the runtime's logs.
    pub name: String,
    /// The node program's version.
    pub node_version: String,
    /// Bits of [`features`].
    pub features: u32,
}

/// Input records; ids start at 1 and increase by one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch<'a> {
    /// The batch id.
    pub id: u64,
    /// The records, borrowing the frame.
    pub records: Vec<Record<'a>>,
}

/// The answer to the batch with the same id: one outcome per record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Results {
    /// The id of the batch answered.
    pub id: u64,
    /// One outcome per record, in record order.
    pub results: Vec<Outcome>,
}

/// Any protocol message. Record fields of a decoded batch borrow the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// 0x01.
    Hello(Hello),
    /// 0x02.
    HelloAck(HelloAck),
    /// 0x03.
    Batch(Batch<'a>),
    /// 0x04.
    Results(Results),
    /// 0x05.
    Shutdown,
    /// 0x06: the message.
    Fatal(String),
    /// 0x07 (files mode).
    FileBatch {
        /// Shares the sequence of batch ids.
        id: u64,
        /// How many records the spool file holds.
        count: u32,
        /// The spool file.
        path: String,
    },
    /// 0x08 (files mode).
    FileAck {
        /// The id of the file batch answered.
        id: u64,
        /// The results file.
        path: String,
    },
}

impl Message<'_> {
    /// The message's type byte.
    pub fn type_byte(&self) -> u8 {
        match self {
            Message::Hello(_) => types::HELLO,
            Message::HelloAck(_) => types::HELLO_ACK,
            Message::Batch(_) => types::BATCH,
            Message::Results(_) => types::RESULTS,
            Message::Shutdown => types::SHUTDOWN,
            Message::Fatal(_) => types::FATAL,
            Message::FileBatch { .. } => types::FILE_BATCH,
            Message::FileAck { .. } => types::FILE_ACK,
        }
    }

    /// The message's name as in docs/protocol.md, for error messages.
    pub fn name(&self) -> &'static str {
        type_name(self.type_byte())
    }
}

/// The protocol name of a type byte.
pub fn type_name(t: u8) -> &'static str {
    match t {
        types::HELLO => "hello",
        types::HELLO_ACK => "hello_ack",
        types::BATCH => "batch",
        types::RESULTS => "results",
        types::SHUTDOWN => "shutdown",
        types::FATAL => "fatal",
        types::FILE_BATCH => "file_batch",
        types::FILE_ACK => "file_ack",
        _ => "unknown",
    }
}
