"""A correct but naive payment gateway in Python, for the `gauntlet:payments/plugin` world.

A translation of the Rust naive (`../naive/src/lib.rs`). Everything that must
survive a crash is in the durable store, as JSON:

- `payment/{id}`: the whole payment, plus the operation in flight on it, if
  any (which, the client's idempotency key, and the card for an
  authorization), written before the bank is first called and cleared when
  the bank's answer is recorded;
- `idem/{operation}/{key}`: the whole request as the client sent it, the
  payment it concerns, and the final answer once there is one;
- `meta/last-payment`: the last payment number handed out.

Nothing is clever: there are no indexes (a listing reads and parses every
payment in the store, then filters and sorts), and `recover` reads every
payment before it settles the ones in flight. But every rule is kept: bank
keys are `{payment-id}/{operation}` whatever the attempt, crash or recovery;
only `unavailable` and `timeout` are retried (after 100, 200, 400 and 800 ms
of virtual sleep, five attempts in all); each change of the store is one
transaction; and the choices the specification leaves open are made as the
reference makes them, so that every answer is the same.

Internally an answer is a dict, `{"ok": payment}` or `{"err": failure}`, and
a failure is a dict `{"kind": ..., "state": ..., "message": ...}`; the
Rust's outer `Result<_, Failure>` (the store refused, or the bank is still
not answering) is the exception `Fail`.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import gateway as wit
from wit_world.imports import bank, clock, store

# The waits between the attempts of one bank call (virtual ms).
BACKOFF_MS = [100, 200, 400, 800]

LAST_PAYMENT = "meta/last-payment"
PAYMENTS = "payment/"

# op -> (the state it starts from, the state it leads to)
STATES = {
    "authorize": ("pending", "authorized"),
    "capture": ("authorized", "captured"),
    "void": ("authorized", "voided"),
    "refund": ("captured", "refunded"),
}
# op -> the payment field its bank receipt id goes in
RECEIPT_FIELD = {
    "authorize": "authorization_id",
    "capture": "capture_id",
    "void": "void_id",
    "refund": "refund_id",
}


class Fail(Exception):
    """The outer error: the store refused, or the operation is still in flight."""

    def __init__(self, failure):
        super().__init__(failure)
        self.failure = failure


def failure(kind, state=None, message=None):
    return {"kind": kind, "state": state, "message": message}


def other(message):
    return failure("other", message=message)


# ---------------------------------------------------------------------------
# The store, the naive way
# ---------------------------------------------------------------------------


def read(key):
    raw = store.get(key)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise Fail(other(f"store: cannot read {key}"))


def dump(value):
    return json.dumps(value, separators=(",", ":")).encode()


def save(writes):
    """Several writes (a None value deletes), all or nothing."""
    try:
        done = store.transact([], [store.Write(key, value) for key, value in writes])
    except Err as e:
        raise Fail(other(f"store: {type(e.value).__name__}"))
    if not done:
        raise Fail(other("store: transaction refused"))


def payment_key(payment_id):
    return PAYMENTS + payment_id


def idem_key(op, key):
    return f"idem/{op}/{key}"


def all_payments(needle=None):
    """Every payment in the store, in key order; with `needle`, only those
    whose stored JSON contains it (a test on the raw bytes, before parsing:
    parsing every payment is most of the cost of a listing or a recovery)."""
    found = []
    after = None
    while True:
        page = store.scan(PAYMENTS, after, 100)
        for key, raw in page:
            if after is not None and key <= after:
                return found
            after = key
            if needle is not None and needle not in raw:
                continue
            try:
                found.append(json.loads(raw))
            except ValueError:
                pass
        if len(page) < 100:
            return found


# ---------------------------------------------------------------------------
# The gateway
# ---------------------------------------------------------------------------


def authorize(request):
    c = request.card
    card = {"number": c.number, "cvv": c.cvv, "month": c.expiry_month, "year": c.expiry_year}
    asked = {
        "kind": "authorize",
        "order_id": request.order_id,
        "customer_id": request.customer_id,
        "amount": request.amount,
        "card": card,
    }
    key = idem_key("authorize", request.idempotency_key)
    idem = read(key)
    if idem is not None:
        return replay("authorize", request.idempotency_key, idem, asked)

    raw = store.get(LAST_PAYMENT)
    if raw is None:
        last = 0
    else:
        try:
            last = int(raw.decode())
        except (UnicodeDecodeError, ValueError):
            raise Fail(other("store: bad payment counter"))
    number = last + 1
    payment_id = f"pay-{number:06}"
    payment = {
        "number": number,
        "id": payment_id,
        "order_id": request.order_id,
        "customer_id": request.customer_id,
        "amount": request.amount,
        "state": "pending",
        "authorization_id": None,
        "capture_id": None,
        "void_id": None,
        "refund_id": None,
        "transitions": [["pending", clock.now_ms()]],
        "in_flight": {"op": "authorize", "key": request.idempotency_key, "card": card},
    }
    idem = {"request": asked, "payment_id": payment_id, "answer": None}
    save([
        (LAST_PAYMENT, str(number).encode()),
        (payment_key(payment_id), dump(payment)),
        (key, dump(idem)),
    ])
    return settle(payment, True)


def operate(op, client_key, payment_id):
    """Capture, void or refund."""
    asked = {"kind": "on-payment", "payment_id": payment_id}
    key = idem_key(op, client_key)
    idem = read(key)
    if idem is not None:
        return replay(op, client_key, idem, asked)

    payment = read(payment_key(payment_id))
    if payment is not None and payment["in_flight"] is not None:
        # Another request's operation is still in flight on this payment:
        # finish it first (its answer is kept for its own key). If the bank
        # still does not answer, this request cannot be judged either.
        settle(payment, False)
        payment = read(payment_key(payment_id))

    start, _ = STATES[op]
    if payment is None:
        refusal = failure("not-found")
    elif payment["state"] != start:
        refusal = failure("invalid-transition", state=payment["state"])
    elif op == "refund" and payment["capture_id"] is None:
        refusal = other("refund: the capture's receipt id is unknown")
    else:
        refusal = None
    if refusal is not None:
        # Refused without asking the bank: that is the final answer.
        idem = {"request": asked, "payment_id": payment_id, "answer": {"err": refusal}}
        save([(key, dump(idem))])
        return {"err": refusal}

    payment["in_flight"] = {"op": op, "key": client_key, "card": None}
    idem = {"request": asked, "payment_id": payment_id, "answer": None}
    save([(payment_key(payment["id"]), dump(payment)), (key, dump(idem))])
    return settle(payment, True)


def replay(op, client_key, idem, asked):
    """A request whose key was seen before."""
    if idem["request"] != asked:
        return {"err": failure("idempotency-key-reused")}
    if idem["answer"] is not None:
        return idem["answer"]
    # Still in flight: carry on with it.
    payment = read(payment_key(idem["payment_id"]))
    flight = payment and payment["in_flight"]
    if flight and flight["op"] == op and flight["key"] == client_key:
        return settle(payment, False)
    return {"err": other(f"store: {idem_key(op, client_key)} is in flight with no operation")}


def call_bank(payment, flight, bank_key):
    """One attempt of the operation in flight. Returns the receipt id, or
    None if the payment lacks the bank id the operation needs. Raises
    `Err(bank-error)` as the bank answers."""
    op = flight["op"]
    if op == "authorize" and flight["card"] is not None:
        card = flight["card"]
        wit_card = bank.Card(card["number"], card["cvv"], card["month"], card["year"])
        return bank.authorize(wit_card, payment["amount"], bank_key).id
    if op == "capture" and payment["authorization_id"] is not None:
        return bank.capture(payment["authorization_id"], payment["amount"], bank_key).id
    if op == "void" and payment["authorization_id"] is not None:
        return bank.void(payment["authorization_id"], bank_key).id
    if op == "refund" and payment["capture_id"] is not None:
        return bank.refund(payment["capture_id"], payment["amount"], bank_key).id
    return None


def settle(payment, fresh):
    """Calls the bank for the payment's operation in flight until it answers
    for good, then records the answer (and returns it). Raises `Fail`: still
    in flight (or the store refused the record). `fresh`: the operation was
    recorded by this very request, so the bank has never seen it."""
    flight = payment["in_flight"]
    if flight is None:
        return {"ok": payment}
    bank_key = f"{payment['id']}/{flight['op']}"
    maybe_done_before = not fresh
    attempt = 0
    while True:
        try:
            receipt = call_bank(payment, flight, bank_key)
        except Err as e:
            error = e.value
            transient = isinstance(error, (bank.BankError_Unavailable, bank.BankError_Timeout))
            if not transient:
                outcome = refusal(flight["op"], error, maybe_done_before)
                break
            if isinstance(error, bank.BankError_Timeout):
                maybe_done_before = True
            if attempt >= len(BACKOFF_MS):
                raise Fail(failure("bank-unavailable"))
            clock.sleep_ms(BACKOFF_MS[attempt])
            attempt += 1
            continue
        if receipt is None:
            outcome = ("refused", other(f"store: {payment['id']} lacks a bank id"))
        else:
            outcome = ("done", receipt)
        break
    return record(payment, flight, outcome)


def refusal(op, error, maybe_done_before):
    """What a refusal by the bank means. `maybe_done_before`: an earlier
    attempt of this operation may have reached the bank."""
    if op == "authorize":
        for cls, kind in (
            (bank.BankError_InvalidCard, "invalid-card"),
            (bank.BankError_InvalidCvv, "invalid-cvv"),
            (bank.BankError_InvalidAmount, "invalid-amount"),
            (bank.BankError_CardExpired, "card-expired"),
            (bank.BankError_InsufficientFunds, "insufficient-funds"),
        ):
            if isinstance(error, cls):
                return ("refused", failure(kind))
    if op == "capture" and isinstance(error, bank.BankError_AuthorizationExpired):
        return ("refused", failure("authorization-expired"))
    # Nothing but this payment uses its authorization (or capture): an
    # earlier attempt of ours did it, and the bank has since forgotten its
    # key. Done, with the receipt id unknown.
    if maybe_done_before and (
        (op in ("capture", "void") and isinstance(error, bank.BankError_AlreadyUsed))
        or (op == "refund" and isinstance(error, bank.BankError_AlreadyRefunded))
    ):
        return ("done", None)
    name = type(error).__name__.removeprefix("BankError_")
    return ("refused", other(f"bank: {name}"))


def record(payment, flight, outcome):
    """Records the outcome of the operation in flight: the payment (deleted
    if its authorization was declined) and the answer for the client's key,
    in one transaction."""
    op = flight["op"]
    key = idem_key(op, flight["key"])
    idem = read(key)
    payment["in_flight"] = None
    writes = []
    what, value = outcome
    if what == "done":
        to = STATES[op][1]
        payment["state"] = to
        payment[RECEIPT_FIELD[op]] = value
        payment["transitions"].append([to, clock.now_ms()])
        writes.append((payment_key(payment["id"]), dump(payment)))
        answer = {"ok": payment}
    else:
        if op == "authorize":
            writes.append((payment_key(payment["id"]), None))
        else:
            writes.append((payment_key(payment["id"]), dump(payment)))
        answer = {"err": value}
    if idem is not None:
        idem["answer"] = answer
        writes.append((key, dump(idem)))
    save(writes)
    return answer


def recover():
    # Only payments with an operation in flight are parsed: `dump` writes
    # `"in_flight":{` for those alone (JSON escapes every quote inside a
    # string, so these bytes cannot occur inside a value).
    for payment in all_payments(needle=b'"in_flight":{'):
        if payment["in_flight"] is not None:
            # Recorded for the client's key either way; or still in flight.
            try:
                settle(payment, False)
            except Fail:
                pass


def list_payments(field, value):
    """Every payment whose `field` is `value`, oldest first."""
    # The exact bytes `dump` writes for that field (JSON escapes every quote
    # inside a string, so they cannot occur inside another value); the
    # comparison after parsing stays the judge.
    needle = f'"{field}":'.encode() + dump(value)
    found = [p for p in all_payments(needle) if p[field] == value]
    found.sort(key=lambda p: p["number"])
    return [to_wit(p) for p in found]


# ---------------------------------------------------------------------------
# The WIT types
# ---------------------------------------------------------------------------

WIT_STATE = {
    "pending": wit.PaymentState.PENDING,
    "authorized": wit.PaymentState.AUTHORIZED,
    "captured": wit.PaymentState.CAPTURED,
    "voided": wit.PaymentState.VOIDED,
    "refunded": wit.PaymentState.REFUNDED,
}

WIT_ERROR = {
    "invalid-card": wit.PaymentError_InvalidCard,
    "invalid-cvv": wit.PaymentError_InvalidCvv,
    "invalid-amount": wit.PaymentError_InvalidAmount,
    "card-expired": wit.PaymentError_CardExpired,
    "insufficient-funds": wit.PaymentError_InsufficientFunds,
    "authorization-expired": wit.PaymentError_AuthorizationExpired,
    "not-found": wit.PaymentError_NotFound,
    "idempotency-key-reused": wit.PaymentError_IdempotencyKeyReused,
    "bank-unavailable": wit.PaymentError_BankUnavailable,
}


def to_wit(p):
    return wit.Payment(
        id=p["id"],
        order_id=p["order_id"],
        customer_id=p["customer_id"],
        amount=p["amount"],
        currency="USD",
        state=WIT_STATE[p["state"]],
        authorization_id=p["authorization_id"],
        capture_id=p["capture_id"],
        void_id=p["void_id"],
        refund_id=p["refund_id"],
        transitions=[wit.Transition(WIT_STATE[s], at) for s, at in p["transitions"]],
    )


def wit_error(f):
    kind = f["kind"]
    if kind == "invalid-transition":
        return wit.PaymentError_InvalidTransition(WIT_STATE[f["state"]])
    if kind == "other":
        return wit.PaymentError_Other(f["message"])
    return WIT_ERROR[kind]()


def answer_or_raise(run):
    """Runs an operation; returns the WIT payment, or raises the WIT error."""
    try:
        answer = run()
    except Fail as e:
        raise Err(wit_error(e.failure))
    if "err" in answer:
        raise Err(wit_error(answer["err"]))
    return to_wit(answer["ok"])


class Gateway(exports.Gateway):
    def authorize(self, request):
        return answer_or_raise(lambda: authorize(request))

    def capture(self, idempotency_key, payment_id):
        return answer_or_raise(lambda: operate("capture", idempotency_key, payment_id))

    def void(self, idempotency_key, payment_id):
        return answer_or_raise(lambda: operate("void", idempotency_key, payment_id))

    def refund(self, idempotency_key, payment_id):
        return answer_or_raise(lambda: operate("refund", idempotency_key, payment_id))

    def get_payment(self, payment_id):
        def run():
            payment = read(payment_key(payment_id))
            if payment is None:
                return {"err": failure("not-found")}
            return {"ok": payment}

        return answer_or_raise(run)

    def payments_by_order(self, order_id):
        return list_payments("order_id", order_id)

    def payments_by_customer(self, customer_id):
        return list_payments("customer_id", customer_id)

    def recover(self):
        recover()
