//! The host's PKI against the simulated PKI: certificate validation (chain, dates, usages,
//! foreign root, malformed), passive authentication of EF.SOD (valid, tampered, missing and
//! extra groups, wrong and expired document signer, truncated), and detached CAdES-BES
//! signatures checked by the `openssl cms -verify` binary for ECDSA P-256 and RSA-2048 "cards".

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::EncodePublicKey;
use rsa::Pkcs1v15Sign;
use shenas_cards::pki::{
    CadesError, HashAlgorithm, PaFailure, Purpose, TrustAnchors, build_sod, passive_authentication,
    sign_detached, validate, verify_detached, verify_prehash,
};
use shenas_simulators::pki::{
    CertHolder, SimulatedPki, SimulatedPkiError, Validity, p256_key_from_seed, rsa_fixture_key,
};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// 2027-01-15, inside every simulated CA's validity.
fn now() -> SystemTime {
    at(1_800_000_000)
}

fn holder() -> CertHolder {
    CertHolder {
        common_name: "REZAEI, ALI, 0076229645".into(),
        serial_number: "0076229645".into(),
        given_name: "علی".into(),
        surname: "رضایی".into(),
        country: "IR".into(),
    }
}

fn card_validity() -> Validity {
    Validity {
        not_before: at(1_750_000_000), // 2025-06
        not_after: at(1_900_000_000),  // 2030-03
    }
}

struct Card {
    auth_key: p256::ecdsa::SigningKey,
    sign_key: p256::ecdsa::SigningKey,
    auth_cert: Vec<u8>,
    sign_cert: Vec<u8>,
}

fn p256_card(pki: &SimulatedPki, validity: Validity) -> Card {
    let auth_key = p256::ecdsa::SigningKey::from(p256_key_from_seed(b"test card auth"));
    let sign_key = p256::ecdsa::SigningKey::from(p256_key_from_seed(b"test card sign"));
    let (auth_cert, sign_cert) = pki
        .issue_card_certificates(
            &holder(),
            auth_key
                .verifying_key()
                .to_public_key_der()
                .unwrap()
                .as_bytes(),
            sign_key
                .verifying_key()
                .to_public_key_der()
                .unwrap()
                .as_bytes(),
            validity,
        )
        .unwrap();
    Card {
        auth_key,
        sign_key,
        auth_cert,
        sign_cert,
    }
}

#[test]
fn chain_validates_for_each_purpose() {
    let pki = SimulatedPki::load().unwrap();
    let card = p256_card(&pki, card_validity());
    let anchors = TrustAnchors::simulated();
    let inter = [pki.intermediate_certificate_der()];
    let auth = validate(
        &card.auth_cert,
        &inter,
        &anchors,
        Purpose::Authentication,
        now(),
    )
    .unwrap();
    assert!(auth.simulated_trust);
    assert_eq!(auth.issuers.len(), 2);
    assert!(
        auth.anchor()
            .unwrap()
            .subject
            .contains("Shenas Simulated National Root CA")
    );
    assert!(
        auth.issuers[0]
            .subject
            .contains("Shenas Simulated Governmental Intermediate CA")
    );
    let sign = validate(
        &card.sign_cert,
        &inter,
        &anchors,
        Purpose::NonRepudiation,
        now(),
    )
    .unwrap();
    assert_eq!(auth.end_entity.subject, sign.end_entity.subject);
    assert_eq!(auth.end_entity.issuer, sign.end_entity.issuer);
    // Extra, unrelated intermediates do not disturb path building.
    let extra = [
        pki.other_root_certificate_der(),
        pki.intermediate_certificate_der(),
    ];
    validate(
        &card.auth_cert,
        &extra,
        &anchors,
        Purpose::Authentication,
        now(),
    )
    .unwrap();
    // The certificate's Debug does not show the holder.
    assert!(!format!("{:?}", auth.end_entity).contains("0076229645"));
}

#[test]
fn card_signature_verifies_against_its_certificate() {
    let pki = SimulatedPki::load().unwrap();
    let card = p256_card(&pki, card_validity());
    let info = shenas_cards::pki::CertificateInfo::parse(&card.sign_cert).unwrap();
    let digest = HashAlgorithm::Sha256.digest(b"a document");
    let sig: p256::ecdsa::Signature = card.sign_key.sign_prehash(&digest).unwrap();
    verify_prehash(
        &info.spki_der,
        HashAlgorithm::Sha256,
        &digest,
        &sig.to_bytes(),
    )
    .unwrap();
    // The authentication key's signature does not verify with the signing certificate.
    let other: p256::ecdsa::Signature = card.auth_key.sign_prehash(&digest).unwrap();
    assert!(
        verify_prehash(
            &info.spki_der,
            HashAlgorithm::Sha256,
            &digest,
            &other.to_bytes()
        )
        .is_err()
    );
    // RSA: the card signs a DigestInfo.
    let rsa_key = rsa_fixture_key(0).unwrap();
    let rsa_spki = rsa_key.to_public_key().to_public_key_der().unwrap();
    let s = rsa_key
        .sign(Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
        .unwrap();
    verify_prehash(rsa_spki.as_bytes(), HashAlgorithm::Sha256, &digest, &s).unwrap();
    assert!(verify_prehash(rsa_spki.as_bytes(), HashAlgorithm::Sha256, &[0; 32], &s).is_err());
}

#[test]
fn expired_and_not_yet_valid() {
    let pki = SimulatedPki::load().unwrap();
    let inter = [pki.intermediate_certificate_der()];
    let anchors = TrustAnchors::simulated();
    let expired = p256_card(
        &pki,
        Validity {
            not_before: at(1_735_689_600),
            not_after: at(1_750_000_000),
        },
    );
    let e = validate(
        &expired.auth_cert,
        &inter,
        &anchors,
        Purpose::Authentication,
        now(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "expired");
    assert!(e.to_string().contains("2025-06-15"), "{e}");
    let future = p256_card(
        &pki,
        Validity {
            not_before: at(1_900_000_000),
            not_after: at(2_000_000_000),
        },
    );
    let e = validate(
        &future.sign_cert,
        &inter,
        &anchors,
        Purpose::NonRepudiation,
        now(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "not_yet_valid");
    // A CA out of its validity: the chain fails at depth 1 or 2.
    let card = p256_card(&pki, card_validity());
    let e = validate(
        &card.auth_cert,
        &inter,
        &anchors,
        Purpose::Any,
        at(2_400_000_000),
    )
    .unwrap_err();
    assert_eq!(e.code(), "expired");
}

#[test]
fn foreign_root_missing_intermediate_and_tampering() {
    let pki = SimulatedPki::load().unwrap();
    let anchors = TrustAnchors::simulated();
    let inter = [pki.intermediate_certificate_der()];
    let k = p256_key_from_seed(b"foreign")
        .public_key()
        .to_public_key_der()
        .unwrap();
    let (foreign, _) = pki
        .issue_with_other_root(&holder(), k.as_bytes(), k.as_bytes(), card_validity())
        .unwrap();
    let e = validate(&foreign, &inter, &anchors, Purpose::Authentication, now()).unwrap_err();
    assert_eq!(e.code(), "unknown_issuer");
    assert!(e.to_string().contains("Other Root"), "{e}");

    let card = p256_card(&pki, card_validity());
    let e = validate(
        &card.auth_cert,
        &[],
        &anchors,
        Purpose::Authentication,
        now(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "unknown_issuer");

    // Change the last byte of the signature.
    let mut bad = card.auth_cert.clone();
    if let Some(b) = bad.last_mut() {
        *b ^= 0x01;
    }
    let e = validate(&bad, &inter, &anchors, Purpose::Authentication, now()).unwrap_err();
    assert_eq!(e.code(), "bad_signature");

    // No anchors at all.
    let e = validate(
        &card.auth_cert,
        &inter,
        &TrustAnchors::empty(),
        Purpose::Any,
        now(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "unknown_issuer");
}

#[test]
fn wrong_key_usage_for_purpose() {
    let pki = SimulatedPki::load().unwrap();
    let card = p256_card(&pki, card_validity());
    let anchors = TrustAnchors::simulated();
    let inter = [pki.intermediate_certificate_der()];
    let e = validate(
        &card.sign_cert,
        &inter,
        &anchors,
        Purpose::Authentication,
        now(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "wrong_key_usage");
    let e = validate(
        &card.auth_cert,
        &inter,
        &anchors,
        Purpose::NonRepudiation,
        now(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "wrong_key_usage");
    assert!(e.to_string().contains("nonRepudiation"), "{e}");
    // A CA certificate as an end entity has neither usage.
    let e = validate(
        pki.intermediate_certificate_der(),
        &[],
        &anchors,
        Purpose::Authentication,
        now(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "wrong_key_usage");
}

#[test]
fn malformed_der() {
    let pki = SimulatedPki::load().unwrap();
    let card = p256_card(&pki, card_validity());
    let anchors = TrustAnchors::simulated();
    for bad in [
        &card.auth_cert[..card.auth_cert.len() / 2],
        &[][..],
        &[0x30, 0x82, 0xFF, 0xFF][..],
        b"not a certificate",
    ] {
        let e = validate(bad, &[], &anchors, Purpose::Any, now()).unwrap_err();
        assert_eq!(e.code(), "malformed");
    }
}

#[test]
fn anchors_from_files_and_the_simulated_flag() {
    let pki = SimulatedPki::load().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.der");
    std::fs::write(&other, pki.other_root_certificate_der()).unwrap();
    let sim = dir.path().join("root.pem");
    std::fs::write(&sim, shenas_cards::pki::x509::SIMULATED_ROOT_PEM).unwrap();

    let real = TrustAnchors::from_files(&[&other]).unwrap();
    assert!(!real.is_simulated());
    assert_eq!(real.len(), 1);
    let card = p256_card(&pki, card_validity());
    let inter = [pki.intermediate_certificate_der()];
    let e = validate(
        &card.auth_cert,
        &inter,
        &real,
        Purpose::Authentication,
        now(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "unknown_issuer");

    let both = TrustAnchors::from_files(&[&other, &sim]).unwrap();
    assert!(both.is_simulated());
    assert_eq!(both.len(), 2);
    assert!(
        validate(
            &card.auth_cert,
            &inter,
            &both,
            Purpose::Authentication,
            now()
        )
        .unwrap()
        .simulated_trust
    );
}

fn groups() -> Vec<(u8, Vec<u8>)> {
    vec![
        (1, b"\x61\x0A\x5F\x1F\x070076229645".to_vec()),
        (
            2,
            "\u{0639}\u{0644}\u{06cc} \u{0631}\u{0636}\u{0627}\u{06cc}\u{06cc}"
                .as_bytes()
                .to_vec(),
        ),
        (5, vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]),
    ]
}

fn sod_with(ds: &shenas_simulators::pki::DocumentSigner, groups: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let g: Vec<(u8, &[u8])> = groups.iter().map(|(n, c)| (*n, c.as_slice())).collect();
    build_sod(&g, ds.certificate_der(), |attrs| ds.sign(attrs)).unwrap()
}

fn pa(sod: &[u8], groups: &[(u8, Vec<u8>)]) -> shenas_cards::pki::PassiveAuthentication {
    let g: Vec<(u8, &[u8])> = groups.iter().map(|(n, c)| (*n, c.as_slice())).collect();
    passive_authentication(sod, &g, &TrustAnchors::simulated(), now())
}

fn code(p: &shenas_cards::pki::PassiveAuthentication) -> Option<&'static str> {
    p.failure.as_ref().map(PaFailure::code)
}

#[test]
fn passive_authentication_valid_and_tampered() {
    let pki = SimulatedPki::load().unwrap();
    let ds = pki.document_signer();
    let sod = sod_with(&ds, &groups());
    assert_eq!(sod.first(), Some(&0x77));
    let ok = pa(&sod, &groups());
    assert!(ok.valid, "{:?}", ok.reason);
    assert!(ok.reason.is_none());
    assert!(ok.simulated_trust);
    assert!(
        ok.document_signer
            .as_ref()
            .unwrap()
            .subject
            .contains("Shenas Simulated Document Signer")
    );
    // Without the '77' wrapper too.
    let contents = shenas_cards::pki::sod::parse_sod(&sod).unwrap();
    assert_eq!(contents.lds.data_group_hash_values.len(), 3);
    assert_eq!(contents.hash, HashAlgorithm::Sha256);

    // A tampered data group.
    let mut tampered = groups();
    tampered[1].1[0] ^= 0x01;
    let r = pa(&sod, &tampered);
    assert!(!r.valid);
    assert_eq!(code(&r), Some("data_group_hash_mismatch"));
    assert!(r.reason.as_deref().unwrap().contains("data group 2"));

    // A missing and an extra data group.
    let r = pa(&sod, &groups()[..2]);
    assert_eq!(code(&r), Some("data_group_missing"));
    let mut extra = groups();
    extra.push((7, b"extra".to_vec()));
    let r = pa(&sod, &extra);
    assert_eq!(code(&r), Some("data_group_not_in_sod"));
    let mut dup = groups();
    dup.push((1, groups()[0].1.clone()));
    assert_eq!(code(&pa(&sod, &dup)), Some("duplicate_data_group"));

    // A tampered byte inside the signed LDSSecurityObject: the message digest no longer matches.
    let lds_hash = HashAlgorithm::Sha256.digest(&groups()[0].1);
    let pos = sod
        .windows(lds_hash.len())
        .position(|w| w == lds_hash.as_slice())
        .unwrap();
    let mut bad = sod.clone();
    bad[pos] ^= 0x01;
    assert_eq!(code(&pa(&bad, &groups())), Some("message_digest_mismatch"));

    // Truncated EF.SOD.
    for len in [0, 1, 10, sod.len() / 2, sod.len() - 1] {
        let r = pa(&sod[..len], &groups());
        assert!(!r.valid);
        assert_eq!(code(&r), Some("malformed_sod"), "length {len}");
    }
    // A tampered signature.
    let mut bad = sod.clone();
    let n = bad.len();
    bad[n - 3] ^= 0x01;
    assert!(!pa(&bad, &groups()).valid);
}

#[test]
fn passive_authentication_wrong_and_expired_document_signer() {
    let pki = SimulatedPki::load().unwrap();
    // Signed by a document signer of the other root.
    let foreign = pki
        .document_signer_with(true, Validity::simulated_ca())
        .unwrap();
    let r = pa(&sod_with(&foreign, &groups()), &groups());
    assert!(!r.valid);
    assert_eq!(code(&r), Some("document_signer_invalid"));
    assert!(
        r.reason
            .as_deref()
            .unwrap()
            .starts_with("document_signer_invalid: unknown_issuer")
    );
    // Expired document signer.
    let expired = pki
        .document_signer_with(
            false,
            Validity {
                not_before: at(1_735_689_600),
                not_after: at(1_760_000_000),
            },
        )
        .unwrap();
    let r = pa(&sod_with(&expired, &groups()), &groups());
    assert_eq!(code(&r), Some("document_signer_invalid"));
    assert!(
        r.reason
            .as_deref()
            .unwrap()
            .starts_with("document_signer_invalid: expired")
    );
    // The genuine document signer, but a configuration trusting only the other root.
    let sod = sod_with(&pki.document_signer(), &groups());
    let owned = groups();
    let g: Vec<(u8, &[u8])> = owned.iter().map(|(n, c)| (*n, c.as_slice())).collect();
    let other = TrustAnchors::from_der(pki.other_root_certificate_der()).unwrap();
    let r = passive_authentication(&sod, &g, &other, now());
    assert_eq!(code(&r), Some("document_signer_invalid"));
    // A signer whose signature does not match its certificate is refused by the builder.
    let wrong = pki
        .document_signer_with(false, Validity::simulated_ca())
        .unwrap();
    let e = build_sod(&g, wrong.certificate_der(), |_| {
        Ok::<_, SimulatedPkiError>(vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])
    });
    assert!(e.is_err());
}

fn openssl_verify(
    dir: &std::path::Path,
    doc: &std::path::Path,
    p7s: &std::path::Path,
    root: &std::path::Path,
) -> std::process::Output {
    Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(p7s)
        .arg("-content")
        .arg(doc)
        .arg("-CAfile")
        .arg(root)
        .args(["-purpose", "any", "-out"])
        .arg(dir.join("out"))
        .output()
        .expect("the openssl binary")
}

/// Signs `doc` with `sign` (the "card"), checks the .p7s with openssl and with
/// `verify_detached`, then checks that a changed document fails both.
fn cades_round_trip(
    sign_cert: &[u8],
    intermediates: &[&[u8]],
    hash: HashAlgorithm,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, SimulatedPkiError>,
) {
    let pki = SimulatedPki::load().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let doc = b"Power of attorney\nI, the undersigned, ...\n".repeat(20);
    let p7s = sign_detached(&doc, sign_cert, intermediates, hash, now(), sign).unwrap();
    let doc_path = dir.path().join("F");
    let p7s_path = dir.path().join("F.p7s");
    let root_path = dir.path().join("root.pem");
    std::fs::write(&doc_path, &doc).unwrap();
    std::fs::write(&p7s_path, &p7s).unwrap();
    std::fs::write(&root_path, shenas_cards::pki::x509::SIMULATED_ROOT_PEM).unwrap();
    let out = openssl_verify(dir.path(), &doc_path, &p7s_path, &root_path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openssl cms -verify failed: {stderr}");
    assert!(stderr.contains("Verification successful"), "{stderr}");

    let v = verify_detached(
        &p7s,
        &doc,
        &TrustAnchors::simulated(),
        Purpose::NonRepudiation,
        now(),
    )
    .unwrap();
    assert_eq!(v.hash, hash);
    assert_eq!(v.signing_time, Some(now()));
    assert!(v.chain.simulated_trust);

    // A changed document fails both.
    let mut changed = doc.clone();
    changed[0] ^= 0x20;
    std::fs::write(&doc_path, &changed).unwrap();
    let out = openssl_verify(dir.path(), &doc_path, &p7s_path, &root_path);
    assert!(!out.status.success());
    let e = verify_detached(
        &p7s,
        &changed,
        &TrustAnchors::simulated(),
        Purpose::Any,
        now(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            CadesError::Invalid {
                code: "message_digest_mismatch",
                ..
            }
        ),
        "{e}"
    );
    // Another root's anchors do not accept it.
    let other = TrustAnchors::from_der(pki.other_root_certificate_der()).unwrap();
    let e = verify_detached(&p7s, &doc, &other, Purpose::Any, now()).unwrap_err();
    assert!(matches!(e, CadesError::Certificate(_)), "{e}");
}

#[test]
fn cades_p256_accepted_by_openssl() {
    let pki = SimulatedPki::load().unwrap();
    let card = p256_card(&pki, card_validity());
    let key = card.sign_key.clone();
    cades_round_trip(
        &card.sign_cert,
        &[pki.intermediate_certificate_der()],
        HashAlgorithm::Sha256,
        move |hash| {
            // The card answers PSO: COMPUTE DIGITAL SIGNATURE with r ‖ s.
            let s: p256::ecdsa::Signature = key.sign_prehash(hash).unwrap();
            Ok(s.to_bytes().to_vec())
        },
    );
}

#[test]
fn cades_p256_sha384_accepted_by_openssl() {
    let pki = SimulatedPki::load().unwrap();
    let card = p256_card(&pki, card_validity());
    let key = card.sign_key.clone();
    cades_round_trip(
        &card.sign_cert,
        &[pki.intermediate_certificate_der()],
        HashAlgorithm::Sha384,
        move |hash| {
            let s: p256::ecdsa::Signature = key.sign_prehash(hash).unwrap();
            Ok(s.to_bytes().to_vec())
        },
    );
}

#[test]
fn cades_rsa_2048_accepted_by_openssl() {
    let pki = SimulatedPki::load().unwrap();
    let rsa_key = rsa_fixture_key(1).unwrap();
    let auth = p256_key_from_seed(b"rsa card auth")
        .public_key()
        .to_public_key_der()
        .unwrap();
    let rsa_spki = rsa_key.to_public_key().to_public_key_der().unwrap();
    let (_, sign_cert) = pki
        .issue_card_certificates(
            &holder(),
            auth.as_bytes(),
            rsa_spki.as_bytes(),
            card_validity(),
        )
        .unwrap();
    cades_round_trip(
        &sign_cert,
        &[pki.intermediate_certificate_der()],
        HashAlgorithm::Sha256,
        move |hash| {
            // The card signs the DigestInfo of the hash (PKCS#1 v1.5).
            Ok(rsa_key
                .sign(Pkcs1v15Sign::new::<sha2::Sha256>(), hash)
                .unwrap())
        },
    );
}

#[test]
fn cades_refuses_a_wrong_card_signature() {
    let pki = SimulatedPki::load().unwrap();
    let card = p256_card(&pki, card_validity());
    let key = card.auth_key.clone(); // the wrong key
    let e = sign_detached(
        b"doc",
        &card.sign_cert,
        &[],
        HashAlgorithm::Sha256,
        now(),
        move |hash| {
            let s: p256::ecdsa::Signature = key.sign_prehash(hash).unwrap();
            Ok::<_, SimulatedPkiError>(s.to_bytes().to_vec())
        },
    )
    .unwrap_err();
    assert!(matches!(e, CadesError::SignatureCheck(_)), "{e}");
    let e = sign_detached(
        b"doc",
        &card.sign_cert,
        &[],
        HashAlgorithm::Sha256,
        now(),
        |_| Err(SimulatedPkiError::NoSuchRsaKey(9)),
    )
    .unwrap_err();
    assert!(matches!(e, CadesError::Signer(_)));
}
