use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// A Kafka record header: key and nullable value. In a [`Record`] both
/// borrow the input frame.
pub type Header<'a> = (Cow<'a, str>, Option<&'a [u8]>);

/// One input record with its Kafka metadata.
///
/// The byte fields borrow the frame the record came in, which is reused for
/// the next frame: copy what you keep beyond the handler call (the borrow
/// checker makes sure you do). `None` is null; `Some(b"")` is an empty,
/// non-null value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record<'a> {
    /// The topic the record was read from. Topics and header keys are UTF-8
    /// by convention; other bytes are replaced with U+FFFD (hence `Cow`).
    pub topic: Cow<'a, str>,
    /// The partition the record was read from.
    pub partition: i32,
    /// The record's offset in its partition.
    pub offset: i64,
    /// The Kafka record timestamp, milliseconds since the Unix epoch
    /// (negative when the record has none).
    pub timestamp: i64,
    /// The record key, `None` when null.
    pub key: Option<&'a [u8]>,
    /// The record value, `None` when null (a tombstone).
    pub value: Option<&'a [u8]>,
    /// The record headers, in order; keys may repeat.
    pub headers: Vec<Header<'a>>,
}

impl<'a> Record<'a> {
    /// The value as UTF-8 text, or `None` when it is null or not UTF-8.
    pub fn value_str(&self) -> Option<&'a str> {
        self.value.and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The value of the last header named `name`: `None` when there is no
    /// such header, `Some(None)` when its value is null.
    pub fn header(&self, name: &str) -> Option<Option<&'a [u8]>> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
    }
}

/// A record the node emits for an input record.
///
/// Build one with [`Output::new`] (the stage's default output) or
/// [`Output::to`] (a named output) and the builder methods; the fields are
/// public too.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// The stage output it goes to (`outputs:` in the pipeline file); the
    /// empty string is `default`.
    pub name: String,
    /// The key, `None` for null.
    pub key: Option<Vec<u8>>,
    /// The value, `None` for null.
    pub value: Option<Vec<u8>>,
    /// Headers; the runtime replaces any whose key starts with `sluice.`.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Output {
    /// An output to the default output, with null key and value.
    pub fn new() -> Self {
        Self::default()
    }

    /// An output to the named output `name`.
    pub fn to(name: impl Into<String>) -> Self {
        Output {
            name: name.into(),
            ..Self::default()
        }
    }

    /// An output with the input's key, value and headers, to the default
    /// output: what a node does with a record it lets through.
    pub fn passthrough(r: &Record<'_>) -> Self {
        Self::new()
            .key_opt(r.key)
            .value_opt(r.value)
            .headers_from(r)
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the key from a nullable slice, e.g. an input record's key.
    pub fn key_opt(mut self, key: Option<&[u8]>) -> Self {
        self.key = key.map(<[u8]>::to_vec);
        self
    }

    /// Sets the value.
    pub fn value(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Sets the value from a nullable slice, e.g. an input record's value.
    pub fn value_opt(mut self, value: Option<&[u8]>) -> Self {
        self.value = value.map(<[u8]>::to_vec);
        self
    }

    /// Appends a header.
    pub fn header(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((key.into(), Some(value.into())));
        self
    }

    /// Appends a header with a null value.
    pub fn null_header(mut self, key: impl Into<String>) -> Self {
        self.headers.push((key.into(), None));
        self
    }

    /// Appends copies of all the headers of `r`, e.g. to carry trace
    /// headers along.
    pub fn headers_from(mut self, r: &Record<'_>) -> Self {
        self.headers.extend(
            r.headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(<[u8]>::to_vec))),
        );
        self
    }
}

/// The failure of one record: it goes to the stage's dead letter queue with
/// `message` as the reason (header `sluice.error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeError {
    /// The reason, for the DLQ record.
    pub message: String,
    /// The node believes a retry may succeed (status 2 on the wire,
    /// `sluice.error.kind: node-retriable`).
    pub retriable: bool,
}

impl NodeError {
    /// A failure that will not pass by retrying (a bad record).
    pub fn permanent(message: impl Into<String>) -> Self {
        NodeError {
            message: message.into(),
            retriable: false,
        }
    }

    /// The same as [`NodeError::permanent`]: fatal for this record, not for
    /// the node (the node keeps running).
    pub fn fatal(message: impl Into<String>) -> Self {
        Self::permanent(message)
    }

    /// A failure that may pass if the record is retried (a timeout, a 503).
    pub fn retriable(message: impl Into<String>) -> Self {
        NodeError {
            message: message.into(),
            retriable: true,
        }
    }
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NodeError {}

impl From<String> for NodeError {
    fn from(message: String) -> Self {
        Self::permanent(message)
    }
}

impl From<&str> for NodeError {
    fn from(message: &str) -> Self {
        Self::permanent(message)
    }
}

/// The answer for one record: its outputs (zero, one or many), or its error.
pub type Outcome = Result<Vec<Output>, NodeError>;

/// What the runtime tells the node at start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hello {
    /// The protocol version the runtime speaks.
    pub version: u16,
    /// The stage's name in the pipeline file.
    pub stage: String,
    /// The index of this co-process among the stage's workers.
    pub worker: u32,
    /// The largest frame payload either side may send.
    pub max_frame: u32,
    /// `settings:` of the stage in the pipeline file (sorted by key).
    pub settings: BTreeMap<String, String>,
}
