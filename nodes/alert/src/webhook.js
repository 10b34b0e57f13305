'use strict';

// Webhook posts alerts with retries. Network errors, timeouts, 5xx and 429
// are retried with exponential backoff and jitter; any other non-2xx answer
// is a permanent error (the receiver refused this payload: retrying cannot
// help). A webhook that stays down makes post() throw a RetriableError, so
// the record goes to the DLQ: alerts are never dropped silently.
//
// After a record has used up its attempts the webhook is considered down
// for `cooldownMs` (wall clock): records in that time fail at once instead
// of each spending seconds on retries, which would push the batch past the
// runtime's batch timeout. The first record after the cooldown tries again
// with its full set of attempts.

const { RetriableError } = require('../../../adapters/node/src');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Webhook {
  constructor(url, opts = {}) {
    this.url = url;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.attempts = opts.attempts ?? 5;
    this.backoffMs = opts.backoffMs ?? 100;
    this.backoffMaxMs = opts.backoffMaxMs ?? 2000;
    this.cooldownMs = opts.cooldownMs ?? 10000;
    this.fetch = opts.fetch || globalThis.fetch;
    this.sleep = opts.sleep || sleep;
    this.random = opts.random || Math.random;
    this.now = opts.now || Date.now;
    this.userAgent = opts.userAgent || 'sluice-alert';
    this.downUntil = 0;
    this.downReason = '';
  }

  // delay before retry n (1-based): base·2^(n-1) capped, then "equal
  // jitter" (half fixed, half random) so that workers retrying the same
  // outage spread out while still backing off.
  delay(n, retryAfterMs) {
    const d = Math.min(this.backoffMaxMs, this.backoffMs * 2 ** (n - 1));
    const jittered = d / 2 + this.random() * (d / 2);
    return retryAfterMs > 0 ? Math.max(jittered, Math.min(retryAfterMs, this.backoffMaxMs)) : jittered;
  }

  async post(payload, idempotencyKey) {
    if (this.now() < this.downUntil) {
      throw new RetriableError(`webhook down: ${this.downReason}; not retried until the cooldown ends`);
    }
    const body = JSON.stringify(payload);
    let last = '';
    for (let n = 1; n <= this.attempts; n++) {
      const outcome = await this.attempt(body, idempotencyKey);
      if (outcome.ok) {
        this.downUntil = 0;
        return { attempts: n };
      }
      if (!outcome.retry) throw new Error(outcome.reason);
      last = outcome.reason;
      if (n < this.attempts) await this.sleep(this.delay(n, outcome.retryAfterMs));
    }
    const reason = `${last} (after ${this.attempts} attempt${this.attempts === 1 ? '' : 's'})`;
    this.downUntil = this.now() + this.cooldownMs;
    this.downReason = reason;
    throw new RetriableError(reason);
  }

  // attempt makes one request: { ok } or { retry, reason, retryAfterMs }.
  async attempt(body, idempotencyKey) {
    let res;
    try {
      res = await this.fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey, 'user-agent': this.userAgent },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      return { ok: false, retry: true, reason: `webhook: ${networkReason(err, this.timeoutMs)}` };
    }
    let text = '';
    try {
      text = await res.text(); // read it all: frees the connection for reuse
    } catch {
      // a body cut short does not change the status
    }
    if (res.status >= 200 && res.status < 300) return { ok: true };
    const reason = `webhook: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${text ? `: ${clip(text.trim(), 200)}` : ''}`;
    const retry = res.status === 429 || res.status >= 500;
    return { ok: false, retry, reason, retryAfterMs: retryAfter(res.headers.get('retry-after')) };
  }
}

function networkReason(err, timeoutMs) {
  if (err && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  // fetch reports "fetch failed"; the cause says why (connect ECONNREFUSED …).
  const cause = err && err.cause;
  if (cause && (cause.message || cause.code)) return cause.message || cause.code;
  return (err && err.message) || String(err);
}

function retryAfter(h) {
  if (!h) return 0;
  const s = Number(h);
  if (Number.isFinite(s)) return s * 1000;
  const t = Date.parse(h);
  return Number.isFinite(t) ? t - Date.now() : 0;
}

function clip(s, n) {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

module.exports = { Webhook };
