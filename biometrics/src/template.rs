//! Finger minutiae templates: ISO/IEC 19794-2 (2005 and 2011 records, compact-card and
//! normal-card formats) and ANSI/INCITS 378-2004.
//!
//! | module | reads | writes |
//! |---|---|---|
//! | [`iso19794_2_2005`] | ISO/IEC 19794-2:2005 record (`"FMR\0"`, `" 20\0"`) | yes |
//! | [`ansi378_2004`] | ANSI/INCITS 378-2004 record (same magic and version, CBEFF product id) | yes |
//! | [`iso19794_2_2011`] | ISO/IEC 19794-2:2011 record (`"FMR\0"`, `"030\0"`) | no (write 2005 for interoperability) |
//! | [`iso19794_2_card`] | compact-card (3 bytes per minutia) and normal-card (5 bytes) formats, and the match-on-card probe builder | yes |
//!
//! Decoders never panic: a malformed record is rejected with a [`TemplateError`] saying why
//! (bad magic or version, length mismatch, truncation, count over a limit, a minutia beyond the
//! image, a bad angle, a reserved type, malformed extended data). Records keep every field they
//! carry, extended data included (ridge counts and cores/deltas are parsed, unknown blocks are
//! kept as opaque bytes), so decoding then encoding gives back the same bytes.
//!
//! ## Quantisation rules (conversions to and from [`FingerprintFeatures`])
//!
//! | format | position | angle | resolution |
//! |---|---|---|---|
//! | ISO 19794-2:2005 / 2011 record | pixels | `round(θ / (360/256)°) mod 256` | pixels per centimetre, `round(ppi / 2.54)` (500 ppi = 197) |
//! | ANSI 378-2004 record | pixels | `round(θ / 2°) mod 180` | pixels per centimetre, `round(ppi / 2.54)` |
//! | compact card | `round(px · 254 / ppi)` in 0.1 mm, 0–255 | `round(θ / 5.625°) mod 64` | none (from the caller) |
//! | normal card | `round(px · 2540 / ppi)` in 0.01 mm, 0–16383 | `round(θ / (360/256)°) mod 256` | none (from the caller) |
//!
//! Decoding maps a code back to the centre of its bin (`code · unit`), positions back to the
//! nearest pixel (`round(units · ppi / 254)` or `/ 2540`) and resolution back with
//! `round(ppcm · 2.54)` (197 → 500 ppi). Angles are counter-clockwise from the positive x axis
//! in both the records and [`Minutia::angle`], so they map without reflection. Qualities above
//! 100 are written as 100.
//!
//! Templates are personal biometric data: the record types redact their `Debug`, and errors
//! carry indices and limits, never minutia values.

use core::fmt;

use crate::extract::{FingerprintFeatures, Minutia, MinutiaKind};

pub mod ansi378_2004;
pub mod iso19794_2_2005;
pub mod iso19794_2_2011;
pub mod iso19794_2_card;

/// Why a template was rejected or could not be written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The record does not start with the format identifier `"FMR\0"`.
    #[error("not a finger minutiae record: bad format identifier")]
    BadMagic,
    /// The version field names an edition this decoder does not read.
    #[error("unsupported record version {found:02x?}")]
    BadVersion {
        /// The four version bytes found.
        found: [u8; 4],
    },
    /// A length field disagrees with the data.
    #[error("{what}: length field says {declared} bytes, the data holds {actual}")]
    LengthMismatch {
        /// Which length field.
        what: &'static str,
        /// The length the field declares.
        declared: usize,
        /// The length available or consumed.
        actual: usize,
    },
    /// The data ends before a field it must hold.
    #[error("record truncated at byte {offset}: {needed} more bytes needed")]
    Truncated {
        /// Offset at which the missing field starts.
        offset: usize,
        /// Bytes missing.
        needed: usize,
    },
    /// A count exceeds what the format (or a card) allows.
    #[error("{what}: {count} exceeds the limit {limit}")]
    CountOverLimit {
        /// What is counted.
        what: &'static str,
        /// The count found or asked for.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A minutia lies outside the image the record declares.
    #[error("minutia {index} lies beyond the {width}x{height} image")]
    CoordinateBeyondImage {
        /// Index of the minutia in its view.
        index: usize,
        /// Declared image width.
        width: u16,
        /// Declared image height.
        height: u16,
    },
    /// A minutia position does not fit the format's coordinate field.
    #[error("minutia {index} does not fit the coordinate range of the format")]
    CoordinateOverflow {
        /// Index of the minutia.
        index: usize,
    },
    /// A minutia angle code is outside the format's range (ANSI 378: 0–179).
    #[error("minutia {index} has an angle code above {max}")]
    BadAngle {
        /// Index of the minutia in its view.
        index: usize,
        /// The largest valid code.
        max: u8,
    },
    /// A minutia uses the reserved type code `11`.
    #[error("minutia {index} has the reserved type code 11")]
    BadMinutiaType {
        /// Index of the minutia in its view.
        index: usize,
    },
    /// A minutia quality is above 100 (or 100/254/255 for the 2011 edition).
    #[error("minutia {index} has a quality above 100")]
    BadQuality {
        /// Index of the minutia in its view.
        index: usize,
    },
    /// A header field holds a value the standard does not allow.
    #[error("field {field} holds an invalid value")]
    BadField {
        /// The field's name as in the standard.
        field: &'static str,
    },
    /// An extended data block of a known type does not parse (19794-2:2005 §7.5).
    #[error("extended data block of type {block_type:#06x} is malformed")]
    BadExtendedData {
        /// The block's type code.
        block_type: u16,
    },
    /// Fewer usable minutiae than the card requires.
    #[error("{found} usable minutiae, the card needs at least {min}")]
    TooFewMinutiae {
        /// Minutiae available.
        found: usize,
        /// Minimum the card announced.
        min: usize,
    },
    /// A biometric information template (ISO/IEC 7816-11) does not parse.
    #[error("malformed biometric algorithm parameters (tag {tag:#04x})")]
    BadAlgorithmParameters {
        /// The tag at fault.
        tag: u8,
    },
}

/// Minutia type field (ISO/IEC 19794-2:2005 §7.4.1.1): `00` other, `01` ridge ending,
/// `10` bifurcation; `11` is reserved and rejected.
pub(crate) fn kind_from_bits(bits: u8, index: usize) -> Result<MinutiaKind, TemplateError> {
    match bits & 0b11 {
        0b00 => Ok(MinutiaKind::Other),
        0b01 => Ok(MinutiaKind::RidgeEnding),
        0b10 => Ok(MinutiaKind::Bifurcation),
        _ => Err(TemplateError::BadMinutiaType { index }),
    }
}

/// The two type bits of a minutia kind (ISO/IEC 19794-2:2005 §7.4.1.1).
pub(crate) fn kind_bits(kind: MinutiaKind) -> u8 {
    match kind {
        MinutiaKind::RidgeEnding => 0b01,
        MinutiaKind::Bifurcation => 0b10,
        _ => 0b00,
    }
}

/// One minutia as a record stores it: pixel position and the raw angle code of the format.
///
/// The angle unit depends on the record: 360/256° for ISO/IEC 19794-2, 2° for ANSI/INCITS 378.
/// Biometric data: `Debug` redacts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RecordMinutia {
    /// Ridge ending, bifurcation or other.
    pub kind: MinutiaKind,
    /// Column in pixels (14 bits).
    pub x: u16,
    /// Row in pixels (14 bits).
    pub y: u16,
    /// Angle code in the record's unit.
    pub angle: u8,
    /// Quality 0–100 (0 = not reported).
    pub quality: u8,
}

impl fmt::Debug for RecordMinutia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordMinutia").finish_non_exhaustive()
    }
}

/// One ridge count (extended data type `0x0001`, ISO/IEC 19794-2:2005 §7.5.2): ridges crossed
/// between two minutiae given by their indices in the view.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RidgeCount {
    /// Index of the first minutia.
    pub first: u8,
    /// Index of the second minutia.
    pub second: u8,
    /// Number of ridges crossed.
    pub count: u8,
}

/// Ridge count data (extended data type `0x0001`).
#[derive(Clone, PartialEq, Eq)]
pub struct RidgeCounts {
    /// Extraction method: 0 non-specific, 1 four-neighbour, 2 eight-neighbour.
    pub method: u8,
    /// The counts.
    pub counts: Vec<RidgeCount>,
}

/// A core or delta point (extended data type `0x0002`, ISO/IEC 19794-2:2005 §7.5.3).
#[derive(Clone, PartialEq, Eq)]
pub struct SingularPoint {
    /// Column in pixels (14 bits).
    pub x: u16,
    /// Row in pixels (14 bits).
    pub y: u16,
    /// Angle codes: one for a core, three for a delta, none when the record gives none.
    pub angles: Vec<u8>,
}

/// Core and delta data (extended data type `0x0002`).
#[derive(Clone, PartialEq, Eq)]
pub struct CoresDeltas {
    /// Whether the cores carry an angle (core information type `01`).
    pub core_angles: bool,
    /// The cores (at most 15).
    pub cores: Vec<SingularPoint>,
    /// Whether the deltas carry three angles (delta information type `01`).
    pub delta_angles: bool,
    /// The deltas (at most 63).
    pub deltas: Vec<SingularPoint>,
}

/// The extended data of one finger view (ISO/IEC 19794-2:2005 §7.5), in record order.
#[derive(Clone, PartialEq, Eq)]
pub enum ExtendedBlock {
    /// Type `0x0001`.
    RidgeCounts(RidgeCounts),
    /// Type `0x0002`.
    CoresDeltas(CoresDeltas),
    /// Any other type, kept as opaque bytes (vendor data).
    Other {
        /// The block's type code.
        block_type: u16,
        /// The data after the 4-byte block header.
        data: Vec<u8>,
    },
}

/// One finger view of a 2005 ISO or 2004 ANSI record (ISO/IEC 19794-2:2005 §7.3).
///
/// Biometric data: `Debug` shows the view's header and counts only.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerView {
    /// Finger position (ISO/IEC 19794-2:2005 Table 2): 0 unknown, 1–5 right thumb..little,
    /// 6–10 left thumb..little.
    pub finger_position: u8,
    /// View number (4 bits).
    pub view_number: u8,
    /// Impression type (4 bits): 0 live plain, 1 live rolled, 2 non-live plain, 3 non-live rolled.
    pub impression_type: u8,
    /// Finger quality 0–100.
    pub finger_quality: u8,
    /// The minutiae (at most 255).
    pub minutiae: Vec<RecordMinutia>,
    /// Extended data blocks.
    pub extended: Vec<ExtendedBlock>,
}

impl fmt::Debug for FingerView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FingerView")
            .field("finger_position", &self.finger_position)
            .field("view_number", &self.view_number)
            .field("impression_type", &self.impression_type)
            .field("minutiae", &self.minutiae.len())
            .field("extended_blocks", &self.extended.len())
            .finish()
    }
}

/// Hand-written, redacting `Debug` for the biometric types: the name and nothing else.
macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    )*};
}
redacted_debug!(RidgeCount, RidgeCounts, SingularPoint, CoresDeltas);

impl fmt::Debug for ExtendedBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RidgeCounts(r) => f.debug_tuple("RidgeCounts").field(&r.counts.len()).finish(),
            Self::CoresDeltas(c) => f
                .debug_struct("CoresDeltas")
                .field("cores", &c.cores.len())
                .field("deltas", &c.deltas.len())
                .finish(),
            Self::Other { block_type, data } => f
                .debug_struct("Other")
                .field("block_type", block_type)
                .field("len", &data.len())
                .finish(),
        }
    }
}

/// Reader over untrusted bytes: every access is checked and reports a [`TemplateError::Truncated`].
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], TemplateError> {
        let end = self.pos.checked_add(n).ok_or(TemplateError::Truncated {
            offset: self.pos,
            needed: n,
        })?;
        match self.data.get(self.pos..end) {
            Some(s) => {
                self.pos = end;
                Ok(s)
            }
            None => Err(TemplateError::Truncated {
                offset: self.pos,
                needed: end - self.data.len().min(end),
            }),
        }
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], TemplateError> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, TemplateError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, TemplateError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, TemplateError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
}

/// Which angle unit a record's minutiae use.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum AngleUnit {
    /// 360/256° (ISO/IEC 19794-2), codes 0–255.
    Iso,
    /// 2° (ANSI/INCITS 378), codes 0–179.
    Ansi,
}

/// Reads `count` 6-byte minutiae (ISO/IEC 19794-2:2005 §7.4.1), checking type, position,
/// angle range and quality.
pub(crate) fn read_minutiae(
    r: &mut Reader<'_>,
    count: usize,
    width: u16,
    height: u16,
    unit: AngleUnit,
    with_quality: bool,
    max_quality: fn(u8) -> bool,
) -> Result<Vec<RecordMinutia>, TemplateError> {
    let size = if with_quality { 6 } else { 5 };
    let needed = count.saturating_mul(size);
    if r.remaining() < needed {
        return Err(TemplateError::Truncated {
            offset: r.position(),
            needed: needed - r.remaining(),
        });
    }
    let mut out = Vec::with_capacity(count);
    for index in 0..count {
        let tx = r.u16()?;
        let ry = r.u16()?;
        let angle = r.u8()?;
        let quality = if with_quality { r.u8()? } else { 0 };
        // Bits 15–14 of the first word; the cast keeps 2 bits.
        let kind = kind_from_bits(u8::try_from(tx >> 14).unwrap_or(3), index)?;
        let x = tx & 0x3FFF;
        let y = ry & 0x3FFF;
        if x >= width || y >= height {
            return Err(TemplateError::CoordinateBeyondImage {
                index,
                width,
                height,
            });
        }
        if unit == AngleUnit::Ansi && angle > 179 {
            return Err(TemplateError::BadAngle { index, max: 179 });
        }
        if !max_quality(quality) {
            return Err(TemplateError::BadQuality { index });
        }
        out.push(RecordMinutia {
            kind,
            x,
            y,
            angle,
            quality,
        });
    }
    Ok(out)
}

/// Writes 6-byte minutiae (or 5-byte without quality), checking the same rules the reader does.
pub(crate) fn write_minutiae(
    out: &mut Vec<u8>,
    minutiae: &[RecordMinutia],
    width: u16,
    height: u16,
    unit: AngleUnit,
    with_quality: bool,
) -> Result<(), TemplateError> {
    for (index, m) in minutiae.iter().enumerate() {
        if m.x >= width || m.y >= height || m.x > 0x3FFF || m.y > 0x3FFF {
            return Err(TemplateError::CoordinateBeyondImage {
                index,
                width,
                height,
            });
        }
        if unit == AngleUnit::Ansi && m.angle > 179 {
            return Err(TemplateError::BadAngle { index, max: 179 });
        }
        if with_quality && m.quality > 100 {
            return Err(TemplateError::BadQuality { index });
        }
        let tx = (u16::from(kind_bits(m.kind)) << 14) | m.x;
        out.extend_from_slice(&tx.to_be_bytes());
        out.extend_from_slice(&m.y.to_be_bytes());
        out.push(m.angle);
        if with_quality {
            out.push(m.quality);
        }
    }
    Ok(())
}

/// Reads the extended data area of a view (ISO/IEC 19794-2:2005 §7.5): blocks of
/// type u16 · length u16 (including the 4-byte header) · data, exactly filling `length` bytes.
/// With `parse_known`, ridge counts (type 1) and cores/deltas (type 2) are parsed with the
/// 2005/2004 layouts; without it every block is kept opaque (the 2011 edition's layouts differ).
pub(crate) fn read_extended(
    r: &mut Reader<'_>,
    length: usize,
    minutiae: usize,
    parse_known: bool,
) -> Result<Vec<ExtendedBlock>, TemplateError> {
    let area = r.take(length)?;
    let mut er = Reader::new(area);
    let mut blocks = Vec::new();
    while er.remaining() > 0 {
        let block_type = er.u16()?;
        let block_len = usize::from(er.u16()?);
        if block_len < 4 || block_len - 4 > er.remaining() {
            return Err(TemplateError::LengthMismatch {
                what: "extended data block",
                declared: block_len,
                actual: er.remaining().saturating_add(4),
            });
        }
        let data = er.take(block_len - 4)?;
        blocks.push(match block_type {
            _ if !parse_known => ExtendedBlock::Other {
                block_type,
                data: data.to_vec(),
            },
            0x0001 => ExtendedBlock::RidgeCounts(read_ridge_counts(data, minutiae)?),
            0x0002 => ExtendedBlock::CoresDeltas(read_cores_deltas(data)?),
            0x0000 => return Err(TemplateError::BadExtendedData { block_type }),
            _ => ExtendedBlock::Other {
                block_type,
                data: data.to_vec(),
            },
        });
    }
    Ok(blocks)
}

fn read_ridge_counts(data: &[u8], minutiae: usize) -> Result<RidgeCounts, TemplateError> {
    let bad = TemplateError::BadExtendedData { block_type: 1 };
    let (&method, rest) = data.split_first().ok_or(bad.clone())?;
    if method > 2 || rest.len() % 3 != 0 {
        return Err(bad);
    }
    let mut counts = Vec::with_capacity(rest.len() / 3);
    for c in rest.chunks_exact(3) {
        if let [first, second, count] = *c {
            if usize::from(first) >= minutiae || usize::from(second) >= minutiae {
                return Err(bad);
            }
            counts.push(RidgeCount {
                first,
                second,
                count,
            });
        }
    }
    Ok(RidgeCounts { method, counts })
}

fn read_cores_deltas(data: &[u8]) -> Result<CoresDeltas, TemplateError> {
    let bad = TemplateError::BadExtendedData { block_type: 2 };
    let mut r = Reader::new(data);
    let core_info = r.u8().map_err(|_| bad.clone())?;
    let core_angles = match core_info >> 6 {
        0 => false,
        1 => true,
        _ => return Err(bad),
    };
    let ncores = usize::from(core_info & 0x0F);
    let mut cores = Vec::with_capacity(ncores);
    for _ in 0..ncores {
        cores.push(read_point(&mut r, if core_angles { 1 } else { 0 }).map_err(|_| bad.clone())?);
    }
    let delta_info = r.u8().map_err(|_| bad.clone())?;
    let delta_angles = match delta_info >> 6 {
        0 => false,
        1 => true,
        _ => return Err(bad),
    };
    let ndeltas = usize::from(delta_info & 0x3F);
    let mut deltas = Vec::with_capacity(ndeltas);
    for _ in 0..ndeltas {
        deltas.push(read_point(&mut r, if delta_angles { 3 } else { 0 }).map_err(|_| bad.clone())?);
    }
    if r.remaining() != 0 {
        return Err(bad);
    }
    Ok(CoresDeltas {
        core_angles,
        cores,
        delta_angles,
        deltas,
    })
}

fn read_point(r: &mut Reader<'_>, angles: usize) -> Result<SingularPoint, TemplateError> {
    let x = r.u16()?;
    let y = r.u16()?;
    if x >> 14 != 0 || y >> 14 != 0 {
        return Err(TemplateError::BadExtendedData { block_type: 2 });
    }
    let angles = r.take(angles)?.to_vec();
    Ok(SingularPoint { x, y, angles })
}

/// Writes the extended data blocks; returns an error when a block does not fit a u16 length or
/// breaks a rule the reader checks.
pub(crate) fn write_extended(
    out: &mut Vec<u8>,
    blocks: &[ExtendedBlock],
    minutiae: usize,
    parse_known: bool,
) -> Result<(), TemplateError> {
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    for b in blocks {
        let header = out.len();
        let block_type = match b {
            ExtendedBlock::RidgeCounts(_) => 1,
            ExtendedBlock::CoresDeltas(_) => 2,
            ExtendedBlock::Other { block_type, .. } => *block_type,
        };
        if block_type == 0
            || (parse_known && matches!(b, ExtendedBlock::Other { .. }) && block_type <= 2)
        {
            return Err(TemplateError::BadExtendedData { block_type });
        }
        out.extend_from_slice(&block_type.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        match b {
            ExtendedBlock::RidgeCounts(rc) => {
                if rc.method > 2 {
                    return Err(TemplateError::BadExtendedData { block_type });
                }
                out.push(rc.method);
                for c in &rc.counts {
                    if usize::from(c.first) >= minutiae || usize::from(c.second) >= minutiae {
                        return Err(TemplateError::BadExtendedData { block_type });
                    }
                    out.extend_from_slice(&[c.first, c.second, c.count]);
                }
            }
            ExtendedBlock::CoresDeltas(cd) => {
                let bad = TemplateError::BadExtendedData { block_type };
                let nc = u8::try_from(cd.cores.len()).map_err(|_| bad.clone())?;
                let nd = u8::try_from(cd.deltas.len()).map_err(|_| bad.clone())?;
                if nc > 0x0F || nd > 0x3F {
                    return Err(bad);
                }
                out.push((u8::from(cd.core_angles) << 6) | nc);
                write_points(out, &cd.cores, if cd.core_angles { 1 } else { 0 }, &bad)?;
                out.push((u8::from(cd.delta_angles) << 6) | nd);
                write_points(out, &cd.deltas, if cd.delta_angles { 3 } else { 0 }, &bad)?;
            }
            ExtendedBlock::Other { data, .. } => out.extend_from_slice(data),
        }
        let len = u16::try_from(out.len() - header).map_err(|_| TemplateError::CountOverLimit {
            what: "extended data block length",
            count: out.len() - header,
            limit: usize::from(u16::MAX),
        })?;
        patch(out, header + 2, &len.to_be_bytes());
    }
    let total = out.len() - start - 2;
    let len = u16::try_from(total).map_err(|_| TemplateError::CountOverLimit {
        what: "extended data length",
        count: total,
        limit: usize::from(u16::MAX),
    })?;
    patch(out, start, &len.to_be_bytes());
    Ok(())
}

fn write_points(
    out: &mut Vec<u8>,
    points: &[SingularPoint],
    angles: usize,
    bad: &TemplateError,
) -> Result<(), TemplateError> {
    for p in points {
        if p.x > 0x3FFF || p.y > 0x3FFF || p.angles.len() != angles {
            return Err(bad.clone());
        }
        out.extend_from_slice(&p.x.to_be_bytes());
        out.extend_from_slice(&p.y.to_be_bytes());
        out.extend_from_slice(&p.angles);
    }
    Ok(())
}

/// Overwrites `bytes.len()` bytes at `at` (a position the writer reserved earlier).
pub(crate) fn patch(out: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = out.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Pixels per centimetre from pixels per inch: `round(ppi / 2.54)` (500 ppi → 197).
pub fn ppi_to_ppcm(ppi: u16) -> u16 {
    // (ppi·100 + 127) / 254 rounds half up; the result is below ppi so it fits u16.
    u16::try_from((u32::from(ppi) * 100 + 127) / 254).unwrap_or(u16::MAX)
}

/// Pixels per inch from pixels per centimetre: `round(ppcm · 2.54)` (197 → 500 ppi).
pub fn ppcm_to_ppi(ppcm: u16) -> u16 {
    u16::try_from((u32::from(ppcm) * 254 + 50) / 100).unwrap_or(u16::MAX)
}

/// Quantises an angle in radians (counter-clockwise) to `steps` codes per turn:
/// `round(θ · steps / 2π) mod steps`.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the value is finite and in 0..=steps, checked above the cast"
)]
pub(crate) fn quantise_angle(angle: f32, steps: u16) -> u8 {
    let turns = f64::from(angle) / core::f64::consts::TAU;
    let code = (turns * f64::from(steps))
        .round()
        .rem_euclid(f64::from(steps));
    // rem_euclid keeps the code in 0..steps (≤ 256); NaN maps to 0.
    if code.is_finite() {
        let c = code as u32;
        u8::try_from(c % u32::from(steps)).unwrap_or(0)
    } else {
        0
    }
}

/// The angle in radians at the centre of code `code` of `steps` codes per turn.
#[allow(
    clippy::cast_possible_truncation,
    reason = "an angle below 2π, f32 precision is enough"
)]
pub(crate) fn angle_from_code(code: u8, steps: u16) -> f32 {
    let a = f64::from(code) * core::f64::consts::TAU / f64::from(steps);
    a as f32
}

/// Converts a feature minutia to its record form (pixel position, angle code).
pub(crate) fn record_minutia(m: &Minutia, unit: AngleUnit) -> RecordMinutia {
    RecordMinutia {
        kind: m.kind,
        x: m.x,
        y: m.y,
        angle: match unit {
            AngleUnit::Iso => quantise_angle(m.angle, 256),
            AngleUnit::Ansi => quantise_angle(m.angle, 180),
        },
        quality: m.quality.min(100),
    }
}

/// Converts a record minutia to a feature minutia.
pub(crate) fn feature_minutia(m: &RecordMinutia, unit: AngleUnit) -> Minutia {
    Minutia {
        x: m.x,
        y: m.y,
        angle: match unit {
            AngleUnit::Iso => angle_from_code(m.angle, 256),
            AngleUnit::Ansi => angle_from_code(m.angle, 180),
        },
        kind: m.kind,
        quality: m.quality,
    }
}

/// Builds the single view the conversions from [`FingerprintFeatures`] write.
pub(crate) fn view_from_features(
    features: &FingerprintFeatures,
    unit: AngleUnit,
    finger_position: u8,
) -> Result<FingerView, TemplateError> {
    if features.minutiae.len() > 255 {
        return Err(TemplateError::CountOverLimit {
            what: "minutiae in a view",
            count: features.minutiae.len(),
            limit: 255,
        });
    }
    let minutiae = features
        .minutiae
        .iter()
        .map(|m| record_minutia(m, unit))
        .collect();
    Ok(FingerView {
        finger_position,
        view_number: 0,
        impression_type: 0,
        finger_quality: 0,
        minutiae,
        extended: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_conversions() {
        assert_eq!(ppi_to_ppcm(500), 197);
        assert_eq!(ppcm_to_ppi(197), 500);
        assert_eq!(ppi_to_ppcm(1000), 394);
        assert_eq!(ppcm_to_ppi(394), 1001);
        assert_eq!(ppi_to_ppcm(0), 0);
    }

    #[test]
    fn angle_quantisation() {
        use core::f32::consts::PI;
        assert_eq!(quantise_angle(0.0, 256), 0);
        assert_eq!(quantise_angle(PI, 256), 128);
        assert_eq!(quantise_angle(2.0 * PI - 0.001, 256), 0);
        assert_eq!(quantise_angle(-PI / 2.0, 256), 192);
        assert_eq!(quantise_angle(PI / 2.0, 180), 45);
        assert_eq!(quantise_angle(f32::NAN, 64), 0);
        assert!((angle_from_code(64, 256) - PI / 2.0).abs() < 1e-6);
    }

    #[test]
    fn reader_reports_truncation() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(
            r.u16(),
            Err(TemplateError::Truncated {
                offset: 2,
                needed: 1
            })
        );
    }

    #[test]
    fn extended_blocks_round_trip() {
        let blocks = vec![
            ExtendedBlock::RidgeCounts(RidgeCounts {
                method: 1,
                counts: vec![RidgeCount {
                    first: 0,
                    second: 1,
                    count: 7,
                }],
            }),
            ExtendedBlock::CoresDeltas(CoresDeltas {
                core_angles: true,
                cores: vec![SingularPoint {
                    x: 100,
                    y: 200,
                    angles: vec![12],
                }],
                delta_angles: false,
                deltas: vec![SingularPoint {
                    x: 10,
                    y: 20,
                    angles: vec![],
                }],
            }),
            ExtendedBlock::Other {
                block_type: 0x0103,
                data: vec![9, 9],
            },
        ];
        let mut out = Vec::new();
        write_extended(&mut out, &blocks, 2, true).unwrap();
        let len = usize::from(u16::from_be_bytes([out[0], out[1]]));
        assert_eq!(len, out.len() - 2);
        let mut r = Reader::new(&out[2..]);
        assert_eq!(read_extended(&mut r, len, 2, true).unwrap(), blocks);
        // A ridge count naming a minutia that does not exist is rejected, not misparsed.
        let mut r = Reader::new(&out[2..]);
        assert_eq!(
            read_extended(&mut r, len, 1, true),
            Err(TemplateError::BadExtendedData { block_type: 1 })
        );
    }
}
