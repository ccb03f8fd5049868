//! The reference rate limiter, except that the first matching tier rule
//! wins rather than the longest prefix. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

#[derive(Default)]
struct Buggy;

impl glue::Bug for Buggy {
    fn configure(
        &mut self,
        limiter: &mut core::Limiter,
        mut config: core::Config,
    ) -> Result<(), core::ConfigError> {
        // Validated as given, so the errors are the specified ones.
        limiter.configure(config.clone())?;
        // BUG: tiers are tried in the order configured and the first prefix
        // that matches wins; the specification says the longest matching
        // prefix wins. With `free:` listed before `free:vip:`, the key
        // `free:vip:ada` gets the free policy.
        //
        // A rule that an earlier, shorter prefix covers can never be the
        // first match, so it is dropped. Among the rules left, every shorter
        // match comes later, so the core's longest match is the first match.
        let tiers = std::mem::take(&mut config.tiers);
        for tier in tiers {
            let shadowed = config
                .tiers
                .iter()
                .any(|earlier| tier.prefix.starts_with(&earlier.prefix));
            if !shadowed {
                config.tiers.push(tier);
            }
        }
        limiter.configure(config)
    }
}
