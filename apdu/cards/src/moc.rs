//! Match-on-card objects of ISO/IEC 7816-11 as the Shenas national profile uses them: the
//! biometric information template group (`7F61`) a card answers to GET DATA, its parser and
//! encoder, the profile's reference qualifiers and algorithm parameters, and the outcome of a
//! biometric VERIFY.
//!
//! ```text
//! 7F61 BIT group
//!   02 count
//!   7F60 BIT (one per enrolled finger)
//!     83 reference data qualifier (VERIFY P2)
//!     A1 biometric header template
//!       81 type (08: fingerprint)
//!       82 subtype (01 right / 02 left | 04 thumb 08 index 0C middle 10 ring 14 little)
//!       87 format owner (0101: ISO/IEC JTC 1/SC 37)
//!       88 format type (ISO/IEC 19794-2 compact card; see FORMAT_TYPE_COMPACT_CARD)
//!       B1 algorithm parameters { 81 min,max minutiae · 82 ordering · 83 feature handling }
//! ```
//!
//! This module carries bytes only (no biometric computation): the probe itself is built with
//! `shenas_biometrics::template::iso19794_2_card` from the `B1` value of the chosen BIT. The
//! host flow (GET DATA, VERIFY, enrolment) is on [`crate::session::CardSession`].
//!
//! # Reference qualifiers of the Shenas profile
//!
//! The qualifier of the finger at ISO/IEC 19794-2 position `p` (1 right thumb … 5 right
//! little, 6 left thumb … 10 left little) is `0x90 + p` ([`qualifier_of_position`]). The BIT
//! group lists the enrolled fingers only; a host that enrols a finger the card does not list
//! uses that convention. Biometric references never share a qualifier with a PIN (`81`–`83`).

use shenas_apdu::TlvRef;

/// GET DATA tag of the biometric information template group (ISO/IEC 7816-11, 6.2).
pub const BIT_GROUP_TAG: u16 = 0x7F61;
/// The biometric information template.
pub const BIT_TAG: u32 = 0x7F60;
/// The biometric data template of VERIFY (`7F2E`), holding `81` compact-card minutiae.
pub const BDT_TAG: u32 = 0x7F2E;
/// Biometric type of a fingerprint (ISO/IEC 7816-11 / CBEFF).
pub const TYPE_FINGERPRINT: u8 = 0x08;
/// Format owner ISO/IEC JTC 1/SC 37.
pub const FORMAT_OWNER_SC37: u16 = 0x0101;
/// Format type the Shenas profile announces for ISO/IEC 19794-2 compact-card minutiae.
///
/// Chosen for the Shenas profile and the simulated card; it was not checked against the
/// SC 37 format-type registry (no copy of it here). Hosts compare it with what the card
/// announces and refuse other formats.
pub const FORMAT_TYPE_COMPACT_CARD: u16 = 0x0004;
/// Tries of a biometric reference on a fresh card.
pub const MAX_TRIES: u8 = 5;
/// Fewest minutiae the Shenas profile's card accepts in a probe or a reference.
pub const MIN_MINUTIAE: u8 = 12;
/// Most minutiae the Shenas profile's card accepts (60: the VERIFY data fits a short APDU).
pub const MAX_MINUTIAE: u8 = 60;
/// Ordering byte of the Shenas profile: x then y, ascending (`82` bits 4–2 `000`, 1–0 `01`).
pub const ORDERING: u8 = 0x01;
/// The `B1` value the Shenas profile's card announces.
pub const ALGORITHM_PARAMETERS: [u8; 7] = [0x81, 2, MIN_MINUTIAE, MAX_MINUTIAE, 0x82, 1, ORDERING];

/// The reference qualifier of ISO/IEC 19794-2 finger position `position` (1–10).
pub const fn qualifier_of_position(position: u8) -> Option<u8> {
    if position >= 1 && position <= 10 {
        Some(0x90 + position)
    } else {
        None
    }
}

/// The finger position (1–10) of a Shenas reference qualifier.
pub const fn position_of_qualifier(qualifier: u8) -> Option<u8> {
    if qualifier > 0x90 && qualifier <= 0x9A {
        Some(qualifier - 0x90)
    } else {
        None
    }
}

/// The ISO/IEC 7816-11 subtype of finger position 1–10 (right 01 / left 02 | finger × 4).
pub const fn subtype_of_position(position: u8) -> Option<u8> {
    if position < 1 || position > 10 {
        return None;
    }
    let side = if position <= 5 { 0x01 } else { 0x02 };
    let finger = (position - 1) % 5 + 1;
    Some(side | (finger << 2))
}

/// The finger position 1–10 of a 7816-11 subtype, when it names one finger.
pub const fn position_of_subtype(subtype: u8) -> Option<u8> {
    let finger = subtype >> 2;
    if finger < 1 || finger > 5 || subtype & !0x1F != 0 {
        return None;
    }
    match subtype & 0x03 {
        0x01 => Some(finger),
        0x02 => Some(finger + 5),
        _ => None,
    }
}

/// One biometric information template (`7F60`) as a card announces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BiometricReference {
    /// The reference data qualifier (`83`): VERIFY's P2.
    pub qualifier: u8,
    /// Biometric type (`A1`/`81`); `08` for a fingerprint.
    pub biometric_type: Option<u8>,
    /// Subtype (`A1`/`82`): which finger.
    pub subtype: Option<u8>,
    /// Format owner (`A1`/`87`).
    pub format_owner: Option<u16>,
    /// Format type (`A1`/`88`).
    pub format_type: Option<u16>,
    /// The value of `A1`/`B1` (algorithm parameters), for
    /// `CardParameters::from_algorithm_parameters`.
    pub algorithm_parameters: Option<Vec<u8>>,
}

impl BiometricReference {
    /// The reference of a Shenas profile card for finger `position`, with the profile's format
    /// and parameters.
    pub fn shenas(position: u8) -> Option<Self> {
        Some(Self {
            qualifier: qualifier_of_position(position)?,
            biometric_type: Some(TYPE_FINGERPRINT),
            subtype: subtype_of_position(position),
            format_owner: Some(FORMAT_OWNER_SC37),
            format_type: Some(FORMAT_TYPE_COMPACT_CARD),
            algorithm_parameters: Some(ALGORITHM_PARAMETERS.to_vec()),
        })
    }

    /// The finger position (1–10) the subtype names.
    pub fn finger_position(&self) -> Option<u8> {
        self.subtype.and_then(position_of_subtype)
    }

    /// True when the card announces ISO/IEC 19794-2 compact-card minutiae of a fingerprint.
    pub fn is_compact_card_fingerprint(&self) -> bool {
        self.biometric_type.is_none_or(|t| t == TYPE_FINGERPRINT)
            && self.format_owner == Some(FORMAT_OWNER_SC37)
            && self.format_type == Some(FORMAT_TYPE_COMPACT_CARD)
    }
}

/// Why a BIT group does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BitError {
    /// Not BER-TLV, or not the `7F61` group.
    #[error("the biometric information template group is not well-formed BER-TLV")]
    Malformed,
    /// A BIT has no reference qualifier (`83`, one byte).
    #[error("a biometric information template has no reference qualifier")]
    NoQualifier,
    /// A data object of the header has the wrong length.
    #[error("biometric header object {0:02X} has the wrong length")]
    BadLength(u8),
    /// The count (`02`) differs from the number of BITs.
    #[error("the group announces {declared} templates and holds {actual}")]
    CountMismatch {
        /// The count announced.
        declared: usize,
        /// The BITs present.
        actual: usize,
    },
}

/// Appends one BER-TLV data object (tag bytes, definite length, value).
fn push_tlv(out: &mut Vec<u8>, tag: &[u8], value: &[u8]) {
    out.extend_from_slice(tag);
    let len = value.len();
    // Values here are at most a few hundred bytes; lengths above 65 535 are not produced.
    let [hi, lo] = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    match len {
        0..=0x7F => out.push(lo),
        0x80..=0xFF => out.extend_from_slice(&[0x81, lo]),
        _ => out.extend_from_slice(&[0x82, hi, lo]),
    }
    out.extend_from_slice(value);
}

/// Encodes a BIT group (`7F61` with its `02` count and one `7F60` per reference).
pub fn encode_bit_group(references: &[BiometricReference]) -> Vec<u8> {
    let mut group = Vec::new();
    push_tlv(
        &mut group,
        &[0x02],
        &[u8::try_from(references.len()).unwrap_or(u8::MAX)],
    );
    for r in references {
        let mut header = Vec::new();
        if let Some(t) = r.biometric_type {
            push_tlv(&mut header, &[0x81], &[t]);
        }
        if let Some(s) = r.subtype {
            push_tlv(&mut header, &[0x82], &[s]);
        }
        if let Some(o) = r.format_owner {
            push_tlv(&mut header, &[0x87], &o.to_be_bytes());
        }
        if let Some(t) = r.format_type {
            push_tlv(&mut header, &[0x88], &t.to_be_bytes());
        }
        if let Some(p) = &r.algorithm_parameters {
            push_tlv(&mut header, &[0xB1], p);
        }
        let mut bit = Vec::new();
        push_tlv(&mut bit, &[0x83], &[r.qualifier]);
        push_tlv(&mut bit, &[0xA1], &header);
        push_tlv(&mut group, &[0x7F, 0x60], &bit);
    }
    let mut out = Vec::new();
    push_tlv(&mut out, &BIT_GROUP_TAG.to_be_bytes(), &group);
    out
}

/// The VERIFY (and enrolment) data field: `7F2E` { `81` compact-card minutiae }.
pub fn verify_data(compact_minutiae: &[u8]) -> Vec<u8> {
    let mut inner = Vec::new();
    push_tlv(&mut inner, &[0x81], compact_minutiae);
    let mut out = Vec::new();
    push_tlv(&mut out, &[0x7F, 0x2E], &inner);
    out
}

/// Parses a BIT group: the `7F61` data object as GET DATA returns it (or its value, when a
/// card answers without the outer tag). Unknown data objects are skipped.
pub fn parse_bit_group(bytes: &[u8]) -> Result<Vec<BiometricReference>, BitError> {
    let value = match TlvRef::parse_one(bytes) {
        Ok((outer, rest))
            if outer.tag().to_u32() == u32::from(BIT_GROUP_TAG) && rest.is_empty() =>
        {
            outer.value()
        }
        _ => bytes,
    };
    let mut declared = None;
    let mut out = Vec::new();
    for object in TlvRef::iter(value) {
        let object = object.map_err(|_| BitError::Malformed)?;
        match object.tag().to_u32() {
            0x02 => {
                let [n] = object.value() else {
                    return Err(BitError::BadLength(0x02));
                };
                declared = Some(usize::from(*n));
            }
            BIT_TAG => out.push(parse_bit(object)?),
            _ => {}
        }
    }
    if let Some(declared) = declared
        && declared != out.len()
    {
        return Err(BitError::CountMismatch {
            declared,
            actual: out.len(),
        });
    }
    Ok(out)
}

fn parse_bit(bit: TlvRef<'_>) -> Result<BiometricReference, BitError> {
    let mut qualifier = None;
    let mut r = BiometricReference {
        qualifier: 0,
        biometric_type: None,
        subtype: None,
        format_owner: None,
        format_type: None,
        algorithm_parameters: None,
    };
    for object in bit.children().map_err(|_| BitError::Malformed)? {
        let object = object.map_err(|_| BitError::Malformed)?;
        match object.tag().to_u32() {
            0x83 => {
                let [q] = object.value() else {
                    return Err(BitError::NoQualifier);
                };
                qualifier = Some(*q);
            }
            0xA1 => parse_header(object, &mut r)?,
            _ => {}
        }
    }
    r.qualifier = qualifier.ok_or(BitError::NoQualifier)?;
    Ok(r)
}

fn parse_header(header: TlvRef<'_>, r: &mut BiometricReference) -> Result<(), BitError> {
    for object in header.children().map_err(|_| BitError::Malformed)? {
        let object = object.map_err(|_| BitError::Malformed)?;
        let value = object.value();
        match (object.tag().to_u32(), value) {
            (0x81, [t]) => r.biometric_type = Some(*t),
            (0x82, [s]) => r.subtype = Some(*s),
            (0x87, [a, b]) => r.format_owner = Some(u16::from_be_bytes([*a, *b])),
            (0x88, [a, b]) => r.format_type = Some(u16::from_be_bytes([*a, *b])),
            (0xB1, _) => r.algorithm_parameters = Some(value.to_vec()),
            (t @ (0x81 | 0x82 | 0x87 | 0x88), _) => {
                return Err(BitError::BadLength(u8::try_from(t).unwrap_or(0)));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The compact-card minutiae inside VERIFY data (`7F2E` { `81` … }), or why not: the data
/// objects are malformed or missing.
pub fn minutiae_of_verify_data(data: &[u8]) -> Option<&[u8]> {
    let (outer, rest) = TlvRef::parse_one(data).ok()?;
    if outer.tag().to_u32() != BDT_TAG || !rest.is_empty() {
        return None;
    }
    let mut found = None;
    for object in outer.children().ok()? {
        let object = object.ok()?;
        if object.tag().to_u32() == 0x81 {
            if found.is_some() {
                return None;
            }
            found = Some(object.value());
        }
    }
    found
}

/// The outcome of a biometric VERIFY (a value, not an error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BiometricOutcome {
    /// `9000`: the card matched the probe against its reference.
    Match,
    /// `63Cx`: no match; this many tries are left.
    NoMatch {
        /// Tries left before the reference blocks.
        tries_left: u8,
    },
    /// `6983`: the reference is blocked (no comparison was made).
    Blocked,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_subtypes_and_qualifiers() {
        assert_eq!(subtype_of_position(2), Some(0x09)); // right index
        assert_eq!(subtype_of_position(7), Some(0x0A)); // left index
        assert_eq!(subtype_of_position(1), Some(0x05));
        assert_eq!(subtype_of_position(10), Some(0x16));
        assert_eq!(subtype_of_position(0), None);
        assert_eq!(subtype_of_position(11), None);
        for p in 1..=10 {
            assert_eq!(
                subtype_of_position(p).and_then(position_of_subtype),
                Some(p)
            );
            assert_eq!(
                qualifier_of_position(p).and_then(position_of_qualifier),
                Some(p)
            );
        }
        assert_eq!(position_of_subtype(0x08), None, "no side");
        assert_eq!(position_of_qualifier(0x81), None);
    }

    #[test]
    fn bit_group_round_trips() {
        let refs = vec![
            BiometricReference::shenas(2).unwrap(),
            BiometricReference::shenas(7).unwrap(),
        ];
        let bytes = encode_bit_group(&refs);
        assert_eq!(&bytes[..2], &[0x7F, 0x61]);
        assert_eq!(parse_bit_group(&bytes), Ok(refs.clone()));
        assert!(
            refs.iter()
                .all(BiometricReference::is_compact_card_fingerprint)
        );
        assert_eq!(refs[1].finger_position(), Some(7));
        // 7F60 { 83 92, A1 { … } } inside: qualifier 0x92.
        assert!(bytes.windows(3).any(|w| w == [0x83, 0x01, 0x92]));
        assert_eq!(parse_bit_group(&encode_bit_group(&[])), Ok(vec![]));
        assert_eq!(
            parse_bit_group(&[0x7F, 0x61, 0x05, 0x02]),
            Err(BitError::Malformed)
        );
        // Count 2, one BIT.
        let one = encode_bit_group(&refs[..1]);
        let mut wrong = one.clone();
        if let Some(i) = wrong.windows(2).position(|w| w == [0x02, 0x01]) {
            wrong[i + 2] = 2;
        }
        assert!(matches!(
            parse_bit_group(&wrong),
            Err(BitError::CountMismatch { .. })
        ));
    }

    #[test]
    fn verify_data_framing() {
        assert_eq!(
            minutiae_of_verify_data(&[0x7F, 0x2E, 0x05, 0x81, 0x03, 1, 2, 3]),
            Some(&[1u8, 2, 3][..])
        );
        assert_eq!(
            minutiae_of_verify_data(&[0x7F, 0x2E, 0x05, 0x81, 0x04, 1, 2, 3]),
            None
        );
        assert_eq!(minutiae_of_verify_data(&[0x7F, 0x2E, 0x00]), None);
        assert_eq!(minutiae_of_verify_data(&[0x81, 0x00]), None);
        assert_eq!(minutiae_of_verify_data(&[]), None);
        let data = verify_data(&[7; 180]);
        assert_eq!(&data[..7], &[0x7F, 0x2E, 0x81, 0xB7, 0x81, 0x81, 0xB4]);
        assert_eq!(minutiae_of_verify_data(&data), Some(&[7u8; 180][..]));
    }
}
