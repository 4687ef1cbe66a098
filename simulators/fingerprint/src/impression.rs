//! One impression of a master fingerprint: partial contact, plastic distortion (Cappelli's
//! model), rotation and translation, dryness or moisture, noise, blur and background, with the
//! ground truth carried through the same transformation.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use shenas_biometrics::extract::Minutia;

use crate::Tier;
use crate::master::{Field, Master, Shape};
use crate::noise::{ValueNoise, floor_usize, normal, to_f32_usize};

/// Skin condition of one impression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Skin {
    Normal,
    /// Dry: thin, broken ridges; `0..=1`.
    Dry(f32),
    /// Wet: thick, merged ridges; `0..=1`.
    Wet(f32),
}

/// Everything that varies between impressions of one finger.
#[derive(Clone, Debug)]
pub(crate) struct ImpressionParams {
    /// Global rotation (radians, counter-clockwise on screen) and translation (pixels).
    pub(crate) rotation: f32,
    pub(crate) translation: (f32, f32),
    /// Cappelli distortion: close-contact ellipse (centre offset from the finger centre,
    /// semi-axes), rigid motion of the outer region (rotation, translation) and brake distance.
    pub(crate) contact_offset: (f32, f32),
    pub(crate) contact_axes: (f32, f32),
    pub(crate) distortion_rotation: f32,
    pub(crate) distortion_translation: (f32, f32),
    pub(crate) brake: f32,
    /// Contact area: offset of its centre and scale of the finger outline it keeps.
    pub(crate) area_offset: (f32, f32),
    pub(crate) area_scale: f32,
    pub(crate) skin: Skin,
    pub(crate) noise_sigma: f32,
    /// Blur: weight of each side tap of a separable [a, 1 − 2a, a] kernel.
    pub(crate) blur: f32,
    /// Amplitude of the slowly varying pressure (ridge width) variation.
    pub(crate) pressure: f32,
    pub(crate) ridge_level: f32,
    pub(crate) valley_level: f32,
    pub(crate) background: f32,
}

/// The distributions of one tier (degrees, pixels at 500 ppi; the crate docs show them).
struct TierParams {
    rotation_sd: f32,
    rotation_max: f32,
    shift_sd: f32,
    distortion_rotation_sd: f32,
    distortion_shift_sd: f32,
    area_offset_sd: f32,
    area_scale: (f32, f32),
    /// (probability, severity range).
    dry: (f32, f32, f32),
    wet: (f32, f32, f32),
    noise: (f32, f32),
    blur: (f32, f32),
    pressure: f32,
}

impl TierParams {
    fn of(tier: Tier) -> Self {
        match tier {
            Tier::Hard => Self {
                rotation_sd: 14.0,
                rotation_max: 35.0,
                shift_sd: 26.0,
                distortion_rotation_sd: 5.5,
                distortion_shift_sd: 11.0,
                area_offset_sd: 42.0,
                area_scale: (0.66, 0.96),
                dry: (0.35, 0.4, 0.85),
                wet: (0.25, 0.3, 0.7),
                noise: (7.0, 15.0),
                blur: (0.13, 0.26),
                pressure: 0.2,
            },
            Tier::Standard => Self {
                rotation_sd: 10.0,
                rotation_max: 30.0,
                shift_sd: 22.0,
                distortion_rotation_sd: 4.0,
                distortion_shift_sd: 8.0,
                area_offset_sd: 28.0,
                area_scale: (0.8, 1.0),
                dry: (0.15, 0.15, 0.45),
                wet: (0.15, 0.15, 0.45),
                noise: (4.0, 9.0),
                blur: (0.08, 0.2),
                pressure: 0.12,
            },
        }
    }
}

fn uniform(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    rng.random_range(lo..hi)
}

impl ImpressionParams {
    /// Draws the parameters of one impression for `tier`.
    pub(crate) fn draw(tier: Tier, rng: &mut ChaCha8Rng) -> Self {
        let deg = core::f32::consts::PI / 180.0;
        let t = TierParams::of(tier);
        let rotation = (t.rotation_sd * normal(rng)).clamp(-t.rotation_max, t.rotation_max) * deg;
        let translation = (t.shift_sd * normal(rng), t.shift_sd * normal(rng));
        let u: f32 = rng.random();
        let skin = if u < t.dry.0 {
            Skin::Dry(uniform(rng, t.dry.1, t.dry.2))
        } else if u < t.dry.0 + t.wet.0 {
            Skin::Wet(uniform(rng, t.wet.1, t.wet.2))
        } else {
            Skin::Normal
        };
        Self {
            rotation,
            translation,
            contact_offset: (15.0 * normal(rng), 15.0 * normal(rng)),
            contact_axes: (uniform(rng, 55.0, 85.0), uniform(rng, 65.0, 100.0)),
            distortion_rotation: t.distortion_rotation_sd * normal(rng) * deg,
            distortion_translation: (
                t.distortion_shift_sd * normal(rng),
                t.distortion_shift_sd * normal(rng),
            ),
            brake: uniform(rng, 70.0, 120.0),
            area_offset: (
                t.area_offset_sd * normal(rng),
                t.area_offset_sd * normal(rng),
            ),
            area_scale: uniform(rng, t.area_scale.0, t.area_scale.1),
            skin,
            noise_sigma: uniform(rng, t.noise.0, t.noise.1),
            blur: uniform(rng, t.blur.0, t.blur.1),
            pressure: t.pressure,
            ridge_level: uniform(rng, 15.0, 65.0),
            valley_level: uniform(rng, 195.0, 235.0),
            background: uniform(rng, 232.0, 252.0),
        }
    }
}

/// The master → impression mapping `F = G ∘ Δ` (Δ: Cappelli distortion, G: rigid motion).
struct Mapping {
    /// Finger centre (rotation centre of G).
    centre: (f32, f32),
    rot: (f32, f32),
    shift: (f32, f32),
    ellipse_centre: (f32, f32),
    ellipse_axes: (f32, f32),
    d_rot: (f32, f32),
    d_shift: (f32, f32),
    brake: f32,
}

impl Mapping {
    fn new(shape: &Shape, p: &ImpressionParams) -> Self {
        let centre = (shape.cx, shape.cy);
        Self {
            centre,
            rot: (p.rotation.cos(), p.rotation.sin()),
            shift: p.translation,
            ellipse_centre: (centre.0 + p.contact_offset.0, centre.1 + p.contact_offset.1),
            ellipse_axes: p.contact_axes,
            d_rot: (p.distortion_rotation.cos(), p.distortion_rotation.sin()),
            d_shift: p.distortion_translation,
            brake: p.brake,
        }
    }

    /// Cappelli's displacement δ(v) = (r(v) − v) · brake(d(v)): zero in the close-contact
    /// ellipse, the rigid motion r far from it.
    fn displacement(&self, x: f32, y: f32) -> (f32, f32) {
        let (ex, ey) = self.ellipse_centre;
        let (dx, dy) = (x - ex, y - ey);
        let rho = ((dx / self.ellipse_axes.0).powi(2) + (dy / self.ellipse_axes.1).powi(2)).sqrt();
        let d = (rho - 1.0).max(0.0) * (self.ellipse_axes.0 * self.ellipse_axes.1).sqrt();
        let k = 1.0 - (-(d * d) / (2.0 * self.brake * self.brake)).exp();
        // On screen (y down) a counter-clockwise rotation by φ is (x cos φ + y sin φ, −x sin φ + y cos φ).
        let (c, s) = self.d_rot;
        let rx = ex + c * dx + s * dy + self.d_shift.0;
        let ry = ey - s * dx + c * dy + self.d_shift.1;
        ((rx - x) * k, (ry - y) * k)
    }

    fn global(&self, x: f32, y: f32) -> (f32, f32) {
        let (c, s) = self.rot;
        let (dx, dy) = (x - self.centre.0, y - self.centre.1);
        (
            self.centre.0 + c * dx + s * dy + self.shift.0,
            self.centre.1 - s * dx + c * dy + self.shift.1,
        )
    }

    fn global_inverse(&self, x: f32, y: f32) -> (f32, f32) {
        let (c, s) = self.rot;
        let (dx, dy) = (
            x - self.centre.0 - self.shift.0,
            y - self.centre.1 - self.shift.1,
        );
        (
            self.centre.0 + c * dx - s * dy,
            self.centre.1 + s * dx + c * dy,
        )
    }

    /// Master → impression.
    fn forward(&self, x: f32, y: f32) -> (f32, f32) {
        let (dx, dy) = self.displacement(x, y);
        self.global(x + dx, y + dy)
    }

    /// Impression → master, by fixed-point iteration on Δ (contractive for the distortions
    /// drawn here).
    fn inverse(&self, x: f32, y: f32) -> (f32, f32) {
        let (qx, qy) = self.global_inverse(x, y);
        let (mut vx, mut vy) = (qx, qy);
        for _ in 0..10 {
            let (dx, dy) = self.displacement(vx, vy);
            vx = qx - dx;
            vy = qy - dy;
        }
        (vx, vy)
    }
}

const GRID: usize = 8;

/// Renders one impression: the 8-bit pixels and the ground truth in impression coordinates.
pub(crate) fn render(
    master: &Master,
    p: &ImpressionParams,
    rng: &mut ChaCha8Rng,
) -> (Vec<u8>, Vec<Minutia>) {
    let (w, h) = (master.ridges.w, master.ridges.h);
    let map = Mapping::new(&master.shape, p);
    // Inverse map on a coarse grid, interpolated per pixel.
    let (gw, gh) = (w / GRID + 2, h / GRID + 2);
    let mut gx = Field::new(gw, gh, 0.0);
    let mut gy = Field::new(gw, gh, 0.0);
    for j in 0..gh {
        for i in 0..gw {
            let (sx, sy) = map.inverse(to_f32_usize(i * GRID), to_f32_usize(j * GRID));
            if let (Some(a), Some(b)) = (gx.data.get_mut(j * gw + i), gy.data.get_mut(j * gw + i)) {
                *a = sx;
                *b = sy;
            }
        }
    }
    let shape = &master.shape;
    let area = Shape {
        cx: shape.cx + p.area_offset.0,
        cy: shape.cy + p.area_offset.1,
        left: shape.left * p.area_scale,
        right: shape.right * p.area_scale,
        top: shape.top * p.area_scale,
        bottom: shape.bottom * p.area_scale,
    };
    let (threshold, patchiness) = match p.skin {
        Skin::Normal => (0.0, 0.0),
        Skin::Dry(d) => (0.55 * d, d),
        Skin::Wet(m) => (-0.6 * m, 0.0),
    };
    let valley = match p.skin {
        Skin::Wet(m) => p.valley_level - 70.0 * m,
        _ => p.valley_level,
    };
    let patches = ValueNoise::new(rng, w, h, 14.0);
    let speckle = ValueNoise::new(rng, w, h, 3.0);
    let pressure = ValueNoise::new(rng, w, h, 60.0);
    let g = to_f32_usize(GRID);
    let (wf, hf) = (to_f32_usize(w), to_f32_usize(h));
    let mut img = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (to_f32_usize(x), to_f32_usize(y));
            let (sx, sy) = (
                gx.sample(fx / g, fy / g, 0.0),
                gy.sample(fx / g, fy / g, 0.0),
            );
            // Visible where both the finger outline and the contact area hold, fading over
            // 6 px, and never beyond the master's canvas.
            let canvas = sx.min(sy).min(wf - 1.0 - sx).min(hf - 1.0 - sy);
            let vis =
                (shape.depth(sx, sy).min(area.depth(sx, sy)).min(canvas) / 6.0).clamp(0.0, 1.0);
            let mut value = p.background;
            if vis > 0.0 {
                let r = master.ridges.sample(sx, sy, -1.0);
                let mut t = threshold + p.pressure * pressure.at(fx, fy);
                if patchiness > 0.0 {
                    // Dry skin touches in patches and leaves gaps (pores, breaks) on ridges.
                    t += patchiness * 0.8 * patches.at(fx, fy).max(0.0);
                    if speckle.at(fx, fy) > 1.0 - 0.6 * patchiness {
                        t += 1.5;
                    }
                }
                let dark = 1.0 / (1.0 + (-5.0 * (r - t)).exp());
                let print = valley - (valley - p.ridge_level) * dark;
                value = vis * print + (1.0 - vis) * p.background;
            }
            if let Some(v) = img.get_mut(y * w + x) {
                *v = value;
            }
        }
    }
    blur(&mut img, w, h, p.blur);
    // Sensor noise: approximately normal (Irwin–Hall sum of four uniform bytes, σ = 147.8).
    let scale = p.noise_sigma / 147.8;
    let pixels = img
        .iter()
        .map(|v| {
            let [a, b, c, d] = rng.random::<u32>().to_le_bytes();
            let sum = u16::from(a) + u16::from(b) + u16::from(c) + u16::from(d);
            to_u8(v + scale * (f32::from(sum) - 510.0))
        })
        .collect();

    let margin = 8.0;
    let truth = master
        .minutiae
        .iter()
        .filter_map(|m| {
            let (sx, sy) = (f32::from(m.x), f32::from(m.y));
            if area.depth(sx, sy) < 12.0 {
                return None;
            }
            let (ox, oy) = map.forward(sx, sy);
            let (ax, ay) = map.forward(sx + 4.0 * m.angle.cos(), sy - 4.0 * m.angle.sin());
            if ox < margin
                || oy < margin
                || ox >= to_f32_usize(w) - margin
                || oy >= to_f32_usize(h) - margin
            {
                return None;
            }
            Some(Minutia {
                x: u16::try_from(floor_usize(ox + 0.5)).unwrap_or(u16::MAX),
                y: u16::try_from(floor_usize(oy + 0.5)).unwrap_or(u16::MAX),
                angle: (oy - ay).atan2(ax - ox).rem_euclid(core::f32::consts::TAU),
                kind: m.kind,
                quality: 0,
            })
        })
        .collect();
    (pixels, truth)
}

/// Separable [a, 1 − 2a, a] blur, edges clamped.
fn blur(img: &mut [f32], w: usize, h: usize, a: f32) {
    if a <= 0.0 || w < 2 || h < 2 {
        return;
    }
    let c = 1.0 - 2.0 * a;
    for row in img.chunks_exact_mut(w) {
        let orig: Vec<f32> = row.to_vec();
        for (x, v) in row.iter_mut().enumerate() {
            let l = orig.get(x.saturating_sub(1)).copied().unwrap_or(0.0);
            let m = orig.get(x).copied().unwrap_or(0.0);
            let r = orig.get((x + 1).min(w - 1)).copied().unwrap_or(0.0);
            *v = a * l + c * m + a * r;
        }
    }
    let orig = img.to_vec();
    for y in 0..h {
        for x in 0..w {
            let at = |yy: usize| orig.get(yy * w + x).copied().unwrap_or(0.0);
            let v = a * at(y.saturating_sub(1)) + c * at(y) + a * at((y + 1).min(h - 1));
            if let Some(p) = img.get_mut(y * w + x) {
                *p = v;
            }
        }
    }
}

/// Rounds and clamps to a gray level.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped to 0..=255 first"
)]
pub(crate) fn to_u8(v: f32) -> u8 {
    if v.is_finite() {
        v.round().clamp(0.0, 255.0) as u8
    } else {
        255
    }
}
