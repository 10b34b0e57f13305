'use strict';

// RetriableError marks a handler failure that may pass if the record is
// tried again (a webhook answering 503, a lock held elsewhere). The runtime
// records it in the DLQ with `sluice.error.kind: node-retriable`; any other
// thrown value is a permanent error for that record.
class RetriableError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'RetriableError';
  }
}

// ProtocolError is a frame the peer should never have sent. `kind` is
// 'malformed' (bad bytes) or 'too_large' (a length prefix over max_frame,
// refused before anything is allocated), matching the test vectors.
class ProtocolError extends Error {
  constructor(kind, message) {
    super(kind === 'too_large' ? `frame too large: ${message}` : `malformed frame: ${message}`);
    this.name = 'ProtocolError';
    this.kind = kind;
  }
}

function isRetriable(err) {
  return err instanceof RetriableError || (err != null && err.retriable === true);
}

// errorMessage is the text a failed record carries to the DLQ. A plain
// Error gives its message; other error classes keep their name
// ("TypeError: x is not a function") because they usually point at a bug.
function errorMessage(err) {
  if (err instanceof Error) {
    const msg = err.message || err.name || 'error';
    if (err.name === 'Error' || err.name === 'RetriableError' || err.name === undefined) return msg;
    return `${err.name}: ${msg}`;
  }
  if (typeof err === 'string') return err;
  try {
    return `thrown: ${typeof err === 'object' ? JSON.stringify(err) : String(err)}`;
  } catch {
    return `thrown: ${Object.prototype.toString.call(err)}`;
  }
}

module.exports = { RetriableError, ProtocolError, isRetriable, errorMessage };
