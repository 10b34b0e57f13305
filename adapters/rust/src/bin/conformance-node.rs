//! The conformance node of the Rust adapter (docs/conformance.md): the Go
//! suite runs a real stage over it, with the same inputs and expectations as
//! for every other adapter. Build: `cargo build --release`; the suite looks
//! for `.cache/cargo-target/release/conformance-node`.

use std::io::Write;

use sluice_node::{run, Handler, NodeError, Output, Record};

struct Conformance;

impl Handler for Conformance {
    fn process(&mut self, r: &Record<'_>) -> Result<Vec<Output>, NodeError> {
        let v = r.value.unwrap_or_default();
        if let Some(n) = v.strip_prefix(b"multi:").and_then(parse_count) {
            return Ok((0..n)
                .map(|i| Output::new().key_opt(r.key).value(format!("multi:{n}#{i}")))
                .collect());
        }
        if v == b"alert" {
            return Ok(vec![
                Output::passthrough(r),
                Output::to("alerts").key_opt(r.key).value("ALERT"),
            ]);
        }
        if let Some(msg) = v.strip_prefix(b"fail:") {
            return Err(NodeError::permanent(String::from_utf8_lossy(msg)));
        }
        if let Some(msg) = v.strip_prefix(b"retry:") {
            return Err(NodeError::retriable(String::from_utf8_lossy(msg)));
        }
        if v == b"crash" {
            // At once, without answering: the runtime must find the culprit.
            std::process::exit(3);
        }
        if let Some(text) = v.strip_prefix(b"log:") {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text).and_then(|_| err.write_all(b"\n"));
        }
        // Everything else, null and empty included, byte for byte.
        Ok(vec![Output::passthrough(r)])
    }
}

/// N of `multi:N`: decimal digits only; anything else is passed through.
fn parse_count(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn main() {
    run("conformance", env!("CARGO_PKG_VERSION"), Conformance)
}
