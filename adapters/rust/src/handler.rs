use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::types::{Hello, NodeError, Outcome, Output, Record};

/// What a node does with its records.
///
/// Implement [`Handler::process`]; override [`Handler::process_batch`] when
/// the work is cheaper in bulk (and return `true` from
/// [`Handler::batch_handler`] to say so in the handshake).
pub trait Handler {
    /// Runs once, after the handshake and before the first batch, e.g. to
    /// read the stage's settings. An error stops the node: the runtime gets
    /// it as a `fatal` message and the process exits non-zero.
    fn init(&mut self, hello: &Hello) -> Result<(), String> {
        let _ = hello;
        Ok(())
    }

    /// Handles one record: zero, one or many outputs, or an error that sends
    /// the record to the stage's DLQ.
    fn process(&mut self, record: &Record<'_>) -> Result<Vec<Output>, NodeError>;

    /// Handles a whole batch: exactly one outcome per record, in order. The
    /// default calls [`Handler::process`] for each record and turns a panic
    /// into that record's error.
    fn process_batch(&mut self, records: &[Record<'_>]) -> Vec<Outcome> {
        records.iter().map(|r| guarded_process(self, r)).collect()
    }

    /// Whether this handler overrides [`Handler::process_batch`]; announced
    /// to the runtime (informational).
    fn batch_handler(&self) -> bool {
        false
    }
}

/// Calls `process`, turning a panic into the record's error so that one bad
/// record does not take the node (and its batch-mates) down.
fn guarded_process<H: Handler + ?Sized>(h: &mut H, r: &Record<'_>) -> Outcome {
    // AssertUnwindSafe: after a panic the handler may be half-updated; we
    // accept that, as the Go adapter's recover does, because the
    // alternative (crashing) loses every record in flight.
    catch_unwind(AssertUnwindSafe(|| h.process(r))).unwrap_or_else(|p| {
        Err(NodeError::permanent(format!(
            "panic: {}",
            panic_message(&*p)
        )))
    })
}

/// The text of a panic payload (`panic!("...")` gives a `&str` or `String`).
pub(crate) fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_string()
    }
}

/// A [`Handler`] made of a closure; see [`from_fn`].
pub struct FnHandler<F>(pub F);

impl<F> Handler for FnHandler<F>
where
    F: FnMut(&Record<'_>) -> Result<Vec<Output>, NodeError>,
{
    fn process(&mut self, record: &Record<'_>) -> Result<Vec<Output>, NodeError> {
        (self.0)(record)
    }
}

/// Makes a handler of a closure, for nodes without state or init:
/// `run("upper", "0.1.0", from_fn(|r| Ok(vec![...])))`.
///
/// The bound on the argument lets Rust infer the closure's signature for any
/// record lifetime, which a plain `impl Handler for F` could not.
pub fn from_fn<F>(f: F) -> FnHandler<F>
where
    F: FnMut(&Record<'_>) -> Result<Vec<Output>, NodeError>,
{
    FnHandler(f)
}
