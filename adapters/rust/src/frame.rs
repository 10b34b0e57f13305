use std::io::{self, BufReader, Read};

use crate::error::Error;

/// The frame limit until the hello announces one: 16 MiB, as the runtime's.
pub const DEFAULT_MAX_FRAME: usize = 16 << 20;

/// Big enough for a few batches of small records, so that one read system
/// call brings in everything the runtime has pipelined.
const READ_BUFFER: usize = 256 << 10;

/// Reads length-prefixed frames with a size limit, into one buffer reused
/// from frame to frame.
pub struct FrameReader<R> {
    r: BufReader<R>,
    max: usize,
    buf: Vec<u8>,
}

impl<R: Read> FrameReader<R> {
    /// Reads frames of at most `max` payload bytes (0 means
    /// [`DEFAULT_MAX_FRAME`]) from `r`, which it buffers itself.
    pub fn new(r: R, max: usize) -> Self {
        FrameReader {
            r: BufReader::with_capacity(READ_BUFFER, r),
            max: if max == 0 { DEFAULT_MAX_FRAME } else { max },
            buf: Vec::new(),
        }
    }

    /// Changes the limit (after the hello announced it); 0 keeps it.
    pub fn set_max(&mut self, max: usize) {
        if max > 0 {
            self.max = max;
        }
    }

    /// The limit in force.
    pub fn max(&self) -> usize {
        self.max
    }

    /// How many input bytes are read but not yet returned. A node flushes
    /// its answers only when this is 0: under load, that writes the results
    /// of many batches with one system call.
    pub fn buffered(&self) -> usize {
        self.r.buffer().len()
    }

    /// The next frame's payload (type byte and body), valid until the next
    /// call; `None` at a clean end of input. A length over the limit is
    /// refused before anything is allocated for it.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, Error> {
        let mut len = [0u8; 4];
        let mut got = 0;
        while got < len.len() {
            match self.r.read(&mut len[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => {
                    return Err(Error::Malformed(
                        "the input ended inside a length prefix".into(),
                    ))
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Io(e)),
            }
        }
        let n = u32::from_be_bytes(len);
        if n as u64 > self.max as u64 {
            return Err(Error::TooLarge {
                announced: n,
                limit: self.max,
            });
        }
        if n == 0 {
            return Err(Error::Malformed("zero-length frame".into()));
        }
        self.buf.clear();
        self.buf.resize(n as usize, 0);
        match self.r.read_exact(&mut self.buf) {
            Ok(()) => Ok(Some(&self.buf)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(Error::Malformed(format!(
                "the input ended inside a {n}-byte frame"
            ))),
            Err(e) => Err(Error::Io(e)),
        }
    }
}
