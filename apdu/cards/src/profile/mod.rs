//! Card profiles: what a card generation looks like from outside, as data.
//!
//! A [`Profile`] describes one card generation: its ATR marker, card manager data objects
//! (GET DATA), applications with their AIDs and files ([`AppSpec`], [`FileSpec`]), data groups and
//! the BER-TLV tags inside them ([`tags`]), PIN references and formats ([`PinSpec`]), keys and
//! algorithms for MSE SET ([`KeySpec`], [`AlgorithmSpec`]). The identifiers are tables (`const`
//! data in [`national`] and [`foreign`]); the behaviour that depends on them (ATR matching,
//! detection, PIN formatting, EF.DIR) is code here. The documented description of both reference
//! profiles is `apdu/cards/PROFILES.md`.
//!
//! A new card generation plugs in as another `Profile` value: a new [`ProfileId`] variant, a
//! `const` descriptor, and an entry in [`PROFILES`]. [`detect`] then finds it by its ATR marker or,
//! failing that, by selecting its identity application.
//!
//! | submodule | what |
//! |---|---|
//! | [`national`] | the national ID card reference profile (tables) |
//! | [`foreign`] | the foreign-nationals card reference profile (tables) |
//! | [`pkcs15`] | the ISO/IEC 7816-15 PKI application both profiles share (tables) |
//! | [`tags`] | BER-TLV tags of the data groups and card manager data |
//! | [`identity`] | the identity data model ([`identity::NationalIdentity`], [`identity::ForeignIdentity`]) and its data group codec |
//! | [`validate`] | national code check digit, FIDA, card serial, country codes |
//! | [`date`] | Gregorian and Jalali dates and the conversion between them |

pub mod date;
pub mod foreign;
pub mod identity;
pub mod national;
pub mod pkcs15;
pub mod tags;
pub mod validate;

use serde::{Deserialize, Serialize};
use shenas_apdu::{Atr, HistoricalBytes, Tlv};
use zeroize::Zeroizing;

/// The compact-TLV tag of card issuer's data in the historical bytes (ISO/IEC 7816-4, 12.1.1.5).
pub const ATR_ISSUER_DATA_TAG: u8 = 5;
/// The compact-TLV tag of pre-issuing data in the historical bytes (ISO/IEC 7816-4, 12.1.1.6),
/// where Shenas profiles put their profile marker.
pub const ATR_PRE_ISSUING_TAG: u8 = 6;
/// Card issuer's data of every Shenas reference profile: ASCII "SHENAS" (our own name, never a
/// real card's or another vendor's).
pub const ATR_ISSUER_DATA: &[u8; 6] = b"SHENAS";

/// Which profile a card follows. More variants come with more card generations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProfileId {
    /// The national ID card reference profile ([`national::PROFILE`]).
    NationalId,
    /// The foreign-nationals card reference profile ([`foreign::PROFILE`]).
    ForeignNational,
}

impl ProfileId {
    /// The descriptor of this profile.
    pub fn profile(self) -> &'static Profile {
        match self {
            Self::NationalId => &national::PROFILE,
            Self::ForeignNational => &foreign::PROFILE,
        }
    }

    /// A stable lower-case name (`national_id`, `foreign_national`), as in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NationalId => "national_id",
            Self::ForeignNational => "foreign_national",
        }
    }
}

impl std::fmt::Display for ProfileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every profile [`detect`] knows, in the order it tries them.
pub static PROFILES: [&Profile; 2] = [&national::PROFILE, &foreign::PROFILE];

/// A version `major.minor` (profile version, chip version), two bytes on the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Version {
    /// Major version: incompatible layout changes.
    pub major: u8,
    /// Minor version: compatible additions.
    pub minor: u8,
}

impl Version {
    /// The two bytes a card returns in GET DATA: major, minor.
    pub const fn to_bytes(self) -> [u8; 2] {
        [self.major, self.minor]
    }

    /// From the two bytes of a GET DATA answer; `None` unless exactly two bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [major, minor] => Some(Self {
                major: *major,
                minor: *minor,
            }),
            _ => None,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// An access condition of a file or a key (ISO/IEC 7816-4, 7.4.3 security attributes, in
/// their meaning rather than their compact encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Always allowed, in plain or under secure messaging.
    Always,
    /// Only under ISO/IEC 7816-4 secure messaging (clause 10) established by EN 14890-1 device
    /// authentication with symmetric keys in the current session; plain commands get `6982`.
    SecureMessaging,
    /// Only after the PIN with this reference was verified in the current session.
    Pin(PinKind),
    /// Only after the PIN was verified, and for one use: the verification is consumed by the
    /// operation (a signature per SIGN PIN entry).
    PinOnce(PinKind),
    /// Never (the card refuses with `6982` or `6985`).
    Never,
}

/// What a file holds, so both sides know how to build or read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileContent {
    /// EF.DIR (ISO/IEC 7816-4, 12.2.3): application templates `61`.
    Dir,
    /// EF.ATR/INFO (ISO/IEC 7816-4, 12.2.4): card capabilities and extended length information.
    AtrInfo,
    /// A data group of the identity application, by number (see [`DataGroupSpec`]).
    DataGroup(u8),
    /// EF.SOD: the document security object, `77` wrapping a CMS SignedData (ICAO 9303-10, 4.6.2).
    Sod,
    /// A PKCS#15 file (ISO/IEC 7816-15).
    Pkcs15(pkcs15::Pkcs15File),
}

/// An elementary file: its FID, short EF identifier and access conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileSpec {
    /// A short name for documentation and logs (`"DG1"`, `"EF.SOD"`, `"EF.CDF"`).
    pub name: &'static str,
    /// The file identifier (ISO/IEC 7816-4, 7.1.1).
    pub fid: u16,
    /// The short EF identifier (1 to 30), when the file has one (ISO/IEC 7816-4, 7.1.2).
    pub sfi: Option<u8>,
    /// Who may read it (READ BINARY).
    pub read: Access,
    /// Who may write it (UPDATE BINARY). Personalised files are never writable in use.
    pub update: Access,
    /// What it holds.
    pub content: FileContent,
}

/// An application: a DF with a DF name (AID) under the MF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AppSpec {
    /// A short name for documentation and logs.
    pub name: &'static str,
    /// The DF name, selectable with SELECT `00 A4 04 0C` (ISO/IEC 7816-4, 11.2.2).
    pub aid: &'static [u8],
    /// The DF's file identifier under the MF (path `3F00` FID).
    pub df_fid: u16,
    /// The label in EF.DIR (`50`).
    pub label: &'static str,
    /// The EFs in the DF.
    pub files: &'static [FileSpec],
}

impl AppSpec {
    /// The AID as a typed value (`None` only if a table entry were malformed; unit tests check
    /// every table).
    pub fn aid(&self) -> Option<shenas_apdu::Aid> {
        shenas_apdu::Aid::new(self.aid).ok()
    }

    /// The EF with this FID.
    pub fn file(&self, fid: u16) -> Option<&'static FileSpec> {
        self.files.iter().find(|f| f.fid == fid)
    }

    /// The EF holding `content`.
    pub fn file_for(&self, content: FileContent) -> Option<&'static FileSpec> {
        self.files.iter().find(|f| f.content == content)
    }

    /// The path from the MF to the DF: `3F00` then the DF's FID.
    pub const fn path(&self) -> [u16; 2] {
        [MF_FID, self.df_fid]
    }
}

/// The MF's file identifier (ISO/IEC 7816-4, 7.1.1).
pub const MF_FID: u16 = 0x3F00;
/// EF.DIR under the MF (ISO/IEC 7816-4, 12.2.3).
pub const EF_DIR_FID: u16 = 0x2F00;
/// EF.DIR's short EF identifier (ISO/IEC 7816-4, 12.2.3: SFI 30).
pub const EF_DIR_SFI: u8 = 0x1E;
/// EF.ATR/INFO under the MF (ISO/IEC 7816-4, 12.2.4).
pub const EF_ATR_FID: u16 = 0x2F01;
/// EF.ATR/INFO's short EF identifier (SFI 29).
pub const EF_ATR_SFI: u8 = 0x1D;

/// The EFs directly under the MF, the same in both reference profiles.
pub static MF_FILES: [FileSpec; 2] = [
    FileSpec {
        name: "EF.DIR",
        fid: EF_DIR_FID,
        sfi: Some(EF_DIR_SFI),
        read: Access::Always,
        update: Access::Never,
        content: FileContent::Dir,
    },
    FileSpec {
        name: "EF.ATR/INFO",
        fid: EF_ATR_FID,
        sfi: Some(EF_ATR_SFI),
        read: Access::Always,
        update: Access::Never,
        content: FileContent::AtrInfo,
    },
];

/// A data group of the identity application: number, file, and the template tag its content
/// starts with (ICAO 9303-10, 4.7, in style).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DataGroupSpec {
    /// The data group number, as in EF.SOD's hash list.
    pub number: u8,
    /// What it holds.
    pub kind: DataGroupKind,
    /// The FID of its EF.
    pub fid: u16,
    /// Its short EF identifier.
    pub sfi: u8,
    /// The tag of the constructed data object that is the whole file content.
    pub template: u32,
}

/// What a data group holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DataGroupKind {
    /// Personal data: identifier, names, birth, gender.
    PersonalData,
    /// The portrait image.
    Portrait,
    /// Card and issue data: issuing authority, issue and expiry dates, card serial.
    CardData,
    /// Residence data (foreign-nationals card): nationality, residence status, document type,
    /// validity, family group, bank and SIM service flags.
    ResidenceData,
}

/// Which PIN (or PUK).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PinKind {
    /// The ID PIN: authentication (INTERNAL AUTHENTICATE with the authentication key).
    IdPin,
    /// The SIGN PIN: on-card signing (PSO: COMPUTE DIGITAL SIGNATURE with the signing key).
    SignPin,
    /// The PUK: RESET RETRY COUNTER of the ID PIN or the SIGN PIN.
    Puk,
}

impl PinKind {
    /// A stable lower-case name (`id_pin`, `sign_pin`, `puk`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::IdPin => "id_pin",
            Self::SignPin => "sign_pin",
            Self::Puk => "puk",
        }
    }
}

/// A PIN reference and its format (ISO/IEC 7816-4, 11.5.6 VERIFY; ISO/IEC 9564-1 style
/// ASCII digits padded with `FF`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PinSpec {
    /// Which PIN.
    pub kind: PinKind,
    /// The reference data qualifier: P2 of VERIFY, CHANGE REFERENCE DATA and RESET RETRY
    /// COUNTER (`80` set: specific reference data, ISO/IEC 7816-4, 11.5.6, table 84).
    pub reference: u8,
    /// The fewest digits.
    pub min_digits: usize,
    /// The most digits.
    pub max_digits: usize,
    /// The bytes on the wire: the ASCII digits, then [`PinSpec::pad`] up to this length.
    pub padded_len: usize,
    /// The padding byte.
    pub pad: u8,
    /// Tries after a correct entry; the counter blocks the PIN at zero (`6983`).
    pub max_tries: u8,
    /// The label in the PKCS#15 AODF.
    pub label: &'static str,
}

/// Why a PIN does not fit its format. Carries no digits.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinFormatError {
    /// Fewer or more digits than the profile allows.
    #[error("a {kind} has {min} to {max} digits, this one has {len}")]
    Length {
        /// Which PIN.
        kind: &'static str,
        /// Digits given.
        len: usize,
        /// The fewest allowed.
        min: usize,
        /// The most allowed.
        max: usize,
    },
    /// A character other than the ASCII digits `0`–`9`.
    #[error("a {kind} has digits only")]
    NotDigits {
        /// Which PIN.
        kind: &'static str,
    },
}

impl PinSpec {
    /// Checks `digits` and formats them for the card: ASCII digits padded with [`PinSpec::pad`]
    /// to [`PinSpec::padded_len`] bytes. The result wipes itself on drop.
    pub fn format(&self, digits: &[u8]) -> Result<Zeroizing<Vec<u8>>, PinFormatError> {
        let kind = self.kind.as_str();
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(PinFormatError::NotDigits { kind });
        }
        if !(self.min_digits..=self.max_digits).contains(&digits.len()) {
            return Err(PinFormatError::Length {
                kind,
                len: digits.len(),
                min: self.min_digits,
                max: self.max_digits,
            });
        }
        let mut out = Zeroizing::new(Vec::with_capacity(self.padded_len));
        out.extend_from_slice(digits);
        out.resize(self.padded_len.max(digits.len()), self.pad);
        Ok(out)
    }

    /// The digits of a formatted PIN (the inverse of [`PinSpec::format`]), for the card side;
    /// `None` when `formatted` is not a well-formed PIN block of this format.
    pub fn digits<'a>(&self, formatted: &'a [u8]) -> Option<&'a [u8]> {
        if formatted.len() != self.padded_len {
            return None;
        }
        let len = formatted.iter().take_while(|b| b.is_ascii_digit()).count();
        let (digits, pad) = formatted.split_at_checked(len)?;
        (pad.iter().all(|b| *b == self.pad) && (self.min_digits..=self.max_digits).contains(&len))
            .then_some(digits)
    }
}

/// What a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyRole {
    /// Client authentication: INTERNAL AUTHENTICATE (ISO/IEC 7816-4, 11.5.2); certificate with
    /// extended key usage clientAuth.
    Authentication,
    /// Electronic signature: PSO: COMPUTE DIGITAL SIGNATURE (ISO/IEC 7816-8, 11); certificate
    /// with key usage nonRepudiation and no extended key usage.
    Signing,
}

/// The key pair type of an on-card key. A card carries one type per key, chosen at
/// personalisation (personas choose it per key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA over NIST P-256 (FIPS 186-4).
    EcP256,
    /// RSA with a 2048-bit modulus.
    Rsa2048,
}

/// An on-card private key: its reference for MSE SET, the PIN that guards it, and its
/// certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeySpec {
    /// What it is for.
    pub role: KeyRole,
    /// The private key reference: value of `84` in the MSE SET control reference template
    /// (ISO/IEC 7816-4, 11.5.11, table 79).
    pub reference: u8,
    /// The condition to use it.
    pub access: Access,
    /// The FID of its certificate EF in the PKI application.
    pub certificate_fid: u16,
    /// The PKCS#15 object identifier (`iD`) shared by the key and its certificate.
    pub pkcs15_id: u8,
    /// The label in the PrKDF and CDF.
    pub label: &'static str,
}

/// What the card expects as PSO: COMPUTE DIGITAL SIGNATURE or INTERNAL AUTHENTICATE input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureInput {
    /// The bare hash (SHA-256: 32 bytes, SHA-384: 48 bytes); a P-256 key uses the leftmost
    /// 256 bits of a longer hash (FIPS 186-4, 6.4).
    BareHash,
    /// The DER DigestInfo of the hash (PKCS#1 v2.2, RFC 8017, 9.2 step 2).
    DigestInfo,
}

/// What the card returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureOutput {
    /// ECDSA: the plain concatenation r ‖ s, each left-padded to the field size (BSI TR-03111,
    /// 5.2.1 plain format): 64 bytes for P-256.
    PlainRs,
    /// RSA: the signature as a big-endian integer of the modulus length (RFC 8017, 8.2.1):
    /// 256 bytes for RSA-2048.
    RsaPkcs1v15,
}

/// A signature algorithm as selected by MSE SET: the algorithm reference value of `80` in the
/// control reference template (ISO/IEC 7816-4, 11.5.11, table 79), proprietary to the profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AlgorithmSpec {
    /// The key type it needs.
    pub key: KeyAlgorithm,
    /// The value of `80` in MSE SET.
    pub reference: u8,
    /// The input the card expects.
    pub input: SignatureInput,
    /// The output the card returns.
    pub output: SignatureOutput,
    /// Input lengths the card accepts (bare hash lengths, or DigestInfo lengths).
    pub input_lengths: &'static [usize],
}

/// MSE SET P1-P2 for the digital signature template (DST, `B6`), before PSO: COMPUTE DIGITAL
/// SIGNATURE: `41 B6` (ISO/IEC 7816-4, 11.5.11: set for computation).
pub const MSE_SET_DST: [u8; 2] = [0x41, 0xB6];
/// MSE SET P1-P2 for the authentication template (AT, `A4`), before INTERNAL AUTHENTICATE:
/// `41 A4`.
pub const MSE_SET_AT: [u8; 2] = [0x41, 0xA4];
/// Tag of the algorithm reference in a control reference template.
pub const CRT_ALGORITHM_TAG: u8 = 0x80;
/// Tag of the private key reference in a control reference template.
pub const CRT_PRIVATE_KEY_TAG: u8 = 0x84;

/// The card manager data objects, read with GET DATA (`00 CA P1 P2`, ISO/IEC 7816-4, 11.4.3),
/// P1-P2 being the tag. Readable without any condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CardDataObjects {
    /// Issuer identification number (GlobalPlatform Card Specification 2.3, H.1, tag `42`).
    pub issuer_id: u16,
    /// The card serial number: card image number (GlobalPlatform Card Specification 2.3, H.1,
    /// tag `45`), ASCII.
    pub card_serial: u16,
    /// The chip (platform) version, two bytes major, minor (proprietary, private class).
    pub chip_version: u16,
    /// The profile version, two bytes major, minor (proprietary, private class).
    pub profile_version: u16,
}

/// The card manager data objects of both reference profiles.
pub const CARD_DATA_OBJECTS: CardDataObjects = CardDataObjects {
    issuer_id: tags::GET_DATA_ISSUER_ID,
    card_serial: tags::GET_DATA_CARD_SERIAL,
    chip_version: tags::GET_DATA_CHIP_VERSION,
    profile_version: tags::GET_DATA_PROFILE_VERSION,
};

/// The value of the issuer identification number object in the reference profiles.
pub const ISSUER_ID: &[u8; 6] = b"SHENAS";

/// The descriptor of a card generation: every identifier the host and a simulated card need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Which profile.
    pub id: ProfileId,
    /// A human-readable name.
    pub name: &'static str,
    /// The profile version (the card returns it in GET DATA).
    pub version: Version,
    /// The chip version of the reference card (the card returns it in GET DATA).
    pub chip_version: Version,
    /// The profile marker: pre-issuing data (compact-TLV tag 6) in the ATR's historical bytes,
    /// after card issuer's data "SHENAS".
    pub atr_marker: &'static [u8],
    /// Card manager data (GET DATA).
    pub card_data: CardDataObjects,
    /// The identity application.
    pub identity: AppSpec,
    /// The data groups of the identity application.
    pub data_groups: &'static [DataGroupSpec],
    /// The PKI application (ISO/IEC 7816-15).
    pub pki: AppSpec,
    /// The match-on-card application (ISO/IEC 7816-11), when the card has one.
    pub match_on_card: Option<AppSpec>,
    /// The PINs and the PUK.
    pub pins: &'static [PinSpec],
    /// The private keys.
    pub keys: &'static [KeySpec],
    /// The signature algorithms MSE SET accepts.
    pub algorithms: &'static [AlgorithmSpec],
    /// The digest algorithm of EF.SOD's data group hashes.
    pub sod_digest: SodDigest,
}

/// The digest algorithm of the data group hashes in EF.SOD (ICAO 9303-10, 4.6.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SodDigest {
    /// SHA-256 (OID 2.16.840.1.101.3.4.2.1).
    Sha256,
}

impl Profile {
    /// The PIN of this kind.
    pub fn pin(&self, kind: PinKind) -> Option<&'static PinSpec> {
        self.pins.iter().find(|p| p.kind == kind)
    }

    /// The PIN with this reference (P2 of VERIFY).
    pub fn pin_by_reference(&self, reference: u8) -> Option<&'static PinSpec> {
        self.pins.iter().find(|p| p.reference == reference)
    }

    /// The key with this role.
    pub fn key(&self, role: KeyRole) -> Option<&'static KeySpec> {
        self.keys.iter().find(|k| k.role == role)
    }

    /// The signature algorithm for this key type.
    pub fn algorithm(&self, key: KeyAlgorithm) -> Option<&'static AlgorithmSpec> {
        self.algorithms.iter().find(|a| a.key == key)
    }

    /// The data group with this number.
    pub fn data_group(&self, number: u8) -> Option<&'static DataGroupSpec> {
        self.data_groups.iter().find(|d| d.number == number)
    }

    /// The data group holding `kind`.
    pub fn data_group_of(&self, kind: DataGroupKind) -> Option<&'static DataGroupSpec> {
        self.data_groups.iter().find(|d| d.kind == kind)
    }

    /// The applications in EF.DIR order: identity, PKI, then match-on-card.
    pub fn applications(&self) -> impl Iterator<Item = &AppSpec> {
        [
            Some(&self.identity),
            Some(&self.pki),
            self.match_on_card.as_ref(),
        ]
        .into_iter()
        .flatten()
    }

    /// The historical bytes of this profile's ATR (ISO/IEC 7816-4, 12.1.1): category `80`, card
    /// issuer's data "SHENAS", pre-issuing data = [`Profile::atr_marker`], card capabilities
    /// `73 B4 21 xx` (selection by full DF name, path, FID; SFI; one-byte data unit; command
    /// chaining, and extended Lc/Le when `extended_length`).
    pub fn historical_bytes(&self, extended_length: bool) -> Vec<u8> {
        let mut out = vec![0x80];
        push_compact(&mut out, ATR_ISSUER_DATA_TAG, ATR_ISSUER_DATA);
        push_compact(&mut out, ATR_PRE_ISSUING_TAG, self.atr_marker);
        let functions = if extended_length { 0xC0 } else { 0x80 };
        push_compact(&mut out, 7, &[0xB4, 0x21, functions]);
        out
    }

    /// This profile's ATR: `3B 8F 01`, the [historical bytes](Profile::historical_bytes), TCK.
    ///
    /// T0 `8F`: TD1 present, 15 historical bytes; TD1 `01`: T=1 only, so TCK follows
    /// (ISO/IEC 7816-3, 8.2). Our own ATR: it imitates no vendor's card.
    pub fn atr(&self, extended_length: bool) -> Vec<u8> {
        let historical = self.historical_bytes(extended_length);
        let count = u8::try_from(historical.len()).unwrap_or(0x0F) & 0x0F;
        let mut atr = vec![0x3B, 0x80 | count, 0x01];
        atr.extend_from_slice(&historical);
        let tck = atr.iter().skip(1).fold(0u8, |acc, b| acc ^ b);
        atr.push(tck);
        atr
    }

    /// True when the historical bytes carry this profile's marker after card issuer's data
    /// "SHENAS".
    pub fn matches_historical_bytes(&self, historical: &HistoricalBytes) -> bool {
        historical.find(ATR_ISSUER_DATA_TAG) == Some(&ATR_ISSUER_DATA[..])
            && historical.find(ATR_PRE_ISSUING_TAG) == Some(self.atr_marker)
    }

    /// True when `atr` parses and carries this profile's marker.
    pub fn matches_atr(&self, atr: &[u8]) -> bool {
        Atr::parse(atr)
            .ok()
            .and_then(|atr| atr.historical().ok())
            .is_some_and(|h| self.matches_historical_bytes(&h))
    }

    /// EF.DIR's content (ISO/IEC 7816-4, 12.2.3; ISO/IEC 7816-15, 8.4): one application
    /// template `61 { 4F AID, 50 label, 51 path }` per application, the path being `3F00` and
    /// the DF's FID.
    ///
    /// Fails only if a table held an invalid tag (unit tests check every table).
    pub fn ef_dir(&self) -> Result<Vec<u8>, shenas_apdu::TlvError> {
        let mut out = Vec::new();
        for app in self.applications() {
            let mut path = MF_FID.to_be_bytes().to_vec();
            path.extend_from_slice(&app.df_fid.to_be_bytes());
            let children = [
                Tlv::new(tags::tag(tags::DIR_AID)?, app.aid),
                Tlv::new(tags::tag(tags::DIR_LABEL)?, app.label.as_bytes()),
                Tlv::new(tags::tag(tags::DIR_PATH)?, path),
            ];
            Tlv::constructed(tags::tag(tags::DIR_APPLICATION)?, &children).write_to(&mut out);
        }
        Ok(out)
    }
}

fn push_compact(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    let len = u8::try_from(value.len()).unwrap_or(0x0F).min(0x0F);
    out.push(tag << 4 | len);
    out.extend(value.iter().take(usize::from(len)));
}

/// How [`detect`] recognised a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectedBy {
    /// The ATR carried the profile's marker and its identity application was selected.
    AtrAndSelection,
    /// The ATR was not recognised, but the profile's identity application was selected.
    Selection,
}

/// The outcome of [`detect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detection {
    /// The profile the card follows.
    pub profile: &'static Profile,
    /// How it was recognised.
    pub by: DetectedBy,
}

/// Picks the profile of a card from its ATR and application selection.
///
/// `select(aid)` answers "can the card select the application with this DF name?" (a SELECT by
/// DF name answered `9000`); an error from it (the card went away) stops detection. Profiles
/// whose ATR marker matches are confirmed first by selecting their identity application; then,
/// for a card whose ATR says nothing known (a later generation), every profile's identity
/// application is tried in [`PROFILES`] order. `Ok(None)`: no known profile.
pub fn detect<E>(
    atr: &[u8],
    select: impl FnMut(&[u8]) -> Result<bool, E>,
) -> Result<Option<Detection>, E> {
    detect_among(&PROFILES, atr, select)
}

/// [`detect`] over a given list of profiles (for tests and for callers with extra profiles).
pub fn detect_among<E>(
    profiles: &[&'static Profile],
    atr: &[u8],
    mut select: impl FnMut(&[u8]) -> Result<bool, E>,
) -> Result<Option<Detection>, E> {
    let historical = Atr::parse(atr).ok().and_then(|a| a.historical().ok());
    let (by_atr, others): (Vec<&'static Profile>, Vec<&'static Profile>) =
        profiles.iter().copied().partition(|p| {
            historical
                .as_ref()
                .is_some_and(|h| p.matches_historical_bytes(h))
        });
    for profile in by_atr {
        if select(profile.identity.aid)? {
            return Ok(Some(Detection {
                profile,
                by: DetectedBy::AtrAndSelection,
            }));
        }
    }
    for profile in others {
        if select(profile.identity.aid)? {
            return Ok(Some(Detection {
                profile,
                by: DetectedBy::Selection,
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn tables_are_well_formed() {
        for profile in PROFILES {
            let mut aids = BTreeSet::new();
            let mut dfs = BTreeSet::new();
            for app in profile.applications() {
                assert!(app.aid().is_some(), "{}: AID of {}", profile.name, app.name);
                assert!(aids.insert(app.aid), "{}: duplicate AID", profile.name);
                assert!(dfs.insert(app.df_fid), "{}: duplicate DF", profile.name);
                let mut fids = BTreeSet::new();
                let mut sfis = BTreeSet::new();
                for file in app.files {
                    assert!(shenas_apdu::FileId::new(file.fid).is_ok());
                    assert!(fids.insert(file.fid), "{}: duplicate FID", app.name);
                    if let Some(sfi) = file.sfi {
                        assert!((1..=30).contains(&sfi));
                        assert!(sfis.insert(sfi), "{}: duplicate SFI", app.name);
                    }
                }
            }
            for dg in profile.data_groups {
                let file = profile.identity.file(dg.fid).expect("data group file");
                assert_eq!(file.content, FileContent::DataGroup(dg.number));
                assert_eq!(file.sfi, Some(dg.sfi));
                assert_eq!(file.read, Access::SecureMessaging);
                let tag = shenas_apdu::Tag::from_u32(dg.template).expect("template tag");
                assert!(tag.is_constructed());
            }
            assert!(profile.identity.file_for(FileContent::Sod).is_some());
            for kind in [PinKind::IdPin, PinKind::SignPin, PinKind::Puk] {
                let pin = profile.pin(kind).expect("pin");
                assert_eq!(profile.pin_by_reference(pin.reference), Some(pin));
                assert!(pin.reference & 0x80 != 0);
            }
            for role in [KeyRole::Authentication, KeyRole::Signing] {
                let key = profile.key(role).expect("key");
                assert!(profile.pki.file(key.certificate_fid).is_some());
            }
            for alg in [KeyAlgorithm::EcP256, KeyAlgorithm::Rsa2048] {
                assert!(profile.algorithm(alg).is_some());
            }
            assert!(profile.historical_bytes(true).len() <= 15);
        }
        for v in [
            tags::GET_DATA_ISSUER_ID,
            tags::GET_DATA_CARD_SERIAL,
            tags::GET_DATA_CHIP_VERSION,
            tags::GET_DATA_PROFILE_VERSION,
        ] {
            assert!(shenas_apdu::Tag::from_u32(u32::from(v)).is_ok());
        }
    }

    #[test]
    fn atrs_parse_and_differ() {
        let n = national::PROFILE.atr(true);
        let f = foreign::PROFILE.atr(true);
        assert_ne!(n, f);
        for (profile, atr) in [(&national::PROFILE, &n), (&foreign::PROFILE, &f)] {
            let parsed = Atr::parse(atr).expect("ATR parses");
            assert_eq!(parsed.extended_length(), Some(true));
            assert!(profile.matches_atr(atr));
            let short = profile.atr(false);
            assert_eq!(
                Atr::parse(&short).expect("parses").extended_length(),
                Some(false)
            );
            assert!(profile.matches_atr(&short));
        }
        assert!(!national::PROFILE.matches_atr(&f));
        assert!(!foreign::PROFILE.matches_atr(&n));
        assert!(!national::PROFILE.matches_atr(&[0x3B, 0x00]));
    }

    #[test]
    fn detection_by_atr_then_selection() {
        let n_atr = national::PROFILE.atr(true);
        let card_has =
            |aids: Vec<&'static [u8]>| move |aid: &[u8]| Ok::<bool, ()>(aids.contains(&aid));
        let d = detect(&n_atr, card_has(vec![national::IDENTITY_AID]))
            .expect("no error")
            .expect("detected");
        assert_eq!(d.profile.id, ProfileId::NationalId);
        assert_eq!(d.by, DetectedBy::AtrAndSelection);
        // Unknown ATR, foreign identity application present.
        let d = detect(&[0x3B, 0x00], card_has(vec![foreign::IDENTITY_AID]))
            .expect("no error")
            .expect("detected");
        assert_eq!(d.profile.id, ProfileId::ForeignNational);
        assert_eq!(d.by, DetectedBy::Selection);
        // National ATR, but the card only has the foreign application: selection wins.
        let d = detect(&n_atr, card_has(vec![foreign::IDENTITY_AID]))
            .expect("no error")
            .expect("detected");
        assert_eq!(d.profile.id, ProfileId::ForeignNational);
        // Nothing selectable.
        assert_eq!(detect(&n_atr, card_has(vec![])), Ok(None));
        // Errors stop detection.
        assert_eq!(detect(&n_atr, |_| Err::<bool, u8>(7)), Err(7));
    }

    #[test]
    fn pin_formats() {
        let id = national::PROFILE.pin(PinKind::IdPin).expect("id pin");
        let block = id.format(b"1234").expect("valid");
        assert_eq!(
            &block[..],
            &[0x31, 0x32, 0x33, 0x34, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(id.digits(&block), Some(&b"1234"[..]));
        assert!(id.format(b"123").is_err());
        assert!(id.format(b"123456789").is_err());
        assert!(id.format(b"12a4").is_err());
        assert_eq!(
            id.digits(&[0x31, 0x32, 0xFF, 0x33, 0xFF, 0xFF, 0xFF, 0xFF]),
            None
        );
        assert_eq!(id.digits(b"1234"), None);
        let puk = national::PROFILE.pin(PinKind::Puk).expect("puk");
        assert!(puk.format(b"1234567").is_err());
        assert_eq!(puk.format(b"12345678").map(|b| b.len()), Ok(8));
        assert_eq!(puk.max_tries, 10);
        assert_eq!(id.max_tries, 3);
    }

    #[test]
    fn ef_dir_lists_the_applications() {
        let dir = national::PROFILE.ef_dir().expect("tags valid");
        let aid_tag = tags::tag(tags::DIR_AID).expect("tag");
        let path_tag = tags::tag(tags::DIR_PATH).expect("tag");
        let templates = Tlv::parse_all(&dir).expect("EF.DIR parses");
        assert_eq!(templates.len(), 3);
        let pki = templates
            .iter()
            .find(|t| t.find(aid_tag).map(|a| a.value()) == Some(pkcs15::PKCS15_AID))
            .expect("PKCS#15 application listed");
        assert_eq!(
            pki.find(path_tag).map(|p| p.value()),
            Some(&[0x3F, 0x00, 0x50, 0x15][..])
        );
    }
}
