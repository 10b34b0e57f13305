//! Appending frames to a `Vec<u8>`: the adapter encodes a whole batch of
//! results into one buffer and writes it with one call.

use super::{status, Message};
use crate::types::{Outcome, Output, Record};

/// Appends `v` big-endian.
pub fn put_u16(dst: &mut Vec<u8>, v: u16) {
    dst.extend_from_slice(&v.to_be_bytes());
}

/// Appends `v` big-endian.
pub fn put_u32(dst: &mut Vec<u8>, v: u32) {
    dst.extend_from_slice(&v.to_be_bytes());
}

/// Appends `v` big-endian.
pub fn put_u64(dst: &mut Vec<u8>, v: u64) {
    dst.extend_from_slice(&v.to_be_bytes());
}

/// Appends a string: u32 length, then the bytes.
pub fn put_str(dst: &mut Vec<u8>, s: &str) {
    put_u32(dst, s.len() as u32);
    dst.extend_from_slice(s.as_bytes());
}

/// Appends nullable bytes: i32 length (-1 for null), then the bytes.
pub fn put_bytes(dst: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => put_u32(dst, u32::MAX),
        Some(b) => {
            put_u32(dst, b.len() as u32);
            dst.extend_from_slice(b);
        }
    }
}

/// Starts a frame of type `t` at the end of `dst` and returns where it
/// starts; append the body, then call [`end_frame`].
pub fn begin_frame(dst: &mut Vec<u8>, t: u8) -> usize {
    let start = dst.len();
    dst.extend_from_slice(&[0, 0, 0, 0, t]);
    start
}

/// Writes the length prefix of the frame begun at `start`.
pub fn end_frame(dst: &mut [u8], start: usize) {
    let n = (dst.len() - start - 4) as u32;
    dst[start..start + 4].copy_from_slice(&n.to_be_bytes());
}

/// Appends one record of a batch body.
pub fn encode_record(dst: &mut Vec<u8>, r: &Record<'_>) {
    put_str(dst, &r.topic);
    put_u32(dst, r.partition as u32);
    put_u64(dst, r.offset as u64);
    put_u64(dst, r.timestamp as u64);
    put_bytes(dst, r.key);
    put_bytes(dst, r.value);
    put_u32(dst, r.headers.len() as u32);
    for (k, v) in &r.headers {
        put_str(dst, k);
        put_bytes(dst, *v);
    }
}

fn encode_output(dst: &mut Vec<u8>, o: &Output) {
    put_str(dst, &o.name);
    put_bytes(dst, o.key.as_deref());
    put_bytes(dst, o.value.as_deref());
    put_u32(dst, o.headers.len() as u32);
    for (k, v) in &o.headers {
        put_str(dst, k);
        put_bytes(dst, v.as_deref());
    }
}

/// Appends one result of a results body.
pub fn encode_result(dst: &mut Vec<u8>, r: &Outcome) {
    match r {
        Ok(outs) => {
            dst.push(status::OK);
            put_u32(dst, outs.len() as u32);
            for o in outs {
                encode_output(dst, o);
            }
        }
        Err(e) => {
            dst.push(if e.retriable {
                status::RETRIABLE
            } else {
                status::ERROR
            });
            put_str(dst, &e.message);
        }
    }
}

/// The number of bytes [`encode_result`] appends for `r`, without encoding.
pub fn result_len(r: &Outcome) -> usize {
    let nullable = |b: Option<&[u8]>| 4 + b.map_or(0, <[u8]>::len);
    match r {
        Err(e) => 1 + 4 + e.message.len(),
        Ok(outs) => {
            1 + 4
                + outs
                    .iter()
                    .map(|o| {
                        4 + o.name.len()
                            + nullable(o.key.as_deref())
                            + nullable(o.value.as_deref())
                            + 4
                            + o.headers
                                .iter()
                                .map(|(k, v)| 4 + k.len() + nullable(v.as_deref()))
                                .sum::<usize>()
                    })
                    .sum::<usize>()
        }
    }
}

/// Appends the whole frame of `m`, length prefix included.
pub fn encode(dst: &mut Vec<u8>, m: &Message<'_>) {
    let start = begin_frame(dst, m.type_byte());
    match m {
        Message::Hello(h) => {
            put_u16(dst, h.version);
            put_str(dst, &h.stage);
            put_u32(dst, h.worker);
            put_u32(dst, h.max_frame);
            // A BTreeMap iterates in ascending byte order of its keys, the
            // order the protocol (and the vectors) require.
            put_u32(dst, h.settings.len() as u32);
            for (k, v) in &h.settings {
                put_str(dst, k);
                put_str(dst, v);
            }
        }
        Message::HelloAck(a) => {
            put_u16(dst, a.version);
            put_str(dst, &a.name);
            put_str(dst, &a.node_version);
            put_u32(dst, a.features);
        }
        Message::Batch(b) => {
            put_u64(dst, b.id);
            put_u32(dst, b.records.len() as u32);
            for r in &b.records {
                encode_record(dst, r);
            }
        }
        Message::Results(rs) => {
            put_u64(dst, rs.id);
            put_u32(dst, rs.results.len() as u32);
            for r in &rs.results {
                encode_result(dst, r);
            }
        }
        Message::Shutdown => {}
        Message::Fatal(msg) => put_str(dst, msg),
        Message::FileBatch { id, count, path } => {
            put_u64(dst, *id);
            put_u32(dst, *count);
            put_str(dst, path);
        }
        Message::FileAck { id, path } => {
            put_u64(dst, *id);
            put_str(dst, path);
        }
    }
    end_frame(dst, start);
}
