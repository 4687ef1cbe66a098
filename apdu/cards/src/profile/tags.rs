//! BER-TLV tags of the reference profiles, as numbers (the tag bytes read big-endian).
//!
//! Where ICAO 9303-10 (LDS 1.7, 4.7) or ISO/IEC 7816-6 has a data object with the same meaning
//! and a tag that is valid BER, its application-class tag is used (`5F2B` date of birth, `5F26`
//! date of issue, `5F35` sex, `5F40` portrait; the DG templates). ICAO's `5F0E`, `5F10`, `5F11`,
//! `5F19` encode tag numbers below 31 in two bytes, which ISO/IEC 7816-4 BER-TLV (and
//! [`shenas_apdu::Tlv`]) rejects as non-minimal: their meanings get private-class tags here. The
//! rest are private-class tags (`DF20` to `DF48`, tag numbers from 31 so that the two-byte form
//! is minimal) inside the data group templates, defined by these profiles. Text is UTF-8; dates are 8 ASCII digits
//! `YYYYMMDD`. The full table with formats is in `apdu/cards/PROFILES.md`.

use shenas_apdu::{Tag, TlvError};

/// A tag from one of the constants of this module (checked by unit tests).
pub fn tag(value: u32) -> Result<Tag, TlvError> {
    Tag::from_u32(value)
}

// ---- EF.DIR (ISO/IEC 7816-4, 12.2.3) ----

/// Application template.
pub const DIR_APPLICATION: u32 = 0x61;
/// Application identifier (AID).
pub const DIR_AID: u32 = 0x4F;
/// Application label.
pub const DIR_LABEL: u32 = 0x50;
/// Path.
pub const DIR_PATH: u32 = 0x51;

// ---- Card manager data, GET DATA P1-P2 ----

/// Issuer identification number (GlobalPlatform Card Specification 2.3, H.1).
pub const GET_DATA_ISSUER_ID: u16 = 0x0042;
/// Card image number: the card serial number (GlobalPlatform Card Specification 2.3, H.1).
pub const GET_DATA_CARD_SERIAL: u16 = 0x0045;
/// Chip version, two bytes major, minor (private class, these profiles).
pub const GET_DATA_CHIP_VERSION: u16 = 0xDF30;
/// Profile version, two bytes major, minor (private class, these profiles).
pub const GET_DATA_PROFILE_VERSION: u16 = 0xDF31;

// ---- Data group templates (ICAO 9303-10, 4.7, table 34 in style) ----

/// DG1 template, personal data (ICAO 9303-10: tag of DG1).
pub const DG1_TEMPLATE: u32 = 0x61;
/// DG2 template, portrait (ICAO 9303-10: tag of DG2).
pub const DG2_TEMPLATE: u32 = 0x75;
/// DG3 template, card and issue data (ICAO 9303-10: tag of DG12, additional document details).
pub const DG3_TEMPLATE: u32 = 0x6C;
/// DG4 template, residence data of the foreign-nationals card (ICAO 9303-10: tag of DG13,
/// optional details).
pub const DG4_TEMPLATE: u32 = 0x6D;
/// EF.SOD template: wraps the CMS ContentInfo of the document security object (ICAO 9303-10,
/// 4.6.2).
pub const SOD_TEMPLATE: u32 = 0x77;

// ---- DG1, personal data ----

/// Personal number: the national code (10 ASCII digits) on the national card, the FIDA
/// (12 ASCII digits) on the foreign-nationals card (the meaning of ICAO 9303-10 DG11 `5F10`).
pub const PERSONAL_NUMBER: u32 = 0xDF20;
/// Surname in Persian (UTF-8).
pub const SURNAME_FA: u32 = 0xDF21;
/// Given name in Persian (UTF-8).
pub const GIVEN_NAME_FA: u32 = 0xDF22;
/// Surname, Latin transliteration (ASCII letters, space, hyphen, apostrophe).
pub const SURNAME_LATIN: u32 = 0xDF23;
/// Given name, Latin transliteration.
pub const GIVEN_NAME_LATIN: u32 = 0xDF24;
/// Father's name in Persian (UTF-8); optional on the foreign-nationals card.
pub const FATHER_NAME_FA: u32 = 0xDF25;
/// Father's name, Latin transliteration; optional on the foreign-nationals card.
pub const FATHER_NAME_LATIN: u32 = 0xDF26;
/// Date of birth, Gregorian, `YYYYMMDD` (ICAO 9303-10 DG11 `5F2B`, full date of birth).
pub const BIRTH_DATE: u32 = 0x5F2B;
/// Date of birth, Solar Hijri (Jalali), `YYYYMMDD`; must be the same day as [`BIRTH_DATE`].
pub const BIRTH_DATE_JALALI: u32 = 0xDF27;
/// Place of birth (UTF-8) (the meaning of ICAO 9303-10 DG11 `5F11`).
pub const BIRTH_PLACE: u32 = 0xDF28;
/// Sex, one ASCII digit of ISO/IEC 5218: `1` male, `2` female (ISO/IEC 7816-6 `5F35`).
pub const SEX: u32 = 0x5F35;

// ---- DG2, portrait ----

/// The displayed portrait: a PNG or JPEG image (ICAO 9303-10 DG5 `5F40`, displayed portrait).
pub const PORTRAIT: u32 = 0x5F40;

// ---- DG3, card and issue data ----

/// Issuing authority (UTF-8) (the meaning of ICAO 9303-10 DG12 `5F19`).
pub const ISSUING_AUTHORITY: u32 = 0xDF35;
/// Date of issue, Gregorian, `YYYYMMDD` (ICAO 9303-10 DG12 `5F26`).
pub const ISSUE_DATE: u32 = 0x5F26;
/// Date of expiry, Gregorian, `YYYYMMDD`.
pub const EXPIRY_DATE: u32 = 0xDF36;
/// Card serial number, ASCII; the same as GET DATA [`GET_DATA_CARD_SERIAL`].
pub const CARD_SERIAL: u32 = 0xDF37;

// ---- DG4, residence data (foreign-nationals card) ----

/// Nationality, ISO 3166-1 alpha-3, 3 ASCII upper-case letters.
pub const NATIONALITY: u32 = 0xDF41;
/// Residence status, one byte (see `ResidenceStatus`).
pub const RESIDENCE_STATUS: u32 = 0xDF42;
/// The document the card replaces, one byte (see `DocumentType`).
pub const DOCUMENT_TYPE: u32 = 0xDF43;
/// Residence valid until, Gregorian, `YYYYMMDD`.
pub const RESIDENCE_VALID_UNTIL: u32 = 0xDF44;
/// Family group identifier, 1 to 16 ASCII digits.
pub const FAMILY_GROUP_ID: u32 = 0xDF45;
/// Relation to the head of the family group, one byte (see `FamilyRelation`).
pub const FAMILY_RELATION: u32 = 0xDF46;
/// Bank service (Bank Sepah account) enabled: one byte, `00` no, `01` yes.
pub const BANK_SERVICE: u32 = 0xDF47;
/// SIM service (linked SIM) enabled: one byte, `00` no, `01` yes.
pub const SIM_SERVICE: u32 = 0xDF48;

/// Every data object tag of the data groups, for table checks.
pub const ALL_DATA_OBJECT_TAGS: [u32; 25] = [
    PERSONAL_NUMBER,
    SURNAME_FA,
    GIVEN_NAME_FA,
    SURNAME_LATIN,
    GIVEN_NAME_LATIN,
    FATHER_NAME_FA,
    FATHER_NAME_LATIN,
    BIRTH_DATE,
    BIRTH_DATE_JALALI,
    BIRTH_PLACE,
    SEX,
    PORTRAIT,
    ISSUING_AUTHORITY,
    ISSUE_DATE,
    EXPIRY_DATE,
    CARD_SERIAL,
    NATIONALITY,
    RESIDENCE_STATUS,
    DOCUMENT_TYPE,
    RESIDENCE_VALID_UNTIL,
    FAMILY_GROUP_ID,
    FAMILY_RELATION,
    BANK_SERVICE,
    SIM_SERVICE,
    SOD_TEMPLATE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_is_valid_and_primitive_where_it_should_be() {
        for value in ALL_DATA_OBJECT_TAGS {
            let t = tag(value).expect("valid tag");
            assert_eq!(t.is_constructed(), value == SOD_TEMPLATE, "{value:X}");
        }
        for value in [
            DG1_TEMPLATE,
            DG2_TEMPLATE,
            DG3_TEMPLATE,
            DG4_TEMPLATE,
            DIR_APPLICATION,
        ] {
            assert!(tag(value).expect("valid").is_constructed());
        }
        for value in [DIR_AID, DIR_LABEL, DIR_PATH] {
            assert!(!tag(value).expect("valid").is_constructed());
        }
        let distinct: std::collections::BTreeSet<u32> = ALL_DATA_OBJECT_TAGS.into_iter().collect();
        assert_eq!(distinct.len(), ALL_DATA_OBJECT_TAGS.len());
    }
}
