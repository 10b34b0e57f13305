'use strict';

// The conformance node (docs/conformance.md) run as a real child process
// through pipes, as the runtime runs it.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { frames, readFrames, hello, rec } = require('../testlib/helpers');

const NODE = path.join(__dirname, '..', 'conformance-node.js');
const text = (b) => (b === null ? null : b.toString());

// talk writes `input` to the node's stdin (optionally leaving it open) and
// collects stdout, stderr and the exit code.
function talk(input, { end = true } = {}) {
  const child = spawn(process.execPath, [NODE], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = [];
  const err = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  child.stdin.on('error', () => {}); // the node may exit before reading it all
  child.stdin.write(input);
  if (end) child.stdin.end();
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const bytes = Buffer.concat(out);
      resolve({ code, msgs: readFrames(bytes), stderr: Buffer.concat(err).toString() });
    });
  });
}

test('conformance node: two batches and a shutdown', async () => {
  const bin = Buffer.from([0, 255, 16, 128]);
  const input = frames(
    hello({ stage: 'conf' }),
    {
      type: 'batch',
      id: 1n,
      records: [
        rec('multi:3', { key: Buffer.from('k') }),
        rec('alert', { key: Buffer.from('a'), headers: [['traceparent', Buffer.from('00-1')]] }),
        rec(null, { headers: [['n', null]] }),
        rec('', { key: Buffer.alloc(0) }),
        rec('multi:0'),
      ],
    },
    {
      type: 'batch',
      id: 2n,
      records: [rec('fail:no good'), rec('retry:later'), rec('log:hello from node'), rec(bin, { key: bin }), rec('multi:x')],
    },
    { type: 'shutdown' },
  );
  const { code, msgs, stderr } = await talk(input, { end: false });
  assert.equal(code, 0);
  assert.equal(msgs.length, 3);
  assert.equal(msgs[0].type, 'hello_ack');
  assert.equal(msgs[0].name, 'conformance');
  const [r1, r2] = [msgs[1].results, msgs[2].results];
  assert.deepStrictEqual(r1[0].outputs.map((o) => [text(o.key), text(o.value)]), [
    ['k', 'multi:3#0'],
    ['k', 'multi:3#1'],
    ['k', 'multi:3#2'],
  ]);
  assert.deepStrictEqual(r1[1].outputs.map((o) => [o.name, text(o.key), text(o.value), o.headers.length]), [
    ['', 'a', 'alert', 1],
    ['alerts', 'a', 'ALERT', 0],
  ]);
  assert.deepStrictEqual(r1[2].outputs, [{ name: '', key: null, value: null, headers: [['n', null]] }]);
  assert.deepStrictEqual(r1[3].outputs.map((o) => [o.key.length, o.value.length]), [[0, 0]]);
  assert.deepStrictEqual(r1[4], { status: 'ok', outputs: [] });
  assert.deepStrictEqual(r2[0], { status: 'error', error: 'no good' });
  assert.deepStrictEqual(r2[1], { status: 'retriable', error: 'later' });
  assert.equal(text(r2[2].outputs[0].value), 'log:hello from node');
  assert.match(stderr, /^hello from node$/m);
  assert.deepStrictEqual([...r2[3].outputs[0].value], [...bin]);
  assert.deepStrictEqual([...r2[3].outputs[0].key], [...bin]);
  assert.equal(text(r2[4].outputs[0].value), 'multi:x');
});

test('conformance node: another protocol version is refused', async () => {
  const { code, msgs } = await talk(frames(hello({ version: 2 })));
  assert.notEqual(code, 0);
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].type, 'fatal');
  assert.match(msgs[0].message, /unsupported protocol version/);
});

test('conformance node: crash exits 3 without answering its batch', async () => {
  const input = frames(hello(), { type: 'batch', id: 1n, records: [rec('crash')] });
  const { code, msgs } = await talk(input, { end: false });
  assert.equal(code, 3);
  assert.deepStrictEqual(msgs.map((m) => m.type), ['hello_ack']);
});

test('conformance node: end of input is a clean exit', async () => {
  const { code, msgs } = await talk(frames(hello(), { type: 'batch', id: 1n, records: [rec('x')] }));
  assert.equal(code, 0);
  assert.deepStrictEqual(msgs.map((m) => m.type), ['hello_ack', 'results']);
});
