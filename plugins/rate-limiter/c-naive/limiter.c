// A correct but naive rate limiter in C, for the `gauntlet:rate-limiter/plugin`
// world.
//
// A translation of the Python naive (`../python-naive/app.py`), itself a
// translation of the Rust naive (`../naive/src/limiter.rs`): keys live in a
// hash table with chaining, the sliding log is an array summed by a linear
// scan, a new key's tier is found by scanning every tier rule (a known key
// keeps the policy it was given beside its state: `configure` forgets every
// key anyway), and idle keys are forgotten by a sweep of the whole table
// every SWEEP_EVERY checks (and at once when a check leaves its key fresh),
// so memory stays bounded with a million distinct keys.
//
// The specification's "exact arithmetic in 128 bits" is `unsigned __int128`
// (u128 below); results are clamped to u64 where the WIT saturates.
//
// Ownership, as wit-bindgen's C bindings rule it: every string and list an
// export receives belongs to this module (freed here), and every string it
// returns is freed by the bindings' post-return function (so it is copied
// onto the heap first).
//
// Build (see README.md): `gauntlet wit rate-limiter --bindings c` writes
// `plugin.h` and `plugin.c`; any C compiler for wasm32-wasi links them with
// this file into a core module, and `gauntlet componentize` makes the
// component.

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

typedef unsigned __int128 u128;

typedef gauntlet_rate_limiter_types_config_t config_t;
typedef gauntlet_rate_limiter_types_config_error_t config_error_t;
typedef gauntlet_rate_limiter_types_decision_t decision_t;

// `retry-after-ms` for a request no wait can make allowed (u64 max).
#define NEVER UINT64_MAX
// The largest value a policy may hold.
#define MAX_VALUE 1000000000000000ULL
// How many checks pass between two sweeps of the idle keys.
#define SWEEP_EVERY 1024
// The hash table's smallest size (a power of two).
#define MIN_BUCKETS 1024

// Kinds of policy.
enum kind { BUCKET, FIXED, LOG, COUNTER };

// A validated policy, flattened: kind, limit (capacity), and the rate (token
// bucket) or the window width in ms (windows).
typedef struct {
    plugin_string_t name;
    enum kind kind;
    uint64_t limit;
    uint64_t param;
} policy_t;

// A tier rule: keys starting with `prefix` use policies[policy].
typedef struct {
    plugin_string_t prefix;
    size_t policy;
} tier_t;

// One entry of a sliding log: the requests allowed at `time`, `cost` in all.
typedef struct {
    uint64_t time;
    uint64_t cost;
} log_entry_t;

// A key's state; which member is live depends on its policy's kind.
typedef union {
    struct { uint64_t level, last; } bucket;         // level in milli-tokens
    struct { uint64_t window, count; } fixed;        // window index k
    struct { log_entry_t *items; size_t len, cap; } log;  // oldest first
    struct { uint64_t window, prev, cur; } counter;  // window index k
} state_t;

// A known key: a node of its bucket's chain, the key's bytes inline.
typedef struct node {
    struct node *next;
    uint64_t hash;
    const policy_t *policy;
    state_t state;
    size_t key_len;
    uint8_t key[];
} node_t;

// --- The limiter's state (globals: one instance per component instance) ---

static bool configured;       // a configuration was accepted
static policy_t *policies;    // the accepted configuration's policies
static size_t policy_count;
static tier_t *tiers;         // its tier rules, in the order given
static size_t tier_count;
static size_t default_policy; // index into policies

static node_t **buckets;      // the known keys: a hash table of chains
static size_t bucket_count;   // a power of two (0 before the first key)
static size_t key_count;

static uint64_t high_water;   // the greatest clock reading seen: the limiter's time
static unsigned since_sweep;  // checks since the last sweep

// --- Small helpers ----------------------------------------------------------

// A non-negative result as a u64: values past u64 max saturate.
static uint64_t sat(u128 x) {
    return x > NEVER ? NEVER : (uint64_t)x;
}

static uint64_t div_ceil(u128 a, u128 b) {
    return sat((a + b - 1) / b);
}

static bool same(const plugin_string_t *a, const uint8_t *b, size_t b_len) {
    return a->len == b_len && (b_len == 0 || memcmp(a->ptr, b, b_len) == 0);
}

static bool starts_with(const uint8_t *s, size_t len, const plugin_string_t *prefix) {
    return prefix->len <= len && (prefix->len == 0 || memcmp(s, prefix->ptr, prefix->len) == 0);
}

// FNV-1a, 64 bits.
static uint64_t hash_bytes(const uint8_t *s, size_t len) {
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

// --- Configuration ----------------------------------------------------------

// A configuration error naming `name` (copied: the bindings free it).
static void config_error(config_error_t *err, uint8_t tag, const plugin_string_t *name) {
    err->tag = tag;
    // Every variant but no-policies carries one string, at the same place.
    plugin_string_dup_n(&err->val.duplicate_policy, (const char *)name->ptr, name->len);
}

// Whether `name` is the name of one of the first `n` policies of `config`.
static bool names_policy(const config_t *config, size_t n, const plugin_string_t *name) {
    for (size_t i = 0; i < n; i++) {
        if (same(&config->policies.ptr[i].name, name->ptr, name->len)) return true;
    }
    return false;
}

// Checks `config` in the order the WIT documents. Returns false with the
// first error in `err`.
static bool validate(const config_t *config, config_error_t *err) {
    if (config->policies.len == 0) {
        err->tag = GAUNTLET_RATE_LIMITER_TYPES_CONFIG_ERROR_NO_POLICIES;
        return false;
    }
    for (size_t i = 0; i < config->policies.len; i++) {
        const gauntlet_rate_limiter_types_policy_t *policy = &config->policies.ptr[i];
        const plugin_string_t *name = &policy->name;
        if (names_policy(config, i, name)) {
            config_error(err, GAUNTLET_RATE_LIMITER_TYPES_CONFIG_ERROR_DUPLICATE_POLICY, name);
            return false;
        }
        // The amount (capacity or limit) and the rate or the window width.
        uint64_t amount, other;
        bool bucket = policy->algorithm.tag == GAUNTLET_RATE_LIMITER_TYPES_ALGORITHM_TOKEN_BUCKET;
        if (bucket) {
            amount = policy->algorithm.val.token_bucket.capacity;
            other = policy->algorithm.val.token_bucket.refill_per_sec;
        } else {
            // The three window algorithms share one record type.
            amount = policy->algorithm.val.fixed_window.limit;
            other = policy->algorithm.val.fixed_window.window_ms;
        }
        uint8_t tag = 0;
        if (amount == 0) {
            tag = GAUNTLET_RATE_LIMITER_TYPES_CONFIG_ERROR_ZERO_CAPACITY;
        } else if (other == 0) {
            tag = bucket ? GAUNTLET_RATE_LIMITER_TYPES_CONFIG_ERROR_ZERO_RATE
                         : GAUNTLET_RATE_LIMITER_TYPES_CONFIG_ERROR_ZERO_WINDOW;
        } else if (amount > MAX_VALUE || other > MAX_VALUE) {
            tag = GAUNTLET_RATE_LIMITER_TYPES_CONFIG_ERROR_OVERFLOW;
        }
        if (tag != 0) {
            config_error(err, tag, name);
            return false;
        }
    }
    for (size_t i = 0; i < config->tiers.len; i++) {
        const gauntlet_rate_limiter_types_tier_t *tier = &config->tiers.ptr[i];
        for (size_t j = 0; j < i; j++) {
            if (same(&config->tiers.ptr[j].prefix, tier->prefix.ptr, tier->prefix.len)) {
                config_error(err, GAUNTLET_RATE_LIMITER_TYPES_CONFIG_ERROR_DUPLICATE_PREFIX,
                             &tier->prefix);
                return false;
            }
        }
        if (!names_policy(config, config->policies.len, &tier->policy)) {
            config_error(err, GAUNTLET_RATE_LIMITER_TYPES_CONFIG_ERROR_UNKNOWN_POLICY,
                         &tier->policy);
            return false;
        }
    }
    if (!names_policy(config, config->policies.len, &config->default_policy)) {
        config_error(err, GAUNTLET_RATE_LIMITER_TYPES_CONFIG_ERROR_UNKNOWN_POLICY,
                     &config->default_policy);
        return false;
    }
    return true;
}

// The index of the policy named `name` (validate made sure there is one).
static size_t policy_index(const plugin_string_t *name) {
    for (size_t i = 0; i < policy_count; i++) {
        if (same(&policies[i].name, name->ptr, name->len)) return i;
    }
    return 0;
}

// --- Per-key state ----------------------------------------------------------

static void new_state(const policy_t *p, state_t *s, uint64_t t) {
    memset(s, 0, sizeof *s);
    switch (p->kind) {
    case BUCKET:
        s->bucket.level = p->limit * 1000; // at most 10^18: fits
        s->bucket.last = t;
        break;
    case FIXED:
        s->fixed.window = t / p->param;
        break;
    case LOG:
        break; // empty
    case COUNTER:
        s->counter.window = t / p->param;
        break;
    }
}

static void free_state(const policy_t *p, state_t *s) {
    if (p->kind == LOG) free(s->log.items);
}

// Brings state `s` to time `t` (never earlier than its own).
static void advance(const policy_t *p, state_t *s, uint64_t t) {
    switch (p->kind) {
    case BUCKET: {
        u128 full = (u128)p->limit * 1000;
        u128 level = s->bucket.level + (u128)p->param * (t - s->bucket.last);
        s->bucket.level = (uint64_t)(level > full ? full : level);
        s->bucket.last = t;
        break;
    }
    case FIXED: {
        uint64_t now = t / p->param;
        if (now != s->fixed.window) {
            s->fixed.window = now;
            s->fixed.count = 0;
        }
        break;
    }
    case LOG: {
        // Entries with time <= t - W leave the window (none if t < W).
        size_t drop = 0;
        while (drop < s->log.len && (u128)s->log.items[drop].time + p->param <= t) drop++;
        if (drop > 0) {
            s->log.len -= drop;
            memmove(s->log.items, s->log.items + drop, s->log.len * sizeof(log_entry_t));
        }
        break;
    }
    case COUNTER: {
        uint64_t now = t / p->param;
        if (s->counter.window + 1 == now) {
            s->counter.prev = s->counter.cur;
            s->counter.cur = 0;
        } else if (now != s->counter.window) {
            s->counter.prev = 0;
            s->counter.cur = 0;
        }
        s->counter.window = now;
        break;
    }
    }
}

static bool is_fresh(const policy_t *p, const state_t *s) {
    switch (p->kind) {
    case BUCKET: return s->bucket.level == p->limit * 1000;
    case FIXED: return s->fixed.count == 0;
    case LOG: return s->log.len == 0;
    case COUNTER: return s->counter.prev == 0 && s->counter.cur == 0;
    }
    return true;
}

// --- The four algorithms: decides a request of cost `c` at `t` (the state
// already at `t`), spending it if allowed. --------------------------------

static decision_t decide_bucket(const policy_t *p, state_t *s, uint64_t c) {
    u128 full = (u128)p->limit * 1000;
    u128 need = (u128)c * 1000;
    bool allowed = s->bucket.level >= need;
    if (allowed) s->bucket.level -= (uint64_t)need;
    uint64_t level = s->bucket.level;
    uint64_t retry;
    if (allowed) {
        retry = 0;
    } else if (c > p->limit) {
        retry = NEVER;
    } else {
        retry = div_ceil(need - level, p->param);
    }
    return (decision_t){allowed, p->limit, level / 1000, div_ceil(full - level, p->param), retry};
}

static decision_t decide_fixed(const policy_t *p, state_t *s, uint64_t c, uint64_t t) {
    uint64_t limit = p->limit;
    bool allowed = (u128)s->fixed.count + c <= limit;
    if (allowed) s->fixed.count += c;
    u128 window_end = ((u128)s->fixed.window + 1) * p->param;
    uint64_t retry;
    if (allowed) {
        retry = 0;
    } else if (c > limit) {
        retry = NEVER;
    } else {
        retry = sat(window_end - t);
    }
    uint64_t reset = s->fixed.count > 0 ? sat(window_end - t) : 0;
    return (decision_t){allowed, limit, limit - s->fixed.count, reset, retry};
}

static decision_t decide_log(const policy_t *p, state_t *s, uint64_t c, uint64_t t) {
    uint64_t limit = p->limit;
    uint64_t width = p->param;
    u128 used = 0;
    for (size_t i = 0; i < s->log.len; i++) used += s->log.items[i].cost;
    bool allowed = used + c <= limit;
    if (allowed && c > 0) {
        // Requests at the same time share one entry: the sums and times the
        // specification reads are the same either way.
        if (s->log.len > 0 && s->log.items[s->log.len - 1].time == t) {
            s->log.items[s->log.len - 1].cost += c;
        } else {
            if (s->log.len == s->log.cap) {
                size_t cap = s->log.cap ? s->log.cap * 2 : 4;
                log_entry_t *items = realloc(s->log.items, cap * sizeof(log_entry_t));
                if (items == NULL) abort();
                s->log.items = items;
                s->log.cap = cap;
            }
            s->log.items[s->log.len++] = (log_entry_t){t, c};
        }
        used += c;
    }
    uint64_t retry;
    if (allowed) {
        retry = 0;
    } else if (c > limit) {
        retry = NEVER;
    } else {
        // Drop entries oldest first until the request fits.
        u128 left = used;
        uint64_t last_dropped = 0;
        for (size_t i = 0; i < s->log.len && left + c > limit; i++) {
            left -= s->log.items[i].cost;
            last_dropped = s->log.items[i].time;
        }
        retry = sat((u128)last_dropped + width - t);
    }
    uint64_t reset = 0;
    if (s->log.len > 0) reset = sat((u128)s->log.items[s->log.len - 1].time + width - t);
    return (decision_t){allowed, limit, sat(limit - used), reset, retry};
}

static decision_t decide_counter(const policy_t *p, state_t *s, uint64_t c, uint64_t t) {
    u128 limit = p->limit;
    u128 width = p->param;
    u128 start = (u128)s->counter.window * width;
    u128 elapsed = t - start;
    // The estimate prev * (W - e) / W + cur, compared scaled by W.
    u128 weighted_prev = (u128)s->counter.prev * (width - elapsed);
    bool allowed = weighted_prev + ((u128)s->counter.cur + c) * width <= limit * width;
    if (allowed) s->counter.cur += c;
    u128 prev = s->counter.prev;
    u128 cur = s->counter.cur;
    uint64_t retry;
    if (allowed) {
        retry = 0;
    } else if (c > limit) {
        retry = NEVER;
    } else {
        // The first moment the weighted estimate lets it through: later in
        // this window if the current count alone leaves room, else in the
        // next one (`width` there meaning the start of the window after).
        bool in_this_window = false;
        u128 at = 0;
        if (cur + c <= limit && prev > 0) {
            u128 room = (limit - cur - c) * width / prev;
            at = room >= width ? 0 : width - room;
            in_this_window = at < width;
        }
        if (in_this_window) {
            retry = sat(start + at - t);
        } else {
            // With nothing counted in this window, the next one starts empty.
            at = 0;
            if (cur > 0) {
                u128 room = (limit - c) * width / cur;
                at = room >= width ? 0 : width - room;
            }
            retry = sat(start + width + at - t);
        }
    }
    u128 used = weighted_prev + cur * width;
    uint64_t reset;
    if (cur > 0) {
        reset = sat(start + 2 * width - t);
    } else if (prev > 0) {
        reset = sat(start + width - t);
    } else {
        reset = 0;
    }
    uint64_t remaining = limit * width > used ? sat((limit * width - used) / width) : 0;
    return (decision_t){allowed, p->limit, remaining, reset, retry};
}

static decision_t decide(const policy_t *p, state_t *s, uint64_t c, uint64_t t) {
    switch (p->kind) {
    case BUCKET: return decide_bucket(p, s, c);
    case FIXED: return decide_fixed(p, s, c, t);
    case LOG: return decide_log(p, s, c, t);
    case COUNTER: return decide_counter(p, s, c, t);
    }
    abort();
}

// --- The known keys ---------------------------------------------------------

static node_t **find(const uint8_t *key, size_t len, uint64_t hash) {
    if (bucket_count == 0) return NULL;
    node_t **at = &buckets[hash & (bucket_count - 1)];
    while (*at != NULL) {
        if ((*at)->hash == hash && (*at)->key_len == len &&
            (len == 0 || memcmp((*at)->key, key, len) == 0)) {
            return at;
        }
        at = &(*at)->next;
    }
    return at;
}

// Rehashes every node into a table of `count` buckets (a power of two).
static void resize(size_t count) {
    node_t **fresh = calloc(count, sizeof(node_t *));
    if (fresh == NULL) abort();
    for (size_t i = 0; i < bucket_count; i++) {
        node_t *n = buckets[i];
        while (n != NULL) {
            node_t *next = n->next;
            node_t **head = &fresh[n->hash & (count - 1)];
            n->next = *head;
            *head = n;
            n = next;
        }
    }
    free(buckets);
    buckets = fresh;
    bucket_count = count;
}

static void insert(node_t *n) {
    if (key_count >= bucket_count) resize(bucket_count ? bucket_count * 2 : MIN_BUCKETS);
    node_t **head = &buckets[n->hash & (bucket_count - 1)];
    n->next = *head;
    *head = n;
    key_count++;
}

static void free_node(node_t *n) {
    free_state(n->policy, &n->state);
    free(n);
}

// Unlinks the node at `*at` and frees it.
static void remove_at(node_t **at) {
    node_t *n = *at;
    *at = n->next;
    free_node(n);
    key_count--;
}

// Forgets every key whose state is fresh at `t`; shrinks the table when it
// is mostly empty, so that memory follows the live keys down again.
static void sweep(uint64_t t) {
    for (size_t i = 0; i < bucket_count; i++) {
        node_t **at = &buckets[i];
        while (*at != NULL) {
            advance((*at)->policy, &(*at)->state, t);
            if (is_fresh((*at)->policy, &(*at)->state)) {
                remove_at(at);
            } else {
                at = &(*at)->next;
            }
        }
    }
    size_t target = bucket_count;
    while (target > MIN_BUCKETS && key_count < target / 4) target /= 2;
    if (target != bucket_count) resize(target);
}

static void forget_all(void) {
    for (size_t i = 0; i < bucket_count; i++) {
        node_t *n = buckets[i];
        while (n != NULL) {
            node_t *next = n->next;
            free_node(n);
            n = next;
        }
    }
    free(buckets);
    buckets = NULL;
    bucket_count = 0;
    key_count = 0;
}

// The policy of the longest tier prefix `key` starts with, else the default.
static const policy_t *policy_for(const uint8_t *key, size_t len) {
    size_t chosen = default_policy;
    size_t longest = 0;
    bool matched = false;
    for (size_t i = 0; i < tier_count; i++) {
        const plugin_string_t *prefix = &tiers[i].prefix;
        if ((!matched || prefix->len > longest) && starts_with(key, len, prefix)) {
            matched = true;
            longest = prefix->len;
            chosen = tiers[i].policy;
        }
    }
    return &policies[chosen];
}

// --- The exports ------------------------------------------------------------

static void free_configuration(void) {
    for (size_t i = 0; i < policy_count; i++) plugin_string_free(&policies[i].name);
    for (size_t i = 0; i < tier_count; i++) plugin_string_free(&tiers[i].prefix);
    free(policies);
    free(tiers);
    policies = NULL;
    tiers = NULL;
    policy_count = tier_count = 0;
}

bool exports_gauntlet_rate_limiter_limiter_configure(config_t *config, config_error_t *err) {
    bool ok = validate(config, err);
    if (ok) {
        // The keys' states point at the old policies: forget them first.
        forget_all();
        free_configuration();
        policy_count = config->policies.len;
        policies = calloc(policy_count, sizeof(policy_t));
        tier_count = config->tiers.len;
        tiers = calloc(tier_count ? tier_count : 1, sizeof(tier_t));
        if (policies == NULL || tiers == NULL) abort();
        for (size_t i = 0; i < policy_count; i++) {
            const gauntlet_rate_limiter_types_policy_t *from = &config->policies.ptr[i];
            policy_t *p = &policies[i];
            // Take the name over: the config is freed below, name aside.
            p->name = from->name;
            config->policies.ptr[i].name = (plugin_string_t){NULL, 0};
            switch (from->algorithm.tag) {
            case GAUNTLET_RATE_LIMITER_TYPES_ALGORITHM_TOKEN_BUCKET:
                p->kind = BUCKET;
                p->limit = from->algorithm.val.token_bucket.capacity;
                p->param = from->algorithm.val.token_bucket.refill_per_sec;
                break;
            case GAUNTLET_RATE_LIMITER_TYPES_ALGORITHM_FIXED_WINDOW:
                p->kind = FIXED;
                p->limit = from->algorithm.val.fixed_window.limit;
                p->param = from->algorithm.val.fixed_window.window_ms;
                break;
            case GAUNTLET_RATE_LIMITER_TYPES_ALGORITHM_SLIDING_LOG:
                p->kind = LOG;
                p->limit = from->algorithm.val.sliding_log.limit;
                p->param = from->algorithm.val.sliding_log.window_ms;
                break;
            default:
                p->kind = COUNTER;
                p->limit = from->algorithm.val.sliding_counter.limit;
                p->param = from->algorithm.val.sliding_counter.window_ms;
                break;
            }
        }
        for (size_t i = 0; i < tier_count; i++) {
            tiers[i].prefix = config->tiers.ptr[i].prefix;
            config->tiers.ptr[i].prefix = (plugin_string_t){NULL, 0};
            tiers[i].policy = policy_index(&config->tiers.ptr[i].policy);
        }
        default_policy = policy_index(&config->default_policy);
        configured = true;
    }
    // The configuration is ours to free (what was taken over is emptied).
    exports_gauntlet_rate_limiter_limiter_config_free(config);
    return ok;
}

void exports_gauntlet_rate_limiter_limiter_check(plugin_string_t *key, uint64_t cost,
                                                 decision_t *ret) {
    // The clock may step backwards; the limiter's time never does.
    uint64_t now = gauntlet_harness_clock_now_ms();
    if (now > high_water) high_water = now;
    uint64_t t = high_water;

    if (!configured) {
        *ret = (decision_t){false, 0, 0, 0, NEVER};
        plugin_string_free(key);
        return;
    }

    if (++since_sweep >= SWEEP_EVERY) {
        since_sweep = 0;
        sweep(t);
    }

    uint64_t hash = hash_bytes(key->ptr, key->len);
    node_t **at = find(key->ptr, key->len, hash);
    node_t *n = at != NULL ? *at : NULL;
    if (n == NULL) {
        // A new key (or one forgotten while fresh: the same thing).
        n = malloc(sizeof(node_t) + key->len);
        if (n == NULL) abort();
        n->next = NULL;
        n->hash = hash;
        n->policy = policy_for(key->ptr, key->len);
        new_state(n->policy, &n->state, t);
        n->key_len = key->len;
        if (key->len > 0) memcpy(n->key, key->ptr, key->len);
        at = NULL; // not in the table
    }
    advance(n->policy, &n->state, t);
    *ret = decide(n->policy, &n->state, cost, t);
    if (is_fresh(n->policy, &n->state)) {
        if (at != NULL) {
            remove_at(at);
        } else {
            free_node(n);
        }
    } else if (at == NULL) {
        insert(n);
    }
    plugin_string_free(key);
}
