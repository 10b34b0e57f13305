'use strict';

// Every frame of testdata/protocol/vectors.json decodes to its message and
// the message encodes back to exactly the same bytes; every invalid frame
// is refused with the expected kind of error.

const test = require('node:test');
const assert = require('node:assert/strict');
const protocol = require('../src/protocol');
const { FrameReader } = require('../src/frames');
const { ProtocolError } = require('../src/errors');
const { loadVectors } = require('../testlib/helpers');

const b64 = (v) => (v === null ? null : Buffer.from(v, 'base64'));
const headers = (hs) => (hs || []).map((h) => [h.key, b64(h.value)]);

// fromVector builds the adapter's message object from the language-neutral
// form (fields omitted there are zero values, as in the Go generator).
function fromVector(j) {
  switch (j.type) {
    case 'hello':
      return { type: 'hello', version: j.version, stage: j.stage || '', worker: j.worker || 0, maxFrame: j.max_frame || 0, settings: j.settings || {} };
    case 'hello_ack':
      return { type: 'hello_ack', version: j.version, name: j.name || '', nodeVersion: j.node_version || '', features: j.features || 0 };
    case 'batch':
      return {
        type: 'batch',
        id: BigInt(j.id || 0),
        records: (j.records || []).map((r) => ({
          topic: r.topic,
          partition: r.partition,
          offset: BigInt(r.offset),
          timestamp: r.timestamp,
          key: b64(r.key),
          value: b64(r.value),
          headers: headers(r.headers),
        })),
      };
    case 'results':
      return {
        type: 'results',
        id: BigInt(j.id || 0),
        results: (j.results || []).map((r) =>
          r.status === 'ok'
            ? { status: 'ok', outputs: (r.outputs || []).map((o) => ({ name: o.name, key: b64(o.key), value: b64(o.value), headers: headers(o.headers) })) }
            : { status: r.status, error: r.error },
        ),
      };
    case 'shutdown':
      return { type: 'shutdown' };
    case 'fatal':
      return { type: 'fatal', message: j.message };
    case 'file_batch':
      return { type: 'file_batch', id: BigInt(j.id || 0), count: j.count || 0, path: j.path };
    case 'file_ack':
      return { type: 'file_ack', id: BigInt(j.id || 0), path: j.path };
  }
  throw new Error(`unknown vector message type ${j.type}`);
}

function readOne(frame, maxFrame) {
  const r = new FrameReader(maxFrame);
  r.push(frame);
  const p = r.next();
  if (p === null) throw new Error('incomplete frame');
  return protocol.decode(p);
}

const vf = loadVectors();

test('the vectors file is complete', () => {
  assert.ok(vf.valid.length >= 10, `${vf.valid.length} valid vectors`);
  assert.ok(vf.invalid.length >= 5, `${vf.invalid.length} invalid vectors`);
  assert.equal(vf.version, 1);
});

for (const v of vf.valid) {
  test(`valid/${v.name}`, () => {
    const frame = Buffer.from(v.frame, 'hex');
    const want = fromVector(v.message);
    assert.equal(protocol.encode(want).toString('hex'), v.frame, 'encode');
    assert.deepStrictEqual(readOne(frame), want, 'decode');
    // Also when the frame arrives one byte at a time.
    const r = new FrameReader();
    let got = null;
    for (const byte of frame) {
      r.push(Buffer.from([byte]));
      const p = r.next();
      if (p !== null) got = protocol.decode(p);
    }
    assert.deepStrictEqual(got, readOne(frame));
  });
}

for (const v of vf.invalid) {
  test(`invalid/${v.name}`, () => {
    const frame = Buffer.from(v.frame, 'hex');
    assert.throws(
      () => readOne(frame, v.max_frame),
      (err) => err instanceof ProtocolError && err.kind === v.error,
    );
  });
}

test('an oversized length prefix is refused before the payload arrives', () => {
  const r = new FrameReader(1024);
  r.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  assert.throws(() => r.next(), { message: 'frame too large: 4294967295 bytes announced, limit is 1024' });
});

test('settings are encoded in byte order of their UTF-8 keys', () => {
  // In UTF-8 bytes U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80);
  // JS's default sort compares UTF-16 units and puts U+1F600 (D83D) first.
  const m = { type: 'hello', version: 1, stage: '', worker: 0, maxFrame: 0, settings: { '\u{FF61}': 'a', '\u{1F600}': 'b' } };
  const back = protocol.decode(protocol.encode(m).subarray(4));
  assert.deepStrictEqual(Object.keys(back.settings), ['\u{FF61}', '\u{1F600}']);
});
