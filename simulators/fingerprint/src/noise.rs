//! Deterministic randomness: per-purpose ChaCha streams derived from the database seed, normal
//! variates, and smooth value noise for slowly varying maps.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// SplitMix64 finaliser: mixes the seed parts into one stream seed.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The random stream for `(seed, finger, impression, purpose)`: independent of generation order,
/// so a database is the same whether made in parallel or not.
pub(crate) fn stream(seed: u64, finger: u32, impression: u32, purpose: u32) -> ChaCha8Rng {
    let s = mix(
        mix(mix(seed) ^ u64::from(finger)) ^ (u64::from(impression) << 32 | u64::from(purpose))
    );
    ChaCha8Rng::seed_from_u64(s)
}

/// A standard normal variate (Box–Muller).
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    let v = (-2.0 * u1.ln()).sqrt() * (core::f64::consts::TAU * u2).cos();
    to_f32(v)
}

/// `f64` to `f32` (values here are small and finite).
#[allow(clippy::cast_possible_truncation, reason = "small finite values")]
pub(crate) fn to_f32(v: f64) -> f32 {
    v as f32
}

/// Smooth value noise in `[-1, 1]`: random values on a grid of `cell` pixels, interpolated with
/// smoothstep weights.
pub(crate) struct ValueNoise {
    grid: Vec<f32>,
    gw: usize,
    gh: usize,
    cell: f32,
}

impl ValueNoise {
    pub(crate) fn new(rng: &mut ChaCha8Rng, width: usize, height: usize, cell: f32) -> Self {
        let gw = floor_usize(to_f32_usize(width) / cell) + 3;
        let gh = floor_usize(to_f32_usize(height) / cell) + 3;
        let grid = (0..gw * gh)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect();
        Self { grid, gw, gh, cell }
    }

    fn node(&self, x: usize, y: usize) -> f32 {
        let (x, y) = (x.min(self.gw - 1), y.min(self.gh - 1));
        self.grid.get(y * self.gw + x).copied().unwrap_or(0.0)
    }

    /// The noise at pixel `(x, y)`.
    pub(crate) fn at(&self, x: f32, y: f32) -> f32 {
        let fx = (x / self.cell).max(0.0);
        let fy = (y / self.cell).max(0.0);
        let (x0, y0) = (floor_usize(fx), floor_usize(fy));
        let s = |t: f32| t * t * (3.0 - 2.0 * t);
        let (ax, ay) = (s(fx - x0 as f32), s(fy - y0 as f32));
        let top = self.node(x0, y0) * (1.0 - ax) + self.node(x0 + 1, y0) * ax;
        let bottom = self.node(x0, y0 + 1) * (1.0 - ax) + self.node(x0 + 1, y0 + 1) * ax;
        top * (1.0 - ay) + bottom * ay
    }
}

/// `floor(v)` as an index; negative and non-finite values give 0.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped to be non-negative and below usize::MAX first"
)]
pub(crate) fn floor_usize(v: f32) -> usize {
    if v.is_finite() && v > 0.0 {
        v.min(1e9) as usize
    } else {
        0
    }
}

/// An image dimension as `f32` (dimensions here are below 2^24, so exact).
#[allow(clippy::cast_precision_loss, reason = "dimensions are far below 2^24")]
pub(crate) fn to_f32_usize(v: usize) -> f32 {
    v as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_distinct() {
        let a: Vec<u64> = (1..=40).map(|f| stream(1, f, 0, 1).random()).collect();
        let b: Vec<u64> = (1..=40).map(|f| stream(1, f, 0, 1).random()).collect();
        assert_eq!(a, b);
        let mut unique = a.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), a.len());
        assert_ne!(
            stream(1, 1, 1, 2).random::<u64>(),
            stream(1, 1, 2, 2).random::<u64>()
        );
        assert_ne!(
            stream(1, 1, 1, 2).random::<u64>(),
            stream(2, 1, 1, 2).random::<u64>()
        );
    }

    #[test]
    fn value_noise_is_bounded_and_smooth() {
        let mut rng = stream(3, 1, 1, 1);
        let n = ValueNoise::new(&mut rng, 100, 100, 10.0);
        for i in 0..100 {
            let x = i as f32;
            let (a, b) = (n.at(x, 50.0), n.at(x + 0.5, 50.0));
            assert!((-1.0..=1.0).contains(&a));
            assert!((a - b).abs() < 0.3);
        }
    }
}
