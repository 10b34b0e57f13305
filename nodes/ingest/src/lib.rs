//! Ingest: the first stage of the reference pipeline. It turns what devices
//! send (events.raw) into sensor events (events.parsed):
//!
//! ```text
//! temperature:24.5 sensor_id=alpha
//!   → {"sensor_id":"alpha","metric":"temperature","value":24.5,"unit":"C","ts":"2024-05-01T12:00:00.000Z"}
//! ```
//!
//! Two input forms, told apart by the first character after leading white
//! space: `{` or `[` is JSON ([`json`]), anything else a device line
//! ([`line`]). The output is keyed by `sensor_id` (as given: the filter
//! stage normalises it) and carries the input's headers. A record that
//! cannot be parsed fails with a precise reason, and the runtime sends it to
//! the stage's DLQ.

pub mod event;
pub mod json;
pub mod line;
pub mod rfc3339;

use sluice_node::{Handler, NodeError, Output, Record};

pub use event::Event;

/// The node's handler: one event per valid record, on the default output.
pub struct Ingest;

impl Handler for Ingest {
    fn process(&mut self, r: &Record<'_>) -> Result<Vec<Output>, NodeError> {
        let event = parse(r.value, r.timestamp).map_err(NodeError::permanent)?;
        let value = event.to_json();
        Ok(vec![Output::new()
            .key(event.sensor_id)
            .value(value)
            .headers_from(r)])
    }
}

/// Parses a record value (either form) into an event; `timestamp` is the
/// Kafka record's, used when the input has no `ts`. The error is the reason
/// for the DLQ.
pub fn parse(value: Option<&[u8]>, timestamp: i64) -> Result<Event, String> {
    let Some(value) = value else {
        return Err("empty line (null value)".into());
    };
    let text = std::str::from_utf8(value).map_err(|e| format!("line is not valid UTF-8: {e}"))?;
    let text = text.trim();
    if text.is_empty() {
        return Err("empty line".into());
    }
    if text.starts_with(['{', '[']) {
        json::parse(text, timestamp)
    } else {
        line::parse(text, timestamp)
    }
}

/// `s` as a JSON string for an error message, cut at 64 bytes so that a
/// huge input does not make a huge reason.
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return serde_json::to_string(s).unwrap_or_default();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let q = serde_json::to_string(&s[..end]).unwrap_or_default();
    format!("{}...\"", &q[..q.len() - 1])
}
