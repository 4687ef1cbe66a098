//! The identity data model of both reference profiles and its BER-TLV codec.
//!
//! [`NationalIdentity`] and [`ForeignIdentity`] encode to the data groups of their profile
//! ([`DataGroups`]: DG number → file content) and decode from them. Decoding never panics: a card
//! whose data is malformed or invalid yields a [`CardDataError`] naming the data group and the
//! data object at fault (never the value). Validation on decode and on encode: national code
//! check digit, FIDA format, text and name forms, dates that exist, the two birth dates naming the
//! same day, and birth ≤ issue ≤ expiry.
//!
//! Unknown data objects inside a template are skipped (a later profile version may add some);
//! a data object present twice is a defect.
//!
//! Every type here holds personal data: `Debug` is redacted. `Serialize` gives the JSON the CLI
//! prints (the portrait in hexadecimal).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use shenas_apdu::{Tag, Tlv, TlvError, TlvRef};

use super::date::{Date, DateError, GregorianDate, JalaliDate};
use super::tags;
use super::validate::{
    CardSerial, CardSerialError, CountryCode, Fida, FidaError, NationalCode, NationalCodeError,
};
use super::{DataGroupKind, ProfileId};

/// Why identity data read from a card (or about to be written to one) is not acceptable: the
/// card's defect. Names the data group and the tag, never the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardDataError {
    /// A data group the profile requires is absent.
    #[error("data group {data_group} is missing")]
    MissingDataGroup {
        /// The data group number.
        data_group: u8,
    },
    /// The data group is not well-formed BER-TLV.
    #[error("data group {data_group} is not well-formed BER-TLV")]
    Malformed {
        /// The data group number.
        data_group: u8,
        /// What is wrong with the encoding.
        #[source]
        source: TlvError,
    },
    /// The data group does not start with its template tag.
    #[error("data group {data_group} starts with tag {found:X}, not its template {expected:X}")]
    WrongTemplate {
        /// The data group number.
        data_group: u8,
        /// The template tag of the profile.
        expected: u32,
        /// The tag found.
        found: u32,
    },
    /// Data after the template (other than `00`/`FF` padding).
    #[error("data group {data_group} has data after its template")]
    TrailingData {
        /// The data group number.
        data_group: u8,
    },
    /// A required data object is absent.
    #[error("data group {data_group} lacks data object {tag:X}")]
    MissingObject {
        /// The data group number.
        data_group: u8,
        /// The missing tag.
        tag: u32,
    },
    /// A data object appears twice.
    #[error("data group {data_group} has data object {tag:X} twice")]
    DuplicateObject {
        /// The data group number.
        data_group: u8,
        /// The repeated tag.
        tag: u32,
    },
    /// Text that is not UTF-8, is empty, too long, has control characters or surrounding
    /// spaces, or (Latin names) characters other than ASCII letters, space, `-` and `'`.
    #[error("data object {tag:X} is not acceptable text")]
    InvalidText {
        /// The tag.
        tag: u32,
    },
    /// The national code is not valid.
    #[error("the national code is not valid")]
    InvalidNationalCode(#[source] NationalCodeError),
    /// The FIDA is not valid.
    #[error("the FIDA is not valid")]
    InvalidFida(#[source] FidaError),
    /// The card serial number is not valid.
    #[error("the card serial number is not valid")]
    InvalidCardSerial(#[source] CardSerialError),
    /// A date that is not `YYYYMMDD` or does not exist.
    #[error("data object {tag:X} is not a valid date")]
    InvalidDate {
        /// The tag.
        tag: u32,
        /// What is wrong.
        #[source]
        source: DateError,
    },
    /// The Gregorian and Jalali dates of birth name different days.
    #[error("the Gregorian and Jalali dates of birth name different days")]
    BirthDatesDisagree,
    /// Dates out of order (birth after issue, issue after expiry).
    #[error("the {earlier} is after the {later}")]
    DatesOutOfOrder {
        /// The date that should come first.
        earlier: &'static str,
        /// The date that should come later.
        later: &'static str,
    },
    /// A coded value outside its table (sex, residence status, document type, relation, a
    /// service flag), a country code not of alpha-3 form, or a family group identifier not of
    /// 1 to 16 digits.
    #[error("data object {tag:X} holds a value outside its table")]
    InvalidValue {
        /// The tag.
        tag: u32,
    },
    /// The portrait is empty, too large, or neither PNG nor JPEG.
    #[error("the portrait is not a PNG or JPEG image of at most {max} bytes", max = Portrait::MAX_LEN)]
    InvalidPortrait,
    /// A tag in the tables is not a valid BER-TLV tag (a defect of this crate; unit tests check).
    #[error("invalid tag in the profile tables")]
    Table(#[source] TlvError),
}

/// Sex, as ISO/IEC 5218 codes on the card (`1` male, `2` female).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// ISO/IEC 5218 `1`.
    Male,
    /// ISO/IEC 5218 `2`.
    Female,
}

impl Gender {
    /// The ISO/IEC 5218 code as an ASCII digit.
    pub const fn to_card(self) -> u8 {
        match self {
            Self::Male => b'1',
            Self::Female => b'2',
        }
    }

    /// From the card's byte.
    pub fn from_card(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [b'1'] => Some(Self::Male),
            [b'2'] => Some(Self::Female),
            _ => None,
        }
    }
}

macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The one-byte code on the card.
            pub const fn to_card(self) -> u8 {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            /// From the card's byte.
            pub fn from_card(bytes: &[u8]) -> Option<Self> {
                match bytes {
                    $([$code] => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

coded_enum! {
    /// Residence status of a foreign national (DG4 `DF42`).
    ResidenceStatus {
        /// Recognised refugee.
        Refugee = 0x01,
        /// Temporary residence (permit with a validity).
        TemporaryResident = 0x02,
        /// Permanent residence.
        PermanentResident = 0x03,
        /// Registered in a census, residence being regularised.
        CensusRegistered = 0x04,
    }
}

coded_enum! {
    /// The earlier document the foreign-nationals card replaces (DG4 `DF43`).
    DocumentType {
        /// Amayesh refugee card.
        Amayesh = 0x01,
        /// Hoviat card.
        Hoviat = 0x02,
        /// Passport with a residence visa.
        PassportWithResidence = 0x03,
        /// Census slip (برگه سرشماری).
        CensusSlip = 0x04,
    }
}

coded_enum! {
    /// Relation to the head of the family group (DG4 `DF46`).
    FamilyRelation {
        /// The head of the family group.
        Head = 0x01,
        /// Spouse of the head.
        Spouse = 0x02,
        /// Child of the head.
        Child = 0x03,
        /// Parent of the head.
        Parent = 0x04,
        /// Another dependant.
        Other = 0x05,
    }
}

/// A portrait image: PNG or JPEG bytes of a generated picture (never a real photo in tests).
/// JSON: hexadecimal. `Debug` shows the format and size only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Portrait(Vec<u8>);

/// The image format of a portrait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    /// PNG (ISO/IEC 15948).
    Png,
    /// JPEG (ISO/IEC 10918-1).
    Jpeg,
}

impl Portrait {
    /// The largest portrait accepted.
    pub const MAX_LEN: usize = 32_768;
    const PNG_MAGIC: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    const JPEG_MAGIC: [u8; 3] = [0xFF, 0xD8, 0xFF];

    /// A portrait from image bytes, checked for size and format.
    pub fn new(bytes: Vec<u8>) -> Result<Self, CardDataError> {
        let portrait = Self(bytes);
        portrait.format().ok_or(CardDataError::InvalidPortrait)?;
        if portrait.0.len() > Self::MAX_LEN {
            return Err(CardDataError::InvalidPortrait);
        }
        Ok(portrait)
    }

    /// The image bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The format, from the file signature.
    pub fn format(&self) -> Option<ImageFormat> {
        if self.0.starts_with(&Self::PNG_MAGIC) {
            Some(ImageFormat::Png)
        } else if self.0.starts_with(&Self::JPEG_MAGIC) {
            Some(ImageFormat::Jpeg)
        } else {
            None
        }
    }
}

impl fmt::Debug for Portrait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Portrait")
            .field("format", &self.format())
            .field("len", &self.0.len())
            .finish()
    }
}

impl Serialize for Portrait {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Portrait {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text.as_bytes()).map_err(serde::de::Error::custom)?;
        Self::new(bytes).map_err(serde::de::Error::custom)
    }
}

/// A family group of foreign nationals (one card per member).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FamilyGroup {
    /// The group identifier: 1 to 16 ASCII digits.
    pub id: String,
    /// This holder's relation to the head of the group.
    pub relation: FamilyRelation,
}

/// The identity data of the national ID card (DG1, DG2, DG3 of [`super::national::PROFILE`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NationalIdentity {
    /// The national code (DG1 `DF20`).
    pub national_code: NationalCode,
    /// Given name in Persian (DG1 `DF22`).
    pub given_name_fa: String,
    /// Surname in Persian (DG1 `DF21`).
    pub surname_fa: String,
    /// Given name, Latin transliteration (DG1 `DF24`).
    pub given_name_latin: String,
    /// Surname, Latin transliteration (DG1 `DF23`).
    pub surname_latin: String,
    /// Father's name in Persian (DG1 `DF25`).
    pub father_name_fa: String,
    /// Father's name, Latin transliteration (DG1 `DF26`).
    pub father_name_latin: String,
    /// Date of birth, both calendars (DG1 `5F2B` and `DF27`).
    pub birth_date: Date,
    /// Place of birth (DG1 `DF28`).
    pub birth_place: String,
    /// Sex (DG1 `5F35`).
    pub gender: Gender,
    /// Issuing authority (DG3 `DF35`).
    pub issuing_authority: String,
    /// Date of issue (DG3 `5F26`).
    pub issue_date: Date,
    /// Date of expiry (DG3 `DF36`).
    pub expiry_date: Date,
    /// Card serial number (DG3 `DF37`).
    pub card_serial: CardSerial,
    /// Portrait (DG2 `5F40`).
    pub portrait: Portrait,
}

/// The identity data of the foreign-nationals card (DG1 to DG4 of
/// [`super::foreign::PROFILE`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignIdentity {
    /// The FIDA foreign-national identifier (DG1 `DF20`).
    pub fida: Fida,
    /// Given name in Persian script (DG1 `DF22`).
    pub given_name_fa: String,
    /// Surname in Persian script (DG1 `DF21`).
    pub surname_fa: String,
    /// Given name, Latin (DG1 `DF24`).
    pub given_name_latin: String,
    /// Surname, Latin (DG1 `DF23`).
    pub surname_latin: String,
    /// Father's name in Persian script, when recorded (DG1 `DF25`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub father_name_fa: Option<String>,
    /// Father's name, Latin, when recorded (DG1 `DF26`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub father_name_latin: Option<String>,
    /// Date of birth, both calendars (DG1 `5F2B` and `DF27`).
    pub birth_date: Date,
    /// Place of birth (DG1 `DF28`).
    pub birth_place: String,
    /// Sex (DG1 `5F35`).
    pub gender: Gender,
    /// Nationality, ISO 3166-1 alpha-3 (DG4 `DF41`).
    pub nationality: CountryCode,
    /// Residence status (DG4 `DF42`).
    pub residence_status: ResidenceStatus,
    /// The document the card replaces (DG4 `DF43`).
    pub document_type: DocumentType,
    /// Residence valid until (DG4 `DF44`).
    pub residence_valid_until: Date,
    /// Family group and relation (DG4 `DF45`, `DF46`).
    pub family_group: FamilyGroup,
    /// Bank service enabled (DG4 `DF47`).
    pub bank_service: bool,
    /// SIM service enabled (DG4 `DF48`).
    pub sim_service: bool,
    /// Issuing authority (DG3 `DF35`).
    pub issuing_authority: String,
    /// Date of issue (DG3 `5F26`).
    pub issue_date: Date,
    /// Date of expiry (DG3 `DF36`).
    pub expiry_date: Date,
    /// Card serial number (DG3 `DF37`).
    pub card_serial: CardSerial,
    /// Portrait (DG2 `5F40`).
    pub portrait: Portrait,
}

/// The identity of either profile.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "profile", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Identity {
    /// A national ID card's identity.
    #[serde(rename = "national_id")]
    National(NationalIdentity),
    /// A foreign-nationals card's identity.
    #[serde(rename = "foreign_national")]
    Foreign(ForeignIdentity),
}

/// The contents of a card's data groups: number → file content (the template with its tag).
/// `Debug` shows numbers and lengths only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DataGroups(BTreeMap<u8, Vec<u8>>);

impl DataGroups {
    /// No data groups.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the content of data group `number`.
    pub fn insert(&mut self, number: u8, content: Vec<u8>) {
        self.0.insert(number, content);
    }

    /// The content of data group `number`.
    pub fn get(&self, number: u8) -> Option<&[u8]> {
        self.0.get(&number).map(Vec::as_slice)
    }

    /// The data groups in number order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &[u8])> {
        self.0.iter().map(|(n, c)| (*n, c.as_slice()))
    }

    /// How many data groups.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Splits a concatenation of data group templates (as in a test vector) by their template
    /// tags into the data groups of `profile`; templates of no data group of the profile are
    /// skipped, a second template of one data group replaces the first.
    pub fn from_templates(profile: ProfileId, bytes: &[u8]) -> Result<Self, TlvError> {
        let mut out = Self::new();
        for tlv in TlvRef::iter(bytes) {
            let tlv = tlv?;
            if let Some(dg) = profile
                .profile()
                .data_groups
                .iter()
                .find(|d| d.template == tlv.tag().to_u32())
            {
                out.insert(dg.number, tlv.to_tlv().to_bytes());
            }
        }
        Ok(out)
    }
}

impl fmt::Debug for DataGroups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, c)| (n, c.len())))
            .finish()
    }
}

// ---- text rules ----

/// The most bytes of a free text data object (names in Persian, places, authority).
pub const MAX_TEXT_BYTES: usize = 128;
/// The most characters of a Latin name.
pub const MAX_LATIN_CHARS: usize = 64;

fn check_text(tag: u32, text: &str) -> Result<(), CardDataError> {
    let ok = !text.is_empty()
        && text.len() <= MAX_TEXT_BYTES
        && text.trim() == text
        && !text.chars().any(char::is_control);
    ok.then_some(()).ok_or(CardDataError::InvalidText { tag })
}

fn check_latin(tag: u32, text: &str) -> Result<(), CardDataError> {
    let ok = text.len() <= MAX_LATIN_CHARS
        && text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && text.trim() == text
        && text
            .chars()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | '-' | '\''));
    ok.then_some(()).ok_or(CardDataError::InvalidText { tag })
}

fn check_family_id(id: &str) -> Result<(), CardDataError> {
    let ok = (1..=16).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(()).ok_or(CardDataError::InvalidValue {
        tag: tags::FAMILY_GROUP_ID,
    })
}

fn check_order(birth: Date, issue: Date, expiry: Date) -> Result<(), CardDataError> {
    if birth > issue {
        return Err(CardDataError::DatesOutOfOrder {
            earlier: "date of birth",
            later: "date of issue",
        });
    }
    if issue > expiry {
        return Err(CardDataError::DatesOutOfOrder {
            earlier: "date of issue",
            later: "date of expiry",
        });
    }
    Ok(())
}

// ---- encoding ----

struct Builder {
    children: Vec<Tlv>,
}

impl Builder {
    fn new() -> Self {
        Self {
            children: Vec::new(),
        }
    }

    fn put(&mut self, tag: u32, value: impl Into<Vec<u8>>) -> Result<&mut Self, CardDataError> {
        let tag = tags::tag(tag).map_err(CardDataError::Table)?;
        self.children.push(Tlv::new(tag, value));
        Ok(self)
    }

    fn finish(&self, template: u32) -> Result<Vec<u8>, CardDataError> {
        let tag = tags::tag(template).map_err(CardDataError::Table)?;
        Ok(Tlv::constructed(tag, &self.children).to_bytes())
    }
}

struct Personal<'a> {
    number: &'a [u8],
    given_name_fa: &'a str,
    surname_fa: &'a str,
    given_name_latin: &'a str,
    surname_latin: &'a str,
    father_name_fa: Option<&'a str>,
    father_name_latin: Option<&'a str>,
    birth_date: Date,
    birth_place: &'a str,
    gender: Gender,
}

struct CardPart<'a> {
    issuing_authority: &'a str,
    issue_date: Date,
    expiry_date: Date,
    card_serial: &'a CardSerial,
}

fn check_personal(p: &Personal<'_>) -> Result<(), CardDataError> {
    check_text(tags::GIVEN_NAME_FA, p.given_name_fa)?;
    check_text(tags::SURNAME_FA, p.surname_fa)?;
    check_latin(tags::GIVEN_NAME_LATIN, p.given_name_latin)?;
    check_latin(tags::SURNAME_LATIN, p.surname_latin)?;
    if let Some(name) = p.father_name_fa {
        check_text(tags::FATHER_NAME_FA, name)?;
    }
    if let Some(name) = p.father_name_latin {
        check_latin(tags::FATHER_NAME_LATIN, name)?;
    }
    check_text(tags::BIRTH_PLACE, p.birth_place)
}

fn encode_personal(p: &Personal<'_>) -> Result<Vec<u8>, CardDataError> {
    check_personal(p)?;
    let mut b = Builder::new();
    b.put(tags::PERSONAL_NUMBER, p.number)?
        .put(tags::SURNAME_FA, p.surname_fa)?
        .put(tags::GIVEN_NAME_FA, p.given_name_fa)?
        .put(tags::SURNAME_LATIN, p.surname_latin)?
        .put(tags::GIVEN_NAME_LATIN, p.given_name_latin)?;
    if let Some(name) = p.father_name_fa {
        b.put(tags::FATHER_NAME_FA, name)?;
    }
    if let Some(name) = p.father_name_latin {
        b.put(tags::FATHER_NAME_LATIN, name)?;
    }
    b.put(tags::BIRTH_DATE, p.birth_date.gregorian().to_card())?
        .put(tags::BIRTH_DATE_JALALI, p.birth_date.jalali().to_card())?
        .put(tags::BIRTH_PLACE, p.birth_place)?
        .put(tags::SEX, [p.gender.to_card()])?;
    b.finish(tags::DG1_TEMPLATE)
}

fn encode_portrait(portrait: &Portrait) -> Result<Vec<u8>, CardDataError> {
    // Re-check: the bytes may have been built without `Portrait::new` only inside this module.
    Portrait::new(portrait.0.clone())?;
    let mut b = Builder::new();
    b.put(tags::PORTRAIT, portrait.as_bytes())?;
    b.finish(tags::DG2_TEMPLATE)
}

fn encode_card(c: &CardPart<'_>, birth: Date) -> Result<Vec<u8>, CardDataError> {
    check_text(tags::ISSUING_AUTHORITY, c.issuing_authority)?;
    check_order(birth, c.issue_date, c.expiry_date)?;
    let mut b = Builder::new();
    b.put(tags::ISSUING_AUTHORITY, c.issuing_authority)?
        .put(tags::ISSUE_DATE, c.issue_date.gregorian().to_card())?
        .put(tags::EXPIRY_DATE, c.expiry_date.gregorian().to_card())?
        .put(tags::CARD_SERIAL, c.card_serial.as_str())?;
    b.finish(tags::DG3_TEMPLATE)
}

// ---- decoding ----

/// The data objects of one data group template, by tag.
struct Objects<'a> {
    data_group: u8,
    map: BTreeMap<u32, &'a [u8]>,
}

impl<'a> Objects<'a> {
    fn parse(groups: &'a DataGroups, data_group: u8, template: u32) -> Result<Self, CardDataError> {
        let content = groups
            .get(data_group)
            .ok_or(CardDataError::MissingDataGroup { data_group })?;
        let malformed = |source| CardDataError::Malformed { data_group, source };
        let mut iter = TlvRef::iter(content);
        let outer = match iter.next() {
            Some(item) => item.map_err(malformed)?,
            None => return Err(CardDataError::MissingDataGroup { data_group }),
        };
        if iter.next().is_some() {
            return Err(CardDataError::TrailingData { data_group });
        }
        if outer.tag().to_u32() != template {
            return Err(CardDataError::WrongTemplate {
                data_group,
                expected: template,
                found: outer.tag().to_u32(),
            });
        }
        let mut map = BTreeMap::new();
        for child in outer.children().map_err(malformed)? {
            let child = child.map_err(malformed)?;
            let tag = child.tag().to_u32();
            if map.insert(tag, child.value()).is_some() {
                return Err(CardDataError::DuplicateObject { data_group, tag });
            }
        }
        Ok(Self { data_group, map })
    }

    fn optional(&self, tag: u32) -> Option<&'a [u8]> {
        self.map.get(&tag).copied()
    }

    fn required(&self, tag: u32) -> Result<&'a [u8], CardDataError> {
        self.optional(tag).ok_or(CardDataError::MissingObject {
            data_group: self.data_group,
            tag,
        })
    }

    fn text(&self, tag: u32) -> Result<String, CardDataError> {
        let text = std::str::from_utf8(self.required(tag)?)
            .map_err(|_| CardDataError::InvalidText { tag })?;
        check_text(tag, text)?;
        Ok(text.to_owned())
    }

    fn latin(&self, tag: u32) -> Result<String, CardDataError> {
        let text = std::str::from_utf8(self.required(tag)?)
            .map_err(|_| CardDataError::InvalidText { tag })?;
        check_latin(tag, text)?;
        Ok(text.to_owned())
    }

    fn optional_with(
        &self,
        tag: u32,
        read: fn(&Self, u32) -> Result<String, CardDataError>,
    ) -> Result<Option<String>, CardDataError> {
        match self.optional(tag) {
            Some(_) => read(self, tag).map(Some),
            None => Ok(None),
        }
    }

    fn gregorian(&self, tag: u32) -> Result<Date, CardDataError> {
        let invalid = |source| CardDataError::InvalidDate { tag, source };
        let date = GregorianDate::from_card(self.required(tag)?).map_err(invalid)?;
        Date::from_gregorian(date).map_err(invalid)
    }

    fn coded<T>(&self, tag: u32, decode: fn(&[u8]) -> Option<T>) -> Result<T, CardDataError> {
        decode(self.required(tag)?).ok_or(CardDataError::InvalidValue { tag })
    }

    fn flag(&self, tag: u32) -> Result<bool, CardDataError> {
        self.coded(tag, |b| match b {
            [0x00] => Some(false),
            [0x01] => Some(true),
            _ => None,
        })
    }
}

/// DG1 fields shared by both profiles, decoded.
struct PersonalOwned {
    number: Vec<u8>,
    given_name_fa: String,
    surname_fa: String,
    given_name_latin: String,
    surname_latin: String,
    father_name_fa: Option<String>,
    father_name_latin: Option<String>,
    birth_date: Date,
    birth_place: String,
    gender: Gender,
}

fn decode_personal(groups: &DataGroups) -> Result<PersonalOwned, CardDataError> {
    let o = Objects::parse(groups, 1, tags::DG1_TEMPLATE)?;
    let birth_date = o.gregorian(tags::BIRTH_DATE)?;
    let jalali = JalaliDate::from_card(o.required(tags::BIRTH_DATE_JALALI)?).map_err(|source| {
        CardDataError::InvalidDate {
            tag: tags::BIRTH_DATE_JALALI,
            source,
        }
    })?;
    if jalali != birth_date.jalali() {
        return Err(CardDataError::BirthDatesDisagree);
    }
    Ok(PersonalOwned {
        number: o.required(tags::PERSONAL_NUMBER)?.to_vec(),
        given_name_fa: o.text(tags::GIVEN_NAME_FA)?,
        surname_fa: o.text(tags::SURNAME_FA)?,
        given_name_latin: o.latin(tags::GIVEN_NAME_LATIN)?,
        surname_latin: o.latin(tags::SURNAME_LATIN)?,
        father_name_fa: o.optional_with(tags::FATHER_NAME_FA, Objects::text)?,
        father_name_latin: o.optional_with(tags::FATHER_NAME_LATIN, Objects::latin)?,
        birth_date,
        birth_place: o.text(tags::BIRTH_PLACE)?,
        gender: o.coded(tags::SEX, Gender::from_card)?,
    })
}

fn decode_portrait(groups: &DataGroups) -> Result<Portrait, CardDataError> {
    let o = Objects::parse(groups, 2, tags::DG2_TEMPLATE)?;
    Portrait::new(o.required(tags::PORTRAIT)?.to_vec())
}

struct CardOwned {
    issuing_authority: String,
    issue_date: Date,
    expiry_date: Date,
    card_serial: CardSerial,
}

fn decode_card(groups: &DataGroups, birth: Date) -> Result<CardOwned, CardDataError> {
    let o = Objects::parse(groups, 3, tags::DG3_TEMPLATE)?;
    let out = CardOwned {
        issuing_authority: o.text(tags::ISSUING_AUTHORITY)?,
        issue_date: o.gregorian(tags::ISSUE_DATE)?,
        expiry_date: o.gregorian(tags::EXPIRY_DATE)?,
        card_serial: CardSerial::from_card(o.required(tags::CARD_SERIAL)?)
            .map_err(CardDataError::InvalidCardSerial)?,
    };
    check_order(birth, out.issue_date, out.expiry_date)?;
    Ok(out)
}

impl NationalIdentity {
    fn personal(&self) -> Personal<'_> {
        Personal {
            number: self.national_code.as_str().as_bytes(),
            given_name_fa: &self.given_name_fa,
            surname_fa: &self.surname_fa,
            given_name_latin: &self.given_name_latin,
            surname_latin: &self.surname_latin,
            father_name_fa: Some(&self.father_name_fa),
            father_name_latin: Some(&self.father_name_latin),
            birth_date: self.birth_date,
            birth_place: &self.birth_place,
            gender: self.gender,
        }
    }

    fn card_part(&self) -> CardPart<'_> {
        CardPart {
            issuing_authority: &self.issuing_authority,
            issue_date: self.issue_date,
            expiry_date: self.expiry_date,
            card_serial: &self.card_serial,
        }
    }

    /// Checks every field as decoding would.
    pub fn validate(&self) -> Result<(), CardDataError> {
        self.to_data_groups().map(|_| ())
    }

    /// The data groups DG1, DG2, DG3 of the national card.
    pub fn to_data_groups(&self) -> Result<DataGroups, CardDataError> {
        let mut out = DataGroups::new();
        out.insert(1, encode_personal(&self.personal())?);
        out.insert(2, encode_portrait(&self.portrait)?);
        out.insert(3, encode_card(&self.card_part(), self.birth_date)?);
        Ok(out)
    }

    /// Decodes and validates DG1, DG2, DG3 of the national card.
    pub fn from_data_groups(groups: &DataGroups) -> Result<Self, CardDataError> {
        let p = decode_personal(groups)?;
        let national_code =
            NationalCode::from_card(&p.number).map_err(CardDataError::InvalidNationalCode)?;
        let father_name_fa = p.father_name_fa.ok_or(CardDataError::MissingObject {
            data_group: 1,
            tag: tags::FATHER_NAME_FA,
        })?;
        let father_name_latin = p.father_name_latin.ok_or(CardDataError::MissingObject {
            data_group: 1,
            tag: tags::FATHER_NAME_LATIN,
        })?;
        let portrait = decode_portrait(groups)?;
        let c = decode_card(groups, p.birth_date)?;
        Ok(Self {
            national_code,
            given_name_fa: p.given_name_fa,
            surname_fa: p.surname_fa,
            given_name_latin: p.given_name_latin,
            surname_latin: p.surname_latin,
            father_name_fa,
            father_name_latin,
            birth_date: p.birth_date,
            birth_place: p.birth_place,
            gender: p.gender,
            issuing_authority: c.issuing_authority,
            issue_date: c.issue_date,
            expiry_date: c.expiry_date,
            card_serial: c.card_serial,
            portrait,
        })
    }
}

impl ForeignIdentity {
    fn personal(&self) -> Personal<'_> {
        Personal {
            number: self.fida.as_str().as_bytes(),
            given_name_fa: &self.given_name_fa,
            surname_fa: &self.surname_fa,
            given_name_latin: &self.given_name_latin,
            surname_latin: &self.surname_latin,
            father_name_fa: self.father_name_fa.as_deref(),
            father_name_latin: self.father_name_latin.as_deref(),
            birth_date: self.birth_date,
            birth_place: &self.birth_place,
            gender: self.gender,
        }
    }

    fn card_part(&self) -> CardPart<'_> {
        CardPart {
            issuing_authority: &self.issuing_authority,
            issue_date: self.issue_date,
            expiry_date: self.expiry_date,
            card_serial: &self.card_serial,
        }
    }

    /// Checks every field as decoding would.
    pub fn validate(&self) -> Result<(), CardDataError> {
        self.to_data_groups().map(|_| ())
    }

    fn encode_residence(&self) -> Result<Vec<u8>, CardDataError> {
        check_family_id(&self.family_group.id)?;
        let mut b = Builder::new();
        b.put(tags::NATIONALITY, self.nationality.as_str())?
            .put(tags::RESIDENCE_STATUS, [self.residence_status.to_card()])?
            .put(tags::DOCUMENT_TYPE, [self.document_type.to_card()])?
            .put(
                tags::RESIDENCE_VALID_UNTIL,
                self.residence_valid_until.gregorian().to_card(),
            )?
            .put(tags::FAMILY_GROUP_ID, self.family_group.id.as_bytes())?
            .put(
                tags::FAMILY_RELATION,
                [self.family_group.relation.to_card()],
            )?
            .put(tags::BANK_SERVICE, [u8::from(self.bank_service)])?
            .put(tags::SIM_SERVICE, [u8::from(self.sim_service)])?;
        b.finish(tags::DG4_TEMPLATE)
    }

    /// The data groups DG1 to DG4 of the foreign-nationals card.
    pub fn to_data_groups(&self) -> Result<DataGroups, CardDataError> {
        let mut out = DataGroups::new();
        out.insert(1, encode_personal(&self.personal())?);
        out.insert(2, encode_portrait(&self.portrait)?);
        out.insert(3, encode_card(&self.card_part(), self.birth_date)?);
        out.insert(4, self.encode_residence()?);
        Ok(out)
    }

    /// Decodes and validates DG1 to DG4 of the foreign-nationals card.
    pub fn from_data_groups(groups: &DataGroups) -> Result<Self, CardDataError> {
        let p = decode_personal(groups)?;
        let fida = Fida::from_card(&p.number).map_err(CardDataError::InvalidFida)?;
        let portrait = decode_portrait(groups)?;
        let c = decode_card(groups, p.birth_date)?;
        let r = Objects::parse(groups, 4, tags::DG4_TEMPLATE)?;
        let family_id = std::str::from_utf8(r.required(tags::FAMILY_GROUP_ID)?)
            .map_err(|_| CardDataError::InvalidValue {
                tag: tags::FAMILY_GROUP_ID,
            })?
            .to_owned();
        check_family_id(&family_id)?;
        Ok(Self {
            fida,
            given_name_fa: p.given_name_fa,
            surname_fa: p.surname_fa,
            given_name_latin: p.given_name_latin,
            surname_latin: p.surname_latin,
            father_name_fa: p.father_name_fa,
            father_name_latin: p.father_name_latin,
            birth_date: p.birth_date,
            birth_place: p.birth_place,
            gender: p.gender,
            nationality: r.coded(tags::NATIONALITY, CountryCode::from_card)?,
            residence_status: r.coded(tags::RESIDENCE_STATUS, ResidenceStatus::from_card)?,
            document_type: r.coded(tags::DOCUMENT_TYPE, DocumentType::from_card)?,
            residence_valid_until: r.gregorian(tags::RESIDENCE_VALID_UNTIL)?,
            family_group: FamilyGroup {
                id: family_id,
                relation: r.coded(tags::FAMILY_RELATION, FamilyRelation::from_card)?,
            },
            bank_service: r.flag(tags::BANK_SERVICE)?,
            sim_service: r.flag(tags::SIM_SERVICE)?,
            issuing_authority: c.issuing_authority,
            issue_date: c.issue_date,
            expiry_date: c.expiry_date,
            card_serial: c.card_serial,
            portrait,
        })
    }
}

impl Identity {
    /// Decodes the data groups of a card following `profile`.
    pub fn decode(profile: ProfileId, groups: &DataGroups) -> Result<Self, CardDataError> {
        match profile {
            ProfileId::NationalId => NationalIdentity::from_data_groups(groups).map(Self::National),
            ProfileId::ForeignNational => {
                ForeignIdentity::from_data_groups(groups).map(Self::Foreign)
            }
        }
    }

    /// The data groups of this identity.
    pub fn to_data_groups(&self) -> Result<DataGroups, CardDataError> {
        match self {
            Self::National(n) => n.to_data_groups(),
            Self::Foreign(f) => f.to_data_groups(),
        }
    }

    /// The profile whose data groups hold it.
    pub const fn profile(&self) -> ProfileId {
        match self {
            Self::National(_) => ProfileId::NationalId,
            Self::Foreign(_) => ProfileId::ForeignNational,
        }
    }

    /// The card serial number recorded in DG3.
    pub fn card_serial(&self) -> &CardSerial {
        match self {
            Self::National(n) => &n.card_serial,
            Self::Foreign(f) => &f.card_serial,
        }
    }

    /// The date of expiry.
    pub fn expiry_date(&self) -> Date {
        match self {
            Self::National(n) => n.expiry_date,
            Self::Foreign(f) => f.expiry_date,
        }
    }

    /// The portrait.
    pub fn portrait(&self) -> &Portrait {
        match self {
            Self::National(n) => &n.portrait,
            Self::Foreign(f) => &f.portrait,
        }
    }
}

/// The data groups this kind of data lives in, for callers that read them one by one.
pub fn data_group_numbers(profile: ProfileId) -> impl Iterator<Item = (u8, DataGroupKind)> {
    profile
        .profile()
        .data_groups
        .iter()
        .map(|d| (d.number, d.kind))
}

/// The template tag of data group `data_group` in `profile`.
pub fn template_tag(profile: ProfileId, data_group: u8) -> Option<Tag> {
    profile
        .profile()
        .data_group(data_group)
        .and_then(|d| tags::tag(d.template).ok())
}

impl fmt::Debug for NationalIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NationalIdentity")
            .field("card_serial", &self.card_serial)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ForeignIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignIdentity")
            .field("card_serial", &self.card_serial)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::National(n) => n.fmt(f),
            Self::Foreign(x) => x.fmt(f),
        }
    }
}

impl fmt::Debug for FamilyGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FamilyGroup(..)")
    }
}

macro_rules! redacted_debug {
    ($($ty:ty),+) => {
        $(impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($ty), "(..)"))
            }
        })+
    };
}

redacted_debug!(Gender, ResidenceStatus, DocumentType, FamilyRelation);
