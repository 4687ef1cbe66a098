//! ISO/IEC 19794-2 card formats (clause 8, no headers) and the match-on-card probe builder.
//!
//! - Compact card, 3 bytes per minutia (§8.2): x u8 and y u8 in units of 0.1 mm (at 500 ppi
//!   one unit ≈ 1.9685 px) · type (bits 7–6: `00` other, `01` ridge ending, `10` bifurcation)
//!   | angle (bits 5–0, units of 5.625°).
//! - Normal card, 5 bytes per minutia (§8.3): the 6-byte record layout without quality, x and y
//!   (14 bits each) in units of 0.01 mm, angle u8 in units of 360/256°.
//!
//! Count limits and ordering come from the card's biometric information template (ISO/IEC
//! 7816-11, `7F60` … `B1` algorithm parameters: `81` min/max minutiae, `82` ordering, `83`
//! feature handling): [`CardParameters::from_algorithm_parameters`] reads them and
//! [`build_compact_probe`] builds a conforming probe.

use core::cmp::Ordering;
use core::fmt;

use super::{TemplateError, angle_from_code, kind_bits, kind_from_bits, quantise_angle};
use crate::extract::{FingerprintFeatures, Minutia, MinutiaKind};

/// Most minutiae one card record holds here (the card's count fields are one byte).
pub const MAX_MINUTIAE: usize = 255;

/// One compact-card minutia: coordinates in 0.1 mm, angle code in units of 5.625° (0–63).
///
/// Biometric data: `Debug` redacts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CompactMinutia {
    /// Ridge ending, bifurcation or other.
    pub kind: MinutiaKind,
    /// Column in units of 0.1 mm.
    pub x: u8,
    /// Row in units of 0.1 mm.
    pub y: u8,
    /// Angle code 0–63 (5.625° each).
    pub angle: u8,
}

impl fmt::Debug for CompactMinutia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactMinutia").finish_non_exhaustive()
    }
}

/// One normal-card minutia: coordinates in 0.01 mm (14 bits), angle code in units of 360/256°.
///
/// Biometric data: `Debug` redacts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NormalMinutia {
    /// Ridge ending, bifurcation or other.
    pub kind: MinutiaKind,
    /// Column in units of 0.01 mm (0–16383).
    pub x: u16,
    /// Row in units of 0.01 mm (0–16383).
    pub y: u16,
    /// Angle code (360/256° each).
    pub angle: u8,
}

impl fmt::Debug for NormalMinutia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NormalMinutia").finish_non_exhaustive()
    }
}

fn check_count(len: usize, size: usize) -> Result<usize, TemplateError> {
    if !len.is_multiple_of(size) {
        return Err(TemplateError::LengthMismatch {
            what: "card minutiae data",
            declared: len / size * size,
            actual: len,
        });
    }
    let count = len / size;
    if count > MAX_MINUTIAE {
        return Err(TemplateError::CountOverLimit {
            what: "card minutiae",
            count,
            limit: MAX_MINUTIAE,
        });
    }
    Ok(count)
}

/// Decodes compact-card minutiae (3 bytes each; the length must be a multiple of 3).
pub fn decode_compact(data: &[u8]) -> Result<Vec<CompactMinutia>, TemplateError> {
    let count = check_count(data.len(), 3)?;
    let mut out = Vec::with_capacity(count);
    for (index, c) in data.chunks_exact(3).enumerate() {
        if let [x, y, ta] = *c {
            out.push(CompactMinutia {
                kind: kind_from_bits(ta >> 6, index)?,
                x,
                y,
                angle: ta & 0x3F,
            });
        }
    }
    Ok(out)
}

/// Encodes compact-card minutiae.
pub fn encode_compact(minutiae: &[CompactMinutia]) -> Result<Vec<u8>, TemplateError> {
    check_count(minutiae.len() * 3, 3)?;
    let mut out = Vec::with_capacity(minutiae.len() * 3);
    for (index, m) in minutiae.iter().enumerate() {
        if m.angle > 63 {
            return Err(TemplateError::BadAngle { index, max: 63 });
        }
        out.extend_from_slice(&[m.x, m.y, (kind_bits(m.kind) << 6) | m.angle]);
    }
    Ok(out)
}

/// Decodes normal-card minutiae (5 bytes each; the length must be a multiple of 5).
pub fn decode_normal(data: &[u8]) -> Result<Vec<NormalMinutia>, TemplateError> {
    let count = check_count(data.len(), 5)?;
    let mut out = Vec::with_capacity(count);
    for (index, c) in data.chunks_exact(5).enumerate() {
        if let [t0, x1, r0, y1, angle] = *c {
            if r0 >> 6 != 0 {
                return Err(TemplateError::BadField {
                    field: "normal-card reserved bits",
                });
            }
            out.push(NormalMinutia {
                kind: kind_from_bits(t0 >> 6, index)?,
                x: u16::from_be_bytes([t0 & 0x3F, x1]),
                y: u16::from_be_bytes([r0, y1]),
                angle,
            });
        }
    }
    Ok(out)
}

/// Encodes normal-card minutiae.
pub fn encode_normal(minutiae: &[NormalMinutia]) -> Result<Vec<u8>, TemplateError> {
    check_count(minutiae.len() * 5, 5)?;
    let mut out = Vec::with_capacity(minutiae.len() * 5);
    for (index, m) in minutiae.iter().enumerate() {
        if m.x > 0x3FFF || m.y > 0x3FFF {
            return Err(TemplateError::CoordinateOverflow { index });
        }
        let tx = (u16::from(kind_bits(m.kind)) << 14) | m.x;
        out.extend_from_slice(&tx.to_be_bytes());
        out.extend_from_slice(&m.y.to_be_bytes());
        out.push(m.angle);
    }
    Ok(out)
}

/// `round(px · per_inch / ppi)`: pixels to card units (`per_inch` = 254 for 0.1 mm, 2540 for
/// 0.01 mm). `None` when the resolution is 0.
fn to_units(px: u16, ppi: u16, per_inch: u32) -> Option<u32> {
    let ppi = u32::from(ppi);
    if ppi == 0 {
        return None;
    }
    Some((u32::from(px) * per_inch + ppi / 2) / ppi)
}

/// `round(units · ppi / per_inch)`: card units to pixels, saturating at `u16::MAX`.
fn to_pixels(units: u16, ppi: u16, per_inch: u32) -> u16 {
    let v = (u32::from(units) * u32::from(ppi) + per_inch / 2) / per_inch;
    u16::try_from(v).unwrap_or(u16::MAX)
}

/// Quantises one minutia to the compact-card form (module docs of [`crate::template`]).
pub fn compact_from_minutia(
    m: &Minutia,
    ppi: u16,
    index: usize,
) -> Result<CompactMinutia, TemplateError> {
    let x = to_units(m.x, ppi, 254).ok_or(TemplateError::BadField {
        field: "resolution",
    })?;
    let y = to_units(m.y, ppi, 254).ok_or(TemplateError::BadField {
        field: "resolution",
    })?;
    Ok(CompactMinutia {
        kind: m.kind,
        x: u8::try_from(x).map_err(|_| TemplateError::CoordinateOverflow { index })?,
        y: u8::try_from(y).map_err(|_| TemplateError::CoordinateOverflow { index })?,
        angle: quantise_angle(m.angle, 64),
    })
}

/// Quantises one minutia to the normal-card form.
pub fn normal_from_minutia(
    m: &Minutia,
    ppi: u16,
    index: usize,
) -> Result<NormalMinutia, TemplateError> {
    let x = to_units(m.x, ppi, 2540).ok_or(TemplateError::BadField {
        field: "resolution",
    })?;
    let y = to_units(m.y, ppi, 2540).ok_or(TemplateError::BadField {
        field: "resolution",
    })?;
    let fit = |v: u32| {
        u16::try_from(v)
            .ok()
            .filter(|v| *v <= 0x3FFF)
            .ok_or(TemplateError::CoordinateOverflow { index })
    };
    Ok(NormalMinutia {
        kind: m.kind,
        x: fit(x)?,
        y: fit(y)?,
        angle: quantise_angle(m.angle, 256),
    })
}

/// All minutiae of `features` in compact-card form, in their order.
pub fn compact_from_features(
    features: &FingerprintFeatures,
) -> Result<Vec<CompactMinutia>, TemplateError> {
    features
        .minutiae
        .iter()
        .enumerate()
        .map(|(i, m)| compact_from_minutia(m, features.resolution_ppi, i))
        .collect()
}

/// All minutiae of `features` in normal-card form, in their order.
pub fn normal_from_features(
    features: &FingerprintFeatures,
) -> Result<Vec<NormalMinutia>, TemplateError> {
    features
        .minutiae
        .iter()
        .enumerate()
        .map(|(i, m)| normal_from_minutia(m, features.resolution_ppi, i))
        .collect()
}

/// Features from compact-card minutiae, for an image of the given geometry (the card format
/// carries none). Positions back to the nearest pixel, angles to the centre of their code,
/// quality 0 (not reported).
pub fn features_from_compact(
    minutiae: &[CompactMinutia],
    width: u16,
    height: u16,
    ppi: u16,
) -> FingerprintFeatures {
    FingerprintFeatures {
        width,
        height,
        resolution_ppi: ppi,
        minutiae: minutiae
            .iter()
            .map(|m| Minutia {
                x: to_pixels(u16::from(m.x), ppi, 254),
                y: to_pixels(u16::from(m.y), ppi, 254),
                angle: angle_from_code(m.angle & 0x3F, 64),
                kind: m.kind,
                quality: 0,
            })
            .collect(),
    }
}

/// Features from normal-card minutiae (as [`features_from_compact`], 0.01 mm units).
pub fn features_from_normal(
    minutiae: &[NormalMinutia],
    width: u16,
    height: u16,
    ppi: u16,
) -> FingerprintFeatures {
    FingerprintFeatures {
        width,
        height,
        resolution_ppi: ppi,
        minutiae: minutiae
            .iter()
            .map(|m| Minutia {
                x: to_pixels(m.x, ppi, 2540),
                y: to_pixels(m.y, ppi, 2540),
                angle: angle_from_code(m.angle, 256),
                kind: m.kind,
                quality: 0,
            })
            .collect(),
    }
}

/// Sort direction (bits 1–0 of the ordering byte, ISO/IEC 19794-2 §8.1 / 7816-11 `B1`/`82`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SortDirection {
    /// `00`: no ordering required.
    None,
    /// `01`: ascending.
    Ascending,
    /// `10`: descending.
    Descending,
}

/// Sort key (bits 4–2 of the ordering byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SortKey {
    /// `000`: Cartesian, x then y.
    XY,
    /// `001`: Cartesian, y then x.
    YX,
    /// `010`: angle (ties by x, y).
    Angle,
    /// `011`: polar, by distance from the minutiae's centre of mass, ties by polar angle.
    Polar,
}

/// The match-on-card algorithm parameters a card announces in its BIT (ISO/IEC 7816-11 `B1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardParameters {
    /// Fewest minutiae the card accepts (`81`, first byte).
    pub min_minutiae: u8,
    /// Most minutiae the card accepts (`81`, second byte).
    pub max_minutiae: u8,
    /// Required direction (`82` bits 1–0).
    pub direction: SortDirection,
    /// Sort key (`82` bits 4–2).
    pub key: SortKey,
    /// Feature handling indicator (`83`), when present.
    pub feature_handling: Option<u8>,
}

impl CardParameters {
    /// Parameters from the ordering byte (`82`) and count limits.
    pub fn new(min: u8, max: u8, ordering: u8) -> Result<Self, TemplateError> {
        let bad = TemplateError::BadAlgorithmParameters { tag: 0x82 };
        let direction = match ordering & 0b11 {
            0 => SortDirection::None,
            1 => SortDirection::Ascending,
            2 => SortDirection::Descending,
            _ => return Err(bad),
        };
        let key = match (ordering >> 2) & 0b111 {
            0 => SortKey::XY,
            1 => SortKey::YX,
            2 => SortKey::Angle,
            3 => SortKey::Polar,
            _ => return Err(bad),
        };
        if max == 0 || min > max {
            return Err(TemplateError::BadAlgorithmParameters { tag: 0x81 });
        }
        Ok(Self {
            min_minutiae: min,
            max_minutiae: max,
            direction,
            key,
            feature_handling: None,
        })
    }

    /// Reads the value of a `B1` algorithm-parameters object (its inner data objects `81`
    /// min,max · `82` ordering · `83` feature handling; unknown tags skipped). Without `81` the
    /// limits default to 0–255; without `82`, no ordering.
    pub fn from_algorithm_parameters(value: &[u8]) -> Result<Self, TemplateError> {
        let (mut min, mut max, mut ordering, mut handling) = (0u8, 255u8, 0u8, None);
        let mut rest = value;
        while let Some((&tag, after)) = rest.split_first() {
            let bad = TemplateError::BadAlgorithmParameters { tag };
            if tag & 0x1F == 0x1F {
                return Err(bad); // multi-byte tags never occur inside B1
            }
            let (&len, after) = after.split_first().ok_or(bad.clone())?;
            let (len, after) = match len {
                0..=0x7F => (usize::from(len), after),
                0x81 => {
                    let (&l, a) = after.split_first().ok_or(bad.clone())?;
                    (usize::from(l), a)
                }
                _ => return Err(bad),
            };
            let v = after.get(..len).ok_or(bad.clone())?;
            rest = after.get(len..).unwrap_or_default();
            match (tag, v) {
                (0x81, [a, b]) => (min, max) = (*a, *b),
                (0x82, [o]) => ordering = *o,
                (0x83, [h]) => handling = Some(*h),
                (0x81..=0x83, _) => return Err(bad),
                _ => {}
            }
        }
        let mut p = Self::new(min, max, ordering)?;
        p.feature_handling = handling;
        Ok(p)
    }
}

/// A compact-card probe built for one card's limits.
///
/// Biometric data: `Debug` shows the count only.
#[derive(Clone, PartialEq, Eq)]
pub struct CompactProbe {
    /// The minutiae in the order the card requires.
    pub minutiae: Vec<CompactMinutia>,
}

impl fmt::Debug for CompactProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactProbe")
            .field("minutiae", &self.minutiae.len())
            .finish()
    }
}

impl CompactProbe {
    /// The 3·n bytes of compact-card data.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.minutiae.len() * 3);
        for m in &self.minutiae {
            out.extend_from_slice(&[m.x, m.y, (kind_bits(m.kind) << 6) | (m.angle & 0x3F)]);
        }
        out
    }

    /// The VERIFY data field: `7F2E` { `81` compact-card minutiae } (ISO/IEC 7816-11 §8),
    /// BER-TLV lengths. 3n + 7 bytes for 43 ≤ n ≤ 84, so a short APDU holds at most 82
    /// minutiae.
    pub fn verify_data(&self) -> Vec<u8> {
        let data = self.to_bytes();
        let mut inner = vec![0x81];
        push_ber_len(&mut inner, data.len());
        inner.extend_from_slice(&data);
        let mut out = vec![0x7F, 0x2E];
        push_ber_len(&mut out, inner.len());
        out.extend_from_slice(&inner);
        out
    }
}

fn push_ber_len(out: &mut Vec<u8>, len: usize) {
    // Probes hold at most 255 minutiae (765 bytes), so two length bytes always suffice.
    let [hi, lo] = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    match (hi, lo) {
        (0, 0..=0x7F) => out.push(lo),
        (0, _) => out.extend_from_slice(&[0x81, lo]),
        _ => out.extend_from_slice(&[0x82, hi, lo]),
    }
}

/// Builds a compact-card probe for a card announcing `params`: keeps the minutiae that fit the
/// compact coordinate range (0–255 units of 0.1 mm, i.e. up to 25.5 mm from the origin), takes
/// the best `max_minutiae` by quality (ties: nearer the centre of mass first), quantises them
/// and sorts them as the card requires (on the quantised values, so the card sees a
/// consistent order). Fails with [`TemplateError::TooFewMinutiae`] below `min_minutiae`.
pub fn build_compact_probe(
    features: &FingerprintFeatures,
    params: &CardParameters,
) -> Result<CompactProbe, TemplateError> {
    let ppi = features.resolution_ppi;
    if ppi == 0 {
        return Err(TemplateError::BadField {
            field: "resolution",
        });
    }
    let usable: Vec<(&Minutia, CompactMinutia)> = features
        .minutiae
        .iter()
        .enumerate()
        .filter_map(|(i, m)| compact_from_minutia(m, ppi, i).ok().map(|c| (m, c)))
        .collect();
    let min = usize::from(params.min_minutiae);
    if usable.len() < min {
        return Err(TemplateError::TooFewMinutiae {
            found: usable.len(),
            min,
        });
    }
    let n = usable.len().max(1);
    let (sx, sy) = usable.iter().fold((0f64, 0f64), |(sx, sy), (m, _)| {
        (sx + f64::from(m.x), sy + f64::from(m.y))
    });
    #[allow(
        clippy::cast_precision_loss,
        reason = "n ≤ number of minutiae, exact in f64"
    )]
    let (cx, cy) = (sx / n as f64, sy / n as f64);
    let dist = |m: &Minutia| (f64::from(m.x) - cx).powi(2) + (f64::from(m.y) - cy).powi(2);
    let mut ranked = usable;
    ranked.sort_by(|a, b| {
        b.0.quality
            .cmp(&a.0.quality)
            .then_with(|| dist(a.0).total_cmp(&dist(b.0)))
    });
    ranked.truncate(usize::from(params.max_minutiae));
    let mut minutiae: Vec<CompactMinutia> = ranked.into_iter().map(|(_, c)| c).collect();
    sort_compact(&mut minutiae, params.direction, params.key);
    Ok(CompactProbe { minutiae })
}

/// Sorts compact minutiae in place as a card's ordering byte asks.
pub fn sort_compact(minutiae: &mut [CompactMinutia], direction: SortDirection, key: SortKey) {
    if direction == SortDirection::None {
        return;
    }
    let n = minutiae.len().max(1);
    let (sx, sy) = minutiae.iter().fold((0u32, 0u32), |(sx, sy), m| {
        (sx + u32::from(m.x), sy + u32::from(m.y))
    });
    #[allow(
        clippy::cast_precision_loss,
        reason = "sums of at most 255 bytes, exact in f64"
    )]
    let (cx, cy) = (f64::from(sx) / n as f64, f64::from(sy) / n as f64);
    let polar = |m: &CompactMinutia| {
        let (dx, dy) = (f64::from(m.x) - cx, f64::from(m.y) - cy);
        (dx * dx + dy * dy, dy.atan2(dx))
    };
    let cmp = |a: &CompactMinutia, b: &CompactMinutia| -> Ordering {
        match key {
            SortKey::XY => (a.x, a.y).cmp(&(b.x, b.y)),
            SortKey::YX => (a.y, a.x).cmp(&(b.y, b.x)),
            SortKey::Angle => (a.angle, a.x, a.y).cmp(&(b.angle, b.x, b.y)),
            SortKey::Polar => {
                let (pa, pb) = (polar(a), polar(b));
                pa.0.total_cmp(&pb.0).then(pa.1.total_cmp(&pb.1))
            }
        }
    };
    match direction {
        SortDirection::Descending => minutiae.sort_by(|a, b| cmp(b, a)),
        _ => minutiae.sort_by(cmp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(x: u16, y: u16, q: u8) -> Minutia {
        Minutia {
            x,
            y,
            angle: 0.5,
            kind: MinutiaKind::RidgeEnding,
            quality: q,
        }
    }

    #[test]
    fn compact_quantisation_at_500_ppi() {
        let c = compact_from_minutia(&m(197, 415, 0), 500, 0).unwrap();
        // 197 px = 10.008 mm → 100; 415 px = 21.08 mm → 211.
        assert_eq!((c.x, c.y), (100, 211));
        // 0.5 rad = 28.65° → 5.09 codes → 5.
        assert_eq!(c.angle, 5);
        assert_eq!(encode_compact(&[c]).unwrap(), vec![100, 211, 0x40 | 5]);
        let f = features_from_compact(&[c], 416, 480, 500);
        assert_eq!((f.minutiae[0].x, f.minutiae[0].y), (197, 415));
        assert!(matches!(
            compact_from_minutia(&m(503, 0, 0), 500, 3),
            Err(TemplateError::CoordinateOverflow { index: 3 })
        ));
    }

    #[test]
    fn normal_card_round_trip_and_rejections() {
        let n = normal_from_minutia(&m(415, 479, 0), 500, 0).unwrap();
        assert_eq!((n.x, n.y), (2108, 2433));
        let bytes = encode_normal(&[n]).unwrap();
        assert_eq!(bytes, vec![0x48, 0x3C, 0x09, 0x81, 20]);
        assert_eq!(decode_normal(&bytes).unwrap(), vec![n]);
        assert!(matches!(
            decode_normal(&bytes[..4]),
            Err(TemplateError::LengthMismatch { .. })
        ));
        assert_eq!(
            decode_compact(&[1, 2, 0xC0]),
            Err(TemplateError::BadMinutiaType { index: 0 })
        );
        assert!(matches!(
            decode_compact(&[0; 256 * 3]),
            Err(TemplateError::CountOverLimit { count: 256, .. })
        ));
        assert_eq!(decode_compact(&[]).unwrap(), vec![]);
    }

    #[test]
    fn algorithm_parameters_from_bit() {
        // 81 02 0C 3C (12..60 minutiae), 82 01 05 (ascending, y-x), 83 01 00.
        let p = CardParameters::from_algorithm_parameters(&[
            0x81, 2, 12, 60, 0x82, 1, 0x05, 0x83, 1, 0,
        ])
        .unwrap();
        assert_eq!((p.min_minutiae, p.max_minutiae), (12, 60));
        assert_eq!(
            (p.direction, p.key),
            (SortDirection::Ascending, SortKey::YX)
        );
        assert_eq!(p.feature_handling, Some(0));
        assert!(CardParameters::from_algorithm_parameters(&[0x82, 1, 0x03]).is_err());
        assert!(CardParameters::from_algorithm_parameters(&[0x82, 1, 0x11]).is_err());
        assert!(CardParameters::from_algorithm_parameters(&[0x81, 2, 9, 3]).is_err());
        assert!(CardParameters::from_algorithm_parameters(&[0x81, 5, 1]).is_err());
    }

    #[test]
    fn probe_selects_by_quality_and_orders() {
        let features = FingerprintFeatures {
            width: 416,
            height: 480,
            resolution_ppi: 500,
            minutiae: vec![
                m(10, 300, 20),
                m(200, 100, 90),
                m(100, 200, 80),
                m(300, 50, 10),
                m(600, 10, 100), // beyond the compact range: never selected
            ],
        };
        let params = CardParameters::new(2, 3, 0b0000_0001).unwrap(); // x-y ascending
        let probe = build_compact_probe(&features, &params).unwrap();
        let xs: Vec<u8> = probe.minutiae.iter().map(|c| c.x).collect();
        // Best three by quality: (200,100), (100,200), (10,300) → x ascending in 0.1 mm.
        assert_eq!(xs, vec![5, 51, 102]);
        let data = probe.verify_data();
        assert_eq!(data.len(), 3 * 3 + 5);
        assert_eq!(&data[..5], &[0x7F, 0x2E, 11, 0x81, 9]);
        let params = CardParameters::new(2, 3, 0b0000_0110).unwrap(); // y-x descending
        let probe = build_compact_probe(&features, &params).unwrap();
        let ys: Vec<u8> = probe.minutiae.iter().map(|c| c.y).collect();
        assert_eq!(ys, vec![152, 102, 51]);
        let params = CardParameters::new(5, 10, 0).unwrap();
        assert_eq!(
            build_compact_probe(&features, &params),
            Err(TemplateError::TooFewMinutiae { found: 4, min: 5 })
        );
        // 84 minutiae: 3·84 = 252 data bytes → 7F2E 81 FF 81 81 FC: 3n + 7.
        let many = CompactProbe {
            minutiae: vec![probe_minutia(); 84],
        };
        assert_eq!(many.verify_data().len(), 3 * 84 + 7);
    }

    fn probe_minutia() -> CompactMinutia {
        CompactMinutia {
            kind: MinutiaKind::Other,
            x: 1,
            y: 2,
            angle: 3,
        }
    }
}
