//! The PKI application of both reference profiles (ISO/IEC 7816-15:2016; PKCS #15 v1.1), with
//! the PINs, keys and signature algorithms behind it.
//!
//! Laid out so that OpenSC's generic PKCS#15 emulation reads it: EF.DIR `3F00/2F00` lists the
//! PKCS#15 AID with path `3F00/5015`; in that DF, EF.ODF `5031` points to the AODF, PrKDF and
//! CDF; EF.TokenInfo `5032`; certificates in their own EFs. Every file of this application is
//! readable without PIN and without secure messaging; none is writable in use.

use super::{
    Access, AlgorithmSpec, AppSpec, FileContent, FileSpec, KeyAlgorithm, KeyRole, KeySpec, PinKind,
    PinSpec, SignatureInput, SignatureOutput,
};

/// The PKCS#15 application identifier (ISO/IEC 7816-15, 8.3; PKCS #15 v1.1, 5.4.1): RID
/// `A0 00 00 00 63` (RSA Laboratories), PIX "PKCS-15".
pub const PKCS15_AID: &[u8] = &[
    0xA0, 0x00, 0x00, 0x00, 0x63, 0x50, 0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35,
];
/// The PKCS#15 application DF (ISO/IEC 7816-15, 8.4: `3F00/5015`).
pub const PKCS15_DF_FID: u16 = 0x5015;
/// The label of the PKI application in EF.DIR.
pub const PKCS15_LABEL: &str = "Shenas PKI";
/// EF.ODF, the object directory file (ISO/IEC 7816-15, 8.5).
pub const ODF_FID: u16 = 0x5031;
/// EF.TokenInfo (ISO/IEC 7816-15, 8.6).
pub const TOKEN_INFO_FID: u16 = 0x5032;
/// EF.AODF, authentication objects (the PINs).
pub const AODF_FID: u16 = 0x4401;
/// EF.PrKDF, private key objects.
pub const PRKDF_FID: u16 = 0x4402;
/// EF.CDF, certificate objects.
pub const CDF_FID: u16 = 0x4404;
/// The authentication certificate (X.509, DER).
pub const CERT_AUTH_FID: u16 = 0x4341;
/// The signing certificate (X.509, DER).
pub const CERT_SIGN_FID: u16 = 0x4342;
/// The issuing (intermediate) CA certificate (X.509, DER).
pub const CERT_CA_FID: u16 = 0x4343;

/// PKCS#15 `iD` of the authentication key and its certificate.
pub const AUTH_KEY_ID: u8 = 0x01;
/// PKCS#15 `iD` of the signing key and its certificate.
pub const SIGN_KEY_ID: u8 = 0x02;
/// PKCS#15 `iD` of the CA certificate.
pub const CA_CERT_ID: u8 = 0x10;
/// PKCS#15 `authId` of the ID PIN (in the AODF; the auth key's `authId`).
pub const ID_PIN_AUTH_ID: u8 = 0x01;
/// PKCS#15 `authId` of the SIGN PIN (the signing key's `authId`).
pub const SIGN_PIN_AUTH_ID: u8 = 0x02;
/// PKCS#15 `authId` of the PUK.
pub const PUK_AUTH_ID: u8 = 0x03;

/// A PKCS#15 file of the PKI application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pkcs15File {
    /// EF.ODF.
    Odf,
    /// EF.TokenInfo.
    TokenInfo,
    /// EF.AODF.
    Aodf,
    /// EF.PrKDF.
    Prkdf,
    /// EF.CDF.
    Cdf,
    /// A certificate EF: of the key with this role, or the CA certificate (`None`).
    Certificate(Option<KeyRole>),
}

const fn public(name: &'static str, fid: u16, content: Pkcs15File) -> FileSpec {
    FileSpec {
        name,
        fid,
        sfi: None,
        read: Access::Always,
        update: Access::Never,
        content: FileContent::Pkcs15(content),
    }
}

/// The EFs of the PKI application.
pub static FILES: [FileSpec; 8] = [
    public("EF.ODF", ODF_FID, Pkcs15File::Odf),
    public("EF.TokenInfo", TOKEN_INFO_FID, Pkcs15File::TokenInfo),
    public("EF.AODF", AODF_FID, Pkcs15File::Aodf),
    public("EF.PrKDF", PRKDF_FID, Pkcs15File::Prkdf),
    public("EF.CDF", CDF_FID, Pkcs15File::Cdf),
    public(
        "EF.Cert.Auth",
        CERT_AUTH_FID,
        Pkcs15File::Certificate(Some(KeyRole::Authentication)),
    ),
    public(
        "EF.Cert.Sign",
        CERT_SIGN_FID,
        Pkcs15File::Certificate(Some(KeyRole::Signing)),
    ),
    public("EF.Cert.CA", CERT_CA_FID, Pkcs15File::Certificate(None)),
];

/// The PKI application.
pub const APP: AppSpec = AppSpec {
    name: "PKI",
    aid: PKCS15_AID,
    df_fid: PKCS15_DF_FID,
    label: PKCS15_LABEL,
    files: &FILES,
};

/// VERIFY P2 of the ID PIN (specific reference data 1).
pub const ID_PIN_REFERENCE: u8 = 0x81;
/// VERIFY P2 of the SIGN PIN (specific reference data 2).
pub const SIGN_PIN_REFERENCE: u8 = 0x82;
/// VERIFY P2 of the PUK (specific reference data 3).
pub const PUK_REFERENCE: u8 = 0x83;
/// The padding byte of PIN blocks.
pub const PIN_PAD: u8 = 0xFF;
/// The length of every PIN block on the wire.
pub const PIN_BLOCK_LEN: usize = 8;

/// The PINs and the PUK of both reference profiles.
pub static PINS: [PinSpec; 3] = [
    PinSpec {
        kind: PinKind::IdPin,
        reference: ID_PIN_REFERENCE,
        min_digits: 4,
        max_digits: 8,
        padded_len: PIN_BLOCK_LEN,
        pad: PIN_PAD,
        max_tries: 3,
        label: "ID PIN",
    },
    PinSpec {
        kind: PinKind::SignPin,
        reference: SIGN_PIN_REFERENCE,
        min_digits: 6,
        max_digits: 8,
        padded_len: PIN_BLOCK_LEN,
        pad: PIN_PAD,
        max_tries: 3,
        label: "SIGN PIN",
    },
    PinSpec {
        kind: PinKind::Puk,
        reference: PUK_REFERENCE,
        min_digits: 8,
        max_digits: 8,
        padded_len: PIN_BLOCK_LEN,
        pad: PIN_PAD,
        max_tries: 10,
        label: "PUK",
    },
];

/// Private key reference of the authentication key (`84` in MSE SET AT).
pub const AUTH_KEY_REFERENCE: u8 = 0x81;
/// Private key reference of the signing key (`84` in MSE SET DST).
pub const SIGN_KEY_REFERENCE: u8 = 0x82;

/// The private keys of both reference profiles.
pub static KEYS: [KeySpec; 2] = [
    KeySpec {
        role: KeyRole::Authentication,
        reference: AUTH_KEY_REFERENCE,
        access: Access::Pin(PinKind::IdPin),
        certificate_fid: CERT_AUTH_FID,
        pkcs15_id: AUTH_KEY_ID,
        label: "Authentication",
    },
    KeySpec {
        role: KeyRole::Signing,
        reference: SIGN_KEY_REFERENCE,
        access: Access::PinOnce(PinKind::SignPin),
        certificate_fid: CERT_SIGN_FID,
        pkcs15_id: SIGN_KEY_ID,
        label: "Signature",
    },
];

/// MSE SET algorithm reference for ECDSA P-256, bare hash in, r ‖ s out.
pub const ALG_ECDSA_P256: u8 = 0x04;
/// MSE SET algorithm reference for RSA-2048 PKCS#1 v1.5, DigestInfo in.
pub const ALG_RSA_PKCS1: u8 = 0x02;

/// DER DigestInfo lengths for SHA-256 (51) and SHA-384 (67) (RFC 8017, 9.2, note 1).
pub const DIGEST_INFO_LENGTHS: [usize; 2] = [51, 67];
/// Bare hash lengths: SHA-256 (32) and SHA-384 (48).
pub const HASH_LENGTHS: [usize; 2] = [32, 48];

/// The signature algorithms of both reference profiles.
pub static ALGORITHMS: [AlgorithmSpec; 2] = [
    AlgorithmSpec {
        key: KeyAlgorithm::EcP256,
        reference: ALG_ECDSA_P256,
        input: SignatureInput::BareHash,
        output: SignatureOutput::PlainRs,
        input_lengths: &HASH_LENGTHS,
    },
    AlgorithmSpec {
        key: KeyAlgorithm::Rsa2048,
        reference: ALG_RSA_PKCS1,
        input: SignatureInput::DigestInfo,
        output: SignatureOutput::RsaPkcs1v15,
        input_lengths: &DIGEST_INFO_LENGTHS,
    },
];
