//! ISO/IEC 19794-2:2011 finger minutiae record (clause 7), read only.
//!
//! General header, 15 bytes: `"FMR\0"` · `"030\0"` · record length u32 · number of finger
//! representations u16 · device certification block flag u8 (0 or 1). Each representation
//! (§7.3): representation length u32 (including itself) · capture date and time (9 bytes:
//! year u16, month, day, hour, minute, second u8, millisecond u16) · capture device technology
//! u8 · vendor id u16 · device type u16 · quality blocks (count u8, each score u8, algorithm
//! vendor u16, algorithm u16) · certification blocks when the flag is set (count u8, each
//! authority u16, scheme u8) · finger position u8 · representation number u8 · x and y
//! spatial sampling rate u16 (pixels per centimetre) · impression type u8 · width u16 ·
//! height u16 · minutia field length (bits 7–4: 5 or 6) | ridge ending type (bits 3–0) ·
//! number of minutiae u8 · minutiae (5 or 6 bytes, as 2005 but quality optional; angle
//! 360/256°) · extended data block length u16 · extended data.
//!
//! Extended data blocks are split by their headers and kept opaque
//! ([`crate::template::ExtendedBlock::Other`]): their 2011 inner layouts are not parsed, so
//! they are never misread as the 2005 ones. Write the 2005 edition
//! ([`crate::template::iso19794_2_2005`]) for match-on-card and interoperability.

use core::fmt;

use super::iso19794_2_2005::MAGIC;
use super::{
    AngleUnit, ExtendedBlock, Reader, RecordMinutia, TemplateError, feature_minutia, ppcm_to_ppi,
    read_extended, read_minutiae,
};
use crate::extract::FingerprintFeatures;

/// Version `"030\0"` (§7.2.2).
pub const VERSION: [u8; 4] = *b"030\0";

/// One quality block (§7.3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QualityBlock {
    /// Quality score 0–100, or 255 when computing it failed.
    pub score: u8,
    /// Quality algorithm vendor id.
    pub vendor: u16,
    /// Quality algorithm id.
    pub algorithm: u16,
}

/// One certification block (§7.3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertificationBlock {
    /// Certification authority id.
    pub authority: u16,
    /// Certification scheme id.
    pub scheme: u8,
}

/// One finger representation (§7.3).
///
/// Biometric data: `Debug` shows the header and counts only.
#[derive(Clone, PartialEq, Eq)]
pub struct Representation {
    /// Capture date and time as recorded (year u16, month, day, hour, minute, second u8,
    /// millisecond u16; all `FF` when unknown).
    pub capture_time: [u8; 9],
    /// Capture device technology identifier.
    pub device_technology: u8,
    /// Capture device vendor identifier.
    pub device_vendor: u16,
    /// Capture device type identifier.
    pub device_type: u16,
    /// Quality blocks.
    pub quality: Vec<QualityBlock>,
    /// Certification blocks (present only when the header's flag is set).
    pub certifications: Vec<CertificationBlock>,
    /// Finger position (0–10, as 2005).
    pub finger_position: u8,
    /// Representation number.
    pub representation_number: u8,
    /// Horizontal resolution in pixels per centimetre.
    pub x_resolution: u16,
    /// Vertical resolution in pixels per centimetre.
    pub y_resolution: u16,
    /// Impression type.
    pub impression_type: u8,
    /// Image width in pixels.
    pub width: u16,
    /// Image height in pixels.
    pub height: u16,
    /// Minutia field length: 5 (no quality) or 6 bytes.
    pub minutia_size: u8,
    /// Ridge ending type (low nibble): 0 valley skeleton bifurcation point, 1 ridge skeleton end point.
    pub ridge_ending_type: u8,
    /// The minutiae (quality 0 when the field length is 5).
    pub minutiae: Vec<RecordMinutia>,
    /// Extended data blocks, kept opaque.
    pub extended: Vec<ExtendedBlock>,
}

impl fmt::Debug for Representation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("iso19794_2_2011::Representation")
            .field("finger_position", &self.finger_position)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("x_resolution", &self.x_resolution)
            .field("minutiae", &self.minutiae.len())
            .finish_non_exhaustive()
    }
}

/// A decoded ISO/IEC 19794-2:2011 record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Whether representations carry certification blocks.
    pub certification_flag: bool,
    /// The finger representations.
    pub representations: Vec<Representation>,
}

/// Decodes one record; the record length and every representation length must match exactly.
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
    let n = r.u16()?;
    let certification_flag = match r.u8()? {
        0 => false,
        1 => true,
        _ => {
            return Err(TemplateError::BadField {
                field: "certification flag",
            });
        }
    };
    let mut representations = Vec::with_capacity(usize::from(n).min(16));
    for _ in 0..n {
        let start = r.position();
        let len = usize::try_from(r.u32()?).unwrap_or(usize::MAX);
        if len < 4 || len - 4 > r.remaining() {
            return Err(TemplateError::LengthMismatch {
                what: "representation length",
                declared: len,
                actual: r.remaining().saturating_add(4),
            });
        }
        let body = r.take(len - 4)?;
        let rep = read_representation(body, certification_flag).map_err(|e| match e {
            // Offsets inside the representation are reported from the record's start.
            TemplateError::Truncated { offset, needed } => TemplateError::Truncated {
                offset: offset + start + 4,
                needed,
            },
            other => other,
        })?;
        representations.push(rep);
    }
    if r.remaining() != 0 {
        return Err(TemplateError::LengthMismatch {
            what: "record length",
            declared,
            actual: r.position(),
        });
    }
    Ok(Record {
        certification_flag,
        representations,
    })
}

fn read_representation(body: &[u8], certified: bool) -> Result<Representation, TemplateError> {
    let mut r = Reader::new(body);
    let capture_time = r.array::<9>()?;
    let device_technology = r.u8()?;
    let device_vendor = r.u16()?;
    let device_type = r.u16()?;
    let nq = r.u8()?;
    let mut quality = Vec::with_capacity(usize::from(nq));
    for _ in 0..nq {
        quality.push(QualityBlock {
            score: r.u8()?,
            vendor: r.u16()?,
            algorithm: r.u16()?,
        });
    }
    let mut certifications = Vec::new();
    if certified {
        let nc = r.u8()?;
        for _ in 0..nc {
            certifications.push(CertificationBlock {
                authority: r.u16()?,
                scheme: r.u8()?,
            });
        }
    }
    let finger_position = r.u8()?;
    if finger_position > 10 {
        return Err(TemplateError::BadField {
            field: "finger position",
        });
    }
    let representation_number = r.u8()?;
    let x_resolution = r.u16()?;
    let y_resolution = r.u16()?;
    let impression_type = r.u8()?;
    let width = r.u16()?;
    let height = r.u16()?;
    let field = r.u8()?;
    let minutia_size = field >> 4;
    if minutia_size != 5 && minutia_size != 6 {
        return Err(TemplateError::BadField {
            field: "minutia field length",
        });
    }
    let count = usize::from(r.u8()?);
    let minutiae = read_minutiae(
        &mut r,
        count,
        width,
        height,
        AngleUnit::Iso,
        minutia_size == 6,
        |q| q <= 100 || q >= 254,
    )?;
    let ext_len = usize::from(r.u16()?);
    let extended = read_extended(&mut r, ext_len, count, false)?;
    if r.remaining() != 0 {
        return Err(TemplateError::LengthMismatch {
            what: "representation length",
            declared: body.len() + 4,
            actual: r.position() + 4,
        });
    }
    Ok(Representation {
        capture_time,
        device_technology,
        device_vendor,
        device_type,
        quality,
        certifications,
        finger_position,
        representation_number,
        x_resolution,
        y_resolution,
        impression_type,
        width,
        height,
        minutia_size,
        ridge_ending_type: field & 0x0F,
        minutiae,
        extended,
    })
}

impl Representation {
    /// The representation's features (angles from 360/256° codes, resolution from pixels per
    /// centimetre; qualities 254/255 "not available" become 0).
    pub fn to_features(&self) -> FingerprintFeatures {
        FingerprintFeatures {
            width: self.width,
            height: self.height,
            resolution_ppi: ppcm_to_ppi(self.x_resolution),
            minutiae: self
                .minutiae
                .iter()
                .map(|m| {
                    let mut f = feature_minutia(m, AngleUnit::Iso);
                    if f.quality > 100 {
                        f.quality = 0;
                    }
                    f
                })
                .collect(),
        }
    }
}

/// Test support: writes a 2011 record (the crate reads 2011 but writes 2005; this writer exists
/// for tests and fuzz seeds and is not part of the stable API).
#[doc(hidden)]
pub fn encode_for_tests(record: &Record) -> Result<Vec<u8>, TemplateError> {
    let limit = |what, count| TemplateError::CountOverLimit {
        what,
        count,
        limit: 255,
    };
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION);
    out.extend_from_slice(&[0; 4]);
    let n = u16::try_from(record.representations.len())
        .map_err(|_| limit("representations", record.representations.len()))?;
    out.extend_from_slice(&n.to_be_bytes());
    out.push(u8::from(record.certification_flag));
    for rep in &record.representations {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&rep.capture_time);
        out.push(rep.device_technology);
        out.extend_from_slice(&rep.device_vendor.to_be_bytes());
        out.extend_from_slice(&rep.device_type.to_be_bytes());
        out.push(
            u8::try_from(rep.quality.len())
                .map_err(|_| limit("quality blocks", rep.quality.len()))?,
        );
        for q in &rep.quality {
            out.push(q.score);
            out.extend_from_slice(&q.vendor.to_be_bytes());
            out.extend_from_slice(&q.algorithm.to_be_bytes());
        }
        if record.certification_flag {
            out.push(
                u8::try_from(rep.certifications.len())
                    .map_err(|_| limit("certification blocks", rep.certifications.len()))?,
            );
            for c in &rep.certifications {
                out.extend_from_slice(&c.authority.to_be_bytes());
                out.push(c.scheme);
            }
        }
        out.push(rep.finger_position);
        out.push(rep.representation_number);
        for v in [rep.x_resolution, rep.y_resolution] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.push(rep.impression_type);
        for v in [rep.width, rep.height] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.push((rep.minutia_size << 4) | (rep.ridge_ending_type & 0x0F));
        out.push(
            u8::try_from(rep.minutiae.len()).map_err(|_| limit("minutiae", rep.minutiae.len()))?,
        );
        for m in &rep.minutiae {
            let tx = (u16::from(super::kind_bits(m.kind)) << 14) | (m.x & 0x3FFF);
            out.extend_from_slice(&tx.to_be_bytes());
            out.extend_from_slice(&(m.y & 0x3FFF).to_be_bytes());
            out.push(m.angle);
            if rep.minutia_size == 6 {
                out.push(m.quality);
            }
        }
        super::write_extended(&mut out, &rep.extended, rep.minutiae.len(), false)?;
        let len =
            u32::try_from(out.len() - start).map_err(|_| limit("representation length", 0))?;
        super::patch(&mut out, start, &len.to_be_bytes());
    }
    let len = u32::try_from(out.len()).map_err(|_| limit("record length", 0))?;
    super::patch(&mut out, 8, &len.to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::MinutiaKind;

    fn rep(minutia_size: u8) -> Representation {
        Representation {
            capture_time: [0xFF; 9],
            device_technology: 0,
            device_vendor: 0,
            device_type: 0,
            quality: vec![QualityBlock {
                score: 70,
                vendor: 0x0101,
                algorithm: 2,
            }],
            certifications: vec![],
            finger_position: 7,
            representation_number: 0,
            x_resolution: 197,
            y_resolution: 197,
            impression_type: 0,
            width: 416,
            height: 480,
            minutia_size,
            ridge_ending_type: 1,
            minutiae: vec![RecordMinutia {
                kind: MinutiaKind::RidgeEnding,
                x: 10,
                y: 20,
                angle: 128,
                quality: if minutia_size == 6 { 55 } else { 0 },
            }],
            extended: vec![ExtendedBlock::Other {
                block_type: 2,
                data: vec![1, 2, 3],
            }],
        }
    }

    #[test]
    fn reads_both_minutia_sizes() {
        for size in [5, 6] {
            let rec = Record {
                certification_flag: false,
                representations: vec![rep(size)],
            };
            let bytes = encode_for_tests(&rec).unwrap();
            // 15 header + 18 (length, time, device) + 1 + 5 quality + 13 + minutia + 2 + 7 extended.
            assert_eq!(
                bytes.len(),
                15 + 18 + 1 + 5 + 13 + usize::from(size) + 2 + 7
            );
            let back = decode(&bytes).unwrap();
            assert_eq!(back, rec);
            let f = back.representations[0].to_features();
            assert_eq!(f.resolution_ppi, 500);
            assert!((f.minutiae[0].angle - core::f32::consts::PI).abs() < 1e-6);
        }
    }

    #[test]
    fn rejects_2005_and_bad_lengths() {
        let rec = Record {
            certification_flag: true,
            representations: vec![rep(6), rep(5)],
        };
        let bytes = encode_for_tests(&rec).unwrap();
        assert_eq!(decode(&bytes).unwrap(), rec);
        let mut bad = bytes.clone();
        bad[4..8].copy_from_slice(b" 20\0");
        assert!(matches!(
            decode(&bad),
            Err(TemplateError::BadVersion { .. })
        ));
        let mut bad = bytes.clone();
        bad[18] = bad[18].wrapping_add(1); // first representation one byte longer
        assert!(matches!(
            decode(&bad),
            Err(TemplateError::LengthMismatch { .. })
        ));
        let mut bad = bytes;
        bad[14] = 2;
        assert_eq!(
            decode(&bad),
            Err(TemplateError::BadField {
                field: "certification flag"
            })
        );
    }
}
