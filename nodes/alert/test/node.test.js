'use strict';

// The alert node program (main.js) run as the runtime runs it: a child
// process speaking the node protocol on pipes, with a webhook receiver.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const protocol = require('../../../adapters/node/src/protocol');
const { FrameReader } = require('../../../adapters/node/src/frames');
const { receiver, event, record, FAST } = require('../testlib/helpers');

const MAIN = path.join(__dirname, '..', 'main.js');

function runNode(env, msgs) {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, ALERT_WEBHOOK_URL: '', ...FAST, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const out = [];
  let stderr = '';
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(Buffer.concat(msgs.map((m) => protocol.encode(m))));
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const r = new FrameReader();
      r.push(Buffer.concat(out));
      const frames = [];
      let p;
      while ((p = r.next()) !== null) frames.push(protocol.decode(p));
      resolve({ code, frames, stderr });
    });
  });
}

const hello = { type: 'hello', version: 1, stage: 'alert', worker: 0, maxFrame: 1 << 20, settings: {} };

test('alert node over pipes: alerts, suppression, errors, shutdown', async (t) => {
  const hook = await receiver([503, 200]);
  t.after(hook.close);
  const records = [
    record(event({ prediction: 'normal', score: 0.05 })),
    record(event()),
    record(event({ ts: '2024-05-01T12:00:10Z' })), // repeat: suppressed
    record('not json'),
    record(event({ sensor_id: 'beta', prediction: 'warning', score: 0.6 })),
  ];
  const { code, frames, stderr } = await runNode({ ALERT_WEBHOOK_URL: hook.url }, [
    hello,
    { type: 'batch', id: 1n, records: records.slice(0, 3) },
    { type: 'batch', id: 2n, records: records.slice(3) },
    { type: 'shutdown' },
  ]);
  assert.equal(code, 0, stderr);
  assert.deepStrictEqual(frames.map((f) => f.type), ['hello_ack', 'results', 'results']);
  assert.equal(frames[0].name, 'alert');
  const [b1, b2] = [frames[1].results, frames[2].results];
  assert.deepStrictEqual(b1[0], { status: 'ok', outputs: [] });
  const v = (r) => JSON.parse(r.outputs[0].value.toString());
  assert.equal(b1[1].outputs[0].key.toString(), 'alpha');
  assert.equal(v(b1[1]).webhook, 'sent');
  assert.equal(v(b1[2]).webhook, 'suppressed');
  assert.equal(b2[0].status, 'error');
  assert.match(b2[0].error, /^invalid JSON: /);
  assert.equal(v(b2[1]).webhook, 'sent');
  // 503 then 200 for alpha, then 200 for beta; suppressed and normal not posted.
  assert.deepStrictEqual(hook.requests.map((q) => q.headers['idempotency-key']), [
    `events.scored-2-${records[1].offset}`,
    `events.scored-2-${records[1].offset}`,
    `events.scored-2-${records[4].offset}`,
  ]);
  assert.match(stderr, /posting to http:\/\/127\.0\.0\.1:\d+\/…/);
});

test('alert node over pipes: a webhook that stays down is a retriable error', async (t) => {
  const hook = await receiver([500]);
  t.after(hook.close);
  const { code, frames } = await runNode({ ALERT_WEBHOOK_URL: hook.url, ALERT_WEBHOOK_ATTEMPTS: '3' }, [
    hello,
    { type: 'batch', id: 1n, records: [record(event())] },
  ]);
  assert.equal(code, 0);
  assert.deepStrictEqual(frames[1].results, [{ status: 'retriable', error: 'webhook: HTTP 500 Internal Server Error: status 500 (after 3 attempts)' }]);
  assert.equal(hook.requests.length, 3);
});

test('alert node over pipes: a bad setting is fatal at the handshake', async () => {
  const { code, frames } = await runNode({ ALERT_SUPPRESS_SECONDS: '-1' }, [hello]);
  assert.equal(code, 1);
  assert.deepStrictEqual(frames, [{ type: 'fatal', message: 'init: ALERT_SUPPRESS_SECONDS: expected a number >= 0, got "-1"' }]);
});

test('alert node over pipes: webhooks off is logged once', async () => {
  const { code, frames, stderr } = await runNode({}, [hello, { type: 'batch', id: 1n, records: [record(event()), record(event({ sensor_id: 'x' }))] }, { type: 'shutdown' }]);
  assert.equal(code, 0);
  assert.deepStrictEqual(frames[1].results.map((r) => JSON.parse(r.outputs[0].value).webhook), ['off', 'off']);
  assert.equal(stderr.match(/webhooks are off/g).length, 1);
});
