#!/usr/bin/env node
'use strict';

// Throughput of the adapter end to end: this script starts itself as a
// passthrough node in a child process and pipes 200k records of 200 bytes
// through it over real pipes, with up to 4 batches of 500 in flight (the
// runtime's defaults), then prints records/s.
//
//   node bench.js [records] [batchSize]

const { spawn } = require('node:child_process');
const protocol = require('./src/protocol');
const { FrameReader } = require('./src/frames');

if (process.argv[2] === '--node') {
  require('./src').run({ name: 'passthrough', process: (r) => ({ key: r.key, value: r.value, headers: r.headers }) });
  return;
}

const TOTAL = Number(process.argv[2] || 200000);
const BATCH = Number(process.argv[3] || 500);
const WINDOW = 4;

function main() {
  const value = Buffer.alloc(200, 'v');
  const key = Buffer.from('sensor-alpha');
  const batches = [];
  for (let off = 0, id = 1; off < TOTAL; off += BATCH, id++) {
    const records = [];
    for (let i = off; i < Math.min(TOTAL, off + BATCH); i++) {
      records.push({ topic: 'events.parsed', partition: i % 3, offset: BigInt(i), timestamp: 1700000000000, key, value, headers: [] });
    }
    batches.push(protocol.encode({ type: 'batch', id: BigInt(id), records }));
  }

  const child = spawn(process.execPath, [__filename, '--node'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const reader = new FrameReader();
  let sent = 0;
  let answered = 0;
  let results = 0;
  let start = 0;

  const sendMore = () => {
    while (sent < batches.length && sent - answered < WINDOW) child.stdin.write(batches[sent++]);
    if (sent === batches.length && answered === batches.length) child.stdin.end(protocol.encode({ type: 'shutdown' }));
  };

  child.stdout.on('data', (chunk) => {
    reader.push(chunk);
    let p;
    while ((p = reader.next()) !== null) {
      const m = protocol.decode(p);
      if (m.type === 'hello_ack') {
        start = process.hrtime.bigint();
      } else if (m.type === 'results') {
        answered++;
        results += m.results.length;
      } else {
        throw new Error(`unexpected ${m.type}: ${m.message}`);
      }
    }
    sendMore();
  });
  child.on('close', (code) => {
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    if (code !== 0 || results !== TOTAL) {
      console.error(`node exited ${code} after ${results} of ${TOTAL} results`);
      process.exit(1);
    }
    console.log(`${TOTAL} records of ${value.length} bytes in ${secs.toFixed(3)} s: ${Math.round(TOTAL / secs)} records/s`);
  });
  child.stdin.write(protocol.encode({ type: 'hello', version: 1, stage: 'bench', worker: 0, maxFrame: 16 << 20, settings: {} }));
}

main();
