//! Fingerprint image quality: a 0–100 score on the scale of NFIQ 2 (ISO/IEC 29794-4:2017;
//! higher is better, 0 unusable) with actionable feedback for the person at the scanner.
//!
//! The score is computed from measurable features of the extractor's block fields, the kind
//! NFIQ 2 builds on (its quality features: orientation certainty, local clarity, frequency
//! domain stability, foreground area, minutiae count and quality, contrast); it is a
//! transparent weighted combination, not NIST's trained model, so its values follow NFIQ 2's
//! scale only approximately (well-captured plain impressions land around 50–85).

use core::fmt;

use crate::extract::{self, ExtractError, Fields, FingerprintFeatures};
use crate::image::GrayImage;

/// What the person at the scanner should change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Feedback {
    /// No fingerprint was found on the image.
    NoFingerprint,
    /// Too little of the finger touched the scanner: press flatter, centre the finger.
    PartialContact,
    /// Light, thin, broken ridges: moisten the finger or press harder.
    TooDry,
    /// Dark, merged ridges: dry the finger or press more lightly.
    TooWet,
    /// Ridges and valleys hardly differ in gray level.
    LowContrast,
    /// The ridge pattern is not sharp (motion, dirt on the platen).
    Blurry,
    /// Too few minutiae for reliable matching.
    TooFewMinutiae,
}

/// The measured features behind a score.
#[derive(Clone, Copy, PartialEq)]
pub struct QualityFeatures {
    /// Foreground area in square millimetres.
    pub foreground_mm2: f32,
    /// Mean orientation certainty (coherence) over the foreground, `0..=1`.
    pub orientation_certainty: f32,
    /// Mean ridge clarity over the foreground, `0..=1`.
    pub ridge_clarity: f32,
    /// Ridge-frequency stability: 1 − coefficient of variation of measured periods, `0..=1`.
    pub frequency_stability: f32,
    /// Mean gray-level standard deviation over the foreground.
    pub contrast: f32,
    /// Mean gray level over the foreground.
    pub brightness: f32,
    /// Number of minutiae.
    pub minutiae: usize,
    /// Mean minutia quality, `0..=100`.
    pub minutiae_quality: f32,
}

impl fmt::Debug for QualityFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QualityFeatures")
            .field("foreground_mm2", &self.foreground_mm2)
            .field("orientation_certainty", &self.orientation_certainty)
            .field("ridge_clarity", &self.ridge_clarity)
            .field("frequency_stability", &self.frequency_stability)
            .field("contrast", &self.contrast)
            .field("brightness", &self.brightness)
            .field("minutiae", &self.minutiae)
            .finish_non_exhaustive()
    }
}

/// A quality assessment.
#[derive(Clone, Debug, PartialEq)]
pub struct Quality {
    /// 0–100, NFIQ 2 scale.
    pub score: u8,
    /// What to improve, most important first; empty for a good capture.
    pub feedback: Vec<Feedback>,
    /// The features the score was computed from.
    pub features: QualityFeatures,
}

/// Assesses an image (extracting its features on the way).
///
/// # Errors
/// [`ExtractError`] when the image cannot be processed.
pub fn assess(image: &GrayImage) -> Result<Quality, ExtractError> {
    let (features, fields) = extract::extract_with_fields(image)?;
    Ok(assess_extracted(&features, &fields))
}

fn clamp01(v: f32) -> f32 {
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[allow(clippy::cast_precision_loss)]
fn f(v: usize) -> f32 {
    v as f32
}

/// Assesses already extracted features and fields.
#[must_use]
pub fn assess_extracted(features: &FingerprintFeatures, fields: &Fields) -> Quality {
    let fg: Vec<usize> = fields
        .mask
        .iter()
        .enumerate()
        .filter_map(|(i, &m)| m.then_some(i))
        .collect();
    let n = fg.len();
    let mean_of = |v: &[f32]| -> f32 {
        if n == 0 {
            0.0
        } else {
            fg.iter()
                .map(|&i| v.get(i).copied().unwrap_or(0.0))
                .sum::<f32>()
                / f(n)
        }
    };
    // Blocks are BLOCK pixels a side at 500 ppi: 1 px = 0.0508 mm.
    let block_mm = f(extract::BLOCK) * 25.4 / 500.0;
    let foreground_mm2 = f(n) * block_mm * block_mm;
    let periods: Vec<f32> = fg
        .iter()
        .filter(|&&i| fields.period_measured.get(i).copied().unwrap_or(false))
        .filter_map(|&i| fields.period.get(i).copied())
        .collect();
    let frequency_stability = if periods.len() < 4 {
        0.0
    } else {
        let m = periods.iter().sum::<f32>() / f(periods.len());
        let sd = (periods.iter().map(|p| (p - m).powi(2)).sum::<f32>() / f(periods.len())).sqrt();
        clamp01(1.0 - sd / m.max(1.0) / 0.25)
    };
    let minutiae = features.minutiae.len();
    let minutiae_quality = if minutiae == 0 {
        0.0
    } else {
        features
            .minutiae
            .iter()
            .map(|m| f32::from(m.quality))
            .sum::<f32>()
            / f(minutiae)
    };
    let q = QualityFeatures {
        foreground_mm2,
        orientation_certainty: mean_of(&fields.coherence),
        ridge_clarity: mean_of(&fields.clarity),
        frequency_stability,
        contrast: mean_of(&fields.contrast),
        brightness: mean_of(&fields.mean),
        minutiae,
        minutiae_quality,
    };
    let area_s = clamp01(q.foreground_mm2 / 180.0);
    let oc_s = clamp01((q.orientation_certainty - 0.3) / 0.4);
    let clar_s = clamp01((q.ridge_clarity - 0.6) / 0.3);
    let con_s = clamp01(q.contrast / 35.0);
    let min_s = clamp01(f(minutiae) / 30.0) * (0.5 + 0.5 * clamp01(minutiae_quality / 70.0));
    let combined =
        0.25 * oc_s + 0.3 * clar_s + 0.1 * frequency_stability + 0.15 * con_s + 0.2 * min_s;
    let raw = 100.0 * area_s.powf(0.6) * combined;
    // Clamped to 0..=100 first.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let score = if raw.is_finite() {
        raw.round().clamp(0.0, 100.0) as u8
    } else {
        0
    };
    let mut feedback = Vec::new();
    if q.foreground_mm2 < 20.0 {
        feedback.push(Feedback::NoFingerprint);
    } else {
        if q.foreground_mm2 < 100.0 {
            feedback.push(Feedback::PartialContact);
        }
        if q.contrast < 12.0 {
            feedback.push(Feedback::LowContrast);
        }
        let unclear = q.ridge_clarity < 0.8 || q.orientation_certainty < 0.45;
        if unclear && q.brightness > 160.0 {
            feedback.push(Feedback::TooDry);
        } else if unclear && q.brightness < 90.0 {
            feedback.push(Feedback::TooWet);
        } else if unclear {
            feedback.push(Feedback::Blurry);
        }
        if minutiae < 12 {
            feedback.push(Feedback::TooFewMinutiae);
        }
    }
    Quality {
        score: if feedback.contains(&Feedback::NoFingerprint) {
            0
        } else {
            score
        },
        feedback,
        features: q,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::f32::consts::PI;

    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn pattern(
        w: usize,
        h: usize,
        amp: f32,
        mean: f32,
        noise: f32,
        patch: Option<(usize, usize, usize, usize)>,
    ) -> Vec<u8> {
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let inside = patch.is_none_or(|(x0, y0, x1, y1)| {
                    (x0 as f32..x1 as f32).contains(&x) && (y0 as f32..y1 as f32).contains(&y)
                });
                if !inside {
                    return 230;
                }
                let mut ph = 2.0 * PI * (x + 0.2 * y + 0.0005 * (x - 200.0) * (y - 240.0)) / 9.0;
                for &(mx, my, s) in &[
                    (120.0f32, 120.0f32, 1.0f32),
                    (300.0, 140.0, -1.0),
                    (200.0, 320.0, 1.0),
                    (110.0, 380.0, -1.0),
                    (310.0, 400.0, 1.0),
                ] {
                    ph += s * (y - my).atan2(x - mx);
                }
                let n = (((i * 2_654_435_761) % 101) as f32 - 50.0) / 50.0;
                (mean + amp * ph.cos() + noise * n).clamp(0.0, 255.0) as u8
            })
            .collect()
    }

    fn q(px: Vec<u8>) -> Quality {
        assess(&GrayImage::from_raw(416, 480, 500, px).unwrap()).unwrap()
    }

    #[test]
    fn clean_full_print_scores_well() {
        let good = q(pattern(416, 480, 80.0, 128.0, 5.0, None));
        assert!(good.score >= 50, "{good:?}");
        assert!(!good.feedback.contains(&Feedback::LowContrast));
        assert!(!good.feedback.contains(&Feedback::PartialContact));
    }

    #[test]
    fn blank_image_is_no_fingerprint() {
        let blank = q(vec![200; 416 * 480]);
        assert_eq!(blank.score, 0);
        assert_eq!(blank.feedback, vec![Feedback::NoFingerprint]);
    }

    #[test]
    fn small_contact_and_low_contrast_are_reported() {
        let good = q(pattern(416, 480, 80.0, 128.0, 5.0, None));
        let small = q(pattern(
            416,
            480,
            80.0,
            128.0,
            5.0,
            Some((150, 180, 260, 290)),
        ));
        assert!(
            small.feedback.contains(&Feedback::PartialContact),
            "{small:?}"
        );
        assert!(small.score < good.score);
        let faint = q(pattern(416, 480, 9.0, 128.0, 1.0, None));
        assert!(faint.feedback.contains(&Feedback::LowContrast), "{faint:?}");
        let noisy = q(pattern(416, 480, 40.0, 128.0, 90.0, None));
        assert!(
            noisy.score < good.score,
            "{} vs {}",
            noisy.score,
            good.score
        );
    }
}
