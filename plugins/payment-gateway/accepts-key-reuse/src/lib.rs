//! The reference payment gateway, except that an authorize idempotency key
//! reused with other parameters makes a new payment. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl glue::Bug for Buggy {
    fn authorize(gateway: &mut glue::Gateway, request: &core::AuthorizeRequest) -> core::Response {
        let mut response = gateway.authorize(request);
        let mut n = 1u64;
        // BUG: "the shop must have meant a new payment": a key already used
        // for other parameters is not refused but made unique, and the
        // request is authorized as a new payment (a second hold at the
        // bank). The client, whose key names one payment, gets another.
        // (Each distinct request under the key gets its own suffix, so a
        // repeat of it is still replayed.)
        while response == Err(core::PaymentError::IdempotencyKeyReused) {
            let mut renamed = request.clone();
            renamed.idempotency_key = format!("{}#{n}", request.idempotency_key);
            response = gateway.authorize(&renamed);
            n += 1;
        }
        response
    }
}
