//! `shenas finger enroll-card` and `shenas finger verify-card`: match-on-card (ISO/IEC
//! 7816-11) against the card in a reader.
//!
//! `verify-card <image> [--finger N]` extracts the minutiae of the image, reads the card's
//! biometric information templates (GET DATA `7F61`), builds a compact-card probe that
//! conforms to the chosen template's `B1` parameters (count limits, ordering, quantisation:
//! [`build_compact_probe`]) and sends one VERIFY. The card decides; nothing is retried (a
//! non-match spends one of the card's tries). Exit status 0 on a match, 1 on a non-match or a
//! blocked reference, as `finger match`.
//!
//! `enroll-card <image> --finger N` builds the reference the same way and enrols it with the
//! Shenas profile's personalisation command (the PUK, from a prompt or stdin, then CHANGE
//! REFERENCE DATA; see `shenas_simulators::national::moc`).
//!
//! `N` is the ISO/IEC 19794-2 finger position (1 right thumb … 5 right little, 6 left thumb …
//! 10 left little). `--json` prints one object with the stable keys `match` (verify only),
//! `tries_left` (null after a match), `finger` and `minutiae_sent`. Minutiae and templates go
//! to the card only: never printed, never logged.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use shenas_apdu::Transport;
use shenas_biometrics::template::TemplateError;
use shenas_biometrics::template::iso19794_2_card::{
    CardParameters, CompactProbe, build_compact_probe,
};
use shenas_cards::moc::{self, BiometricOutcome, BiometricReference};
use shenas_cards::session::{CardSession, PinStatus, SessionError};

use super::{FingerCommand, FingerError, features_of_image, load_image};
use crate::card_cli::{self, CardCliError};

/// What went wrong in `enroll-card` / `verify-card`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FingerCardError {
    #[error(transparent)]
    Input(#[from] FingerError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Card(#[from] CardCliError),
    #[error("finger position {0} is not 1–10")]
    Position(u8),
    #[error("the card has no biometric reference")]
    NoReference,
    #[error("the card has no reference for finger {0}")]
    NoReferenceFor(u8),
    #[error("the card's reference is not ISO/IEC 19794-2 compact-card minutiae of a finger")]
    UnsupportedFormat,
    #[error("the card's algorithm parameters are not valid")]
    Parameters(#[source] TemplateError),
    #[error("cannot build a probe the card accepts")]
    Probe(#[source] TemplateError),
    #[error("cannot write the output")]
    Output(#[source] std::io::Error),
    #[error("this finger command does not use a card")]
    NotACardCommand,
}

impl FingerCardError {
    /// A stable code for `--json`.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Input(_) => "finger_input",
            Self::Session(e) => e.code(),
            Self::Card(e) => e.code(),
            Self::Position(_) => "bad_finger",
            Self::NoReference | Self::NoReferenceFor(_) => "no_reference",
            Self::UnsupportedFormat => "unsupported_format",
            Self::Parameters(_) => "card_defect",
            Self::Probe(_) => "probe",
            Self::Output(_) => "output",
            Self::NotACardCommand => "usage",
        }
    }
}

/// Runs `enroll-card` or `verify-card` on an open session.
pub(crate) fn run<T: Transport>(
    session: &mut CardSession<T>,
    command: &FingerCommand,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode, FingerCardError> {
    match command {
        FingerCommand::VerifyCard { image, finger, ppi } => {
            verify_card(session, image, *finger, *ppi, json, out)
        }
        FingerCommand::EnrollCard { image, finger, ppi } => {
            enroll_card(session, image, *finger, *ppi, json, out)
        }
        _ => Err(FingerCardError::NotACardCommand),
    }
}

fn check_position(position: u8) -> Result<u8, FingerCardError> {
    moc::qualifier_of_position(position)
        .map(|_| position)
        .ok_or(FingerCardError::Position(position))
}

fn parameters(reference: &BiometricReference) -> Result<CardParameters, FingerCardError> {
    if !reference.is_compact_card_fingerprint() {
        return Err(FingerCardError::UnsupportedFormat);
    }
    CardParameters::from_algorithm_parameters(
        reference
            .algorithm_parameters
            .as_deref()
            .unwrap_or_default(),
    )
    .map_err(FingerCardError::Parameters)
}

fn probe_of(
    image: &Path,
    ppi: Option<u16>,
    params: &CardParameters,
) -> Result<CompactProbe, FingerCardError> {
    let img = load_image(image, ppi)?;
    let features = features_of_image(image, &img)?;
    build_compact_probe(&features, params).map_err(FingerCardError::Probe)
}

fn verify_card<T: Transport>(
    session: &mut CardSession<T>,
    image: &Path,
    finger: Option<u8>,
    ppi: Option<u16>,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode, FingerCardError> {
    let references = session.biometric_references()?;
    let reference = match finger {
        Some(n) => {
            let n = check_position(n)?;
            references
                .iter()
                .find(|r| r.finger_position() == Some(n))
                .ok_or(FingerCardError::NoReferenceFor(n))?
        }
        None => references.first().ok_or(FingerCardError::NoReference)?,
    };
    let params = parameters(reference)?;
    let probe = probe_of(image, ppi, &params)?;
    let outcome = session.verify_biometric(reference.qualifier, &probe.verify_data())?;
    let (matched, tries_left) = match outcome {
        BiometricOutcome::Match => (true, None),
        BiometricOutcome::NoMatch { tries_left } => (false, Some(tries_left)),
        // Blocked, and any outcome a later version adds: not a match.
        _ => (false, Some(0)),
    };
    let finger = reference.finger_position();
    let sent = probe.minutiae.len();
    let written = if json {
        writeln!(
            out,
            "{}",
            serde_json::json!({
                "match": matched,
                "tries_left": tries_left,
                "finger": finger,
                "minutiae_sent": sent,
            })
        )
    } else {
        let finger = finger.map_or_else(|| "?".to_owned(), |f| f.to_string());
        let verdict = match outcome {
            BiometricOutcome::Match => "match".to_owned(),
            BiometricOutcome::NoMatch { tries_left } => {
                format!("no match, {tries_left} tries left")
            }
            _ => "blocked".to_owned(),
        };
        writeln!(out, "finger {finger}: {verdict} ({sent} minutiae sent)")
    };
    written.map_err(FingerCardError::Output)?;
    Ok(if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn enroll_card<T: Transport>(
    session: &mut CardSession<T>,
    image: &Path,
    finger: u8,
    ppi: Option<u16>,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode, FingerCardError> {
    let finger = check_position(finger)?;
    let references = session.biometric_references()?;
    let existing = references
        .iter()
        .find(|r| r.finger_position() == Some(finger));
    // The card's parameters: those of this finger, else of any finger it announces, else the
    // Shenas profile's (a card with no finger enrolled yet).
    let profile = BiometricReference::shenas(finger).ok_or(FingerCardError::Position(finger))?;
    let template = existing.or(references.first()).unwrap_or(&profile);
    let params = parameters(template)?;
    let qualifier = existing.map_or(profile.qualifier, |r| r.qualifier);
    // Build the reference before asking for the PUK: a bad image spends nothing.
    let probe = probe_of(image, ppi, &params)?;
    let [puk] = card_cli::read_pins(["PUK"])?;
    session.enroll_biometric(qualifier, &puk, &probe.verify_data())?;
    let tries_left = match session.biometric_status(qualifier)? {
        PinStatus::TriesLeft { tries_left } => Some(tries_left),
        PinStatus::Blocked => Some(0),
        _ => None,
    };
    let sent = probe.minutiae.len();
    let written = if json {
        writeln!(
            out,
            "{}",
            serde_json::json!({
                "enrolled": true,
                "finger": finger,
                "minutiae_sent": sent,
                "tries_left": tries_left,
            })
        )
    } else {
        writeln!(out, "finger {finger}: enrolled ({sent} minutiae sent)")
    };
    written.map_err(FingerCardError::Output)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shenas_apdu::ChannelConfig;
    use shenas_fingersim::{Finger, Tier};
    use shenas_simulators::SimulatedTransport;
    use shenas_simulators::national::NationalCard;

    /// Impression `impression` of the synthetic finger of `seed`, as a PNG file.
    fn image(dir: &Path, seed: u64, impression: u32) -> std::path::PathBuf {
        let imp = Finger::new(seed, 1)
            .impression(impression, Tier::Standard)
            .unwrap();
        let path = dir.join(format!("{seed}_{impression}.png"));
        std::fs::write(&path, shenas_fingersim::encode_png(&imp.image).unwrap()).unwrap();
        path
    }

    fn verify(
        session: &mut CardSession<SimulatedTransport<NationalCard>>,
        image: &Path,
        finger: Option<u8>,
    ) -> (ExitCode, serde_json::Value, String) {
        let mut out = Vec::new();
        let command = FingerCommand::VerifyCard {
            image: image.to_path_buf(),
            finger,
            ppi: None,
        };
        let code = run(session, &command, true, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        (code, serde_json::from_str(&text).unwrap(), text)
    }

    #[test]
    fn verify_card_reports_match_and_tries_left_with_stable_keys() {
        let dir = std::env::temp_dir().join(format!("shenas-finger-moc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // The citizen persona's right index (position 2) is seed 2002, left index 7 is 2007.
        let genuine = image(&dir, 2002, 2);
        let impostor = image(&dir, 2007, 2);
        let card = NationalCard::builtin("citizen", true).unwrap();
        let mut session =
            CardSession::open(SimulatedTransport::new(card), ChannelConfig::default()).unwrap();
        let (code, v, text) = verify(&mut session, &genuine, None);
        assert_eq!(code, ExitCode::SUCCESS, "{text}");
        assert_eq!(v["match"], true);
        assert_eq!(v["finger"], 2);
        assert!(v["tries_left"].is_null());
        let sent = v["minutiae_sent"].as_u64().unwrap();
        assert!((12..=60).contains(&sent), "{sent}");
        let (code, v, _) = verify(&mut session, &impostor, Some(2));
        assert_eq!(code, ExitCode::from(1));
        assert_eq!(v["match"], false);
        assert_eq!(v["tries_left"], 4);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["finger", "match", "minutiae_sent", "tries_left"]);
        let (_, v, _) = verify(&mut session, &impostor, Some(7));
        assert_eq!(v["match"], true);
        assert!(matches!(
            run(
                &mut session,
                &FingerCommand::VerifyCard {
                    image: genuine.clone(),
                    finger: Some(3),
                    ppi: None
                },
                true,
                &mut Vec::new()
            ),
            Err(FingerCardError::NoReferenceFor(3))
        ));
        assert!(matches!(
            check_position(11),
            Err(FingerCardError::Position(11))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
