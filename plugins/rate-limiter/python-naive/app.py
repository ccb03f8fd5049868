"""A correct but naive rate limiter in Python, for the `gauntlet:rate-limiter/plugin` world.

A translation of the Rust naive (`../naive/src/limiter.rs`): keys live in a
dict, the sliding log is a list summed by a linear scan, a new key's tier is
found by scanning every tier rule (a known key keeps the policy it was given
beside its state: `configure` forgets every key anyway), and idle keys are
forgotten by a sweep of the whole dict every SWEEP_EVERY checks (and at once
when a check leaves its key fresh), so memory stays bounded with a million
distinct keys.

Python integers are unbounded, so the specification's "exact arithmetic in
128 bits" is free; results are clamped to u64 where the Rust saturates.

Build (see README.md): componentize-py generates the `wit_world` bindings
this module imports, then packs this module and CPython into a component.
"""

from wit_world import exports
from wit_world.imports import clock
from wit_world.imports.types import (
    Algorithm_FixedWindow,
    Algorithm_SlidingCounter,
    Algorithm_SlidingLog,
    Algorithm_TokenBucket,
    ConfigError_DuplicatePolicy,
    ConfigError_DuplicatePrefix,
    ConfigError_NoPolicies,
    ConfigError_Overflow,
    ConfigError_UnknownPolicy,
    ConfigError_ZeroCapacity,
    ConfigError_ZeroRate,
    ConfigError_ZeroWindow,
    Decision,
)
from componentize_py_types import Err

# `retry-after-ms` for a request no wait can make allowed (u64 max).
NEVER = (1 << 64) - 1
# The largest value a policy may hold.
MAX_VALUE = 1_000_000_000_000_000
# How many checks pass between two sweeps of the idle keys.
SWEEP_EVERY = 1024

# Kinds of policy, as small ints (cheaper to compare than classes).
BUCKET, FIXED, LOG, COUNTER = 0, 1, 2, 3


def _u64(x):
    """A non-negative result as a u64: values past u64 max saturate."""
    return x if x <= NEVER else NEVER


def _div_ceil(a, b):
    return _u64(-(-a // b))


class _Policy:
    """A validated policy, flattened: kind, limit (capacity), and the rate
    (token bucket) or the window width in ms (windows)."""

    __slots__ = ("kind", "limit", "param")

    def __init__(self, kind, limit, param):
        self.kind = kind
        self.limit = limit
        self.param = param


# --- The limiter's state (module globals: one instance per component) ------

_policies = None  # name -> _Policy, once a configuration was accepted
_tiers = []  # [(prefix, policy name)], in the order given
_default = None  # the default policy's name
_keys = {}  # key -> (its _Policy, its state), for every key not (known) fresh
_high_water = 0  # the greatest clock reading seen: the limiter's time
_since_sweep = 0  # checks since the last sweep


def _validate(config):
    """Returns the error of `config`, in the order the WIT documents, or None."""
    if not config.policies:
        return ConfigError_NoPolicies()
    seen = set()
    for policy in config.policies:
        name = policy.name
        if name in seen:
            return ConfigError_DuplicatePolicy(name)
        seen.add(name)
        alg = policy.algorithm
        if isinstance(alg, Algorithm_TokenBucket):
            amount, rate, window = alg.value.capacity, alg.value.refill_per_sec, None
        else:
            amount, rate, window = alg.value.limit, None, alg.value.window_ms
        if amount == 0:
            return ConfigError_ZeroCapacity(name)
        if rate == 0:
            return ConfigError_ZeroRate(name)
        if window == 0:
            return ConfigError_ZeroWindow(name)
        for value in (amount, rate, window):
            if value is not None and value > MAX_VALUE:
                return ConfigError_Overflow(name)
    prefixes = set()
    for tier in config.tiers:
        if tier.prefix in prefixes:
            return ConfigError_DuplicatePrefix(tier.prefix)
        prefixes.add(tier.prefix)
        if tier.policy not in seen:
            return ConfigError_UnknownPolicy(tier.policy)
    if config.default_policy not in seen:
        return ConfigError_UnknownPolicy(config.default_policy)
    return None


def _flatten(alg):
    v = alg.value
    if isinstance(alg, Algorithm_TokenBucket):
        return _Policy(BUCKET, v.capacity, v.refill_per_sec)
    if isinstance(alg, Algorithm_FixedWindow):
        return _Policy(FIXED, v.limit, v.window_ms)
    if isinstance(alg, Algorithm_SlidingLog):
        return _Policy(LOG, v.limit, v.window_ms)
    if isinstance(alg, Algorithm_SlidingCounter):
        return _Policy(COUNTER, v.limit, v.window_ms)
    raise ValueError("unknown algorithm")


def _policy_for(key):
    """The policy of the longest tier prefix `key` starts with, else the default."""
    name = _default
    longest = -1
    for prefix, policy in _tiers:
        if len(prefix) > longest and key.startswith(prefix):
            longest = len(prefix)
            name = policy
    return _policies[name]


# --- Per-key state: a list, its layout by kind -----------------------------
# BUCKET:  [milli_tokens, last_ms]
# FIXED:   [window, count]
# LOG:     [[time, cost], ...] (oldest first)
# COUNTER: [window, prev, cur]


def _new_state(p, t):
    kind = p.kind
    if kind == BUCKET:
        return [p.limit * 1000, t]
    if kind == FIXED:
        return [t // p.param, 0]
    if kind == LOG:
        return []
    return [t // p.param, 0, 0]


def _advance(p, s, t):
    """Brings state `s` to time `t` (never earlier than its own)."""
    kind = p.kind
    if kind == BUCKET:
        full = p.limit * 1000
        level = s[0] + p.param * (t - s[1])
        s[0] = full if level > full else level
        s[1] = t
    elif kind == FIXED:
        now = t // p.param
        if now != s[0]:
            s[0] = now
            s[1] = 0
    elif kind == LOG:
        cutoff = t - p.param  # entries with time <= t - W leave the window
        drop = 0
        for entry in s:
            if entry[0] > cutoff:
                break
            drop += 1
        if drop:
            del s[:drop]
    else:
        now = t // p.param
        if s[0] + 1 == now:
            s[1] = s[2]
            s[2] = 0
        elif now != s[0]:
            s[1] = 0
            s[2] = 0
        s[0] = now


def _is_fresh(p, s):
    kind = p.kind
    if kind == BUCKET:
        return s[0] == p.limit * 1000
    if kind == FIXED:
        return s[1] == 0
    if kind == LOG:
        return not s
    return s[1] == 0 and s[2] == 0


def _decide(p, s, c, t):
    """Decides a request of cost `c` at `t` (state already at `t`), spending
    it if allowed. Returns the Decision."""
    kind = p.kind
    limit = p.limit
    if kind == BUCKET:
        full = limit * 1000
        rate = p.param
        need = c * 1000
        allowed = s[0] >= need
        if allowed:
            s[0] -= need
        level = s[0]
        if allowed:
            retry = 0
        elif c > limit:
            retry = NEVER
        else:
            retry = _div_ceil(need - level, rate)
        return Decision(allowed, limit, level // 1000, _div_ceil(full - level, rate), retry)

    if kind == FIXED:
        allowed = s[1] + c <= limit
        if allowed:
            s[1] += c
        window_end = (s[0] + 1) * p.param
        if allowed:
            retry = 0
        elif c > limit:
            retry = NEVER
        else:
            retry = _u64(window_end - t)
        reset = _u64(window_end - t) if s[1] > 0 else 0
        return Decision(allowed, limit, limit - s[1], reset, retry)

    if kind == LOG:
        width = p.param
        used = 0
        for entry in s:
            used += entry[1]
        allowed = used + c <= limit
        if allowed and c > 0:
            # Requests at the same time share one entry: the sums and times
            # the specification reads are the same either way.
            if s and s[-1][0] == t:
                s[-1][1] += c
            else:
                s.append([t, c])
            used += c
        if allowed:
            retry = 0
        elif c > limit:
            retry = NEVER
        else:
            # Drop entries oldest first until the request fits.
            left = used
            last_dropped = 0
            for time, spent in s:
                if left + c <= limit:
                    break
                left -= spent
                last_dropped = time
            retry = _u64(last_dropped + width - t)
        reset = _u64(s[-1][0] + width - t) if s else 0
        return Decision(allowed, limit, _u64(limit - used), reset, retry)

    # COUNTER
    width = p.param
    start = s[0] * width
    elapsed = t - start
    weighted_prev = s[1] * (width - elapsed)
    allowed = weighted_prev + (s[2] + c) * width <= limit * width
    if allowed:
        s[2] += c
    prev, cur = s[1], s[2]
    if allowed:
        retry = 0
    elif c > limit:
        retry = NEVER
    else:
        # The first moment the weighted estimate lets it through: later in
        # this window if the current count alone leaves room, else in the
        # next one (`width` there meaning the start of the window after).
        at = None
        if cur + c <= limit and prev > 0:
            at = max(0, width - (limit - cur - c) * width // prev)
        if at is not None and at < width:
            retry = _u64(start + at - t)
        else:
            # With nothing counted in this window, the next one starts empty.
            at = max(0, width - (limit - c) * width // cur) if cur else 0
            retry = _u64(start + width + at - t)
    used = weighted_prev + cur * width
    if cur > 0:
        reset = _u64(start + 2 * width - t)
    elif prev > 0:
        reset = _u64(start + width - t)
    else:
        reset = 0
    room = limit * width - used
    remaining = room // width if room > 0 else 0
    return Decision(allowed, limit, remaining, reset, retry)


def _sweep(t):
    """Forgets every key whose state is fresh at `t`."""
    global _keys
    kept = {}
    for key, entry in _keys.items():
        p, s = entry
        _advance(p, s, t)
        if not _is_fresh(p, s):
            kept[key] = entry
    _keys = kept


class Limiter(exports.Limiter):
    def configure(self, config):
        global _policies, _tiers, _default, _keys
        error = _validate(config)
        if error is not None:
            raise Err(error)
        _policies = {p.name: _flatten(p.algorithm) for p in config.policies}
        _tiers = [(tier.prefix, tier.policy) for tier in config.tiers]
        _default = config.default_policy
        _keys = {}

    def check(self, key, cost):
        global _high_water, _since_sweep
        # The clock may step backwards; the limiter's time never does.
        now = clock.now_ms()
        if now > _high_water:
            _high_water = now
        t = _high_water

        if _policies is None:
            return Decision(False, 0, 0, 0, NEVER)

        _since_sweep += 1
        if _since_sweep >= SWEEP_EVERY:
            _since_sweep = 0
            _sweep(t)

        entry = _keys.get(key)
        if entry is None:
            p = _policy_for(key)
            s = _new_state(p, t)
        else:
            p, s = entry
        _advance(p, s, t)
        decision = _decide(p, s, cost, t)
        if _is_fresh(p, s):
            if entry is not None:
                del _keys[key]
        elif entry is None:
            _keys[key] = (p, s)
        return decision
