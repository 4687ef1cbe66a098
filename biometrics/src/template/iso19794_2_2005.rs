//! ISO/IEC 19794-2:2005 finger minutiae record (clause 7).
//!
//! Layout (big-endian): general header of 24 bytes — `"FMR\0"` · `" 20\0"` · total length u32 ·
//! capture equipment u16 (bits 15–12 compliance, 11–0 device id) · width u16 · height u16 ·
//! x and y resolution u16 in pixels per centimetre · number of finger views u8 · reserved u8;
//! then per view (§7.3) finger position u8 · view number (bits 7–4) | impression type
//! (bits 3–0) · finger quality u8 · minutiae count u8 · 6-byte minutiae (§7.4) · extended data
//! length u16 · extended data (§7.5). One view without extended data: 30 + 6·N bytes.

use core::fmt;

use super::{
    AngleUnit, FingerView, Reader, TemplateError, feature_minutia, patch, ppcm_to_ppi, ppi_to_ppcm,
    read_extended, read_minutiae, view_from_features, write_extended, write_minutiae,
};
use crate::extract::FingerprintFeatures;

/// Format identifier `"FMR\0"` (§7.2.1).
pub const MAGIC: [u8; 4] = *b"FMR\0";
/// Version `" 20\0"` (§7.2.2).
pub const VERSION: [u8; 4] = *b" 20\0";
/// Size of the general header (§7.2).
pub const HEADER_LEN: usize = 24;

/// A decoded ISO/IEC 19794-2:2005 record.
///
/// Biometric data: `Debug` shows the header and counts only.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// Capture equipment (§7.2.4): bits 15–12 compliance, bits 11–0 equipment id.
    pub capture_equipment: u16,
    /// Image width in pixels.
    pub width: u16,
    /// Image height in pixels.
    pub height: u16,
    /// Horizontal resolution in pixels per centimetre (500 ppi = 197).
    pub x_resolution: u16,
    /// Vertical resolution in pixels per centimetre.
    pub y_resolution: u16,
    /// The finger views (at most 255).
    pub views: Vec<FingerView>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("iso19794_2_2005::Record")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("x_resolution", &self.x_resolution)
            .field("y_resolution", &self.y_resolution)
            .field("views", &self.views)
            .finish()
    }
}

/// Decodes one record; the total length field must match `data` exactly.
pub fn decode(data: &[u8]) -> Result<Record, TemplateError> {
    let mut r = Reader::new(data);
    if r.array::<4>()? != MAGIC {
        return Err(TemplateError::BadMagic);
    }
    let version = r.array::<4>()?;
    if version != VERSION {
        return Err(TemplateError::BadVersion { found: version });
    }
    let declared = usize::try_from(r.u32()?).unwrap_or(usize::MAX);
    if declared != data.len() {
        return Err(TemplateError::LengthMismatch {
            what: "record length",
            declared,
            actual: data.len(),
        });
    }
    let capture_equipment = r.u16()?;
    let width = r.u16()?;
    let height = r.u16()?;
    let x_resolution = r.u16()?;
    let y_resolution = r.u16()?;
    let nviews = r.u8()?;
    let _reserved = r.u8()?;
    let views = read_views(&mut r, nviews, width, height, AngleUnit::Iso)?;
    if r.remaining() != 0 {
        return Err(TemplateError::LengthMismatch {
            what: "record length",
            declared,
            actual: r.position(),
        });
    }
    Ok(Record {
        capture_equipment,
        width,
        height,
        x_resolution,
        y_resolution,
        views,
    })
}

/// Reads `n` finger views (shared with ANSI/INCITS 378-2004, which differs in the angle unit).
pub(crate) fn read_views(
    r: &mut Reader<'_>,
    n: u8,
    width: u16,
    height: u16,
    unit: AngleUnit,
) -> Result<Vec<FingerView>, TemplateError> {
    let mut views = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let finger_position = r.u8()?;
        if finger_position > 10 {
            return Err(TemplateError::BadField {
                field: "finger position",
            });
        }
        let vi = r.u8()?;
        let finger_quality = r.u8()?;
        if finger_quality > 100 {
            return Err(TemplateError::BadField {
                field: "finger quality",
            });
        }
        let count = usize::from(r.u8()?);
        let minutiae = read_minutiae(r, count, width, height, unit, true, |q| q <= 100)?;
        let ext_len = usize::from(r.u16()?);
        let extended = read_extended(r, ext_len, count, true)?;
        views.push(FingerView {
            finger_position,
            view_number: vi >> 4,
            impression_type: vi & 0x0F,
            finger_quality,
            minutiae,
            extended,
        });
    }
    Ok(views)
}

/// Writes the finger views (shared with ANSI/INCITS 378-2004).
pub(crate) fn write_views(
    out: &mut Vec<u8>,
    views: &[FingerView],
    width: u16,
    height: u16,
    unit: AngleUnit,
) -> Result<(), TemplateError> {
    for v in views {
        if v.finger_position > 10 {
            return Err(TemplateError::BadField {
                field: "finger position",
            });
        }
        if v.view_number > 0x0F || v.impression_type > 0x0F {
            return Err(TemplateError::BadField {
                field: "view number / impression type",
            });
        }
        if v.finger_quality > 100 {
            return Err(TemplateError::BadField {
                field: "finger quality",
            });
        }
        let count = u8::try_from(v.minutiae.len()).map_err(|_| TemplateError::CountOverLimit {
            what: "minutiae in a view",
            count: v.minutiae.len(),
            limit: 255,
        })?;
        out.extend_from_slice(&[
            v.finger_position,
            (v.view_number << 4) | v.impression_type,
            v.finger_quality,
            count,
        ]);
        write_minutiae(out, &v.minutiae, width, height, unit, true)?;
        write_extended(out, &v.extended, v.minutiae.len(), true)?;
    }
    Ok(())
}

impl Record {
    /// Encodes the record (§7); fails on a value the format cannot hold.
    pub fn encode(&self) -> Result<Vec<u8>, TemplateError> {
        let nviews = u8::try_from(self.views.len()).map_err(|_| TemplateError::CountOverLimit {
            what: "finger views",
            count: self.views.len(),
            limit: 255,
        })?;
        let minutiae: usize = self.views.iter().map(|v| v.minutiae.len()).sum();
        let mut out = Vec::with_capacity(HEADER_LEN + 6 * self.views.len() + 6 * minutiae);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION);
        out.extend_from_slice(&[0; 4]);
        for v in [
            self.capture_equipment,
            self.width,
            self.height,
            self.x_resolution,
            self.y_resolution,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&[nviews, 0]);
        write_views(
            &mut out,
            &self.views,
            self.width,
            self.height,
            AngleUnit::Iso,
        )?;
        let total = u32::try_from(out.len()).map_err(|_| TemplateError::CountOverLimit {
            what: "record length",
            count: out.len(),
            limit: usize::try_from(u32::MAX).unwrap_or(usize::MAX),
        })?;
        patch(&mut out, 8, &total.to_be_bytes());
        Ok(out)
    }

    /// One view (finger position `finger_position`, 0 = unknown) holding `features`, angles
    /// quantised to 360/256°, resolution in pixels per centimetre (module docs of
    /// [`crate::template`]).
    pub fn from_features(
        features: &FingerprintFeatures,
        finger_position: u8,
    ) -> Result<Self, TemplateError> {
        let r = ppi_to_ppcm(features.resolution_ppi);
        Ok(Self {
            capture_equipment: 0,
            width: features.width,
            height: features.height,
            x_resolution: r,
            y_resolution: r,
            views: vec![view_from_features(
                features,
                AngleUnit::Iso,
                finger_position,
            )?],
        })
    }

    /// The features of view `view` (0 for the first), or `None` when there is no such view.
    pub fn to_features(&self, view: usize) -> Option<FingerprintFeatures> {
        let v = self.views.get(view)?;
        Some(FingerprintFeatures {
            width: self.width,
            height: self.height,
            resolution_ppi: ppcm_to_ppi(self.x_resolution),
            minutiae: v
                .minutiae
                .iter()
                .map(|m| feature_minutia(m, AngleUnit::Iso))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::MinutiaKind;
    use crate::template::RecordMinutia;

    fn sample() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"FMR\0 20\0");
        v.extend_from_slice(&(30u32 + 12).to_be_bytes());
        v.extend_from_slice(&[
            0x00, 0x00, 0x01, 0xA0, 0x01, 0xE0, 0x00, 0xC5, 0x00, 0xC5, 1, 0,
        ]);
        v.extend_from_slice(&[2, 0x00, 80, 2]);
        // Ridge ending at (100, 200), angle 64 (90°), quality 60.
        v.extend_from_slice(&[0x40, 100, 0x00, 200, 64, 60]);
        // Bifurcation at (415, 479), angle 255, quality 0.
        v.extend_from_slice(&[0x81, 0x9F, 0x01, 0xDF, 255, 0]);
        v.extend_from_slice(&[0, 0]);
        v
    }

    #[test]
    fn decodes_a_hand_made_record() {
        let rec = decode(&sample()).unwrap();
        assert_eq!((rec.width, rec.height, rec.x_resolution), (416, 480, 197));
        let v = &rec.views[0];
        assert_eq!((v.finger_position, v.finger_quality), (2, 80));
        assert_eq!(
            v.minutiae[0],
            RecordMinutia {
                kind: MinutiaKind::RidgeEnding,
                x: 100,
                y: 200,
                angle: 64,
                quality: 60
            }
        );
        assert_eq!(v.minutiae[1].kind, MinutiaKind::Bifurcation);
        assert_eq!((v.minutiae[1].x, v.minutiae[1].y), (415, 479));
        assert_eq!(rec.encode().unwrap(), sample());
        let f = rec.to_features(0).unwrap();
        assert_eq!(f.resolution_ppi, 500);
        assert!((f.minutiae[0].angle - core::f32::consts::FRAC_PI_2).abs() < 1e-6);
    }

    #[test]
    fn rejects_malformed_records() {
        let good = sample();
        let mut bad = good.clone();
        bad[0] = b'X';
        assert_eq!(decode(&bad), Err(TemplateError::BadMagic));
        let mut bad = good.clone();
        bad[5] = b'3';
        assert!(matches!(
            decode(&bad),
            Err(TemplateError::BadVersion { .. })
        ));
        assert!(matches!(
            decode(&good[..good.len() - 1]),
            Err(TemplateError::LengthMismatch { .. })
        ));
        let mut bad = good.clone();
        bad[27] = 3; // three minutiae announced, two present
        assert!(matches!(decode(&bad), Err(TemplateError::Truncated { .. })));
        let mut bad = good.clone();
        bad[34] = 0x81;
        bad[35] = 0xA0; // x = 416 on a 416-wide image
        assert!(matches!(
            decode(&bad),
            Err(TemplateError::CoordinateBeyondImage { index: 1, .. })
        ));
        let mut bad = good.clone();
        bad[28] = 0xC0; // reserved type 11
        assert_eq!(
            decode(&bad),
            Err(TemplateError::BadMinutiaType { index: 0 })
        );
        let mut bad = good.clone();
        bad[33] = 101;
        assert_eq!(decode(&bad), Err(TemplateError::BadQuality { index: 0 }));
        assert!(matches!(decode(&[]), Err(TemplateError::Truncated { .. })));
    }

    #[test]
    fn zero_and_255_minutiae() {
        for n in [0usize, 255] {
            let rec = Record {
                capture_equipment: 0,
                width: 500,
                height: 500,
                x_resolution: 197,
                y_resolution: 197,
                views: vec![FingerView {
                    finger_position: 0,
                    view_number: 0,
                    impression_type: 0,
                    finger_quality: 0,
                    minutiae: (0..n)
                        .map(|i| RecordMinutia {
                            kind: MinutiaKind::Other,
                            x: u16::try_from(i).unwrap(),
                            y: 3,
                            angle: 1,
                            quality: 0,
                        })
                        .collect(),
                    extended: vec![],
                }],
            };
            let bytes = rec.encode().unwrap();
            assert_eq!(bytes.len(), 30 + 6 * n);
            assert_eq!(decode(&bytes).unwrap(), rec);
        }
        let mut rec = decode(&sample()).unwrap();
        let m = rec.views[0].minutiae[0];
        rec.views[0].minutiae = vec![m; 256];
        assert!(matches!(
            rec.encode(),
            Err(TemplateError::CountOverLimit { count: 256, .. })
        ));
    }
}
