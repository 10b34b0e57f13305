'use strict';

// Suppressor decides whether an alert repeats one already sent for the same
// sensor within the window. Time is the event's own `ts`, not the wall
// clock, so replaying a topic suppresses exactly the same alerts. An alert
// more severe than the one that opened the window (critical after warning)
// is an escalation, not a repeat: it is sent and opens a new window.

const LEVEL = { warning: 1, critical: 2 };
const PRUNE_AT = 10000; // sensors remembered before old windows are dropped

class Suppressor {
  constructor(windowMs) {
    this.windowMs = windowMs;
    this.last = new Map(); // sensor_id -> { tsMs, level } of the last alert sent
  }

  isRepeat(sensorId, tsMs, prediction) {
    if (this.windowMs <= 0) return false;
    const last = this.last.get(sensorId);
    if (last === undefined) return false;
    // |Δ|: events of one sensor may arrive slightly out of order.
    return Math.abs(tsMs - last.tsMs) < this.windowMs && LEVEL[prediction] <= last.level;
  }

  // sent records that an alert went out (or would have: webhooks off); a
  // failed post is not recorded, so the next alert tries again.
  sent(sensorId, tsMs, prediction) {
    if (this.last.size >= PRUNE_AT && !this.last.has(sensorId)) this.prune(tsMs);
    this.last.set(sensorId, { tsMs, level: LEVEL[prediction] });
  }

  prune(nowMs) {
    for (const [id, v] of this.last) {
      if (Math.abs(nowMs - v.tsMs) >= this.windowMs) this.last.delete(id);
    }
  }
}

module.exports = { Suppressor };
