//! The Rust adapter for Sluice nodes.
//!
//! A node is a program that a Sluice stage keeps running as a co-process: it
//! reads frames of the node protocol v1 on stdin and writes its answers on
//! stdout (`docs/protocol.md`). This crate hides the protocol behind a
//! [`Handler`]: write `process(record) -> outputs` and call [`run`].
//!
//! ```no_run
//! use sluice_node::{from_fn, run, NodeError, Output, Record};
//!
//! fn main() {
//!     run("upper", "0.1.0", from_fn(|r: &Record| {
//!         let value = r.value.ok_or_else(|| NodeError::permanent("null value"))?;
//!         Ok(vec![Output::new().key_opt(r.key).value(value.to_ascii_uppercase())])
//!     }))
//! }
//! ```
//!
//! A handler returns zero, one or many outputs per record; [`Output::to`]
//! picks a named output of the stage. An error sends the record to the
//! stage's dead letter queue with the error's message; mark it
//! [`NodeError::retriable`] when a retry may succeed. A panic in the handler
//! becomes that record's error, not a crash (unless the binary is built with
//! `panic = "abort"`).
//!
//! stdout belongs to the protocol: log with `eprintln!`, never `println!`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod frame;
mod handler;
mod serve;
mod shrink;
mod stdio;
mod types;
pub mod wire;

pub use error::Error;
pub use frame::{FrameReader, DEFAULT_MAX_FRAME};
pub use handler::{from_fn, FnHandler, Handler};
pub use serve::{run, serve};
pub use types::{Header, Hello, NodeError, Outcome, Output, Record};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u16 = 1;
