package export_gauntlet_payments_gateway

import (
	"encoding/json"

	"wit_component/gauntlet_harness_store"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// The store's keys.
const (
	lastPayment = "meta/last-payment"
	payments    = "payment/"
)

func paymentKey(id string) string { return payments + id }

func idemKey(op, key string) string { return "idem/" + op + "/" + key }

// payment is a payment as stored: the WIT payment's fields (the state by
// name, the receipt ids nil when unknown), its number (the order it was
// created in) and the operation in flight on it, if any.
type payment struct {
	Number          uint64       `json:"number"`
	ID              string       `json:"id"`
	OrderID         string       `json:"order_id"`
	CustomerID      string       `json:"customer_id"`
	Amount          uint64       `json:"amount"`
	State           string       `json:"state"`
	AuthorizationID *string      `json:"authorization_id"`
	CaptureID       *string      `json:"capture_id"`
	VoidID          *string      `json:"void_id"`
	RefundID        *string      `json:"refund_id"`
	Transitions     []transition `json:"transitions"`
	InFlight        *flight      `json:"in_flight"`
}

// setReceipt puts the bank's receipt id of op in its field.
func (p *payment) setReceipt(op string, id *string) {
	switch op {
	case opAuthorize:
		p.AuthorizationID = id
	case opCapture:
		p.CaptureID = id
	case opVoid:
		p.VoidID = id
	case opRefund:
		p.RefundID = id
	}
}

type transition struct {
	State string `json:"state"`
	AtMs  uint64 `json:"at_ms"`
}

// flight is the operation in flight on a payment: which, the client's
// idempotency key, and the card of an authorization (kept until the bank
// answers, for the retries).
type flight struct {
	Op   string      `json:"op"`
	Key  string      `json:"key"`
	Card *storedCard `json:"card"`
}

type storedCard struct {
	Number string `json:"number"`
	Cvv    string `json:"cvv"`
	Month  uint8  `json:"month"`
	Year   uint16 `json:"year"`
}

// request is a request as the client sent it, to tell a retry from a reuse
// of its key: an authorization (kind "authorize") or an operation on a
// payment (kind "on-payment"). It is comparable with ==.
type request struct {
	Kind       string     `json:"kind"`
	OrderID    string     `json:"order_id,omitempty"`
	CustomerID string     `json:"customer_id,omitempty"`
	Amount     uint64     `json:"amount,omitempty"`
	Card       storedCard `json:"card,omitzero"`
	PaymentID  string     `json:"payment_id,omitempty"`
}

// idemRecord is what a client's idempotency key holds: the request, the
// payment it concerns, and the final answer once there is one.
type idemRecord struct {
	Request   request `json:"request"`
	PaymentID string  `json:"payment_id"`
	Answer    *answer `json:"answer"`
}

// read returns the value stored at key, nil if there is none.
func read[T any](key string) (*T, error) {
	raw := gauntlet_harness_store.Get(key)
	if raw.IsNone() {
		return nil, nil
	}
	value := new(T)
	if err := json.Unmarshal(raw.Some(), value); err != nil {
		return nil, other("store: cannot read " + key)
	}
	return value, nil
}

// mustJSON is value in JSON. The values here always encode.
func mustJSON(value any) []byte {
	raw, err := json.Marshal(value)
	if err != nil {
		panic(err)
	}
	return raw
}

// put is a write of value, in JSON (a string as it is).
func put(key string, value any) gauntlet_harness_store.Write {
	var raw []byte
	if s, ok := value.(string); ok {
		raw = []byte(s)
	} else {
		raw = mustJSON(value)
	}
	return gauntlet_harness_store.Write{Key: key, Value: witTypes.Some(raw)}
}

// remove is a write that deletes key.
func remove(key string) gauntlet_harness_store.Write {
	return gauntlet_harness_store.Write{Key: key, Value: witTypes.None[[]byte]()}
}

// storeErrorNames are the store's errors by tag, as the Rust naive prints
// them.
var storeErrorNames = []string{
	gauntlet_harness_store.StoreError_KeyTooLarge:   "KeyTooLarge",
	gauntlet_harness_store.StoreError_ValueTooLarge: "ValueTooLarge",
	gauntlet_harness_store.StoreError_QuotaExceeded: "QuotaExceeded",
}

// save applies writes, all or nothing.
func save(writes ...gauntlet_harness_store.Write) error {
	done := gauntlet_harness_store.Transact(nil, writes)
	if done.IsErr() {
		return other("store: " + storeErrorNames[done.Err().Tag()])
	}
	if !done.Ok() {
		return other("store: transaction refused")
	}
	return nil
}

// allPayments returns every payment in the store, in key order; with a
// needle, only those whose stored JSON contains it (a test on the raw bytes,
// before parsing: parsing every payment is most of the cost of a listing or
// a recovery).
func allPayments(needle []byte) []*payment {
	const page = 100
	var found []*payment
	after := witTypes.None[string]()
	for {
		entries := gauntlet_harness_store.Scan(payments, after, page)
		for _, entry := range entries {
			key, raw := entry.F0, entry.F1
			if after.IsSome() && key <= after.Some() {
				return found // the store went backwards: stop
			}
			after = witTypes.Some(key)
			if !contains(raw, needle) {
				continue
			}
			p := new(payment)
			if err := json.Unmarshal(raw, p); err == nil {
				found = append(found, p)
			}
		}
		if len(entries) < page {
			return found
		}
	}
}
