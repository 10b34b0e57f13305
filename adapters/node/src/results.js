'use strict';

// Turning what handlers return into per-record results, and encoding one
// batch's results frame within the runtime's frame limit.

const { isRetriable, errorMessage } = require('./errors');
const { TYPE, beginFrame, endFrame, writeResult } = require('./protocol');

// okResult accepts what a per-record handler may return: an array of
// outputs, one output object, or null/undefined (no output).
function okResult(ret) {
  if (ret === null || ret === undefined) return { status: 'ok', outputs: [] };
  if (Array.isArray(ret)) return { status: 'ok', outputs: ret };
  return { status: 'ok', outputs: [ret] };
}

function errorResult(err, prefix = '') {
  return { status: isRetriable(err) ? 'retriable' : 'error', error: prefix + errorMessage(err) };
}

// writeResults appends the results frame of batch `id` to w. A result whose
// outputs cannot be encoded (a number where bytes belong, say) becomes that
// record's error. If the frame's payload would exceed maxFrame, the largest
// results become errors until it fits, so one huge output fails its own
// record instead of the whole node. `results` is updated in place.
function writeResults(w, id, results, maxFrame) {
  const start = w.len;
  const sizes = encodeFrame(w, id, results);
  if (w.len - start - 4 <= maxFrame) return;
  shrinkToFit(results, sizes, w.len - start - 4, maxFrame);
  w.len = start;
  encodeFrame(w, id, results);
}

function encodeFrame(w, id, results) {
  const start = beginFrame(w, TYPE.results);
  w.u64(id);
  w.u32(results.length);
  const sizes = new Array(results.length);
  for (let i = 0; i < results.length; i++) {
    const s = w.len;
    try {
      writeResult(w, results[i]);
    } catch (err) {
      w.len = s; // rewind: the bytes before s are intact
      results[i] = errorResult(err);
      writeResult(w, results[i]);
    }
    sizes[i] = w.len - s;
  }
  endFrame(w, start);
  return sizes;
}

function shrinkToFit(results, sizes, total, maxFrame) {
  const order = results.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a]);
  for (const i of order) {
    if (total <= maxFrame) return;
    const msg = `outputs of this record take ${sizes[i]} bytes, over the ${maxFrame}-byte frame limit`;
    results[i] = { status: 'error', error: msg };
    total += 1 + 4 + Buffer.byteLength(msg) - sizes[i];
  }
}

module.exports = { okResult, errorResult, writeResults };
