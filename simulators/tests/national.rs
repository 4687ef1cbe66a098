//! The simulated national ID card and foreign-nationals card in process
//! ([`SimulatedTransport`]): every command of `shenas_simulators::national`, both profiles,
//! both key types; PIN counters across power cycles, blocking, PUK unblock; signatures checked
//! against the certificates' public keys; secure messaging after device authentication.

// Test code: a failed step fails the test at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod national_support;

use national_support::*;
use sha2::{Digest, Sha256, Sha384};
use shenas_apdu::{Command, Response, Transport};
use shenas_cards::profile::pkcs15::{
    AUTH_KEY_REFERENCE, CERT_AUTH_FID, CERT_SIGN_FID, ID_PIN_REFERENCE, PUK_REFERENCE,
    SIGN_KEY_REFERENCE, SIGN_PIN_REFERENCE,
};
use shenas_cards::profile::{KeyRole, PinKind, Profile, foreign, national};
use shenas_simulators::SimCard;
use shenas_simulators::national::NationalCard;

fn both_profiles() -> [&'static Profile; 2] {
    [&national::PROFILE, &foreign::PROFILE]
}

#[test]
fn card_manager_data_and_atr() {
    for profile in both_profiles() {
        let mut t = transport(profile, KeyKind::Ec);
        assert_eq!(t.atr().unwrap(), profile.atr(true));
        let cd = &profile.card_data;
        let get = |t: &mut Transport_, tag: u16| {
            let [p1, p2] = tag.to_be_bytes();
            send(t, &[0x00, 0xCA, p1, p2, 0x00])
        };
        let r = get(&mut t, cd.card_serial);
        assert_eq!((r.data(), r.sw().value()), (SERIAL.as_bytes(), 0x9000));
        assert_eq!(
            get(&mut t, cd.chip_version).data(),
            profile.chip_version.to_bytes()
        );
        assert_eq!(
            get(&mut t, cd.profile_version).data(),
            profile.version.to_bytes()
        );
        assert_eq!(get(&mut t, cd.issuer_id).data(), b"SHENAS");
        assert_eq!(get(&mut t, 0x0123).sw().value(), 0x6A88);
    }
}

#[test]
fn ef_dir_and_unknown_aids_and_instructions() {
    for profile in both_profiles() {
        let mut t = transport(profile, KeyKind::Ec);
        let r = send(&mut t, &[0x00, 0xA4, 0x08, 0x04, 0x02, 0x2F, 0x00, 0x00]);
        assert_eq!(r.sw().value(), 0x9000);
        assert_eq!(r.data()[0], 0x62, "FCP");
        let r = send(&mut t, &[0x00, 0xB0, 0x00, 0x00, 0x00]);
        assert_eq!(r.data(), profile.ef_dir().unwrap());
        // PIV's AID: unknown here.
        let piv = [
            0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0, 0, 0x03, 0x08, 0, 0, 0x10, 0, 0,
        ];
        assert_eq!(send(&mut t, &piv).sw().value(), 0x6A82);
        assert_eq!(send(&mut t, &[0x00, 0x12, 0, 0, 0]).sw().value(), 0x6D00);
        assert_eq!(send(&mut t, &[0x80, 0x20, 0, 0x81]).sw().value(), 0x6E00);
    }
}

#[test]
fn pkcs15_files_and_certificates_readable_without_pin() {
    for profile in both_profiles() {
        for kind in [KeyKind::Ec, KeyKind::Rsa] {
            let mut t = transport(profile, kind);
            select_pki(&mut t);
            for (fid, role) in [
                (CERT_AUTH_FID, KeyRole::Authentication),
                (CERT_SIGN_FID, KeyRole::Signing),
            ] {
                let [a, b] = fid.to_be_bytes();
                let r = send(&mut t, &[0x00, 0xA4, 0x02, 0x04, 0x02, a, b, 0x00]);
                assert_eq!(r.sw().value(), 0x9000);
                assert!(
                    r.data().windows(2).any(|w| w == [0x82, 0x01]),
                    "descriptor 82"
                );
                let cert = read_current(&mut t);
                assert_eq!(Some(cert.as_slice()), t.card().certificate(role));
                assert_eq!(cert[0], 0x30, "DER certificate");
            }
            // Writing is refused.
            assert_eq!(
                send(&mut t, &[0x00, 0xD6, 0x00, 0x00, 0x01, 0x00])
                    .sw()
                    .value(),
                0x6982
            );
        }
    }
}

#[test]
fn identity_needs_secure_messaging() {
    for profile in both_profiles() {
        let mut t = transport(profile, KeyKind::Ec);
        select_aid(&mut t, profile.identity.aid);
        let dg1 = profile.data_group(1).unwrap();
        // Plain READ BINARY of a data group by SFI: security status not satisfied.
        assert_eq!(
            send(&mut t, &[0x00, 0xB0, 0x80 | dg1.sfi, 0, 0])
                .sw()
                .value(),
            0x6982
        );
        // SM command before any authentication.
        let mut sc = authenticate(&mut t);
        let expected = t
            .card()
            .ef_content(&[profile.identity.df_fid, dg1.fid])
            .unwrap()
            .to_vec();
        assert!(!expected.is_empty());
        let read = Command::new(0x00, 0xB0, 0x80 | dg1.sfi, 0x00).with_le(256);
        let r = sm_send(&mut t, &mut sc, &read).unwrap();
        assert_eq!(r.sw().value(), 0x9000);
        assert_eq!(r.data(), expected.get(..expected.len().min(256)).unwrap());
        // Every data group and EF.SOD, read whole under SM.
        for file in profile.identity.files {
            let sfi = file.sfi.unwrap();
            let mut got = Vec::new();
            loop {
                let offset = u16::try_from(got.len()).unwrap();
                let cmd = if offset == 0 {
                    Command::new(0x00, 0xB0, 0x80 | sfi, 0).with_le(256)
                } else {
                    let [p1, p2] = offset.to_be_bytes();
                    Command::new(0x00, 0xB0, p1, p2).with_le(256)
                };
                let r = sm_send(&mut t, &mut sc, &cmd).unwrap();
                got.extend_from_slice(r.data());
                if r.sw().value() != 0x9000 || r.data().len() < 256 {
                    break;
                }
            }
            assert_eq!(
                Some(got.as_slice()),
                t.card().ef_content(&[profile.identity.df_fid, file.fid]),
                "{}",
                file.name
            );
        }
        // Plain READ BINARY is still refused while the session is open.
        assert_eq!(
            send(&mut t, &[0x00, 0xB0, 0x80 | dg1.sfi, 0, 0])
                .sw()
                .value(),
            0x6982
        );
        // A bad MAC: 6988 and the session is dropped.
        let mut wrapped = sc.wrap(&read).unwrap().to_bytes().unwrap();
        let n = wrapped.len();
        wrapped[n - 3] ^= 1;
        assert_eq!(send(&mut t, &wrapped).sw().value(), 0x6988);
        assert!(!t.card().has_secure_session());
        let mut sc2 = sc;
        let again = sc2.wrap(&read);
        if let Ok(again) = again {
            assert_eq!(
                send(&mut t, &again.to_bytes().unwrap()).sw().value(),
                0x6988
            );
        }
        // A new authentication works; a reset drops it.
        let mut sc = authenticate(&mut t);
        assert!(sm_send(&mut t, &mut sc, &read).unwrap().sw().is_success());
        t.reset().unwrap();
        assert!(!t.card().has_secure_session());
    }
}

#[test]
fn mutual_authenticate_needs_a_fresh_challenge_and_the_right_keys() {
    let mut t = transport(&national::PROFILE, KeyKind::Ec);
    // No challenge: conditions not satisfied.
    let cmd = [
        vec![0x00, 0x82, 0x00, 0x00, 0x48],
        vec![0; 0x48],
        vec![0x00],
    ]
    .concat();
    assert_eq!(send(&mut t, &cmd).sw().value(), 0x6985);
    // Keys of another card: authentication failed.
    let r = send(&mut t, &[0x00, 0x84, 0x00, 0x00, 0x08]);
    let wrong = shenas_cards::device_auth::CardKeys::diversify(&[9; 16], SERIAL.as_bytes());
    let (cryptogram, _) = shenas_cards::device_auth::terminal_cryptogram(
        &wrong,
        SN_IFD,
        r.data(),
        shenas_cards::device_auth::sn_icc(SERIAL.as_bytes()),
    )
    .unwrap();
    let cmd = [vec![0x00, 0x82, 0x00, 0x00, 0x48], cryptogram, vec![0x00]].concat();
    assert_eq!(send(&mut t, &cmd).sw().value(), 0x6300);
    // The challenge was used up.
    assert_eq!(send(&mut t, &cmd).sw().value(), 0x6985);
}

#[test]
fn verify_reports_tries_without_spending_and_blocks() {
    for profile in both_profiles() {
        let mut t = transport(profile, KeyKind::Ec);
        assert_eq!(verify(&mut t, ID_PIN_REFERENCE, None), 0x63C3);
        assert_eq!(verify(&mut t, ID_PIN_REFERENCE, Some(b"0000")), 0x63C2);
        assert_eq!(verify(&mut t, ID_PIN_REFERENCE, None), 0x63C2);
        // Counters survive power cycles.
        t.simulated_card_mut().power_off();
        t.simulated_card_mut().power_on();
        assert_eq!(verify(&mut t, ID_PIN_REFERENCE, None), 0x63C2);
        assert_eq!(verify(&mut t, ID_PIN_REFERENCE, Some(ID_PIN)), 0x9000);
        assert_eq!(verify(&mut t, ID_PIN_REFERENCE, None), 0x9000);
        // Verification does not survive a reset.
        t.reset().unwrap();
        assert_eq!(verify(&mut t, ID_PIN_REFERENCE, None), 0x63C3);
        for left in [2u16, 1, 0] {
            assert_eq!(
                verify(&mut t, ID_PIN_REFERENCE, Some(b"9999")),
                0x63C0 | left
            );
        }
        assert_eq!(verify(&mut t, ID_PIN_REFERENCE, Some(ID_PIN)), 0x6983);
        assert_eq!(verify(&mut t, ID_PIN_REFERENCE, None), 0x6983);
        t.simulated_card_mut().power_off();
        assert_eq!(
            verify(&mut t, ID_PIN_REFERENCE, None),
            0x6983,
            "still blocked after a power cycle"
        );
        // PUK unblock with a new PIN.
        let puk = pin_block(PUK);
        let mut data = puk.clone();
        data.extend(pin_block(b"4321"));
        let mut cmd = vec![
            0x00,
            0x2C,
            0x00,
            ID_PIN_REFERENCE,
            u8::try_from(data.len()).unwrap(),
        ];
        cmd.extend(&data);
        assert_eq!(send(&mut t, &cmd).sw().value(), 0x9000);
        assert_eq!(verify(&mut t, ID_PIN_REFERENCE, None), 0x63C3);
        assert_eq!(
            verify(&mut t, ID_PIN_REFERENCE, Some(ID_PIN)),
            0x63C2,
            "the old PIN is gone"
        );
        assert_eq!(verify(&mut t, ID_PIN_REFERENCE, Some(b"4321")), 0x9000);
        // A wrong PUK costs a PUK try.
        let mut bad = pin_block(b"00000000");
        bad.extend(pin_block(b"432100"));
        let mut cmd = vec![0x00, 0x2C, 0x00, SIGN_PIN_REFERENCE, 16];
        cmd.extend(&bad);
        assert_eq!(send(&mut t, &cmd).sw().value(), 0x63C9);
        assert_eq!(t.card().pin_tries_left(PinKind::Puk), Some(9));
        assert_eq!(verify(&mut t, PUK_REFERENCE, None), 0x63C9);
    }
}

#[test]
fn change_reference_data() {
    let mut t = transport(&foreign::PROFILE, KeyKind::Ec);
    let mut data = pin_block(SIGN_PIN);
    data.extend(pin_block(b"87654321"));
    let mut cmd = vec![0x00, 0x24, 0x00, SIGN_PIN_REFERENCE, 16];
    cmd.extend(&data);
    assert_eq!(send(&mut t, &cmd).sw().value(), 0x9000);
    assert_eq!(
        send(&mut t, &cmd).sw().value(),
        0x63C2,
        "the current PIN changed"
    );
    assert_eq!(
        verify(&mut t, SIGN_PIN_REFERENCE, Some(b"87654321")),
        0x9000
    );
    assert_eq!(
        send(
            &mut t,
            &[0x00, 0x24, 0x00, SIGN_PIN_REFERENCE, 2, 0x31, 0x32]
        )
        .sw()
        .value(),
        0x6700
    );
}

#[test]
fn pso_cds_signs_with_the_signing_key_once_per_pin_entry() {
    for profile in both_profiles() {
        for kind in [KeyKind::Ec, KeyKind::Rsa] {
            let mut t = transport(profile, kind);
            let hash = Sha256::digest(b"a document").to_vec();
            let input = signature_input(kind, &hash, false);
            // Without MSE SET: conditions not satisfied.
            select_pki(&mut t);
            assert_eq!(pso_cds(&mut t, &input).sw().value(), 0x6985);
            mse(&mut t, 0xB6, SIGN_KEY_REFERENCE, kind);
            // Without the SIGN PIN: security status not satisfied.
            assert_eq!(pso_cds(&mut t, &input).sw().value(), 0x6982);
            // The ID PIN is not enough.
            assert_eq!(verify(&mut t, ID_PIN_REFERENCE, Some(ID_PIN)), 0x9000);
            assert_eq!(pso_cds(&mut t, &input).sw().value(), 0x6982);
            assert_eq!(verify(&mut t, SIGN_PIN_REFERENCE, Some(SIGN_PIN)), 0x9000);
            let r = pso_cds(&mut t, &input);
            assert_eq!(r.sw().value(), 0x9000);
            let cert = t.card().certificate(KeyRole::Signing).unwrap().to_vec();
            assert_verifies(&cert, kind, &hash, false, r.data());
            // One signature per PIN entry.
            assert_eq!(pso_cds(&mut t, &input).sw().value(), 0x6982);
            assert_eq!(verify(&mut t, SIGN_PIN_REFERENCE, None), 0x63C3);
            // SHA-384.
            let hash384 = Sha384::digest(b"a document").to_vec();
            assert_eq!(verify(&mut t, SIGN_PIN_REFERENCE, Some(SIGN_PIN)), 0x9000);
            let r = pso_cds(&mut t, &signature_input(kind, &hash384, true));
            assert_eq!(r.sw().value(), 0x9000);
            assert_verifies(&cert, kind, &hash384, true, r.data());
            // A wrong input length is refused and spends no verification.
            assert_eq!(verify(&mut t, SIGN_PIN_REFERENCE, Some(SIGN_PIN)), 0x9000);
            assert_eq!(pso_cds(&mut t, &[0; 20]).sw().value(), 0x6A80);
            assert_eq!(verify(&mut t, SIGN_PIN_REFERENCE, None), 0x9000);
            // The authentication key is not a signing key for MSE SET DST.
            let mut cmd = vec![0x00, 0x22, 0x41, 0xB6, 3, 0x84, 1, AUTH_KEY_REFERENCE];
            assert_eq!(send(&mut t, &cmd).sw().value(), 0x6A88);
            cmd[7] = 0x99;
            assert_eq!(send(&mut t, &cmd).sw().value(), 0x6A88);
        }
    }
}

#[test]
fn mse_needs_the_pki_application_and_is_volatile() {
    let mut t = transport(&national::PROFILE, KeyKind::Ec);
    select_aid(&mut t, national::PROFILE.identity.aid);
    let cmd = [
        0x00,
        0x22,
        0x41,
        0xB6,
        6,
        0x80,
        1,
        0x04,
        0x84,
        1,
        SIGN_KEY_REFERENCE,
    ];
    assert_eq!(send(&mut t, &cmd).sw().value(), 0x6A88);
    select_pki(&mut t);
    assert_eq!(send(&mut t, &cmd).sw().value(), 0x9000);
    // An algorithm of the other key type is refused.
    let rsa = [
        0x00,
        0x22,
        0x41,
        0xB6,
        6,
        0x80,
        1,
        0x02,
        0x84,
        1,
        SIGN_KEY_REFERENCE,
    ];
    assert_eq!(send(&mut t, &rsa).sw().value(), 0x6A80);
    t.reset().unwrap();
    assert_eq!(verify(&mut t, SIGN_PIN_REFERENCE, Some(SIGN_PIN)), 0x9000);
    assert_eq!(
        pso_cds(&mut t, &[0; 32]).sw().value(),
        0x6985,
        "the SE did not survive the reset"
    );
}

#[test]
fn internal_authenticate_needs_the_id_pin() {
    for profile in both_profiles() {
        for kind in [KeyKind::Ec, KeyKind::Rsa] {
            let mut t = transport(profile, kind);
            select_pki(&mut t);
            let hash = Sha256::digest(b"challenge from a web page").to_vec();
            let input = signature_input(kind, &hash, false);
            let mut cmd = vec![0x00, 0x88, 0x00, 0x00, u8::try_from(input.len()).unwrap()];
            cmd.extend(&input);
            cmd.push(0x00);
            assert_eq!(send(&mut t, &cmd).sw().value(), 0x6985, "no MSE SET AT");
            mse(&mut t, 0xA4, AUTH_KEY_REFERENCE, kind);
            assert_eq!(send(&mut t, &cmd).sw().value(), 0x6982);
            assert_eq!(verify(&mut t, SIGN_PIN_REFERENCE, Some(SIGN_PIN)), 0x9000);
            assert_eq!(
                send(&mut t, &cmd).sw().value(),
                0x6982,
                "the SIGN PIN is not the ID PIN"
            );
            assert_eq!(verify(&mut t, ID_PIN_REFERENCE, Some(ID_PIN)), 0x9000);
            let cert = t
                .card()
                .certificate(KeyRole::Authentication)
                .unwrap()
                .to_vec();
            for _ in 0..2 {
                let r = send(&mut t, &cmd);
                assert_eq!(r.sw().value(), 0x9000, "the ID PIN stays verified");
                assert_verifies(&cert, kind, &hash, false, r.data());
            }
            // The key reference in P2 works without MSE SET.
            t.reset().unwrap();
            select_pki(&mut t);
            assert_eq!(verify(&mut t, ID_PIN_REFERENCE, Some(ID_PIN)), 0x9000);
            cmd[3] = AUTH_KEY_REFERENCE;
            let r = send(&mut t, &cmd);
            assert_eq!(r.sw().value(), 0x9000);
            assert_verifies(&cert, kind, &hash, false, r.data());
        }
    }
}

#[test]
fn answers_come_in_61xx_parts_with_short_le() {
    let mut t = transport(&national::PROFILE, KeyKind::Rsa);
    select_pki(&mut t);
    mse(&mut t, 0xB6, SIGN_KEY_REFERENCE, KeyKind::Rsa);
    assert_eq!(verify(&mut t, SIGN_PIN_REFERENCE, Some(SIGN_PIN)), 0x9000);
    let input = signature_input(KeyKind::Rsa, &Sha256::digest(b"x"), false);
    let mut cmd = vec![0x00, 0x2A, 0x9E, 0x9A, u8::try_from(input.len()).unwrap()];
    cmd.extend(&input);
    cmd.push(0x80);
    let raw = t.transmit(&cmd).unwrap();
    assert_eq!(raw.len(), 0x80 + 2);
    assert_eq!(&raw[0x80..], [0x61, 0x80]);
    let rest = t.transmit(&[0x00, 0xC0, 0x00, 0x00, 0x80]).unwrap();
    assert_eq!(&rest[0x80..], [0x90, 0x00]);
}

#[test]
fn state_file_keeps_counters_across_cards() {
    let dir = std::env::temp_dir().join(format!("shenas-national-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("citizen.state");
    let _ = std::fs::remove_file(&file);
    let mut setup_ = setup(&national::PROFILE, KeyKind::Ec);
    setup_.state_file = Some(file.clone());
    let mut t = shenas_simulators::SimulatedTransport::new(NationalCard::new(setup_).unwrap());
    assert_eq!(verify(&mut t, SIGN_PIN_REFERENCE, Some(b"000000")), 0x63C2);
    drop(t);
    let mut setup_ = setup(&national::PROFILE, KeyKind::Ec);
    setup_.state_file = Some(file.clone());
    let mut t = shenas_simulators::SimulatedTransport::new(NationalCard::new(setup_).unwrap());
    assert_eq!(verify(&mut t, SIGN_PIN_REFERENCE, None), 0x63C2);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(std::str::from_utf8(SIGN_PIN).unwrap()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn never_panics_on_garbage() {
    let mut card = NationalCard::new(setup(&national::PROFILE, KeyKind::Ec)).unwrap();
    let mut seed = 0x1234_5678_u32;
    for _ in 0..3000 {
        let mut apdu = Vec::new();
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let len = (seed >> 16) % 40;
        let ins = [
            0x20, 0x22, 0x24, 0x2A, 0x2C, 0x82, 0x84, 0x88, 0xA4, 0xB0, 0xCA, 0xC0,
        ];
        for i in 0..len {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let b = seed.to_be_bytes()[1];
            apdu.push(match i {
                0 => [0x00, 0x0C, 0x10, b][usize::from(b % 4)],
                1 => ins[usize::from(b) % ins.len()],
                _ => b,
            });
        }
        let r = SimCard::process(&mut card, &apdu);
        assert!(r.len() >= 2);
    }
}

#[test]
fn response_of_a_plain_transport() {
    // The card answers through the Transport trait like any other; Response parses it.
    let mut t = transport(&national::PROFILE, KeyKind::Ec);
    let raw = t.transmit(&[0x00, 0xCA, 0x00, 0x45, 0x00]).unwrap();
    assert_eq!(Response::parse(&raw).unwrap().data(), SERIAL.as_bytes());
}

#[test]
fn builtin_personas() {
    use shenas_cards::profile::identity::{DataGroups, Identity};
    for name in shenas_simulators::national::personalise::BUILTIN_NAMES {
        let card = NationalCard::builtin(name, true).unwrap();
        let profile = card.profile();
        // The data groups decode back into a valid identity of the card's profile.
        let mut groups = DataGroups::new();
        for dg in profile.data_groups {
            groups.insert(
                dg.number,
                card.ef_content(&[profile.identity.df_fid, dg.fid])
                    .unwrap()
                    .to_vec(),
            );
        }
        assert!(Identity::decode(profile.id, &groups).is_ok(), "{name}");
        assert!(card.certificate(KeyRole::Authentication).is_some());
        let mut t = shenas_simulators::SimulatedTransport::new(card);
        let expected = if name == "citizen-blocked-pin" {
            0x6983
        } else {
            0x63C3
        };
        assert_eq!(verify(&mut t, ID_PIN_REFERENCE, None), expected, "{name}");
    }
    assert!(NationalCard::builtin("nobody", true).is_err());
}
