//! Match-on-card on the simulated national card, in process: the host session
//! ([`CardSession::biometric_references`], [`CardSession::verify_biometric`],
//! [`CardSession::enroll_biometric`]) against [`NationalCard`]'s 7816-11 application, with
//! probes built from synthetic fingerprints (shenas-fingersim, fixed seeds) by
//! `build_compact_probe` for the parameters the card announces.
//!
//! Also the generator of the citizen persona's reference templates
//! (`persona_references_match_their_seeds`): it fails, printing the new values, if the
//! generator or the extractor drift.

// Test code: a failed step fails the test at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use shenas_apdu::{ChannelConfig, Command};
use shenas_biometrics::extract;
use shenas_biometrics::matcher::{self, Decision, FalseMatchRate, MatchTemplate};
use shenas_biometrics::template::iso19794_2_card::{
    CardParameters, build_compact_probe, decode_compact, features_from_compact,
};
use shenas_cards::moc::{self, BiometricOutcome};
use shenas_cards::session::{CardSession, Pin, PinStatus, SessionError};
use shenas_fingersim::{Finger, Tier};
use shenas_simulators::SimCard;
use shenas_simulators::SimulatedTransport;
use shenas_simulators::national::moc::FingerSetup;
use shenas_simulators::national::{NationalCard, personalise};
use shenas_simulators::persona::Persona;

type Session = CardSession<SimulatedTransport<NationalCard>>;

/// The citizen's right index (position 2, qualifier 92) and left index (7, 97).
const RIGHT_INDEX: u8 = 0x92;
const LEFT_INDEX: u8 = 0x97;

fn params() -> CardParameters {
    CardParameters::from_algorithm_parameters(&moc::ALGORITHM_PARAMETERS).unwrap()
}

/// Compact-card minutiae of impression `impression` of the finger generated from `seed`
/// (finger 1 of that seed, standard tier), built for the card's parameters. Cached: image
/// generation is the expensive part.
fn compact(seed: u64, impression: u32) -> Vec<u8> {
    type Cache = Mutex<HashMap<(u64, u32), Vec<u8>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().unwrap().get(&(seed, impression)) {
        return hit.clone();
    }
    let imp = Finger::new(seed, 1)
        .impression(impression, Tier::Standard)
        .unwrap();
    let features = extract::extract(&imp.image).unwrap();
    let bytes = build_compact_probe(&features, &params())
        .unwrap()
        .to_bytes();
    cache
        .lock()
        .unwrap()
        .insert((seed, impression), bytes.clone());
    bytes
}

fn session_of(card: NationalCard) -> Session {
    CardSession::open(SimulatedTransport::new(card), ChannelConfig::default()).unwrap()
}

fn citizen() -> Session {
    session_of(NationalCard::builtin("citizen", true).unwrap())
}

fn card(s: &mut Session) -> &mut NationalCard {
    s.channel_mut().transport_mut().card_mut()
}

fn raw(s: &mut Session, apdu: Command) -> u16 {
    s.channel_mut().transmit(&apdu).unwrap().sw().value()
}

fn seed_of(position: u8) -> u64 {
    let persona = Persona::citizen().unwrap();
    persona
        .fingers
        .iter()
        .find(|f| f.position == position)
        .and_then(|f| f.seed)
        .unwrap()
}

#[test]
fn persona_references_match_their_seeds() {
    let persona = Persona::citizen().unwrap();
    assert_eq!(persona.fingers.len(), 2);
    for f in &persona.fingers {
        let seed = f.seed.expect("the citizen's fingers name their seed");
        let now = compact(seed, 1);
        assert!(
            now == f.template,
            "the reference of finger {} drifted; put this in simulators/personas/citizen.toml:\n\
             [[fingers]]\nposition = {}\nseed = {seed}\ntemplate = \"{}\"\n",
            f.position,
            f.position,
            hex::encode(&now)
        );
    }
}

#[test]
fn bit_group_announces_the_enrolled_fingers() {
    let mut s = citizen();
    let refs = s.biometric_references().unwrap();
    let positions: Vec<_> = refs.iter().map(|r| r.finger_position()).collect();
    assert_eq!(positions, vec![Some(2), Some(7)]);
    assert_eq!(
        refs.iter().map(|r| r.qualifier).collect::<Vec<_>>(),
        vec![RIGHT_INDEX, LEFT_INDEX]
    );
    for r in &refs {
        assert!(r.is_compact_card_fingerprint());
        assert_eq!(
            r.subtype,
            moc::subtype_of_position(r.finger_position().unwrap())
        );
        let p =
            CardParameters::from_algorithm_parameters(r.algorithm_parameters.as_deref().unwrap())
                .unwrap();
        assert_eq!(p, params());
        assert_eq!((p.min_minutiae, p.max_minutiae), (12, 60));
    }
    // The foreign-nationals card has no match-on-card application.
    let mut f = session_of(NationalCard::builtin("foreign-national", true).unwrap());
    assert!(matches!(
        f.biometric_references(),
        Err(SessionError::NotInProfile(_))
    ));
}

#[test]
fn genuine_matches_impostor_spends_a_try_blocking_survives_power_cycles() {
    let mut s = citizen();
    let _ = s.biometric_references().unwrap();
    assert_eq!(
        s.biometric_status(RIGHT_INDEX).unwrap(),
        PinStatus::TriesLeft { tries_left: 5 }
    );
    let genuine = moc::verify_data(&compact(seed_of(2), 2));
    let impostor = moc::verify_data(&compact(seed_of(7), 2));
    assert_eq!(
        s.verify_biometric(RIGHT_INDEX, &genuine).unwrap(),
        BiometricOutcome::Match
    );
    assert!(card(&mut s).biometric_verified(RIGHT_INDEX));
    assert_eq!(
        s.biometric_status(RIGHT_INDEX).unwrap(),
        PinStatus::Verified
    );
    // The other finger's impression is an impostor for the right index.
    assert_eq!(
        s.verify_biometric(RIGHT_INDEX, &impostor).unwrap(),
        BiometricOutcome::NoMatch { tries_left: 4 }
    );
    assert_eq!(card(&mut s).biometric_tries_left(RIGHT_INDEX), Some(4));
    assert_eq!(
        s.biometric_status(RIGHT_INDEX).unwrap(),
        PinStatus::TriesLeft { tries_left: 4 },
        "asking spends nothing"
    );
    // A reset keeps the counter and drops the verification.
    card(&mut s).reset();
    assert_eq!(card(&mut s).biometric_tries_left(RIGHT_INDEX), Some(4));
    let mut s = session_of(std::mem::replace(
        card(&mut s),
        NationalCard::builtin("citizen", true).unwrap(),
    ));
    assert_eq!(
        s.biometric_status(RIGHT_INDEX).unwrap(),
        PinStatus::TriesLeft { tries_left: 4 }
    );
    for left in (0..4).rev() {
        assert_eq!(
            s.verify_biometric(RIGHT_INDEX, &impostor).unwrap(),
            BiometricOutcome::NoMatch { tries_left: left }
        );
    }
    assert_eq!(
        s.verify_biometric(RIGHT_INDEX, &genuine).unwrap(),
        BiometricOutcome::Blocked
    );
    card(&mut s).power_off();
    card(&mut s).power_on();
    assert_eq!(s.biometric_status(RIGHT_INDEX).unwrap(), PinStatus::Blocked);
    assert_eq!(card(&mut s).biometric_tries_left(RIGHT_INDEX), Some(0));
    // The other finger is untouched.
    assert_eq!(
        s.verify_biometric(LEFT_INDEX, &impostor).unwrap(),
        BiometricOutcome::Match
    );
    // An unknown reference.
    assert!(matches!(
        s.verify_biometric(0x93, &genuine),
        Err(SessionError::Status { sw, .. }) if sw.value() == 0x6A88
    ));
}

#[test]
fn malformed_probes_are_refused_without_spending_a_try() {
    let mut s = citizen();
    let _ = s.biometric_references().unwrap();
    let good = compact(seed_of(2), 2);
    let verify = |data: Vec<u8>| Command::new(0x00, 0x20, 0x00, RIGHT_INDEX).with_data(data);
    let mut unordered = good.chunks(3).rev().flatten().copied().collect::<Vec<u8>>();
    if unordered == good {
        unordered.clear();
    }
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (vec![0x7F, 0x2E, 0x05, 0x81, 0x03, 1], 0x6A80), // bad TLV
        (vec![0x5F, 0x2E, 0x01, 0x00], 0x6A80),          // not 7F2E
        (moc::verify_data(&good[..good.len() - 1]), 0x6700), // not 3n bytes
        (moc::verify_data(&good[..11 * 3]), 0x6A80),     // too few
        (
            moc::verify_data(&[good.clone(), good.clone()].concat()[..61 * 3]),
            0x6A80,
        ), // too many
        (moc::verify_data(&[[1u8, 2, 0xC5]; 20].concat()), 0x6A80), // reserved type
        (moc::verify_data(&unordered), 0x6A80),          // out of the announced order
    ];
    for (data, sw) in cases {
        assert_eq!(raw(&mut s, verify(data)), sw);
        assert_eq!(card(&mut s).biometric_tries_left(RIGHT_INDEX), Some(5));
    }
    // P1 other than 00/FF.
    assert_eq!(
        raw(
            &mut s,
            Command::new(0x00, 0x20, 0x01, RIGHT_INDEX).with_data(moc::verify_data(&good))
        ),
        0x6A86
    );
    assert_eq!(card(&mut s).biometric_tries_left(RIGHT_INDEX), Some(5));
    // GET DATA of the group on the national card answers the same bytes as the session read.
    let r = s
        .channel_mut()
        .transmit(&Command::new(0x00, 0xCA, 0x7F, 0x61).with_le(256))
        .unwrap();
    assert_eq!(r.sw().value(), 0x9000);
    assert_eq!(moc::parse_bit_group(r.data()).unwrap().len(), 2);
}

#[test]
fn enrolment_needs_the_puk_and_then_verifies() {
    let mut s = citizen();
    let reference = moc::verify_data(&compact(3003, 1));
    let probe = moc::verify_data(&compact(3003, 2));
    let q = moc::qualifier_of_position(3).unwrap();
    // Without the PUK: refused.
    assert_eq!(
        raw(
            &mut s,
            Command::new(0x00, 0x24, 0x01, q).with_data(reference.clone())
        ),
        0x6982
    );
    assert!(matches!(
        s.enroll_biometric(q, &Pin::new("00000000"), &reference),
        Err(SessionError::WrongPin { tries_left: 9, .. })
    ));
    s.enroll_biometric(q, &Pin::new("12345678"), &reference)
        .unwrap();
    // The PUK verification served one enrolment.
    assert_eq!(
        raw(
            &mut s,
            Command::new(0x00, 0x24, 0x01, q).with_data(reference.clone())
        ),
        0x6982
    );
    let refs = s.biometric_references().unwrap();
    assert_eq!(refs.len(), 3);
    assert!(
        refs.iter()
            .any(|r| r.qualifier == q && r.finger_position() == Some(3))
    );
    assert_eq!(
        s.verify_biometric(q, &probe).unwrap(),
        BiometricOutcome::Match
    );
}

/// The card's decision and shenas-biometrics' decision off the card, on the same compact
/// templates at the same threshold (FMR 10⁻⁴), for genuine and impostor pairs of a few
/// generated fingers.
#[test]
fn on_card_and_off_card_decisions_agree() {
    let seeds = [4101u64, 4102, 4103];
    let references: Vec<Vec<u8>> = seeds.iter().map(|s| compact(*s, 1)).collect();
    let mut p = personalise::builtin("citizen").unwrap();
    p.fingers = references
        .iter()
        .enumerate()
        .map(|(i, t)| FingerSetup {
            position: u8::try_from(i).unwrap() + 1,
            template: t.clone(),
            tries_left: 5,
        })
        .collect();
    let mut s = session_of(NationalCard::personalised(p).unwrap());
    let _ = s.biometric_references().unwrap();
    let off_card = |probe: &[u8], reference: &[u8]| {
        let f = |b: &[u8]| {
            MatchTemplate::new(&features_from_compact(
                &decode_compact(b).unwrap(),
                416,
                480,
                500,
            ))
        };
        matcher::decision(matcher::score(&f(probe), &f(reference)), FalseMatchRate::E4)
    };
    let (mut matches, mut non_matches, mut genuine_pairs) = (0, 0, 0);
    for (pi, probe_seed) in seeds.iter().enumerate() {
        for impression in [2u32, 3] {
            let probe = compact(*probe_seed, impression);
            for (ri, reference) in references.iter().enumerate() {
                let position = u8::try_from(ri).unwrap() + 1;
                let q = moc::qualifier_of_position(position).unwrap();
                if card(&mut s).biometric_tries_left(q) == Some(1) {
                    // Re-enrol the same reference to restore the counter (PUK-gated).
                    s.enroll_biometric(q, &Pin::new("12345678"), &moc::verify_data(reference))
                        .unwrap();
                }
                let on_card = match s.verify_biometric(q, &moc::verify_data(&probe)).unwrap() {
                    BiometricOutcome::Match => Decision::Match,
                    BiometricOutcome::NoMatch { .. } => Decision::NoMatch,
                    other => panic!("{other:?}"),
                };
                assert_eq!(
                    on_card,
                    off_card(&probe, reference),
                    "probe finger {pi} impression {impression}, reference {ri}"
                );
                assert_eq!(
                    Some(on_card),
                    shenas_simulators::national::moc::off_card_decision(&probe, reference)
                );
                genuine_pairs += usize::from(pi == ri);
                match on_card {
                    Decision::Match => matches += 1,
                    _ => non_matches += 1,
                }
            }
        }
    }
    assert_eq!(genuine_pairs, 6);
    assert_eq!(matches + non_matches, 18);
    // Both decisions occur, so the agreement is not vacuous.
    assert!(matches >= 3, "{matches} matches");
    assert!(non_matches >= 12, "{non_matches} non-matches");
}

/// The counters persist in the card's state file (`<state file>.moc`) across runs of the
/// simulator, like the PIN counters.
#[test]
fn counters_persist_in_the_state_file_across_runs() {
    let dir = std::env::temp_dir().join(format!("shenas-moc-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("card.state");
    let persona = Persona::citizen().unwrap();
    let impostor = moc::verify_data(&compact(seed_of(7), 2));
    {
        let card = NationalCard::from_persona(&persona, true, Some(state.clone())).unwrap();
        let mut s = session_of(card);
        assert_eq!(
            s.verify_biometric(RIGHT_INDEX, &impostor).unwrap(),
            BiometricOutcome::NoMatch { tries_left: 4 }
        );
    }
    let card = NationalCard::from_persona(&persona, true, Some(state.clone())).unwrap();
    assert_eq!(card.biometric_tries_left(RIGHT_INDEX), Some(4));
    assert_eq!(card.biometric_tries_left(LEFT_INDEX), Some(5));
    assert!(dir.join("card.state.moc").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
