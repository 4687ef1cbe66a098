//! The FVC evaluation protocol as pure computation (Maio et al., FVC2000–2006; rates as in
//! ISO/IEC 19795-1): pair enumeration over a `fingers × impressions` database and the error
//! rates of a set of genuine and impostor scores.
//!
//! Scores are similarities: a comparison is accepted when `score ≥ t`. For a threshold `t`,
//! FMR(t) is the fraction of impostor scores `≥ t` and FNMR(t) the fraction of genuine scores
//! `< t`. Thresholds range over every score that occurs plus one above them all.
//! - EER: the mean of FMR and FNMR at the threshold where |FMR − FNMR| is smallest.
//! - FNMR at FMR x: the smallest FNMR over thresholds whose FMR ≤ x.
//! - FNMR at zero FMR: the smallest FNMR over thresholds whose FMR is 0.

/// An image of the database: finger and impression, both numbered from 1.
pub type ImageId = (u32, u32);

/// Every pair of impressions of the same finger (`fingers · C(impressions, 2)`; 2,800 for
/// 100 × 8).
#[must_use]
pub fn genuine_pairs(fingers: u32, impressions: u32) -> Vec<(ImageId, ImageId)> {
    let mut v = Vec::new();
    for f in 1..=fingers {
        for i in 1..=impressions {
            for j in i + 1..=impressions {
                v.push(((f, i), (f, j)));
            }
        }
    }
    v
}

/// FVC impostor pairs: impression 1 of every pair of different fingers (`C(fingers, 2)`;
/// 4,950 for 100 fingers).
#[must_use]
pub fn fvc_impostor_pairs(fingers: u32) -> Vec<(ImageId, ImageId)> {
    let mut v = Vec::new();
    for f in 1..=fingers {
        for g in f + 1..=fingers {
            v.push(((f, 1), (g, 1)));
        }
    }
    v
}

/// Extended impostor pairs: every pair of images of different fingers, using impressions
/// `1..=impressions` (`C(fingers, 2) · impressions²`; 316,800 for 100 × 8).
#[must_use]
pub fn extended_impostor_pairs(fingers: u32, impressions: u32) -> Vec<(ImageId, ImageId)> {
    let mut v = Vec::new();
    for f in 1..=fingers {
        for g in f + 1..=fingers {
            for i in 1..=impressions {
                for j in 1..=impressions {
                    v.push(((f, i), (g, j)));
                }
            }
        }
    }
    v
}

/// Impostor pairs over the first `k` impressions of every pair of different fingers
/// (`C(fingers, 2) · k²`; 123,750 for 100 fingers and k = 5, the set of fingerprint.md's NBIS
/// baseline).
#[must_use]
pub fn impostor_pairs_first(fingers: u32, k: u32) -> Vec<(ImageId, ImageId)> {
    extended_impostor_pairs(fingers, k)
}

/// Error rates of one evaluation (fractions, not percentages).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ErrorRates {
    /// Genuine comparisons scored.
    pub genuine_pairs: usize,
    /// Impostor comparisons scored.
    pub impostor_pairs: usize,
    /// Equal error rate.
    pub eer: f64,
    /// Threshold at which the EER was taken.
    pub eer_threshold: f64,
    /// FNMR at FMR ≤ 10⁻².
    pub fnmr_at_fmr_1e2: f64,
    /// FNMR at FMR ≤ 10⁻³.
    pub fnmr_at_fmr_1e3: f64,
    /// FNMR at FMR ≤ 10⁻⁴.
    pub fnmr_at_fmr_1e4: f64,
    /// FNMR at FMR = 0.
    pub fnmr_at_zero_fmr: f64,
}

/// The error rates of `genuine` and `impostor` scores; `None` when either set is empty.
/// Non-finite scores count as the lowest possible score.
#[must_use]
pub fn error_rates(genuine: &[f64], impostor: &[f64]) -> Option<ErrorRates> {
    if genuine.is_empty() || impostor.is_empty() {
        return None;
    }
    let clean = |v: &[f64]| -> Vec<f64> {
        let mut c: Vec<f64> = v
            .iter()
            .map(|&s| if s.is_finite() { s } else { f64::MIN })
            .collect();
        c.sort_by(f64::total_cmp);
        c
    };
    let g = clean(genuine);
    let im = clean(impostor);
    #[allow(clippy::cast_precision_loss)]
    let (ng, ni) = (g.len() as f64, im.len() as f64);
    let mut thresholds: Vec<f64> = g.iter().chain(&im).copied().collect();
    thresholds.sort_by(f64::total_cmp);
    thresholds.dedup();
    let mut best_gap = f64::MAX;
    let mut out = ErrorRates {
        genuine_pairs: g.len(),
        impostor_pairs: im.len(),
        eer: 1.0,
        eer_threshold: f64::INFINITY,
        fnmr_at_fmr_1e2: 1.0,
        fnmr_at_fmr_1e3: 1.0,
        fnmr_at_fmr_1e4: 1.0,
        fnmr_at_zero_fmr: 1.0,
    };
    let mut consider = |t: f64, fmr: f64, fnmr: f64| {
        let gap = (fmr - fnmr).abs();
        if gap < best_gap {
            best_gap = gap;
            out.eer = 0.5 * (fmr + fnmr);
            out.eer_threshold = t;
        }
        for (limit, slot) in [
            (1e-2, &mut out.fnmr_at_fmr_1e2),
            (1e-3, &mut out.fnmr_at_fmr_1e3),
            (1e-4, &mut out.fnmr_at_fmr_1e4),
            (0.0, &mut out.fnmr_at_zero_fmr),
        ] {
            if fmr <= limit && fnmr < *slot {
                *slot = fnmr;
            }
        }
    };
    for &t in &thresholds {
        #[allow(clippy::cast_precision_loss)]
        let rejected = g.partition_point(|&s| s < t) as f64;
        #[allow(clippy::cast_precision_loss)]
        let accepted = (im.len() - im.partition_point(|&s| s < t)) as f64;
        consider(t, accepted / ni, rejected / ng);
    }
    // Above every score: nothing accepted.
    consider(f64::INFINITY, 0.0, 1.0);
    Some(out)
}

/// The smallest threshold whose FMR on `impostor` is at most `fmr` (for calibrating decision
/// thresholds); `None` for an empty set.
#[must_use]
pub fn threshold_at_fmr(impostor: &[f64], fmr: f64) -> Option<f64> {
    if impostor.is_empty() {
        return None;
    }
    let mut im: Vec<f64> = impostor.iter().copied().filter(|s| s.is_finite()).collect();
    im.sort_by(f64::total_cmp);
    #[allow(clippy::cast_precision_loss)]
    let n = impostor.len() as f64;
    // Accept s ≥ t; choose t just above the k-th highest score, where k/n ≤ fmr.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let allowed = (fmr * n).floor().max(0.0) as usize;
    let idx = im.len().checked_sub(allowed + 1)?;
    im.get(idx).map(|&s| next_up(s))
}

fn next_up(v: f64) -> f64 {
    if v.is_nan() || v == f64::INFINITY {
        return v;
    }
    let bits = v.to_bits();
    let next = if v == 0.0 {
        1
    } else if v > 0.0 {
        bits + 1
    } else {
        bits - 1
    };
    f64::from_bits(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_counts_follow_the_protocol() {
        assert_eq!(genuine_pairs(100, 8).len(), 2_800);
        assert_eq!(fvc_impostor_pairs(100).len(), 4_950);
        assert_eq!(extended_impostor_pairs(100, 8).len(), 316_800);
        assert_eq!(impostor_pairs_first(100, 5).len(), 123_750);
        assert!(
            genuine_pairs(3, 4)
                .iter()
                .all(|(a, b)| a.0 == b.0 && a.1 < b.1)
        );
        assert!(extended_impostor_pairs(3, 2).iter().all(|(a, b)| a.0 < b.0));
    }

    #[test]
    fn separated_scores_have_zero_error() {
        let r = error_rates(&[5.0, 6.0, 7.0], &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(r.eer, 0.0);
        assert_eq!(r.fnmr_at_fmr_1e4, 0.0);
        assert_eq!(r.fnmr_at_zero_fmr, 0.0);
        assert_eq!((r.genuine_pairs, r.impostor_pairs), (3, 3));
    }

    #[test]
    fn overlapping_scores() {
        // Genuine 1..=10, impostor 0..=5 (ties at 1..=5).
        let g: Vec<f64> = (1..=10).map(f64::from).collect();
        let im: Vec<f64> = (0..=5).map(f64::from).collect();
        let r = error_rates(&g, &im).unwrap();
        // t = 6: FMR 0, FNMR 0.5 → zero-FMR FNMR 0.5.
        assert!((r.fnmr_at_zero_fmr - 0.5).abs() < 1e-12);
        // t = 4: FMR 2/6, FNMR 3/10, the closest pair: EER = (1/3 + 0.3)/2.
        assert!((r.eer - (1.0 / 3.0 + 0.3) / 2.0).abs() < 1e-12, "{}", r.eer);
        assert!((r.fnmr_at_fmr_1e2 - 0.5).abs() < 1e-12);
        assert!(error_rates(&[], &im).is_none());
    }

    #[test]
    fn all_equal_scores() {
        let r = error_rates(&[1.0; 4], &[1.0; 4]).unwrap();
        // t = 1: FMR 1, FNMR 0; t = ∞: FMR 0, FNMR 1; both gaps 1, the first is kept.
        assert!((r.eer - 0.5).abs() < 1e-12);
        assert_eq!(r.fnmr_at_zero_fmr, 1.0);
    }

    #[test]
    fn threshold_calibration() {
        let im: Vec<f64> = (0..1000).map(f64::from).collect();
        let t = threshold_at_fmr(&im, 1e-3).unwrap();
        let accepted = im.iter().filter(|&&s| s >= t).count();
        assert_eq!(accepted, 1);
        let t = threshold_at_fmr(&im, 1e-4).unwrap();
        assert!(im.iter().all(|&s| s < t));
    }
}
