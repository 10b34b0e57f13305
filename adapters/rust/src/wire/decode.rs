use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{status, types, Batch, HelloAck, Message, Results};
use crate::error::Error;
use crate::types::{Header, Hello, NodeError, Outcome, Output, Record};

/// The smallest encoded record: empty topic, partition, offset, timestamp,
/// null key, null value, no headers.
const MIN_RECORD: usize = 4 + 4 + 8 + 8 + 4 + 4 + 4;
/// The smallest encoded output: empty name, null key and value, no headers.
const MIN_OUTPUT: usize = 4 + 4 + 4 + 4;
/// The smallest header or settings entry: two empty strings / bytes.
const MIN_PAIR: usize = 8;
/// The smallest result: a status and an empty error string or zero count.
const MIN_RESULT: usize = 1 + 4;

/// Reads primitives from a payload. Every length is checked against the
/// bytes remaining before it is used, so nothing is allocated beyond what
/// the payload already holds.
struct Decoder<'a> {
    b: &'a [u8],
    off: usize,
}

type Res<T> = Result<T, Error>;

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize, what: &str) -> Res<&'a [u8]> {
        if self.b.len() - self.off < n {
            return Err(Error::Malformed(format!(
                "truncated {what} at byte {} of {}",
                self.off,
                self.b.len()
            )));
        }
        let s = &self.b[self.off..self.off + n];
        self.off += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Res<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    fn u8(&mut self, what: &str) -> Res<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Res<u16> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &str) -> Res<u32> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Res<u64> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    fn raw_str(&mut self, what: &str) -> Res<&'a [u8]> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }

    /// A string borrowed from the payload; invalid UTF-8 is replaced rather
    /// than refused, as Go and Kafka take any bytes there.
    fn str(&mut self, what: &str) -> Res<Cow<'a, str>> {
        Ok(String::from_utf8_lossy(self.raw_str(what)?))
    }

    fn string(&mut self, what: &str) -> Res<String> {
        Ok(self.str(what)?.into_owned())
    }

    /// Nullable bytes: a length of -1 (0xFFFFFFFF) is null.
    fn bytes(&mut self, what: &str) -> Res<Option<&'a [u8]>> {
        let n = self.u32(what)?;
        if n == u32::MAX {
            return Ok(None);
        }
        self.take(n as usize, what).map(Some)
    }

    /// An element count, checked against the bytes left given the smallest
    /// encoding of one element, so a hostile count cannot make us allocate.
    fn count(&mut self, what: &str, min_elem: usize) -> Res<usize> {
        let n = self.u32(what)? as usize;
        let left = self.b.len() - self.off;
        if (n as u64) * (min_elem as u64) > left as u64 {
            return Err(Error::Malformed(format!(
                "{what} count {n} exceeds the {left} bytes left"
            )));
        }
        Ok(n)
    }

    fn headers(&mut self) -> Res<Vec<Header<'a>>> {
        let n = self.count("header count", MIN_PAIR)?;
        let mut hs = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.str("header key")?;
            hs.push((k, self.bytes("header value")?));
        }
        Ok(hs)
    }

    fn owned_headers(&mut self) -> Res<Vec<(String, Option<Vec<u8>>)>> {
        Ok(self
            .headers()?
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.map(<[u8]>::to_vec)))
            .collect())
    }

    fn settings(&mut self) -> Res<BTreeMap<String, String>> {
        let n = self.count("settings count", MIN_PAIR)?;
        let mut m = BTreeMap::new();
        for _ in 0..n {
            let k = self.string("setting key")?;
            m.insert(k, self.string("setting value")?);
        }
        Ok(m)
    }

    fn record(&mut self) -> Res<Record<'a>> {
        Ok(Record {
            topic: self.str("topic")?,
            partition: self.u32("partition")? as i32,
            offset: self.u64("offset")? as i64,
            timestamp: self.u64("timestamp")? as i64,
            key: self.bytes("key")?,
            value: self.bytes("value")?,
            headers: self.headers()?,
        })
    }

    fn output(&mut self) -> Res<Output> {
        Ok(Output {
            name: self.string("output name")?,
            key: self.bytes("output key")?.map(<[u8]>::to_vec),
            value: self.bytes("output value")?.map(<[u8]>::to_vec),
            headers: self.owned_headers()?,
        })
    }

    fn outcome(&mut self, i: usize) -> Res<Outcome> {
        match self.u8("status")? {
            status::OK => {
                let n = self.count("output count", MIN_OUTPUT)?;
                let mut outs = Vec::with_capacity(n);
                for _ in 0..n {
                    outs.push(self.output()?);
                }
                Ok(Ok(outs))
            }
            status::ERROR => Ok(Err(NodeError::permanent(self.string("error message")?))),
            status::RETRIABLE => Ok(Err(NodeError::retriable(self.string("error message")?))),
            s => Err(Error::Malformed(format!(
                "result {i} has unknown status {s}"
            ))),
        }
    }
}

/// Decodes one frame payload (the bytes after the length prefix). The
/// records of a batch borrow `payload`.
pub fn decode(payload: &[u8]) -> Result<Message<'_>, Error> {
    let Some(&t) = payload.first() else {
        return Err(Error::Malformed("empty frame".into()));
    };
    let mut d = Decoder { b: payload, off: 1 };
    let m = match t {
        types::HELLO => Message::Hello(Hello {
            version: d.u16("version")?,
            stage: d.string("stage")?,
            worker: d.u32("worker")?,
            max_frame: d.u32("max frame")?,
            settings: d.settings()?,
        }),
        types::HELLO_ACK => Message::HelloAck(HelloAck {
            version: d.u16("version")?,
            name: d.string("name")?,
            node_version: d.string("node version")?,
            features: d.u32("features")?,
        }),
        types::BATCH => {
            let id = d.u64("batch id")?;
            let n = d.count("record count", MIN_RECORD)?;
            let mut records = Vec::with_capacity(n);
            for _ in 0..n {
                records.push(d.record()?);
            }
            Message::Batch(Batch { id, records })
        }
        types::RESULTS => {
            let id = d.u64("batch id")?;
            let n = d.count("result count", MIN_RESULT)?;
            let mut results = Vec::with_capacity(n);
            for i in 0..n {
                results.push(d.outcome(i)?);
            }
            Message::Results(Results { id, results })
        }
        types::SHUTDOWN => Message::Shutdown,
        types::FATAL => Message::Fatal(d.string("message")?),
        types::FILE_BATCH => Message::FileBatch {
            id: d.u64("batch id")?,
            count: d.u32("record count")?,
            path: d.string("path")?,
        },
        types::FILE_ACK => Message::FileAck {
            id: d.u64("batch id")?,
            path: d.string("path")?,
        },
        t => return Err(Error::Malformed(format!("unknown message type 0x{t:02x}"))),
    };
    if d.off != payload.len() {
        return Err(Error::Malformed(format!(
            "{} trailing bytes after {}",
            payload.len() - d.off,
            m.name()
        )));
    }
    Ok(m)
}
