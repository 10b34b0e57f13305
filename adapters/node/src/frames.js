'use strict';

// FrameReader cuts length-prefixed frames out of the chunks a stream
// delivers. Chunks are kept in a list, not concatenated on arrival, so a
// frame that spans many chunks is copied once (into a buffer of exactly its
// size) and a frame inside one chunk is not copied at all (a view). The
// length prefix is checked against max_frame as soon as its 4 bytes are
// here, before the payload arrives and before anything is allocated.

const { ProtocolError } = require('./errors');
const { DEFAULT_MAX_FRAME } = require('./protocol');

class FrameReader {
  constructor(maxFrame = DEFAULT_MAX_FRAME) {
    this.max = maxFrame > 0 ? maxFrame : DEFAULT_MAX_FRAME;
    this.chunks = [];
    this.head = 0; // bytes of chunks[0] already consumed
    this.buffered = 0; // bytes not yet consumed, over all chunks
    this.want = -1; // payload length of the frame being read, once known
  }

  setMax(maxFrame) {
    if (maxFrame > 0) this.max = maxFrame;
  }

  push(chunk) {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  // next returns the next complete frame's payload, or null when more bytes
  // are needed. Throws ProtocolError for a zero or oversized length.
  next() {
    if (this.want < 0) {
      if (this.buffered < 4) return null;
      const n = this.readLength();
      if (n > this.max) {
        throw new ProtocolError('too_large', `${n} bytes announced, limit is ${this.max}`);
      }
      if (n === 0) throw new ProtocolError('malformed', 'zero-length frame');
      this.want = n;
    }
    const n = this.want;
    if (this.buffered < n) return null;
    this.want = -1;
    this.buffered -= n;
    const first = this.chunks[0];
    if (first.length - this.head >= n) {
      const payload = first.subarray(this.head, this.head + n);
      this.advance(n);
      return payload;
    }
    const payload = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0];
      const take = Math.min(c.length - this.head, n - filled);
      c.copy(payload, filled, this.head, this.head + take);
      filled += take;
      this.advance(take);
    }
    return payload;
  }

  readLength() {
    let n = 0;
    for (let i = 0; i < 4; i++) {
      n = n * 256 + this.chunks[0][this.head];
      this.advance(1);
    }
    this.buffered -= 4;
    return n;
  }

  // advance consumes k bytes of the first chunk (k never crosses it).
  advance(k) {
    this.head += k;
    if (this.head === this.chunks[0].length) {
      this.chunks.shift();
      this.head = 0;
    }
  }

  // partial reports whether the stream stopped inside a frame.
  partial() {
    return this.buffered > 0 || this.want >= 0;
  }
}

module.exports = { FrameReader };
