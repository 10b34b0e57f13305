'use strict';

// The alert handler against a local webhook receiver.

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { RetriableError } = require('../../../adapters/node/src');
const { createAlertNode } = require('../src/alert');
const { receiver, closedPort, event, record, FAST } = require('../testlib/helpers');

function node(env, logs = []) {
  const n = createAlertNode({ env: { ...FAST, ...env }, log: (l) => logs.push(l) });
  n.init();
  return n;
}

const parse = (out) => ({ key: out.key, value: JSON.parse(out.value) });

test('warning and critical events are posted with the idempotency key and emitted', async (t) => {
  const hook = await receiver([200]);
  t.after(hook.close);
  const logs = [];
  const n = node({ ALERT_WEBHOOK_URL: hook.url }, logs);
  const r = record(event());
  const out = parse(await n.process(r));
  assert.equal(out.key, 'alpha');
  assert.deepStrictEqual(out.value, {
    sensor_id: 'alpha',
    metric: 'temperature',
    value: 95.5,
    unit: 'C',
    ts: '2024-05-01T12:00:00.000Z',
    prediction: 'critical',
    score: 0.97,
    idempotency_key: `events.scored-2-${r.offset}`,
    suppressed: false,
    webhook: 'sent',
  });
  const w = parse(await n.process(record(event({ sensor_id: 'beta', metric: 'humidity', value: 88, unit: '%', prediction: 'warning', score: 0.71 }))));
  assert.equal(w.value.webhook, 'sent');
  assert.equal(hook.requests.length, 2);
  const req = hook.requests[0];
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/services/T000/B000/secret');
  assert.equal(req.headers['idempotency-key'], `events.scored-2-${r.offset}`);
  assert.equal(req.headers['content-type'], 'application/json');
  assert.match(req.json.text, /CRITICAL: alpha temperature = 95\.5 C \(score 0\.97\) at 2024-05-01T12:00:00\.000Z/);
  const fields = req.json.blocks.find((b) => b.type === 'section').fields.map((f) => f.text);
  assert.deepStrictEqual(fields, ['*Sensor*\nalpha', '*Metric*\ntemperature', '*Value*\n95.5 C', '*Prediction*\ncritical', '*Score*\n0.97', '*Time*\n2024-05-01T12:00:00.000Z']);
  assert.match(hook.requests[1].json.text, /^:warning: WARNING: beta humidity = 88 % \(score 0\.71\)/);
  // The secret part of the URL stays out of the logs.
  assert.ok(logs.every((l) => !l.includes('secret')), logs.join('\n'));
});

test('normal events produce no output and no post', async (t) => {
  const hook = await receiver([200]);
  t.after(hook.close);
  const n = node({ ALERT_WEBHOOK_URL: hook.url });
  assert.equal(await n.process(record(event({ prediction: 'normal', score: 0.1 }))), null);
  assert.equal(hook.requests.length, 0);
});

test('a 503 is retried until the webhook answers', async (t) => {
  const hook = await receiver([503, 503, 200]);
  t.after(hook.close);
  const n = node({ ALERT_WEBHOOK_URL: hook.url });
  const r = record(event());
  assert.equal(parse(await n.process(r)).value.webhook, 'sent');
  assert.equal(hook.requests.length, 3);
  assert.ok(hook.requests.every((q) => q.headers['idempotency-key'] === `events.scored-2-${r.offset}`));
});

test('a 429 is retried too', async (t) => {
  const hook = await receiver([429, 200]);
  t.after(hook.close);
  const n = node({ ALERT_WEBHOOK_URL: hook.url });
  assert.equal(parse(await n.process(record(event()))).value.webhook, 'sent');
  assert.equal(hook.requests.length, 2);
});

test('a webhook that stays down fails the record after the retries, then fails fast', async (t) => {
  const hook = await receiver([503]);
  t.after(hook.close);
  const n = node({ ALERT_WEBHOOK_URL: hook.url });
  await assert.rejects(n.process(record(event())), (err) => {
    assert.ok(err instanceof RetriableError);
    assert.equal(err.message, 'webhook: HTTP 503 Service Unavailable: status 503 (after 5 attempts)');
    return true;
  });
  assert.equal(hook.requests.length, 5);
  // Within the cooldown the next alert is not tried again, but still fails
  // (to the DLQ), and it was not counted as sent: no suppression.
  await assert.rejects(n.process(record(event({ ts: '2024-05-01T12:00:01Z' }))), (err) => {
    assert.ok(err instanceof RetriableError);
    assert.match(err.message, /^webhook down: webhook: HTTP 503 .*after 5 attempts.*cooldown/);
    return true;
  });
  assert.equal(hook.requests.length, 5);
});

test('after the cooldown the webhook is tried again', async (t) => {
  const hook = await receiver([503, 503, 200]);
  t.after(hook.close);
  const n = node({ ALERT_WEBHOOK_URL: hook.url, ALERT_WEBHOOK_ATTEMPTS: '2', ALERT_WEBHOOK_COOLDOWN_SECONDS: '0.05' });
  await assert.rejects(n.process(record(event())), /after 2 attempts/);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(parse(await n.process(record(event()))).value.webhook, 'sent');
  assert.equal(hook.requests.length, 3);
});

test('a refused connection is retried, then fails the record', async () => {
  const n = node({ ALERT_WEBHOOK_URL: await closedPort(), ALERT_WEBHOOK_ATTEMPTS: '3' });
  await assert.rejects(n.process(record(event())), (err) => {
    assert.ok(err instanceof RetriableError);
    assert.match(err.message, /^webhook: connect ECONNREFUSED 127\.0\.0\.1:\d+ \(after 3 attempts\)$/);
    return true;
  });
});

test('a 4xx other than 429 is not retried and is a permanent error', async (t) => {
  const hook = await receiver([400]);
  t.after(hook.close);
  const n = node({ ALERT_WEBHOOK_URL: hook.url });
  await assert.rejects(n.process(record(event())), (err) => {
    assert.ok(!(err instanceof RetriableError));
    assert.equal(err.message, 'webhook: HTTP 400 Bad Request: status 400');
    return true;
  });
  assert.equal(hook.requests.length, 1);
});

test('a webhook that does not answer times out', async (t) => {
  const server = http.createServer(() => {}); // never answers
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  const url = `http://127.0.0.1:${server.address().port}/`;
  const n = node({ ALERT_WEBHOOK_URL: url, ALERT_WEBHOOK_TIMEOUT_MS: '50', ALERT_WEBHOOK_ATTEMPTS: '2' });
  await assert.rejects(n.process(record(event())), { message: 'webhook: no answer within 50 ms (after 2 attempts)' });
});

test('repeats per sensor within the window are emitted but not posted', async (t) => {
  const hook = await receiver([200]);
  t.after(hook.close);
  const n = node({ ALERT_WEBHOOK_URL: hook.url, ALERT_SUPPRESS_SECONDS: '60' });
  const seq = [
    ['alpha', '2024-05-01T12:00:00Z', 'warning', 'sent'],
    ['alpha', '2024-05-01T12:00:30Z', 'warning', 'suppressed'], // repeat within 60 s
    ['beta', '2024-05-01T12:00:31Z', 'warning', 'sent'], // another sensor
    ['alpha', '2024-05-01T12:00:40Z', 'critical', 'sent'], // escalation: not a repeat
    ['alpha', '2024-05-01T12:01:20Z', 'critical', 'suppressed'], // 40 s after the critical
    ['alpha', '2024-05-01T12:01:20Z', 'warning', 'suppressed'], // less severe
    ['alpha', '2024-05-01T12:01:41Z', 'warning', 'sent'], // 61 s after the last sent
    ['alpha', '2024-05-01T12:01:40Z', 'warning', 'suppressed'], // slightly out of order
  ];
  const got = [];
  for (const [sensor, ts, prediction] of seq) {
    const out = parse(await n.process(record(event({ sensor_id: sensor, ts, prediction }))));
    assert.equal(out.value.suppressed, out.value.webhook === 'suppressed');
    got.push(out.value.webhook);
  }
  assert.deepStrictEqual(got, seq.map((s) => s[3]));
  assert.equal(hook.requests.length, 4);
});

test('suppression follows event time, not the wall clock (replays match)', async () => {
  // Processed within milliseconds, an hour apart in event time: both sent.
  const n = node({ ALERT_SUPPRESS_SECONDS: '10' });
  const a = parse(await n.process(record(event({ ts: '2024-05-01T12:00:00Z' }))));
  const b = parse(await n.process(record(event({ ts: '2024-05-01T12:00:09.999Z' }))));
  const c = parse(await n.process(record(event({ ts: '2024-05-01T13:00:00Z' }))));
  assert.deepStrictEqual([a.value.suppressed, b.value.suppressed, c.value.suppressed], [false, true, false]);
});

test('without ALERT_WEBHOOK_URL alerts are emitted, nothing is posted, one log line', async () => {
  const logs = [];
  const n = node({}, logs);
  const out = parse(await n.process(record(event())));
  assert.equal(out.value.webhook, 'off');
  assert.equal(out.value.suppressed, false);
  const again = parse(await n.process(record(event({ ts: '2024-05-01T12:00:05Z' }))));
  assert.equal(again.value.webhook, 'suppressed');
  assert.equal(logs.filter((l) => /webhooks are off/.test(l)).length, 1);
});

test('invalid records fail with the reason', async () => {
  const n = node({});
  const cases = [
    [null, 'invalid JSON: empty value'],
    ['{"sensor_id": oops}', { message: /^invalid JSON: Unexpected token/ }],
    ['[1,2]', 'expected a JSON object, got array'],
    [event({ sensor_id: undefined }), 'sensor_id: missing'],
    [event({ sensor_id: 7 }), 'sensor_id: expected a string, got number'],
    [event({ metric: '' }), 'metric: empty'],
    [event({ value: '24.5' }), 'value: expected a number, got string "24.5"'],
    [event({ unit: 5 }), 'unit: expected a string, got number'],
    [event({ ts: undefined }), 'ts: missing'],
    [event({ ts: '05/01/2024 12:00:28' }), 'ts: expected an RFC 3339 timestamp, got "05/01/2024 12:00:28"'],
    [event({ prediction: undefined }), 'prediction: missing'],
    [event({ prediction: 'bad' }), 'prediction: expected normal, warning or critical, got "bad"'],
    [event({ score: null }), 'score: expected a number, got null'],
    [event({ score: 1.5 }), 'score: 1.5 is outside 0..1'],
  ];
  for (const [value, reason] of cases) {
    const r = record(value);
    if (typeof reason === 'string') await assert.rejects(n.process(r), { message: reason }, reason);
    else await assert.rejects(n.process(r), reason, String(reason.message));
  }
});

test('a missing unit is allowed (null) for metrics without one', async () => {
  const n = node({});
  const out = parse(await n.process(record(event({ metric: 'pressure', value: 1090, unit: undefined }))));
  assert.equal(out.value.unit, null);
});

test('bad settings stop the node at start with the reason', () => {
  const bad = [
    [{ ALERT_WEBHOOK_URL: 'not a url' }, 'ALERT_WEBHOOK_URL: not a valid URL'],
    [{ ALERT_WEBHOOK_URL: 'ftp://x/y' }, 'ALERT_WEBHOOK_URL: expected an http or https URL, got ftp:'],
    [{ ALERT_SUPPRESS_SECONDS: 'soon' }, 'ALERT_SUPPRESS_SECONDS: expected a number >= 0, got "soon"'],
    [{ ALERT_WEBHOOK_ATTEMPTS: '0' }, 'ALERT_WEBHOOK_ATTEMPTS: expected an integer >= 1, got "0"'],
  ];
  for (const [env, msg] of bad) {
    assert.throws(() => createAlertNode({ env, log() {} }).init(), { message: msg });
  }
});
