#!/usr/bin/env node
'use strict';

// The alert node program. In a pipeline file:
//
//   alert:
//     input: events.scored
//     outputs: { default: alerts }
//     node:
//       command: node
//       args: [nodes/alert/main.js]
//       env: { ALERT_WEBHOOK_URL: "https://hooks.slack.com/services/…" }

const { run } = require('../../adapters/node/src');
const { createAlertNode } = require('./src/alert');

run(createAlertNode());
