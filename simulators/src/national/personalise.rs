//! Personalisation: a [`CardSetup`] from an identity ([`Identity`], Profiles' data model), PINs
//! and key choices, with the simulated PKI issuing the certificates and EF.SOD, and the
//! simulated issuer's per-card device-authentication keys.
//!
//! [`from_persona`] maps a [`Persona`] (file or built-in) onto a personalisation. Everything is
//! deterministic: the same persona gives the same keys, certificates and files, so a test can
//! build in process the card a `shenas-sim` process serves and compare what it reads.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use shenas_cards::profile::identity::Identity;
use shenas_cards::profile::{KeyRole, PinKind, foreign, national};
use zeroize::Zeroizing;

use super::{CardSetup, KeySetup, PinSetup, PrivateKey};
use crate::persona::{self, Persona};
use crate::pki::{self, CertHolder, SimulatedPki, Validity};

/// How a key pair is made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyChoice {
    /// ECDSA P-256 from a seed ([`pki::p256_key_from_seed`]).
    EcP256Seed(Vec<u8>),
    /// RSA-2048 fixture key `n` ([`pki::rsa_fixture_key`]).
    Rsa2048Fixture(usize),
}

/// What a card is personalised with.
pub struct Personalisation {
    /// The holder's identity (its profile picks the card profile).
    pub identity: Identity,
    /// The PINs and the PUK.
    pub pins: Vec<PinSetup>,
    /// The authentication key.
    pub auth_key: KeyChoice,
    /// The signing key.
    pub sign_key: KeyChoice,
    /// The validity of the card's certificates.
    pub certificate_validity: Validity,
    /// Certificates issued under the other root (they must fail validation).
    pub other_root: bool,
    /// Change one byte of this data group after EF.SOD was signed (passive authentication
    /// must fail).
    pub tamper_data_group: Option<u8>,
    /// Whether the card accepts extended-length APDUs.
    pub extended_length: bool,
    /// Where PIN counters persist, if anywhere.
    pub state_file: Option<PathBuf>,
    /// The enrolled fingers (match-on-card references).
    pub fingers: Vec<super::moc::FingerSetup>,
}

/// Why a personalisation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersonaliseError {
    /// The identity does not encode (invalid data).
    #[error("the identity data is invalid")]
    Identity(#[source] shenas_cards::profile::identity::CardDataError),
    /// The simulated PKI failed (fixtures, issuance).
    #[error("the simulated PKI failed")]
    Pki(#[from] pki::SimulatedPkiError),
    /// EF.SOD could not be built.
    #[error("EF.SOD cannot be built")]
    Sod(#[source] shenas_cards::pki::sod::SodError),
    /// A key has no public key encoding.
    #[error("a key's public key cannot be encoded")]
    PublicKey,
    /// No built-in persona of this name.
    #[error("no built-in persona {0:?}")]
    NoSuchBuiltin(String),
    /// The persona could not be made.
    #[error("the persona is invalid")]
    Persona(#[from] persona::PersonaError),
    /// The identity is of a profile this card does not implement.
    #[error("the identity's profile has no simulated card")]
    UnknownProfile,
}

fn make_key(choice: &KeyChoice) -> Result<PrivateKey, PersonaliseError> {
    Ok(match choice {
        KeyChoice::EcP256Seed(seed) => PrivateKey::EcP256(pki::p256_key_from_seed(seed).into()),
        KeyChoice::Rsa2048Fixture(n) => PrivateKey::Rsa2048(Box::new(pki::rsa_fixture_key(*n)?)),
    })
}

/// The certificate holder of an identity (names in Latin, number as serialNumber).
fn holder(identity: &Identity) -> CertHolder {
    let (number, given, surname) = match identity {
        Identity::National(n) => (
            n.national_code.as_str().to_owned(),
            n.given_name_latin.clone(),
            n.surname_latin.clone(),
        ),
        Identity::Foreign(f) => (
            f.fida.as_str().to_owned(),
            f.given_name_latin.clone(),
            f.surname_latin.clone(),
        ),
        #[allow(unreachable_patterns)]
        _ => (String::new(), String::new(), String::new()),
    };
    CertHolder {
        common_name: format!(
            "{}, {}, {number}",
            surname.to_uppercase(),
            given.to_uppercase()
        ),
        serial_number: number,
        given_name: given,
        surname,
        country: "IR".to_owned(),
    }
}

/// Builds the card setup: data groups from the identity, EF.SOD signed by the simulated
/// document signer, keys, certificates from the simulated intermediate CA, the simulated
/// issuer's device keys for the card serial.
pub fn card_setup(p: Personalisation) -> Result<CardSetup, PersonaliseError> {
    let (profile, serial) = match &p.identity {
        Identity::National(n) => (&national::PROFILE, n.card_serial.as_str().to_owned()),
        Identity::Foreign(f) => (&foreign::PROFILE, f.card_serial.as_str().to_owned()),
        #[allow(unreachable_patterns)]
        _ => return Err(PersonaliseError::UnknownProfile),
    };
    let groups = p
        .identity
        .to_data_groups()
        .map_err(PersonaliseError::Identity)?;
    let mut data_groups: Vec<(u8, Vec<u8>)> = groups.iter().map(|(n, c)| (n, c.to_vec())).collect();
    let ca = SimulatedPki::load()?;
    let signer = ca.document_signer();
    let borrowed: Vec<(u8, &[u8])> = data_groups
        .iter()
        .map(|(n, c)| (*n, c.as_slice()))
        .collect();
    let sod = shenas_cards::pki::sod::build_sod(&borrowed, signer.certificate_der(), |attrs| {
        signer.sign(attrs)
    })
    .map_err(PersonaliseError::Sod)?;
    if let Some(n) = p.tamper_data_group {
        // The last byte lies inside the last data object's value: the group still decodes.
        if let Some(last) = data_groups
            .iter_mut()
            .find(|(number, _)| *number == n)
            .and_then(|(_, c)| c.last_mut())
        {
            *last ^= 0x01;
        }
    }
    let auth = make_key(&p.auth_key)?;
    let sign = make_key(&p.sign_key)?;
    let auth_spki = auth.public_key_der().ok_or(PersonaliseError::PublicKey)?;
    let sign_spki = sign.public_key_der().ok_or(PersonaliseError::PublicKey)?;
    let holder = holder(&p.identity);
    let (auth_cert, sign_cert) = if p.other_root {
        ca.issue_with_other_root(&holder, &auth_spki, &sign_spki, p.certificate_validity)?
    } else {
        ca.issue_card_certificates(&holder, &auth_spki, &sign_spki, p.certificate_validity)?
    };
    Ok(CardSetup {
        profile,
        device_keys: crate::issuer::simulated_card_keys(serial.as_bytes()),
        serial,
        data_groups,
        sod,
        pins: p.pins,
        keys: vec![
            KeySetup {
                role: KeyRole::Authentication,
                key: auth,
                certificate: auth_cert,
            },
            KeySetup {
                role: KeyRole::Signing,
                key: sign,
                certificate: sign_cert,
            },
        ],
        ca_certificate: Some(ca.intermediate_certificate_der().to_vec()),
        extended_length: p.extended_length,
        state_file: p.state_file,
        fingers: p.fingers,
    })
}

fn validity(from: u64, to: u64) -> Validity {
    Validity {
        not_before: UNIX_EPOCH + Duration::from_secs(from),
        not_after: UNIX_EPOCH + Duration::from_secs(to),
    }
}

/// 2025-01-01, 2035-01-01; 2020-01-01, 2024-01-01 (UTC, seconds since the epoch).
const Y2025: u64 = 1_735_689_600;
const Y2035: u64 = 2_051_222_400;
const Y2020: u64 = 1_577_836_800;
const Y2024: u64 = 1_704_067_200;
const DAY: u64 = 86_400;

/// The personalisation of a persona: its identity, PINs and counters, keys; certificates
/// valid 2025-01-01 to 2035-01-01 (or `validity_days` from 2025-01-01), expired ones
/// 2020-01-01 to 2024-01-01; the other root and the tampered data group when asked.
pub fn from_persona(persona: &Persona) -> Personalisation {
    let key = |k: &persona::KeyChoice| match k {
        persona::KeyChoice::Rsa { fixture } => KeyChoice::Rsa2048Fixture(*fixture),
        persona::KeyChoice::P256 { seed } => KeyChoice::EcP256Seed(seed.as_bytes().to_vec()),
        #[allow(unreachable_patterns)]
        _ => KeyChoice::EcP256Seed(persona.name.as_bytes().to_vec()),
    };
    let pins = [PinKind::IdPin, PinKind::SignPin, PinKind::Puk]
        .into_iter()
        .filter_map(|kind| {
            persona.pins.get(kind).map(|p| PinSetup {
                kind,
                digits: Zeroizing::new(p.digits.as_bytes().to_vec()),
                tries_left: p.tries_left,
            })
        })
        .collect();
    let certs = &persona.certificates;
    let certificate_validity = if certs.expired {
        validity(Y2020, Y2024)
    } else if let Some(days) = certs.validity_days {
        validity(
            Y2025,
            Y2025.saturating_add(u64::from(days).saturating_mul(DAY)),
        )
    } else {
        validity(Y2025, Y2035)
    };
    Personalisation {
        identity: persona.identity.clone(),
        pins,
        auth_key: key(&persona.keys.auth),
        sign_key: key(&persona.keys.sign),
        certificate_validity,
        other_root: certs.other_root,
        tamper_data_group: persona.faults.tamper_data_group,
        extended_length: true,
        state_file: None,
        fingers: persona
            .fingers
            .iter()
            .map(|f| super::moc::FingerSetup {
                position: f.position,
                template: f.template.clone(),
                tries_left: f.tries_left,
            })
            .collect(),
    }
}

/// A built-in persona's personalisation ([`Persona::builtin`]: `citizen`,
/// `citizen-blocked-pin`, `expired-card`, `foreign-national`; `_` is read as `-`).
pub fn builtin(name: &str) -> Result<Personalisation, PersonaliseError> {
    let persona = Persona::builtin(&name.replace('_', "-"))
        .ok_or_else(|| PersonaliseError::NoSuchBuiltin(name.to_owned()))??;
    Ok(from_persona(&persona))
}

/// The names of the built-in personas.
pub const BUILTIN_NAMES: [&str; 4] = [
    "citizen",
    "citizen-blocked-pin",
    "expired-card",
    "foreign-national",
];
