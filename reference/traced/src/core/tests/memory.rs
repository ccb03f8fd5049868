//! Memory follows what is stored: a long run holds one window's worth, and
//! nothing at all once the clock moved past it with no traffic.

use super::harness::*;

/// A second of traffic at `now`: `n` traces of a root and 1–4 children,
/// children first in every third trace; every seventh trace never gets its
/// root.
fn second(env: &mut Env, first: u64, n: u64) {
    let now = env.now();
    let mut batch = Vec::new();
    for t in first..first + n {
        let start = now - (t % 1000) as i64 * MS;
        let children = 1 + t % 4;
        let mut spans: Vec<_> = (1..=children)
            .map(|c| child(t, c, start + c as i64))
            .collect();
        if t % 7 != 0 {
            if t % 3 == 0 {
                spans.push(root(t, start));
            } else {
                spans.insert(0, root(t, start));
            }
        }
        if batch.len() + spans.len() > 500 {
            env.ok(std::mem::take(&mut batch));
        }
        batch.extend(spans);
    }
    env.ok(batch);
}

#[test]
fn a_long_run_holds_one_window_then_nothing() {
    let mut env = Env::new();
    let per_second = 20;
    let seconds = 3 * (W / 1_000_000_000) as u64;
    let mut peak = 0;
    for s in 0..seconds {
        second(&mut env, s * per_second, per_second);
        env.advance_ms(1000);
        peak = peak.max(env.collector.stored_spans());
    }
    // One window (plus the second in flight) of 20 traces of 3.5 spans on
    // average, a second.
    let window = (W / 1_000_000_000) as usize + 2;
    assert!(peak <= window * per_second as usize * 4, "{peak}");
    assert!(peak >= window * per_second as usize * 2, "{peak}");
    let page = env.all();
    assert_eq!(page.traces.len(), 1000);
    // Every rooted trace of the last window (6 in 7 have a root).
    let rooted = (window - 3) * per_second as usize * 6 / 7;
    assert!(
        (rooted..rooted + 100).contains(&(page.total as usize)),
        "{}",
        page.total
    );
    env.advance_ms((W / MS) as u64 + 1000);
    assert!(env.listed().is_empty());
    assert_eq!(env.collector.stored_spans(), 0);
    assert_eq!(env.collector.stored_traces(), 0);
    assert!(env.collector.is_empty());
}
