'use strict';

// Messages of the Sluice node protocol v1 (docs/protocol.md): decoding a
// frame payload into a plain object and encoding such an object back into
// a frame. Both directions are here so the tests can check every vector of
// testdata/protocol/vectors.json byte for byte.
//
// Message shapes (byte fields are Buffers, or null for a null value; u64 ids
// and i64 offsets are BigInt; timestamps are numbers of milliseconds):
//   { type: 'hello', version, stage, worker, maxFrame, settings: {k: v} }
//   { type: 'hello_ack', version, name, nodeVersion, features }
//   { type: 'batch', id, records: [{ topic, partition, offset, timestamp, key, value, headers: [[k, v]] }] }
//   { type: 'results', id, results: [{ status: 'ok', outputs: [{ name, key, value, headers }] }
//                                  | { status: 'error' | 'retriable', error }] }
//   { type: 'shutdown' }  { type: 'fatal', message }
//   { type: 'file_batch', id, count, path }  { type: 'file_ack', id, path }

const { ProtocolError } = require('./errors');
const { Writer } = require('./writer');

const VERSION = 1;
const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;

const TYPE = {
  hello: 0x01,
  hello_ack: 0x02,
  batch: 0x03,
  results: 0x04,
  shutdown: 0x05,
  fatal: 0x06,
  file_batch: 0x07,
  file_ack: 0x08,
};
const TYPE_NAME = Object.fromEntries(Object.entries(TYPE).map(([k, v]) => [v, k]));

const FEATURE_BATCH_HANDLER = 1;
const FEATURE_FILES = 2;

const STATUS = { ok: 0, error: 1, retriable: 2 };
const STATUS_NAME = ['ok', 'error', 'retriable'];

const TWO_32 = 4294967296;

// The smallest encodings, used to refuse element counts that cannot fit in
// the bytes remaining (so a hostile count costs no allocation).
const MIN_RECORD = 4 + 4 + 8 + 8 + 4 + 4 + 4;
const MIN_OUTPUT = 4 + 4 + 4 + 4;
const MIN_RESULT = 5;
const MIN_HEADER = 4 + 4;
const MIN_SETTING = 8;

// sameBytes compares a with b[start, start+n): a JS loop beats a native
// compare call for names as short as topics.
function sameBytes(a, b, start, n) {
  if (n > 64) return a.compare(b, start, start + n) === 0;
  for (let i = 0; i < n; i++) if (a[i] !== b[start + i]) return false;
  return true;
}

// Decoder reads primitives from one payload; every length is checked
// against the bytes remaining before it is used.
class Decoder {
  constructor(b) {
    this.b = b;
    this.off = 1;
    this.lastTopicBytes = null;
    this.lastTopic = '';
  }

  need(n, what) {
    if (this.b.length - this.off < n) {
      throw new ProtocolError('malformed', `truncated ${what} at byte ${this.off} of ${this.b.length}`);
    }
  }

  u8(what) {
    this.need(1, what);
    return this.b[this.off++];
  }

  u16(what) {
    this.need(2, what);
    const v = this.b.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }

  u32(what) {
    this.need(4, what);
    const v = this.b.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }

  i32(what) {
    this.need(4, what);
    const v = this.b.readInt32BE(this.off);
    this.off += 4;
    return v;
  }

  u64(what) {
    this.need(8, what);
    const v = this.b.readBigUInt64BE(this.off);
    this.off += 8;
    return v;
  }

  i64big(what) {
    this.need(8, what);
    const v = this.b.readBigInt64BE(this.off);
    this.off += 8;
    return v;
  }

  // i64num reads an i64 as a number: exact for |v| <= 2^53, which covers
  // every millisecond timestamp, and cheaper than a BigInt per record.
  i64num(what) {
    this.need(8, what);
    const v = this.b.readInt32BE(this.off) * TWO_32 + this.b.readUInt32BE(this.off + 4);
    this.off += 8;
    return v;
  }

  str(what) {
    const n = this.u32(what);
    this.need(n, what);
    const s = this.b.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }

  // topic is str that reuses the previous record's string when the bytes
  // match: the records of a batch usually share one topic.
  topic() {
    const n = this.u32('topic');
    this.need(n, 'topic');
    const start = this.off;
    this.off += n;
    const last = this.lastTopicBytes;
    if (last !== null && last.length === n && sameBytes(last, this.b, start, n)) return this.lastTopic;
    this.lastTopicBytes = this.b.subarray(start, start + n);
    this.lastTopic = this.b.toString('utf8', start, start + n);
    return this.lastTopic;
  }

  // bytes returns a view into the payload (no copy), or null.
  bytes(what) {
    const n = this.u32(what);
    if (n === 0xffffffff) return null;
    this.need(n, what);
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }

  count(what, minSize) {
    const n = this.u32(what);
    if (n * minSize > this.b.length - this.off) {
      throw new ProtocolError('malformed', `${what} ${n} cannot fit in the ${this.b.length - this.off} bytes left`);
    }
    return n;
  }

  headers() {
    const n = this.count('header count', MIN_HEADER);
    const hs = new Array(n);
    for (let i = 0; i < n; i++) {
      const k = this.str('header key');
      hs[i] = [k, this.bytes('header value')];
    }
    return hs;
  }

  settings() {
    const n = this.count('settings count', MIN_SETTING);
    const m = {};
    for (let i = 0; i < n; i++) {
      const k = this.str('setting key');
      // defineProperty: a key such as "__proto__" stays an ordinary key.
      Object.defineProperty(m, k, { value: this.str('setting value'), enumerable: true, writable: true, configurable: true });
    }
    return m;
  }
}

function decodeBatch(d) {
  const id = d.u64('batch id');
  const n = d.count('record count', MIN_RECORD);
  const records = new Array(n);
  for (let i = 0; i < n; i++) {
    const topic = d.topic();
    const partition = d.i32('partition');
    const offset = d.i64big('offset');
    const timestamp = d.i64num('timestamp');
    const key = d.bytes('key');
    const value = d.bytes('value');
    records[i] = { topic, partition, offset, timestamp, key, value, headers: d.headers() };
  }
  return { type: 'batch', id, records };
}

function decodeResults(d) {
  const id = d.u64('batch id');
  const n = d.count('result count', MIN_RESULT);
  const results = new Array(n);
  for (let i = 0; i < n; i++) {
    const status = d.u8('status');
    if (status === STATUS.ok) {
      const no = d.count('output count', MIN_OUTPUT);
      const outputs = new Array(no);
      for (let j = 0; j < no; j++) {
        const name = d.str('output name');
        const key = d.bytes('output key');
        const value = d.bytes('output value');
        outputs[j] = { name, key, value, headers: d.headers() };
      }
      results[i] = { status: 'ok', outputs };
    } else if (status === STATUS.error || status === STATUS.retriable) {
      results[i] = { status: STATUS_NAME[status], error: d.str('error message') };
    } else {
      throw new ProtocolError('malformed', `result ${i} has unknown status ${status}`);
    }
  }
  return { type: 'results', id, results };
}

// decode turns one frame payload (the bytes after the length prefix) into a
// message. Byte fields are views into payload. Throws ProtocolError.
function decode(payload) {
  if (payload.length === 0) throw new ProtocolError('malformed', 'empty frame');
  const d = new Decoder(payload);
  let m;
  switch (payload[0]) {
    case TYPE.hello: {
      const version = d.u16('version');
      const stage = d.str('stage');
      const worker = d.u32('worker');
      const maxFrame = d.u32('max frame');
      m = { type: 'hello', version, stage, worker, maxFrame, settings: d.settings() };
      break;
    }
    case TYPE.hello_ack: {
      const version = d.u16('version');
      const name = d.str('name');
      const nodeVersion = d.str('node version');
      m = { type: 'hello_ack', version, name, nodeVersion, features: d.u32('features') };
      break;
    }
    case TYPE.batch:
      m = decodeBatch(d);
      break;
    case TYPE.results:
      m = decodeResults(d);
      break;
    case TYPE.shutdown:
      m = { type: 'shutdown' };
      break;
    case TYPE.fatal:
      m = { type: 'fatal', message: d.str('message') };
      break;
    case TYPE.file_batch: {
      const id = d.u64('batch id');
      const count = d.u32('record count');
      m = { type: 'file_batch', id, count, path: d.str('path') };
      break;
    }
    case TYPE.file_ack: {
      const id = d.u64('batch id');
      m = { type: 'file_ack', id, path: d.str('path') };
      break;
    }
    default:
      throw new ProtocolError('malformed', `unknown message type 0x${payload[0].toString(16).padStart(2, '0')}`);
  }
  if (d.off !== payload.length) {
    throw new ProtocolError('malformed', `${payload.length - d.off} trailing bytes after ${m.type}`);
  }
  return m;
}

// beginFrame reserves the length prefix and writes the type byte; endFrame
// fills the prefix in. Returns the frame's start offset.
function beginFrame(w, type) {
  const start = w.len;
  w.u32(0);
  w.u8(type);
  return start;
}

function endFrame(w, start) {
  w.buf.writeUInt32BE(w.len - start - 4, start);
}

function writeHeaders(w, hs, what) {
  if (hs === null || hs === undefined) {
    w.u32(0);
    return;
  }
  if (Array.isArray(hs)) {
    w.u32(hs.length);
    for (const h of hs) {
      if (!Array.isArray(h) || typeof h[0] !== 'string') {
        throw new TypeError(`${what}: each header must be a [key, value] pair with a string key`);
      }
      w.string(h[0]);
      w.bytes(h[1], `${what} ${JSON.stringify(h[0])}`);
    }
    return;
  }
  if (typeof hs === 'object') {
    const keys = Object.keys(hs);
    w.u32(keys.length);
    for (const k of keys) {
      w.string(k);
      w.bytes(hs[k], `${what} ${JSON.stringify(k)}`);
    }
    return;
  }
  throw new TypeError(`${what}: expected an array of [key, value] pairs or an object`);
}

// writeOutput encodes one output; throws a TypeError naming the bad field
// when a handler returned something that is not bytes.
function writeOutput(w, o) {
  if (o === null || typeof o !== 'object' || Array.isArray(o) || o instanceof Uint8Array) {
    throw new TypeError(`output: expected an object {value, key, name, headers}, got ${o === null ? 'null' : Array.isArray(o) ? 'an array' : typeof o}`);
  }
  const name = o.name;
  if (name === undefined || name === null || name === 'default') w.string('');
  else if (typeof name === 'string') w.string(name);
  else throw new TypeError(`output name: expected a string, got ${typeof name}`);
  w.bytes(o.key, 'output key');
  w.bytes(o.value, 'output value');
  writeHeaders(w, o.headers, 'output header');
}

// writeResult encodes one result ({status, outputs} or {status, error}).
function writeResult(w, r) {
  const st = STATUS[r.status];
  if (st === undefined) throw new TypeError(`result: unknown status ${JSON.stringify(r.status)}`);
  w.u8(st);
  if (st !== STATUS.ok) {
    w.string(String(r.error));
    return;
  }
  const outs = r.outputs || [];
  w.u32(outs.length);
  for (let i = 0; i < outs.length; i++) writeOutput(w, outs[i]);
}

function writeSettings(w, settings) {
  // Ascending byte order of the UTF-8 keys (the vectors depend on it; JS's
  // default sort compares UTF-16 units, which differs above U+FFFF).
  const keys = Object.keys(settings || {}).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  w.u32(keys.length);
  for (const k of keys) {
    w.string(k);
    w.string(String(settings[k]));
  }
}

// encodeInto appends the whole frame of m (length prefix included) to w.
function encodeInto(w, m) {
  const t = TYPE[m.type];
  if (t === undefined) throw new TypeError(`cannot encode a message of type ${JSON.stringify(m.type)}`);
  const start = beginFrame(w, t);
  switch (m.type) {
    case 'hello':
      w.u16(m.version);
      w.string(m.stage || '');
      w.u32(m.worker || 0);
      w.u32(m.maxFrame || 0);
      writeSettings(w, m.settings);
      break;
    case 'hello_ack':
      w.u16(m.version);
      w.string(m.name || '');
      w.string(m.nodeVersion || '');
      w.u32(m.features || 0);
      break;
    case 'batch': {
      const recs = m.records || [];
      w.u64(m.id);
      w.u32(recs.length);
      for (const r of recs) {
        w.string(r.topic);
        w.i32(r.partition);
        w.i64(typeof r.offset === 'bigint' ? r.offset : BigInt(r.offset));
        w.i64(r.timestamp);
        w.bytes(r.key, 'key');
        w.bytes(r.value, 'value');
        writeHeaders(w, r.headers, 'header');
      }
      break;
    }
    case 'results': {
      const rs = m.results || [];
      w.u64(m.id);
      w.u32(rs.length);
      for (const r of rs) writeResult(w, r);
      break;
    }
    case 'shutdown':
      break;
    case 'fatal':
      w.string(m.message);
      break;
    case 'file_batch':
      w.u64(m.id);
      w.u32(m.count);
      w.string(m.path);
      break;
    case 'file_ack':
      w.u64(m.id);
      w.string(m.path);
      break;
  }
  endFrame(w, start);
}

// encode returns the frame of m as a new Buffer.
function encode(m) {
  const w = new Writer(256);
  encodeInto(w, m);
  return w.buf.subarray(0, w.len);
}

module.exports = {
  VERSION,
  DEFAULT_MAX_FRAME,
  TYPE,
  TYPE_NAME,
  STATUS,
  FEATURE_BATCH_HANDLER,
  FEATURE_FILES,
  decode,
  encode,
  encodeInto,
  beginFrame,
  endFrame,
  writeResult,
  writeOutput,
};
