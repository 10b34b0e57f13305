'use strict';

// Shared helpers for the adapter's tests: frames in, frames out.

const path = require('node:path');
const fs = require('node:fs');
const { PassThrough } = require('node:stream');
const protocol = require('../src/protocol');
const { FrameReader } = require('../src/frames');
const { serve } = require('../src/serve');

const REPO = path.resolve(__dirname, '..', '..', '..');
const VECTORS = path.join(REPO, 'testdata', 'protocol', 'vectors.json');

// loadVectors parses vectors.json keeping u64 ids and i64 offsets exact:
// they exceed 2^53, so they are turned into strings before JSON.parse.
function loadVectors() {
  const text = fs.readFileSync(VECTORS, 'utf8').replace(/"(id|offset)": (-?\d+)/g, '"$1": "$2"');
  return JSON.parse(text);
}

function frames(...msgs) {
  return Buffer.concat(msgs.map((m) => protocol.encode(m)));
}

// readFrames decodes every frame of buf (throws on a partial tail).
function readFrames(buf, maxFrame) {
  const r = new FrameReader(maxFrame);
  r.push(buf);
  const out = [];
  let p;
  while ((p = r.next()) !== null) out.push(protocol.decode(p));
  if (r.partial()) throw new Error('output ends inside a frame');
  return out;
}

// serveBytes runs serve() over in-memory streams. `input` is a Buffer fed
// in chunks of `chunk` bytes (to exercise frames split across chunks).
async function serveBytes(node, input, { chunk = 7 } = {}) {
  const inp = new PassThrough();
  const out = new PassThrough();
  const parts = [];
  out.on('data', (d) => parts.push(d));
  const logs = [];
  const done = serve(node, inp, out, { log: (l) => logs.push(l) });
  for (let i = 0; i < input.length; i += chunk) inp.write(input.subarray(i, i + chunk));
  inp.end();
  const code = await done;
  const bytes = Buffer.concat(parts);
  return { code, bytes, msgs: readFrames(bytes), logs };
}

const hello = (extra = {}) => ({ type: 'hello', version: 1, stage: 's', worker: 0, maxFrame: 1 << 20, settings: {}, ...extra });

function rec(value, extra = {}) {
  return {
    topic: 't',
    partition: 0,
    offset: 0n,
    timestamp: 1700000000000,
    key: null,
    value: value === null ? null : Buffer.from(value),
    headers: [],
    ...extra,
  };
}

module.exports = { REPO, loadVectors, frames, readFrames, serveBytes, hello, rec };
