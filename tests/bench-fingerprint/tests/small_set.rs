//! The benchmark on a small seeded set (10 fingers × 8 impressions per tier), ours beside NBIS.
//!
//! Heavy image code: it runs in an optimised profile
//! (`cargo nextest run -p shenas-bench-fingerprint --cargo-profile opt-test`) and is ignored in
//! unoptimised builds. The bounds are loose enough to be stable across seeds and generator
//! tweaks, but a broken extractor or matcher fails them.

#![allow(clippy::expect_used)] // test code: a missing NBIS report is a test failure

use shenas_bench_fingerprint::{Config, ImpostorSet, run_tier};
use shenas_fingersim::Tier;

fn config() -> Config {
    Config {
        fingers: 10,
        impressions: 8,
        seed: 20_261_201,
        impostors: ImpostorSet::Extended,
        threads: 2,
        nbis: true,
    }
}

fn check(tier: Tier, max_eer: f64) {
    let cfg = config();
    let r = run_tier(&cfg, tier, &mut |_| {});
    let ours = &r.ours;
    let nbis = r.nbis.as_ref().expect("NBIS was run");
    assert_eq!(ours.rates.genuine_pairs, 280);
    assert_eq!(ours.rates.impostor_pairs, 2_880);
    assert_eq!(nbis.rates.impostor_pairs, 2_880);
    assert!(
        ours.rates.eer < max_eer,
        "{}: our EER {} ≥ {max_eer}",
        tier.name(),
        ours.rates.eer
    );
    assert!(
        ours.rates.eer <= nbis.rates.eer + 0.01,
        "{}: our EER {} vs NBIS {}",
        tier.name(),
        ours.rates.eer,
        nbis.rates.eer
    );
    assert!(
        ours.rates.fnmr_at_fmr_1e3 <= nbis.rates.fnmr_at_fmr_1e3 + 0.02,
        "{}: our FNMR@1e-3 {} vs NBIS {}",
        tier.name(),
        ours.rates.fnmr_at_fmr_1e3,
        nbis.rates.fnmr_at_fmr_1e3
    );
    assert!(ours.recall > 0.8, "{}: recall {}", tier.name(), ours.recall);
    assert!(
        ours.precision > 0.6,
        "{}: precision {}",
        tier.name(),
        ours.precision
    );
    assert!(ours.minutiae_mean > 15.0 && ours.minutiae_mean < 120.0);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "heavy: run with --cargo-profile opt-test")]
fn standard_tier_beats_nbis() {
    check(Tier::Standard, 0.05);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "heavy: run with --cargo-profile opt-test")]
fn hard_tier_beats_nbis() {
    check(Tier::Hard, 0.20);
}
