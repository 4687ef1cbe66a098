//! The host's logs of a biometric VERIFY at TRACE level hold no minutiae: the probe bytes go
//! to the card only. (Its own test binary: tracing's callsite cache makes a scoped subscriber
//! unreliable while other tests run in the same process.)

// Test code: a failed step fails the test at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use shenas_apdu::ChannelConfig;
use shenas_biometrics::extract;
use shenas_biometrics::template::iso19794_2_card::{CardParameters, build_compact_probe};
use shenas_cards::moc::{self, BiometricOutcome};
use shenas_cards::session::CardSession;
use shenas_fingersim::{Finger, Tier};
use shenas_simulators::SimulatedTransport;
use shenas_simulators::national::NationalCard;

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
fn trace_logs_of_a_biometric_verify_hold_no_minutiae() {
    // The citizen's right index is finger 1 of seed 2002 (simulators/personas/citizen.toml).
    let imp = Finger::new(2002, 1).impression(2, Tier::Standard).unwrap();
    let features = extract::extract(&imp.image).unwrap();
    let params = CardParameters::from_algorithm_parameters(&moc::ALGORITHM_PARAMETERS).unwrap();
    let probe = build_compact_probe(&features, &params).unwrap();
    let data = probe.verify_data();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,shenas_simulators=off",
        ))
        .with_writer(move || writer.clone())
        .finish();
    let outcome = tracing::subscriber::with_default(subscriber, || {
        let card = NationalCard::builtin("citizen", true).unwrap();
        let mut s =
            CardSession::open(SimulatedTransport::new(card), ChannelConfig::default()).unwrap();
        let refs = s.biometric_references().unwrap();
        s.verify_biometric(refs[0].qualifier, &data).unwrap()
    });
    assert_eq!(outcome, BiometricOutcome::Match);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("TRACE"), "nothing was logged at TRACE");
    let minutiae = probe.to_bytes();
    for window in minutiae.chunks(6) {
        for shown in [
            hex::encode(window),
            hex::encode_upper(window),
            format!("{window:?}"),
        ] {
            assert!(!logs.contains(&shown), "{shown} in the logs");
        }
    }
    assert!(!logs.contains(&hex::encode_upper(&data[..8])));
    assert!(!format!("{probe:?}").contains(&format!("{:?}", &minutiae[..3])));
}
