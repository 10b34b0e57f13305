'use strict';

// The alert node: for each scored event that is a warning or critical,
// post it to the webhook (unless it repeats a recent alert of the same
// sensor) and emit an alert record keyed by sensor to the default output,
// which the pipeline maps to the `alerts` topic. Normal events produce
// nothing. Records are handled one at a time, in order, so suppression
// decisions are the same on every replay.

const { configFromEnv, redact } = require('./config');
const { parseScored } = require('./event');
const { slackMessage } = require('./slack');
const { Suppressor } = require('./suppress');
const { Webhook } = require('./webhook');
const { version } = require('../package.json');

// createAlertNode returns the node description for the adapter's run().
// `env` is read in init so a bad setting stops the node at the handshake
// with its reason; `deps` lets tests swap fetch, sleep and the logger.
function createAlertNode({ env = process.env, log = defaultLog, ...deps } = {}) {
  let webhook = null;
  let suppressor = null;

  function init() {
    const cfg = configFromEnv(env);
    suppressor = new Suppressor(cfg.suppressMs);
    if (cfg.webhookUrl === null) {
      log('alert: ALERT_WEBHOOK_URL is not set: webhooks are off, alerts are only emitted');
    } else {
      webhook = new Webhook(cfg.webhookUrl, { ...cfg, userAgent: `sluice-alert/${version}`, ...deps });
      log(`alert: posting to ${redact(cfg.webhookUrl)}, suppressing repeats within ${cfg.suppressMs / 1000} s`);
    }
  }

  async function handle(record) {
    if (suppressor === null) init(); // used without the handshake (tests, embedding)
    const a = parseScored(record.value);
    if (a.prediction === 'normal') return null;
    const idempotencyKey = `${record.topic}-${record.partition}-${record.offset}`;
    const suppressed = suppressor.isRepeat(a.sensorId, a.tsMs, a.prediction);
    let outcome;
    if (suppressed) {
      outcome = 'suppressed';
    } else {
      if (webhook !== null) await webhook.post(slackMessage(a, idempotencyKey), idempotencyKey);
      suppressor.sent(a.sensorId, a.tsMs, a.prediction);
      outcome = webhook !== null ? 'sent' : 'off';
    }
    const alert = {
      sensor_id: a.sensorId,
      metric: a.metric,
      value: a.value,
      unit: a.unit,
      ts: a.ts,
      prediction: a.prediction,
      score: a.score,
      idempotency_key: idempotencyKey,
      suppressed,
      webhook: outcome,
    };
    return { key: a.sensorId, value: JSON.stringify(alert) };
  }

  return { name: 'alert', version, init, process: handle };
}

function defaultLog(line) {
  process.stderr.write(`${line}\n`);
}

module.exports = { createAlertNode };
