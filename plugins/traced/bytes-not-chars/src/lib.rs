//! The reference trace collector, with a length check of its own in front
//! that counts bytes, not characters. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

/// The WIT's limit on a service or an operation name.
const MAX_NAME: usize = 256;

struct Buggy;

impl core::Rules for Buggy {}

impl glue::Bug for Buggy {
    fn refused(spans: &[core::Span]) -> Option<core::TracedError> {
        // BUG: "a string's length is its `len()`": in Rust that is bytes
        // of UTF-8, so a name of 256 characters outside ASCII (each "é"
        // is two bytes) is refused, though the WIT counts characters.
        spans.iter().enumerate().find_map(|(index, span)| {
            let problem = if span.service.len() > MAX_NAME {
                core::SpanProblem::ServiceTooLong
            } else if span.operation.len() > MAX_NAME {
                core::SpanProblem::OperationTooLong
            } else {
                return None;
            };
            Some(core::TracedError::InvalidSpan {
                index: index as u32,
                problem,
            })
        })
    }
}
