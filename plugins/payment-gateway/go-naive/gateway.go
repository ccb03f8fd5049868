// Package export_gauntlet_payments_gateway is a correct but naive payment
// gateway in Go, for the `gauntlet:payments/plugin` world.
//
// A translation of the Python naive (`../python-naive/app.py`), itself a
// translation of the Rust naive (`../naive/src/lib.rs`). Everything that
// must survive a crash is in the durable store, as JSON (see store.go):
//
//   - `payment/{id}`: the whole payment, plus the operation in flight on it,
//     if any (which, the client's idempotency key, and the card for an
//     authorization), written before the bank is first called and cleared
//     when the bank's answer is recorded;
//   - `idem/{operation}/{key}`: the whole request as the client sent it, the
//     payment it concerns, and the final answer once there is one;
//   - `meta/last-payment`: the last payment number handed out.
//
// Nothing is clever: there are no indexes (a listing reads every payment in
// the store, then filters and sorts), and Recover reads every payment before
// it settles the ones in flight. But every rule is kept: bank keys are
// `{payment-id}/{operation}` whatever the attempt, crash or recovery; only
// `unavailable` and `timeout` are retried (after 100, 200, 400 and 800 ms of
// virtual sleep, five attempts in all); each change of the store is one
// transaction; and the choices the specification leaves open are made as
// the reference makes them, so that every answer is the same.
//
// Internally an answer is an [answer] (a payment or a [failure]); the
// Python's exception `Fail` (the store refused, or the bank is still not
// answering: nothing recorded) is a returned error, always a *failure.
//
// Build (see README.md): wit-bindgen generates the Go module `wit_component`
// around this package; its glue (`wit_exports.go`) calls the exported
// functions at the end of this file.
package export_gauntlet_payments_gateway

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"wit_component/gauntlet_harness_clock"
	"wit_component/gauntlet_harness_store"
	bank "wit_component/gauntlet_payments_bank"
	gw "wit_component/gauntlet_payments_gateway"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// backoffMs are the waits between the attempts of one bank call (virtual
// ms).
var backoffMs = []uint64{100, 200, 400, 800}

// The operations, as keys spell them.
const (
	opAuthorize = "authorize"
	opCapture   = "capture"
	opVoid      = "void"
	opRefund    = "refund"
)

// The payment states, as the store spells them.
const (
	statePending    = "pending"
	stateAuthorized = "authorized"
	stateCaptured   = "captured"
	stateVoided     = "voided"
	stateRefunded   = "refunded"
)

// opStates: the state an operation starts from, and the state it leads to.
var opStates = map[string]struct{ from, to string }{
	opAuthorize: {statePending, stateAuthorized},
	opCapture:   {stateAuthorized, stateCaptured},
	opVoid:      {stateAuthorized, stateVoided},
	opRefund:    {stateCaptured, stateRefunded},
}

// failure is a refusal, as the client gets it: a WIT payment-error by kind
// (its `kind` is the error's WIT name), with the state of an
// `invalid-transition` and the message of an `other`.
type failure struct {
	Kind    string `json:"kind"`
	State   string `json:"state,omitempty"`
	Message string `json:"message,omitempty"`
}

func (f *failure) Error() string {
	switch {
	case f.State != "":
		return f.Kind + "(" + f.State + ")"
	case f.Message != "":
		return f.Kind + ": " + f.Message
	}
	return f.Kind
}

func refusal(kind string) *failure { return &failure{Kind: kind} }

func other(message string) *failure { return &failure{Kind: "other", Message: message} }

// answer is the final answer to a request: a payment or a refusal.
type answer struct {
	Ok  *payment `json:"ok,omitempty"`
	Err *failure `json:"err,omitempty"`
}

// ---------------------------------------------------------------------------
// The gateway
// ---------------------------------------------------------------------------

func authorize(req gw.AuthorizeRequest) (answer, error) {
	c := req.Card
	card := storedCard{Number: c.Number, Cvv: c.Cvv, Month: c.ExpiryMonth, Year: c.ExpiryYear}
	asked := request{
		Kind:       "authorize",
		OrderID:    req.OrderId,
		CustomerID: req.CustomerId,
		Amount:     req.Amount,
		Card:       card,
	}
	key := idemKey(opAuthorize, req.IdempotencyKey)
	idem, err := read[idemRecord](key)
	if err != nil {
		return answer{}, err
	}
	if idem != nil {
		return replay(opAuthorize, req.IdempotencyKey, idem, asked)
	}

	last := uint64(0)
	if raw := gauntlet_harness_store.Get(lastPayment); raw.IsSome() {
		if last, err = strconv.ParseUint(string(raw.Some()), 10, 64); err != nil {
			return answer{}, other("store: bad payment counter")
		}
	}
	number := last + 1
	id := fmt.Sprintf("pay-%06d", number)
	p := &payment{
		Number:      number,
		ID:          id,
		OrderID:     req.OrderId,
		CustomerID:  req.CustomerId,
		Amount:      req.Amount,
		State:       statePending,
		Transitions: []transition{{statePending, gauntlet_harness_clock.NowMs()}},
		InFlight:    &flight{Op: opAuthorize, Key: req.IdempotencyKey, Card: &card},
	}
	idem = &idemRecord{Request: asked, PaymentID: id}
	if err := save(
		put(lastPayment, strconv.FormatUint(number, 10)),
		put(paymentKey(id), p),
		put(key, idem),
	); err != nil {
		return answer{}, err
	}
	return settle(p, true)
}

// operate is a capture, a void or a refund.
func operate(op, clientKey, paymentID string) (answer, error) {
	asked := request{Kind: "on-payment", PaymentID: paymentID}
	key := idemKey(op, clientKey)
	idem, err := read[idemRecord](key)
	if err != nil {
		return answer{}, err
	}
	if idem != nil {
		return replay(op, clientKey, idem, asked)
	}

	p, err := read[payment](paymentKey(paymentID))
	if err != nil {
		return answer{}, err
	}
	if p != nil && p.InFlight != nil {
		// Another request's operation is still in flight on this payment:
		// finish it first (its answer is kept for its own key). If the bank
		// still does not answer, this request cannot be judged either.
		if _, err := settle(p, false); err != nil {
			return answer{}, err
		}
		if p, err = read[payment](paymentKey(paymentID)); err != nil {
			return answer{}, err
		}
	}

	var refused *failure
	switch {
	case p == nil:
		refused = refusal("not-found")
	case p.State != opStates[op].from:
		refused = &failure{Kind: "invalid-transition", State: p.State}
	case op == opRefund && p.CaptureID == nil:
		refused = other("refund: the capture's receipt id is unknown")
	}
	if refused != nil {
		// Refused without asking the bank: that is the final answer.
		idem := &idemRecord{Request: asked, PaymentID: paymentID, Answer: &answer{Err: refused}}
		if err := save(put(key, idem)); err != nil {
			return answer{}, err
		}
		return answer{Err: refused}, nil
	}

	p.InFlight = &flight{Op: op, Key: clientKey}
	idem = &idemRecord{Request: asked, PaymentID: paymentID}
	if err := save(put(paymentKey(p.ID), p), put(key, idem)); err != nil {
		return answer{}, err
	}
	return settle(p, true)
}

// replay answers a request whose key was seen before.
func replay(op, clientKey string, idem *idemRecord, asked request) (answer, error) {
	if idem.Request != asked {
		return answer{Err: refusal("idempotency-key-reused")}, nil
	}
	if idem.Answer != nil {
		return *idem.Answer, nil
	}
	// Still in flight: carry on with it.
	p, err := read[payment](paymentKey(idem.PaymentID))
	if err != nil {
		return answer{}, err
	}
	if p != nil && p.InFlight != nil && p.InFlight.Op == op && p.InFlight.Key == clientKey {
		return settle(p, false)
	}
	return answer{Err: other("store: " + idemKey(op, clientKey) + " is in flight with no operation")}, nil
}

// callBank makes one attempt of the operation in flight. It returns the
// receipt id, or the bank's error; called is false (and nothing else set)
// if the payment lacks the bank id the operation needs.
func callBank(p *payment, f *flight, bankKey string) (id string, bankErr *bank.BankError, called bool) {
	switch {
	case f.Op == opAuthorize && f.Card != nil:
		c := bank.Card{Number: f.Card.Number, Cvv: f.Card.Cvv, ExpiryMonth: f.Card.Month, ExpiryYear: f.Card.Year}
		id, bankErr = receipt(bank.Authorize(c, p.Amount, bankKey), func(r bank.Authorization) string { return r.Id })
	case f.Op == opCapture && p.AuthorizationID != nil:
		id, bankErr = receipt(bank.Capture(*p.AuthorizationID, p.Amount, bankKey), func(r bank.CaptureReceipt) string { return r.Id })
	case f.Op == opVoid && p.AuthorizationID != nil:
		id, bankErr = receipt(bank.Void(*p.AuthorizationID, bankKey), func(r bank.VoidReceipt) string { return r.Id })
	case f.Op == opRefund && p.CaptureID != nil:
		id, bankErr = receipt(bank.Refund(*p.CaptureID, p.Amount, bankKey), func(r bank.RefundReceipt) string { return r.Id })
	default:
		return "", nil, false
	}
	return id, bankErr, true
}

// receipt splits the bank's answer into the receipt's id or the error.
func receipt[T any](r witTypes.Result[T, bank.BankError], id func(T) string) (string, *bank.BankError) {
	if r.IsErr() {
		e := r.Err()
		return "", &e
	}
	return id(r.Ok()), nil
}

// outcome is what the bank's answers to an operation came to: done (with
// the receipt id, nil when unknown), or refused.
type outcome struct {
	done    bool
	receipt *string
	refused *failure
}

// settle calls the bank for the payment's operation in flight until it
// answers for good, then records the answer (and returns it). An error:
// still in flight (or the store refused the record). fresh: the operation
// was recorded by this very request, so the bank has never seen it.
func settle(p *payment, fresh bool) (answer, error) {
	f := p.InFlight
	if f == nil {
		return answer{Ok: p}, nil
	}
	bankKey := p.ID + "/" + f.Op
	maybeDoneBefore := !fresh
	var out outcome
	for attempt := 0; ; attempt++ {
		id, bankErr, called := callBank(p, f, bankKey)
		if !called {
			out = outcome{refused: other("store: " + p.ID + " lacks a bank id")}
			break
		}
		if bankErr == nil {
			out = outcome{done: true, receipt: &id}
			break
		}
		tag := bankErr.Tag()
		if tag != bank.BankError_Unavailable && tag != bank.BankError_Timeout {
			out = bankRefusal(f.Op, tag, maybeDoneBefore)
			break
		}
		if tag == bank.BankError_Timeout {
			maybeDoneBefore = true
		}
		if attempt >= len(backoffMs) {
			return answer{}, refusal("bank-unavailable")
		}
		gauntlet_harness_clock.SleepMs(backoffMs[attempt])
	}
	return record(p, f, out)
}

// bankRefusal says what a refusal by the bank means. maybeDoneBefore: an
// earlier attempt of this operation may have reached the bank.
func bankRefusal(op string, tag uint8, maybeDoneBefore bool) outcome {
	if op == opAuthorize {
		switch tag {
		case bank.BankError_InvalidCard:
			return outcome{refused: refusal("invalid-card")}
		case bank.BankError_InvalidCvv:
			return outcome{refused: refusal("invalid-cvv")}
		case bank.BankError_InvalidAmount:
			return outcome{refused: refusal("invalid-amount")}
		case bank.BankError_CardExpired:
			return outcome{refused: refusal("card-expired")}
		case bank.BankError_InsufficientFunds:
			return outcome{refused: refusal("insufficient-funds")}
		}
	}
	if op == opCapture && tag == bank.BankError_AuthorizationExpired {
		return outcome{refused: refusal("authorization-expired")}
	}
	// Nothing but this payment uses its authorization (or capture): an
	// earlier attempt of ours did it, and the bank has since forgotten its
	// key. Done, with the receipt id unknown.
	if maybeDoneBefore &&
		((op == opCapture || op == opVoid) && tag == bank.BankError_AlreadyUsed ||
			op == opRefund && tag == bank.BankError_AlreadyRefunded) {
		return outcome{done: true}
	}
	return outcome{refused: other("bank: " + bankErrorNames[tag])}
}

// bankErrorNames are the bank's errors by tag, as the Rust naive prints them.
var bankErrorNames = []string{
	bank.BankError_InvalidCard:          "InvalidCard",
	bank.BankError_InvalidCvv:           "InvalidCvv",
	bank.BankError_InvalidAmount:        "InvalidAmount",
	bank.BankError_CardExpired:          "CardExpired",
	bank.BankError_InsufficientFunds:    "InsufficientFunds",
	bank.BankError_UnknownAuthorization: "UnknownAuthorization",
	bank.BankError_AlreadyUsed:          "AlreadyUsed",
	bank.BankError_AuthorizationExpired: "AuthorizationExpired",
	bank.BankError_AmountMismatch:       "AmountMismatch",
	bank.BankError_UnknownCapture:       "UnknownCapture",
	bank.BankError_AlreadyRefunded:      "AlreadyRefunded",
	bank.BankError_Unavailable:          "Unavailable",
	bank.BankError_Timeout:              "Timeout",
}

// record records the outcome of the operation in flight: the payment
// (deleted if its authorization was declined) and the answer for the
// client's key, in one transaction.
func record(p *payment, f *flight, out outcome) (answer, error) {
	key := idemKey(f.Op, f.Key)
	idem, err := read[idemRecord](key)
	if err != nil {
		return answer{}, err
	}
	p.InFlight = nil
	var writes []gauntlet_harness_store.Write
	var ans answer
	if out.done {
		to := opStates[f.Op].to
		p.State = to
		p.setReceipt(f.Op, out.receipt)
		p.Transitions = append(p.Transitions, transition{to, gauntlet_harness_clock.NowMs()})
		writes = append(writes, put(paymentKey(p.ID), p))
		ans = answer{Ok: p}
	} else {
		if f.Op == opAuthorize {
			writes = append(writes, remove(paymentKey(p.ID)))
		} else {
			writes = append(writes, put(paymentKey(p.ID), p))
		}
		ans = answer{Err: out.refused}
	}
	if idem != nil {
		idem.Answer = &ans
		writes = append(writes, put(key, idem))
	}
	if err := save(writes...); err != nil {
		return answer{}, err
	}
	return ans, nil
}

func recoverAll() {
	// Only payments with an operation in flight are parsed: the store's
	// JSON has `"in_flight":{` for those alone (JSON escapes every quote
	// inside a string, so these bytes cannot occur inside a value).
	for _, p := range allPayments([]byte(`"in_flight":{`)) {
		if p.InFlight != nil {
			// Recorded for the client's key either way; or still in
			// flight, for a later retry or recovery.
			_, _ = settle(p, false)
		}
	}
}

// listPayments returns every payment whose field (by its JSON name, read by
// get) is value, oldest first.
func listPayments(field, value string, get func(*payment) string) []gw.Payment {
	// The exact bytes the store's JSON has for that field (JSON escapes
	// every quote inside a string, so they cannot occur inside another
	// value); the comparison after parsing stays the judge.
	needle := append([]byte(`"`+field+`":`), mustJSON(value)...)
	var found []*payment
	for _, p := range allPayments(needle) {
		if get(p) == value {
			found = append(found, p)
		}
	}
	slices.SortStableFunc(found, func(a, b *payment) int { return cmp.Compare(a.Number, b.Number) })
	list := make([]gw.Payment, len(found))
	for i, p := range found {
		list[i] = toWIT(p)
	}
	return list
}

// contains tells whether raw holds needle (a nil needle: always).
func contains(raw, needle []byte) bool { return needle == nil || bytes.Contains(raw, needle) }

// ---------------------------------------------------------------------------
// The exports
// ---------------------------------------------------------------------------

// result turns an operation's answer into the WIT result.
func result(ans answer, err error) witTypes.Result[gw.Payment, gw.PaymentError] {
	if err != nil {
		var f *failure
		if !errors.As(err, &f) {
			f = other(err.Error())
		}
		return witTypes.Err[gw.Payment](witError(f))
	}
	if ans.Err != nil {
		return witTypes.Err[gw.Payment](witError(ans.Err))
	}
	return witTypes.Ok[gw.Payment, gw.PaymentError](toWIT(ans.Ok))
}

// Authorize holds the amount on the card, once per idempotency key.
func Authorize(request gw.AuthorizeRequest) witTypes.Result[gw.Payment, gw.PaymentError] {
	return result(authorize(request))
}

// Capture captures an authorized payment.
func Capture(idempotencyKey string, paymentID string) witTypes.Result[gw.Payment, gw.PaymentError] {
	return result(operate(opCapture, idempotencyKey, paymentID))
}

// Void releases an authorized payment's hold.
func Void(idempotencyKey string, paymentID string) witTypes.Result[gw.Payment, gw.PaymentError] {
	return result(operate(opVoid, idempotencyKey, paymentID))
}

// Refund refunds a captured payment.
func Refund(idempotencyKey string, paymentID string) witTypes.Result[gw.Payment, gw.PaymentError] {
	return result(operate(opRefund, idempotencyKey, paymentID))
}

// GetPayment reads a payment (`pending` while its authorization is in
// flight).
func GetPayment(paymentID string) witTypes.Result[gw.Payment, gw.PaymentError] {
	p, err := read[payment](paymentKey(paymentID))
	if err == nil && p == nil {
		return result(answer{Err: refusal("not-found")}, nil)
	}
	return result(answer{Ok: p}, err)
}

// PaymentsByOrder lists an order's payments, oldest first.
func PaymentsByOrder(orderID string) []gw.Payment {
	return listPayments("order_id", orderID, func(p *payment) string { return p.OrderID })
}

// PaymentsByCustomer lists a customer's payments, oldest first.
func PaymentsByCustomer(customerID string) []gw.Payment {
	return listPayments("customer_id", customerID, func(p *payment) string { return p.CustomerID })
}

// Recover settles whatever a crashed instance left in flight.
func Recover() {
	recoverAll()
}
