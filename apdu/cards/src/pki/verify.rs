//! Verification of a signature over a **given hash** against a SubjectPublicKeyInfo.
//!
//! A card computes signatures over a hash the host sends (ISO/IEC 7816-8 clause 11, PSO: COMPUTE
//! DIGITAL SIGNATURE, and INTERNAL AUTHENTICATE): the host never has the message, only its hash,
//! so it verifies with prehash verification (RustCrypto `p256`/`p384` [`PrehashVerifier`] and
//! `rsa` [`Pkcs1v15Sign`]); ring cannot verify a given hash.
//!
//! - ECDSA (FIPS 186-4 clause 6, SEC 1 clause 4.1.4) on P-256 and P-384: the signature as cards
//!   return it, the plain concatenation `r ‖ s` (BSI TR-03111 clause 5.2.1), or DER
//!   `ECDSA-Sig-Value` (RFC 3279 clause 2.2.3) as CMS and X.509 carry it.
//! - RSA PKCS#1 v1.5 (RFC 8017 clause 8.2.2): the card signed a DigestInfo (RFC 8017 clause
//!   9.2) of a SHA-256, SHA-384 or SHA-512 hash.
//!
//! [`ecdsa_raw_to_der`] and [`ecdsa_der_to_raw`] convert between the two ECDSA encodings (CMS
//! needs DER, RFC 5753 clause 7.2).

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::{Decode, asn1::AnyRef};
use ecdsa::signature::hazmat::PrehashVerifier;
use rsa::Pkcs1v15Sign;
use rsa::pkcs8::DecodePublicKey;
use sha2::Digest;
use spki::SubjectPublicKeyInfoRef;

/// ECDSA prehash verification of `r ‖ s` (exactly twice the field size) or DER.
macro_rules! verify_ecdsa {
    ($curve:ident, $key:expr, $digest:expr, $signature:expr, $raw_len:expr) => {{
        let (key, digest, signature) = ($key, $digest, $signature);
        let mut parsed = false;
        let mut ok = false;
        if signature.len() == $raw_len {
            if let Ok(sig) = $curve::ecdsa::Signature::from_slice(signature) {
                parsed = true;
                ok = key.verify_prehash(digest, &sig).is_ok();
            }
        }
        if !ok {
            if let Ok(sig) = $curve::ecdsa::Signature::from_der(signature) {
                parsed = true;
                ok = key.verify_prehash(digest, &sig).is_ok();
            }
        }
        match (ok, parsed) {
            (true, _) => Ok(()),
            (false, true) => Err(VerifyError::BadSignature),
            (false, false) => Err(VerifyError::MalformedSignature),
        }
    }};
}

/// A hash algorithm of the SHA-2 family (FIPS 180-4) that the signatures here are made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (FIPS 180-4 clause 6.2), 32 bytes.
    Sha256,
    /// SHA-384 (FIPS 180-4 clause 6.5), 48 bytes.
    Sha384,
    /// SHA-512 (FIPS 180-4 clause 6.4), 64 bytes (seen in certificate chains only).
    Sha512,
}

impl HashAlgorithm {
    /// Length of the hash in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// The hash of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// The algorithm's object identifier (RFC 5754 clause 2).
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => rfc5912::ID_SHA_256,
            Self::Sha384 => rfc5912::ID_SHA_384,
            Self::Sha512 => rfc5912::ID_SHA_512,
        }
    }

    /// The algorithm named by an object identifier (RFC 5754 clause 2), if it is one of these.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|h| h.oid() == *oid)
    }

    /// A short lower-case name (`sha256`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }
}

impl std::fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An elliptic curve of the ECDSA keys supported here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EcCurve {
    /// NIST P-256 (secp256r1, FIPS 186-4 clause D.1.2.3).
    P256,
    /// NIST P-384 (secp384r1, FIPS 186-4 clause D.1.2.4).
    P384,
}

impl EcCurve {
    /// Length of one field element (and of `r` or `s`) in bytes.
    pub fn field_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
        }
    }
}

/// A signature scheme: the key's algorithm and the hash the signature is made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureScheme {
    /// ECDSA (FIPS 186-4 clause 6) on `curve` over a `hash`.
    Ecdsa {
        /// The key's curve.
        curve: EcCurve,
        /// The hash signed.
        hash: HashAlgorithm,
    },
    /// RSASSA-PKCS1-v1_5 (RFC 8017 clause 8.2) over a DigestInfo of a `hash`.
    RsaPkcs1v15 {
        /// The hash signed.
        hash: HashAlgorithm,
    },
}

impl SignatureScheme {
    /// The hash algorithm signed.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::Ecdsa { hash, .. } | Self::RsaPkcs1v15 { hash } => hash,
        }
    }

    /// The signature algorithm identifier's object identifier as CMS (RFC 5753 clause 7.2,
    /// RFC 3370 clause 3.2) and X.509 (RFC 5758 clause 3.2, RFC 4055 clause 5) name it: for
    /// ECDSA `ecdsa-with-SHA*`, for RSA `sha*WithRSAEncryption`.
    pub fn signature_oid(self) -> ObjectIdentifier {
        match self {
            Self::Ecdsa { hash, .. } => match hash {
                HashAlgorithm::Sha256 => rfc5912::ECDSA_WITH_SHA_256,
                HashAlgorithm::Sha384 => rfc5912::ECDSA_WITH_SHA_384,
                HashAlgorithm::Sha512 => rfc5912::ECDSA_WITH_SHA_512,
            },
            Self::RsaPkcs1v15 { hash } => match hash {
                HashAlgorithm::Sha256 => rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
                HashAlgorithm::Sha384 => rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
                HashAlgorithm::Sha512 => rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
            },
        }
    }

    /// The scheme named by a signature algorithm identifier (the OIDs of
    /// [`signature_oid`](Self::signature_oid)); the curve comes from the key.
    pub fn from_signature_oid(oid: &ObjectIdentifier, key: &PublicKey) -> Option<Self> {
        let (rsa, hash) = match *oid {
            rfc5912::ECDSA_WITH_SHA_256 => (false, HashAlgorithm::Sha256),
            rfc5912::ECDSA_WITH_SHA_384 => (false, HashAlgorithm::Sha384),
            rfc5912::ECDSA_WITH_SHA_512 => (false, HashAlgorithm::Sha512),
            rfc5912::SHA_256_WITH_RSA_ENCRYPTION => (true, HashAlgorithm::Sha256),
            rfc5912::SHA_384_WITH_RSA_ENCRYPTION => (true, HashAlgorithm::Sha384),
            rfc5912::SHA_512_WITH_RSA_ENCRYPTION => (true, HashAlgorithm::Sha512),
            _ => return None,
        };
        match (rsa, key.curve()) {
            (true, None) => Some(Self::RsaPkcs1v15 { hash }),
            (false, Some(curve)) => Some(Self::Ecdsa { curve, hash }),
            _ => None,
        }
    }
}

impl std::fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ecdsa { curve, hash } => {
                let c = match curve {
                    EcCurve::P256 => "p256",
                    EcCurve::P384 => "p384",
                };
                write!(f, "ecdsa-{c}-{hash}")
            }
            Self::RsaPkcs1v15 { hash } => write!(f, "rsa-pkcs1v15-{hash}"),
        }
    }
}

/// Why a signature did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The SubjectPublicKeyInfo is not valid DER or not a valid key of its algorithm.
    #[error("malformed public key: {0}")]
    MalformedKey(&'static str),
    /// The key's algorithm or curve is not supported (RSA, ECDSA P-256 and P-384 are).
    #[error("unsupported public key algorithm {0}")]
    UnsupportedKey(String),
    /// The hash does not have the length of its algorithm.
    #[error("hash of {len} bytes given as {algorithm}")]
    HashLength {
        /// The algorithm named.
        algorithm: HashAlgorithm,
        /// The length given.
        len: usize,
    },
    /// The signature is neither `r ‖ s` of the curve's size nor DER, or not an RSA signature of
    /// the modulus' size.
    #[error("malformed signature")]
    MalformedSignature,
    /// The signature is well formed but does not verify.
    #[error("the signature does not verify")]
    BadSignature,
}

/// A public key parsed from a SubjectPublicKeyInfo (RFC 5280 clause 4.1.2.7).
#[derive(Clone)]
#[non_exhaustive]
pub enum PublicKey {
    /// An ECDSA P-256 key (RFC 5480).
    P256(p256::ecdsa::VerifyingKey),
    /// An ECDSA P-384 key (RFC 5480).
    P384(p384::ecdsa::VerifyingKey),
    /// An RSA key (RFC 3279 clause 2.3.1).
    Rsa(rsa::RsaPublicKey),
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::P256(_) => f.write_str("PublicKey::P256"),
            Self::P384(_) => f.write_str("PublicKey::P384"),
            Self::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                write!(f, "PublicKey::Rsa({} bits)", k.n().bits())
            }
        }
    }
}

/// `id-ecPublicKey` (RFC 5480 clause 2.1.1).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = rfc5912::ID_EC_PUBLIC_KEY;
/// `rsaEncryption` (RFC 3279 clause 2.3.1).
const RSA_ENCRYPTION: ObjectIdentifier = rfc5912::RSA_ENCRYPTION;

impl PublicKey {
    /// Parses a DER SubjectPublicKeyInfo (RFC 5280 clause 4.1.2.7): `id-ecPublicKey` with the
    /// named curve P-256 or P-384 (RFC 5480 clause 2.1.1.1), or `rsaEncryption` (RFC 3279).
    pub fn from_spki_der(spki_der: &[u8]) -> Result<Self, VerifyError> {
        let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
            .map_err(|_| VerifyError::MalformedKey("not a DER SubjectPublicKeyInfo"))?;
        match spki.algorithm.oid {
            ID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p: &AnyRef<'_>| p.decode_as::<ObjectIdentifier>().ok())
                    .ok_or(VerifyError::MalformedKey("EC key without a named curve"))?;
                let point = spki
                    .subject_public_key
                    .as_bytes()
                    .ok_or(VerifyError::MalformedKey("EC point with unused bits"))?;
                match curve {
                    rfc5912::SECP_256_R_1 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map(Self::P256)
                        .map_err(|_| VerifyError::MalformedKey("not a point on P-256")),
                    rfc5912::SECP_384_R_1 => p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map(Self::P384)
                        .map_err(|_| VerifyError::MalformedKey("not a point on P-384")),
                    other => Err(VerifyError::UnsupportedKey(format!("EC curve {other}"))),
                }
            }
            RSA_ENCRYPTION => rsa::RsaPublicKey::from_public_key_der(spki_der)
                .map(Self::Rsa)
                .map_err(|_| VerifyError::MalformedKey("not a valid RSA public key")),
            other => Err(VerifyError::UnsupportedKey(other.to_string())),
        }
    }

    /// The curve of an ECDSA key, `None` for RSA.
    pub fn curve(&self) -> Option<EcCurve> {
        match self {
            Self::P256(_) => Some(EcCurve::P256),
            Self::P384(_) => Some(EcCurve::P384),
            Self::Rsa(_) => None,
        }
    }

    /// The scheme of a signature by this key over a `hash`.
    pub fn scheme(&self, hash: HashAlgorithm) -> SignatureScheme {
        match self.curve() {
            Some(curve) => SignatureScheme::Ecdsa { curve, hash },
            None => SignatureScheme::RsaPkcs1v15 { hash },
        }
    }

    /// The hash this key's signatures are made over by default: SHA-384 for P-384, SHA-256
    /// otherwise (RFC 5753 clause 7.1.6, BSI TR-03111 clause 4.2).
    pub fn default_hash(&self) -> HashAlgorithm {
        match self {
            Self::P384(_) => HashAlgorithm::Sha384,
            Self::P256(_) | Self::Rsa(_) => HashAlgorithm::Sha256,
        }
    }

    /// Verifies `signature` over the given `digest` (a `hash` of some message).
    ///
    /// ECDSA signatures may be `r ‖ s` (twice the field size) or DER; RSA signatures are
    /// PKCS#1 v1.5 over a DigestInfo of `hash`.
    pub fn verify_prehash(
        &self,
        hash: HashAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<SignatureScheme, VerifyError> {
        if digest.len() != hash.output_len() {
            return Err(VerifyError::HashLength {
                algorithm: hash,
                len: digest.len(),
            });
        }
        match self {
            Self::P256(key) => {
                verify_ecdsa!(p256, key, digest, signature, 64)?;
            }
            Self::P384(key) => {
                verify_ecdsa!(p384, key, digest, signature, 96)?;
            }
            Self::Rsa(key) => {
                let scheme = match hash {
                    HashAlgorithm::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
                    HashAlgorithm::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
                    HashAlgorithm::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
                };
                use rsa::traits::PublicKeyParts;
                if signature.len() != key.size() {
                    return Err(VerifyError::MalformedSignature);
                }
                key.verify(scheme, digest, signature)
                    .map_err(|_| VerifyError::BadSignature)?;
            }
        }
        Ok(self.scheme(hash))
    }
}

/// Verifies `signature` over `digest` (a `hash`) against a DER SubjectPublicKeyInfo.
///
/// ```
/// use p256::ecdsa::{SigningKey, signature::hazmat::PrehashSigner};
/// use p256::pkcs8::EncodePublicKey;
/// use shenas_cards::pki::{HashAlgorithm, verify_prehash};
///
/// let key = SigningKey::from_slice(&[7; 32])?;
/// let spki = key.verifying_key().to_public_key_der()?;
/// let digest = HashAlgorithm::Sha256.digest(b"hello");
/// let sig: p256::ecdsa::Signature = key.sign_prehash(&digest)?;
/// // r ‖ s, as a card answers PSO: COMPUTE DIGITAL SIGNATURE
/// verify_prehash(spki.as_bytes(), HashAlgorithm::Sha256, &digest, &sig.to_bytes())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_prehash(
    spki_der: &[u8],
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<SignatureScheme, VerifyError> {
    PublicKey::from_spki_der(spki_der)?.verify_prehash(hash, digest, signature)
}

/// Converts an ECDSA signature `r ‖ s` (BSI TR-03111 clause 5.2.1; `r` and `s` of equal
/// length) into DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 clause
/// 2.2.3), as CMS needs it (RFC 5753 clause 7.2).
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, VerifyError> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) || raw.len() > 2 * 66 {
        return Err(VerifyError::MalformedSignature);
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let r = der::asn1::UintRef::new(r).map_err(|_| VerifyError::MalformedSignature)?;
    let s = der::asn1::UintRef::new(s).map_err(|_| VerifyError::MalformedSignature)?;
    if r.as_bytes().iter().all(|b| *b == 0) || s.as_bytes().iter().all(|b| *b == 0) {
        return Err(VerifyError::MalformedSignature);
    }
    der::Encode::to_der(&EcdsaSigValue { r, s }).map_err(|_| VerifyError::MalformedSignature)
}

/// Converts a DER `ECDSA-Sig-Value` (RFC 3279 clause 2.2.3) into `r ‖ s`, each left-padded
/// to `field_len` bytes (BSI TR-03111 clause 5.2.1).
pub fn ecdsa_der_to_raw(der_sig: &[u8], field_len: usize) -> Result<Vec<u8>, VerifyError> {
    let v = EcdsaSigValue::from_der(der_sig).map_err(|_| VerifyError::MalformedSignature)?;
    let mut out = Vec::with_capacity(2 * field_len);
    for n in [v.r.as_bytes(), v.s.as_bytes()] {
        let pad = field_len
            .checked_sub(n.len())
            .ok_or(VerifyError::MalformedSignature)?;
        out.extend(std::iter::repeat_n(0u8, pad));
        out.extend_from_slice(n);
    }
    Ok(out)
}

/// `ECDSA-Sig-Value` (RFC 3279 clause 2.2.3).
#[derive(der::Sequence)]
struct EcdsaSigValue<'a> {
    r: der::asn1::UintRef<'a>,
    s: der::asn1::UintRef<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use p256::pkcs8::EncodePublicKey;
    use proptest::prelude::*;

    fn p256_key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap()
    }

    #[test]
    fn p256_raw_and_der_verify_and_tampering_fails() {
        let key = p256_key();
        let spki = key.verifying_key().to_public_key_der().unwrap();
        let digest = HashAlgorithm::Sha256.digest(b"message");
        let sig: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
        let raw = sig.to_bytes().to_vec();
        let der = ecdsa_raw_to_der(&raw).unwrap();
        assert_eq!(der, sig.to_der().as_bytes());
        assert_eq!(ecdsa_der_to_raw(&der, 32).unwrap(), raw);
        for s in [&raw, &der] {
            assert_eq!(
                verify_prehash(spki.as_bytes(), HashAlgorithm::Sha256, &digest, s).unwrap(),
                SignatureScheme::Ecdsa {
                    curve: EcCurve::P256,
                    hash: HashAlgorithm::Sha256
                }
            );
        }
        let mut bad = raw.clone();
        bad[5] ^= 1;
        assert!(matches!(
            verify_prehash(spki.as_bytes(), HashAlgorithm::Sha256, &digest, &bad),
            Err(VerifyError::BadSignature)
        ));
        let other = HashAlgorithm::Sha256.digest(b"other");
        assert!(matches!(
            verify_prehash(spki.as_bytes(), HashAlgorithm::Sha256, &other, &raw),
            Err(VerifyError::BadSignature)
        ));
        assert!(matches!(
            verify_prehash(spki.as_bytes(), HashAlgorithm::Sha384, &digest, &raw),
            Err(VerifyError::HashLength { len: 32, .. })
        ));
        assert!(matches!(
            verify_prehash(spki.as_bytes(), HashAlgorithm::Sha256, &digest, &raw[..10]),
            Err(VerifyError::MalformedSignature)
        ));
    }

    #[test]
    fn p256_over_sha384_hash() {
        let key = p256_key();
        let spki = key.verifying_key().to_public_key_der().unwrap();
        let digest = HashAlgorithm::Sha384.digest(b"message");
        let sig: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
        verify_prehash(
            spki.as_bytes(),
            HashAlgorithm::Sha384,
            &digest,
            &sig.to_bytes(),
        )
        .unwrap();
    }

    #[test]
    fn p384_verifies() {
        let key = p384::ecdsa::SigningKey::from_slice(&[0x22; 48]).unwrap();
        let spki = key.verifying_key().to_public_key_der().unwrap();
        let digest = HashAlgorithm::Sha384.digest(b"message");
        let sig: p384::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
        let scheme = verify_prehash(
            spki.as_bytes(),
            HashAlgorithm::Sha384,
            &digest,
            &sig.to_bytes(),
        )
        .unwrap();
        assert_eq!(scheme.to_string(), "ecdsa-p384-sha384");
        assert_eq!(scheme.signature_oid(), rfc5912::ECDSA_WITH_SHA_384);
        let mut bad = sig.to_bytes().to_vec();
        bad[40] ^= 0x80;
        assert!(verify_prehash(spki.as_bytes(), HashAlgorithm::Sha384, &digest, &bad).is_err());
    }

    #[test]
    fn malformed_keys_are_typed_errors() {
        assert!(matches!(
            PublicKey::from_spki_der(&[0x30, 0x00]),
            Err(VerifyError::MalformedKey(_))
        ));
        assert!(matches!(
            PublicKey::from_spki_der(b"garbage"),
            Err(VerifyError::MalformedKey(_))
        ));
    }

    #[test]
    fn raw_to_der_rejects_bad_lengths() {
        assert!(ecdsa_raw_to_der(&[]).is_err());
        assert!(ecdsa_raw_to_der(&[1, 2, 3]).is_err());
        assert!(ecdsa_raw_to_der(&[0; 64]).is_err());
        assert!(ecdsa_der_to_raw(&[0x30, 0x00], 32).is_err());
    }

    proptest! {
        #[test]
        fn raw_der_round_trip(r in proptest::collection::vec(any::<u8>(), 32), s in proptest::collection::vec(any::<u8>(), 32)) {
            let mut raw = r.clone();
            raw.extend_from_slice(&s);
            match ecdsa_raw_to_der(&raw) {
                Ok(der) => prop_assert_eq!(ecdsa_der_to_raw(&der, 32).unwrap(), raw),
                Err(_) => prop_assert!(r.iter().all(|b| *b == 0) || s.iter().all(|b| *b == 0)),
            }
        }

        #[test]
        fn verify_never_panics(spki in proptest::collection::vec(any::<u8>(), 0..200), sig in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = verify_prehash(&spki, HashAlgorithm::Sha256, &[0; 32], &sig);
            let key = p256_key();
            let good = key.verifying_key().to_public_key_der().unwrap();
            prop_assert!(verify_prehash(good.as_bytes(), HashAlgorithm::Sha256, &[0; 32], &sig).is_err());
        }
    }
}
