//! The master fingerprint (SFinGe, Cappelli–Maio–Maltoni): silhouette, orientation field from
//! the zero-pole model (Sherlock–Monro) with class priors, ridge-period map, ridge growth by
//! iterated space-variant Gabor filtering from random seeds, and ground-truth minutiae from the
//! skeleton of the binarised master (crossing number).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use shenas_biometrics::extract::{Minutia, MinutiaKind};

use crate::noise::{ValueNoise, floor_usize, normal, to_f32, to_f32_usize};

/// Fingerprint class (Henry classes as SFinGe draws them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FingerprintClass {
    /// Plain arch: no singular point.
    Arch,
    /// Tented arch: a core with a delta right below it.
    TentedArch,
    /// Left loop: ridges enter and leave on the left, the delta lies to the right.
    LeftLoop,
    /// Right loop: mirrored left loop.
    RightLoop,
    /// Whorl: two cores, two deltas.
    Whorl,
}

impl FingerprintClass {
    /// Draws a class with the natural frequencies SFinGe uses (arch 3.7 %, tented arch 2.9 %,
    /// left loop 33.8 %, right loop 31.7 %, whorl 27.9 %).
    pub(crate) fn draw(rng: &mut ChaCha8Rng) -> Self {
        let u: f32 = rng.random();
        match u {
            u if u < 0.037 => Self::Arch,
            u if u < 0.066 => Self::TentedArch,
            u if u < 0.404 => Self::LeftLoop,
            u if u < 0.721 => Self::RightLoop,
            _ => Self::Whorl,
        }
    }
}

/// A 2-D field of `f32` in row-major order.
#[derive(Clone)]
pub(crate) struct Field {
    pub(crate) w: usize,
    pub(crate) h: usize,
    pub(crate) data: Vec<f32>,
}

impl Field {
    pub(crate) fn new(w: usize, h: usize, v: f32) -> Self {
        Self {
            w,
            h,
            data: vec![v; w * h],
        }
    }

    pub(crate) fn at(&self, x: usize, y: usize) -> f32 {
        if x < self.w && y < self.h {
            self.data.get(y * self.w + x).copied().unwrap_or(0.0)
        } else {
            0.0
        }
    }

    /// Bilinear sample at continuous pixel coordinates (pixel centres at integers); `outside`
    /// beyond the edges.
    pub(crate) fn sample(&self, x: f32, y: f32, outside: f32) -> f32 {
        if !(x > -1.0 && y > -1.0 && x < to_f32_usize(self.w) && y < to_f32_usize(self.h)) {
            return outside;
        }
        let fx = x.floor();
        let fy = y.floor();
        let (ax, ay) = (x - fx, y - fy);
        let get = |xi: f32, yi: f32| {
            if xi < 0.0 || yi < 0.0 {
                outside
            } else {
                let (xi, yi) = (floor_usize(xi), floor_usize(yi));
                if xi >= self.w || yi >= self.h {
                    outside
                } else {
                    self.at(xi, yi)
                }
            }
        };
        let top = get(fx, fy) * (1.0 - ax) + get(fx + 1.0, fy) * ax;
        let bottom = get(fx, fy + 1.0) * (1.0 - ax) + get(fx + 1.0, fy + 1.0) * ax;
        top * (1.0 - ay) + bottom * ay
    }
}

/// The silhouette: an upper and a lower half-ellipse sharing the horizontal axis.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub(crate) cx: f32,
    pub(crate) cy: f32,
    pub(crate) left: f32,
    pub(crate) right: f32,
    pub(crate) top: f32,
    pub(crate) bottom: f32,
}

impl Shape {
    /// Normalised radius: < 1 inside, 1 on the outline.
    pub(crate) fn radius(&self, x: f32, y: f32) -> f32 {
        let dx = x - self.cx;
        let dy = y - self.cy;
        let a = if dx < 0.0 { self.left } else { self.right };
        let b = if dy < 0.0 { self.top } else { self.bottom };
        ((dx / a).powi(2) + (dy / b).powi(2)).sqrt()
    }

    /// Approximate distance in pixels inside the outline (negative outside).
    pub(crate) fn depth(&self, x: f32, y: f32) -> f32 {
        let r = self.radius(x, y);
        (1.0 - r) * self.left.min(self.right).min(self.top).min(self.bottom)
    }
}

/// Singular points in image coordinates.
#[derive(Clone, Debug, Default)]
pub(crate) struct Singularities {
    pub(crate) cores: Vec<(f32, f32)>,
    pub(crate) deltas: Vec<(f32, f32)>,
}

/// A master fingerprint: the ridge pattern before any impression effect, and its minutiae.
pub(crate) struct Master {
    pub(crate) class: FingerprintClass,
    pub(crate) shape: Shape,
    /// Ridge field at full resolution, in `[-1, 1]`, positive on ridges.
    pub(crate) ridges: Field,
    /// Ground-truth minutiae in master coordinates.
    pub(crate) minutiae: Vec<Minutia>,
    /// Gabor iterations the growth took.
    pub(crate) iterations: usize,
}

const KERNEL_RADIUS: usize = 5;
const KERNEL_SIDE: usize = 2 * KERNEL_RADIUS + 1;
const KERNEL_TAPS: usize = KERNEL_SIDE * KERNEL_SIDE;
const ORIENTATION_BINS: usize = 24;
/// Gabor iterations at most, and after the ridges have covered the silhouette.
const MAX_ITERATIONS: usize = 60;
const SETTLE_ITERATIONS: usize = 8;
/// Number of random seeds the ridges grow from.
const SEEDS_MIN: usize = 35;
const SEEDS_MAX: usize = 60;
const PERIOD_MIN: f32 = 3.5;
const PERIOD_STEP: f32 = 0.25;
const PERIOD_BINS: usize = 14;

/// Gabor kernels at half resolution, by orientation bin and period bin.
struct KernelBank {
    taps: Vec<f32>,
}

impl KernelBank {
    fn new() -> Self {
        let mut taps = Vec::with_capacity(ORIENTATION_BINS * PERIOD_BINS * KERNEL_TAPS);
        for o in 0..ORIENTATION_BINS {
            let theta = to_f32_usize(o) * core::f32::consts::PI / to_f32_usize(ORIENTATION_BINS);
            let (nx, ny) = (-theta.sin(), theta.cos());
            for p in 0..PERIOD_BINS {
                let period = PERIOD_MIN + PERIOD_STEP * to_f32_usize(p);
                let sigma = 0.55 * period;
                let mut k = Vec::with_capacity(KERNEL_TAPS);
                for v in 0..KERNEL_SIDE {
                    for u in 0..KERNEL_SIDE {
                        let du = to_f32_usize(u) - to_f32_usize(KERNEL_RADIUS);
                        let dv = to_f32_usize(v) - to_f32_usize(KERNEL_RADIUS);
                        let g = (-(du * du + dv * dv) / (2.0 * sigma * sigma)).exp();
                        let phase = core::f32::consts::TAU * (du * nx + dv * ny) / period;
                        k.push(g * phase.cos());
                    }
                }
                // No response to a constant; unit response to the matching sinusoid.
                let mean = k.iter().sum::<f32>() / to_f32_usize(KERNEL_TAPS);
                k.iter_mut().for_each(|t| *t -= mean);
                let mut response = 0.0;
                for (i, t) in k.iter().enumerate() {
                    let du = to_f32_usize(i % KERNEL_SIDE) - to_f32_usize(KERNEL_RADIUS);
                    let dv = to_f32_usize(i / KERNEL_SIDE) - to_f32_usize(KERNEL_RADIUS);
                    response += t * (core::f32::consts::TAU * (du * nx + dv * ny) / period).cos();
                }
                let norm = if response.abs() > 1e-6 { response } else { 1.0 };
                taps.extend(k.iter().map(|t| t / norm));
            }
        }
        Self { taps }
    }

    fn kernel(&self, orientation: usize, period: usize) -> &[f32] {
        let start = (orientation * PERIOD_BINS + period) * KERNEL_TAPS;
        self.taps.get(start..start + KERNEL_TAPS).unwrap_or(&[])
    }
}

fn orientation_bin(theta: f32) -> usize {
    let t = theta.rem_euclid(core::f32::consts::PI) / core::f32::consts::PI;
    floor_usize(t * to_f32_usize(ORIENTATION_BINS) + 0.5) % ORIENTATION_BINS
}

fn period_bin(period_half: f32) -> usize {
    floor_usize(((period_half - PERIOD_MIN) / PERIOD_STEP + 0.5).max(0.0)).min(PERIOD_BINS - 1)
}

fn uniform(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    rng.random_range(lo..hi)
}

/// Places the singular points for `class` around the shape's centre.
fn singularities(class: FingerprintClass, shape: &Shape, rng: &mut ChaCha8Rng) -> Singularities {
    let cx = shape.cx + 12.0 * normal(rng);
    let cy = shape.cy - uniform(rng, 10.0, 70.0);
    let mut s = Singularities::default();
    match class {
        FingerprintClass::Arch => {}
        FingerprintClass::TentedArch => {
            s.cores.push((cx, cy));
            s.deltas
                .push((cx + 6.0 * normal(rng), cy + uniform(rng, 60.0, 100.0)));
        }
        FingerprintClass::LeftLoop | FingerprintClass::RightLoop => {
            let side = if class == FingerprintClass::LeftLoop {
                1.0
            } else {
                -1.0
            };
            let cx = cx - side * uniform(rng, 0.0, 30.0);
            s.cores.push((cx, cy));
            s.deltas.push((
                cx + side * uniform(rng, 70.0, 140.0),
                cy + uniform(rng, 90.0, 160.0),
            ));
        }
        FingerprintClass::Whorl => {
            let c2 = (cx + 12.0 * normal(rng), cy + uniform(rng, 20.0, 50.0));
            s.cores.push((cx, cy));
            s.cores.push(c2);
            let my = (cy + c2.1) / 2.0;
            s.deltas.push((
                cx - uniform(rng, 90.0, 140.0),
                my + uniform(rng, 90.0, 150.0),
            ));
            s.deltas.push((
                cx + uniform(rng, 90.0, 140.0),
                my + uniform(rng, 90.0, 150.0),
            ));
        }
    }
    s
}

/// Ridge orientation (tangent angle in image coordinates, y down, modulo π) at `(x, y)`.
struct OrientationModel {
    sing: Singularities,
    arch_cx: f32,
    arch_top: f32,
    arch_width: f32,
    arch_height: f32,
    noise: ValueNoise,
    noise_amp: f32,
    arch: bool,
}

impl OrientationModel {
    fn at(&self, x: f32, y: f32) -> f32 {
        let base = if self.arch {
            // Arch ridges y = y0 − h·exp(−dx²/2s²): slope −dy/dx in image coordinates, with the
            // bulge flattening towards the bottom of the finger.
            let dx = x - self.arch_cx;
            let s = self.arch_width;
            let fall = ((y - self.arch_top) / 260.0).clamp(0.0, 1.0);
            let h = self.arch_height * (1.0 - 0.85 * fall);
            let slope = h * dx / (s * s) * (-(dx * dx) / (2.0 * s * s)).exp();
            slope.atan()
        } else {
            // Zero-pole model: θ = ½ (Σ arg(z − core) − Σ arg(z − delta)), arguments taken in
            // image coordinates.
            let mut t = 0.0;
            for &(cx, cy) in &self.sing.cores {
                t += (y - cy).atan2(x - cx);
            }
            for &(dx, dy) in &self.sing.deltas {
                t -= (y - dy).atan2(x - dx);
            }
            0.5 * t
        };
        base + self.noise_amp * self.noise.at(x, y)
    }
}

/// Generates the master fingerprint of one finger (`rng` is the finger's own stream).
pub(crate) fn generate(width: usize, height: usize, rng: &mut ChaCha8Rng) -> Master {
    let (wf, hf) = (to_f32_usize(width), to_f32_usize(height));
    let class = FingerprintClass::draw(rng);
    let shape = Shape {
        cx: wf / 2.0 + 6.0 * normal(rng),
        cy: hf * 0.48 + 8.0 * normal(rng),
        left: uniform(rng, 0.37, 0.43) * wf,
        right: uniform(rng, 0.37, 0.43) * wf,
        top: uniform(rng, 0.40, 0.47) * hf,
        bottom: uniform(rng, 0.55, 0.75) * hf,
    };
    let sing = singularities(class, &shape, rng);
    let arch_top = shape.cy - uniform(rng, 20.0, 80.0);
    let orientation = OrientationModel {
        sing,
        arch_cx: shape.cx + 10.0 * normal(rng),
        arch_top,
        arch_width: uniform(rng, 90.0, 130.0),
        arch_height: uniform(rng, 90.0, 150.0),
        noise: ValueNoise::new(rng, width, height, 90.0),
        noise_amp: 0.12,
        arch: class == FingerprintClass::Arch,
    };
    let period_full = uniform(rng, 8.6, 10.2);
    let period_noise = ValueNoise::new(rng, width, height, 110.0);

    // Growth at half resolution.
    let (w2, h2) = (width.div_ceil(2), height.div_ceil(2));
    let pad = KERNEL_RADIUS;
    let pw = w2 + 2 * pad;
    let ph = h2 + 2 * pad;
    let bank = KernelBank::new();
    // Per half-resolution pixel: kernel index, or None outside the (dilated) silhouette.
    let mut kernel_of: Vec<Option<(usize, usize)>> = Vec::with_capacity(w2 * h2);
    let mut angle_half = Vec::with_capacity(w2 * h2);
    let mut period_half = Vec::with_capacity(w2 * h2);
    for y in 0..h2 {
        for x in 0..w2 {
            let (fx, fy) = (to_f32_usize(2 * x) + 0.5, to_f32_usize(2 * y) + 0.5);
            let theta = orientation.at(fx, fy);
            let p = period_full * (1.0 + 0.07 * period_noise.at(fx, fy)) / 2.0;
            angle_half.push(theta);
            period_half.push(p);
            kernel_of.push(if shape.depth(fx, fy) > -16.0 {
                Some((orientation_bin(theta), period_bin(p)))
            } else {
                None
            });
        }
    }

    let mut cur = vec![0f32; pw * ph];
    // Seeds: small patches of ridges with the local orientation and a random phase.
    let mut seeds = rng.random_range(SEEDS_MIN..SEEDS_MAX);
    if class == FingerprintClass::Arch {
        // Without singular points the ridges would grow nearly parallel, with far fewer
        // minutiae than real arches show: more fronts meet with more seeds.
        seeds *= 3;
    }
    for _ in 0..seeds {
        let (sx, sy) = loop {
            let x = rng.random_range(0..w2);
            let y = rng.random_range(0..h2);
            let (fx, fy) = (to_f32_usize(2 * x), to_f32_usize(2 * y));
            if shape.depth(fx, fy) > 20.0 {
                break (x, y);
            }
        };
        let i = sy * w2 + sx;
        let theta = angle_half.get(i).copied().unwrap_or(0.0);
        let period = period_half.get(i).copied().unwrap_or(4.5);
        let (nx, ny) = (-theta.sin(), theta.cos());
        let phase: f32 = rng.random_range(0.0..core::f32::consts::TAU);
        for dy in 0..KERNEL_SIDE {
            for dx in 0..KERNEL_SIDE {
                let u = to_f32_usize(dx) - to_f32_usize(KERNEL_RADIUS);
                let v = to_f32_usize(dy) - to_f32_usize(KERNEL_RADIUS);
                if u * u + v * v > 16.0 {
                    continue;
                }
                let val = (core::f32::consts::TAU * (u * nx + v * ny) / period + phase).cos();
                if let Some(c) = cur.get_mut((sy + dy) * pw + sx + dx) {
                    *c = val;
                }
            }
        }
    }

    // Iterate the space-variant filter. Work is tracked per block of 8 × 8 pixels: a block is
    // filtered only while it or a neighbour changed in the previous iteration, so the cost
    // follows the growing ridge fronts and the iteration ends when nothing changes any more.
    const BLOCK: usize = 8;
    let (bw, bh) = (w2.div_ceil(BLOCK), h2.div_ceil(BLOCK));
    let mut changed = vec![false; bw * bh];
    for (i, v) in cur.iter().enumerate() {
        if *v != 0.0 {
            let (x, y) = ((i % pw).saturating_sub(pad), (i / pw).saturating_sub(pad));
            if let Some(c) = changed.get_mut((y / BLOCK).min(bh - 1) * bw + (x / BLOCK).min(bw - 1))
            {
                *c = true;
            }
        }
    }
    let mut next = cur.clone();
    let mut next_changed = vec![false; bw * bh];
    let gain = 1.6;
    // Blocks inside the silhouette (by their centre), to tell when the ridges have covered it.
    let inside: Vec<(usize, usize)> = (0..bh)
        .flat_map(|by| (0..bw).map(move |bx| (bx, by)))
        .filter(|&(bx, by)| {
            let c = |b: usize| to_f32_usize(2 * (b * BLOCK + BLOCK / 2));
            shape.depth(c(bx), c(by)) > 0.0
        })
        .collect();
    let mut iterations = 0;
    let mut covered_at = None;
    while iterations < MAX_ITERATIONS && changed.iter().any(|c| *c) {
        iterations += 1;
        if covered_at.is_some_and(|at| iterations > at + SETTLE_ITERATIONS) {
            break;
        }
        for by in 0..bh {
            for bx in 0..bw {
                let near = (by.saturating_sub(1)..=(by + 1).min(bh - 1)).any(|yy| {
                    (bx.saturating_sub(1)..=(bx + 1).min(bw - 1))
                        .any(|xx| changed.get(yy * bw + xx).copied().unwrap_or(false))
                });
                let mut max_delta = 0f32;
                for y in by * BLOCK..((by + 1) * BLOCK).min(h2) {
                    for x in bx * BLOCK..((bx + 1) * BLOCK).min(w2) {
                        let at = (y + pad) * pw + x + pad;
                        let old = cur.get(at).copied().unwrap_or(0.0);
                        let v = match kernel_of.get(y * w2 + x).copied() {
                            Some(Some((o, p))) if near => {
                                let k = bank.kernel(o, p);
                                // Lane-wise accumulation over the kernel rows vectorises.
                                let mut lanes = [0f32; KERNEL_SIDE];
                                for (ky, krow) in k.chunks_exact(KERNEL_SIDE).enumerate() {
                                    let start = (y + ky) * pw + x;
                                    if let Some(row) = cur.get(start..start + KERNEL_SIDE) {
                                        for ((l, a), b) in lanes.iter_mut().zip(krow).zip(row) {
                                            *l += a * b;
                                        }
                                    }
                                }
                                (gain * lanes.iter().sum::<f32>()).clamp(-1.0, 1.0)
                            }
                            _ => old,
                        };
                        max_delta = max_delta.max((v - old).abs());
                        if let Some(n) = next.get_mut(at) {
                            *n = v;
                        }
                    }
                }
                if let Some(c) = next_changed.get_mut(by * bw + bx) {
                    *c = max_delta > 0.12;
                }
            }
        }
        core::mem::swap(&mut cur, &mut next);
        core::mem::swap(&mut changed, &mut next_changed);
        if covered_at.is_none() {
            let reached = inside
                .iter()
                .filter(|&&(bx, by)| {
                    (by * BLOCK..((by + 1) * BLOCK).min(h2)).any(|y| {
                        let start = (y + pad) * pw + bx * BLOCK + pad;
                        let end = start + BLOCK.min(w2 - bx * BLOCK);
                        cur.get(start..end)
                            .is_some_and(|row| row.iter().any(|v| v.abs() > 0.5))
                    })
                })
                .count();
            if reached == inside.len() {
                covered_at = Some(iterations);
            }
        }
    }

    // Upsample to full resolution.
    let half = Field {
        w: pw,
        h: ph,
        data: cur,
    };
    let mut ridges = Field::new(width, height, 0.0);
    for y in 0..height {
        for x in 0..width {
            let sx = (to_f32_usize(x) + 0.5) / 2.0 - 0.5 + to_f32_usize(pad);
            let sy = (to_f32_usize(y) + 0.5) / 2.0 - 0.5 + to_f32_usize(pad);
            if let Some(r) = ridges.data.get_mut(y * width + x) {
                *r = half.sample(sx, sy, 0.0);
            }
        }
    }
    // Soften the clamped square wave into a ridge profile (two passes of a 5-pixel box), so
    // that dryness, moisture and pressure change ridge width when rendering.
    box_blur(&mut ridges, 2);
    box_blur(&mut ridges, 2);
    let minutiae = ground_truth(&ridges, &shape);
    Master {
        class,
        shape,
        ridges,
        minutiae,
        iterations,
    }
}

/// Separable box blur of radius `r`, edges clamped.
fn box_blur(f: &mut Field, r: usize) {
    let (w, h) = (f.w, f.h);
    let n = to_f32_usize(2 * r + 1);
    let mut tmp = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for k in 0..=2 * r {
                let xx = (x + k).saturating_sub(r).min(w - 1);
                acc += f.at(xx, y);
            }
            if let Some(t) = tmp.get_mut(y * w + x) {
                *t = acc / n;
            }
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for k in 0..=2 * r {
                let yy = (y + k).saturating_sub(r).min(h - 1);
                acc += tmp.get(yy * w + x).copied().unwrap_or(0.0);
            }
            if let Some(v) = f.data.get_mut(y * w + x) {
                *v = acc / n;
            }
        }
    }
}

/// Binary image helper: value at `(x, y)` as 0/1, 0 outside.
fn bit(b: &[u8], w: usize, h: usize, x: isize, y: isize) -> u8 {
    if x < 0 || y < 0 {
        return 0;
    }
    let (x, y) = (x.unsigned_abs(), y.unsigned_abs());
    if x >= w || y >= h {
        return 0;
    }
    b.get(y * w + x).copied().unwrap_or(0)
}

/// The 8 neighbours clockwise from north: P2 … P9 in Zhang–Suen's numbering.
const RING: [(isize, isize); 8] = [
    (0, -1),
    (1, -1),
    (1, 0),
    (1, 1),
    (0, 1),
    (-1, 1),
    (-1, 0),
    (-1, -1),
];

fn neighbours(b: &[u8], w: usize, h: usize, x: usize, y: usize) -> [u8; 8] {
    let (xi, yi) = (
        isize::try_from(x).unwrap_or(0),
        isize::try_from(y).unwrap_or(0),
    );
    RING.map(|(dx, dy)| bit(b, w, h, xi + dx, yi + dy))
}

/// Zhang–Suen thinning in place (1 = ridge).
pub(crate) fn thin(b: &mut [u8], w: usize, h: usize) {
    let mut remove = Vec::new();
    for _ in 0..40 {
        let mut changed = false;
        for pass in 0..2 {
            remove.clear();
            for y in 0..h {
                for x in 0..w {
                    if b.get(y * w + x).copied() != Some(1) {
                        continue;
                    }
                    let n = neighbours(b, w, h, x, y);
                    let count: u8 = n.iter().sum();
                    if !(2..=6).contains(&count) {
                        continue;
                    }
                    let transitions = (0..8)
                        .filter(|&i| n.get(i) == Some(&0) && n.get((i + 1) % 8) == Some(&1))
                        .count();
                    if transitions != 1 {
                        continue;
                    }
                    let [p2, _, p4, _, p6, _, p8, _] = n;
                    let ok = if pass == 0 {
                        p2 * p4 * p6 == 0 && p4 * p6 * p8 == 0
                    } else {
                        p2 * p4 * p8 == 0 && p2 * p6 * p8 == 0
                    };
                    if ok {
                        remove.push(y * w + x);
                    }
                }
            }
            for &i in &remove {
                if let Some(v) = b.get_mut(i) {
                    *v = 0;
                }
            }
            changed |= !remove.is_empty();
        }
        if !changed {
            break;
        }
    }
}

/// Crossing number: half the number of 0/1 changes around the ring.
fn crossing_number(n: &[u8; 8]) -> u8 {
    let mut c = 0;
    for i in 0..8 {
        let a = n.get(i).copied().unwrap_or(0);
        let b = n.get((i + 1) % 8).copied().unwrap_or(0);
        c += a.abs_diff(b);
    }
    c / 2
}

/// Follows the skeleton from `start` through its neighbour at offset `first` for up to `steps`
/// pixels; returns the last pixel reached and whether the trace stopped early (at an ending or
/// a fork).
fn trace(
    b: &[u8],
    w: usize,
    h: usize,
    start: (usize, usize),
    first: (isize, isize),
    steps: usize,
) -> ((isize, isize), bool) {
    let s = (
        isize::try_from(start.0).unwrap_or(0),
        isize::try_from(start.1).unwrap_or(0),
    );
    let mut visited: Vec<(isize, isize)> = RING
        .iter()
        .map(|&(dx, dy)| (s.0 + dx, s.1 + dy))
        .filter(|&p| p != (s.0 + first.0, s.1 + first.1))
        .collect();
    visited.push(s);
    let mut cur = (s.0 + first.0, s.1 + first.1);
    for _ in 1..steps {
        visited.push(cur);
        let candidates: Vec<(isize, isize)> = RING
            .iter()
            .map(|&(dx, dy)| (cur.0 + dx, cur.1 + dy))
            .filter(|p| bit(b, w, h, p.0, p.1) == 1 && !visited.contains(p))
            .collect();
        let next = match candidates.as_slice() {
            [] => return (cur, true),
            [one] => *one,
            many => {
                // Neighbours of one another form one branch (a staircase corner): take the
                // 4-connected one. Otherwise this is a fork.
                let clustered = many.iter().all(|a| {
                    many.iter()
                        .all(|c| (a.0 - c.0).abs() <= 1 && (a.1 - c.1).abs() <= 1)
                });
                if !clustered {
                    return (cur, true);
                }
                let four = many
                    .iter()
                    .find(|p| (p.0 - cur.0).abs() + (p.1 - cur.1).abs() == 1);
                let chosen = four.or(many.first()).copied().unwrap_or(cur);
                visited.extend(many.iter().copied());
                chosen
            }
        };
        cur = next;
    }
    (cur, false)
}

/// Counter-clockwise angle (y up) of the vector from `(fx, fy)` to pixel `p`.
fn angle_to(p: (isize, isize), fx: f32, fy: f32) -> f32 {
    let px = to_f32(f64::from(i32::try_from(p.0).unwrap_or(0)));
    let py = to_f32(f64::from(i32::try_from(p.1).unwrap_or(0)));
    (fy - py).atan2(px - fx)
}

/// Ground-truth minutiae of the master: binarise (ridge field > 0 inside the silhouette), thin,
/// crossing number, then drop what the thinning invents (spurs, short pieces, pairs closer than
/// 7 px) and everything within 14 px of the silhouette's edge.
fn ground_truth(ridges: &Field, shape: &Shape) -> Vec<Minutia> {
    let (w, h) = (ridges.w, ridges.h);
    let mut b: Vec<u8> = ridges
        .data
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let (x, y) = (to_f32_usize(i % w), to_f32_usize(i / w));
            u8::from(v > 0.0 && shape.depth(x, y) > -4.0)
        })
        .collect();
    thin(&mut b, w, h);
    let mut found: Vec<(usize, usize, MinutiaKind, f32, bool)> = Vec::new();
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            if b.get(y * w + x).copied() != Some(1) {
                continue;
            }
            let (fx, fy) = (to_f32_usize(x), to_f32_usize(y));
            if shape.depth(fx, fy) < 14.0 {
                continue;
            }
            let n = neighbours(&b, w, h, x, y);
            let cn = crossing_number(&n);
            let branches: Vec<(isize, isize)> = RING
                .iter()
                .zip(n.iter())
                .filter(|(_, v)| **v == 1)
                .map(|(d, _)| *d)
                .collect();
            match cn {
                1 => {
                    let Some(&first) = branches.first() else {
                        continue;
                    };
                    let (end, blocked) = trace(&b, w, h, (x, y), first, 10);
                    // Direction from the ending along the ridge (ISO/IEC 19794-2 convention as
                    // crate::extract documents), counter-clockwise with y up.
                    found.push((
                        x,
                        y,
                        MinutiaKind::RidgeEnding,
                        angle_to(end, fx, fy),
                        blocked,
                    ));
                }
                3 => {
                    // Three branches (neighbours adjacent to each other belong to one branch).
                    let mut heads: Vec<(isize, isize)> = Vec::new();
                    for i in 0..8 {
                        if n.get(i) == Some(&1)
                            && n.get((i + 7) % 8) != Some(&1)
                            && let Some(d) = RING.get(i)
                        {
                            heads.push(*d);
                        }
                    }
                    if heads.len() != 3 {
                        continue;
                    }
                    let mut angles = [0f32; 3];
                    let mut blocked = false;
                    for (slot, &d) in angles.iter_mut().zip(&heads) {
                        let (end, stop) = trace(&b, w, h, (x, y), d, 10);
                        let (ex, ey) = (angle_to(end, fx, fy), 0.0);
                        let reach = (to_f32(f64::from(i32::try_from(end.0).unwrap_or(0))) - fx)
                            .abs()
                            .max((to_f32(f64::from(i32::try_from(end.1).unwrap_or(0))) - fy).abs());
                        blocked |= stop && reach < 4.0;
                        *slot = ex + ey;
                    }
                    // The two branches closest in angle enclose the valley; the direction
                    // is their bisector.
                    let [a0, a1, a2] = angles;
                    let mut best = (f32::MAX, 0.0);
                    for (a, c) in [(a0, a1), (a0, a2), (a1, a2)] {
                        {
                            let d = (a - c).rem_euclid(core::f32::consts::TAU);
                            let gap = d.min(core::f32::consts::TAU - d);
                            if gap < best.0 {
                                let bis = (a.sin() + c.sin()).atan2(a.cos() + c.cos());
                                best = (gap, bis);
                            }
                        }
                    }
                    found.push((x, y, MinutiaKind::Bifurcation, best.1, blocked));
                }
                _ => {}
            }
        }
    }
    // Remove pairs that are too close (spurs, bridges, broken ridges) and blocked traces.
    let mut keep = vec![true; found.len()];
    for (i, a) in found.iter().enumerate() {
        for (j, c) in found.iter().enumerate().skip(i + 1) {
            let dx = a.0.abs_diff(c.0);
            let dy = a.1.abs_diff(c.1);
            if dx * dx + dy * dy < 49 {
                for k in [i, j] {
                    if let Some(v) = keep.get_mut(k) {
                        *v = false;
                    }
                }
            }
        }
    }
    found
        .iter()
        .zip(keep)
        .filter(|(f, k)| *k && !f.4)
        .map(|(f, _)| Minutia {
            x: u16::try_from(f.0).unwrap_or(u16::MAX),
            y: u16::try_from(f.1).unwrap_or(u16::MAX),
            angle: f.3.rem_euclid(core::f32::consts::TAU),
            kind: f.2,
            quality: 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::stream;

    #[test]
    fn master_growth_converges() {
        // One master per class family is enough here (the integration tests make more).
        for f in [1, 7] {
            let t = std::time::Instant::now();
            let m = generate(416, 480, &mut stream(1, f, 0, 1));
            println!(
                "finger {f}: {:?}, {} iterations, {} minutiae, {:.0} ms",
                m.class,
                m.iterations,
                m.minutiae.len(),
                t.elapsed().as_secs_f64() * 1000.0
            );
            assert!(
                m.iterations < MAX_ITERATIONS,
                "growth did not cover the finger"
            );
            assert!((20..200).contains(&m.minutiae.len()));
        }
    }
}
