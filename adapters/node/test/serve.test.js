'use strict';

// Handler semantics of serve(): ordering, errors, retriable errors, batch
// handlers, the handshake and its refusals, oversized results.

const test = require('node:test');
const assert = require('node:assert/strict');
const { PassThrough, Writable } = require('node:stream');
const { serve, RetriableError } = require('../src');
const protocol = require('../src/protocol');
const { frames, readFrames, serveBytes, hello, rec } = require('../testlib/helpers');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (b) => (b === null ? null : b.toString());

test('answers each batch in order with one result per record', async () => {
  let settings = null;
  const node = {
    name: 'fan',
    version: '1.2.3',
    init(h) {
      settings = h.settings;
    },
    process(r) {
      switch (text(r.value)) {
        case 'drop':
          return null;
        case 'bad':
          throw new Error('bad value');
        case 'later':
          throw new RetriableError('try later');
        case 'bug':
          return r.nothing.here;
        case 'one':
          return { value: 'single' };
      }
      return [{ value: r.value }, { name: 'alerts', key: r.key, value: text(r.value).toUpperCase(), headers: { h: 'v' } }];
    },
  };
  const input = frames(
    hello({ settings: { mode: 'loud' } }),
    { type: 'batch', id: 1n, records: [rec('a', { key: Buffer.from('k') }), rec('drop'), rec('one')] },
    { type: 'batch', id: 2n, records: [rec('bad'), rec('later'), rec('bug')] },
    { type: 'shutdown' },
  );
  const { code, msgs } = await serveBytes(node, input);
  assert.equal(code, 0);
  assert.deepStrictEqual(settings, { mode: 'loud' });
  assert.equal(msgs.length, 3);
  assert.deepStrictEqual(msgs[0], { type: 'hello_ack', version: 1, name: 'fan', nodeVersion: '1.2.3', features: 0 });
  const [r1, r2] = [msgs[1], msgs[2]];
  assert.equal(r1.id, 1n);
  assert.equal(r1.results.length, 3);
  assert.deepStrictEqual(
    r1.results[0].outputs.map((o) => [o.name, text(o.key), text(o.value), o.headers.map(([k, v]) => [k, text(v)])]),
    [
      ['', null, 'a', []],
      ['alerts', 'k', 'A', [['h', 'v']]],
    ],
  );
  assert.deepStrictEqual(r1.results[1], { status: 'ok', outputs: [] });
  assert.equal(text(r1.results[2].outputs[0].value), 'single');
  assert.equal(r2.id, 2n);
  assert.deepStrictEqual(r2.results[0], { status: 'error', error: 'bad value' });
  assert.deepStrictEqual(r2.results[1], { status: 'retriable', error: 'try later' });
  assert.equal(r2.results[2].status, 'error');
  assert.match(r2.results[2].error, /^TypeError: Cannot read properties of undefined/);
});

test('async handlers are awaited in order, one at a time', async () => {
  let running = 0;
  let most = 0;
  const seen = [];
  const node = {
    name: 'slow',
    async process(r) {
      running++;
      most = Math.max(most, running);
      const v = text(r.value);
      await sleep(Number(v) % 3 === 0 ? 5 : 0); // later records often finish first if run in parallel
      seen.push(v);
      running--;
      if (v === '4') throw new RetriableError('four');
      if (v === '5') return Promise.reject(new Error('five'));
      return { value: `done:${v}` };
    },
  };
  const batch = (id, vals) => ({ type: 'batch', id, records: vals.map((v) => rec(String(v))) });
  const input = frames(hello(), batch(1n, [0, 1, 2, 3]), batch(2n, [4, 5, 6]), { type: 'shutdown' });
  const { code, msgs } = await serveBytes(node, input);
  assert.equal(code, 0);
  assert.equal(most, 1);
  assert.deepStrictEqual(seen, ['0', '1', '2', '3', '4', '5', '6']);
  assert.deepStrictEqual(msgs[1].results.map((r) => text(r.outputs[0].value)), ['done:0', 'done:1', 'done:2', 'done:3']);
  assert.deepStrictEqual(msgs[2].results, [
    { status: 'retriable', error: 'four' },
    { status: 'error', error: 'five' },
    msgs[2].results[2],
  ]);
  assert.equal(text(msgs[2].results[2].outputs[0].value), 'done:6');
});

test('answers are written before a later batch waits on its handler', async () => {
  // Batch 2's handler only finishes once batch 1's results have reached the
  // output: a slow async record must not hold back earlier answers.
  const inp = new PassThrough();
  const out = new PassThrough();
  let seenBytes = Buffer.alloc(0);
  let sawBatch1;
  const batch1Answered = new Promise((r) => (sawBatch1 = r));
  out.on('data', (d) => {
    seenBytes = Buffer.concat([seenBytes, d]);
    if (readFrames(seenBytes).some((m) => m.type === 'results' && m.id === 1n)) sawBatch1();
  });
  const node = {
    name: 'wait',
    process(r) {
      if (text(r.value) === 'wait') return batch1Answered.then(() => ({ value: 'waited' }));
      return { value: r.value };
    },
  };
  const done = serve(node, inp, out, { log() {} });
  inp.end(frames(hello(), { type: 'batch', id: 1n, records: [rec('x')] }, { type: 'batch', id: 2n, records: [rec('wait')] }, { type: 'shutdown' }));
  assert.equal(await done, 0);
  const msgs = readFrames(seenBytes);
  assert.deepStrictEqual(msgs.map((m) => m.type), ['hello_ack', 'results', 'results']);
  assert.equal(text(msgs[2].results[0].outputs[0].value), 'waited');
});

test('a hello with another version is answered with fatal and exit 1', async () => {
  const { code, msgs, logs } = await serveBytes({ name: 'x', process() {} }, frames(hello({ version: 2 })));
  const want = 'unsupported protocol version 2; this node speaks 1';
  assert.equal(code, 1);
  assert.deepStrictEqual(msgs, [{ type: 'fatal', message: want }]);
  assert.match(logs[0], /unsupported protocol version 2/);
});

test('a failing init is fatal', async () => {
  const node = {
    name: 'x',
    async init() {
      throw new Error('no model file');
    },
    process() {},
  };
  const { code, msgs } = await serveBytes(node, frames(hello(), { type: 'shutdown' }));
  assert.equal(code, 1);
  assert.deepStrictEqual(msgs, [{ type: 'fatal', message: 'init: no model file' }]);
});

test('a first frame other than hello is fatal', async () => {
  const { code, msgs } = await serveBytes({ name: 'x', process() {} }, frames({ type: 'shutdown' }));
  assert.equal(code, 1);
  assert.deepStrictEqual(msgs, [{ type: 'fatal', message: 'expected a hello frame first, got shutdown' }]);
});

test('malformed input is fatal with the reason', async () => {
  const input = Buffer.concat([frames(hello()), Buffer.from([0, 0, 0, 1, 0x42])]);
  const { code, msgs } = await serveBytes({ name: 'x', process() {} }, input);
  assert.equal(code, 1);
  assert.equal(msgs.at(-1).type, 'fatal');
  assert.equal(msgs.at(-1).message, 'malformed frame: unknown message type 0x42');
});

test('a frame over the hello max_frame is refused from its length prefix', async () => {
  // Only the 4-byte prefix of the huge frame is sent: the refusal must not
  // wait for (or allocate) the payload.
  const input = Buffer.concat([frames(hello({ maxFrame: 1024 })), Buffer.from([0, 0, 0x04, 0x01])]);
  const { code, msgs } = await serveBytes({ name: 'x', process() {} }, input);
  assert.equal(code, 1);
  assert.deepStrictEqual(msgs.at(-1), { type: 'fatal', message: 'frame too large: 1025 bytes announced, limit is 1024' });
});

test('end of input answers everything and exits 0; inside a frame it is fatal', async () => {
  const node = { name: 'x', process: (r) => ({ value: r.value }) };
  const whole = frames(hello(), { type: 'batch', id: 1n, records: [rec('a')] });
  let res = await serveBytes(node, whole);
  assert.equal(res.code, 0);
  assert.deepStrictEqual(res.msgs.map((m) => m.type), ['hello_ack', 'results']);
  res = await serveBytes(node, Buffer.concat([whole, Buffer.from([0, 0, 0, 9, 3])]));
  assert.equal(res.code, 1);
  assert.deepStrictEqual(res.msgs.at(-1), { type: 'fatal', message: 'unexpected end of input inside a frame' });
});

test('shutdown answers the batches before it and ignores what follows', async () => {
  const node = { name: 'x', process: (r) => ({ value: r.value }) };
  const input = frames(hello(), { type: 'batch', id: 1n, records: [rec('a')] }, { type: 'shutdown' }, { type: 'batch', id: 2n, records: [rec('b')] });
  const { code, msgs } = await serveBytes(node, input);
  assert.equal(code, 0);
  assert.deepStrictEqual(msgs.map((m) => [m.type, m.id]), [['hello_ack', undefined], ['results', 1n]]);
});

test('records carry BigInt offsets beyond 2^53 and exact metadata', async () => {
  let got;
  const node = {
    name: 'x',
    process(r) {
      got = r;
    },
  };
  const r = rec(null, { topic: 'events.scored', partition: 7, offset: 9223372036854775807n, timestamp: -1, key: Buffer.alloc(0), headers: [['h', null], ['g', Buffer.from([0, 255])]] });
  await serveBytes(node, frames(hello(), { type: 'batch', id: 1n, records: [r] }));
  assert.deepStrictEqual(got, r);
  assert.equal(typeof got.offset, 'bigint');
});

test('outputs that are not bytes fail their own record', async () => {
  const node = {
    name: 'x',
    process(r) {
      switch (text(r.value)) {
        case 'num':
          return { value: 42 };
        case 'name':
          return { name: 7, value: 'x' };
        case 'buf':
          return Buffer.from('raw');
        case 'hdr':
          return { value: 'x', headers: [['k', 1]] };
      }
      return { value: new Uint8Array([1, 2]), key: 'k' };
    },
  };
  const input = frames(hello(), { type: 'batch', id: 1n, records: ['num', 'name', 'buf', 'hdr', 'ok'].map((v) => rec(v)) });
  const { msgs } = await serveBytes(node, input);
  const rs = msgs[1].results;
  assert.deepStrictEqual(rs[0], { status: 'error', error: 'TypeError: output value: expected a Buffer, a string or null, got number' });
  assert.deepStrictEqual(rs[1], { status: 'error', error: 'TypeError: output name: expected a string, got number' });
  assert.match(rs[2].error, /^TypeError: output: expected an object/);
  assert.match(rs[3].error, /^TypeError: output header "k": expected a Buffer/);
  assert.deepStrictEqual([...rs[4].outputs[0].value], [1, 2]);
});

test('batch handler: feature bit, async, per-record errors, oversized results shrink', async () => {
  const node = {
    name: 'b',
    async processBatch(records) {
      await sleep(1);
      return records.map((r) => {
        const v = text(r.value);
        if (v === 'big') return { value: Buffer.alloc(10000, 120) }; // over the frame limit
        if (v === 'err') return new RetriableError('later');
        if (v === 'none') return null;
        return [{ value: v }];
      });
    },
  };
  const input = frames(hello({ maxFrame: 4096 }), { type: 'batch', id: 1n, records: ['1', 'big', 'err', 'none', '3'].map((v) => rec(v)) });
  const { code, msgs } = await serveBytes(node, input, { chunk: 1000 });
  assert.equal(code, 0);
  assert.equal(msgs[0].features & protocol.FEATURE_BATCH_HANDLER, protocol.FEATURE_BATCH_HANDLER);
  const rs = msgs[1].results;
  assert.equal(text(rs[0].outputs[0].value), '1');
  assert.deepStrictEqual(rs[1], { status: 'error', error: 'outputs of this record take 10021 bytes, over the 4096-byte frame limit' });
  assert.deepStrictEqual(rs[2], { status: 'retriable', error: 'later' });
  assert.deepStrictEqual(rs[3], { status: 'ok', outputs: [] });
  assert.equal(text(rs[4].outputs[0].value), '3');
});

test('batch handler: a throw or a wrong count fails every record of the batch', async () => {
  const throwing = {
    name: 'b',
    processBatch() {
      throw new RetriableError('db down');
    },
  };
  const input = frames(hello(), { type: 'batch', id: 1n, records: [rec('a'), rec('b')] });
  let { msgs } = await serveBytes(throwing, input);
  assert.deepStrictEqual(msgs[1].results, [
    { status: 'retriable', error: 'batch handler: db down' },
    { status: 'retriable', error: 'batch handler: db down' },
  ]);
  ({ msgs } = await serveBytes({ name: 'b', processBatch: () => [null] }, input));
  assert.deepStrictEqual(msgs[1].results[1], { status: 'error', error: 'batch handler returned 1 results for 2 records' });
});

test('a node needs exactly one handler', async () => {
  await assert.rejects(serve({ name: 'x' }, new PassThrough(), new PassThrough()), /exactly one of process and processBatch/);
  await assert.rejects(serve({ name: 'x', process() {}, processBatch() {} }, new PassThrough(), new PassThrough()), /exactly one/);
});

test('a slow reader gets every answer (backpressure)', async () => {
  const inp = new PassThrough();
  const parts = [];
  let writes = 0;
  const out = new Writable({
    highWaterMark: 64,
    write(chunk, _enc, cb) {
      writes++;
      parts.push(Buffer.from(chunk));
      setTimeout(cb, 1);
    },
  });
  const node = { name: 'p', process: (r) => ({ key: r.key, value: r.value }) };
  const msgs = [hello()];
  for (let i = 1; i <= 20; i++) msgs.push({ type: 'batch', id: BigInt(i), records: [rec('v'.repeat(300))] });
  const done = serve(node, inp, out, { log() {} });
  // Batches arrive one by one so that each is flushed on its own.
  for (const m of msgs) {
    inp.write(protocol.encode(m));
    await sleep(0);
  }
  inp.end();
  assert.equal(await done, 0);
  const got = readFrames(Buffer.concat(parts));
  assert.equal(got.length, 21);
  assert.deepStrictEqual(got.slice(1).map((m) => m.id), msgs.slice(1).map((m) => m.id));
  assert.ok(writes > 1);
});

test('a closed output pipe ends the node with exit 1, not an exception', async () => {
  const inp = new PassThrough();
  const out = new Writable({
    write(_chunk, _enc, cb) {
      cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  const logs = [];
  const done = serve({ name: 'x', process: (r) => ({ value: r.value }) }, inp, out, { log: (l) => logs.push(l) });
  inp.write(frames(hello()));
  await sleep(5);
  inp.end(frames({ type: 'batch', id: 1n, records: [rec('a')] }));
  assert.equal(await done, 1);
  assert.match(logs.join('\n'), /writing to the runtime: write EPIPE/);
});
