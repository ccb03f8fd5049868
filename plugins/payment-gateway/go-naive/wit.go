package export_gauntlet_payments_gateway

import (
	gw "wit_component/gauntlet_payments_gateway"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// witStates are the WIT payment states by the store's names.
var witStates = map[string]gw.PaymentState{
	statePending:    gw.PaymentState_Pending,
	stateAuthorized: gw.PaymentState_Authorized,
	stateCaptured:   gw.PaymentState_Captured,
	stateVoided:     gw.PaymentState_Voided,
	stateRefunded:   gw.PaymentState_Refunded,
}

// witErrors are the WIT errors without a payload, by kind.
var witErrors = map[string]func() gw.PaymentError{
	"invalid-card":           gw.MakePaymentErrorInvalidCard,
	"invalid-cvv":            gw.MakePaymentErrorInvalidCvv,
	"invalid-amount":         gw.MakePaymentErrorInvalidAmount,
	"card-expired":           gw.MakePaymentErrorCardExpired,
	"insufficient-funds":     gw.MakePaymentErrorInsufficientFunds,
	"authorization-expired":  gw.MakePaymentErrorAuthorizationExpired,
	"not-found":              gw.MakePaymentErrorNotFound,
	"idempotency-key-reused": gw.MakePaymentErrorIdempotencyKeyReused,
	"bank-unavailable":       gw.MakePaymentErrorBankUnavailable,
}

func toWIT(p *payment) gw.Payment {
	transitions := make([]gw.Transition, len(p.Transitions))
	for i, t := range p.Transitions {
		transitions[i] = gw.Transition{State: witStates[t.State], AtMs: t.AtMs}
	}
	return gw.Payment{
		Id:              p.ID,
		OrderId:         p.OrderID,
		CustomerId:      p.CustomerID,
		Amount:          p.Amount,
		Currency:        "USD",
		State:           witStates[p.State],
		AuthorizationId: option(p.AuthorizationID),
		CaptureId:       option(p.CaptureID),
		VoidId:          option(p.VoidID),
		RefundId:        option(p.RefundID),
		Transitions:     transitions,
	}
}

func option(s *string) witTypes.Option[string] {
	if s == nil {
		return witTypes.None[string]()
	}
	return witTypes.Some(*s)
}

func witError(f *failure) gw.PaymentError {
	switch f.Kind {
	case "invalid-transition":
		return gw.MakePaymentErrorInvalidTransition(witStates[f.State])
	case "other":
		return gw.MakePaymentErrorOther(f.Message)
	}
	if makeError, ok := witErrors[f.Kind]; ok {
		return makeError()
	}
	return gw.MakePaymentErrorOther("unknown error " + f.Kind)
}
