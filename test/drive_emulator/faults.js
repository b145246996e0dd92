'use strict';
// Fault injection: a test replaces the plan with POST /__admin/faults, and every
// request is offered to the rules in order; the first rule that fires decides the
// fault. Randomness comes from a seeded PRNG so a failing run can be replayed.
// The plan format is documented in README.md.
const { HttpError } = require('./http_util');

const ACTIONS = new Set(['status', 'reset', 'partial', 'delay', 'slowBody', 'loseResponse']);
const MATCH_KEYS = new Set(['method', 'path', 'kind', 'uploadType', 'tokenEndpoint']);

// mulberry32: tiny, fast, and good enough for choosing whether a fault fires.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const bad = (msg) => new HttpError(400, { error: { code: 400, message: `fault plan: ${msg}` } });

function checkBytes(v, name) {
  if (v === undefined) return;
  if (Number.isInteger(v) && v >= 0) return;
  if (v && Array.isArray(v.random) && v.random.length === 2 && v.random.every((x) => Number.isInteger(x) && x >= 0) &&
      v.random[0] <= v.random[1]) return;
  throw bad(`${name} must be a non-negative integer or {"random":[min,max]}`);
}

class FaultPlan {
  constructor(stats) {
    this.stats = stats;
    this.set({ rules: [] });
  }

  set(plan) {
    if (!plan || !Array.isArray(plan.rules)) throw bad('expected {"rules":[...]}');
    const rules = plan.rules.map((r, i) => {
      if (!ACTIONS.has(r.action)) throw bad(`rule ${i}: unknown action ${r.action}`);
      for (const k of Object.keys(r.match || {})) if (!MATCH_KEYS.has(k)) throw bad(`rule ${i}: unknown match key ${k}`);
      if (r.action === 'status' && !Number.isInteger(r.status)) throw bad(`rule ${i}: status needs an integer "status"`);
      if (r.action === 'partial' && !Number.isInteger(r.keepBytes)) throw bad(`rule ${i}: partial needs "keepBytes"`);
      if (r.action === 'delay' && !Number.isFinite(r.ms)) throw bad(`rule ${i}: delay needs "ms"`);
      if (r.action === 'slowBody' && !(r.bytesPerSecond > 0)) throw bad(`rule ${i}: slowBody needs "bytesPerSecond"`);
      checkBytes(r.afterBytes, `rule ${i}: afterBytes`);
      return { ...r, match: r.match || {}, seen: 0, fired: 0 };
    });
    this.rules = rules;
    this.random = prng(Number.isInteger(plan.seed) ? plan.seed : 1);
  }

  summary() {
    return this.rules.map(({ seen, fired, ...r }) => ({ ...r, seen, fired }));
  }

  static matches(m, d) {
    if (m.method !== undefined && m.method.toUpperCase() !== d.method) return false;
    if (m.path !== undefined) {
      if (m.path.endsWith('*') ? !d.path.startsWith(m.path.slice(0, -1)) : m.path !== d.path) return false;
    }
    if (m.kind !== undefined && ![].concat(m.kind).includes(d.kind)) return false;
    if (m.uploadType !== undefined && m.uploadType !== d.uploadType) return false;
    if (m.tokenEndpoint !== undefined && m.tokenEndpoint !== d.tokenEndpoint) return false;
    return true;
  }

  // Returns the rule that fires for this request (with afterBytes resolved to a
  // number), or null. Consumes skip/count/probability state.
  pick(desc) {
    for (const r of this.rules) {
      if (!FaultPlan.matches(r.match, desc)) continue;
      if (r.count !== undefined && r.fired >= r.count) continue;
      r.seen++;
      if (r.skip && r.seen <= r.skip) continue;
      if (r.probability !== undefined && r.probability < 1 && this.random() >= r.probability) continue;
      r.fired++;
      this.stats.fault(r.action);
      let afterBytes = r.afterBytes;
      if (afterBytes && afterBytes.random) {
        const [lo, hi] = afterBytes.random;
        afterBytes = lo + Math.floor(this.random() * (hi - lo + 1));
      }
      return { ...r, afterBytes: afterBytes === undefined ? 0 : afterBytes };
    }
    return null;
  }
}

module.exports = { FaultPlan };
