'use strict';

// serve speaks protocol v1 with the runtime: handshake, then batches
// answered strictly in order, then shutdown. It mirrors the Go adapter
// (adapters/go): handler failures are per-record errors, protocol failures
// are a `fatal` frame and a non-zero exit code.

const { ProtocolError, errorMessage } = require('./errors');
const { FrameReader } = require('./frames');
const { Output, OutputError } = require('./output');
const { Writer } = require('./writer');
const protocol = require('./protocol');
const { okResult, errorResult, writeResults } = require('./results');

const FLUSH_AT = 4 * 1024 * 1024;

function isThenable(v) {
  return v !== null && typeof v === 'object' && typeof v.then === 'function';
}

function checkNode(node) {
  if (node === null || typeof node !== 'object') throw new TypeError('run: expected a node description object');
  const hasProcess = typeof node.process === 'function';
  const hasBatch = typeof node.processBatch === 'function';
  if (hasProcess === hasBatch) throw new TypeError('run: set exactly one of process and processBatch');
  if (node.init !== undefined && typeof node.init !== 'function') throw new TypeError('run: init must be a function');
}

class Server {
  constructor(node, input, output, log) {
    this.node = node;
    this.input = input;
    this.out = new Output(output);
    this.log = log;
    this.reader = new FrameReader(protocol.DEFAULT_MAX_FRAME);
    this.w = new Writer(256 * 1024);
    this.maxFrame = protocol.DEFAULT_MAX_FRAME;
    this.greeted = false;
  }

  // flush writes every answer encoded so far with one write.
  async flush() {
    if (this.w.len > 0) await this.out.write(this.w.take());
  }

  async fatal(message) {
    this.log(`sluice node ${this.node.name || ''}: ${message}`);
    protocol.encodeInto(this.w, { type: 'fatal', message });
    try {
      await this.flush();
      await this.out.done();
    } catch {
      // the runtime is gone; the exit code says enough
    }
    return 1;
  }

  async finish() {
    await this.flush();
    await this.out.done();
    return 0;
  }

  async serve() {
    try {
      for await (const chunk of this.input) {
        this.reader.push(chunk);
        let payload;
        while ((payload = this.reader.next()) !== null) {
          const m = protocol.decode(payload);
          const code = this.greeted ? await this.handle(m) : await this.handshake(m);
          if (code !== undefined) return code;
        }
        // Flush only when no further input is waiting: under load one
        // write carries the results of several batches. (The runtime's
        // window bounds how much can pile up; FLUSH_AT is a safety net.)
        if (!this.input.readableLength || this.w.len >= FLUSH_AT) await this.flush();
      }
      if (this.reader.partial()) return await this.fatal('unexpected end of input inside a frame');
      return await this.finish();
    } catch (err) {
      if (err instanceof ProtocolError) return await this.fatal(err.message);
      if (err instanceof OutputError) {
        this.log(`sluice node ${this.node.name || ''}: writing to the runtime: ${err.message}`);
        return 1;
      }
      throw err;
    }
  }

  async handshake(m) {
    if (m.type !== 'hello') return this.fatal(`expected a hello frame first, got ${m.type}`);
    if (m.version !== protocol.VERSION) {
      return this.fatal(`unsupported protocol version ${m.version}; this node speaks ${protocol.VERSION}`);
    }
    if (m.maxFrame > 0) this.maxFrame = m.maxFrame;
    this.reader.setMax(this.maxFrame);
    if (this.node.init) {
      try {
        await this.node.init(m);
      } catch (err) {
        return this.fatal(`init: ${errorMessage(err)}`);
      }
    }
    protocol.encodeInto(this.w, {
      type: 'hello_ack',
      version: protocol.VERSION,
      name: String(this.node.name || ''),
      nodeVersion: String(this.node.version || '0.0.0'),
      features: this.node.processBatch ? protocol.FEATURE_BATCH_HANDLER : 0,
    });
    this.greeted = true;
    await this.flush();
    return undefined;
  }

  async handle(m) {
    switch (m.type) {
      case 'batch': {
        const results = this.node.processBatch ? await this.runBatch(m.records) : await this.runRecords(m.records);
        writeResults(this.w, m.id, results, this.maxFrame);
        return undefined;
      }
      case 'shutdown':
        return this.finish();
      default:
        return this.fatal(`unexpected ${m.type} frame after the handshake`);
    }
  }

  // beforeWait flushes answers already encoded before a handler's promise
  // is awaited: a slow async handler must not hold back earlier batches.
  async beforeWait() {
    await this.flush();
  }

  async runRecords(records) {
    const results = new Array(records.length);
    const node = this.node;
    for (let i = 0; i < records.length; i++) {
      let ret;
      let failed = false;
      try {
        ret = node.process(records[i]);
      } catch (err) {
        failed = true;
        ret = err;
      }
      if (!failed && isThenable(ret)) {
        await this.beforeWait();
        try {
          ret = await ret;
        } catch (err) {
          failed = true;
          ret = err;
        }
      }
      results[i] = failed ? errorResult(ret) : okResult(ret);
    }
    return results;
  }

  async runBatch(records) {
    let rets;
    let failed = false;
    try {
      rets = this.node.processBatch(records);
    } catch (err) {
      failed = true;
      rets = err;
    }
    if (!failed && isThenable(rets)) {
      await this.beforeWait();
      try {
        rets = await rets;
      } catch (err) {
        failed = true;
        rets = err;
      }
    }
    if (failed) return records.map(() => errorResult(rets, 'batch handler: '));
    if (!Array.isArray(rets) || rets.length !== records.length) {
      const got = Array.isArray(rets) ? `${rets.length} results` : `a ${rets === null ? 'null' : typeof rets}`;
      const err = new Error(`batch handler returned ${got} for ${records.length} records`);
      return records.map(() => errorResult(err));
    }
    return rets.map((r) => (r instanceof Error ? errorResult(r) : okResult(r)));
  }
}

// serve runs a node on the given streams and resolves to the exit code: 0
// after a shutdown or the end of input, 1 after a protocol error (reported
// to the runtime as a fatal frame and to `log`).
async function serve(node, input, output, { log = defaultLog } = {}) {
  checkNode(node);
  return new Server(node, input, output, log).serve();
}

function defaultLog(line) {
  process.stderr.write(`${line}\n`);
}

module.exports = { serve, checkNode };
