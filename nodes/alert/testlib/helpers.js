'use strict';

// A local webhook receiver and record builders for the alert node's tests.

const http = require('node:http');

// receiver answers each POST with the next scripted status (the last one
// repeats) and records what it got. `.url` is set once it listens.
async function receiver(statuses = [200]) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString();
      requests.push({ method: req.method, url: req.url, headers: req.headers, body, json: safeJSON(body) });
      const status = statuses[Math.min(requests.length - 1, statuses.length - 1)];
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status >= 300 ? `status ${status}` : 'ok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    requests,
    url: `http://127.0.0.1:${port}/services/T000/B000/secret`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// closedPort returns a URL nobody listens on (connection refused).
async function closedPort() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/hook`;
}

function safeJSON(s) {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

function event(over = {}) {
  return {
    sensor_id: 'alpha',
    metric: 'temperature',
    value: 95.5,
    unit: 'C',
    ts: '2024-05-01T12:00:00.000Z',
    site: 'plant-1',
    prediction: 'critical',
    score: 0.97,
    ...over,
  };
}

let nextOffset = 40n;

// record wraps a value (an object is JSON-encoded) as an input record of
// events.scored.
function record(value, over = {}) {
  const v = value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  return { topic: 'events.scored', partition: 2, offset: nextOffset++, timestamp: 1714564800000, key: Buffer.from('alpha'), value: v, headers: [], ...over };
}

// fast retry settings so the tests do not sleep for seconds.
const FAST = { ALERT_WEBHOOK_BACKOFF_MS: '5', ALERT_WEBHOOK_BACKOFF_MAX_MS: '20', ALERT_WEBHOOK_TIMEOUT_MS: '1000' };

module.exports = { receiver, closedPort, event, record, FAST };
