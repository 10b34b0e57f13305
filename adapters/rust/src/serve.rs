use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::Error;
use crate::frame::{FrameReader, DEFAULT_MAX_FRAME};
use crate::handler::{panic_message, Handler};
use crate::shrink::shrink_to_fit;
use crate::stdio;
use crate::types::{NodeError, Outcome};
use crate::wire::{self, features, Batch, HelloAck, Message};
use crate::PROTOCOL_VERSION;

/// Pending output is written once it reaches this size even while more
/// input is waiting, so that memory stays bounded under a long burst.
const WRITE_THRESHOLD: usize = 1 << 20;

/// Serves `handler` on stdin/stdout, then exits the process: 0 after a
/// shutdown or the end of input, 1 after a protocol error (which is also
/// sent to the runtime in a `fatal` frame and logged on stderr).
pub fn run<H: Handler>(name: &str, version: &str, mut handler: H) -> ! {
    match serve(stdio::input(), stdio::output(), name, version, &mut handler) {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("sluice node {name}: {e}");
            std::process::exit(1)
        }
    }
}

/// Speaks the protocol on `input`/`output` until the runtime sends
/// `shutdown` or closes `input`, and returns `Ok`; or returns the error that
/// ended it, after telling the runtime in a `fatal` frame. It is [`run`]
/// without the process exit, for tests and embedding.
///
/// `input` is buffered here; `output` gets one `write_all` per group of
/// batches followed by a `flush`, so it needs no buffering of its own.
pub fn serve<R: Read, W: Write, H: Handler + ?Sized>(
    input: R,
    output: W,
    name: &str,
    version: &str,
    handler: &mut H,
) -> Result<(), Error> {
    let mut s = Server {
        frames: FrameReader::new(input, DEFAULT_MAX_FRAME),
        w: output,
        out: Vec::with_capacity(64 << 10),
        max_frame: DEFAULT_MAX_FRAME,
    };
    match s.handshake(name, version, handler) {
        Ok(true) => {}
        Ok(false) => return Ok(()),
        Err(e) => return Err(s.fatal(e)),
    }
    s.serve_batches(handler).map_err(|e| s.fatal(e))
}

struct Server<R, W> {
    frames: FrameReader<R>,
    w: W,
    /// Encoded frames not yet written.
    out: Vec<u8>,
    max_frame: usize,
}

impl<R: Read, W: Write> Server<R, W> {
    /// Reads the hello and answers it; `false` when the input ended first.
    fn handshake<H: Handler + ?Sized>(
        &mut self,
        name: &str,
        version: &str,
        h: &mut H,
    ) -> Result<bool, Error> {
        let hello = match self.frames.next_frame()? {
            None => return Ok(false),
            Some(p) => match wire::decode(p)? {
                Message::Hello(hello) => hello,
                m => {
                    return Err(Error::Protocol(format!(
                        "expected a hello frame first, got {}",
                        m.name()
                    )))
                }
            },
        };
        if hello.version != PROTOCOL_VERSION {
            return Err(Error::Protocol(format!(
                "unsupported protocol version {}; this node speaks {PROTOCOL_VERSION}",
                hello.version
            )));
        }
        if hello.max_frame > 0 {
            self.max_frame = hello.max_frame as usize;
            self.frames.set_max(self.max_frame);
        }
        h.init(&hello).map_err(Error::Init)?;
        let ack = HelloAck {
            version: PROTOCOL_VERSION,
            name: name.to_string(),
            node_version: if version.is_empty() { "0.0.0" } else { version }.to_string(),
            features: if h.batch_handler() {
                features::BATCH_HANDLER
            } else {
                0
            },
        };
        wire::encode(&mut self.out, &Message::HelloAck(ack));
        self.write(true)?;
        Ok(true)
    }

    fn serve_batches<H: Handler + ?Sized>(&mut self, h: &mut H) -> Result<(), Error> {
        loop {
            let Some(payload) = self.frames.next_frame()? else {
                return self.write(true);
            };
            match wire::decode(payload)? {
                Message::Batch(b) => answer(&mut self.out, &b, h, self.max_frame),
                Message::Shutdown => return self.write(true),
                m => {
                    return Err(Error::Protocol(format!(
                        "unexpected {} frame after the handshake",
                        m.name()
                    )))
                }
            }
            // Write only when no further input is waiting: under load the
            // results of many batches leave in one system call.
            let idle = self.frames.buffered() == 0;
            if idle || self.out.len() >= WRITE_THRESHOLD {
                self.write(idle)?;
            }
        }
    }

    fn write(&mut self, flush: bool) -> Result<(), Error> {
        self.w.write_all(&self.out)?;
        self.out.clear();
        if flush {
            self.w.flush()?;
        }
        Ok(())
    }

    /// Tells the runtime why we stop (after what is pending), and hands the
    /// error back. Write errors are ignored: the error already says enough.
    fn fatal(&mut self, err: Error) -> Error {
        if !matches!(err, Error::Io(_)) {
            wire::encode(&mut self.out, &Message::Fatal(err.to_string()));
            let _ = self.write(true);
        }
        err
    }
}

/// Runs the handler over a batch and appends its results frame to `out`.
fn answer<H: Handler + ?Sized>(out: &mut Vec<u8>, b: &Batch<'_>, h: &mut H, max_frame: usize) {
    let mut results = run_batch(h, b);
    let start = out.len();
    encode_results(out, b.id, &results);
    if out.len() - start - 4 > max_frame {
        shrink_to_fit(&mut results, max_frame);
        out.truncate(start);
        encode_results(out, b.id, &results);
    }
}

fn run_batch<H: Handler + ?Sized>(h: &mut H, b: &Batch<'_>) -> Vec<Outcome> {
    let n = b.records.len();
    let all = |msg: String| {
        (0..n)
            .map(|_| Err(NodeError::permanent(msg.clone())))
            .collect()
    };
    // The default process_batch guards each record itself; this catches a
    // panic in an overridden one, which fails the whole batch.
    match catch_unwind(AssertUnwindSafe(|| h.process_batch(&b.records))) {
        Ok(rs) if rs.len() == n => rs,
        Ok(rs) => all(format!(
            "batch handler returned {} results for {n} records",
            rs.len()
        )),
        Err(p) => all(format!("panic in batch handler: {}", panic_message(&*p))),
    }
}

fn encode_results(out: &mut Vec<u8>, id: u64, results: &[Outcome]) {
    let start = wire::begin_frame(out, wire::types::RESULTS);
    wire::put_u64(out, id);
    wire::put_u32(out, results.len() as u32);
    for r in results {
        wire::encode_result(out, r);
    }
    wire::end_frame(out, start);
}
