//! Personas: everything a simulated card is made from, in one TOML file.
//!
//! A persona holds a fictitious person's identity (the data model of
//! [`shenas_cards::profile::identity`], whose `profile` field picks the card profile), the PINs
//! with their remaining tries, the key choice per key, the certificate profile and faults. The
//! portrait is not in the file: it is generated at load time from [`Persona::portrait_seed`] (a
//! small PNG silhouette, never a photo).
//!
//! ```toml
//! name = "citizen"
//! portrait_seed = 1
//!
//! [person]                       # Identity, as its JSON/serde form, without `portrait`
//! profile = "national_id"        # or "foreign_national" (then the foreign fields)
//! national_code = "0076229645"
//! given_name_fa = "مریم"
//! # … every field of NationalIdentity / ForeignIdentity; dates as
//! birth_date = { gregorian = "1990-05-12" }   # or { jalali = "1369-02-22" }, or both
//! card_serial = "N000000001"
//!
//! [pins]                          # digits as strings; tries_left defaults to the maximum
//! id = { digits = "1234", tries_left = 3 }
//! sign = { digits = "123456" }
//! puk = { digits = "12345678", tries_left = 10 }   # tries_left = 0: blocked
//!
//! [keys]
//! auth = { type = "p256", seed = "citizen-auth" }  # ECDSA P-256 key derived from the seed
//! sign = { type = "rsa", fixture = 0 }             # RSA-2048 fixture key 0
//!
//! [certificates]
//! validity_days = 1825   # from the card's issue date (default: up to its expiry)
//! expired = false        # true: both certificates expired before today
//! other_root = false     # true: issued under a CA chaining to another root
//!
//! [faults]
//! tamper_data_group = 1  # change DG1 after EF.SOD was signed (passive authentication fails)
//!
//! [[fingers]]            # match-on-card references (national profile), any number
//! position = 2           # ISO/IEC 19794-2 finger position 1–10 (2: right index)
//! seed = 2002            # shenas-fingersim seed the template was generated from (provenance)
//! template = "0a14…"     # ISO/IEC 19794-2 compact-card minutiae, hex, 12–60 minutiae, x-y ascending
//! tries_left = 5         # default: the maximum (5)
//! ```
//!
//! The references of the built-in personas were generated from their seeds by
//! `tests/tests/moc.rs` (`persona_references_match_their_seeds`, which fails and prints the
//! new values if the generator or the extractor drift).
//!
//! Everything is validated on load: the identity as the card codec validates it (national code
//! check digit, FIDA, dates), PIN formats and tries against the profile. The four built-in
//! personas ship as `simulators/personas/*.toml`. Personas are fictitious people only.
//!
//! **No security**: PINs and key seeds sit in plain files. Tests and demos only.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shenas_cards::profile::identity::{CardDataError, Identity, Portrait};
use shenas_cards::profile::validate::CardSerial;
use shenas_cards::profile::{PinFormatError, PinKind, ProfileId};
use zeroize::Zeroizing;

/// Why a persona cannot be loaded. Carries no PIN and no personal data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersonaError {
    /// The file cannot be read.
    #[error("cannot read persona file {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML of the persona form (the message names the key, not the value).
    #[error("persona file is not valid: {0}")]
    Syntax(String),
    /// The identity does not pass the card codec's validation.
    #[error("the persona's identity is not valid")]
    Identity(#[source] CardDataError),
    /// A PIN does not fit its format.
    #[error("the persona's {kind} is not valid")]
    Pin {
        /// Which PIN.
        kind: &'static str,
        /// What is wrong.
        #[source]
        source: PinFormatError,
    },
    /// More tries left than the profile allows.
    #[error("the persona's {kind} has more tries left than the profile's {max}")]
    Tries {
        /// Which PIN.
        kind: &'static str,
        /// The profile's maximum.
        max: u8,
    },
    /// A fault names a data group the profile does not have.
    #[error("the profile has no data group {0} to tamper with")]
    NoSuchDataGroup(u8),
    /// The portrait could not be generated.
    #[error("cannot generate the portrait")]
    Portrait,
    /// A finger's position or reference template is not valid (the template is not shown).
    #[error("the persona's finger {position} is not valid: {reason}")]
    Finger {
        /// The finger position as given.
        position: u8,
        /// What is wrong.
        reason: &'static str,
    },
}

/// One enrolled finger: a match-on-card reference.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonaFinger {
    /// ISO/IEC 19794-2 finger position, 1–10.
    pub position: u8,
    /// The shenas-fingersim seed the template was generated from (provenance only).
    pub seed: Option<u64>,
    /// ISO/IEC 19794-2 compact-card minutiae, 3 bytes each.
    pub template: Vec<u8>,
    /// Tries left (0: blocked).
    pub tries_left: u8,
}

impl fmt::Debug for PersonaFinger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonaFinger")
            .field("position", &self.position)
            .field("minutiae", &(self.template.len() / 3))
            .field("tries_left", &self.tries_left)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FingerFile {
    position: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    template: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tries_left: Option<u8>,
}

impl PersonaFinger {
    fn from_file(f: FingerFile) -> Result<Self, PersonaError> {
        let bad = |reason| PersonaError::Finger {
            position: f.position,
            reason,
        };
        let template = hex::decode(f.template.trim()).map_err(|_| bad("template is not hex"))?;
        crate::national::moc::check_minutiae(&template)
            .map_err(|_| bad("template does not fit the card's parameters"))?;
        let max = shenas_cards::moc::MAX_TRIES;
        let tries_left = f.tries_left.unwrap_or(max);
        if tries_left > max {
            return Err(bad("more tries left than the card allows"));
        }
        if shenas_cards::moc::qualifier_of_position(f.position).is_none() {
            return Err(bad("position is not 1–10"));
        }
        Ok(Self {
            position: f.position,
            seed: f.seed,
            template,
            tries_left,
        })
    }

    fn to_file(&self) -> FingerFile {
        FingerFile {
            position: self.position,
            seed: self.seed,
            template: hex::encode(&self.template),
            tries_left: Some(self.tries_left),
        }
    }
}

/// A PIN and its retry counter.
#[derive(Clone, PartialEq, Eq)]
pub struct PinState {
    /// The ASCII digits, wiped on drop.
    pub digits: Zeroizing<String>,
    /// Tries left (0: blocked).
    pub tries_left: u8,
}

impl PinState {
    /// True when no tries are left.
    pub fn blocked(&self) -> bool {
        self.tries_left == 0
    }
}

impl fmt::Debug for PinState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinState")
            .field("tries_left", &self.tries_left)
            .finish_non_exhaustive()
    }
}

/// The PINs and the PUK of a persona.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pins {
    /// The ID PIN.
    pub id: PinState,
    /// The SIGN PIN.
    pub sign: PinState,
    /// The PUK.
    pub puk: PinState,
}

impl Pins {
    /// The PIN of this kind.
    pub fn get(&self, kind: PinKind) -> Option<&PinState> {
        match kind {
            PinKind::IdPin => Some(&self.id),
            PinKind::SignPin => Some(&self.sign),
            PinKind::Puk => Some(&self.puk),
            _ => None,
        }
    }
}

/// How a key pair is made.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum KeyChoice {
    /// ECDSA P-256, derived deterministically from the seed (UTF-8 bytes).
    P256 {
        /// The seed.
        seed: String,
    },
    /// RSA-2048 fixture key number `fixture` (RSA generation is slow in tests).
    Rsa {
        /// The fixture index.
        fixture: usize,
    },
}

impl fmt::Debug for KeyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The seed is the private key: never shown.
        match self {
            Self::P256 { .. } => f.write_str("P256 { .. }"),
            Self::Rsa { fixture } => write!(f, "Rsa {{ fixture: {fixture} }}"),
        }
    }
}

/// The key choice per key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// The authentication key.
    pub auth: KeyChoice,
    /// The signing key.
    pub sign: KeyChoice,
}

/// The certificate profile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CertificateProfile {
    /// Days of validity from the card's issue date; `None`: until the card's expiry date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity_days: Option<u32>,
    /// Both certificates expired before today.
    pub expired: bool,
    /// Issued under a CA that chains to another root than the simulated national root.
    pub other_root: bool,
}

/// Faults of the card.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonaFaults {
    /// Change one byte of this data group's content after EF.SOD was signed over it, so that
    /// passive authentication fails (the data group still decodes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tamper_data_group: Option<u8>,
}

/// A persona: what a simulated card is made from. Read the fields; see the module docs for the
/// file format.
#[derive(Clone, PartialEq, Eq)]
pub struct Persona {
    /// A short name (`citizen`).
    pub name: String,
    /// The holder's identity; its profile is the card's ([`Persona::profile`]). The portrait is
    /// the generated one.
    pub identity: Identity,
    /// The seed the portrait was generated from.
    pub portrait_seed: u64,
    /// The PINs and the PUK with their counters.
    pub pins: Pins,
    /// The key choices.
    pub keys: Keys,
    /// The certificate profile.
    pub certificates: CertificateProfile,
    /// Faults.
    pub faults: PersonaFaults,
    /// The enrolled fingers (match-on-card references).
    pub fingers: Vec<PersonaFinger>,
}

impl fmt::Debug for Persona {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Persona")
            .field("name", &self.name)
            .field("profile", &self.profile())
            .field("card_serial", self.card_serial())
            .field("pins", &self.pins)
            .field("keys", &self.keys)
            .field("certificates", &self.certificates)
            .field("faults", &self.faults)
            .field("fingers", &self.fingers)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PinFile {
    digits: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tries_left: Option<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PinsFile {
    id: PinFile,
    sign: PinFile,
    puk: PinFile,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonaFile {
    name: String,
    #[serde(default)]
    portrait_seed: u64,
    person: toml::Table,
    pins: PinsFile,
    keys: Keys,
    #[serde(default)]
    certificates: CertificateProfile,
    #[serde(default)]
    faults: PersonaFaults,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fingers: Vec<FingerFile>,
}

/// The built-in personas' files.
pub const CITIZEN_TOML: &str = include_str!("../personas/citizen.toml");
/// The citizen with a blocked ID PIN.
pub const CITIZEN_BLOCKED_PIN_TOML: &str = include_str!("../personas/citizen-blocked-pin.toml");
/// The citizen whose card and certificates expired.
pub const EXPIRED_CARD_TOML: &str = include_str!("../personas/expired-card.toml");
/// The foreign national.
pub const FOREIGN_NATIONAL_TOML: &str = include_str!("../personas/foreign-national.toml");

/// The names of the built-in personas, for [`Persona::builtin`].
pub const BUILTIN: [&str; 4] = [
    "citizen",
    "citizen-blocked-pin",
    "expired-card",
    "foreign-national",
];

impl Persona {
    /// Reads a persona file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PersonaError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PersonaError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// Parses a persona from TOML text and validates it.
    pub fn from_toml_str(text: &str) -> Result<Self, PersonaError> {
        let file: PersonaFile = toml::from_str(text).map_err(|e| syntax(&e))?;
        let mut person = file.person;
        let portrait = generate_portrait(file.portrait_seed)?;
        person.insert(
            "portrait".to_owned(),
            toml::Value::String(hex::encode(portrait.as_bytes())),
        );
        let identity: Identity = person.try_into().map_err(|e| syntax(&e))?;
        identity.to_data_groups().map_err(PersonaError::Identity)?;
        let profile = identity.profile().profile();
        let pin = |kind: PinKind, f: PinFile| -> Result<PinState, PersonaError> {
            let spec = profile.pin(kind).ok_or(PersonaError::Tries {
                kind: kind.as_str(),
                max: 0,
            })?;
            let digits = Zeroizing::new(f.digits);
            spec.format(digits.as_bytes())
                .map_err(|source| PersonaError::Pin {
                    kind: kind.as_str(),
                    source,
                })?;
            let tries_left = f.tries_left.unwrap_or(spec.max_tries);
            if tries_left > spec.max_tries {
                return Err(PersonaError::Tries {
                    kind: kind.as_str(),
                    max: spec.max_tries,
                });
            }
            Ok(PinState { digits, tries_left })
        };
        let pins = Pins {
            id: pin(PinKind::IdPin, file.pins.id)?,
            sign: pin(PinKind::SignPin, file.pins.sign)?,
            puk: pin(PinKind::Puk, file.pins.puk)?,
        };
        if let Some(n) = file.faults.tamper_data_group {
            profile
                .data_group(n)
                .ok_or(PersonaError::NoSuchDataGroup(n))?;
        }
        let mut fingers: Vec<PersonaFinger> = Vec::with_capacity(file.fingers.len());
        for f in file.fingers {
            let finger = PersonaFinger::from_file(f)?;
            if fingers.iter().any(|g| g.position == finger.position) {
                return Err(PersonaError::Finger {
                    position: finger.position,
                    reason: "the same finger appears twice",
                });
            }
            fingers.push(finger);
        }
        if !fingers.is_empty() && profile.match_on_card.is_none() {
            return Err(PersonaError::Finger {
                position: fingers.first().map_or(0, |f| f.position),
                reason: "the card profile has no match-on-card application",
            });
        }
        Ok(Self {
            name: file.name,
            identity,
            portrait_seed: file.portrait_seed,
            pins,
            keys: file.keys,
            certificates: file.certificates,
            faults: file.faults,
            fingers,
        })
    }

    /// The persona as TOML (the portrait left out: it is regenerated from the seed).
    pub fn to_toml_string(&self) -> Result<String, PersonaError> {
        let mut person = toml::Table::try_from(&self.identity).map_err(|e| syntax(&e))?;
        person.remove("portrait");
        let pin = |p: &PinState| PinFile {
            digits: p.digits.as_str().to_owned(),
            tries_left: Some(p.tries_left),
        };
        let file = PersonaFile {
            name: self.name.clone(),
            portrait_seed: self.portrait_seed,
            person,
            pins: PinsFile {
                id: pin(&self.pins.id),
                sign: pin(&self.pins.sign),
                puk: pin(&self.pins.puk),
            },
            keys: self.keys.clone(),
            certificates: self.certificates.clone(),
            faults: self.faults.clone(),
            fingers: self.fingers.iter().map(PersonaFinger::to_file).collect(),
        };
        toml::to_string(&file).map_err(|e| syntax(&e))
    }

    /// A built-in persona by name ([`BUILTIN`]).
    pub fn builtin(name: &str) -> Option<Result<Self, PersonaError>> {
        let text = match name {
            "citizen" => CITIZEN_TOML,
            "citizen-blocked-pin" => CITIZEN_BLOCKED_PIN_TOML,
            "expired-card" => EXPIRED_CARD_TOML,
            "foreign-national" => FOREIGN_NATIONAL_TOML,
            _ => return None,
        };
        Some(Self::from_toml_str(text))
    }

    /// A citizen with a national ID card, every PIN fresh, ECDSA P-256 keys.
    pub fn citizen() -> Result<Self, PersonaError> {
        Self::from_toml_str(CITIZEN_TOML)
    }

    /// A citizen whose ID PIN is blocked (the PUK unblocks it).
    pub fn citizen_blocked_pin() -> Result<Self, PersonaError> {
        Self::from_toml_str(CITIZEN_BLOCKED_PIN_TOML)
    }

    /// A citizen whose card and certificates expired; RSA-2048 keys.
    pub fn expired_card() -> Result<Self, PersonaError> {
        Self::from_toml_str(EXPIRED_CARD_TOML)
    }

    /// A foreign national with a foreign-nationals card.
    pub fn foreign_national() -> Result<Self, PersonaError> {
        Self::from_toml_str(FOREIGN_NATIONAL_TOML)
    }

    /// The card profile.
    pub fn profile(&self) -> ProfileId {
        self.identity.profile()
    }

    /// The card serial number.
    pub fn card_serial(&self) -> &CardSerial {
        self.identity.card_serial()
    }

    /// The generated portrait.
    pub fn portrait(&self) -> &Portrait {
        self.identity.portrait()
    }
}

/// Describes a TOML or serde error by its position and key, never quoting the input.
fn syntax(e: &dyn fmt::Display) -> PersonaError {
    // toml's messages quote the offending line (possibly a PIN or a name): keep the first line,
    // which names the place and the problem.
    let text = e.to_string();
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid")
        .to_owned();
    PersonaError::Syntax(first)
}

/// Width of a generated portrait in pixels.
pub const PORTRAIT_WIDTH: u32 = 60;
/// Height of a generated portrait in pixels.
pub const PORTRAIT_HEIGHT: u32 = 80;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn low_u8(v: u64) -> u8 {
    v.to_le_bytes().first().copied().unwrap_or_default()
}

/// A generated portrait: a grey-scale PNG silhouette (head and shoulders) whose shades, head
/// size and position follow from `seed`. A few KB; never a photo.
pub fn generate_portrait(seed: u64) -> Result<Portrait, PersonaError> {
    let mut state = seed;
    let background = 170 + low_u8(splitmix(&mut state)) % 70;
    let figure = 40 + low_u8(splitmix(&mut state)) % 60;
    let head_r = 13 + i64::from(low_u8(splitmix(&mut state)) % 5);
    let shift = i64::from(low_u8(splitmix(&mut state)) % 7) - 3;
    let (w, h) = (i64::from(PORTRAIT_WIDTH), i64::from(PORTRAIT_HEIGHT));
    let (cx, cy) = (w / 2 + shift, 30);
    let mut pixels = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let head = (x - cx).pow(2) + (y - cy).pow(2) <= head_r.pow(2);
            // Shoulders: the upper half of an ellipse centred at the bottom edge.
            let (ax, ay) = (26, 26);
            let shoulders =
                (x - cx).pow(2) * ay * ay + (y - h).pow(2) * ax * ax <= (ax * ay).pow(2);
            let noise = low_u8(splitmix(&mut state)) % 6;
            pixels.push(if head || shoulders {
                figure + noise
            } else {
                background.saturating_sub(noise)
            });
        }
    }
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, PORTRAIT_WIDTH, PORTRAIT_HEIGHT);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|_| PersonaError::Portrait)?;
        writer
            .write_image_data(&pixels)
            .map_err(|_| PersonaError::Portrait)?;
        writer.finish().map_err(|_| PersonaError::Portrait)?;
    }
    Portrait::new(png_bytes).map_err(|_| PersonaError::Portrait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load_and_differ() {
        let citizen = Persona::citizen().expect("citizen");
        assert_eq!(citizen.profile(), ProfileId::NationalId);
        assert!(!citizen.pins.id.blocked());
        assert_eq!(citizen.pins.id.digits.as_str(), "1234");
        let blocked = Persona::citizen_blocked_pin().expect("blocked");
        assert!(blocked.pins.id.blocked());
        assert!(!blocked.pins.puk.blocked());
        let expired = Persona::expired_card().expect("expired");
        assert!(expired.certificates.expired);
        let today = shenas_cards::profile::date::GregorianDate::today_utc().expect("clock");
        assert!(expired.identity.expiry_date().gregorian() < today);
        assert!(matches!(expired.keys.sign, KeyChoice::Rsa { .. }));
        let foreign = Persona::foreign_national().expect("foreign");
        assert_eq!(foreign.profile(), ProfileId::ForeignNational);
        let serials: std::collections::BTreeSet<String> = [&citizen, &blocked, &expired, &foreign]
            .iter()
            .map(|p| p.card_serial().to_string())
            .collect();
        assert_eq!(serials.len(), 4);
        for name in BUILTIN {
            assert!(Persona::builtin(name).is_some_and(|p| p.is_ok()), "{name}");
        }
        assert!(Persona::builtin("nobody").is_none());
    }

    #[test]
    fn toml_round_trip() {
        for name in BUILTIN {
            let p = Persona::builtin(name).expect("known").expect("loads");
            let text = p.to_toml_string().expect("serialises");
            assert_eq!(Persona::from_toml_str(&text).expect("reloads"), p, "{name}");
        }
    }

    #[test]
    fn invalid_personas_are_refused_without_leaking() {
        let bad_code = CITIZEN_TOML.replace("0012345679", "0012345670");
        let err = Persona::from_toml_str(&bad_code).expect_err("bad check digit");
        assert!(matches!(err, PersonaError::Syntax(_)), "{err:?}");
        assert!(!err.to_string().contains("0012345670"), "{err}");
        let bad_dates = CITIZEN_TOML.replace("\"2032-01-10\"", "\"2020-01-10\"");
        assert!(matches!(
            Persona::from_toml_str(&bad_dates),
            Err(PersonaError::Identity(
                CardDataError::DatesOutOfOrder { .. }
            ))
        ));
        let bad_pin = CITIZEN_TOML.replace("digits = \"1234\"", "digits = \"12\"");
        let err = Persona::from_toml_str(&bad_pin).expect_err("short PIN");
        assert!(matches!(err, PersonaError::Pin { kind: "id_pin", .. }));
        let too_many = CITIZEN_TOML.replace("tries_left = 3", "tries_left = 4");
        assert!(matches!(
            Persona::from_toml_str(&too_many),
            Err(PersonaError::Tries { .. })
        ));
        let unknown = format!("{CITIZEN_TOML}\n[extra]\nsecret = \"0012345679\"\n");
        let err = Persona::from_toml_str(&unknown).expect_err("unknown table");
        assert!(!err.to_string().contains("0012345679"), "{err}");
        let tamper = CITIZEN_TOML.replace("[faults]", "[faults]\ntamper_data_group = 9");
        assert!(Persona::from_toml_str(&tamper).is_err());
        let p = Persona::citizen().expect("citizen");
        let debug = format!("{p:?}");
        for secret in ["1234", "0012345679", "Maryam", "citizen-auth"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
    }

    #[test]
    fn portraits_are_small_pngs_that_follow_the_seed() {
        let a = generate_portrait(1).expect("generates");
        let b = generate_portrait(2).expect("generates");
        assert_eq!(a, generate_portrait(1).expect("generates"));
        assert_ne!(a, b);
        assert_eq!(
            a.format(),
            Some(shenas_cards::profile::identity::ImageFormat::Png)
        );
        assert!(a.as_bytes().len() < 8_000, "{}", a.as_bytes().len());
        let decoder = png::Decoder::new(std::io::Cursor::new(a.as_bytes().to_vec()));
        let reader = decoder.read_info().expect("decodes");
        assert_eq!(reader.info().width, PORTRAIT_WIDTH);
        assert_eq!(reader.info().height, PORTRAIT_HEIGHT);
    }
}
