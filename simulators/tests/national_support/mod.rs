//! Shared by the national card tests: a personalised card from the simulated PKI, and the
//! host-side steps (SELECT, VERIFY, MSE SET, PSO, device authentication, secure messaging).

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use der::{Decode, Encode};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs8::DecodePublicKey;
use shenas_apdu::{Command, Response, Tag, Tlv, Transport};
use shenas_cards::device_auth::{self, CardKeys};
use shenas_cards::issuer::IssuerMode;
use shenas_cards::profile::pkcs15::{ALG_ECDSA_P256, ALG_RSA_PKCS1, PKCS15_AID};
use shenas_cards::profile::{KeyRole, PinKind, Profile};
use shenas_cards::sm::SecureChannel;
use shenas_simulators::SimulatedTransport;
use shenas_simulators::national::{CardSetup, KeySetup, NationalCard, PinSetup, PrivateKey};
use shenas_simulators::pki::{self, CertHolder, SimulatedPki, Validity};
use zeroize::Zeroizing;

pub const SERIAL: &str = "SH1000000042";
pub const ID_PIN: &[u8] = b"1234";
pub const SIGN_PIN: &[u8] = b"123456";
pub const PUK: &[u8] = b"12345678";
pub const MASTER: [u8; 16] = [0x42; 16];
pub const SN_IFD: [u8; 8] = *b"SHENASIF";

pub type Transport_ = SimulatedTransport<NationalCard>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Ec,
    Rsa,
}

pub fn card_keys() -> CardKeys {
    CardKeys::diversify(&MASTER, SERIAL.as_bytes())
}

fn key(kind: KeyKind, seed: &[u8], rsa_index: usize) -> PrivateKey {
    match kind {
        KeyKind::Ec => PrivateKey::EcP256(pki::p256_key_from_seed(seed).into()),
        KeyKind::Rsa => PrivateKey::Rsa2048(Box::new(pki::rsa_fixture_key(rsa_index).unwrap())),
    }
}

pub fn setup(profile: &'static Profile, kind: KeyKind) -> CardSetup {
    let ca = SimulatedPki::load().unwrap();
    let auth = key(kind, b"test auth", 0);
    let sign = key(kind, b"test sign", 1);
    let holder = CertHolder {
        common_name: "TEST, CITIZEN, 0076229645".to_owned(),
        serial_number: "0076229645".to_owned(),
        given_name: "CITIZEN".to_owned(),
        surname: "TEST".to_owned(),
        country: "IR".to_owned(),
    };
    let (auth_cert, sign_cert) = ca
        .issue_card_certificates(
            &holder,
            &auth.public_key_der().unwrap(),
            &sign.public_key_der().unwrap(),
            Validity::simulated_ca(),
        )
        .unwrap();
    let data_groups = profile
        .data_groups
        .iter()
        .map(|dg| {
            let tag = Tag::from_u32(dg.template).unwrap();
            let filler = Tlv::new(Tag::from_u32(0xDF7F).unwrap(), vec![dg.number; 300]);
            (dg.number, Tlv::constructed(tag, &[filler]).to_bytes())
        })
        .collect();
    CardSetup {
        profile,
        serial: SERIAL.to_owned(),
        data_groups,
        sod: Tlv::new(Tag::from_u32(0x77).unwrap(), vec![0x30; 700]).to_bytes(),
        pins: vec![
            PinSetup {
                kind: PinKind::IdPin,
                digits: Zeroizing::new(ID_PIN.to_vec()),
                tries_left: 3,
            },
            PinSetup {
                kind: PinKind::SignPin,
                digits: Zeroizing::new(SIGN_PIN.to_vec()),
                tries_left: 3,
            },
            PinSetup {
                kind: PinKind::Puk,
                digits: Zeroizing::new(PUK.to_vec()),
                tries_left: 10,
            },
        ],
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
        device_keys: card_keys(),
        extended_length: true,
        state_file: None,
        fingers: Vec::new(),
    }
}

pub fn transport(profile: &'static Profile, kind: KeyKind) -> Transport_ {
    SimulatedTransport::new(NationalCard::new(setup(profile, kind)).unwrap())
}

pub fn send<T: Transport>(t: &mut T, apdu: &[u8]) -> Response {
    Response::parse(&t.transmit(apdu).unwrap()).unwrap()
}

pub fn select_aid<T: Transport>(t: &mut T, aid: &[u8]) {
    let mut cmd = vec![0x00, 0xA4, 0x04, 0x0C, u8::try_from(aid.len()).unwrap()];
    cmd.extend_from_slice(aid);
    assert_eq!(send(t, &cmd).sw().value(), 0x9000, "SELECT {aid:02X?}");
}

pub fn select_pki<T: Transport>(t: &mut T) {
    select_aid(t, PKCS15_AID);
}

/// READ BINARY of the current EF to its end, 256 bytes at a time.
pub fn read_current<T: Transport>(t: &mut T) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let [p1, p2] = u16::try_from(out.len()).unwrap().to_be_bytes();
        let r = send(t, &[0x00, 0xB0, p1, p2, 0x00]);
        match r.sw().value() {
            0x9000 => out.extend_from_slice(r.data()),
            0x6282 => {
                out.extend_from_slice(r.data());
                return out;
            }
            0x6B00 => return out,
            sw => panic!("READ BINARY answered {sw:04X}"),
        }
        if r.data().len() < 256 {
            return out;
        }
    }
}

pub fn pin_block(digits: &[u8]) -> Vec<u8> {
    let mut b = digits.to_vec();
    b.resize(8, 0xFF);
    b
}

/// VERIFY; `None`: no data (ask the status).
pub fn verify<T: Transport>(t: &mut T, reference: u8, digits: Option<&[u8]>) -> u16 {
    let cmd = match digits {
        None => vec![0x00, 0x20, 0x00, reference],
        Some(d) => [vec![0x00, 0x20, 0x00, reference, 8], pin_block(d)].concat(),
    };
    send(t, &cmd).sw().value()
}

pub fn mse<T: Transport>(t: &mut T, template: u8, key_reference: u8, kind: KeyKind) {
    let alg = match kind {
        KeyKind::Ec => ALG_ECDSA_P256,
        KeyKind::Rsa => ALG_RSA_PKCS1,
    };
    let cmd = [
        0x00,
        0x22,
        0x41,
        template,
        6,
        0x80,
        1,
        alg,
        0x84,
        1,
        key_reference,
    ];
    assert_eq!(send(t, &cmd).sw().value(), 0x9000, "MSE SET {template:02X}");
}

pub fn pso_cds<T: Transport>(t: &mut T, input: &[u8]) -> Response {
    let mut cmd = vec![0x00, 0x2A, 0x9E, 0x9A, u8::try_from(input.len()).unwrap()];
    cmd.extend_from_slice(input);
    cmd.push(0x00);
    send(t, &cmd)
}

/// The DigestInfo prefixes of SHA-256 and SHA-384 (RFC 8017, 9.2, note 1).
const SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const SHA384_PREFIX: [u8; 19] = [
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];

pub fn signature_input(kind: KeyKind, hash: &[u8], sha384: bool) -> Vec<u8> {
    match kind {
        KeyKind::Ec => hash.to_vec(),
        KeyKind::Rsa => {
            let prefix = if sha384 { SHA384_PREFIX } else { SHA256_PREFIX };
            [&prefix[..], hash].concat()
        }
    }
}

/// Checks a signature against the public key of a certificate (DER).
pub fn assert_verifies(cert: &[u8], kind: KeyKind, hash: &[u8], sha384: bool, signature: &[u8]) {
    let cert = x509_cert::Certificate::from_der(cert).unwrap();
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .unwrap();
    match kind {
        KeyKind::Ec => {
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki).unwrap();
            let sig = p256::ecdsa::Signature::from_slice(signature).unwrap();
            key.verify_prehash(hash, &sig).unwrap();
        }
        KeyKind::Rsa => {
            let key = rsa::RsaPublicKey::from_public_key_der(&spki).unwrap();
            let scheme = if sha384 {
                rsa::Pkcs1v15Sign::new::<sha2::Sha384>()
            } else {
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>()
            };
            key.verify(scheme, hash, signature).unwrap();
        }
    }
}

/// Device authentication with the card's keys (the issuer's side run here): GET CHALLENGE,
/// MUTUAL AUTHENTICATE; the secure channel of the session.
pub fn authenticate<T: Transport>(t: &mut T) -> SecureChannel {
    let challenge = send(t, &[0x00, 0x84, 0x00, 0x00, 0x08]);
    assert_eq!(challenge.sw().value(), 0x9000);
    let keys = card_keys();
    let (cryptogram, state) = device_auth::terminal_cryptogram(
        &keys,
        SN_IFD,
        challenge.data(),
        device_auth::sn_icc(SERIAL.as_bytes()),
    )
    .unwrap();
    let cmd = [vec![0x00, 0x82, 0x00, 0x00, 0x48], cryptogram, vec![0x00]].concat();
    let answer = send(t, &cmd);
    assert_eq!(answer.sw().value(), 0x9000, "MUTUAL AUTHENTICATE");
    let session = device_auth::check_card_cryptogram(&keys, &state, answer.data()).unwrap();
    SecureChannel::new(session, IssuerMode::CardKeysOnHost)
}

/// One command under secure messaging (the outer answer completed with GET RESPONSE).
pub fn sm_send<T: Transport>(
    t: &mut T,
    sc: &mut SecureChannel,
    cmd: &Command,
) -> Result<Response, shenas_cards::sm::SmError> {
    let wrapped = sc.wrap(cmd)?.to_bytes().unwrap();
    let mut raw = t.transmit(&wrapped).unwrap();
    let mut data = Vec::new();
    while let [.., 0x61, n] = raw.as_slice() {
        let n = *n;
        data.extend_from_slice(&raw[..raw.len() - 2]);
        raw = t.transmit(&[0x00, 0xC0, 0x00, 0x00, n]).unwrap();
    }
    data.extend_from_slice(&raw);
    sc.unwrap(&Response::parse(&data).unwrap())
}
