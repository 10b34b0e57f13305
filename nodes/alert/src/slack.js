'use strict';

// slackMessage builds the webhook body: Slack's incoming-webhook format
// (`text` is the notification and fallback, `blocks` the rich layout),
// which Mattermost, Rocket.Chat and most chat bridges also accept.

const ICON = { warning: ':warning:', critical: ':rotating_light:' };

// Slack mrkdwn treats &, < and > as control characters.
function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function valueWithUnit(a) {
  return a.unit ? `${a.value} ${a.unit}` : String(a.value);
}

function slackMessage(a, idempotencyKey) {
  const level = a.prediction.toUpperCase();
  const score = Number(a.score.toFixed(3));
  const text = `${ICON[a.prediction] || ''} ${level}: ${esc(a.sensorId)} ${esc(a.metric)} = ${esc(valueWithUnit(a))} (score ${score}) at ${esc(a.ts)}`.trim();
  const field = (label, value) => ({ type: 'mrkdwn', text: `*${label}*\n${esc(value)}` });
  return {
    text,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(`${level}: ${a.sensorId} ${a.metric}`, 150) } },
      {
        type: 'section',
        fields: [
          field('Sensor', a.sensorId),
          field('Metric', a.metric),
          field('Value', valueWithUnit(a)),
          field('Prediction', a.prediction),
          field('Score', score),
          field('Time', a.ts),
        ],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `sluice alert ${esc(idempotencyKey)}` }] },
    ],
  };
}

module.exports = { slackMessage };
