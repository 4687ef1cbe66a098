//! ANSI/INCITS 378-2004 finger minutiae record (clause 6).
//!
//! Same magic (`"FMR\0"`) and version (`" 20\0"`) as ISO/IEC 19794-2:2005; differences: the
//! record length is 2 bytes, or `0000` followed by 4 bytes when the record exceeds 65,535
//! bytes; a 4-byte CBEFF product identifier (owner u16, type u16) follows it, so the header is
//! 26 bytes (30 with the long length); minutia angles are in units of 2° (codes 0–179). Views,
//! minutiae and extended data otherwise follow ISO/IEC 19794-2:2005 (core count in bits 3–0).

use core::fmt;

use super::iso19794_2_2005::{MAGIC, VERSION, read_views, write_views};
use super::{
    AngleUnit, FingerView, Reader, TemplateError, feature_minutia, patch, ppcm_to_ppi, ppi_to_ppcm,
    view_from_features,
};
use crate::extract::FingerprintFeatures;

/// A decoded ANSI/INCITS 378-2004 record. Minutia angle codes are in units of 2°.
///
/// Biometric data: `Debug` shows the header and counts only.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// CBEFF product identifier (§6.4.4): owner in the high 16 bits, type in the low 16 bits.
    pub product_id: u32,
    /// Capture equipment (§6.4.5): bits 15–12 compliance, bits 11–0 equipment id.
    pub capture_equipment: u16,
    /// Image width in pixels.
    pub width: u16,
    /// Image height in pixels.
    pub height: u16,
    /// Horizontal resolution in pixels per centimetre.
    pub x_resolution: u16,
    /// Vertical resolution in pixels per centimetre.
    pub y_resolution: u16,
    /// The finger views (at most 255).
    pub views: Vec<FingerView>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ansi378_2004::Record")
            .field("product_id", &self.product_id)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("x_resolution", &self.x_resolution)
            .field("views", &self.views)
            .finish()
    }
}

/// Decodes one record; the record length must match `data` exactly.
pub fn decode(data: &[u8]) -> Result<Record, TemplateError> {
    let mut r = Reader::new(data);
    if r.array::<4>()? != MAGIC {
        return Err(TemplateError::BadMagic);
    }
    let version = r.array::<4>()?;
    if version != VERSION {
        return Err(TemplateError::BadVersion { found: version });
    }
    let short = r.u16()?;
    let declared = if short == 0 {
        usize::try_from(r.u32()?).unwrap_or(usize::MAX)
    } else {
        usize::from(short)
    };
    if declared != data.len() {
        return Err(TemplateError::LengthMismatch {
            what: "record length",
            declared,
            actual: data.len(),
        });
    }
    let product_id = r.u32()?;
    let capture_equipment = r.u16()?;
    let width = r.u16()?;
    let height = r.u16()?;
    let x_resolution = r.u16()?;
    let y_resolution = r.u16()?;
    let nviews = r.u8()?;
    let _reserved = r.u8()?;
    let views = read_views(&mut r, nviews, width, height, AngleUnit::Ansi)?;
    if r.remaining() != 0 {
        return Err(TemplateError::LengthMismatch {
            what: "record length",
            declared,
            actual: r.position(),
        });
    }
    Ok(Record {
        product_id,
        capture_equipment,
        width,
        height,
        x_resolution,
        y_resolution,
        views,
    })
}

impl Record {
    /// Encodes the record, with the 2-byte length when the record fits 65,535 bytes and the
    /// 6-byte form otherwise.
    pub fn encode(&self) -> Result<Vec<u8>, TemplateError> {
        let nviews = u8::try_from(self.views.len()).map_err(|_| TemplateError::CountOverLimit {
            what: "finger views",
            count: self.views.len(),
            limit: 255,
        })?;
        let mut body = Vec::with_capacity(16 + 6 * 64);
        body.extend_from_slice(&self.product_id.to_be_bytes());
        for v in [
            self.capture_equipment,
            self.width,
            self.height,
            self.x_resolution,
            self.y_resolution,
        ] {
            body.extend_from_slice(&v.to_be_bytes());
        }
        body.extend_from_slice(&[nviews, 0]);
        write_views(
            &mut body,
            &self.views,
            self.width,
            self.height,
            AngleUnit::Ansi,
        )?;
        let mut out = Vec::with_capacity(14 + body.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION);
        let short_total = 10 + body.len();
        if let Ok(len) = u16::try_from(short_total) {
            out.extend_from_slice(&len.to_be_bytes());
        } else {
            let total =
                u32::try_from(short_total + 4).map_err(|_| TemplateError::CountOverLimit {
                    what: "record length",
                    count: short_total + 4,
                    limit: usize::try_from(u32::MAX).unwrap_or(usize::MAX),
                })?;
            out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            patch(&mut out, 10, &total.to_be_bytes());
        }
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// One view holding `features`, angles quantised to 2° (`round(θ / 2°) mod 180`).
    pub fn from_features(
        features: &FingerprintFeatures,
        finger_position: u8,
        product_id: u32,
    ) -> Result<Self, TemplateError> {
        let r = ppi_to_ppcm(features.resolution_ppi);
        Ok(Self {
            product_id,
            capture_equipment: 0,
            width: features.width,
            height: features.height,
            x_resolution: r,
            y_resolution: r,
            views: vec![view_from_features(
                features,
                AngleUnit::Ansi,
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
                .map(|m| feature_minutia(m, AngleUnit::Ansi))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{Minutia, MinutiaKind};

    fn features(n: usize) -> FingerprintFeatures {
        FingerprintFeatures {
            width: 416,
            height: 480,
            resolution_ppi: 500,
            minutiae: (0..n)
                .map(|i| Minutia {
                    x: u16::try_from(i % 400).unwrap(),
                    y: u16::try_from(i % 470).unwrap(),
                    angle: 1.0,
                    kind: MinutiaKind::Bifurcation,
                    quality: 50,
                })
                .collect(),
        }
    }

    #[test]
    fn header_is_26_bytes_and_angles_in_2_degrees() {
        let rec = Record::from_features(&features(2), 1, 0x0033_0001).unwrap();
        let bytes = rec.encode().unwrap();
        assert_eq!(bytes.len(), 26 + 6 + 12);
        assert_eq!(&bytes[8..10], &[0, 44]);
        assert_eq!(&bytes[10..14], &[0x00, 0x33, 0x00, 0x01]);
        // 1 rad = 57.3° → code 29 (58°).
        assert_eq!(bytes[26 + 4 + 4], 29);
        assert_eq!(decode(&bytes).unwrap(), rec);
    }

    #[test]
    fn long_length_form_round_trips() {
        let mut rec = Record::from_features(&features(255), 1, 0).unwrap();
        let view = rec.views[0].clone();
        rec.views = vec![view; 50]; // 50 · (6 + 1530) bytes > 65,535
        let bytes = rec.encode().unwrap();
        assert_eq!(&bytes[8..10], &[0, 0]);
        assert_eq!(bytes.len(), 30 + 50 * (6 + 6 * 255));
        assert_eq!(decode(&bytes).unwrap(), rec);
    }

    #[test]
    fn rejects_angle_above_179() {
        let mut bytes = Record::from_features(&features(1), 1, 0)
            .unwrap()
            .encode()
            .unwrap();
        bytes[26 + 4 + 4] = 180;
        assert_eq!(
            decode(&bytes),
            Err(TemplateError::BadAngle { index: 0, max: 179 })
        );
    }
}
