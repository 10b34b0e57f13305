'use strict';

// @sluicehq/node: write a handler, call run(); the adapter speaks the Sluice
// node protocol v1 on stdin/stdout. See README.md.

const { run } = require('./run');
const { serve } = require('./serve');
const { RetriableError } = require('./errors');
const { VERSION } = require('./protocol');

module.exports = { run, serve, RetriableError, PROTOCOL_VERSION: VERSION };
