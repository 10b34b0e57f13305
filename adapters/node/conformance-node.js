#!/usr/bin/env node
'use strict';

// The conformance node of the Node.js adapter (docs/conformance.md): the Go
// suite stream/conformance_test.go runs a real stage over it with the same
// inputs and expectations as every other adapter.
//
//   node adapters/node/conformance-node.js

const { run, RetriableError } = require('./src');
const { version } = require('./package.json');

// First bytes of the commands, so pass-through values (the common case)
// are recognised without decoding them as text.
const COMMAND_START = new Set([...'mafrcl'].map((c) => c.charCodeAt(0)));

function passThrough(r) {
  return { key: r.key, value: r.value, headers: r.headers };
}

function processRecord(r) {
  const v = r.value;
  if (v === null || v.length === 0 || !COMMAND_START.has(v[0])) return passThrough(r);
  const text = v.toString('utf8');
  const multi = /^multi:(\d+)$/.exec(text);
  if (multi) {
    const n = Number(multi[1]);
    const outs = new Array(n);
    for (let i = 0; i < n; i++) outs[i] = { key: r.key, value: `${text}#${i}` };
    return outs;
  }
  if (text === 'alert') return [passThrough(r), { name: 'alerts', key: r.key, value: 'ALERT' }];
  if (text.startsWith('fail:')) throw new Error(text.slice(5));
  if (text.startsWith('retry:')) throw new RetriableError(text.slice(6));
  if (text === 'crash') process.exit(3);
  if (text.startsWith('log:')) {
    process.stderr.write(`${text.slice(4)}\n`);
    return passThrough(r);
  }
  return passThrough(r);
}

run({ name: 'conformance', version, process: processRecord });
