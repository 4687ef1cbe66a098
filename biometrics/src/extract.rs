//! Minutiae extraction: segmentation, orientation and ridge-frequency fields, contextual
//! enhancement, binarisation, thinning and minutiae detection with false-minutia removal.
//!
//! The feature types here ([`Minutia`], [`FingerprintFeatures`]) are the crate's common currency:
//! templates ([`crate::template`]) convert to and from them and the matcher consumes them.
//! Conventions follow ISO/IEC 19794-2:2005 §6.4: origin at the top-left pixel, x to the right,
//! y downwards, angles counter-clockwise from the positive x axis.

use core::fmt;

/// The kind of a minutia (ISO/IEC 19794-2:2005 §6.4.1, minutia type bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MinutiaKind {
    /// A ridge ends (type `01`).
    RidgeEnding,
    /// A ridge splits in two (type `10`).
    Bifurcation,
    /// Any other or undetermined kind (type `00`).
    Other,
}

/// One minutia (ISO/IEC 19794-2:2005 §6.4).
///
/// Personal biometric data: `Debug` is hand-written and redacts position and direction.
#[derive(Clone, Copy, PartialEq)]
pub struct Minutia {
    /// Column in pixels, from the left edge.
    pub x: u16,
    /// Row in pixels, from the top edge.
    pub y: u16,
    /// Direction in radians in `[0, 2π)`, counter-clockwise from the positive x axis (y up, as
    /// ISO/IEC 19794-2 §6.4.3). The extractor's convention: for a ridge ending it continues
    /// the ridge's line beyond its end (pointing away from the ridge); for a bifurcation it
    /// points along the merged ridge, away from the fork.
    pub angle: f32,
    /// Ridge ending, bifurcation or other.
    pub kind: MinutiaKind,
    /// Quality 0–100 (ISO/IEC 19794-2:2005 §6.4.4; 0 = not reported).
    pub quality: u8,
}

impl fmt::Debug for Minutia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minutia").finish_non_exhaustive()
    }
}

/// The features of one fingerprint impression: image geometry and its minutiae.
///
/// Personal biometric data: `Debug` shows geometry and the minutiae count only.
#[derive(Clone, PartialEq)]
pub struct FingerprintFeatures {
    /// Image width in pixels.
    pub width: u16,
    /// Image height in pixels.
    pub height: u16,
    /// Resolution in pixels per inch (both axes).
    pub resolution_ppi: u16,
    /// The minutiae, in no particular order.
    pub minutiae: Vec<Minutia>,
}

impl fmt::Debug for FingerprintFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FingerprintFeatures")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("resolution_ppi", &self.resolution_ppi)
            .field("minutiae", &self.minutiae.len())
            .finish()
    }
}

use crate::image::{GrayImage, ImageError, STANDARD_PPI};
use core::f32::consts::PI;

/// Side of the square blocks the orientation, frequency and mask fields are computed on
/// (pixels at 500 ppi).
pub const BLOCK: usize = 8;

/// Why features could not be extracted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The image could not be brought to 500 ppi.
    #[error("image unusable")]
    Image(#[from] ImageError),
}

/// Block-level fields computed during extraction (at 500 ppi, [`BLOCK`]-pixel blocks); used by
/// [`crate::quality`].
#[derive(Clone)]
pub struct Fields {
    /// Blocks per row.
    pub blocks_wide: usize,
    /// Blocks per column.
    pub blocks_high: usize,
    /// Foreground mask, one entry per block.
    pub mask: Vec<bool>,
    /// Ridge orientation per block, radians in `[0, π)`, image coordinates (y down).
    pub orientation: Vec<f32>,
    /// Orientation coherence per block, `0..=1` (1 = perfectly parallel ridges).
    pub coherence: Vec<f32>,
    /// Ridge period per block in pixels.
    pub period: Vec<f32>,
    /// Whether the period of the block was measured (not interpolated).
    pub period_measured: Vec<bool>,
    /// Gray-level standard deviation per block.
    pub contrast: Vec<f32>,
    /// Mean gray level per block.
    pub mean: Vec<f32>,
    /// Fraction of pixels per block whose enhanced response agrees in sign with the raw
    /// image's local deviation (ridge clarity), `0..=1`.
    pub clarity: Vec<f32>,
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fields")
            .field("blocks_wide", &self.blocks_wide)
            .field("blocks_high", &self.blocks_high)
            .finish_non_exhaustive()
    }
}

/// Extracts minutiae from an image at any supported resolution; coordinates are reported in
/// the input image's pixels.
///
/// # Errors
/// [`ExtractError::Image`] when a non-500 ppi image cannot be resampled.
pub fn extract(image: &GrayImage) -> Result<FingerprintFeatures, ExtractError> {
    extract_with_fields(image).map(|(f, _)| f)
}

/// As [`extract`], also returning the block fields.
///
/// # Errors
/// As [`extract`].
pub fn extract_with_fields(
    image: &GrayImage,
) -> Result<(FingerprintFeatures, Fields), ExtractError> {
    let work;
    let img = if image.ppi() == STANDARD_PPI {
        image
    } else {
        work = image.resampled_to_500ppi()?;
        &work
    };
    let (mut minutiae, fields) = pipeline(img.pixels(), img.width(), img.height());
    if image.ppi() != STANDARD_PPI {
        let s = f32::from(image.ppi()) / f32::from(STANDARD_PPI);
        for m in &mut minutiae {
            m.x = clamp_u16(f32::from(m.x) * s, image.width());
            m.y = clamp_u16(f32::from(m.y) * s, image.height());
        }
    }
    let features = FingerprintFeatures {
        width: u16::try_from(image.width()).unwrap_or(u16::MAX),
        height: u16::try_from(image.height()).unwrap_or(u16::MAX),
        resolution_ppi: image.ppi(),
        minutiae,
    };
    Ok((features, fields))
}

fn clamp_u16(v: f32, limit: usize) -> u16 {
    let max = f32::from(u16::try_from(limit.saturating_sub(1)).unwrap_or(u16::MAX));
    // Clamped into u16 range first.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let r = v.round().clamp(0.0, max) as u16;
    r
}

/// f32 → usize, saturating, NaN and negatives → 0.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn fidx(v: f32) -> usize {
    if v > 0.0 { v as usize } else { 0 }
}

/// f32 → isize rounded half away from zero (saturating); avoids the libm call of `round`.
#[allow(clippy::cast_possible_truncation)]
fn fround(v: f32) -> isize {
    if v >= 0.0 {
        (v + 0.5) as isize
    } else {
        (v - 0.5) as isize
    }
}

/// usize → f32 (exact below 2^24, which every image dimension is).
#[allow(clippy::cast_precision_loss)]
fn uf(v: usize) -> f32 {
    v as f32
}

/// isize → f32.
#[allow(clippy::cast_precision_loss)]
fn sf(v: isize) -> f32 {
    v as f32
}

/// Minutiae closer than this many blocks to the background are dropped (ridges end there
/// because the contact area ends, not because of a minutia).
const BORDER_BLOCKS: u32 = 2;

/// Number of quantised orientations for the enhancement filters.
const ORIENT_BINS: usize = 16;
/// Period quantisation of the enhancement filters: 4.0, 4.5, … 16.0 pixels.
const PERIOD_MIN: f32 = 4.0;
const PERIOD_STEP: f32 = 0.5;
const PERIOD_BINS: usize = 25;

struct Grid {
    w: usize,
    h: usize,
    bw: usize,
    bh: usize,
}

impl Grid {
    fn block_of(&self, x: usize, y: usize) -> usize {
        (y / BLOCK) * self.bw + x / BLOCK
    }
}

fn pipeline(px: &[u8], w: usize, h: usize) -> (Vec<Minutia>, Fields) {
    let g = Grid {
        w,
        h,
        bw: w.div_ceil(BLOCK),
        bh: h.div_ceil(BLOCK),
    };
    let img: Vec<f32> = px.iter().map(|&p| f32::from(p)).collect();
    let mut fields = block_fields(&img, &g);
    segment(&mut fields, &g);
    frequency(&img, &g, &mut fields);
    let enhanced = enhance(&img, &g, &fields);
    ridge_clarity(&img, &enhanced, &g, &mut fields);
    let mut skel = binarise(&enhanced, &g, &fields.mask);
    smooth_binary(&mut skel, &g);
    thin(&mut skel, &g);
    let minutiae = detect(&skel, &g, &fields);
    (minutiae, fields)
}

/// Gradient moments, mean and variance per block, then orientation and coherence smoothed
/// over a 5×5-block window in the doubled-angle domain.
fn block_fields(img: &[f32], g: &Grid) -> Fields {
    let nb = g.bw * g.bh;
    let mut gxx = vec![0f32; nb];
    let mut gyy = vec![0f32; nb];
    let mut gxy = vec![0f32; nb];
    let mut s1 = vec![0f32; nb];
    let mut s2 = vec![0f32; nb];
    let mut cnt = vec![0f32; nb];
    for y in 0..g.h {
        let Some(row) = img.get(y * g.w..(y + 1) * g.w) else {
            continue;
        };
        let up = img.get(y.saturating_sub(1) * g.w..(y.saturating_sub(1) + 1) * g.w);
        let yd = (y + 1).min(g.h - 1);
        let dn = img.get(yd * g.w..(yd + 1) * g.w);
        let (Some(up), Some(dn)) = (up, dn) else {
            continue;
        };
        let brow = (y / BLOCK) * g.bw;
        for x in 0..g.w {
            let c = row.get(x).copied().unwrap_or(0.0);
            let l = row.get(x.wrapping_sub(1)).copied().unwrap_or(c);
            let r = row.get(x + 1).copied().unwrap_or(c);
            let u = up.get(x).copied().unwrap_or(c);
            let d = dn.get(x).copied().unwrap_or(c);
            let gx = r - l;
            let gy = d - u;
            let b = brow + x / BLOCK;
            if let (Some(a), Some(bb), Some(cc), Some(m1), Some(m2), Some(n)) = (
                gxx.get_mut(b),
                gyy.get_mut(b),
                gxy.get_mut(b),
                s1.get_mut(b),
                s2.get_mut(b),
                cnt.get_mut(b),
            ) {
                *a += gx * gx;
                *bb += gy * gy;
                *cc += gx * gy;
                *m1 += c;
                *m2 += c * c;
                *n += 1.0;
            }
        }
    }
    let mut orientation = vec![0f32; nb];
    let mut coherence = vec![0f32; nb];
    let mut contrast = vec![0f32; nb];
    let mut mean = vec![0f32; nb];
    let r = 2isize;
    for by in 0..g.bh {
        for bx in 0..g.bw {
            let (mut a, mut b, mut c, mut m1, mut m2, mut n) = (0f32, 0f32, 0f32, 0f32, 0f32, 0f32);
            for dy in -r..=r {
                for dx in -r..=r {
                    let (Some(yy), Some(xx)) =
                        (by.checked_add_signed(dy), bx.checked_add_signed(dx))
                    else {
                        continue;
                    };
                    if yy >= g.bh || xx >= g.bw {
                        continue;
                    }
                    let i = yy * g.bw + xx;
                    a += gxx.get(i).copied().unwrap_or(0.0);
                    b += gyy.get(i).copied().unwrap_or(0.0);
                    c += gxy.get(i).copied().unwrap_or(0.0);
                    if dx.abs() <= 1 && dy.abs() <= 1 {
                        m1 += s1.get(i).copied().unwrap_or(0.0);
                        m2 += s2.get(i).copied().unwrap_or(0.0);
                        n += cnt.get(i).copied().unwrap_or(0.0);
                    }
                }
            }
            let i = by * g.bw + bx;
            let phi = 0.5 * (2.0 * c).atan2(a - b);
            let mut theta = phi + PI / 2.0;
            if theta >= PI {
                theta -= PI;
            }
            let coh = ((a - b).powi(2) + 4.0 * c * c).sqrt() / (a + b).max(1e-6);
            let mu = m1 / n.max(1.0);
            let var = (m2 / n.max(1.0) - mu * mu).max(0.0);
            if let (Some(o), Some(k), Some(ct), Some(mn)) = (
                orientation.get_mut(i),
                coherence.get_mut(i),
                contrast.get_mut(i),
                mean.get_mut(i),
            ) {
                *o = theta;
                *k = coh.clamp(0.0, 1.0);
                *ct = var.sqrt();
                *mn = mu;
            }
        }
    }
    // Second smoothing pass of the orientation (3×3, weighted by coherence).
    let mut smooth = orientation.clone();
    for by in 0..g.bh {
        for bx in 0..g.bw {
            let (mut sx, mut sy) = (0f32, 0f32);
            for yy in by.saturating_sub(1)..(by + 2).min(g.bh) {
                for xx in bx.saturating_sub(1)..(bx + 2).min(g.bw) {
                    let i = yy * g.bw + xx;
                    let t = orientation.get(i).copied().unwrap_or(0.0);
                    let k = coherence.get(i).copied().unwrap_or(0.0) + 0.05;
                    sx += k * (2.0 * t).cos();
                    sy += k * (2.0 * t).sin();
                }
            }
            let mut t = 0.5 * sy.atan2(sx);
            if t < 0.0 {
                t += PI;
            }
            if let Some(o) = smooth.get_mut(by * g.bw + bx) {
                *o = t;
            }
        }
    }
    Fields {
        blocks_wide: g.bw,
        blocks_high: g.bh,
        mask: vec![false; nb],
        orientation: smooth,
        coherence,
        period: vec![9.0; nb],
        period_measured: vec![false; nb],
        contrast,
        mean,
        clarity: vec![0.0; nb],
    }
}

/// Foreground mask from block contrast and coherence, closed, hole-filled, and reduced to its
/// largest connected component.
fn segment(f: &mut Fields, g: &Grid) {
    let nb = g.bw * g.bh;
    let score: Vec<f32> = f
        .contrast
        .iter()
        .zip(&f.coherence)
        .map(|(&c, &k)| c * (0.3 + k))
        .collect();
    let mut sorted = score.clone();
    sorted.sort_by(f32::total_cmp);
    let p95 = sorted.get(sorted.len() * 95 / 100).copied().unwrap_or(0.0);
    // A low fraction: the step at the edge of the contact area has a far higher contrast than
    // ridges (wet prints especially), and noise has a low coherence.
    let thr = (0.15 * p95).max(5.0);
    let mut mask: Vec<bool> = score.iter().map(|&s| s > thr).collect();
    // Closing (dilate, erode), then open to drop specks.
    mask = morph(&mask, g, true);
    mask = morph(&mask, g, false);
    mask = morph(&mask, g, false);
    mask = morph(&mask, g, true);
    // Fill holes: background not reachable from the border becomes foreground.
    let mut outside = vec![false; nb];
    let mut stack: Vec<usize> = Vec::new();
    for by in 0..g.bh {
        for bx in 0..g.bw {
            if (by == 0 || bx == 0 || by + 1 == g.bh || bx + 1 == g.bw)
                && !mask.get(by * g.bw + bx).copied().unwrap_or(true)
            {
                stack.push(by * g.bw + bx);
            }
        }
    }
    while let Some(i) = stack.pop() {
        match outside.get_mut(i) {
            Some(o) if !*o => *o = true,
            _ => continue,
        }
        for j in neighbours4(i, g) {
            if !mask.get(j).copied().unwrap_or(true) && !outside.get(j).copied().unwrap_or(true) {
                stack.push(j);
            }
        }
    }
    for (m, o) in mask.iter_mut().zip(&outside) {
        *m = !*o;
    }
    // Largest component.
    let mut label = vec![0u32; nb];
    let mut best = (0u32, 0usize);
    let mut next = 0u32;
    for s in 0..nb {
        if !mask.get(s).copied().unwrap_or(false) || label.get(s).copied().unwrap_or(1) != 0 {
            continue;
        }
        next += 1;
        let mut size = 0usize;
        stack.push(s);
        while let Some(i) = stack.pop() {
            match label.get_mut(i) {
                Some(l) if *l == 0 => *l = next,
                _ => continue,
            }
            size += 1;
            for j in neighbours4(i, g) {
                if mask.get(j).copied().unwrap_or(false) && label.get(j).copied().unwrap_or(1) == 0
                {
                    stack.push(j);
                }
            }
        }
        if size > best.1 {
            best = (next, size);
        }
    }
    for (m, l) in mask.iter_mut().zip(&label) {
        *m = *l == best.0 && best.0 != 0;
    }
    f.mask = mask;
}

fn neighbours4(i: usize, g: &Grid) -> impl Iterator<Item = usize> {
    let (x, y) = (i % g.bw, i / g.bw);
    let (bw, bh) = (g.bw, g.bh);
    [
        (x > 0).then(|| i - 1),
        (x + 1 < bw).then_some(i + 1),
        (y > 0).then(|| i - bw),
        (y + 1 < bh).then_some(i + bw),
    ]
    .into_iter()
    .flatten()
}

/// 3×3 binary dilation (`dilate`) or erosion of a block mask; outside counts as background.
fn morph(m: &[bool], g: &Grid, dilate: bool) -> Vec<bool> {
    let mut out = vec![false; m.len()];
    for by in 0..g.bh {
        for bx in 0..g.bw {
            let mut any = false;
            let mut all = true;
            for dy in -1isize..=1 {
                for dx in -1isize..=1 {
                    let v = match (by.checked_add_signed(dy), bx.checked_add_signed(dx)) {
                        (Some(yy), Some(xx)) if yy < g.bh && xx < g.bw => {
                            m.get(yy * g.bw + xx).copied().unwrap_or(false)
                        }
                        _ => false,
                    };
                    any |= v;
                    all &= v;
                }
            }
            if let Some(o) = out.get_mut(by * g.bw + bx) {
                *o = if dilate { any } else { all };
            }
        }
    }
    out
}

/// Ridge period per block from the oriented signature (x-signature, Hong, Wan & Jain 1998)
/// measured on 16×16 cells, filled in and smoothed.
fn frequency(img: &[f32], g: &Grid, f: &mut Fields) {
    let cw = g.bw.div_ceil(2);
    let ch = g.bh.div_ceil(2);
    let mut cell = vec![f32::NAN; cw * ch];
    let mut sig = [0f32; 33];
    for cy in 0..ch {
        for cx in 0..cw {
            let (x0, y0) = (cx * 16 + 8, cy * 16 + 8);
            if x0 >= g.w || y0 >= g.h {
                continue;
            }
            let b = g.block_of(x0, y0);
            if !f.mask.get(b).copied().unwrap_or(false) {
                continue;
            }
            let t = f.orientation.get(b).copied().unwrap_or(0.0);
            let (dx, dy) = (t.cos(), t.sin());
            let (nx, ny) = (-dy, dx);
            for (k, s) in sig.iter_mut().enumerate() {
                let kk = uf(k) - 16.0;
                let mut acc = 0f32;
                let mut n = 0f32;
                for tt in [-6f32, -4.0, -2.0, 0.0, 2.0, 4.0, 6.0] {
                    let sx = fround(uf(x0) + kk * nx + tt * dx);
                    let sy = fround(uf(y0) + kk * ny + tt * dy);
                    if sx >= 0 && sy >= 0 {
                        let (sx, sy) = (sx.unsigned_abs(), sy.unsigned_abs());
                        if sx < g.w && sy < g.h {
                            acc += img.get(sy * g.w + sx).copied().unwrap_or(0.0);
                            n += 1.0;
                        }
                    }
                }
                *s = if n > 0.0 { acc / n } else { f32::NAN };
            }
            if let Some(c) = cell.get_mut(cy * cw + cx) {
                *c = signature_period(&sig);
            }
        }
    }
    let measured: Vec<bool> = cell.iter().map(|c| c.is_finite()).collect();
    // Fill unmeasured cells from measured neighbours.
    for _ in 0..8 {
        let prev = cell.clone();
        let mut changed = false;
        for cy in 0..ch {
            for cx in 0..cw {
                if prev.get(cy * cw + cx).is_some_and(|v| v.is_finite()) {
                    continue;
                }
                let (mut s, mut n) = (0f32, 0f32);
                for yy in cy.saturating_sub(1)..(cy + 2).min(ch) {
                    for xx in cx.saturating_sub(1)..(cx + 2).min(cw) {
                        if let Some(&v) = prev.get(yy * cw + xx)
                            && v.is_finite()
                        {
                            s += v;
                            n += 1.0;
                        }
                    }
                }
                if n > 0.0
                    && let Some(c) = cell.get_mut(cy * cw + cx)
                {
                    *c = s / n;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // Smooth 3×3 (median-free mean; outliers were rejected by the signature check).
    let filled: Vec<f32> = cell
        .iter()
        .map(|&v| if v.is_finite() { v } else { 9.0 })
        .collect();
    let mut smooth = filled.clone();
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut s, mut n) = (0f32, 0f32);
            for yy in cy.saturating_sub(1)..(cy + 2).min(ch) {
                for xx in cx.saturating_sub(1)..(cx + 2).min(cw) {
                    s += filled.get(yy * cw + xx).copied().unwrap_or(9.0);
                    n += 1.0;
                }
            }
            if let Some(o) = smooth.get_mut(cy * cw + cx) {
                *o = (s / n).clamp(PERIOD_MIN, 15.0);
            }
        }
    }
    for by in 0..g.bh {
        for bx in 0..g.bw {
            let c = (by / 2) * cw + bx / 2;
            let b = by * g.bw + bx;
            if let (Some(p), Some(m)) = (f.period.get_mut(b), f.period_measured.get_mut(b)) {
                *p = smooth.get(c).copied().unwrap_or(9.0);
                *m = measured.get(c).copied().unwrap_or(false);
            }
        }
    }
}

/// Ridge period of a signature from its mean-crossings (with hysteresis); NaN when unreliable.
fn signature_period(sig: &[f32]) -> f32 {
    if sig.iter().any(|v| !v.is_finite()) {
        return f32::NAN;
    }
    // Smooth [1 2 1].
    let sm: Vec<f32> = (0..sig.len())
        .map(|i| {
            let c = sig.get(i).copied().unwrap_or(0.0);
            let l = sig.get(i.wrapping_sub(1)).copied().unwrap_or(c);
            let r = sig.get(i + 1).copied().unwrap_or(c);
            0.25 * (l + 2.0 * c + r)
        })
        .collect();
    let n = uf(sm.len());
    let mean = sm.iter().sum::<f32>() / n;
    let sd = (sm.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
    if sd < 2.0 {
        return f32::NAN;
    }
    let hyst = 0.2 * sd;
    let mut state = 0i8;
    let mut crossings: Vec<f32> = Vec::new();
    let mut last_pos = 0f32;
    for (i, &v) in sm.iter().enumerate() {
        let d = v - mean;
        let s = if d > hyst {
            1
        } else if d < -hyst {
            -1
        } else {
            0
        };
        if s != 0 {
            if state != 0 && s != state {
                crossings.push(0.5 * (last_pos + uf(i)));
            }
            state = s;
            last_pos = uf(i);
        }
    }
    if crossings.len() < 3 {
        return f32::NAN;
    }
    let (Some(first), Some(last)) = (crossings.first(), crossings.last()) else {
        return f32::NAN;
    };
    let period = 2.0 * (last - first) / uf(crossings.len() - 1);
    if (4.0..=16.0).contains(&period) {
        period
    } else {
        f32::NAN
    }
}

struct Filter {
    offsets: Vec<isize>,
    weights: Vec<f32>,
}

/// Contextual enhancement: smoothing along the ridges, then a Gabor band-pass across them
/// (the separable form of Hong, Wan & Jain's oriented Gabor filter), with filters quantised to
/// [`ORIENT_BINS`] orientations and [`PERIOD_BINS`] periods. The result is zero-mean: negative
/// on ridges (dark), positive in valleys.
fn enhance(img: &[f32], g: &Grid, f: &Fields) -> Vec<f32> {
    let w = isize::try_from(g.bw * BLOCK + 2 * PAD).unwrap_or(isize::MAX);
    let offset = |dx: f32, dy: f32| fround(dy) * w + fround(dx);
    // Along-ridge smoothing filters.
    let along: Vec<Filter> = (0..ORIENT_BINS)
        .map(|o| {
            let t = (uf(o) + 0.0) * PI / uf(ORIENT_BINS);
            let (c, s) = (t.cos(), t.sin());
            let mut offsets = Vec::new();
            let mut weights = Vec::new();
            for k in -7isize..=7 {
                let kf = sf(k);
                offsets.push(offset(kf * c, kf * s));
                weights.push((-kf * kf / (2.0 * 3.5 * 3.5)).exp());
            }
            let sum: f32 = weights.iter().sum();
            weights.iter_mut().for_each(|v| *v /= sum);
            Filter { offsets, weights }
        })
        .collect();
    // Across-ridge Gabor filters per (orientation, period).
    let across: Vec<Filter> = (0..ORIENT_BINS * PERIOD_BINS)
        .map(|i| {
            let o = i % ORIENT_BINS;
            let p = PERIOD_MIN + PERIOD_STEP * uf(i / ORIENT_BINS);
            let t = uf(o) * PI / uf(ORIENT_BINS);
            let (nx, ny) = (-t.sin(), t.cos());
            let sigma = 0.5 * p;
            let reach = fidx((2.0 * sigma).ceil()).min(12);
            let reach = isize::try_from(reach).unwrap_or(8);
            let mut offsets = Vec::new();
            let mut weights = Vec::new();
            for k in -reach..=reach {
                let kf = sf(k);
                offsets.push(offset(kf * nx, kf * ny));
                weights.push((-kf * kf / (2.0 * sigma * sigma)).exp() * (2.0 * PI * kf / p).cos());
            }
            let n = uf(weights.len());
            let mean = weights.iter().sum::<f32>() / n;
            weights.iter_mut().for_each(|v| *v -= mean);
            Filter { offsets, weights }
        })
        .collect();
    let bin_of = |b: usize| -> (usize, usize) {
        let t = f.orientation.get(b).copied().unwrap_or(0.0);
        let o = fidx((t / PI * uf(ORIENT_BINS)).round()) % ORIENT_BINS;
        let p = f.period.get(b).copied().unwrap_or(9.0);
        let pb = fidx(((p - PERIOD_MIN) / PERIOD_STEP).round()).min(PERIOD_BINS - 1);
        (o, pb)
    };
    // Padded buffers (PAD pixels each side, replicated edges) so that every tap of a filter
    // stays inside; a block row of BLOCK pixels is filtered at once (one contiguous load per
    // tap, which the compiler vectorises).
    let (pw, ph) = (g.bw * BLOCK + 2 * PAD, g.bh * BLOCK + 2 * PAD);
    let mut src = vec![0f32; pw * ph];
    for (py, row) in src.chunks_exact_mut(pw).enumerate() {
        let y = py.saturating_sub(PAD).min(g.h - 1);
        let Some(line) = img.get(y * g.w..(y + 1) * g.w) else {
            continue;
        };
        for (px, v) in row.iter_mut().enumerate() {
            let x = px.saturating_sub(PAD).min(g.w - 1);
            *v = line.get(x).copied().unwrap_or(0.0);
        }
    }
    let run = |src: &[f32],
               dst: &mut [f32],
               blocks: &[bool],
               pick: &dyn Fn(usize) -> usize,
               bank: &[Filter]| {
        for by in 0..g.bh {
            for bx in 0..g.bw {
                let b = by * g.bw + bx;
                if !blocks.get(b).copied().unwrap_or(false) {
                    continue;
                }
                let Some(flt) = bank.get(pick(b)) else {
                    continue;
                };
                for r in 0..BLOCK {
                    let i0 = (PAD + by * BLOCK + r) * pw + PAD + bx * BLOCK;
                    let mut acc = [0f32; BLOCK];
                    for (&o, &wt) in flt.offsets.iter().zip(&flt.weights) {
                        let s0 = i0.wrapping_add_signed(o);
                        if let Some(seg) = src.get(s0..s0 + BLOCK) {
                            for (a, v) in acc.iter_mut().zip(seg) {
                                *a += wt * v;
                            }
                        }
                    }
                    if let Some(out) = dst.get_mut(i0..i0 + BLOCK) {
                        out.copy_from_slice(&acc);
                    }
                }
            }
        }
    };
    let bins: Vec<(usize, usize)> = (0..g.bw * g.bh).map(bin_of).collect();
    let near_mask: Vec<bool> = morph(&morph(&f.mask, g, true), g, true);
    let mut tmp = vec![0f32; pw * ph];
    run(
        &src,
        &mut tmp,
        &near_mask,
        &|b| bins.get(b).map_or(0, |v| v.0),
        &along,
    );
    let mut outp = vec![0f32; pw * ph];
    run(
        &tmp,
        &mut outp,
        &f.mask,
        &|b| bins.get(b).map_or(0, |v| v.1 * ORIENT_BINS + v.0),
        &across,
    );
    let mut out = vec![0f32; g.w * g.h];
    for (y, row) in out.chunks_exact_mut(g.w).enumerate() {
        let s0 = (PAD + y) * pw + PAD;
        if let Some(seg) = outp.get(s0..s0 + g.w) {
            row.copy_from_slice(seg);
        }
    }
    out
}

/// Padding of the enhancement buffers; at least the longest filter reach.
const PAD: usize = 16;

/// Ridge pixels (enhanced response negative) inside the mask; the image border is cleared so
/// that every set pixel has all eight neighbours inside the image.
fn binarise(enh: &[f32], g: &Grid, mask: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; g.w * g.h];
    for y in 1..g.h.saturating_sub(1) {
        let (Some(src), Some(dst)) = (
            enh.get(y * g.w..(y + 1) * g.w),
            out.get_mut(y * g.w..(y + 1) * g.w),
        ) else {
            continue;
        };
        let brow = (y / BLOCK) * g.bw;
        for (x, (d, &v)) in dst.iter_mut().zip(src).enumerate() {
            let inside = mask.get(brow + x / BLOCK).copied().unwrap_or(false);
            *d = u8::from(inside && v < 0.0 && x > 0 && x + 1 < g.w);
        }
    }
    out
}

/// Per block, the fraction of pixels where the enhanced image and the raw image's deviation
/// from the block mean agree in sign (ridge clarity); 0 outside the mask.
fn ridge_clarity(img: &[f32], enh: &[f32], g: &Grid, f: &mut Fields) {
    let nb = g.bw * g.bh;
    let mut agree = vec![0u32; nb];
    let mut total = vec![0u32; nb];
    for (i, (&v, &e)) in img.iter().zip(enh).enumerate() {
        let (y, x) = (i / g.w, i % g.w); // one division pair per pixel: cheap enough here
        let b = (y / BLOCK) * g.bw + x / BLOCK;
        if !f.mask.get(b).copied().unwrap_or(false) {
            continue;
        }
        let mu = f.mean.get(b).copied().unwrap_or(128.0);
        if let (Some(a), Some(t)) = (agree.get_mut(b), total.get_mut(b)) {
            *t += 1;
            if (v - mu < 0.0) == (e < 0.0) {
                *a += 1;
            }
        }
    }
    for ((c, a), t) in f.clarity.iter_mut().zip(&agree).zip(&total) {
        #[allow(clippy::cast_precision_loss)]
        let r = if *t > 0 { *a as f32 / *t as f32 } else { 0.0 };
        *c = r;
    }
}

/// Neighbour offsets in circular order starting east, counter-clockwise on screen:
/// E, NE, N, NW, W, SW, S, SE.
const RING: [(isize, isize); 8] = [
    (1, 0),
    (1, -1),
    (0, -1),
    (-1, -1),
    (-1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
];

fn pixel(b: &[u8], g: &Grid, x: isize, y: isize) -> u8 {
    if x < 0 || y < 0 {
        return 0;
    }
    let (x, y) = (x.unsigned_abs(), y.unsigned_abs());
    if x >= g.w || y >= g.h {
        return 0;
    }
    b.get(y * g.w + x).copied().unwrap_or(0)
}

/// The 8-neighbour bit pattern of a pixel (bit k = [`RING`]\[k\]).
fn ring_mask(b: &[u8], g: &Grid, x: usize, y: usize) -> u8 {
    if x >= 1 && y >= 1 && x + 1 < g.w && y + 1 < g.h {
        let i = y * g.w + x;
        let w = g.w;
        let p = |j: usize| u8::from(b.get(j).copied().unwrap_or(0) != 0);
        return p(i + 1)
            | p(i + 1 - w) << 1
            | p(i - w) << 2
            | p(i - 1 - w) << 3
            | p(i - 1) << 4
            | p(i - 1 + w) << 5
            | p(i + w) << 6
            | p(i + 1 + w) << 7;
    }
    let (xi, yi) = (
        isize::try_from(x).unwrap_or(0),
        isize::try_from(y).unwrap_or(0),
    );
    let mut m = 0u8;
    for (k, (dx, dy)) in RING.iter().enumerate() {
        if pixel(b, g, xi + dx, yi + dy) != 0 {
            m |= 1 << k;
        }
    }
    m
}

/// The ring pattern of an interior pixel by index (the caller guarantees `i` is not on the
/// image border, where out-of-image neighbours read as clear).
fn ring_at(b: &[u8], w: usize, i: usize) -> u8 {
    let p = |j: Option<usize>| u8::from(j.and_then(|j| b.get(j)).copied().unwrap_or(0) != 0);
    let up = i.checked_sub(w);
    p(Some(i + 1))
        | p(up.map(|u| u + 1)) << 1
        | p(up) << 2
        | p(up.and_then(|u| u.checked_sub(1))) << 3
        | p(i.checked_sub(1)) << 4
        | p((i + w).checked_sub(1)) << 5
        | p(Some(i + w)) << 6
        | p(Some(i + w + 1)) << 7
}

/// 3×3 majority filter of the binary image (removes one-pixel bumps that would become spurs).
fn smooth_binary(b: &mut [u8], g: &Grid) {
    // Vertical 3-sums, then horizontal 3-sums of those.
    let mut col = vec![0u8; b.len()];
    for y in 0..g.h {
        for x in 0..g.w {
            let i = y * g.w + x;
            let up = if y > 0 {
                b.get(i - g.w).copied().unwrap_or(0)
            } else {
                0
            };
            let dn = b.get(i + g.w).copied().unwrap_or(0);
            if let Some(c) = col.get_mut(i) {
                *c = up + b.get(i).copied().unwrap_or(0) + dn;
            }
        }
    }
    for y in 0..g.h {
        let Some(row) = col.get(y * g.w..(y + 1) * g.w) else {
            continue;
        };
        let Some(out) = b.get_mut(y * g.w..(y + 1) * g.w) else {
            continue;
        };
        let mut prev = 0u8;
        for (x, o) in out.iter_mut().enumerate() {
            let c = row.get(x).copied().unwrap_or(0);
            let n = row.get(x + 1).copied().unwrap_or(0);
            *o = u8::from(prev + c + n >= 5 && x > 0 && x + 1 < g.w && y > 0 && y + 1 < g.h);
            prev = c;
        }
    }
}

/// Crossing number of a ring pattern: ½ Σ |P(k) − P(k+1)|.
fn crossing_number(m: u8) -> u32 {
    (m ^ m.rotate_right(1)).count_ones() / 2
}

/// Zhang–Suen thinning (Zhang & Suen 1984) followed by a sequential pass removing the
/// staircase pixels it leaves (pixels whose 8-connectivity number is 1 and that have at least
/// two neighbours), so the skeleton is one pixel wide in the 8-connected sense.
fn thin(b: &mut [u8], g: &Grid) {
    // Deletion tables per sub-iteration over the ring pattern.
    let mut table = [[false; 256]; 2];
    for m in 0..=255u8 {
        let p = |k: usize| (m >> k) & 1 == 1;
        // Zhang–Suen names: P2=N, P3=NE, P4=E, P5=SE, P6=S, P7=SW, P8=W, P9=NW.
        let (n, e, s, w) = (p(2), p(0), p(6), p(4));
        let count = m.count_ones();
        // Transitions 0→1 in the order N, NE, E, SE, S, SW, W, NW.
        let seq = [p(2), p(1), p(0), p(7), p(6), p(5), p(4), p(3)];
        let a = (0..8)
            .filter(|&i| {
                !seq.get(i).copied().unwrap_or(false)
                    && seq.get((i + 1) % 8).copied().unwrap_or(false)
            })
            .count();
        let base = (2..=6).contains(&count) && a == 1;
        if let Some(t) = table.get_mut(0).and_then(|t| t.get_mut(usize::from(m))) {
            *t = base && !(n && e && s) && !(e && s && w);
        }
        if let Some(t) = table.get_mut(1).and_then(|t| t.get_mut(usize::from(m))) {
            *t = base && !(n && e && w) && !(n && s && w);
        }
    }
    // Contour pixels first; afterwards only the survivors among the candidates and the set
    // neighbours of deleted pixels can become deletable.
    let mut candidates: Vec<usize> = (0..b.len())
        .filter(|&i| b.get(i).copied().unwrap_or(0) != 0 && ring_at(b, g.w, i) != 0xFF)
        .collect();
    let mut queued = vec![false; b.len()];
    let mut del: Vec<usize> = Vec::new();
    let mut next: Vec<usize> = Vec::new();
    let mut idle = 0;
    let mut pass = 0usize;
    while idle < 2 && !candidates.is_empty() {
        let t = table.get(pass % 2).copied().unwrap_or([false; 256]);
        pass += 1;
        del.clear();
        for &i in &candidates {
            let m = ring_at(b, g.w, i);
            if t.get(usize::from(m)).copied().unwrap_or(false) {
                del.push(i);
            }
        }
        for &i in &del {
            if let Some(p) = b.get_mut(i) {
                *p = 0;
            }
        }
        idle = if del.is_empty() { idle + 1 } else { 0 };
        next.clear();
        let w = g.w;
        let push = |j: usize, next: &mut Vec<usize>, queued: &mut Vec<bool>| {
            if b.get(j).copied().unwrap_or(0) != 0
                && let Some(q) = queued.get_mut(j)
                && !*q
            {
                *q = true;
                next.push(j);
            }
        };
        for &i in &candidates {
            push(i, &mut next, &mut queued);
        }
        for &i in &del {
            for j in [i + 1, i + w - 1, i + w, i + w + 1] {
                push(j, &mut next, &mut queued);
            }
            for j in [
                i.checked_sub(1),
                i.checked_sub(w - 1),
                i.checked_sub(w),
                i.checked_sub(w + 1),
            ]
            .into_iter()
            .flatten()
            {
                push(j, &mut next, &mut queued);
            }
        }
        for &j in &next {
            if let Some(q) = queued.get_mut(j) {
                *q = false;
            }
        }
        core::mem::swap(&mut candidates, &mut next);
    }
    let candidates: Vec<usize> = (0..b.len())
        .filter(|&i| b.get(i).copied().unwrap_or(0) != 0)
        .collect();
    // Staircase removal: delete a pixel whose 4-neighbours pair up around a corner (two
    // orthogonal 4-neighbours and the opposite diagonal empty) if doing so keeps connectivity.
    for &i in &candidates {
        let m = ring_at(b, g.w, i);
        if m.count_ones() >= 2 && yokoi8(m) == 1 {
            let p = |k: usize| (m >> k) & 1 == 1;
            // Only corners: an orthogonal pair of 4-neighbours present.
            let corner = (p(0) && p(2)) || (p(2) && p(4)) || (p(4) && p(6)) || (p(6) && p(0));
            if corner && let Some(px) = b.get_mut(i) {
                *px = 0;
            }
        }
    }
}

/// Yokoi's 8-connectivity number of a ring pattern.
fn yokoi8(m: u8) -> u32 {
    let x = |k: usize| u32::from((m >> (k % 8)) & 1 == 0);
    [0usize, 2, 4, 6]
        .iter()
        .map(|&k| x(k) - x(k) * x(k + 1) * x(k + 2))
        .sum()
}

#[derive(Clone, Copy)]
struct Candidate {
    x: usize,
    y: usize,
    bifurcation: bool,
    /// Direction in image coordinates (y down), radians.
    dir: f32,
}

struct TraceEnd {
    x: usize,
    y: usize,
    len: usize,
    hit: Option<usize>,
}

const NONE: u32 = u32::MAX;

fn step(x: usize, y: usize, k: usize) -> Option<(usize, usize)> {
    let (dx, dy) = RING.get(k).copied()?;
    Some((x.checked_add_signed(dx)?, y.checked_add_signed(dy)?))
}

/// Follows the skeleton from `(x, y)` through its neighbour `first` for at most `max` pixels,
/// stopping at a minutia candidate, a junction or the end of the ridge.
fn trace(
    skel: &[u8],
    g: &Grid,
    index: &[u32],
    start: (usize, usize),
    first: (usize, usize),
    max: usize,
) -> TraceEnd {
    let (mut px, mut py) = start;
    let (mut cx, mut cy) = first;
    let mut len = 1usize;
    loop {
        let i = cy * g.w + cx;
        let hit = index.get(i).copied().unwrap_or(NONE);
        if hit != NONE {
            return TraceEnd {
                x: cx,
                y: cy,
                len,
                hit: usize::try_from(hit).ok(),
            };
        }
        let m = ring_mask(skel, g, cx, cy);
        if crossing_number(m) != 2 || len >= max {
            return TraceEnd {
                x: cx,
                y: cy,
                len,
                hit: None,
            };
        }
        let mut next: Option<(usize, usize)> = None;
        for k in [0usize, 2, 4, 6, 1, 3, 5, 7] {
            if (m >> k) & 1 == 0 {
                continue;
            }
            let Some((nx, ny)) = step(cx, cy, k) else {
                continue;
            };
            if nx.abs_diff(px) <= 1 && ny.abs_diff(py) <= 1 {
                continue;
            }
            next = Some((nx, ny));
            break;
        }
        let Some(n) = next else {
            return TraceEnd {
                x: cx,
                y: cy,
                len,
                hit: None,
            };
        };
        (px, py) = (cx, cy);
        (cx, cy) = n;
        len += 1;
    }
}

/// Branch starting pixels of a skeleton pixel: one per run of set bits in its ring (a
/// 4-neighbour preferred).
fn branches(m: u8, x: usize, y: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(4);
    // Rotate so that the scan starts at a clear bit.
    let Some(start) = (0..8).find(|&k| (m >> k) & 1 == 0) else {
        return out;
    };
    let mut run: Vec<usize> = Vec::with_capacity(4);
    for j in 1..=8 {
        let k = (start + j) % 8;
        if (m >> k) & 1 == 1 {
            run.push(k);
        } else if !run.is_empty() {
            let pick = run
                .iter()
                .copied()
                .find(|k| k % 2 == 0)
                .or_else(|| run.first().copied());
            if let Some(p) = pick.and_then(|k| step(x, y, k)) {
                out.push(p);
            }
            run.clear();
        }
    }
    out
}

fn angle_diff(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(2.0 * PI);
    d.min(2.0 * PI - d)
}

fn vector_angle(fx: usize, fy: usize, tx: usize, ty: usize) -> f32 {
    (uf(ty) - uf(fy)).atan2(uf(tx) - uf(fx))
}

/// Chessboard distance, in blocks, from each block to the background (0 for background).
fn block_distance(mask: &[bool], g: &Grid) -> Vec<u32> {
    let mut d: Vec<u32> = mask.iter().map(|&m| if m { u32::MAX } else { 0 }).collect();
    let mut q: std::collections::VecDeque<usize> =
        (0..d.len()).filter(|&i| d.get(i) == Some(&0)).collect();
    // Image edges count as background.
    for by in 0..g.bh {
        for bx in 0..g.bw {
            if by == 0 || bx == 0 || by + 1 == g.bh || bx + 1 == g.bw {
                let i = by * g.bw + bx;
                if let Some(v) = d.get_mut(i)
                    && *v == u32::MAX
                {
                    *v = 1;
                    q.push_back(i);
                }
            }
        }
    }
    while let Some(i) = q.pop_front() {
        let here = d.get(i).copied().unwrap_or(0);
        let (bx, by) = (i % g.bw, i / g.bw);
        for yy in by.saturating_sub(1)..(by + 2).min(g.bh) {
            for xx in bx.saturating_sub(1)..(bx + 2).min(g.bw) {
                let j = yy * g.bw + xx;
                if let Some(v) = d.get_mut(j)
                    && *v == u32::MAX
                {
                    *v = here + 1;
                    q.push_back(j);
                }
            }
        }
    }
    d
}

/// Minutiae by crossing number on the skeleton, directions by tracing, false minutiae removed
/// (border, spurs, short ridges, bridges, broken ridges, clusters), quality from the local
/// fields.
fn detect(skel: &[u8], g: &Grid, f: &Fields) -> Vec<Minutia> {
    let dist = block_distance(&f.mask, g);
    let mut cands: Vec<Candidate> = Vec::new();
    let mut index = vec![NONE; g.w * g.h];
    for (i, &v) in skel.iter().enumerate() {
        if v == 0 {
            continue;
        }
        let (x, y) = (i % g.w, i / g.w);
        let b = g.block_of(x, y);
        if dist.get(b).copied().unwrap_or(0) < BORDER_BLOCKS {
            continue;
        }
        let cn = crossing_number(ring_mask(skel, g, x, y));
        if cn == 1 || cn == 3 {
            if let Some(slot) = index.get_mut(i) {
                *slot = u32::try_from(cands.len()).unwrap_or(NONE);
            }
            cands.push(Candidate {
                x,
                y,
                bifurcation: cn == 3,
                dir: 0.0,
            });
        }
    }
    let n = cands.len();
    let mut remove = vec![false; n];
    let mark = |remove: &mut Vec<bool>, a: usize, b: usize| {
        if let Some(r) = remove.get_mut(a) {
            *r = true;
        }
        if let Some(r) = remove.get_mut(b) {
            *r = true;
        }
    };
    for ci in 0..n {
        let Some(c) = cands.get(ci).copied() else {
            continue;
        };
        let period = f.period.get(g.block_of(c.x, c.y)).copied().unwrap_or(9.0);
        let short = fidx(period * 1.6).max(8);
        let m = ring_mask(skel, g, c.x, c.y);
        let starts = branches(m, c.x, c.y);
        let mut ends: Vec<TraceEnd> = Vec::with_capacity(3);
        for s in starts {
            // A first trace for topology, limited to a short ridge length.
            let t = trace(skel, g, &index, (c.x, c.y), s, 14.max(short));
            ends.push(t);
        }
        for t in &ends {
            if let Some(j) = t.hit
                && j != ci
                && t.len <= short
            {
                let other_bif = cands.get(j).is_some_and(|o| o.bifurcation);
                // Spur (ending–bifurcation), short ridge (ending–ending) or bridge
                // (bifurcation–bifurcation); a bifurcation reaching an ending is a spur seen
                // from the other side.
                if !c.bifurcation || other_bif {
                    mark(&mut remove, ci, j);
                }
            }
        }
        let dir = if c.bifurcation {
            if ends.len() != 3 {
                None
            } else {
                let angles: Vec<f32> = ends
                    .iter()
                    .map(|t| vector_angle(c.x, c.y, t.x, t.y))
                    .collect();
                let stem = (0..3)
                    .max_by(|&a, &b| {
                        let sep = |i: usize| {
                            let ai = angles.get(i).copied().unwrap_or(0.0);
                            angles
                                .iter()
                                .enumerate()
                                .filter(|&(j, _)| j != i)
                                .map(|(_, &aj)| angle_diff(ai, aj))
                                .fold(f32::MAX, f32::min)
                        };
                        sep(a).total_cmp(&sep(b))
                    })
                    .unwrap_or(0);
                angles.get(stem).copied()
            }
        } else {
            ends.first()
                .filter(|t| t.len >= 4)
                .map(|t| vector_angle(t.x, t.y, c.x, c.y))
        };
        match dir {
            Some(d) => {
                // Refine with the orientation field, keeping the traced sense.
                let b = g.block_of(c.x, c.y);
                let theta = f.orientation.get(b).copied().unwrap_or(d);
                let cand = if angle_diff(theta, d) <= angle_diff(theta + PI, d) {
                    theta
                } else {
                    theta + PI
                };
                let refined = if angle_diff(cand, d) < PI / 4.0 {
                    cand
                } else {
                    d
                };
                if let Some(cm) = cands.get_mut(ci) {
                    cm.dir = refined;
                }
            }
            None => {
                if let Some(r) = remove.get_mut(ci) {
                    *r = true;
                }
            }
        }
    }
    // Broken ridges and clusters, by pairwise distance (candidates are few).
    for a in 0..n {
        for b in a + 1..n {
            let (Some(ca), Some(cb)) = (cands.get(a), cands.get(b)) else {
                continue;
            };
            let dx = uf(cb.x) - uf(ca.x);
            let dy = uf(cb.y) - uf(ca.y);
            let d2 = dx * dx + dy * dy;
            if d2 > 400.0 {
                continue;
            }
            let d = d2.sqrt();
            let period = f.period.get(g.block_of(ca.x, ca.y)).copied().unwrap_or(9.0);
            if d < 0.55 * period {
                mark(&mut remove, a, b);
                continue;
            }
            if !ca.bifurcation && !cb.bifurcation && d < 1.8 * period {
                let line = dy.atan2(dx);
                let facing = angle_diff(ca.dir, cb.dir + PI) < PI / 4.0
                    && angle_diff(ca.dir, line) < PI / 3.5;
                if facing {
                    mark(&mut remove, a, b);
                }
            }
        }
    }
    let mut out = Vec::with_capacity(n);
    for (c, r) in cands.iter().zip(&remove) {
        if *r {
            continue;
        }
        let b = g.block_of(c.x, c.y);
        // A ridge ending close to the edge of the print whose ridge runs out towards the
        // edge ends because the contact ends.
        let near_edge = dist.get(b).copied().unwrap_or(0) <= BORDER_BLOCKS;
        if near_edge && !c.bifurcation {
            let ax = fround(uf(c.x) + 20.0 * c.dir.cos());
            let ay = fround(uf(c.y) + 20.0 * c.dir.sin());
            let outside = match (usize::try_from(ax), usize::try_from(ay)) {
                (Ok(ax), Ok(ay)) if ax < g.w && ay < g.h => {
                    dist.get(g.block_of(ax, ay)).copied().unwrap_or(0) <= 1
                }
                _ => true,
            };
            if outside {
                continue;
            }
        }
        let coh = f.coherence.get(b).copied().unwrap_or(0.0);
        let clar = f.clarity.get(b).copied().unwrap_or(0.0);
        let border =
            (uf(usize::try_from(dist.get(b).copied().unwrap_or(0)).unwrap_or(0)) / 5.0).min(1.0);
        let q = (0.5 * (coh / 0.7).min(1.0) + 0.5 * ((clar - 0.5) / 0.4).clamp(0.0, 1.0))
            * (0.5 + 0.5 * border);
        if q < 0.15 {
            continue;
        }
        // Image y points down; ISO angles are counter-clockwise with y up.
        let iso = (-c.dir).rem_euclid(2.0 * PI);
        out.push(Minutia {
            x: u16::try_from(c.x).unwrap_or(u16::MAX),
            y: u16::try_from(c.y).unwrap_or(u16::MAX),
            angle: if iso >= 2.0 * PI { 0.0 } else { iso },
            kind: if c.bifurcation {
                MinutiaKind::Bifurcation
            } else {
                MinutiaKind::RidgeEnding
            },
            quality: u8::try_from(fidx((q * 100.0).round()).min(100)).unwrap_or(100),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Concentric rings around a centre: a ridge pattern with no minutiae, plus one broken ring
    /// segment that yields two ridge endings.
    fn rings(w: usize, h: usize, period: f32) -> Vec<u8> {
        let (cx, cy) = (uf(w) * 0.5, uf(h) * 0.6);
        (0..w * h)
            .map(|i| {
                let (x, y) = (uf(i % w), uf(i / w));
                let r = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
                let v = 128.0 + 90.0 * (2.0 * PI * r / period).cos();
                u8::try_from(fidx(v.clamp(0.0, 255.0))).unwrap()
            })
            .collect()
    }

    #[test]
    fn blank_image_has_no_minutiae() {
        let img = GrayImage::from_raw(200, 200, 500, vec![200; 40000]).unwrap();
        let f = extract(&img).unwrap();
        assert!(f.minutiae.is_empty());
        assert_eq!((f.width, f.height, f.resolution_ppi), (200, 200, 500));
    }

    #[test]
    fn clean_rings_have_few_minutiae_and_a_foreground() {
        let img = GrayImage::from_raw(300, 300, 500, rings(300, 300, 9.0)).unwrap();
        let (f, fields) = extract_with_fields(&img).unwrap();
        let fg = fields.mask.iter().filter(|&&m| m).count();
        assert!(fg * 2 > fields.mask.len(), "foreground {fg}");
        assert!(
            f.minutiae.len() <= 4,
            "{} minutiae on clean rings",
            f.minutiae.len()
        );
        let measured: Vec<f32> = fields
            .period
            .iter()
            .zip(&fields.period_measured)
            .filter(|&(_, &m)| m)
            .map(|(&p, _)| p)
            .collect();
        let mean = measured.iter().sum::<f32>() / uf(measured.len());
        assert!((mean - 9.0).abs() < 1.0, "period {mean}");
    }

    /// Parallel ridges with phase dislocations at known points: each dislocation is one
    /// minutia (an ending or a bifurcation, by the sign of the phase winding).
    pub(crate) fn dislocations(w: usize, h: usize, period: f32, at: &[(f32, f32, f32)]) -> Vec<u8> {
        (0..w * h)
            .map(|i| {
                let (x, y) = (uf(i % w), uf(i / w));
                let mut phase = 2.0 * PI * (x + 0.15 * y) / period;
                for &(mx, my, s) in at {
                    phase += s * (y - my).atan2(x - mx);
                }
                let v = 128.0 + 90.0 * phase.cos();
                u8::try_from(fidx(v.clamp(0.0, 255.0))).unwrap()
            })
            .collect()
    }

    pub(crate) const DISLOCATIONS: [(f32, f32, f32); 6] = [
        (90.0, 80.0, 1.0),
        (210.0, 95.0, -1.0),
        (100.0, 200.0, -1.0),
        (200.0, 215.0, 1.0),
        (80.0, 300.0, 1.0),
        (215.0, 310.0, -1.0),
    ];

    #[test]
    fn dislocations_are_found() {
        let (w, h) = (300usize, 400usize);
        let px = dislocations(w, h, 9.0, &DISLOCATIONS);
        if std::env::var_os("SHENAS_DEBUG_DUMP").is_some() {
            debug_dump(&px, w, h, "disl");
        }
        let img = GrayImage::from_raw(w, h, 500, px).unwrap();
        let f = extract(&img).unwrap();
        let found = DISLOCATIONS
            .iter()
            .filter(|&&(x, y, _)| {
                f.minutiae
                    .iter()
                    .any(|m| (f32::from(m.x) - x).hypot(f32::from(m.y) - y) <= 12.0)
            })
            .count();
        assert_eq!(found, DISLOCATIONS.len(), "{} minutiae", f.minutiae.len());
        assert!(
            f.minutiae.len() <= DISLOCATIONS.len() + 2,
            "{} minutiae",
            f.minutiae.len()
        );
        let kinds: Vec<MinutiaKind> = f.minutiae.iter().map(|m| m.kind).collect();
        assert!(
            kinds.contains(&MinutiaKind::RidgeEnding) && kinds.contains(&MinutiaKind::Bifurcation)
        );
        assert!(
            f.minutiae
                .iter()
                .all(|m| (0.0..2.0 * PI).contains(&m.angle))
        );
    }

    /// `SHENAS_DEBUG_IMAGE=file.png`: writes the pipeline stages of that image to /tmp.
    #[test]
    fn debug_image_from_env() {
        if let Some(path) = std::env::var_os("SHENAS_DEBUG_IMAGE") {
            let img = GrayImage::decode(&std::fs::read(path).unwrap(), None).unwrap();
            debug_dump(img.pixels(), img.width(), img.height(), "env");
        }
    }

    #[test]
    fn non_500_ppi_is_reported_in_input_pixels() {
        let img = GrayImage::from_raw(600, 600, 1000, rings(600, 600, 18.0)).unwrap();
        let f = extract(&img).unwrap();
        assert_eq!((f.width, f.height, f.resolution_ppi), (600, 600, 1000));
        assert!(f.minutiae.iter().all(|m| m.x < 600 && m.y < 600));
    }

    #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
    pub(crate) fn debug_dump(px: &[u8], w: usize, h: usize, name: &str) {
        let g = Grid {
            w,
            h,
            bw: w.div_ceil(BLOCK),
            bh: h.div_ceil(BLOCK),
        };
        let img: Vec<f32> = px.iter().map(|&p| f32::from(p)).collect();
        let mut fields = block_fields(&img, &g);
        segment(&mut fields, &g);
        frequency(&img, &g, &mut fields);
        let enhanced = enhance(&img, &g, &fields);
        let mut skel = binarise(&enhanced, &g, &fields.mask);
        let bin = skel.clone();
        smooth_binary(&mut skel, &g);
        thin(&mut skel, &g);
        let mins = detect(&skel, &g, &fields);
        let write = |suffix: &str, data: Vec<u8>| {
            let f = std::fs::File::create(format!("/tmp/dbg_{name}_{suffix}.png")).unwrap();
            let mut e = png::Encoder::new(f, u32::try_from(w).unwrap(), u32::try_from(h).unwrap());
            e.set_color(png::ColorType::Grayscale);
            e.write_header().unwrap().write_image_data(&data).unwrap();
        };
        write("in", px.to_vec());
        write(
            "enh",
            enhanced
                .iter()
                .map(|&v| u8::try_from(fidx((128.0 + v).clamp(0.0, 255.0))).unwrap())
                .collect(),
        );
        write("bin", bin.iter().map(|&v| v * 255).collect());
        let mut sk: Vec<u8> = skel
            .iter()
            .zip(&bin)
            .map(|(&s, &b)| {
                if s != 0 {
                    0
                } else if b != 0 {
                    160
                } else {
                    255
                }
            })
            .collect();
        for m in &mins {
            for d in -3isize..=3 {
                for (xx, yy) in [
                    (m.x as isize + d, m.y as isize - 3),
                    (m.x as isize + d, m.y as isize + 3),
                    (m.x as isize - 3, m.y as isize + d),
                    (m.x as isize + 3, m.y as isize + d),
                ] {
                    if xx >= 0 && yy >= 0 && (xx as usize) < w && (yy as usize) < h {
                        sk[yy as usize * w + xx as usize] = if m.kind == MinutiaKind::Bifurcation {
                            100
                        } else {
                            60
                        };
                    }
                }
            }
        }
        write("skel", sk);
        eprintln!(
            "{name}: {} minutiae, periods {:?}",
            mins.len(),
            &fields.period[..8]
        );
    }
}
