'use strict';

// Writer appends protocol primitives (docs/protocol.md) to a growable
// buffer. Growth doubles, so encoding is linear; `take()` hands the bytes
// over (for one write to stdout) and starts a fresh buffer, so a write that
// is still in flight is never overwritten.

const TWO_32 = 4294967296;

class Writer {
  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.len = 0;
  }

  ensure(n) {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v) {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  u16(v) {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
  }

  u32(v) {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }

  i32(v) {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.len);
    this.len += 4;
  }

  // u64 takes a BigInt or a safe integer (batch ids).
  u64(v) {
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, BigInt(v)), this.len);
    this.len += 8;
  }

  // i64 takes a BigInt (offsets) or a number (timestamps: exact up to 2^53
  // without a BigInt per record).
  i64(v) {
    this.ensure(8);
    if (typeof v === 'bigint') {
      this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.len);
    } else {
      const hi = Math.floor(v / TWO_32);
      this.buf.writeInt32BE(hi | 0, this.len);
      this.buf.writeUInt32BE((v - hi * TWO_32) >>> 0, this.len + 4);
    }
    this.len += 8;
  }

  // string writes a u32 length and UTF-8 bytes. It reserves the worst case
  // (3 bytes per UTF-16 unit) instead of measuring the string twice.
  string(s) {
    this.ensure(4 + s.length * 3);
    const n = this.buf.write(s, this.len + 4, 'utf8');
    this.buf.writeUInt32BE(n, this.len);
    this.len += 4 + n;
  }

  // bytes writes nullable bytes: Buffer/Uint8Array, a string (UTF-8), or
  // null/undefined (length -1). Anything else throws a TypeError.
  bytes(b, what) {
    if (b === null || b === undefined) {
      this.ensure(4);
      this.buf.writeUInt32BE(0xffffffff, this.len);
      this.len += 4;
    } else if (typeof b === 'string') {
      this.string(b);
    } else if (b instanceof Uint8Array) {
      this.ensure(4 + b.length);
      this.buf.writeUInt32BE(b.length, this.len);
      this.buf.set(b, this.len + 4);
      this.len += 4 + b.length;
    } else {
      throw new TypeError(`${what || 'bytes'}: expected a Buffer, a string or null, got ${describe(b)}`);
    }
  }

  raw(b) {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  // take returns the bytes written so far and resets the writer.
  take() {
    const out = this.buf.subarray(0, this.len);
    this.buf = Buffer.allocUnsafe(Math.max(64 * 1024, Math.min(this.buf.length, 4 * 1024 * 1024)));
    this.len = 0;
    return out;
  }
}

function describe(v) {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return v.constructor && v.constructor.name ? `an object (${v.constructor.name})` : 'an object';
  return typeof v;
}

module.exports = { Writer, describe };
