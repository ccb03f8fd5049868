//! Track `payment-gateway` (in progress, issue 3): a gateway between a shop
//! and a flaky bank. So far: the host's mock bank.

pub mod bank;
pub mod dependency;
