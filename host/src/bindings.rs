//! Every `bindgen!` of the host, in one place, re-exported under short names.
//!
//! The harness interfaces are generated once and shared by every track's
//! world through `with`.

/// `gauntlet:harness`: the virtual clock and the log.
pub mod harness {
    wasmtime::component::bindgen!({
        inline: "
            package gauntlet:host;
            world harness {
                import gauntlet:harness/clock@0.1.0;
                import gauntlet:harness/log@0.1.0;
                import gauntlet:harness/store@0.1.0;
            }
        ",
        path: ["../wit/harness"],
        world: "gauntlet:host/harness",
        imports: { default: async | trappable },
    });
    pub use gauntlet::harness::{clock, log, store};
}

/// `gauntlet:rate-limiter/plugin`.
pub mod rate_limiter {
    wasmtime::component::bindgen!({
        path: ["../wit/harness", "../wit/rate-limiter"],
        world: "gauntlet:rate-limiter/plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "gauntlet:harness/clock@0.1.0": super::harness::clock,
            "gauntlet:harness/log@0.1.0": super::harness::log,
        },
    });
    pub use exports::gauntlet::rate_limiter::limiter::Guest as Limiter;
    pub use gauntlet::rate_limiter::types;
}

/// `gauntlet:payments/plugin`.
pub mod payments {
    wasmtime::component::bindgen!({
        path: ["../wit/harness", "../wit/payments"],
        world: "gauntlet:payments/plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "gauntlet:harness/clock@0.1.0": super::harness::clock,
            "gauntlet:harness/log@0.1.0": super::harness::log,
            "gauntlet:harness/store@0.1.0": super::harness::store,
        },
    });
    pub use exports::gauntlet::payments::gateway;
    pub use gauntlet::payments::bank;
}

/// `gauntlet:jobs/plugin`.
pub mod jobs {
    wasmtime::component::bindgen!({
        path: ["../wit/harness", "../wit/jobs"],
        world: "gauntlet:jobs/plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "gauntlet:harness/clock@0.1.0": super::harness::clock,
            "gauntlet:harness/log@0.1.0": super::harness::log,
            "gauntlet:harness/store@0.1.0": super::harness::store,
        },
    });
    pub use exports::gauntlet::jobs::queue;
}

/// `gauntlet:traced/plugin`.
pub mod traced {
    wasmtime::component::bindgen!({
        path: ["../wit/harness", "../wit/traced"],
        world: "gauntlet:traced/plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "gauntlet:harness/clock@0.1.0": super::harness::clock,
            "gauntlet:harness/log@0.1.0": super::harness::log,
        },
    });
    pub use exports::gauntlet::traced::collector;
}

/// `gauntlet:tweet-audit/plugin`.
pub mod tweet_audit {
    wasmtime::component::bindgen!({
        path: ["../wit/harness", "../wit/tweet-audit"],
        world: "gauntlet:tweet-audit/plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "gauntlet:harness/clock@0.1.0": super::harness::clock,
            "gauntlet:harness/log@0.1.0": super::harness::log,
            "gauntlet:harness/store@0.1.0": super::harness::store,
        },
    });
    pub use exports::gauntlet::tweet_audit::pipeline;
    pub use gauntlet::tweet_audit::{model, output};
}
