//! The national ID card reference profile (tables).
//!
//! | application | AID | DF |
//! |---|---|---|
//! | identity | [`IDENTITY_AID`] `F0 "SHENAS" 49 4E 01` | `3F00/5100` |
//! | PKI (ISO/IEC 7816-15) | [`pkcs15::PKCS15_AID`] | `3F00/5015` |
//! | match-on-card (ISO/IEC 7816-11) | [`MOC_AID`] `F0 "SHENAS" 4D 4E 01` | `3F00/5200` |
//!
//! The identity application holds DG1 personal data, DG2 portrait, DG3 card and issue data and
//! EF.SOD, all readable only under secure messaging after EN 14890-1 device authentication.
//! `apdu/cards/PROFILES.md` documents every file and data object.

use super::{
    Access, AppSpec, CARD_DATA_OBJECTS, DataGroupKind, DataGroupSpec, FileContent, FileSpec,
    Profile, ProfileId, SodDigest, Version, pkcs15, tags,
};

/// The identity application's DF name: `F0` (proprietary, unregistered RID), "SHENAS", `49`
/// ('I', identity), `4E` ('N', national card), `01` (version).
pub const IDENTITY_AID: &[u8] = &[0xF0, 0x53, 0x48, 0x45, 0x4E, 0x41, 0x53, 0x49, 0x4E, 0x01];
/// The match-on-card application's DF name: `F0` "SHENAS" `4D` ('M') `4E` ('N') `01`. Its
/// content (biometric information template, ISO/IEC 7816-11) is defined with the fingerprint
/// work; the tables here reserve the AID and DF.
pub const MOC_AID: &[u8] = &[0xF0, 0x53, 0x48, 0x45, 0x4E, 0x41, 0x53, 0x4D, 0x4E, 0x01];
/// The identity application's DF under the MF.
pub const IDENTITY_DF_FID: u16 = 0x5100;
/// The match-on-card application's DF under the MF.
pub const MOC_DF_FID: u16 = 0x5200;
/// The ATR profile marker (pre-issuing data): 'N', generation 1.
pub const ATR_MARKER: &[u8] = &[0x4E, 0x01];

/// DG1 personal data (ICAO 9303-10 EF.DG1 FID and SFI).
pub const DG1_FID: u16 = 0x0101;
/// DG2 portrait.
pub const DG2_FID: u16 = 0x0102;
/// DG3 card and issue data.
pub const DG3_FID: u16 = 0x0103;
/// EF.SOD (ICAO 9303-10: FID `011D`, SFI `1D`).
pub const SOD_FID: u16 = 0x011D;
/// EF.SOD's short EF identifier.
pub const SOD_SFI: u8 = 0x1D;

/// The data groups of the national card.
pub static DATA_GROUPS: [DataGroupSpec; 3] = [
    DataGroupSpec {
        number: 1,
        kind: DataGroupKind::PersonalData,
        fid: DG1_FID,
        sfi: 0x01,
        template: tags::DG1_TEMPLATE,
    },
    DataGroupSpec {
        number: 2,
        kind: DataGroupKind::Portrait,
        fid: DG2_FID,
        sfi: 0x02,
        template: tags::DG2_TEMPLATE,
    },
    DataGroupSpec {
        number: 3,
        kind: DataGroupKind::CardData,
        fid: DG3_FID,
        sfi: 0x03,
        template: tags::DG3_TEMPLATE,
    },
];

const fn data_group(name: &'static str, spec: &DataGroupSpec) -> FileSpec {
    FileSpec {
        name,
        fid: spec.fid,
        sfi: Some(spec.sfi),
        read: Access::SecureMessaging,
        update: Access::Never,
        content: FileContent::DataGroup(spec.number),
    }
}

/// EF.SOD of either profile.
pub(super) const fn sod_file() -> FileSpec {
    FileSpec {
        name: "EF.SOD",
        fid: SOD_FID,
        sfi: Some(SOD_SFI),
        read: Access::SecureMessaging,
        update: Access::Never,
        content: FileContent::Sod,
    }
}

/// The EFs of the identity application.
pub static IDENTITY_FILES: [FileSpec; 4] = [
    data_group("DG1", &DATA_GROUPS[0]),
    data_group("DG2", &DATA_GROUPS[1]),
    data_group("DG3", &DATA_GROUPS[2]),
    sod_file(),
];

/// The national ID card reference profile, version 1.0.
pub static PROFILE: Profile = Profile {
    id: ProfileId::NationalId,
    name: "Shenas national ID card",
    version: Version { major: 1, minor: 0 },
    chip_version: Version { major: 1, minor: 0 },
    atr_marker: ATR_MARKER,
    card_data: CARD_DATA_OBJECTS,
    identity: AppSpec {
        name: "identity",
        aid: IDENTITY_AID,
        df_fid: IDENTITY_DF_FID,
        label: "Shenas national identity",
        files: &IDENTITY_FILES,
    },
    data_groups: &DATA_GROUPS,
    pki: pkcs15::APP,
    match_on_card: Some(AppSpec {
        name: "match-on-card",
        aid: MOC_AID,
        df_fid: MOC_DF_FID,
        label: "Shenas match-on-card",
        files: &[],
    }),
    pins: &pkcs15::PINS,
    keys: &pkcs15::KEYS,
    algorithms: &pkcs15::ALGORITHMS,
    sod_digest: SodDigest::Sha256,
};
