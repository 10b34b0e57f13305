'use strict';

// Output writes frames to the runtime's pipe with backpressure: a write
// that the stream could not take at once makes the next flush wait for
// 'drain', so a slow reader slows the node instead of growing its memory.
// `done()` resolves once everything written has reached the kernel, which
// is what a node must wait for before it exits.

// OutputError is a failure of the pipe to the runtime (EPIPE once the
// runtime is gone): the node can only stop.
class OutputError extends Error {
  constructor(cause) {
    super(cause && cause.message ? cause.message : String(cause), { cause });
    this.name = 'OutputError';
  }
}

function wrap(err) {
  return err instanceof OutputError ? err : new OutputError(err);
}

class Output {
  constructor(stream) {
    this.stream = stream;
    this.error = null;
    this.last = Promise.resolve();
    this.onError = (err) => {
      if (this.error === null) this.error = err;
    };
    stream.on('error', this.onError);
  }

  // write hands buf to the stream in one write and waits for room if the
  // stream is above its high-water mark.
  async write(buf) {
    if (this.error) throw wrap(this.error);
    let settle;
    this.last = new Promise((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    this.last.catch(() => {}); // observed through done() or the next write
    let ok;
    try {
      ok = this.stream.write(buf, settle);
    } catch (err) {
      throw wrap(err);
    }
    if (!ok) await this.drained();
  }

  drained() {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        this.stream.off('drain', onDrain);
        this.stream.off('error', onFail);
        this.stream.off('close', onClose);
      };
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onFail = (err) => {
        cleanup();
        reject(wrap(err));
      };
      const onClose = () => {
        cleanup();
        reject(wrap(this.error || new Error('output closed')));
      };
      this.stream.on('drain', onDrain);
      this.stream.on('error', onFail);
      this.stream.on('close', onClose);
    });
  }

  async done() {
    try {
      await this.last;
    } catch (err) {
      throw wrap(err);
    }
    if (this.error) throw wrap(this.error);
  }
}

module.exports = { Output, OutputError };
