// A correct but naive rate limiter in JavaScript, for the gauntlet track
// `rate-limiter` (world gauntlet:rate-limiter/plugin@0.1.0).
//
// It is a line-by-line translation of the Rust naive plugin
// (plugins/rate-limiter/naive/src/limiter.rs): keys live in a Map, the
// sliding log is an array summed by a linear scan, the tier of a key is found
// by scanning every rule on every call, and idle (fresh) keys are forgotten by
// a sweep that every check moves along by SWEEP_PER_CHECK keys.
//
// The Rust naive sweeps every key at once every 1024 checks. Here that costs
// too much: interpreted JS spends thousands of times more fuel per key than
// Rust, and with 20,000 keys tracked (zipf-workload, while the clock stands
// still) one such sweep burnt a whole call's 200M fuel. Sweeping a couple of
// keys per check evicts at least as fast as keys arrive (one per check), so
// the map stays small, and bounds the work of every call.
//
// Every u64 of the WIT arrives and leaves as a BigInt, and all arithmetic is
// done in BigInt, so it is exact (the WIT asks for 128-bit intermediates).

import { nowMs } from 'gauntlet:harness/clock@0.1.0';

// `retry-after-ms` for a request no wait can make allowed (u64 max).
const NEVER = 18446744073709551615n;
// The largest value a policy may hold (10^15).
const MAX_VALUE = 1000000000000000n;
// How many tracked keys each check examines (and forgets if fresh).
const SWEEP_PER_CHECK = 2;

// The configuration in force (null before one was accepted).
let config = null;
// Policy name -> algorithm ({ tag, val }), for the configuration in force.
let policies = new Map();
// Key -> state, for every key that is not fresh (and, between sweeps, some
// that became fresh since). A key with no entry is fresh.
let keys = new Map();
// The greatest clock reading seen so far: the limiter's time.
let highWaterMs = 0n;
// Where the sweep is in `keys` (a live Map iterator: it sees keys added
// after it was made, and skips deleted ones), or null to start over.
let sweepCursor = null;

// `a - b` for `a >= b`, saturated to u64 max.
function diff(a, b) {
  const d = a - b;
  return d > NEVER ? NEVER : d;
}

// ceil(a / b) for a >= 0, b > 0, saturated to u64 max.
function divCeil(a, b) {
  const q = (a + b - 1n) / b;
  return q > NEVER ? NEVER : q;
}

// A config-error variant, thrown from `configure` (an `err` result).
function refuse(tag, val) {
  throw val === undefined ? { tag } : { tag, val };
}

// Checks a configuration in the order the WIT documents.
function validate(cfg) {
  if (cfg.policies.length === 0) {
    refuse('no-policies');
  }
  for (let i = 0; i < cfg.policies.length; i++) {
    const policy = cfg.policies[i];
    for (let j = 0; j < i; j++) {
      if (cfg.policies[j].name === policy.name) {
        refuse('duplicate-policy', policy.name);
      }
    }
    const alg = policy.algorithm;
    let amount, rate = null, window = null;
    if (alg.tag === 'token-bucket') {
      amount = alg.val.capacity;
      rate = alg.val.refillPerSec;
    } else {
      amount = alg.val.limit;
      window = alg.val.windowMs;
    }
    if (amount === 0n) refuse('zero-capacity', policy.name);
    if (rate === 0n) refuse('zero-rate', policy.name);
    if (window === 0n) refuse('zero-window', policy.name);
    for (const value of [amount, rate, window]) {
      if (value !== null && value > MAX_VALUE) refuse('overflow', policy.name);
    }
  }
  for (let i = 0; i < cfg.tiers.length; i++) {
    const tier = cfg.tiers[i];
    for (let j = 0; j < i; j++) {
      if (cfg.tiers[j].prefix === tier.prefix) {
        refuse('duplicate-prefix', tier.prefix);
      }
    }
    if (!cfg.policies.some((p) => p.name === tier.policy)) {
      refuse('unknown-policy', tier.policy);
    }
  }
  if (!cfg.policies.some((p) => p.name === cfg.defaultPolicy)) {
    refuse('unknown-policy', cfg.defaultPolicy);
  }
}

// The algorithm for `key`: that of the longest tier prefix it starts with,
// else the default's. null before any configuration.
function algorithmFor(key) {
  if (config === null) return null;
  let name = config.defaultPolicy;
  let longest = -1;
  for (const tier of config.tiers) {
    // Every matching prefix is a prefix of the same key, so longer in UTF-16
    // units is longer in UTF-8 bytes too.
    if (tier.prefix.length > longest && key.startsWith(tier.prefix)) {
      longest = tier.prefix.length;
      name = tier.policy;
    }
  }
  return policies.get(name);
}

// The state of a key never seen (or forgotten), at `t`. It keeps its
// algorithm, so the sweep need not look the key's tier up again.
function newState(alg, t) {
  switch (alg.tag) {
    case 'token-bucket':
      return { alg, milliTokens: alg.val.capacity * 1000n, lastMs: t };
    case 'fixed-window':
      return { alg, window: t / alg.val.windowMs, count: 0n };
    case 'sliding-log':
      // Every allowed request as [time, cost], oldest first.
      return { alg, entries: [] };
    case 'sliding-counter':
      return { alg, window: t / alg.val.windowMs, prev: 0n, cur: 0n };
  }
}

// Brings `state` to time `t` (never earlier than the state's own).
function advance(state, alg, t) {
  switch (alg.tag) {
    case 'token-bucket': {
      const full = alg.val.capacity * 1000n;
      const level = state.milliTokens + alg.val.refillPerSec * (t - state.lastMs);
      state.milliTokens = level < full ? level : full;
      state.lastMs = t;
      break;
    }
    case 'fixed-window': {
      const now = t / alg.val.windowMs;
      if (now !== state.window) {
        state.window = now;
        state.count = 0n;
      }
      break;
    }
    case 'sliding-log': {
      const w = alg.val.windowMs;
      state.entries = state.entries.filter(([time]) => time + w > t);
      break;
    }
    case 'sliding-counter': {
      const now = t / alg.val.windowMs;
      if (state.window + 1n === now) {
        state.prev = state.cur;
        state.cur = 0n;
      } else if (now !== state.window) {
        state.prev = 0n;
        state.cur = 0n;
      }
      state.window = now;
      break;
    }
  }
}

// Whether `state` (brought to the current time) is that of a key never seen.
function isFresh(state, alg) {
  switch (alg.tag) {
    case 'token-bucket':
      return state.milliTokens === alg.val.capacity * 1000n;
    case 'fixed-window':
      return state.count === 0n;
    case 'sliding-log':
      return state.entries.length === 0;
    case 'sliding-counter':
      return state.prev === 0n && state.cur === 0n;
  }
}

function sumCosts(entries) {
  let used = 0n;
  for (const [, cost] of entries) used += cost;
  return used;
}

// Decides a request of `cost` at `t` (the state already brought to `t`),
// spending it if allowed.
function decide(state, alg, cost, t) {
  switch (alg.tag) {
    case 'token-bucket': {
      const { capacity, refillPerSec: rate } = alg.val;
      const full = capacity * 1000n;
      const need = cost * 1000n;
      const allowed = state.milliTokens >= need;
      if (allowed) state.milliTokens -= need;
      const level = state.milliTokens;
      let retryAfterMs = 0n;
      if (!allowed) {
        retryAfterMs = cost > capacity ? NEVER : divCeil(need - level, rate);
      }
      return {
        allowed,
        limit: capacity,
        remaining: level / 1000n,
        resetMs: divCeil(full - level, rate),
        retryAfterMs,
      };
    }
    case 'fixed-window': {
      const { limit, windowMs } = alg.val;
      const allowed = state.count + cost <= limit;
      if (allowed) state.count += cost;
      const windowEnd = (state.window + 1n) * windowMs;
      let retryAfterMs = 0n;
      if (!allowed) {
        retryAfterMs = cost > limit ? NEVER : diff(windowEnd, t);
      }
      return {
        allowed,
        limit,
        remaining: limit - state.count,
        resetMs: state.count > 0n ? diff(windowEnd, t) : 0n,
        retryAfterMs,
      };
    }
    case 'sliding-log': {
      const { limit, windowMs } = alg.val;
      const entries = state.entries;
      const allowed = sumCosts(entries) + cost <= limit;
      if (allowed && cost > 0n) {
        // Requests at the same time share one entry: the sums and times the
        // specification reads are the same either way.
        const last = entries[entries.length - 1];
        if (last !== undefined && last[0] === t) {
          last[1] += cost;
        } else {
          entries.push([t, cost]);
        }
      }
      const used = sumCosts(entries);
      let retryAfterMs = 0n;
      if (!allowed) {
        if (cost > limit) {
          retryAfterMs = NEVER;
        } else {
          // Drop entries oldest first until the request fits.
          let left = used;
          let lastDropped = 0n;
          for (const [time, spent] of entries) {
            if (left + cost <= limit) break;
            left -= spent;
            lastDropped = time;
          }
          retryAfterMs = diff(lastDropped + windowMs, t);
        }
      }
      const newest = entries[entries.length - 1];
      return {
        allowed,
        limit,
        remaining: limit > used ? limit - used : 0n,
        resetMs: newest === undefined ? 0n : diff(newest[0] + windowMs, t),
        retryAfterMs,
      };
    }
    case 'sliding-counter': {
      const { limit, windowMs: width } = alg.val;
      const start = state.window * width;
      const elapsed = t - start;
      const weightedPrev = state.prev * (width - elapsed);
      const allowed = weightedPrev + (state.cur + cost) * width <= limit * width;
      if (allowed) state.cur += cost;
      const p = state.prev;
      const k = state.cur;
      let retryAfterMs = 0n;
      if (!allowed) {
        if (cost > limit) {
          retryAfterMs = NEVER;
        } else {
          // The first moment the weighted estimate lets it through: later in
          // this window if the current count alone leaves room, else in the
          // next one (`width` there meaning the start of the window after).
          let inThis = null;
          if (k + cost <= limit && p > 0n) {
            const room = ((limit - k - cost) * width) / p;
            inThis = width > room ? width - room : 0n;
          }
          if (inThis !== null && inThis < width) {
            retryAfterMs = diff(start + inThis, t);
          } else {
            // With nothing counted in this window, the next one starts empty.
            let at = 0n;
            if (k > 0n) {
              const room = ((limit - cost) * width) / k;
              at = width > room ? width - room : 0n;
            }
            retryAfterMs = diff(start + width + at, t);
          }
        }
      }
      const used = weightedPrev + k * width;
      let resetMs = 0n;
      if (state.cur > 0n) {
        resetMs = diff(start + 2n * width, t);
      } else if (state.prev > 0n) {
        resetMs = diff(start + width, t);
      }
      const capacity = limit * width;
      return {
        allowed,
        limit,
        remaining: capacity > used ? (capacity - used) / width : 0n,
        resetMs,
        retryAfterMs,
      };
    }
  }
}

// Examines the next SWEEP_PER_CHECK tracked keys, and forgets those whose
// state is fresh at `t`.
function sweepSome(t) {
  for (let i = 0; i < SWEEP_PER_CHECK; i++) {
    if (sweepCursor === null) sweepCursor = keys.entries();
    const next = sweepCursor.next();
    if (next.done) {
      // Start over at the next check (not now: the map may be empty).
      sweepCursor = null;
      return;
    }
    const [key, state] = next.value;
    advance(state, state.alg, t);
    if (isFresh(state, state.alg)) keys.delete(key);
  }
}

// The exported interface gauntlet:rate-limiter/limiter@0.1.0. A returned
// value is `ok`; a thrown config-error is `err`.
export const limiter = {
  configure(cfg) {
    validate(cfg);
    config = cfg;
    policies = new Map();
    for (const policy of cfg.policies) {
      if (!policies.has(policy.name)) policies.set(policy.name, policy.algorithm);
    }
    keys = new Map();
    sweepCursor = null;
  },

  check(key, cost) {
    // The clock may step backwards; the limiter's time never does.
    const now = nowMs();
    if (now > highWaterMs) highWaterMs = now;
    const t = highWaterMs;

    const alg = algorithmFor(key);
    if (alg == null) {
      return { allowed: false, limit: 0n, remaining: 0n, resetMs: 0n, retryAfterMs: NEVER };
    }

    sweepSome(t);

    let state = keys.get(key);
    if (state === undefined) state = newState(alg, t);
    advance(state, alg, t);
    const decision = decide(state, alg, cost, t);
    if (isFresh(state, alg)) {
      keys.delete(key);
    } else {
      keys.set(key, state);
    }
    return decision;
  },
};
