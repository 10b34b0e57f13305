use std::fmt;
use std::io;

/// Why serving stopped, or why a frame could not be read or decoded.
///
/// Every variant except [`Error::Io`] is also sent to the runtime as the
/// message of a `fatal` frame, so its text is written for the operator.
#[derive(Debug)]
pub enum Error {
    /// Reading stdin or writing stdout failed (e.g. the runtime went away).
    Io(io::Error),
    /// The peer sent bytes that are not a valid v1 frame.
    Malformed(String),
    /// A length prefix announced more than the frame limit; nothing was
    /// allocated for it.
    TooLarge {
        /// The payload size the length prefix announced.
        announced: u32,
        /// The limit in force (the hello's `max_frame`).
        limit: usize,
    },
    /// A well-formed frame that is wrong at this point of the conversation,
    /// e.g. another protocol version or a second hello.
    Protocol(String),
    /// [`Handler::init`](crate::Handler::init) refused to start.
    Init(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "i/o: {e}"),
            Error::Malformed(m) => write!(f, "malformed frame: {m}"),
            Error::TooLarge { announced, limit } => {
                write!(
                    f,
                    "frame too large: {announced} bytes announced, limit is {limit}"
                )
            }
            Error::Protocol(m) => f.write_str(m),
            Error::Init(m) => write!(f, "init: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}
