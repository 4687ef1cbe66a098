//! The 1:1 fingerprint matcher.
//!
//! 1. **Local structures.** Each minutia is described by its [`NEIGHBOURS`] nearest
//!    neighbours in its own frame: distance, direction of the neighbour seen from the minutia
//!    and relative minutia direction (rotation and translation invariant, in the spirit of
//!    Jiang & Yau's local structures and of minutia-cylinder-code neighbourhoods).
//! 2. **Candidate pairs.** Every probe/reference minutia pair gets a local similarity from a
//!    one-to-one matching of the two neighbourhoods; the best pairs become alignment roots.
//! 3. **Global consistency.** For each root, the probe is aligned on the reference (rotation
//!    and translation of the root pair) and minutiae are paired greedily with a tolerance that
//!    grows with the distance from the root (plastic distortion). Pairs are kept only when
//!    their local structures also agree.
//! 4. **Score.** The number of consistent pairs, normalised by the minutiae counts in the
//!    common area; the best root wins. The score is symmetric: `score(a, b) == score(b, a)`
//!    exactly (the two templates are put in a canonical order before matching).
//!
//! [`decision`] compares a score with thresholds calibrated at false-match rates of 10⁻³ and
//! 10⁻⁴ (ISO/IEC 19795-1 terminology).

use core::f32::consts::PI;
use core::fmt;

use crate::extract::FingerprintFeatures;

/// Neighbours per local structure.
pub const NEIGHBOURS: usize = 8;
/// At most this many minutiae (highest quality first) enter a match template.
pub const MAX_MINUTIAE: usize = 100;
/// Alignment roots tried per comparison.
const ROOTS: usize = 12;

#[derive(Clone, Copy, Default)]
struct Neighbour {
    /// Distance in pixels at 500 ppi.
    d: f32,
    /// Direction of the neighbour relative to the minutia's direction, `[0, 2π)`.
    alpha: f32,
    /// Neighbour direction minus minutia direction, `[0, 2π)`.
    beta: f32,
}

#[derive(Clone, Copy)]
struct Point {
    x: f32,
    y: f32,
    /// Direction in image coordinates (y down), `[0, 2π)`.
    a: f32,
    n: usize,
    nb: [Neighbour; NEIGHBOURS],
}

/// A template prepared for fast comparisons (computed once per impression).
///
/// Personal biometric data: `Debug` shows the minutiae count only.
#[derive(Clone)]
pub struct MatchTemplate {
    points: Vec<Point>,
    /// Cells (of `cell_size` pixels at 500 ppi) at most one cell away from a minutia, as a
    /// bitmap of 16 × 16 cells: the template's area.
    cells: [u16; 16],
    cell_size: f32,
    /// Minutiae by cell: indices into `points` for cell `c` are
    /// `grid[grid_start[c]..grid_start[c + 1]]`.
    grid_start: Vec<u16>,
    grid: Vec<u16>,
    /// Neighbourhood entries by (distance, α, β) bin: `(minutia, neighbour slot)`.
    bin_start: Vec<u16>,
    bins: Vec<(u16, u8)>,
    key: (usize, u64),
}

/// Bins of the neighbourhood index: distance (8 px), α and β (π/8 each).
const D_BINS: usize = 20;
const D_BIN: f32 = 8.0;
const A_BINS: usize = 16;
const A_BIN: f32 = PI / 8.0;
/// Tolerances of a neighbourhood match: distance `D_TOL + D_TOL_REL · d`, α, β (radians).
const D_TOL: f32 = 6.0;
const D_TOL_REL: f32 = 0.08;
const ALPHA_TOL: f32 = 0.35;
const BETA_TOL: f32 = 0.45;

/// The bins a value ± `tol` touches (at most 4; cyclic axes wrap).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn bin_range(v: f32, tol: f32, width: f32, count: usize, cyclic: bool) -> ([usize; 4], usize) {
    let mut out = [0usize; 4];
    let mut n = 0;
    let lo = ((v - tol) / width).floor();
    let hi = ((v + tol) / width).floor();
    if !(lo.is_finite() && hi.is_finite()) {
        return (out, 0);
    }
    let (lo, hi) = (lo as i64, hi as i64);
    let c = i64::try_from(count).unwrap_or(1);
    let mut b = lo;
    while b <= hi && n < 4 {
        let idx = if cyclic {
            Some(b.rem_euclid(c))
        } else {
            (0..c).contains(&b).then_some(b)
        };
        if let Some(i) = idx.and_then(|i| usize::try_from(i).ok())
            && let Some(slot) = out.get_mut(n)
        {
            *slot = i;
            n += 1;
        }
        b += 1;
    }
    (out, n)
}

fn bin_index(d: usize, a: usize, b: usize) -> usize {
    (d * A_BINS + a) * A_BINS + b
}

/// The bin of a value and the nearer adjacent bin (`None` past the ends of a non-cyclic axis).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn bins_of(v: f32, width: f32, count: usize, cyclic: bool) -> (Option<usize>, Option<usize>) {
    let f = v / width;
    if f.is_nan() || f < 0.0 {
        return (None, None);
    }
    let b = f.floor() as usize;
    let up = f - f.floor() >= 0.5;
    let here = if b < count {
        Some(b)
    } else if cyclic {
        Some(b % count)
    } else {
        None
    };
    let other = if up {
        if b + 1 < count {
            Some(b + 1)
        } else if cyclic {
            Some((b + 1) % count)
        } else {
            None
        }
    } else if b > 0 {
        Some(b - 1)
            .filter(|&o| o < count || cyclic)
            .map(|o| o % count)
    } else if cyclic {
        Some(count - 1)
    } else {
        None
    };
    (here, other)
}

impl fmt::Debug for MatchTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatchTemplate")
            .field("minutiae", &self.points.len())
            .finish_non_exhaustive()
    }
}

/// An angle brought into `[0, 2π)` (inputs within a few turns; no libm call).
fn wrap(a: f32) -> f32 {
    let mut r = a;
    let mut guard = 0;
    while r < 0.0 && guard < 8 {
        r += 2.0 * PI;
        guard += 1;
    }
    while r >= 2.0 * PI && guard < 16 {
        r -= 2.0 * PI;
        guard += 1;
    }
    if (0.0..2.0 * PI).contains(&r) { r } else { 0.0 }
}

/// Absolute difference of two angles in `[0, 2π)`, in `[0, π]`.
fn adiff(a: f32, b: f32) -> f32 {
    let d = (a - b).abs();
    if d > PI { 2.0 * PI - d } else { d }
}

/// Euclidean length (plain `sqrt`; `hypot`'s overflow care is not needed for pixel values).
fn dist(dx: f32, dy: f32) -> f32 {
    (dx * dx + dy * dy).sqrt()
}

/// Cell index (0..16) of a coordinate, None outside.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn cell(v: f32, size: f32) -> Option<usize> {
    let c = (v / size).floor();
    (0.0..16.0).contains(&c).then_some(c as usize)
}

impl MatchTemplate {
    /// Prepares `features` for matching (coordinates normalised to 500 ppi).
    #[must_use]
    pub fn new(features: &FingerprintFeatures) -> Self {
        let scale = if features.resolution_ppi == 0 {
            1.0
        } else {
            500.0 / f32::from(features.resolution_ppi)
        };
        let mut ms: Vec<_> = features.minutiae.iter().collect();
        ms.sort_by_key(|m| core::cmp::Reverse(m.quality));
        ms.truncate(MAX_MINUTIAE);
        let mut points: Vec<Point> = ms
            .iter()
            .map(|m| Point {
                x: f32::from(m.x) * scale,
                y: f32::from(m.y) * scale,
                a: wrap(-m.angle),
                n: 0,
                nb: [Neighbour::default(); NEIGHBOURS],
            })
            .collect();
        let snapshot = points.clone();
        let mut dists: Vec<(f32, usize)> = Vec::with_capacity(snapshot.len());
        for (i, p) in points.iter_mut().enumerate() {
            dists.clear();
            for (j, q) in snapshot.iter().enumerate() {
                if i != j {
                    dists.push((dist(q.x - p.x, q.y - p.y), j));
                }
            }
            dists.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut n = 0;
            for &(d, j) in dists.iter().take(NEIGHBOURS) {
                let Some(q) = snapshot.get(j) else { continue };
                if let Some(slot) = p.nb.get_mut(n) {
                    *slot = Neighbour {
                        d,
                        alpha: wrap((q.y - p.y).atan2(q.x - p.x) - p.a),
                        beta: wrap(q.a - p.a),
                    };
                    n += 1;
                }
            }
            p.n = n;
        }
        let extent = points.iter().fold(0f32, |m, p| m.max(p.x).max(p.y));
        let cell_size = (extent / 15.9).max(32.0);
        let cell_of = |v: f32| cell(v, cell_size);
        let mut cells = [0u16; 16];
        let mut counts = vec![0u16; 257];
        for p in &points {
            if let (Some(cx), Some(cy)) = (cell_of(p.x), cell_of(p.y)) {
                if let Some(c) = counts.get_mut(cy * 16 + cx + 1) {
                    *c += 1;
                }
                for yy in cy.saturating_sub(1)..(cy + 2).min(16) {
                    if let Some(row) = cells.get_mut(yy) {
                        for xx in cx.saturating_sub(1)..(cx + 2).min(16) {
                            *row |= 1 << xx;
                        }
                    }
                }
            }
        }
        for c in 1..counts.len() {
            let prev = counts.get(c - 1).copied().unwrap_or(0);
            if let Some(v) = counts.get_mut(c) {
                *v += prev;
            }
        }
        let grid_start = counts.clone();
        let mut grid = vec![0u16; points.len()];
        for (i, p) in points.iter().enumerate() {
            if let (Some(cx), Some(cy)) = (cell_of(p.x), cell_of(p.y))
                && let Some(slot) = counts.get_mut(cy * 16 + cx)
            {
                if let Some(g) = grid.get_mut(usize::from(*slot)) {
                    *g = u16::try_from(i).unwrap_or(0);
                }
                *slot += 1;
            }
        }
        // Neighbourhood index.
        let nbins = D_BINS * A_BINS * A_BINS;
        let mut entries: Vec<(usize, u16, u8)> = Vec::new();
        for (i, p) in points.iter().enumerate() {
            for (k, nb) in p.nb.iter().take(p.n).enumerate() {
                if let (Some(db), Some(ab), Some(bb)) = (
                    bins_of(nb.d, D_BIN, D_BINS, false).0,
                    bins_of(nb.alpha, A_BIN, A_BINS, true).0,
                    bins_of(nb.beta, A_BIN, A_BINS, true).0,
                ) {
                    entries.push((
                        bin_index(db, ab, bb),
                        u16::try_from(i).unwrap_or(0),
                        u8::try_from(k).unwrap_or(0),
                    ));
                }
            }
        }
        entries.sort_unstable();
        let mut bin_start = vec![0u16; nbins + 1];
        for e in &entries {
            if let Some(c) = bin_start.get_mut(e.0 + 1) {
                *c += 1;
            }
        }
        for c in 1..bin_start.len() {
            let prev = bin_start.get(c - 1).copied().unwrap_or(0);
            if let Some(v) = bin_start.get_mut(c) {
                *v += prev;
            }
        }
        let bins = entries.iter().map(|e| (e.1, e.2)).collect();
        // A canonical order key so that comparisons are exactly symmetric.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for p in &points {
            for v in [p.x.to_bits(), p.y.to_bits(), p.a.to_bits()] {
                h = (h ^ u64::from(v)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        Self {
            key: (points.len(), h),
            points,
            cells,
            cell_size,
            grid_start,
            grid,
            bin_start,
            bins,
        }
    }

    /// Number of minutiae used.
    #[must_use]
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the template has no minutiae.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    fn covers(&self, x: f32, y: f32) -> bool {
        match (cell(x, self.cell_size), cell(y, self.cell_size)) {
            (Some(cx), Some(cy)) => self.cells.get(cy).is_some_and(|r| (r >> cx) & 1 == 1),
            _ => false,
        }
    }
}

/// Compares two templates: a similarity score in `0..=100`, symmetric, higher for more
/// similar fingerprints.
#[must_use]
pub fn score(a: &MatchTemplate, b: &MatchTemplate) -> f32 {
    let (a, b) = if a.key <= b.key { (a, b) } else { (b, a) };
    if a.points.len() < 3 || b.points.len() < 3 {
        return 0.0;
    }
    // Local similarity of every pair by voting: each neighbourhood entry of `a` looks up the
    // compatible entries of `b` in its index.
    let nb = b.points.len();
    let mut votes = vec![0f32; a.points.len() * nb];
    for (i, p) in a.points.iter().enumerate() {
        for e in p.nb.iter().take(p.n) {
            let tol_d = D_TOL + D_TOL_REL * e.d;
            let (dbs, nd) = bin_range(e.d, tol_d, D_BIN, D_BINS, false);
            let (abs_, na) = bin_range(e.alpha, ALPHA_TOL, A_BIN, A_BINS, true);
            let (bbs, nbb) = bin_range(e.beta, BETA_TOL, A_BIN, A_BINS, true);
            for &db in dbs.iter().take(nd) {
                for &ab in abs_.iter().take(na) {
                    for &bb in bbs.iter().take(nbb) {
                        let bin = bin_index(db, ab, bb);
                        let lo = usize::from(b.bin_start.get(bin).copied().unwrap_or(0));
                        let hi = usize::from(b.bin_start.get(bin + 1).copied().unwrap_or(0));
                        for &(k, slot) in b.bins.get(lo..hi).unwrap_or(&[]) {
                            let Some(f) = b
                                .points
                                .get(usize::from(k))
                                .and_then(|q| q.nb.get(usize::from(slot)))
                            else {
                                continue;
                            };
                            let dd = (e.d - f.d).abs();
                            let da = adiff(e.alpha, f.alpha);
                            let dbeta = adiff(e.beta, f.beta);
                            if dd > tol_d || da > ALPHA_TOL || dbeta > BETA_TOL {
                                continue;
                            }
                            let cost = dd / tol_d + da / ALPHA_TOL + dbeta / BETA_TOL;
                            if let Some(v) = votes.get_mut(i * nb + usize::from(k)) {
                                *v += 1.0 - cost / 3.0;
                            }
                        }
                    }
                }
            }
        }
    }
    let mut roots: Vec<(f32, usize, usize)> = Vec::with_capacity(ROOTS + 1);
    let mut sims = votes;
    for (i, p) in a.points.iter().enumerate() {
        for (j, q) in b.points.iter().enumerate() {
            let Some(v) = sims.get_mut(i * nb + j) else {
                continue;
            };
            #[allow(clippy::cast_precision_loss)]
            let cap = p.n.min(q.n) as f32;
            #[allow(clippy::cast_precision_loss)]
            let denom = (p.n.max(3) * q.n.max(3)) as f32;
            let m = v.min(cap);
            let s = m * m / denom;
            *v = s;
            if s > 0.05 && (roots.len() < ROOTS || roots.last().is_some_and(|r| s > r.0)) {
                let pos = roots.partition_point(|r| r.0 >= s);
                roots.insert(pos, (s, i, j));
                roots.truncate(ROOTS);
            }
        }
    }
    let mut best = 0f32;
    let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
    let mut used_a = vec![false; a.points.len()];
    let mut used_b = vec![false; nb];
    let mut moved: Vec<(f32, f32, f32)> = Vec::with_capacity(a.points.len());
    for &(_, ri, rj) in &roots {
        let (Some(pr), Some(qr)) = (a.points.get(ri), b.points.get(rj)) else {
            continue;
        };
        let rot = qr.a - pr.a;
        let (c, s) = (rot.cos(), rot.sin());
        moved.clear();
        for p in &a.points {
            let (dx, dy) = (p.x - pr.x, p.y - pr.y);
            moved.push((
                qr.x + c * dx - s * dy,
                qr.y + s * dx + c * dy,
                wrap(p.a + rot),
            ));
        }
        pairs.clear();
        for (i, &(x, y, ang)) in moved.iter().enumerate() {
            let from_root = dist(x - qr.x, y - qr.y);
            let tol = 10.0 + 0.07 * from_root;
            let tol_a = 0.45 + 0.0008 * from_root;
            let (Some(cx), Some(cy)) = (cell(x, b.cell_size), cell(y, b.cell_size)) else {
                continue;
            };
            for yy in cy.saturating_sub(1)..(cy + 2).min(16) {
                let lo = usize::from(
                    b.grid_start
                        .get(yy * 16 + cx.saturating_sub(1))
                        .copied()
                        .unwrap_or(0),
                );
                let hi = usize::from(
                    b.grid_start
                        .get(yy * 16 + (cx + 2).min(16))
                        .copied()
                        .unwrap_or(0),
                );
                for &j in b.grid.get(lo..hi).unwrap_or(&[]) {
                    let j = usize::from(j);
                    let Some(q) = b.points.get(j) else { continue };
                    let (dx, dy) = (q.x - x, q.y - y);
                    let d2 = dx * dx + dy * dy;
                    if d2 > tol * tol {
                        continue;
                    }
                    let d = d2.sqrt();
                    let da = adiff(q.a, ang);
                    if da > tol_a {
                        continue;
                    }
                    let ls = sims.get(i * nb + j).copied().unwrap_or(0.0);
                    let cost = d / tol + da / tol_a - ls;
                    pairs.push((cost, i, j));
                }
            }
        }
        pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
        used_a.iter_mut().for_each(|v| *v = false);
        used_b.iter_mut().for_each(|v| *v = false);
        let mut m = 0f32;
        for &(cost, i, j) in &pairs {
            if used_a.get(i).copied().unwrap_or(true) || used_b.get(j).copied().unwrap_or(true) {
                continue;
            }
            if let Some(u) = used_a.get_mut(i) {
                *u = true;
            }
            if let Some(u) = used_b.get_mut(j) {
                *u = true;
            }
            // A pair counts fully when its local structures agree, partly otherwise.
            let ls = sims.get(i * nb + j).copied().unwrap_or(0.0);
            let _ = cost;
            m += 0.5 + 0.5 * (ls * 4.0).min(1.0);
        }
        // Minutiae of each template inside the other's area.
        let na = moved.iter().filter(|&&(x, y, _)| b.covers(x, y)).count();
        let (ci, si) = (c, -s);
        let nbo = b
            .points
            .iter()
            .filter(|q| {
                let (dx, dy) = (q.x - qr.x, q.y - qr.y);
                a.covers(pr.x + ci * dx - si * dy, pr.y + si * dx + ci * dy)
            })
            .count();
        #[allow(clippy::cast_precision_loss)]
        let denom = (na.max(12) * nbo.max(12)) as f32;
        let sc = m * m / denom;
        if sc > best {
            best = sc;
        }
    }
    (best * 100.0).clamp(0.0, 100.0)
}

/// The false-match rates at which thresholds are calibrated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FalseMatchRate {
    /// One false match in a thousand impostor comparisons.
    E3,
    /// One false match in ten thousand impostor comparisons.
    E4,
}

/// The score threshold for `fmr`. See [`THRESHOLD_FMR_1E3`] and [`THRESHOLD_FMR_1E4`].
#[must_use]
pub fn threshold(fmr: FalseMatchRate) -> f32 {
    match fmr {
        FalseMatchRate::E3 => THRESHOLD_FMR_1E3,
        FalseMatchRate::E4 => THRESHOLD_FMR_1E4,
    }
}

/// A match decision (a value, not an error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Same finger, at the chosen false-match rate.
    Match,
    /// Not shown to be the same finger.
    NoMatch,
}

/// Decides whether `score` shows the same finger at false-match rate `fmr`.
#[must_use]
pub fn decision(score: f32, fmr: FalseMatchRate) -> Decision {
    if score >= threshold(fmr) {
        Decision::Match
    } else {
        Decision::NoMatch
    }
}

/// Threshold at FMR 10⁻³.
///
/// Calibrated on generated impostor scores: `shenas-bench-fingerprint --tier hard --fingers 40
/// --impressions 8 --seed 2026 --impostors first5` (19,500 impostor pairs of the hard tier,
/// whose impostor scores run higher than the standard tier's), rounded up; the benchmark
/// prints the thresholds of each run so that they can be re-checked.
pub const THRESHOLD_FMR_1E3: f32 = 20.1;
/// Threshold at FMR 10⁻⁴, calibrated as [`THRESHOLD_FMR_1E3`] (only about two impostor scores
/// lie above it in that set, so it is a coarse estimate).
pub const THRESHOLD_FMR_1E4: f32 = 25.3;

#[cfg(test)]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
mod tests {
    use super::*;
    use crate::extract::{Minutia, MinutiaKind};

    /// A deterministic pseudo-random set of minutiae.
    fn features(seed: u64, n: usize) -> FingerprintFeatures {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            f32::from(u16::try_from(s % 10_000).unwrap()) / 10_000.0
        };
        let minutiae = (0..n)
            .map(|_| Minutia {
                x: u16::try_from((60.0 + 300.0 * next()) as u32).unwrap(),
                y: u16::try_from((60.0 + 360.0 * next()) as u32).unwrap(),
                angle: 2.0 * PI * next() * 0.9999,
                kind: MinutiaKind::RidgeEnding,
                quality: 60,
            })
            .collect();
        FingerprintFeatures {
            width: 416,
            height: 480,
            resolution_ppi: 500,
            minutiae,
        }
    }

    /// Rotates by `rot` radians around (208, 240) and shifts; drops every `drop`-th minutia.
    fn transformed(
        f: &FingerprintFeatures,
        rot: f32,
        shift: (f32, f32),
        drop: usize,
    ) -> FingerprintFeatures {
        let (c, s) = (rot.cos(), rot.sin());
        let minutiae = f
            .minutiae
            .iter()
            .enumerate()
            .filter(|(i, _)| drop == 0 || i % drop != 0)
            .map(|(_, m)| {
                let (dx, dy) = (f32::from(m.x) - 208.0, f32::from(m.y) - 240.0);
                // Image rotation by `rot` (y down) turns ISO angles by −rot.
                Minutia {
                    x: (208.0 + c * dx - s * dy + shift.0).round() as u16,
                    y: (240.0 + s * dx + c * dy + shift.1).round() as u16,
                    angle: wrap(m.angle - rot),
                    ..*m
                }
            })
            .collect();
        FingerprintFeatures {
            minutiae,
            ..f.clone()
        }
    }

    #[test]
    fn same_finger_scores_high_and_symmetric() {
        let a = features(1, 40);
        let b = transformed(&a, 0.3, (15.0, -10.0), 5);
        let (ta, tb) = (MatchTemplate::new(&a), MatchTemplate::new(&b));
        let s = score(&ta, &tb);
        assert!(s > 30.0, "genuine score {s}");
        assert_eq!(s.to_bits(), score(&tb, &ta).to_bits());
        assert!(score(&ta, &ta) > 80.0);
        assert_eq!(decision(s, FalseMatchRate::E4), Decision::Match);
    }

    #[test]
    fn different_fingers_score_low() {
        let mut worst = 0f32;
        for seed in 2..30 {
            let a = MatchTemplate::new(&features(seed, 40));
            let b = MatchTemplate::new(&features(seed + 100, 40));
            worst = worst.max(score(&a, &b));
        }
        assert!(worst < THRESHOLD_FMR_1E3, "impostor score {worst}");
    }

    #[test]
    fn tiny_and_empty_templates_score_zero() {
        let e = MatchTemplate::new(&features(3, 0));
        let t = MatchTemplate::new(&features(3, 2));
        let full = MatchTemplate::new(&features(3, 30));
        assert!(e.is_empty());
        assert_eq!(score(&e, &full), 0.0);
        assert_eq!(score(&t, &full), 0.0);
        assert_eq!(decision(0.0, FalseMatchRate::E3), Decision::NoMatch);
    }
}
