'use strict';

// Settings of the alert node, from the environment (the pipeline file sets
// them under the stage's node.env). Bad values stop the node at start with
// a message naming the variable, rather than failing every record later.

const DEFAULTS = {
  ALERT_SUPPRESS_SECONDS: 60, // repeats per sensor within this window are not posted
  ALERT_WEBHOOK_TIMEOUT_MS: 2000, // per attempt; keep attempts × timeout well under timeouts.batch
  ALERT_WEBHOOK_ATTEMPTS: 5,
  ALERT_WEBHOOK_BACKOFF_MS: 100, // first retry delay, doubling
  ALERT_WEBHOOK_BACKOFF_MAX_MS: 2000,
  ALERT_WEBHOOK_COOLDOWN_SECONDS: 10, // after a record exhausts its attempts, fail fast for this long
};

function number(env, name, { min = 0, integer = false } = {}) {
  const raw = env[name];
  if (raw === undefined || raw === '') return DEFAULTS[name];
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new Error(`${name}: expected ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

function webhookUrl(env) {
  const raw = env.ALERT_WEBHOOK_URL;
  if (raw === undefined || raw.trim() === '') return null;
  let u;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new Error('ALERT_WEBHOOK_URL: not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(`ALERT_WEBHOOK_URL: expected an http or https URL, got ${u.protocol}`);
  }
  return u.href;
}

function configFromEnv(env = process.env) {
  return {
    webhookUrl: webhookUrl(env),
    suppressMs: number(env, 'ALERT_SUPPRESS_SECONDS') * 1000,
    timeoutMs: number(env, 'ALERT_WEBHOOK_TIMEOUT_MS', { min: 1 }),
    attempts: number(env, 'ALERT_WEBHOOK_ATTEMPTS', { min: 1, integer: true }),
    backoffMs: number(env, 'ALERT_WEBHOOK_BACKOFF_MS'),
    backoffMaxMs: number(env, 'ALERT_WEBHOOK_BACKOFF_MAX_MS'),
    cooldownMs: number(env, 'ALERT_WEBHOOK_COOLDOWN_SECONDS') * 1000,
  };
}

// redact keeps a webhook URL out of logs: Slack-style URLs carry their
// secret in the path.
function redact(url) {
  const u = new URL(url);
  return `${u.protocol}//${u.host}/…`;
}

module.exports = { configFromEnv, redact, DEFAULTS };
