//! Every host flow of the card session against both simulated profiles, in process (the same
//! flows run through pcscd + vpcd in `daemon/tests/card_cli.rs`): identify, read identity with
//! passive authentication through the simulated issuer, certificates, PINs (wrong, blocked,
//! PUK unblock, change) and signatures verified against the certificate; plus a TRACE log
//! capture of a PIN verification and a signature.

// Test code: a failed step fails the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use shenas_apdu::ChannelConfig;
use shenas_cards::issuer::IssuerMode;
use shenas_cards::pki::TrustAnchors;
use shenas_cards::profile::identity::Identity;
use shenas_cards::profile::{KeyRole, PinKind, ProfileId};
use shenas_cards::session::{CardSession, Counting, Pin, PinStatus, SessionError};
use shenas_simulators::SimulatedTransport;
use shenas_simulators::issuer::SimulatedIssuer;
use shenas_simulators::national::NationalCard;

fn session(name: &str) -> CardSession<Counting<SimulatedTransport<NationalCard>>> {
    let card = NationalCard::builtin(name, true).unwrap();
    CardSession::open(
        Counting::new(SimulatedTransport::new(card)),
        ChannelConfig::default(),
    )
    .unwrap()
}

#[test]
fn national_card_identify_and_read_at_the_apdu_floor() {
    let mut s = session("citizen");
    let id = s.identify().unwrap();
    assert_eq!(id.profile, ProfileId::NationalId);
    assert_eq!(id.card_serial, "N000000001");
    let r = s
        .read_identity(
            &SimulatedIssuer::new(),
            &TrustAnchors::simulated(),
            SystemTime::now(),
        )
        .unwrap();
    assert!(
        r.passive_authentication.valid,
        "{:?}",
        r.passive_authentication
    );
    assert_eq!(r.issuer_mode, IssuerMode::SessionKeysOnly);
    assert!(r.simulated_trust);
    match r.identity.unwrap() {
        Identity::National(n) => assert_eq!(n.given_name_latin, "Maryam"),
        other => panic!("{:?}", other.profile()),
    }
    // 3 GET DATA, SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE, 3 data groups + EF.SOD.
    let groups = s.profile().data_groups.len();
    let apdus = s.into_channel().into_transport().apdus();
    assert_eq!(apdus, 6 + groups + 1);
}

#[test]
fn foreign_card_reads_with_passive_authentication() {
    let mut s = session("foreign-national");
    assert_eq!(s.identify().unwrap().profile, ProfileId::ForeignNational);
    let r = s
        .read_identity(
            &SimulatedIssuer::new(),
            &TrustAnchors::simulated(),
            SystemTime::now(),
        )
        .unwrap();
    assert!(
        r.passive_authentication.valid,
        "{:?}",
        r.passive_authentication
    );
    assert!(matches!(r.identity.unwrap(), Identity::Foreign(_)));
}

#[test]
fn passive_authentication_fails_against_other_anchors() {
    let mut s = session("citizen");
    let r = s
        .read_identity(
            &SimulatedIssuer::new(),
            &TrustAnchors::empty(),
            SystemTime::now(),
        )
        .unwrap();
    assert!(!r.passive_authentication.valid);
    assert!(r.passive_authentication.reason.is_some());
}

#[test]
fn a_wrong_issuer_cannot_open_the_identity() {
    let mut s = session("citizen");
    let wrong = SimulatedIssuer::with_master(*b"another-master!!");
    let e = s
        .read_identity(&wrong, &TrustAnchors::simulated(), SystemTime::now())
        .unwrap_err();
    assert!(matches!(e, SessionError::Authentication(_)), "{e:?}");
}

#[test]
fn pins_and_signatures_on_both_profiles() {
    for name in ["citizen", "foreign-national", "expired-card"] {
        let mut s = session(name);
        let persona = shenas_simulators::persona::Persona::builtin(name)
            .unwrap()
            .unwrap();
        let id_pin = Pin::new(&persona.pins.id.digits);
        let sign_pin = Pin::new(&persona.pins.sign.digits);
        let puk = Pin::new(&persona.pins.puk.digits);
        assert_eq!(
            s.pin_status(PinKind::IdPin).unwrap(),
            PinStatus::TriesLeft { tries_left: 3 }
        );
        let e = s.verify_pin(PinKind::IdPin, &Pin::new("9999")).unwrap_err();
        assert!(
            matches!(e, SessionError::WrongPin { tries_left: 2, .. }),
            "{e:?}"
        );
        s.verify_pin(PinKind::IdPin, &id_pin).unwrap();
        assert_eq!(s.pin_status(PinKind::IdPin).unwrap(), PinStatus::Verified);
        // Authentication key: ID PIN verified; the signature verifies against the certificate.
        let auth = s.internal_authenticate(&[7u8; 32]).unwrap();
        assert!(!auth.signature.is_empty());
        // Signing needs the SIGN PIN, once per signature.
        let e = s.sign_hash(KeyRole::Signing, &[1u8; 32]).unwrap_err();
        assert!(
            matches!(
                e,
                SessionError::PinRequired {
                    kind: PinKind::SignPin
                }
            ),
            "{e:?}"
        );
        s.verify_pin(PinKind::SignPin, &sign_pin).unwrap();
        s.sign_hash(KeyRole::Signing, &[1u8; 32]).unwrap();
        s.verify_pin(PinKind::SignPin, &sign_pin).unwrap();
        s.sign_hash(KeyRole::Signing, &[2u8; 48]).unwrap();
        assert!(matches!(
            s.sign_hash(KeyRole::Signing, &[1u8; 20]),
            Err(SessionError::BadHashLength(20))
        ));
        // Block the ID PIN, then unblock it with the PUK.
        for left in [2u8, 1, 0] {
            let e = s.verify_pin(PinKind::IdPin, &Pin::new("0000")).unwrap_err();
            assert!(
                matches!(e, SessionError::WrongPin { tries_left, .. } if tries_left == left),
                "{e:?}"
            );
        }
        assert_eq!(s.pin_status(PinKind::IdPin).unwrap(), PinStatus::Blocked);
        assert!(matches!(
            s.verify_pin(PinKind::IdPin, &id_pin),
            Err(SessionError::PinBlocked { .. })
        ));
        s.unblock_pin(PinKind::IdPin, &puk, &Pin::new("2468"))
            .unwrap();
        s.verify_pin(PinKind::IdPin, &Pin::new("2468")).unwrap();
        s.change_pin(PinKind::IdPin, &Pin::new("2468"), &Pin::new("1357"))
            .unwrap();
        s.verify_pin(PinKind::IdPin, &Pin::new("1357")).unwrap();
        // A malformed PIN never reaches the card.
        assert!(matches!(
            s.verify_pin(PinKind::IdPin, &Pin::new("12a4")),
            Err(SessionError::PinFormat(_))
        ));
    }
}

#[test]
fn certificates_validate_or_say_why() {
    let mut s = session("citizen");
    let certs = s
        .certificates(&TrustAnchors::simulated(), SystemTime::now())
        .unwrap();
    assert_eq!(certs.len(), 2);
    assert!(certs.iter().all(|c| c.validation.is_ok()));
    let mut s = session("expired-card");
    let certs = s
        .certificates(&TrustAnchors::simulated(), SystemTime::now())
        .unwrap();
    for c in certs {
        assert_eq!(c.validation.unwrap_err().code(), "expired");
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn trace_logs_of_a_pin_verification_and_a_signature_hold_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The host's logs (the simulated card itself, standing in for the card, is left out).
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,shenas_simulators=off",
        ))
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut s = session("citizen");
        s.verify_pin(PinKind::SignPin, &Pin::new("123456")).unwrap();
        s.sign_hash(KeyRole::Signing, &[0xA5; 32]).unwrap();
        s.read_identity(
            &SimulatedIssuer::new(),
            &TrustAnchors::simulated(),
            SystemTime::now(),
        )
        .unwrap();
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("TRACE"),
        "nothing was logged at TRACE: {logs}"
    );
    for secret in [
        "123456",
        "313233343536",
        "0012345679",
        "Maryam",
        "Ahmadi",
        "مریم",
    ] {
        assert!(!logs.contains(secret), "the logs hold {secret:?}");
    }
}
