'use strict';

// parseScored reads an events.scored record value: the clean sensor event
// plus the classifier's prediction and score. A bad record throws an Error
// whose message is the reason the record carries to the DLQ, in the style
// of the filter node ("value: expected a number, got string").

const PREDICTIONS = new Set(['normal', 'warning', 'critical']);
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function kind(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') return `string ${clip(JSON.stringify(v))}`;
  return typeof v === 'object' ? 'object' : typeof v;
}

function clip(s, n = 60) {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function requiredString(ev, field) {
  const v = ev[field];
  if (v === undefined) throw new Error(`${field}: missing`);
  if (typeof v !== 'string') throw new Error(`${field}: expected a string, got ${kind(v)}`);
  if (v.trim() === '') throw new Error(`${field}: empty`);
  return v;
}

function requiredNumber(ev, field) {
  const v = ev[field];
  if (v === undefined) throw new Error(`${field}: missing`);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${field}: expected a number, got ${kind(v)}`);
  return v;
}

function parseScored(value) {
  if (value === null || value.length === 0) throw new Error('invalid JSON: empty value');
  let ev;
  try {
    ev = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new Error(`invalid JSON: ${err.message}`);
  }
  if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) {
    throw new Error(`expected a JSON object, got ${kind(ev)}`);
  }
  const sensorId = requiredString(ev, 'sensor_id');
  const metric = requiredString(ev, 'metric');
  const v = requiredNumber(ev, 'value');
  let unit = ev.unit === undefined ? null : ev.unit;
  if (unit !== null && typeof unit !== 'string') throw new Error(`unit: expected a string, got ${kind(unit)}`);
  const ts = requiredString(ev, 'ts');
  const tsMs = RFC3339.test(ts) ? Date.parse(ts) : NaN;
  if (!Number.isFinite(tsMs)) throw new Error(`ts: expected an RFC 3339 timestamp, got ${clip(JSON.stringify(ts))}`);
  const prediction = requiredString(ev, 'prediction');
  if (!PREDICTIONS.has(prediction)) {
    throw new Error(`prediction: expected normal, warning or critical, got ${clip(JSON.stringify(prediction))}`);
  }
  const score = requiredNumber(ev, 'score');
  if (score < 0 || score > 1) throw new Error(`score: ${score} is outside 0..1`);
  if (unit === '') unit = null;
  return { sensorId, metric, value: v, unit, ts, tsMs, prediction, score };
}

module.exports = { parseScored };
