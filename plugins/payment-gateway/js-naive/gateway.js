// A correct but naive payment gateway in JavaScript, for the gauntlet track
// `payment-gateway` (world gauntlet:payments/plugin@0.1.0).
//
// It is a translation of the Rust naive plugin
// (plugins/payment-gateway/naive/src/lib.rs), and stores the same records.
// Everything that must survive a crash is in the durable store, as JSON:
//
// - `payment/{id}`: the whole payment, plus the operation in flight on it,
//   if any (which, the client's idempotency key, and the card for an
//   authorization), written before the bank is first called and cleared
//   when the bank's answer is recorded;
// - `idem/{operation}/{key}`: the whole request as the client sent it, the
//   payment it concerns, and the final answer once there is one;
// - `meta/last-payment`: the last payment number handed out;
// - `inflight/{id}`: present while payment {id} has an operation in flight
//   (written and cleared in the same transactions as the payment), so
//   `recover` reads only those payments;
// - `order/{order id}/{number}` and `customer/{customer id}/{number}`
//   (ids escaped as the reference does: `%` -> `%25`, `/` -> `%2F`; the
//   number on 10 digits), whose value is the payment id: a listing reads
//   only the payments it returns.
//
// Those three indexes are where this plugin departs from the Rust naive,
// which has none: it reads and parses every payment in the store on each
// listing and each `recover`. Interpreted JavaScript spends about 30 times
// the Rust naive's fuel per request, and in `generated-workload` a
// `recover` that parsed every payment (some 4,000 by then) burnt its call's
// whole 200M fuel. Nothing else is clever: every record is read, parsed and
// re-serialised whole. But every rule is kept: bank
// keys are `{payment-id}/{operation}` whatever the attempt, crash or
// recovery; only `unavailable` and `timeout` are retried (after 100, 200,
// 400 and 800 ms of virtual sleep, five attempts in all); each change of the
// store is one transaction; and the choices the specification leaves open
// are made as the reference makes them.
//
// u64 values (amounts, times) arrive as BigInt; they are stored as decimal
// strings, since JSON numbers are not exact past 2^53.

import { nowMs, sleepMs } from 'gauntlet:harness/clock@0.1.0';
import { get, transact, scan } from 'gauntlet:harness/store@0.1.0';
import * as bank from 'gauntlet:payments/bank@0.1.0';

// The waits between the attempts of one bank call (virtual ms).
const BACKOFF_MS = [100n, 200n, 400n, 800n];

const LAST_PAYMENT = 'meta/last-payment';
const PAYMENTS = 'payment/';
const IN_FLIGHT = 'inflight/';

// op -> [the state it starts from, the state it leads to]
const STATES = {
  authorize: ['pending', 'authorized'],
  capture: ['authorized', 'captured'],
  void: ['authorized', 'voided'],
  refund: ['captured', 'refunded'],
};

// The receipt field each operation fills.
const RECEIPT = {
  authorize: 'authorizationId',
  capture: 'captureId',
  void: 'voidId',
  refund: 'refundId',
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// The value of an in-flight marker.
const MARK = new Uint8Array(0);

// A failure that ends the request early (the Rust naive's `?`): thrown, and
// turned into the request's error answer at the top.
class Fail {
  constructor(failure) {
    this.failure = failure;
  }
}

// A payment-error variant.
const other = (message) => ({ tag: 'other', val: message });

// The Rust naive's `{:?}` of a WIT enum case: `already-used` -> `AlreadyUsed`.
const debugName = (tag) =>
  tag.replace(/(^|-)([a-z])/g, (_, __, letter) => letter.toUpperCase());

// ---------------------------------------------------------------------------
// The store, the naive way
// ---------------------------------------------------------------------------

// The JSON record at `key`, or null.
function read(key) {
  const bytes = get(key);
  if (bytes == null) return null;
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    throw new Fail(other(`store: cannot read ${key}`));
  }
}

const json = (value) => encoder.encode(JSON.stringify(value));

// Several writes ([key, bytes or null to delete]), all or nothing.
function save(writes) {
  let applied;
  try {
    applied = transact(
      [],
      writes.map(([key, value]) => ({ key, value: value ?? undefined })),
    );
  } catch (e) {
    const error = e?.payload ?? e;
    throw new Fail(other(`store: ${debugName(error?.tag ?? String(error))}`));
  }
  if (!applied) throw new Fail(other('store: transaction refused'));
}

const paymentKey = (id) => `${PAYMENTS}${id}`;
const idemKey = (op, key) => `idem/${op}/${key}`;
const inFlightKey = (id) => `${IN_FLIGHT}${id}`;

// An id made safe to sit between two `/` of a key.
const escape = (id) => id.replaceAll('%', '%25').replaceAll('/', '%2F');
const orderPrefix = (orderId) => `order/${escape(orderId)}/`;
const customerPrefix = (customerId) => `customer/${escape(customerId)}/`;
const indexKey = (prefix, number) => `${prefix}${String(number).padStart(10, '0')}`;

// The index entries of a payment: [order key, customer key].
const indexKeys = (payment) => [
  indexKey(orderPrefix(payment.orderId), payment.number),
  indexKey(customerPrefix(payment.customerId), payment.number),
];

// Every [key, value] whose key starts with `prefix`, in key order.
function scanAll(prefix) {
  const all = [];
  let after;
  for (;;) {
    const page = scan(prefix, after, 100);
    for (const [key, bytes] of page) {
      if (after !== undefined && key <= after) return all;
      all.push([key, bytes]);
      after = key;
    }
    if (page.length < 100) return all;
  }
}

// The payments named by the index entries (or in-flight markers) under
// `prefix`, in key order; those that no longer parse are skipped.
function paymentsUnder(prefix, idOf) {
  const found = [];
  for (const [key, bytes] of scanAll(prefix)) {
    try {
      const payment = read(paymentKey(idOf(key, bytes)));
      if (payment !== null) found.push(payment);
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
    }
  }
  return found;
}

// Two requests under one key must be equal: compared as canonical JSON.
function sameRequest(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---------------------------------------------------------------------------
// The gateway
// ---------------------------------------------------------------------------

// An answer is { ok: payment } or { err: payment-error }.

function authorize(request) {
  const card = {
    number: request.card.number,
    cvv: request.card.cvv,
    month: request.card.expiryMonth,
    year: request.card.expiryYear,
  };
  const asked = {
    authorize: {
      orderId: request.orderId,
      customerId: request.customerId,
      amount: String(request.amount),
      card,
    },
  };
  const key = idemKey('authorize', request.idempotencyKey);
  const seen = read(key);
  if (seen !== null) return replay('authorize', request.idempotencyKey, seen, asked);

  let last = 0;
  const counter = get(LAST_PAYMENT);
  if (counter != null) {
    const text = decoder.decode(counter);
    if (!/^[0-9]+$/.test(text)) throw new Fail(other('store: bad payment counter'));
    last = Number(text);
  }
  const number = last + 1;
  const id = `pay-${String(number).padStart(6, '0')}`;
  const now = nowMs();
  const payment = {
    number,
    id,
    orderId: request.orderId,
    customerId: request.customerId,
    amount: String(request.amount),
    state: 'pending',
    authorizationId: null,
    captureId: null,
    voidId: null,
    refundId: null,
    transitions: [['pending', String(now)]],
    inFlight: { op: 'authorize', key: request.idempotencyKey, card },
  };
  const idem = { request: asked, paymentId: id, answer: null };
  const [orderKey, customerKey] = indexKeys(payment);
  save([
    [LAST_PAYMENT, encoder.encode(String(number))],
    [paymentKey(id), json(payment)],
    [inFlightKey(id), MARK],
    [orderKey, encoder.encode(id)],
    [customerKey, encoder.encode(id)],
    [key, json(idem)],
  ]);
  return settle(payment, true);
}

// Capture, void or refund.
function operate(op, clientKey, paymentId) {
  const asked = { onPayment: { paymentId } };
  const key = idemKey(op, clientKey);
  const seen = read(key);
  if (seen !== null) return replay(op, clientKey, seen, asked);

  let payment = read(paymentKey(paymentId));
  if (payment !== null && payment.inFlight !== null) {
    // Another request's operation is still in flight on this payment:
    // finish it first (its answer is kept for its own key). If the bank
    // still does not answer, this request cannot be judged either.
    settle(payment, false);
    payment = read(paymentKey(paymentId));
  }

  const [from] = STATES[op];
  let refusal = null;
  if (payment === null) {
    refusal = { tag: 'not-found' };
  } else if (payment.state !== from) {
    refusal = { tag: 'invalid-transition', val: payment.state };
  } else if (op === 'refund' && payment.captureId === null) {
    refusal = other("refund: the capture's receipt id is unknown");
  }
  if (refusal !== null) {
    // Refused without asking the bank: that is the final answer.
    const idem = { request: asked, paymentId, answer: { err: refusal } };
    save([[key, json(idem)]]);
    return { err: refusal };
  }
  payment.inFlight = { op, key: clientKey, card: null };
  const idem = { request: asked, paymentId, answer: null };
  save([
    [paymentKey(payment.id), json(payment)],
    [inFlightKey(payment.id), MARK],
    [key, json(idem)],
  ]);
  return settle(payment, true);
}

// A request whose key was seen before.
function replay(op, clientKey, idem, asked) {
  if (!sameRequest(idem.request, asked)) {
    return { err: { tag: 'idempotency-key-reused' } };
  }
  if (idem.answer !== null) return idem.answer;
  // Still in flight: carry on with it.
  const payment = read(paymentKey(idem.paymentId));
  if (
    payment !== null &&
    payment.inFlight !== null &&
    payment.inFlight.op === op &&
    payment.inFlight.key === clientKey
  ) {
    return settle(payment, false);
  }
  return { err: other(`store: ${idemKey(op, clientKey)} is in flight with no operation`) };
}

// Calls a bank function: { ok: value } or { err: bank-error tag }.
function callBank(f, ...args) {
  try {
    return { ok: f(...args) };
  } catch (e) {
    const error = e?.payload ?? e;
    if (error && typeof error.tag === 'string') return { err: error.tag };
    throw e;
  }
}

// Calls the bank for the payment's operation in flight until it answers for
// good, then records the answer, and returns it. Throws a Fail while still
// in flight (or if the store refused the record). `fresh`: the operation was
// recorded by this very request, so the bank has never seen it.
function settle(payment, fresh) {
  const flight = payment.inFlight;
  if (flight === null) return { ok: payment };
  const bankKey = `${payment.id}/${flight.op}`;
  const amount = BigInt(payment.amount);
  let maybeDoneBefore = !fresh;
  let attempt = 0;
  let outcome;
  for (;;) {
    let result;
    if (flight.op === 'authorize' && flight.card !== null) {
      const card = {
        number: flight.card.number,
        cvv: flight.card.cvv,
        expiryMonth: flight.card.month,
        expiryYear: flight.card.year,
      };
      result = callBank(bank.authorize, card, amount, bankKey);
    } else if (flight.op === 'capture' && payment.authorizationId !== null) {
      result = callBank(bank.capture, payment.authorizationId, amount, bankKey);
    } else if (flight.op === 'void' && payment.authorizationId !== null) {
      result = callBank(bank.void, payment.authorizationId, bankKey);
    } else if (flight.op === 'refund' && payment.captureId !== null) {
      result = callBank(bank.refund, payment.captureId, amount, bankKey);
    } else {
      outcome = { refused: other(`store: ${payment.id} lacks a bank id`) };
      break;
    }
    if (result.err === undefined) {
      outcome = { done: result.ok.id };
      break;
    }
    if (result.err === 'unavailable' || result.err === 'timeout') {
      if (result.err === 'timeout') maybeDoneBefore = true;
      if (attempt >= BACKOFF_MS.length) throw new Fail({ tag: 'bank-unavailable' });
      sleepMs(BACKOFF_MS[attempt]);
      attempt += 1;
      continue;
    }
    outcome = refusal(flight.op, result.err, maybeDoneBefore);
    break;
  }
  return record(payment, flight, outcome);
}

// What a refusal by the bank means. `maybeDoneBefore`: an earlier attempt of
// this operation may have reached the bank.
function refusal(op, error, maybeDoneBefore) {
  if (op === 'authorize') {
    const direct = [
      'invalid-card',
      'invalid-cvv',
      'invalid-amount',
      'card-expired',
      'insufficient-funds',
    ];
    if (direct.includes(error)) return { refused: { tag: error } };
  }
  if (op === 'capture' && error === 'authorization-expired') {
    return { refused: { tag: 'authorization-expired' } };
  }
  // Nothing but this payment uses its authorization (or capture): an
  // earlier attempt of ours did it, and the bank has since forgotten its
  // key. Done, with the receipt id unknown.
  if (
    maybeDoneBefore &&
    (((op === 'capture' || op === 'void') && error === 'already-used') ||
      (op === 'refund' && error === 'already-refunded'))
  ) {
    return { done: null };
  }
  return { refused: other(`bank: ${debugName(error)}`) };
}

// Records the outcome of the operation in flight: the payment (deleted if
// its authorization was declined) and the answer for the client's key, in
// one transaction. Returns the answer.
function record(payment, flight, outcome) {
  const key = idemKey(flight.op, flight.key);
  const idem = read(key);
  payment.inFlight = null;
  const writes = [];
  let answer;
  if (outcome.refused === undefined) {
    const [, to] = STATES[flight.op];
    payment.state = to;
    payment[RECEIPT[flight.op]] = outcome.done;
    payment.transitions.push([to, String(nowMs())]);
    writes.push([paymentKey(payment.id), json(payment)]);
    answer = { ok: payment };
  } else {
    if (flight.op === 'authorize') {
      // A declined authorization leaves no payment (nor index entries).
      writes.push([paymentKey(payment.id), null]);
      for (const indexed of indexKeys(payment)) writes.push([indexed, null]);
    } else {
      writes.push([paymentKey(payment.id), json(payment)]);
    }
    answer = { err: outcome.refused };
  }
  writes.push([inFlightKey(payment.id), null]);
  if (idem !== null) {
    idem.answer = answer;
    writes.push([key, json(idem)]);
  }
  save(writes);
  return answer;
}

function recover() {
  const inFlight = paymentsUnder(IN_FLIGHT, (key) => key.slice(IN_FLIGHT.length));
  for (const payment of inFlight) {
    if (payment.inFlight !== null) {
      // Recorded for the client's key either way; or still in flight.
      try {
        settle(payment, false);
      } catch (e) {
        if (!(e instanceof Fail)) throw e;
      }
    }
  }
}

// The payments of an index prefix, oldest first.
function list(prefix) {
  return paymentsUnder(prefix, (_, bytes) => decoder.decode(bytes))
    .sort((a, b) => a.number - b.number)
    .map(toWit);
}

// ---------------------------------------------------------------------------
// The WIT types
// ---------------------------------------------------------------------------

function toWit(p) {
  return {
    id: p.id,
    orderId: p.orderId,
    customerId: p.customerId,
    amount: BigInt(p.amount),
    currency: 'USD',
    state: p.state,
    authorizationId: p.authorizationId ?? undefined,
    captureId: p.captureId ?? undefined,
    voidId: p.voidId ?? undefined,
    refundId: p.refundId ?? undefined,
    transitions: p.transitions.map(([state, at]) => ({ state, atMs: BigInt(at) })),
  };
}

// Runs one request: returns the payment, or throws the payment-error (an
// `err` result).
function answer(run) {
  let result;
  try {
    result = run();
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    result = { err: e.failure };
  }
  if (result.err !== undefined) throw result.err;
  return toWit(result.ok);
}

// The exported interface gauntlet:payments/gateway@0.1.0.
export const gateway = {
  authorize(request) {
    return answer(() => authorize(request));
  },
  capture(key, paymentId) {
    return answer(() => operate('capture', key, paymentId));
  },
  void(key, paymentId) {
    return answer(() => operate('void', key, paymentId));
  },
  refund(key, paymentId) {
    return answer(() => operate('refund', key, paymentId));
  },
  getPayment(paymentId) {
    return answer(() => {
      const payment = read(paymentKey(paymentId));
      return payment === null ? { err: { tag: 'not-found' } } : { ok: payment };
    });
  },
  paymentsByOrder(orderId) {
    return list(orderPrefix(orderId));
  },
  paymentsByCustomer(customerId) {
    return list(customerPrefix(customerId));
  },
  recover() {
    recover();
  },
};
