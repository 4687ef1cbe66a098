//! The foreign-nationals card reference profile (tables).
//!
//! The same machinery as the national card ([`super::national`]): the same PKI application,
//! PINs, keys, algorithms, FIDs of DG1 to DG3 and EF.SOD, and the same access conditions; its
//! own identity AID and ATR marker; DG1 carries the 12-digit FIDA as the personal number, and
//! DG4 the residence data. No match-on-card application.
//!
//! | application | AID | DF |
//! |---|---|---|
//! | identity | [`IDENTITY_AID`] `F0 "SHENAS" 49 46 01` | `3F00/5100` |
//! | PKI (ISO/IEC 7816-15) | [`pkcs15::PKCS15_AID`] | `3F00/5015` |

use super::national::{DG1_FID, DG2_FID, DG3_FID, IDENTITY_DF_FID, sod_file};
use super::{
    Access, AppSpec, CARD_DATA_OBJECTS, DataGroupKind, DataGroupSpec, FileContent, FileSpec,
    Profile, ProfileId, SodDigest, Version, pkcs15, tags,
};

/// The identity application's DF name: `F0` (proprietary, unregistered RID), "SHENAS", `49`
/// ('I', identity), `46` ('F', foreign-nationals card), `01` (version).
pub const IDENTITY_AID: &[u8] = &[0xF0, 0x53, 0x48, 0x45, 0x4E, 0x41, 0x53, 0x49, 0x46, 0x01];
/// The ATR profile marker (pre-issuing data): 'F', generation 1.
pub const ATR_MARKER: &[u8] = &[0x46, 0x01];
/// DG4 residence data.
pub const DG4_FID: u16 = 0x0104;

/// The data groups of the foreign-nationals card.
pub static DATA_GROUPS: [DataGroupSpec; 4] = [
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
    DataGroupSpec {
        number: 4,
        kind: DataGroupKind::ResidenceData,
        fid: DG4_FID,
        sfi: 0x04,
        template: tags::DG4_TEMPLATE,
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

/// The EFs of the identity application.
pub static IDENTITY_FILES: [FileSpec; 5] = [
    data_group("DG1", &DATA_GROUPS[0]),
    data_group("DG2", &DATA_GROUPS[1]),
    data_group("DG3", &DATA_GROUPS[2]),
    data_group("DG4", &DATA_GROUPS[3]),
    sod_file(),
];

/// The foreign-nationals card reference profile, version 1.0.
pub static PROFILE: Profile = Profile {
    id: ProfileId::ForeignNational,
    name: "Shenas foreign-nationals card",
    version: Version { major: 1, minor: 0 },
    chip_version: Version { major: 1, minor: 0 },
    atr_marker: ATR_MARKER,
    card_data: CARD_DATA_OBJECTS,
    identity: AppSpec {
        name: "identity",
        aid: IDENTITY_AID,
        df_fid: IDENTITY_DF_FID,
        label: "Shenas foreign-national identity",
        files: &IDENTITY_FILES,
    },
    data_groups: &DATA_GROUPS,
    pki: pkcs15::APP,
    match_on_card: None,
    pins: &pkcs15::PINS,
    keys: &pkcs15::KEYS,
    algorithms: &pkcs15::ALGORITHMS,
    sod_digest: SodDigest::Sha256,
};
