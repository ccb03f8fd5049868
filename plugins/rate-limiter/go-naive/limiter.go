// Package export_gauntlet_rate_limiter_limiter is a correct but naive rate
// limiter in Go, for the `gauntlet:rate-limiter/plugin` world.
//
// A translation of the Python naive (`../python-naive/app.py`), itself a
// translation of the Rust naive (`../naive/src/limiter.rs`): keys live in a
// map, the sliding log is a slice summed by a linear scan, a new key's tier
// is found by scanning every tier rule (a known key keeps the policy it was
// given beside its state: Configure forgets every key anyway), and idle keys
// are forgotten by a sweep of the whole map every sweepEvery checks (and at
// once when a check leaves its key fresh), so memory stays bounded with a
// million distinct keys.
//
// The specification's arithmetic is exact in 128 bits; where a product can
// pass 64 bits it is computed with math/bits (see u128.go), and results are
// clamped to u64 where the Rust saturates.
//
// Build (see README.md): wit-bindgen generates the Go module `wit_component`
// around this package; its glue (`wit_exports.go`) calls Configure and Check.
package export_gauntlet_rate_limiter_limiter

import (
	"math"
	"strings"

	"wit_component/gauntlet_harness_clock"
	types "wit_component/gauntlet_rate_limiter_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

const (
	// never is `retry-after-ms` for a request no wait can make allowed.
	never = math.MaxUint64
	// maxValue is the largest value a policy may hold (10^15).
	maxValue = 1_000_000_000_000_000
	// sweepEvery is how many checks pass between two sweeps of the idle keys.
	sweepEvery = 1024
)

// policy is a validated policy, flattened: its algorithm, its limit
// (capacity), and the rate (token bucket) or the window width in ms
// (windows).
type policy struct {
	algorithm uint8 // one of types.Algorithm_*
	limit     uint64
	param     uint64
}

// keyState is one key's state under its policy. A state is only ever
// advanced to a later (or the same) effective time.
type keyState interface {
	// advance brings the state to time t.
	advance(t uint64)
	// fresh tells whether the state is as if the key had never been seen.
	fresh() bool
	// decide decides a request of cost c at t (the state already at t),
	// spending it if allowed.
	decide(c, t uint64) types.Decision
}

// The limiter's state: package globals, one instance per component instance.
var (
	policies   map[string]*policy // by name, once a configuration was accepted
	tiers      []types.Tier       // in the order given
	defaultPol string             // the default policy's name
	keys       = map[string]keyState{}
	highWater  uint64 // the greatest clock reading seen: the limiter's time
	sinceSweep int    // checks since the last sweep
)

// Configure replaces the configuration and forgets every key's state; a
// refused configuration changes nothing.
func Configure(config types.Config) witTypes.Result[witTypes.Unit, types.ConfigError] {
	if err, bad := validate(config); bad {
		return witTypes.Err[witTypes.Unit](err)
	}
	policies = make(map[string]*policy, len(config.Policies))
	for _, p := range config.Policies {
		policies[p.Name] = flatten(p.Algorithm)
	}
	tiers = config.Tiers
	defaultPol = config.DefaultPolicy
	keys = map[string]keyState{}
	return witTypes.Ok[witTypes.Unit, types.ConfigError](witTypes.Unit{})
}

// Check decides whether key may spend cost now, and spends it if so.
func Check(key string, cost uint64) types.Decision {
	// The clock may step backwards; the limiter's time never does.
	if now := gauntlet_harness_clock.NowMs(); now > highWater {
		highWater = now
	}
	t := highWater

	if policies == nil {
		return types.Decision{Allowed: false, RetryAfterMs: never}
	}

	sinceSweep++
	if sinceSweep >= sweepEvery {
		sinceSweep = 0
		sweep(t)
	}

	s, known := keys[key]
	if !known {
		s = newState(policyFor(key), t)
	}
	s.advance(t)
	decision := s.decide(cost, t)
	if s.fresh() {
		if known {
			delete(keys, key)
		}
	} else if !known {
		keys[key] = s
	}
	return decision
}

// validate returns the error of config, in the order the WIT documents, and
// whether there is one.
func validate(config types.Config) (types.ConfigError, bool) {
	if len(config.Policies) == 0 {
		return types.MakeConfigErrorNoPolicies(), true
	}
	seen := map[string]bool{}
	for _, p := range config.Policies {
		name := p.Name
		if seen[name] {
			return types.MakeConfigErrorDuplicatePolicy(name), true
		}
		seen[name] = true
		var amount, rate, window uint64
		hasRate := false
		if alg := p.Algorithm; alg.Tag() == types.Algorithm_TokenBucket {
			amount, rate, hasRate = alg.TokenBucket().Capacity, alg.TokenBucket().RefillPerSec, true
		} else {
			w := windowOf(alg)
			amount, window = w.Limit, w.WindowMs
		}
		switch {
		case amount == 0:
			return types.MakeConfigErrorZeroCapacity(name), true
		case hasRate && rate == 0:
			return types.MakeConfigErrorZeroRate(name), true
		case !hasRate && window == 0:
			return types.MakeConfigErrorZeroWindow(name), true
		case amount > maxValue || rate > maxValue || window > maxValue:
			return types.MakeConfigErrorOverflow(name), true
		}
	}
	prefixes := map[string]bool{}
	for _, tier := range config.Tiers {
		if prefixes[tier.Prefix] {
			return types.MakeConfigErrorDuplicatePrefix(tier.Prefix), true
		}
		prefixes[tier.Prefix] = true
		if !seen[tier.Policy] {
			return types.MakeConfigErrorUnknownPolicy(tier.Policy), true
		}
	}
	if !seen[config.DefaultPolicy] {
		return types.MakeConfigErrorUnknownPolicy(config.DefaultPolicy), true
	}
	return types.ConfigError{}, false
}

// windowOf returns the parameters of one of the three window algorithms.
func windowOf(alg types.Algorithm) types.Window {
	switch alg.Tag() {
	case types.Algorithm_FixedWindow:
		return alg.FixedWindow()
	case types.Algorithm_SlidingLog:
		return alg.SlidingLog()
	default:
		return alg.SlidingCounter()
	}
}

func flatten(alg types.Algorithm) *policy {
	if alg.Tag() == types.Algorithm_TokenBucket {
		b := alg.TokenBucket()
		return &policy{alg.Tag(), b.Capacity, b.RefillPerSec}
	}
	w := windowOf(alg)
	return &policy{alg.Tag(), w.Limit, w.WindowMs}
}

// policyFor returns the policy of the longest tier prefix key starts with,
// else the default.
func policyFor(key string) *policy {
	name := defaultPol
	longest := -1
	for _, tier := range tiers {
		if len(tier.Prefix) > longest && strings.HasPrefix(key, tier.Prefix) {
			longest = len(tier.Prefix)
			name = tier.Policy
		}
	}
	return policies[name]
}

// newState returns the state of a key never seen, at time t.
func newState(p *policy, t uint64) keyState {
	switch p.algorithm {
	case types.Algorithm_TokenBucket:
		return &tokenBucket{p: p, level: p.limit * 1000, last: t}
	case types.Algorithm_FixedWindow:
		return &fixedWindow{p: p, window: t / p.param}
	case types.Algorithm_SlidingLog:
		return &slidingLog{p: p}
	default:
		return &slidingCounter{p: p, window: t / p.param}
	}
}

// sweep forgets every key whose state is fresh at t. It builds a new map
// rather than deleting in place: a Go map never gives back the room it grew
// to.
func sweep(t uint64) {
	kept := make(map[string]keyState, len(keys))
	for key, s := range keys {
		s.advance(t)
		if !s.fresh() {
			kept[key] = s
		}
	}
	keys = kept
}

// --- Token bucket ---------------------------------------------------------

// tokenBucket: the level in milli-tokens (so refill is exact: R tokens per
// second is R milli-tokens per millisecond) and the time it was counted at.
type tokenBucket struct {
	p           *policy
	level, last uint64
}

func (s *tokenBucket) advance(t uint64) {
	full := s.p.limit * 1000 // at most 10^18: fits
	// The refill R * (t - last) can pass 64 bits after a long idle time.
	refill := mul(s.p.param, t-s.last)
	if refill.hi != 0 || refill.lo >= full-s.level {
		s.level = full
	} else {
		s.level += refill.lo
	}
	s.last = t
}

func (s *tokenBucket) fresh() bool { return s.level == s.p.limit*1000 }

func (s *tokenBucket) decide(c, t uint64) types.Decision {
	limit, rate := s.p.limit, s.p.param
	full := limit * 1000
	// A cost above the capacity needs more than the bucket ever holds (and
	// c * 1000 could pass 64 bits): it is never allowed.
	allowed := c <= limit && s.level >= c*1000
	retry := uint64(0)
	switch {
	case allowed:
		s.level -= c * 1000
	case c > limit:
		retry = never
	default:
		retry = divCeil(c*1000-s.level, rate)
	}
	return types.Decision{
		Allowed:      allowed,
		Limit:        limit,
		Remaining:    s.level / 1000,
		ResetMs:      divCeil(full-s.level, rate),
		RetryAfterMs: retry,
	}
}

// --- Fixed window ---------------------------------------------------------

// fixedWindow: the index of the window holding the state's time, and the
// count spent in it.
type fixedWindow struct {
	p             *policy
	window, count uint64
}

func (s *fixedWindow) advance(t uint64) {
	if now := t / s.p.param; now != s.window {
		s.window = now
		s.count = 0
	}
}

func (s *fixedWindow) fresh() bool { return s.count == 0 }

func (s *fixedWindow) decide(c, t uint64) types.Decision {
	limit, width := s.p.limit, s.p.param
	// count <= limit always, so limit - count cannot wrap (count + c could).
	allowed := c <= limit-s.count
	if allowed {
		s.count += c
	}
	// The time left until the window ends, (k + 1) * W - t, written so
	// that nothing can pass 64 bits.
	toEnd := width - t%width
	retry := uint64(0)
	switch {
	case allowed:
	case c > limit:
		retry = never
	default:
		retry = toEnd
	}
	reset := uint64(0)
	if s.count > 0 {
		reset = toEnd
	}
	return types.Decision{
		Allowed:      allowed,
		Limit:        limit,
		Remaining:    limit - s.count,
		ResetMs:      reset,
		RetryAfterMs: retry,
	}
}

// --- Sliding log ----------------------------------------------------------

// logEntry is an allowed request: its time and cost. Requests at the same
// time share one entry: the sums and times the specification reads are the
// same either way.
type logEntry struct{ time, cost uint64 }

// slidingLog: the allowed requests still in the window, oldest first.
type slidingLog struct {
	p       *policy
	entries []logEntry
}

func (s *slidingLog) advance(t uint64) {
	// The window is (t - W, t]: entries with time <= t - W leave it.
	drop := 0
	for _, e := range s.entries {
		if t-e.time < s.p.param {
			break
		}
		drop++
	}
	if drop == len(s.entries) {
		s.entries = nil // gives the backing array back
	} else if drop > 0 {
		s.entries = s.entries[drop:]
	}
}

func (s *slidingLog) fresh() bool { return len(s.entries) == 0 }

func (s *slidingLog) decide(c, t uint64) types.Decision {
	limit, width := s.p.limit, s.p.param
	used := uint64(0)
	for _, e := range s.entries {
		used += e.cost
	}
	// used <= limit always, so limit - used cannot wrap.
	allowed := c <= limit-used
	if allowed && c > 0 {
		if n := len(s.entries); n > 0 && s.entries[n-1].time == t {
			s.entries[n-1].cost += c
		} else {
			s.entries = append(s.entries, logEntry{t, c})
		}
		used += c
	}
	retry := uint64(0)
	switch {
	case allowed:
	case c > limit:
		retry = never
	default:
		// Drop entries oldest first until the request fits; it is allowed
		// once the last one dropped has left the window.
		left := used
		lastDropped := uint64(0)
		for _, e := range s.entries {
			if c <= limit-left {
				break
			}
			left -= e.cost
			lastDropped = e.time
		}
		// lastDropped + W - t, with t - W < lastDropped <= t.
		retry = width - (t - lastDropped)
	}
	reset := uint64(0)
	if n := len(s.entries); n > 0 {
		reset = width - (t - s.entries[n-1].time)
	}
	return types.Decision{
		Allowed:      allowed,
		Limit:        limit,
		Remaining:    limit - used,
		ResetMs:      reset,
		RetryAfterMs: retry,
	}
}

// --- Sliding counter ------------------------------------------------------

// slidingCounter: the index k of the current window, and the counts of
// window k - 1 (prev) and of window k (cur).
type slidingCounter struct {
	p                 *policy
	window, prev, cur uint64
}

func (s *slidingCounter) advance(t uint64) {
	now := t / s.p.param
	if s.window+1 == now {
		s.prev, s.cur = s.cur, 0
	} else if now != s.window {
		s.prev, s.cur = 0, 0
	}
	s.window = now
}

func (s *slidingCounter) fresh() bool { return s.prev == 0 && s.cur == 0 }

func (s *slidingCounter) decide(c, t uint64) types.Decision {
	limit, width := s.p.limit, s.p.param
	elapsed := t % width // t - k * W
	// The estimate prev * (W - e) / W + cur, compared scaled by W, in 128
	// bits (each product is up to 10^30). A cost above the limit can never
	// pass; without it, cur + c <= 2 * 10^15 (cur <= limit always).
	weightedPrev := mul(s.prev, width-elapsed)
	capacity := mul(limit, width)
	allowed := c <= limit && !capacity.less(weightedPrev.add(mul(s.cur+c, width)))
	if allowed {
		s.cur += c
	}
	prev, cur := s.prev, s.cur
	retry := uint64(0)
	switch {
	case allowed:
	case c > limit:
		retry = never
	default:
		// The first moment the weighted estimate lets it through: later in
		// this window if the current count alone leaves room, else in the
		// next one (`width` there meaning the start of the window after).
		at, found := uint64(0), false
		if cur+c <= limit && prev > 0 {
			at, found = subFloor(width, mul(limit-cur-c, width).div(prev)), true
		}
		if found && at < width {
			retry = at - elapsed // at > elapsed: it is denied now
		} else {
			// With nothing counted in this window, the next one starts
			// empty.
			at = 0
			if cur > 0 {
				at = subFloor(width, mul(limit-c, width).div(cur))
			}
			retry = width + at - elapsed
		}
	}
	reset := uint64(0)
	switch {
	case cur > 0:
		reset = 2*width - elapsed
	case prev > 0:
		reset = width - elapsed
	}
	remaining := uint64(0)
	if used := weightedPrev.add(mul(cur, width)); used.less(capacity) {
		remaining = capacity.sub(used).div(width)
	}
	return types.Decision{
		Allowed:      allowed,
		Limit:        limit,
		Remaining:    remaining,
		ResetMs:      reset,
		RetryAfterMs: retry,
	}
}
