// A correct but naive payment gateway in C, for the `gauntlet:payments/plugin`
// world.
//
// A translation of the Python naive (`../python-naive/app.py`), itself a
// translation of the Rust naive (`../naive/src/lib.rs`). Everything that must
// survive a crash is in the durable store, in the field encoding of
// encoding.h (wasi-libc has no JSON; this one needs no escaping):
//
// - `payment/{id}`: the whole payment, plus the operation in flight on it,
//   if any (which, the client's idempotency key, and the card for an
//   authorization), written before the bank is first called and cleared
//   when the bank's answer is recorded;
// - `idem/{operation}/{key}`: the whole request as the client sent it, the
//   payment it concerns, and the final answer once there is one;
// - `meta/last-payment`: the last payment number handed out, in decimal.
//
// Nothing is clever: there are no indexes (a listing reads and decodes every
// payment in the store, then filters and sorts), and `recover` reads every
// payment (decoding those whose record starts with an operation in flight)
// before it settles the ones in flight. But every rule is kept: bank
// keys are `{payment-id}/{operation}` whatever the attempt, crash or
// recovery; only `unavailable` and `timeout` are retried (after 100, 200, 400
// and 800 ms of virtual sleep, five attempts in all); each change of the
// store is one transaction; and the choices the specification leaves open are
// made as the reference makes them, so that every answer is the same.
//
// An answer is an `answer_t`: a payment, a final failure (recorded for the
// client's key), or what the Python raises as `Fail` (the store refused, or
// the bank is still not answering: nothing recorded, the operation stays in
// flight). A failure is the WIT's own `payment-error`.
//
// Ownership, as wit-bindgen's C bindings rule it: every string and list an
// export receives, and every one an import returns, belongs to this module
// (freed here); every string and list an export returns is freed by the
// bindings' post-return function. So values move: a function taking a
// `pay_t` by value owns it (frees it, or hands it on), and every string kept
// is a heap copy.

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "plugin.h"

typedef exports_gauntlet_payments_gateway_payment_t wit_payment_t;
typedef exports_gauntlet_payments_gateway_authorize_request_t wit_request_t;
typedef exports_gauntlet_payments_gateway_payment_error_t failure_t;
typedef exports_gauntlet_payments_gateway_payment_state_t state_t;
typedef exports_gauntlet_payments_gateway_transition_t transition_t;
typedef gauntlet_payments_bank_card_t card_t;
typedef gauntlet_harness_store_write_t write_t;

// Short names for the bindings' constants: ERR(NOT_FOUND), STATE(PENDING),
// BANK(TIMEOUT).
#define ERR(name) EXPORTS_GAUNTLET_PAYMENTS_GATEWAY_PAYMENT_ERROR_##name
#define STATE(name) EXPORTS_GAUNTLET_PAYMENTS_GATEWAY_PAYMENT_STATE_##name
#define BANK(name) GAUNTLET_PAYMENTS_BANK_BANK_ERROR_##name

// The waits between the attempts of one bank call (virtual ms).
static const uint64_t BACKOFF_MS[] = {100, 200, 400, 800};
#define RETRIES (sizeof BACKOFF_MS / sizeof BACKOFF_MS[0])

static const char LAST_PAYMENT[] = "meta/last-payment";
static const char PAYMENTS[] = "payment/";
// Entries per page of a scan.
#define PAGE 100

typedef enum { OP_AUTHORIZE, OP_CAPTURE, OP_VOID, OP_REFUND } op_t;

static const char *const OP_NAME[] = {"authorize", "capture", "void", "refund"};
// The state each operation starts from, and the state it leads to.
static const state_t FROM[] = {STATE(PENDING), STATE(AUTHORIZED), STATE(AUTHORIZED),
                               STATE(CAPTURED)};
static const state_t TO[] = {STATE(AUTHORIZED), STATE(CAPTURED), STATE(VOIDED),
                             STATE(REFUNDED)};

// The bank's errors by tag, named as the Rust naive names them in messages.
static const char *const BANK_ERROR_NAME[] = {
    "InvalidCard",    "InvalidCvv",      "InvalidAmount", "CardExpired", "InsufficientFunds",
    "UnknownAuthorization", "AlreadyUsed", "AuthorizationExpired", "AmountMismatch",
    "UnknownCapture", "AlreadyRefunded", "Unavailable",   "Timeout",
};
static const char *const STORE_ERROR_NAME[] = {"KeyTooLarge", "ValueTooLarge", "QuotaExceeded"};

// ---------------------------------------------------------------------------
// What is stored
// ---------------------------------------------------------------------------

// An operation started at the bank and not yet settled.
typedef struct {
    bool some;
    op_t op;
    plugin_string_t key; // the client's idempotency key
    bool has_card;       // an authorization's card
    card_t card;
} flight_t;

typedef struct {
    uint64_t number;
    plugin_string_t id;
    plugin_string_t order_id;
    plugin_string_t customer_id;
    uint64_t amount;
    state_t state;
    // The bank's receipt ids, by the operation that got them: the
    // authorization, capture, void and refund ids.
    plugin_option_string_t receipt[4];
    exports_gauntlet_payments_gateway_list_transition_t transitions;
    flight_t in_flight;
} pay_t;

typedef enum {
    ANSWER_OK,   // the payment
    ANSWER_ERR,  // a final failure, recorded for the client's key
    ANSWER_FAIL, // the store refused, or the bank is still not answering
} answer_kind_t;

typedef struct {
    answer_kind_t kind;
    pay_t pay;         // ANSWER_OK
    failure_t failure; // otherwise
} answer_t;

// `idem/{operation}/{key}`.
typedef struct {
    plugin_string_t request;    // the request's encoding (see encode_*_request)
    plugin_string_t payment_id;
    bool answered;
    answer_t answer;            // ANSWER_OK or ANSWER_ERR, once answered
} idem_t;

// How the bank ended an operation: done (with the receipt id if the bank
// gave one), or refused.
typedef struct {
    bool done;
    plugin_option_string_t receipt;
    failure_t failure;
} outcome_t;

// --- Constructors and destructors -------------------------------------------

static failure_t failure(uint8_t tag) {
    failure_t f;
    memset(&f, 0, sizeof f);
    f.tag = tag;
    return f;
}

static failure_t invalid_transition(state_t state) {
    failure_t f = failure(ERR(INVALID_TRANSITION));
    f.val.invalid_transition = state;
    return f;
}

static failure_t other(plugin_string_t message) {
    failure_t f = failure(ERR(OTHER));
    f.val.other = message;
    return f;
}

static answer_t ok(pay_t pay) {
    return (answer_t){.kind = ANSWER_OK, .pay = pay};
}

static answer_t err(failure_t f) {
    return (answer_t){.kind = ANSWER_ERR, .failure = f};
}

static answer_t fail(failure_t f) {
    return (answer_t){.kind = ANSWER_FAIL, .failure = f};
}

static void flight_clear(flight_t *f) {
    plugin_string_free(&f->key);
    if (f->has_card) gauntlet_payments_bank_card_free(&f->card);
    memset(f, 0, sizeof *f);
}

static void pay_free(pay_t *p) {
    plugin_string_free(&p->id);
    plugin_string_free(&p->order_id);
    plugin_string_free(&p->customer_id);
    for (int i = 0; i < 4; i++) plugin_option_string_free(&p->receipt[i]);
    exports_gauntlet_payments_gateway_list_transition_free(&p->transitions);
    flight_clear(&p->in_flight);
}

static void answer_free(answer_t *a) {
    if (a->kind == ANSWER_OK) {
        pay_free(&a->pay);
    } else {
        exports_gauntlet_payments_gateway_payment_error_free(&a->failure);
    }
}

static void idem_free(idem_t *idem) {
    plugin_string_free(&idem->request);
    plugin_string_free(&idem->payment_id);
    if (idem->answered) answer_free(&idem->answer);
}

static card_t card_copy(const card_t *c) {
    return (card_t){str_copy(c->number.ptr, c->number.len), str_copy(c->cvv.ptr, c->cvv.len),
                    c->expiry_month, c->expiry_year};
}

static void add_transition(pay_t *p, state_t state, uint64_t at_ms) {
    size_t n = p->transitions.len;
    transition_t *grown = realloc(p->transitions.ptr, (n + 1) * sizeof(transition_t));
    if (grown == NULL) abort();
    grown[n] = (transition_t){state, at_ms};
    p->transitions.ptr = grown;
    p->transitions.len = n + 1;
}

// ---------------------------------------------------------------------------
// Encoding and decoding records
// ---------------------------------------------------------------------------

// A number no greater than `max` (an enum's tag, a month, a year).
static uint64_t get_small(reader_t *r, uint64_t max) {
    uint64_t value = get_u64(r);
    if (value > max) r->ok = false;
    return value;
}

static void put_card(buf_t *b, const card_t *c) {
    put_str(b, &c->number);
    put_str(b, &c->cvv);
    put_u64(b, c->expiry_month);
    put_u64(b, c->expiry_year);
}

static card_t get_card(reader_t *r) {
    card_t c;
    c.number = get_str(r);
    c.cvv = get_str(r);
    c.expiry_month = (uint8_t)get_small(r, UINT8_MAX);
    c.expiry_year = (uint16_t)get_small(r, UINT16_MAX);
    return c;
}

// A payment's record starts with its operation in flight (`-,` when there is
// none), so that `recover` can skip the settled ones by their first two
// bytes, without decoding them.
static void put_payment(buf_t *b, const pay_t *p) {
    if (!p->in_flight.some) {
        put_none(b);
    } else {
        put_u64(b, p->in_flight.op);
        put_str(b, &p->in_flight.key);
        if (p->in_flight.has_card) {
            put_card(b, &p->in_flight.card);
        } else {
            put_none(b);
        }
    }
    put_u64(b, p->number);
    put_str(b, &p->id);
    put_str(b, &p->order_id);
    put_str(b, &p->customer_id);
    put_u64(b, p->amount);
    put_u64(b, p->state);
    for (int i = 0; i < 4; i++) put_opt_str(b, &p->receipt[i]);
    put_u64(b, p->transitions.len);
    for (size_t i = 0; i < p->transitions.len; i++) {
        put_u64(b, p->transitions.ptr[i].state);
        put_u64(b, p->transitions.ptr[i].at_ms);
    }
}

static pay_t get_payment(reader_t *r) {
    pay_t p;
    memset(&p, 0, sizeof p);
    if (!get_none(r)) {
        p.in_flight.some = true;
        p.in_flight.op = (op_t)get_small(r, OP_REFUND);
        p.in_flight.key = get_str(r);
        if (!get_none(r)) {
            p.in_flight.has_card = true;
            p.in_flight.card = get_card(r);
        }
    }
    p.number = get_u64(r);
    p.id = get_str(r);
    p.order_id = get_str(r);
    p.customer_id = get_str(r);
    p.amount = get_u64(r);
    p.state = (state_t)get_small(r, STATE(REFUNDED));
    for (int i = 0; i < 4; i++) p.receipt[i] = get_opt_str(r);
    // Each transition takes 4 bytes at least: a bound on a broken count.
    uint64_t count = get_small(r, r->left / 4);
    for (uint64_t i = 0; i < count && r->ok; i++) {
        state_t state = (state_t)get_small(r, STATE(REFUNDED));
        add_transition(&p, state, get_u64(r));
    }
    return p;
}

static plugin_string_t encode_payment(const pay_t *p) {
    buf_t b = {0};
    put_payment(&b, p);
    return buf_take(&b);
}

static void put_failure(buf_t *b, const failure_t *f) {
    put_u64(b, f->tag);
    if (f->tag == ERR(INVALID_TRANSITION)) put_u64(b, f->val.invalid_transition);
    if (f->tag == ERR(OTHER)) put_str(b, &f->val.other);
}

static failure_t get_failure(reader_t *r) {
    failure_t f = failure((uint8_t)get_small(r, ERR(OTHER)));
    if (f.tag == ERR(INVALID_TRANSITION)) {
        f.val.invalid_transition = (state_t)get_small(r, STATE(REFUNDED));
    }
    if (f.tag == ERR(OTHER)) f.val.other = get_str(r);
    return f;
}

// An idempotency record: the request, the payment, and the answer (NULL:
// none yet), `-,` or `0,` and the payment or `1,` and the failure.
static plugin_string_t encode_idem(const plugin_string_t *request,
                                   const plugin_string_t *payment_id, const answer_t *answer) {
    buf_t b = {0};
    put_str(&b, request);
    put_str(&b, payment_id);
    if (answer == NULL) {
        put_none(&b);
    } else if (answer->kind == ANSWER_OK) {
        put_u64(&b, 0);
        put_payment(&b, &answer->pay);
    } else {
        put_u64(&b, 1);
        put_failure(&b, &answer->failure);
    }
    return buf_take(&b);
}

static idem_t get_idem(reader_t *r) {
    idem_t idem;
    memset(&idem, 0, sizeof idem);
    idem.request = get_str(r);
    idem.payment_id = get_str(r);
    if (!get_none(r)) {
        idem.answered = true;
        if (get_small(r, 1) == 0) {
            idem.answer = ok(get_payment(r));
        } else {
            idem.answer = err(get_failure(r));
        }
    }
    return idem;
}

// The request as the client sent it (but its idempotency key): two requests
// under one key must be equal, and they are iff their encodings are. Its
// first field is its kind.
enum { REQUEST_AUTHORIZE, REQUEST_ON_PAYMENT };

static plugin_string_t encode_authorize_request(const wit_request_t *request) {
    buf_t b = {0};
    put_u64(&b, REQUEST_AUTHORIZE);
    put_str(&b, &request->order_id);
    put_str(&b, &request->customer_id);
    put_u64(&b, request->amount);
    put_card(&b, &request->card);
    return buf_take(&b);
}

static plugin_string_t encode_payment_request(const plugin_string_t *payment_id) {
    buf_t b = {0};
    put_u64(&b, REQUEST_ON_PAYMENT);
    put_str(&b, payment_id);
    return buf_take(&b);
}

// ---------------------------------------------------------------------------
// The store, the naive way
// ---------------------------------------------------------------------------

static plugin_string_t payment_key(const plugin_string_t *payment_id) {
    buf_t b = {0};
    buf_add_cstr(&b, PAYMENTS);
    buf_add(&b, payment_id->ptr, payment_id->len);
    return buf_take(&b);
}

static plugin_string_t idem_key(op_t op, const plugin_string_t *client_key) {
    buf_t b = {0};
    buf_add_cstr(&b, "idem/");
    buf_add_cstr(&b, OP_NAME[op]);
    buf_add_cstr(&b, "/");
    buf_add(&b, client_key->ptr, client_key->len);
    return buf_take(&b);
}

// `pay-000001`: the payment number, zero-padded to six digits (as `%06`).
static plugin_string_t payment_id(uint64_t number) {
    buf_t b = {0};
    buf_add_cstr(&b, "pay-");
    for (uint64_t power = 100000; power > 1 && number < power; power /= 10) buf_add(&b, "0", 1);
    buf_add_u64(&b, number);
    return buf_take(&b);
}

static plugin_string_t decimal(uint64_t number) {
    buf_t b = {0};
    buf_add_u64(&b, number);
    return buf_take(&b);
}

// The bank's idempotency key of an operation: `{payment-id}/{operation}`,
// whatever the attempt, crash or recovery.
static plugin_string_t bank_key_of(const plugin_string_t *payment_id, op_t op) {
    buf_t b = {0};
    buf_add(&b, payment_id->ptr, payment_id->len);
    buf_add_cstr(&b, "/");
    buf_add_cstr(&b, OP_NAME[op]);
    return buf_take(&b);
}

typedef enum { FOUND, ABSENT, BROKEN } found_t;

static failure_t cannot_read(const plugin_string_t *key) {
    return other(str_printf("store: cannot read %.*s", (int)key->len, (const char *)key->ptr));
}

// Reads the payment at `key` into `*out`. BROKEN: it does not decode, and
// `*fail` says so.
static found_t read_payment(const plugin_string_t *key, pay_t *out, failure_t *fail) {
    plugin_list_u8_t raw;
    if (!gauntlet_harness_store_get((plugin_string_t *)key, &raw)) return ABSENT;
    reader_t r = reader(raw.ptr, raw.len);
    *out = get_payment(&r);
    plugin_list_u8_free(&raw);
    if (reader_done(&r)) return FOUND;
    pay_free(out);
    *fail = cannot_read(key);
    return BROKEN;
}

// Reads the idempotency record at `key`, as read_payment.
static found_t read_idem(const plugin_string_t *key, idem_t *out, failure_t *fail) {
    plugin_list_u8_t raw;
    if (!gauntlet_harness_store_get((plugin_string_t *)key, &raw)) return ABSENT;
    reader_t r = reader(raw.ptr, raw.len);
    *out = get_idem(&r);
    plugin_list_u8_free(&raw);
    if (reader_done(&r)) return FOUND;
    idem_free(out);
    *fail = cannot_read(key);
    return BROKEN;
}

// The last payment number handed out (0 if none yet).
static bool read_counter(uint64_t *last, failure_t *fail) {
    plugin_string_t key;
    plugin_string_set(&key, LAST_PAYMENT);
    plugin_list_u8_t raw;
    *last = 0;
    if (!gauntlet_harness_store_get(&key, &raw)) return true;
    bool good = raw.len > 0 && raw.len <= 20;
    for (size_t i = 0; good && i < raw.len; i++) {
        uint8_t d = raw.ptr[i];
        good = d >= '0' && d <= '9' && *last <= (UINT64_MAX - (d - '0')) / 10;
        if (good) *last = *last * 10 + (d - '0');
    }
    plugin_list_u8_free(&raw);
    if (!good) *fail = other(str_cstr("store: bad payment counter"));
    return good;
}

// A write of `value` at `key` (both taken over), or a deletion of `key`.
static write_t put_write(plugin_string_t key, plugin_string_t value) {
    return (write_t){key, {true, {value.ptr, value.len}}};
}

static write_t delete_write(plugin_string_t key) {
    return (write_t){key, {false, {NULL, 0}}};
}

// Applies `writes` all or nothing, in one transaction, and frees them.
// False, with `*fail`: the store refused.
static bool save(write_t *writes, size_t n, failure_t *fail) {
    gauntlet_harness_store_list_condition_t conditions = {NULL, 0};
    gauntlet_harness_store_list_write_t list = {writes, n};
    bool done = false;
    gauntlet_harness_store_store_error_t error;
    bool answered = gauntlet_harness_store_transact(&conditions, &list, &done, &error);
    for (size_t i = 0; i < n; i++) gauntlet_harness_store_write_free(&writes[i]);
    if (!answered) {
        *fail = other(str_printf("store: %s", STORE_ERROR_NAME[error.tag]));
        return false;
    }
    if (!done) {
        *fail = other(str_cstr("store: transaction refused"));
        return false;
    }
    return true;
}

typedef struct {
    pay_t *items;
    size_t len;
    size_t cap;
} pays_t;

static void pays_push(pays_t *all, pay_t pay) {
    if (all->len == all->cap) {
        size_t cap = all->cap ? all->cap * 2 : 16;
        pay_t *grown = realloc(all->items, cap * sizeof(pay_t));
        if (grown == NULL) abort();
        all->items = grown;
        all->cap = cap;
    }
    all->items[all->len++] = pay;
}

// Every payment in the store, in key order, that `keep` accepts (given
// `arg`); NULL keeps them all. A payment that does not decode is skipped.
// `in_flight_only`: only the payments with an operation in flight, told by
// the first bytes of their records (see put_payment), are decoded at all
// (decoding every payment was most of the cost of a recovery).
static pays_t all_payments(bool in_flight_only,
                           bool (*keep)(const pay_t *, const plugin_string_t *),
                           const plugin_string_t *arg) {
    pays_t found = {0};
    plugin_string_t prefix;
    plugin_string_set(&prefix, PAYMENTS);
    plugin_string_t after = {NULL, 0};
    bool started = false;
    bool stop = false;
    while (!stop) {
        plugin_list_tuple2_string_list_u8_t page;
        gauntlet_harness_store_scan(&prefix, started ? &after : NULL, PAGE, &page);
        stop = page.len < PAGE;
        for (size_t i = 0; i < page.len; i++) {
            const plugin_string_t *key = &page.ptr[i].f0;
            // Keys come in increasing order; if not, stop rather than loop.
            if (started && str_cmp(key, &after) <= 0) {
                stop = true;
                break;
            }
            plugin_string_free(&after);
            after = str_copy(key->ptr, key->len);
            started = true;
            const plugin_list_u8_t *raw = &page.ptr[i].f1;
            if (in_flight_only && raw->len >= 2 && memcmp(raw->ptr, "-,", 2) == 0) continue;
            reader_t r = reader(raw->ptr, raw->len);
            pay_t pay = get_payment(&r);
            if (reader_done(&r) && (keep == NULL || keep(&pay, arg))) {
                pays_push(&found, pay);
            } else {
                pay_free(&pay);
            }
        }
        plugin_list_tuple2_string_list_u8_free(&page);
    }
    plugin_string_free(&after);
    return found;
}

// ---------------------------------------------------------------------------
// The gateway
// ---------------------------------------------------------------------------

static answer_t settle(pay_t pay, bool fresh);
static answer_t replay(op_t op, const plugin_string_t *client_key, idem_t *idem,
                       const plugin_string_t *asked);

static answer_t authorize(const wit_request_t *request) {
    plugin_string_t asked = encode_authorize_request(request);
    plugin_string_t key = idem_key(OP_AUTHORIZE, &request->idempotency_key);
    answer_t answer;
    failure_t f;
    idem_t idem;
    found_t found = read_idem(&key, &idem, &f);
    if (found == BROKEN) {
        answer = fail(f);
        goto done;
    }
    if (found == FOUND) {
        answer = replay(OP_AUTHORIZE, &request->idempotency_key, &idem, &asked);
        idem_free(&idem);
        goto done;
    }

    uint64_t last;
    if (!read_counter(&last, &f)) {
        answer = fail(f);
        goto done;
    }
    pay_t pay;
    memset(&pay, 0, sizeof pay);
    pay.number = last + 1;
    pay.id = payment_id(pay.number);
    pay.order_id = str_copy(request->order_id.ptr, request->order_id.len);
    pay.customer_id = str_copy(request->customer_id.ptr, request->customer_id.len);
    pay.amount = request->amount;
    pay.state = STATE(PENDING);
    add_transition(&pay, STATE(PENDING), gauntlet_harness_clock_now_ms());
    pay.in_flight = (flight_t){
        .some = true,
        .op = OP_AUTHORIZE,
        .key = str_copy(request->idempotency_key.ptr, request->idempotency_key.len),
        .has_card = true,
        .card = card_copy(&request->card),
    };
    write_t writes[3] = {
        put_write(str_cstr(LAST_PAYMENT), decimal(pay.number)),
        put_write(payment_key(&pay.id), encode_payment(&pay)),
        put_write(str_copy(key.ptr, key.len), encode_idem(&asked, &pay.id, NULL)),
    };
    if (!save(writes, 3, &f)) {
        pay_free(&pay);
        answer = fail(f);
        goto done;
    }
    answer = settle(pay, true);
done:
    plugin_string_free(&asked);
    plugin_string_free(&key);
    return answer;
}

// Capture, void or refund.
static answer_t operate(op_t op, const plugin_string_t *client_key,
                        const plugin_string_t *payment_id) {
    plugin_string_t asked = encode_payment_request(payment_id);
    plugin_string_t key = idem_key(op, client_key);
    plugin_string_t pkey = payment_key(payment_id);
    answer_t answer;
    failure_t f;
    idem_t idem;
    found_t found = read_idem(&key, &idem, &f);
    if (found == BROKEN) {
        answer = fail(f);
        goto done;
    }
    if (found == FOUND) {
        answer = replay(op, client_key, &idem, &asked);
        idem_free(&idem);
        goto done;
    }

    pay_t pay;
    found = read_payment(&pkey, &pay, &f);
    if (found == FOUND && pay.in_flight.some) {
        // Another request's operation is still in flight on this payment:
        // finish it first (its answer is kept for its own key). If the bank
        // still does not answer, this request cannot be judged either.
        answer_t before = settle(pay, false);
        if (before.kind == ANSWER_FAIL) {
            answer = before;
            goto done;
        }
        answer_free(&before);
        found = read_payment(&pkey, &pay, &f);
    }
    if (found == BROKEN) {
        answer = fail(f);
        goto done;
    }

    bool refused = true;
    failure_t refusal;
    if (found == ABSENT) {
        refusal = failure(ERR(NOT_FOUND));
    } else if (pay.state != FROM[op]) {
        refusal = invalid_transition(pay.state);
    } else if (op == OP_REFUND && !pay.receipt[OP_CAPTURE].is_some) {
        refusal = other(str_cstr("refund: the capture's receipt id is unknown"));
    } else {
        refused = false;
    }
    if (refused) {
        // Refused without asking the bank: that is the final answer.
        if (found == FOUND) pay_free(&pay);
        answer = err(refusal);
        write_t write = put_write(str_copy(key.ptr, key.len), encode_idem(&asked, payment_id, &answer));
        if (!save(&write, 1, &f)) {
            answer_free(&answer);
            answer = fail(f);
        }
        goto done;
    }

    pay.in_flight = (flight_t){
        .some = true,
        .op = op,
        .key = str_copy(client_key->ptr, client_key->len),
    };
    write_t writes[2] = {
        put_write(payment_key(&pay.id), encode_payment(&pay)),
        put_write(str_copy(key.ptr, key.len), encode_idem(&asked, payment_id, NULL)),
    };
    if (!save(writes, 2, &f)) {
        pay_free(&pay);
        answer = fail(f);
        goto done;
    }
    answer = settle(pay, true);
done:
    plugin_string_free(&asked);
    plugin_string_free(&key);
    plugin_string_free(&pkey);
    return answer;
}

// A request whose key was seen before. Takes the idempotency record's answer.
static answer_t replay(op_t op, const plugin_string_t *client_key, idem_t *idem,
                       const plugin_string_t *asked) {
    if (!str_eq(&idem->request, asked)) return err(failure(ERR(IDEMPOTENCY_KEY_REUSED)));
    if (idem->answered) {
        idem->answered = false; // moved out
        return idem->answer;
    }
    // Still in flight: carry on with it.
    plugin_string_t pkey = payment_key(&idem->payment_id);
    pay_t pay;
    failure_t f;
    found_t found = read_payment(&pkey, &pay, &f);
    plugin_string_free(&pkey);
    if (found == BROKEN) return fail(f);
    if (found == FOUND && pay.in_flight.some && pay.in_flight.op == op &&
        str_eq(&pay.in_flight.key, client_key)) {
        return settle(pay, false);
    }
    if (found == FOUND) pay_free(&pay);
    plugin_string_t key = idem_key(op, client_key);
    failure_t why = other(str_printf("store: %.*s is in flight with no operation", (int)key.len,
                                     (const char *)key.ptr));
    plugin_string_free(&key);
    return err(why);
}

typedef enum {
    BANK_DONE,    // the bank's receipt id
    BANK_ERROR,   // the bank's error
    BANK_NO_ID,   // the payment lacks the bank id the operation needs
} bank_result_t;

// One attempt of the operation in flight on `p`, under `bank_key`.
static bank_result_t call_bank(pay_t *p, plugin_string_t *bank_key, plugin_string_t *receipt,
                               uint8_t *error) {
    gauntlet_payments_bank_bank_error_t e;
    plugin_option_string_t *authorization = &p->receipt[OP_AUTHORIZE];
    plugin_option_string_t *capture = &p->receipt[OP_CAPTURE];
    bool answered;
    switch (p->in_flight.op) {
    case OP_AUTHORIZE: {
        if (!p->in_flight.has_card) return BANK_NO_ID;
        gauntlet_payments_bank_authorization_t a;
        answered = gauntlet_payments_bank_authorize(&p->in_flight.card, p->amount, bank_key, &a, &e);
        if (answered) {
            *receipt = a.id; // the id is the only string: taken over
        }
        break;
    }
    case OP_CAPTURE: {
        if (!authorization->is_some) return BANK_NO_ID;
        gauntlet_payments_bank_capture_receipt_t r;
        answered = gauntlet_payments_bank_capture(&authorization->val, p->amount, bank_key, &r, &e);
        if (answered) {
            *receipt = str_copy(r.id.ptr, r.id.len);
            gauntlet_payments_bank_capture_receipt_free(&r);
        }
        break;
    }
    case OP_VOID: {
        if (!authorization->is_some) return BANK_NO_ID;
        gauntlet_payments_bank_void_receipt_t r;
        answered = gauntlet_payments_bank_void(&authorization->val, bank_key, &r, &e);
        if (answered) {
            *receipt = str_copy(r.id.ptr, r.id.len);
            gauntlet_payments_bank_void_receipt_free(&r);
        }
        break;
    }
    case OP_REFUND:
    default: {
        if (!capture->is_some) return BANK_NO_ID;
        gauntlet_payments_bank_refund_receipt_t r;
        answered = gauntlet_payments_bank_refund(&capture->val, p->amount, bank_key, &r, &e);
        if (answered) {
            *receipt = str_copy(r.id.ptr, r.id.len);
            gauntlet_payments_bank_refund_receipt_free(&r);
        }
        break;
    }
    }
    if (answered) return BANK_DONE;
    *error = e.tag;
    return BANK_ERROR;
}

// What a refusal by the bank means. `maybe_done_before`: an earlier attempt
// of this operation may have reached the bank.
static outcome_t refusal(op_t op, uint8_t error, bool maybe_done_before) {
    outcome_t refused = {.done = false};
    if (op == OP_AUTHORIZE) {
        switch (error) {
        case BANK(INVALID_CARD): refused.failure = failure(ERR(INVALID_CARD)); return refused;
        case BANK(INVALID_CVV): refused.failure = failure(ERR(INVALID_CVV)); return refused;
        case BANK(INVALID_AMOUNT): refused.failure = failure(ERR(INVALID_AMOUNT)); return refused;
        case BANK(CARD_EXPIRED): refused.failure = failure(ERR(CARD_EXPIRED)); return refused;
        case BANK(INSUFFICIENT_FUNDS):
            refused.failure = failure(ERR(INSUFFICIENT_FUNDS));
            return refused;
        }
    }
    if (op == OP_CAPTURE && error == BANK(AUTHORIZATION_EXPIRED)) {
        refused.failure = failure(ERR(AUTHORIZATION_EXPIRED));
        return refused;
    }
    // Nothing but this payment uses its authorization (or capture): an
    // earlier attempt of ours did it, and the bank has since forgotten its
    // key. Done, with the receipt id unknown.
    if (maybe_done_before &&
        (((op == OP_CAPTURE || op == OP_VOID) && error == BANK(ALREADY_USED)) ||
         (op == OP_REFUND && error == BANK(ALREADY_REFUNDED)))) {
        return (outcome_t){.done = true, .receipt = {false, {NULL, 0}}};
    }
    refused.failure = other(str_printf("bank: %s", BANK_ERROR_NAME[error]));
    return refused;
}

// Records the outcome of the operation in flight: the payment (deleted if
// its authorization was declined) and the answer for the client's key, in
// one transaction.
static answer_t record(pay_t pay, outcome_t outcome) {
    op_t op = pay.in_flight.op;
    plugin_string_t key = idem_key(op, &pay.in_flight.key);
    idem_t idem;
    failure_t f;
    found_t found = read_idem(&key, &idem, &f);
    if (found == BROKEN) {
        plugin_string_free(&key);
        pay_free(&pay);
        if (outcome.done) {
            plugin_option_string_free(&outcome.receipt);
        } else {
            exports_gauntlet_payments_gateway_payment_error_free(&outcome.failure);
        }
        return fail(f);
    }
    flight_clear(&pay.in_flight);
    write_t writes[2];
    size_t n = 0;
    answer_t answer;
    if (outcome.done) {
        pay.state = TO[op];
        plugin_option_string_free(&pay.receipt[op]);
        pay.receipt[op] = outcome.receipt;
        add_transition(&pay, TO[op], gauntlet_harness_clock_now_ms());
        writes[n++] = put_write(payment_key(&pay.id), encode_payment(&pay));
        answer = ok(pay);
    } else {
        if (op == OP_AUTHORIZE) {
            writes[n++] = delete_write(payment_key(&pay.id));
        } else {
            writes[n++] = put_write(payment_key(&pay.id), encode_payment(&pay));
        }
        pay_free(&pay);
        answer = err(outcome.failure);
    }
    if (found == FOUND) {
        writes[n++] = put_write(str_copy(key.ptr, key.len),
                                encode_idem(&idem.request, &idem.payment_id, &answer));
        idem_free(&idem);
    }
    plugin_string_free(&key);
    if (!save(writes, n, &f)) {
        answer_free(&answer);
        return fail(f);
    }
    return answer;
}

// Calls the bank for the payment's operation in flight until it answers for
// good, then records the answer (and returns it). ANSWER_FAIL: still in
// flight (or the store refused the record). `fresh`: the operation was
// recorded by this very request, so the bank has never seen it.
static answer_t settle(pay_t pay, bool fresh) {
    if (!pay.in_flight.some) return ok(pay);
    op_t op = pay.in_flight.op;
    plugin_string_t bank_key = bank_key_of(&pay.id, op);
    bool maybe_done_before = !fresh;
    outcome_t outcome;
    for (size_t attempt = 0;; attempt++) {
        plugin_string_t receipt;
        uint8_t error = 0;
        bank_result_t result = call_bank(&pay, &bank_key, &receipt, &error);
        if (result == BANK_DONE) {
            outcome = (outcome_t){.done = true, .receipt = {true, receipt}};
            break;
        }
        if (result == BANK_NO_ID) {
            outcome = (outcome_t){
                .done = false,
                .failure = other(str_printf("store: %.*s lacks a bank id", (int)pay.id.len,
                                            (const char *)pay.id.ptr)),
            };
            break;
        }
        if (error != BANK(UNAVAILABLE) && error != BANK(TIMEOUT)) {
            outcome = refusal(op, error, maybe_done_before);
            break;
        }
        // No answer: retry after a while, with the same key.
        if (error == BANK(TIMEOUT)) maybe_done_before = true;
        if (attempt >= RETRIES) {
            plugin_string_free(&bank_key);
            pay_free(&pay);
            return fail(failure(ERR(BANK_UNAVAILABLE)));
        }
        gauntlet_harness_clock_sleep_ms(BACKOFF_MS[attempt]);
    }
    plugin_string_free(&bank_key);
    return record(pay, outcome);
}

static bool has_in_flight(const pay_t *p, const plugin_string_t *unused) {
    (void)unused;
    return p->in_flight.some;
}

static bool of_order(const pay_t *p, const plugin_string_t *order_id) {
    return str_eq(&p->order_id, order_id);
}

static bool of_customer(const pay_t *p, const plugin_string_t *customer_id) {
    return str_eq(&p->customer_id, customer_id);
}

static void recover(void) {
    pays_t all = all_payments(true, has_in_flight, NULL);
    for (size_t i = 0; i < all.len; i++) {
        // Recorded for the client's key either way; or still in flight.
        answer_t answer = settle(all.items[i], false);
        answer_free(&answer);
    }
    free(all.items);
}

// ---------------------------------------------------------------------------
// The WIT types
// ---------------------------------------------------------------------------

// Moves the payment into its WIT record (what is not moved is freed).
static void to_wit(pay_t *p, wit_payment_t *out) {
    out->id = p->id;
    out->order_id = p->order_id;
    out->customer_id = p->customer_id;
    out->amount = p->amount;
    out->currency = str_cstr("USD");
    out->state = p->state;
    out->authorization_id = p->receipt[OP_AUTHORIZE];
    out->capture_id = p->receipt[OP_CAPTURE];
    out->void_id = p->receipt[OP_VOID];
    out->refund_id = p->receipt[OP_REFUND];
    out->transitions = p->transitions;
    flight_clear(&p->in_flight);
    memset(p, 0, sizeof *p);
}

// The answer as the export returns it: true with the payment in `*ret`, or
// false with the failure in `*error`.
static bool respond(answer_t answer, wit_payment_t *ret, failure_t *error) {
    if (answer.kind == ANSWER_OK) {
        to_wit(&answer.pay, ret);
        return true;
    }
    *error = answer.failure;
    return false;
}

static int by_number(const void *a, const void *b) {
    uint64_t x = ((const pay_t *)a)->number;
    uint64_t y = ((const pay_t *)b)->number;
    return x < y ? -1 : x > y ? 1 : 0;
}

// Every payment `keep` selects, oldest first.
static void list_payments(bool (*keep)(const pay_t *, const plugin_string_t *),
                          const plugin_string_t *value,
                          exports_gauntlet_payments_gateway_list_payment_t *ret) {
    pays_t found = all_payments(false, keep, value);
    qsort(found.items, found.len, sizeof(pay_t), by_number);
    ret->len = found.len;
    ret->ptr = NULL;
    if (found.len > 0) {
        ret->ptr = malloc(found.len * sizeof(wit_payment_t));
        if (ret->ptr == NULL) abort();
    }
    for (size_t i = 0; i < found.len; i++) to_wit(&found.items[i], &ret->ptr[i]);
    free(found.items);
}

// --- The exports: each frees what it was given ------------------------------

bool exports_gauntlet_payments_gateway_authorize(wit_request_t *request, wit_payment_t *ret,
                                                 failure_t *error) {
    bool ok = respond(authorize(request), ret, error);
    exports_gauntlet_payments_gateway_authorize_request_free(request);
    return ok;
}

static bool operate_export(op_t op, plugin_string_t *idempotency_key,
                           plugin_string_t *payment_id, wit_payment_t *ret, failure_t *error) {
    bool ok = respond(operate(op, idempotency_key, payment_id), ret, error);
    plugin_string_free(idempotency_key);
    plugin_string_free(payment_id);
    return ok;
}

bool exports_gauntlet_payments_gateway_capture(plugin_string_t *idempotency_key,
                                               plugin_string_t *payment_id, wit_payment_t *ret,
                                               failure_t *error) {
    return operate_export(OP_CAPTURE, idempotency_key, payment_id, ret, error);
}

bool exports_gauntlet_payments_gateway_void(plugin_string_t *idempotency_key,
                                            plugin_string_t *payment_id, wit_payment_t *ret,
                                            failure_t *error) {
    return operate_export(OP_VOID, idempotency_key, payment_id, ret, error);
}

bool exports_gauntlet_payments_gateway_refund(plugin_string_t *idempotency_key,
                                              plugin_string_t *payment_id, wit_payment_t *ret,
                                              failure_t *error) {
    return operate_export(OP_REFUND, idempotency_key, payment_id, ret, error);
}

bool exports_gauntlet_payments_gateway_get_payment(plugin_string_t *payment_id,
                                                   wit_payment_t *ret, failure_t *error) {
    plugin_string_t key = payment_key(payment_id);
    pay_t pay;
    failure_t f;
    answer_t answer;
    switch (read_payment(&key, &pay, &f)) {
    case FOUND: answer = ok(pay); break;
    case ABSENT: answer = err(failure(ERR(NOT_FOUND))); break;
    default: answer = fail(f); break;
    }
    plugin_string_free(&key);
    plugin_string_free(payment_id);
    return respond(answer, ret, error);
}

void exports_gauntlet_payments_gateway_payments_by_order(
    plugin_string_t *order_id, exports_gauntlet_payments_gateway_list_payment_t *ret) {
    list_payments(of_order, order_id, ret);
    plugin_string_free(order_id);
}

void exports_gauntlet_payments_gateway_payments_by_customer(
    plugin_string_t *customer_id, exports_gauntlet_payments_gateway_list_payment_t *ret) {
    list_payments(of_customer, customer_id, ret);
    plugin_string_free(customer_id);
}

void exports_gauntlet_payments_gateway_recover(void) {
    recover();
}
