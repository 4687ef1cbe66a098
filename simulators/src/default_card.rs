//! The default simulated card: what `shenas-sim` serves and what tests read back.
//!
//! **No security**: every file is readable and writable by anyone. For tests and demos only.
//!
//! | File | FID | SFI | Size | Content |
//! |------|-----|-----|------|---------|
//! | MF | `3F00` | | | |
//! | EF.DIR | `2F00` | `1E` | 31 | [`ef_dir_content`]: `61 1D { 4F 08 `[`APP_AID`]`, 50 0B "Shenas demo", 51 04 3F00 5348 }` |
//! | EF.ATR/INFO | `2F01` | `1D` | 16 | [`crate::ef_atr_content`]: card capabilities `47`, extended length information `7F66` |
//! | DF (application) | `5348` | | | DF name [`APP_AID`] `F0 53 48 45 4E 41 53 01` (RID `F0…`: proprietary, unregistered; "SHENAS") |
//! | └ small EF | `0101` | `01` | 32 | [`SMALL_EF_CONTENT`]: ASCII "Shenas simulated card: EF 0101.\n" |
//! | └ medium EF | `0102` | `02` | 6 000 | [`medium_ef_content`] = [`pattern`]`(0x0102, 6000)` |
//! | └ big EF | `0103` | `03` | 40 000 | [`big_ef_content`] = [`pattern`]`(0x0103, 40000)`: offsets beyond 32 767 need READ BINARY `B1` |
//!
//! | GET DATA P1-P2 | Value |
//! |----------------|-------|
//! | `5F5A` | [`SERIAL_NUMBER`] "SHSIM001" |
//! | `0042` | [`ISSUER_ID`] "SHENAS" |
//!
//! Extended length is on (ATR and EF.ATR say so); [`crate::VirtualCard::with_extended_length`]
//! turns it off. The ATR is [`crate::simulated_atr`].

use crate::{Df, Ef, VirtualCard};

/// The application's DF name: `F0` (proprietary, unregistered RID) "SHENAS" `01`.
pub const APP_AID: [u8; 8] = [0xF0, 0x53, 0x48, 0x45, 0x4E, 0x41, 0x53, 0x01];
/// The application DF's FID ("SH").
pub const APP_DF_FID: u16 = 0x5348;
/// EF.DIR under the MF.
pub const EF_DIR_FID: u16 = 0x2F00;
/// EF.DIR's short EF identifier.
pub const EF_DIR_SFI: u8 = 0x1E;
/// The small EF (32 bytes) in the application DF.
pub const SMALL_EF_FID: u16 = 0x0101;
/// The small EF's short EF identifier.
pub const SMALL_EF_SFI: u8 = 0x01;
/// The medium EF (6 000 bytes) in the application DF.
pub const MEDIUM_EF_FID: u16 = 0x0102;
/// The medium EF's short EF identifier.
pub const MEDIUM_EF_SFI: u8 = 0x02;
/// The medium EF's size.
pub const MEDIUM_EF_LEN: usize = 6_000;
/// The big EF (40 000 bytes) in the application DF.
pub const BIG_EF_FID: u16 = 0x0103;
/// The big EF's short EF identifier.
pub const BIG_EF_SFI: u8 = 0x03;
/// The big EF's size (beyond the 32 767 offset limit of READ BINARY `B0`).
pub const BIG_EF_LEN: usize = 40_000;
/// The small EF's content.
pub const SMALL_EF_CONTENT: &[u8; 32] = b"Shenas simulated card: EF 0101.\n";
/// The label in EF.DIR.
pub const APP_LABEL: &[u8; 11] = b"Shenas demo";
/// GET DATA P1-P2 of the card serial number.
pub const SERIAL_NUMBER_TAG: u16 = 0x5F5A;
/// The card serial number.
pub const SERIAL_NUMBER: &[u8; 8] = b"SHSIM001";
/// GET DATA P1-P2 of the issuer identification (one-byte tag `42`).
pub const ISSUER_ID_TAG: u16 = 0x0042;
/// The issuer identification.
pub const ISSUER_ID: &[u8; 6] = b"SHENAS";

/// A deterministic byte pattern: byte `i` is the top byte of splitmix64(`seed` << 32 | `i`).
/// Every offset gives another byte sequence, so a read at a wrong offset shows.
pub fn pattern(seed: u16, len: usize) -> Vec<u8> {
    (0..len).map(|i| pattern_byte(seed, i)).collect()
}

fn pattern_byte(seed: u16, i: usize) -> u8 {
    let mut z = (u64::from(seed) << 32 | u64::try_from(i).unwrap_or(u64::MAX))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z.to_be_bytes()[0]
}

/// The medium EF's content.
pub fn medium_ef_content() -> Vec<u8> {
    pattern(MEDIUM_EF_FID, MEDIUM_EF_LEN)
}

/// The big EF's content.
pub fn big_ef_content() -> Vec<u8> {
    pattern(BIG_EF_FID, BIG_EF_LEN)
}

/// EF.DIR: one application template `61 { 4F AID, 50 label, 51 path }`.
pub fn ef_dir_content() -> Vec<u8> {
    let mut body = vec![0x4F, 0x08];
    body.extend_from_slice(&APP_AID);
    body.extend_from_slice(&[0x50, 0x0B]);
    body.extend_from_slice(APP_LABEL);
    body.extend_from_slice(&[0x51, 0x04, 0x3F, 0x00]);
    body.extend_from_slice(&APP_DF_FID.to_be_bytes());
    let mut out = vec![0x61, u8::try_from(body.len()).unwrap_or(0)];
    out.extend_from_slice(&body);
    out
}

/// The default card (see the module documentation), powered on, extended length on.
pub fn default_card() -> VirtualCard {
    let app = Df::new(APP_DF_FID)
        .with_name(APP_AID)
        .with_ef(Ef::new(SMALL_EF_FID, SMALL_EF_CONTENT.to_vec()).with_sfi(SMALL_EF_SFI))
        .with_ef(Ef::new(MEDIUM_EF_FID, medium_ef_content()).with_sfi(MEDIUM_EF_SFI))
        .with_ef(Ef::new(BIG_EF_FID, big_ef_content()).with_sfi(BIG_EF_SFI));
    let mf = Df::mf()
        .with_ef(Ef::new(EF_DIR_FID, ef_dir_content()).with_sfi(EF_DIR_SFI))
        .with_df(app);
    VirtualCard::new(mf)
        .with_data_object(SERIAL_NUMBER_TAG, SERIAL_NUMBER.to_vec())
        .with_data_object(ISSUER_ID_TAG, ISSUER_ID.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_match_the_table() {
        let card = default_card();
        assert_eq!(ef_dir_content().len(), 31);
        assert_eq!(ef_dir_content().get(..2), Some(&[0x61, 0x1D][..]));
        assert_eq!(card.ef_content(&[EF_DIR_FID]), Some(&ef_dir_content()[..]));
        assert_eq!(
            card.ef_content(&[crate::EF_ATR_FID]).map(<[u8]>::len),
            Some(16)
        );
        assert_eq!(
            card.ef_content(&[APP_DF_FID, SMALL_EF_FID]),
            Some(&SMALL_EF_CONTENT[..])
        );
        assert_eq!(
            card.ef_content(&[APP_DF_FID, MEDIUM_EF_FID])
                .map(<[u8]>::len),
            Some(6_000)
        );
        assert_eq!(
            card.ef_content(&[APP_DF_FID, BIG_EF_FID]),
            Some(&big_ef_content()[..])
        );
    }

    #[test]
    fn pattern_is_deterministic_and_offset_sensitive() {
        let a = pattern(1, 1000);
        assert_eq!(a, pattern(1, 1000));
        assert_ne!(a.get(..500), a.get(1..501));
        assert_ne!(pattern(1, 100), pattern(2, 100));
        // Not degenerate: many distinct values.
        let distinct: std::collections::BTreeSet<u8> = a.iter().copied().collect();
        assert!(distinct.len() > 200);
    }
}
