//! The simulated PKI: a **simulated** national root CA, a governmental intermediate CA that
//! issues the simulated cards' certificates, a document signer for the document security object
//! (ICAO 9303-12 clause 7.1, EF.SOD), and an unrelated "other" root for negative tests.
//!
//! **No security.** The CA keys are committed to the repository (under
//! `simulators/fixtures/pki/`) and derived from public seeds: anyone can issue certificates that
//! chain to the simulated root. Only tests, demos and the default (simulated) configuration
//! trust it, and every verdict resting on it says `"trust": "simulated"`. Its names say
//! "Shenas Simulated …" and imitate no real CA.
//!
//! | authority | key | issued by | validity |
//! |---|---|---|---|
//! | `CN=Shenas Simulated National Root CA` | P-384 | itself | 2025-01-01 – 2045-01-01 |
//! | `CN=Shenas Simulated Governmental Intermediate CA` (pathLen 0) | P-256 | the root | 2025-01-01 – 2045-01-01 |
//! | `CN=Shenas Simulated Document Signer` (keyUsage digitalSignature) | P-256 | the root | 2025-01-01 – 2045-01-01 |
//! | `CN=Shenas Simulated Other Root CA (negative tests)` | P-256 | itself | 2025-01-01 – 2045-01-01 |
//!
//! Card certificates ([`SimulatedPki::issue_card_certificates`]) are issued by the
//! intermediate for a public key the card holds: the authentication certificate with keyUsage
//! digitalSignature and extendedKeyUsage clientAuth, the signing certificate with keyUsage
//! nonRepudiation and no extendedKeyUsage (RFC 5280 clauses 4.2.1.3, 4.2.1.12), both with the
//! same subject and issuer. Everything here is deterministic: the same inputs give the same
//! certificates (ECDSA signatures are deterministic, RFC 6979).
//!
//! The fixtures also hold [`RSA_FIXTURE_KEYS`] RSA-2048 key pairs (PKCS#8) for simulated cards,
//! because generating RSA keys is slow in unoptimised tests; [`rsa_fixture_key`] loads one.
//!
//! ## Regenerating the fixtures
//!
//! ```text
//! cargo test -p shenas-simulators --lib pki::tests::regenerate_fixtures -- --ignored
//! ```
//!
//! writes the CA certificates and keys (identical to the committed ones unless the code
//! changed: [`SimulatedPki::generate`] derives them from fixed seeds), the root certificate for
//! `shenas_cards::pki::TrustAnchors::simulated` (`apdu/cards/fixtures/`), and the RSA keys that
//! are missing (delete one to make a new one).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc4519, rfc5280, rfc5912};
use der::asn1::{
    Any, BitString, GeneralizedTime, OctetString, PrintableStringRef, SetOfVec, UtcTime,
    Utf8StringRef,
};
use der::{Decode, Encode};
use p256::ecdsa::signature::Signer;
use p256::pkcs8::{DecodePrivateKey, EncodePublicKey};
use sha2::Digest;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

/// Subject common name of the simulated national root CA.
pub const ROOT_CA_NAME: &str = "Shenas Simulated National Root CA";
/// Subject common name of the simulated intermediate CA that issues card certificates.
pub const INTERMEDIATE_CA_NAME: &str = "Shenas Simulated Governmental Intermediate CA";
/// Subject common name of the simulated document signer (EF.SOD).
pub const DOCUMENT_SIGNER_NAME: &str = "Shenas Simulated Document Signer";
/// Subject common name of the unrelated root for negative tests.
pub const OTHER_ROOT_CA_NAME: &str = "Shenas Simulated Other Root CA (negative tests)";
/// Organization of every simulated authority.
pub const ORGANIZATION: &str = "Shenas Simulated PKI (not a real CA, no security)";
/// How many RSA-2048 fixture key pairs [`rsa_fixture_key`] has.
pub const RSA_FIXTURE_KEYS: usize = 4;

const ROOT_CERT_PEM: &str = include_str!("../fixtures/pki/national-root-ca.pem");
const ROOT_KEY_PEM: &str = include_str!("../fixtures/pki/national-root-ca.key.pem");
const INTERMEDIATE_CERT_PEM: &str = include_str!("../fixtures/pki/intermediate-ca.pem");
const INTERMEDIATE_KEY_PEM: &str = include_str!("../fixtures/pki/intermediate-ca.key.pem");
const DS_CERT_PEM: &str = include_str!("../fixtures/pki/document-signer.pem");
const DS_KEY_PEM: &str = include_str!("../fixtures/pki/document-signer.key.pem");
const OTHER_ROOT_CERT_PEM: &str = include_str!("../fixtures/pki/other-root-ca.pem");
const OTHER_ROOT_KEY_PEM: &str = include_str!("../fixtures/pki/other-root-ca.key.pem");
const RSA_KEYS_PEM: [&str; RSA_FIXTURE_KEYS] = [
    include_str!("../fixtures/pki/rsa-2048-0.key.pem"),
    include_str!("../fixtures/pki/rsa-2048-1.key.pem"),
    include_str!("../fixtures/pki/rsa-2048-2.key.pem"),
    include_str!("../fixtures/pki/rsa-2048-3.key.pem"),
];

/// Seeds of the authorities' keys ([`SimulatedPki::generate`]).
const ROOT_SEED: &[u8] = b"shenas simulated national root ca";
const INTERMEDIATE_SEED: &[u8] = b"shenas simulated governmental intermediate ca";
const DS_SEED: &[u8] = b"shenas simulated document signer";
const OTHER_ROOT_SEED: &[u8] = b"shenas simulated other root ca";

/// 2025-01-01T00:00:00Z.
const CA_NOT_BEFORE: u64 = 1_735_689_600;
/// 2045-01-01T00:00:00Z.
const CA_NOT_AFTER: u64 = 2_366_841_600;

/// What can go wrong in the simulated PKI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulatedPkiError {
    /// A committed fixture does not parse or does not match its key.
    #[error("simulated PKI fixture {name}: {detail}")]
    Fixture {
        /// Which fixture.
        name: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A public key given for a certificate is not a DER SubjectPublicKeyInfo.
    #[error("not a DER SubjectPublicKeyInfo")]
    BadPublicKey(#[source] der::Error),
    /// A holder's name field cannot be encoded (the country and serial number must be
    /// PrintableString characters, X.520).
    #[error("cannot encode the certificate holder's {0}")]
    BadHolderField(&'static str),
    /// A validity period that cannot be encoded (before 1970 or after 9999) or ends before it
    /// starts.
    #[error("bad validity period")]
    BadValidity,
    /// There is no RSA fixture key of that index.
    #[error("no RSA fixture key {0} (there are {RSA_FIXTURE_KEYS})")]
    NoSuchRsaKey(usize),
    /// DER encoding failed.
    #[error("DER encoding")]
    Der(#[from] der::Error),
}

/// The holder named in a card's certificates. `Debug` is redacted: it is personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct CertHolder {
    /// commonName (X.520), e.g. `"SURNAME, GIVEN NAME, 0076229645"` or the Persian name.
    pub common_name: String,
    /// serialNumber (X.520): the national code or FIDA (PrintableString).
    pub serial_number: String,
    /// givenName (X.520).
    pub given_name: String,
    /// surname (X.520).
    pub surname: String,
    /// countryName (X.520, ISO 3166 alpha-2): `"IR"`.
    pub country: String,
}

impl std::fmt::Debug for CertHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertHolder")
            .field("country", &self.country)
            .finish_non_exhaustive()
    }
}

/// A certificate's validity period (RFC 5280 clause 4.1.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// notBefore.
    pub not_before: SystemTime,
    /// notAfter.
    pub not_after: SystemTime,
}

impl Validity {
    /// The CAs' period, 2025-01-01 to 2045-01-01.
    pub fn simulated_ca() -> Self {
        Self {
            not_before: UNIX_EPOCH + Duration::from_secs(CA_NOT_BEFORE),
            not_after: UNIX_EPOCH + Duration::from_secs(CA_NOT_AFTER),
        }
    }

    fn encode(&self) -> Result<x509_cert::time::Validity, SimulatedPkiError> {
        if self.not_after < self.not_before {
            return Err(SimulatedPkiError::BadValidity);
        }
        Ok(x509_cert::time::Validity {
            not_before: rfc5280_time(self.not_before)?,
            not_after: rfc5280_time(self.not_after)?,
        })
    }
}

/// UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 clause 4.1.2.5).
fn rfc5280_time(t: SystemTime) -> Result<Time, SimulatedPkiError> {
    let d = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| SimulatedPkiError::BadValidity)?;
    // Whole seconds: certificates carry no fractions.
    let d = Duration::from_secs(d.as_secs());
    let dt = der::DateTime::from_unix_duration(d).map_err(|_| SimulatedPkiError::BadValidity)?;
    if dt.year() < 2050 {
        Ok(Time::UtcTime(
            UtcTime::from_date_time(dt).map_err(|_| SimulatedPkiError::BadValidity)?,
        ))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

/// A CA's or document signer's signing key.
#[derive(Clone)]
enum AuthorityKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

impl AuthorityKey {
    fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, SimulatedPkiError> {
        let der = match self {
            Self::P256(k) => k.verifying_key().to_public_key_der(),
            Self::P384(k) => k.verifying_key().to_public_key_der(),
        }
        .map_err(|e| SimulatedPkiError::Fixture {
            name: "key",
            detail: e.to_string(),
        })?;
        SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(SimulatedPkiError::Der)
    }

    /// `ecdsa-with-SHA256` for P-256, `ecdsa-with-SHA384` for P-384 (RFC 5758 clause 3.2).
    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: match self {
                Self::P256(_) => rfc5912::ECDSA_WITH_SHA_256,
                Self::P384(_) => rfc5912::ECDSA_WITH_SHA_384,
            },
            parameters: None,
        }
    }

    /// DER ECDSA signature over `msg` (hashed with the curve's hash, RFC 6979 nonces).
    fn sign_der(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            Self::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
            Self::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
        }
    }

    fn to_pkcs8_pem(&self) -> Result<String, SimulatedPkiError> {
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        let pem = match self {
            Self::P256(k) => {
                p256::SecretKey::from(k.as_nonzero_scalar()).to_pkcs8_pem(LineEnding::LF)
            }
            Self::P384(k) => {
                p384::SecretKey::from(k.as_nonzero_scalar()).to_pkcs8_pem(LineEnding::LF)
            }
        }
        .map_err(|e| SimulatedPkiError::Fixture {
            name: "key",
            detail: e.to_string(),
        })?;
        Ok(pem.to_string())
    }
}

/// An authority: its certificate and key.
#[derive(Clone)]
struct Authority {
    cert_der: Vec<u8>,
    name: Name,
    spki: SubjectPublicKeyInfoOwned,
    key: AuthorityKey,
}

impl Authority {
    fn from_pem(
        name: &'static str,
        cert_pem: &str,
        key_pem: &str,
        p384: bool,
    ) -> Result<Self, SimulatedPkiError> {
        let fixture = |detail: String| SimulatedPkiError::Fixture { name, detail };
        let (label, cert_der) =
            der::pem::decode_vec(cert_pem.as_bytes()).map_err(|e| fixture(e.to_string()))?;
        if label != "CERTIFICATE" {
            return Err(fixture(format!("PEM label {label}")));
        }
        let key = if p384 {
            p384::SecretKey::from_pkcs8_pem(key_pem)
                .map(|k| AuthorityKey::P384(k.into()))
                .map_err(|e| fixture(e.to_string()))?
        } else {
            p256::SecretKey::from_pkcs8_pem(key_pem)
                .map(|k| AuthorityKey::P256(k.into()))
                .map_err(|e| fixture(e.to_string()))?
        };
        let cert = Certificate::from_der(&cert_der).map_err(|e| fixture(e.to_string()))?;
        let spki = key.spki()?;
        if cert.tbs_certificate.subject_public_key_info != spki {
            return Err(fixture("the key does not match the certificate".into()));
        }
        Ok(Self {
            cert_der,
            name: cert.tbs_certificate.subject,
            spki,
            key,
        })
    }

    fn cert_pem(&self) -> Result<String, SimulatedPkiError> {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &self.cert_der).map_err(
            |e| SimulatedPkiError::Fixture {
                name: "certificate",
                detail: e.to_string(),
            },
        )
    }
}

/// The simulated PKI's authorities. `Debug` shows no key.
#[derive(Clone)]
pub struct SimulatedPki {
    root: Authority,
    intermediate: Authority,
    document_signer: Authority,
    other_root: Authority,
}

impl std::fmt::Debug for SimulatedPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedPki").finish_non_exhaustive()
    }
}

/// What a certificate is for, which decides its extensions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Profile {
    Root,
    Intermediate,
    DocumentSigner,
    Authentication,
    Signing,
}

impl SimulatedPki {
    /// Loads the committed fixtures (embedded in the crate), checking each key against its
    /// certificate.
    pub fn load() -> Result<Self, SimulatedPkiError> {
        Ok(Self {
            root: Authority::from_pem("national-root-ca", ROOT_CERT_PEM, ROOT_KEY_PEM, true)?,
            intermediate: Authority::from_pem(
                "intermediate-ca",
                INTERMEDIATE_CERT_PEM,
                INTERMEDIATE_KEY_PEM,
                false,
            )?,
            document_signer: Authority::from_pem(
                "document-signer",
                DS_CERT_PEM,
                DS_KEY_PEM,
                false,
            )?,
            other_root: Authority::from_pem(
                "other-root-ca",
                OTHER_ROOT_CERT_PEM,
                OTHER_ROOT_KEY_PEM,
                false,
            )?,
        })
    }

    /// Makes the authorities from their fixed seeds: the same as [`load`](Self::load) gives,
    /// unless the code that makes them changed (a test checks they agree).
    pub fn generate() -> Result<Self, SimulatedPkiError> {
        let ca = Validity::simulated_ca();
        let root_key = AuthorityKey::P384(p384_key_from_seed(ROOT_SEED).into());
        let root = self_signed(ROOT_CA_NAME, root_key, ca)?;
        let intermediate_key = AuthorityKey::P256(p256_key_from_seed(INTERMEDIATE_SEED).into());
        let intermediate = issue_authority(
            &root,
            INTERMEDIATE_CA_NAME,
            intermediate_key,
            Profile::Intermediate,
            ca,
        )?;
        let ds_key = AuthorityKey::P256(p256_key_from_seed(DS_SEED).into());
        let document_signer = issue_authority(
            &root,
            DOCUMENT_SIGNER_NAME,
            ds_key,
            Profile::DocumentSigner,
            ca,
        )?;
        let other_key = AuthorityKey::P256(p256_key_from_seed(OTHER_ROOT_SEED).into());
        let other_root = self_signed(OTHER_ROOT_CA_NAME, other_key, ca)?;
        Ok(Self {
            root,
            intermediate,
            document_signer,
            other_root,
        })
    }

    /// The simulated national root CA's DER certificate (the trust anchor).
    pub fn root_certificate_der(&self) -> &[u8] {
        &self.root.cert_der
    }

    /// The intermediate CA's DER certificate (card certificates' issuer).
    pub fn intermediate_certificate_der(&self) -> &[u8] {
        &self.intermediate.cert_der
    }

    /// The other root's DER certificate (an anchor that must not validate national cards).
    pub fn other_root_certificate_der(&self) -> &[u8] {
        &self.other_root.cert_der
    }

    /// Issues a card's authentication and signing certificates (in that order, DER) for the
    /// card's public keys (DER SubjectPublicKeyInfo), from the intermediate CA: the
    /// authentication certificate with keyUsage digitalSignature (critical) and
    /// extendedKeyUsage clientAuth, the signing certificate with keyUsage nonRepudiation
    /// (critical) and no extendedKeyUsage; both with the holder as subject.
    pub fn issue_card_certificates(
        &self,
        holder: &CertHolder,
        auth_spki_der: &[u8],
        sign_spki_der: &[u8],
        validity: Validity,
    ) -> Result<(Vec<u8>, Vec<u8>), SimulatedPkiError> {
        issue_pair(
            &self.intermediate,
            holder,
            auth_spki_der,
            sign_spki_der,
            validity,
        )
    }

    /// The same certificates as [`issue_card_certificates`](Self::issue_card_certificates),
    /// issued directly by the other root: they must fail validation against the simulated
    /// national root with `unknown_issuer`.
    pub fn issue_with_other_root(
        &self,
        holder: &CertHolder,
        auth_spki_der: &[u8],
        sign_spki_der: &[u8],
        validity: Validity,
    ) -> Result<(Vec<u8>, Vec<u8>), SimulatedPkiError> {
        issue_pair(
            &self.other_root,
            holder,
            auth_spki_der,
            sign_spki_der,
            validity,
        )
    }

    /// The document signer for EF.SOD (issued by the root, valid 2025–2045).
    pub fn document_signer(&self) -> DocumentSigner {
        DocumentSigner {
            cert_der: self.document_signer.cert_der.clone(),
            key: self.document_signer.key.clone(),
        }
    }

    /// Another document signer with the document signer's key, issued by the national root
    /// (`other_root == false`) or by the other root, for the given validity: an expired or
    /// foreign document signer for negative tests.
    pub fn document_signer_with(
        &self,
        other_root: bool,
        validity: Validity,
    ) -> Result<DocumentSigner, SimulatedPkiError> {
        let issuer = if other_root {
            &self.other_root
        } else {
            &self.root
        };
        let a = issue_authority(
            issuer,
            DOCUMENT_SIGNER_NAME,
            self.document_signer.key.clone(),
            Profile::DocumentSigner,
            validity,
        )?;
        Ok(DocumentSigner {
            cert_der: a.cert_der,
            key: a.key,
        })
    }

    /// The fixture files (name under `simulators/fixtures/pki/`, PEM text) of the authorities.
    pub fn fixture_files(&self) -> Result<Vec<(&'static str, String)>, SimulatedPkiError> {
        Ok(vec![
            ("national-root-ca.pem", self.root.cert_pem()?),
            ("national-root-ca.key.pem", self.root.key.to_pkcs8_pem()?),
            ("intermediate-ca.pem", self.intermediate.cert_pem()?),
            (
                "intermediate-ca.key.pem",
                self.intermediate.key.to_pkcs8_pem()?,
            ),
            ("document-signer.pem", self.document_signer.cert_pem()?),
            (
                "document-signer.key.pem",
                self.document_signer.key.to_pkcs8_pem()?,
            ),
            ("other-root-ca.pem", self.other_root.cert_pem()?),
            ("other-root-ca.key.pem", self.other_root.key.to_pkcs8_pem()?),
        ])
    }
}

/// The document signer of the simulated document security objects: its certificate and a
/// signing function for `shenas_cards::pki::sod::build_sod`. `Debug` shows no key.
#[derive(Clone)]
pub struct DocumentSigner {
    cert_der: Vec<u8>,
    key: AuthorityKey,
}

impl std::fmt::Debug for DocumentSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentSigner").finish_non_exhaustive()
    }
}

impl DocumentSigner {
    /// The DER certificate.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Signs the DER of the signed attributes (RFC 5652 clause 5.4) with ECDSA P-256 over
    /// SHA-256 (the key's default hash, which `build_sod` picks for it); DER signature.
    pub fn sign(&self, signed_attrs_der: &[u8]) -> Result<Vec<u8>, SimulatedPkiError> {
        Ok(self.key.sign_der(signed_attrs_der))
    }
}

/// A deterministic P-256 private key from a seed: the first
/// `SHA-256("shenas p256 seed" ‖ counter ‖ seed)` (counter 0, 1, …) that is a valid scalar.
pub fn p256_key_from_seed(seed: &[u8]) -> p256::SecretKey {
    let mut counter: u32 = 0;
    loop {
        let mut h = sha2::Sha256::new();
        h.update(b"shenas p256 seed");
        h.update(counter.to_be_bytes());
        h.update(seed);
        if let Ok(k) = p256::SecretKey::from_slice(&h.finalize()) {
            return k;
        }
        // A hash is not a valid scalar with probability < 2^-32: the loop ends at once.
        counter = counter.wrapping_add(1);
    }
}

/// A deterministic P-384 private key from a seed, as [`p256_key_from_seed`] with SHA-384.
pub fn p384_key_from_seed(seed: &[u8]) -> p384::SecretKey {
    let mut counter: u32 = 0;
    loop {
        let mut h = sha2::Sha384::new();
        h.update(b"shenas p384 seed");
        h.update(counter.to_be_bytes());
        h.update(seed);
        if let Ok(k) = p384::SecretKey::from_slice(&h.finalize()) {
            return k;
        }
        // As above: the first hash is a valid scalar but with negligible probability.
        counter = counter.wrapping_add(1);
    }
}

/// RSA-2048 fixture key `index` (0 to [`RSA_FIXTURE_KEYS`] − 1), from the committed PKCS#8.
pub fn rsa_fixture_key(index: usize) -> Result<rsa::RsaPrivateKey, SimulatedPkiError> {
    let pem = RSA_KEYS_PEM
        .get(index)
        .ok_or(SimulatedPkiError::NoSuchRsaKey(index))?;
    rsa::RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| SimulatedPkiError::Fixture {
        name: "rsa-2048",
        detail: e.to_string(),
    })
}

fn self_signed(
    cn: &str,
    key: AuthorityKey,
    validity: Validity,
) -> Result<Authority, SimulatedPkiError> {
    let name = ca_name(cn)?;
    let spki = key.spki()?;
    let tbs_extensions = extensions(Profile::Root, &spki, None)?;
    let cert_der = sign_certificate(
        &key,
        &name,
        name.clone(),
        spki.clone(),
        validity,
        serial(&[cn.as_bytes()]),
        tbs_extensions,
    )?;
    Ok(Authority {
        cert_der,
        name,
        spki,
        key,
    })
}

fn issue_authority(
    issuer: &Authority,
    cn: &str,
    key: AuthorityKey,
    profile: Profile,
    validity: Validity,
) -> Result<Authority, SimulatedPkiError> {
    let name = ca_name(cn)?;
    let spki = key.spki()?;
    let exts = extensions(profile, &spki, Some(&issuer.spki))?;
    let nb = unix(validity.not_before).to_be_bytes();
    let cert_der = sign_certificate(
        &issuer.key,
        &issuer.name,
        name.clone(),
        spki.clone(),
        validity,
        serial(&[cn.as_bytes(), &issuer.cert_der, &nb]),
        exts,
    )?;
    Ok(Authority {
        cert_der,
        name,
        spki,
        key,
    })
}

fn issue_pair(
    issuer: &Authority,
    holder: &CertHolder,
    auth_spki_der: &[u8],
    sign_spki_der: &[u8],
    validity: Validity,
) -> Result<(Vec<u8>, Vec<u8>), SimulatedPkiError> {
    let subject = holder_name(holder)?;
    let mut out = Vec::with_capacity(2);
    for (profile, spki_der, tag) in [
        (Profile::Authentication, auth_spki_der, b"auth"),
        (Profile::Signing, sign_spki_der, b"sign"),
    ] {
        let spki = SubjectPublicKeyInfoOwned::from_der(spki_der)
            .map_err(SimulatedPkiError::BadPublicKey)?;
        let exts = extensions(profile, &spki, Some(&issuer.spki))?;
        let nb = unix(validity.not_before).to_be_bytes();
        let na = unix(validity.not_after).to_be_bytes();
        out.push(sign_certificate(
            &issuer.key,
            &issuer.name,
            subject.clone(),
            spki,
            validity,
            serial(&[tag, spki_der, &issuer.cert_der, &nb, &na]),
            exts,
        )?);
    }
    let sign = out.pop();
    let auth = out.pop();
    match (auth, sign) {
        (Some(a), Some(s)) => Ok((a, s)),
        // Both were pushed above.
        _ => Err(SimulatedPkiError::BadValidity),
    }
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A positive 16-byte serial number derived from `parts` (RFC 5280 clause 4.1.2.2: ≤ 20 bytes).
fn serial(parts: &[&[u8]]) -> SerialNumber {
    let mut h = sha2::Sha256::new();
    h.update(b"shenas simulated serial");
    for p in parts {
        h.update(u64::try_from(p.len()).unwrap_or(u64::MAX).to_be_bytes());
        h.update(p);
    }
    let mut bytes = [0u8; 16];
    for (b, d) in bytes.iter_mut().zip(h.finalize()) {
        *b = d;
    }
    // Positive and without a redundant leading zero.
    bytes[0] = (bytes[0] & 0x7F) | 0x40;
    // Sixteen bytes with a valid leading byte always make a serial number.
    SerialNumber::new(&bytes).unwrap_or_else(|_| SerialNumber::from(1u32))
}

fn rdn(oid: ObjectIdentifier, value: Any) -> Result<RelativeDistinguishedName, SimulatedPkiError> {
    Ok(RelativeDistinguishedName(SetOfVec::try_from(vec![
        AttributeTypeAndValue { oid, value },
    ])?))
}

fn printable(s: &str, field: &'static str) -> Result<Any, SimulatedPkiError> {
    let p = PrintableStringRef::new(s).map_err(|_| SimulatedPkiError::BadHolderField(field))?;
    Ok(Any::from(p))
}

fn utf8(s: &str, field: &'static str) -> Result<Any, SimulatedPkiError> {
    let u = Utf8StringRef::new(s).map_err(|_| SimulatedPkiError::BadHolderField(field))?;
    if s.is_empty() {
        return Err(SimulatedPkiError::BadHolderField(field));
    }
    Ok(Any::from(u))
}

/// `C=IR, O=<ORGANIZATION>, CN=<cn>`.
fn ca_name(cn: &str) -> Result<Name, SimulatedPkiError> {
    Ok(RdnSequence(vec![
        rdn(rfc4519::C, printable("IR", "country")?)?,
        rdn(rfc4519::O, utf8(ORGANIZATION, "organization")?)?,
        rdn(rfc4519::CN, utf8(cn, "common name")?)?,
    ]))
}

/// `C, SN (surname), GN (givenName), serialNumber, CN` (X.520 attribute types).
fn holder_name(h: &CertHolder) -> Result<Name, SimulatedPkiError> {
    if h.country.len() != 2 {
        return Err(SimulatedPkiError::BadHolderField("country"));
    }
    Ok(RdnSequence(vec![
        rdn(rfc4519::C, printable(&h.country, "country")?)?,
        rdn(rfc4519::SN, utf8(&h.surname, "surname")?)?,
        rdn(rfc4519::GIVEN_NAME, utf8(&h.given_name, "given name")?)?,
        rdn(
            rfc4519::SERIAL_NUMBER,
            printable(&h.serial_number, "serial number")?,
        )?,
        rdn(rfc4519::CN, utf8(&h.common_name, "common name")?)?,
    ]))
}

/// Key identifier: the leftmost 160 bits of the SHA-256 of the subjectPublicKey bits (RFC 7093
/// clause 2 method 1).
fn key_id(spki: &SubjectPublicKeyInfoOwned) -> Result<OctetString, SimulatedPkiError> {
    let h = sha2::Sha256::digest(spki.subject_public_key.raw_bytes());
    Ok(OctetString::new(h.get(..20).unwrap_or_default())?)
}

fn ext<T: Encode>(
    oid: ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension, SimulatedPkiError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn extensions(
    profile: Profile,
    spki: &SubjectPublicKeyInfoOwned,
    issuer_spki: Option<&SubjectPublicKeyInfoOwned>,
) -> Result<Vec<Extension>, SimulatedPkiError> {
    let mut v = Vec::new();
    let ca = |path_len| BasicConstraints {
        ca: true,
        path_len_constraint: path_len,
    };
    match profile {
        Profile::Root => {
            v.push(ext(rfc5280::ID_CE_BASIC_CONSTRAINTS, true, &ca(None))?);
        }
        Profile::Intermediate => {
            v.push(ext(rfc5280::ID_CE_BASIC_CONSTRAINTS, true, &ca(Some(0)))?);
        }
        Profile::DocumentSigner | Profile::Authentication | Profile::Signing => {}
    }
    let ku = match profile {
        Profile::Root | Profile::Intermediate => KeyUsages::KeyCertSign | KeyUsages::CRLSign,
        Profile::DocumentSigner | Profile::Authentication => KeyUsages::DigitalSignature.into(),
        Profile::Signing => KeyUsages::NonRepudiation.into(),
    };
    v.push(ext(rfc5280::ID_CE_KEY_USAGE, true, &KeyUsage(ku))?);
    if profile == Profile::Authentication {
        v.push(ext(
            rfc5280::ID_CE_EXT_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![rfc5280::ID_KP_CLIENT_AUTH]),
        )?);
    }
    v.push(ext(
        rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
        false,
        &SubjectKeyIdentifier(key_id(spki)?),
    )?);
    if let Some(issuer) = issuer_spki {
        v.push(ext(
            rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(key_id(issuer)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?);
    }
    Ok(v)
}

fn sign_certificate(
    issuer_key: &AuthorityKey,
    issuer: &Name,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    validity: Validity,
    serial_number: SerialNumber,
    extensions: Vec<Extension>,
) -> Result<Vec<u8>, SimulatedPkiError> {
    let signature_alg = issuer_key.signature_algorithm();
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number,
        signature: signature_alg.clone(),
        issuer: issuer.clone(),
        validity: validity.encode()?,
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let sig = issuer_key.sign_der(&tbs.to_der()?);
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: signature_alg,
        signature: BitString::from_bytes(&sig)?,
    };
    Ok(cert.to_der()?)
}

/// Tag of a DER value, for tests of the name encodings.
#[cfg(test)]
fn tag_of(any: &Any) -> der::Tag {
    der::Tagged::tag(any)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::EncodePrivateKey;
    use shenas_cards::pki::{Purpose, TrustAnchors, validate};

    fn holder() -> CertHolder {
        CertHolder {
            common_name: "رضایی، علی، 0076229645".into(),
            serial_number: "0076229645".into(),
            given_name: "علی".into(),
            surname: "رضایی".into(),
            country: "IR".into(),
        }
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000) // 2027-01-15
    }

    #[test]
    fn fixtures_load_and_equal_what_the_seeds_make() {
        let loaded = SimulatedPki::load().unwrap();
        let generated = SimulatedPki::generate().unwrap();
        assert_eq!(loaded.root.cert_der, generated.root.cert_der);
        assert_eq!(
            loaded.intermediate.cert_der,
            generated.intermediate.cert_der
        );
        assert_eq!(
            loaded.document_signer.cert_der,
            generated.document_signer.cert_der
        );
        assert_eq!(loaded.other_root.cert_der, generated.other_root.cert_der);
        // The host's embedded anchor is this root.
        let anchors = TrustAnchors::simulated();
        assert_eq!(
            anchors.certificates().next().unwrap(),
            loaded.root_certificate_der()
        );
        for i in 0..RSA_FIXTURE_KEYS {
            let k = rsa_fixture_key(i).unwrap();
            use rsa::traits::PublicKeyParts;
            assert_eq!(k.n().bits(), 2048);
        }
        assert!(matches!(
            rsa_fixture_key(RSA_FIXTURE_KEYS),
            Err(SimulatedPkiError::NoSuchRsaKey(_))
        ));
    }

    #[test]
    fn card_certificates_chain_and_carry_their_usages() {
        let pki = SimulatedPki::load().unwrap();
        let auth_key = p256_key_from_seed(b"card auth");
        let sign_key = p256_key_from_seed(b"card sign");
        let (auth, sign) = pki
            .issue_card_certificates(
                &holder(),
                auth_key
                    .public_key()
                    .to_public_key_der()
                    .unwrap()
                    .as_bytes(),
                sign_key
                    .public_key()
                    .to_public_key_der()
                    .unwrap()
                    .as_bytes(),
                Validity {
                    not_before: UNIX_EPOCH + Duration::from_secs(1_750_000_000),
                    not_after: UNIX_EPOCH + Duration::from_secs(1_900_000_000),
                },
            )
            .unwrap();
        let anchors = TrustAnchors::simulated();
        let inter = [pki.intermediate_certificate_der()];
        let a = validate(&auth, &inter, &anchors, Purpose::Authentication, now()).unwrap();
        assert!(a.simulated_trust);
        assert_eq!(a.issuers.len(), 2);
        let s = validate(&sign, &inter, &anchors, Purpose::NonRepudiation, now()).unwrap();
        assert_eq!(a.end_entity.subject, s.end_entity.subject);
        assert_eq!(a.end_entity.issuer, s.end_entity.issuer);
        assert_ne!(a.end_entity.serial, s.end_entity.serial);
        assert!(a.end_entity.subject.contains("0076229645"));
        let e = validate(&sign, &inter, &anchors, Purpose::Authentication, now()).unwrap_err();
        assert_eq!(e.code(), "wrong_key_usage");
        let e = validate(&auth, &inter, &anchors, Purpose::NonRepudiation, now()).unwrap_err();
        assert_eq!(e.code(), "wrong_key_usage");
        // Deterministic.
        let again = pki
            .issue_card_certificates(
                &holder(),
                auth_key
                    .public_key()
                    .to_public_key_der()
                    .unwrap()
                    .as_bytes(),
                sign_key
                    .public_key()
                    .to_public_key_der()
                    .unwrap()
                    .as_bytes(),
                Validity {
                    not_before: UNIX_EPOCH + Duration::from_secs(1_750_000_000),
                    not_after: UNIX_EPOCH + Duration::from_secs(1_900_000_000),
                },
            )
            .unwrap();
        assert_eq!(again.0, auth);
        // Holder names are not in Debug.
        assert!(!format!("{:?}", holder()).contains("0076229645"));
        // The other root's certificates do not chain to the national root.
        let (oa, _) = pki
            .issue_with_other_root(
                &holder(),
                auth_key
                    .public_key()
                    .to_public_key_der()
                    .unwrap()
                    .as_bytes(),
                sign_key
                    .public_key()
                    .to_public_key_der()
                    .unwrap()
                    .as_bytes(),
                Validity::simulated_ca(),
            )
            .unwrap();
        let e = validate(&oa, &inter, &anchors, Purpose::Authentication, now()).unwrap_err();
        assert_eq!(e.code(), "unknown_issuer");
        let other = TrustAnchors::from_der(pki.other_root_certificate_der()).unwrap();
        assert!(!other.is_simulated());
        validate(&oa, &[], &other, Purpose::Authentication, now()).unwrap();
    }

    #[test]
    fn holder_fields_are_checked() {
        let pki = SimulatedPki::load().unwrap();
        let k = p256_key_from_seed(b"x")
            .public_key()
            .to_public_key_der()
            .unwrap();
        let mut h = holder();
        h.country = "Iran".into();
        assert!(matches!(
            pki.issue_card_certificates(&h, k.as_bytes(), k.as_bytes(), Validity::simulated_ca()),
            Err(SimulatedPkiError::BadHolderField("country"))
        ));
        assert!(matches!(
            pki.issue_card_certificates(&holder(), b"junk", k.as_bytes(), Validity::simulated_ca()),
            Err(SimulatedPkiError::BadPublicKey(_))
        ));
        let backwards = Validity {
            not_before: UNIX_EPOCH + Duration::from_secs(10),
            not_after: UNIX_EPOCH,
        };
        assert!(matches!(
            pki.issue_card_certificates(&holder(), k.as_bytes(), k.as_bytes(), backwards),
            Err(SimulatedPkiError::BadValidity)
        ));
    }

    #[test]
    fn dates_use_utc_time_before_2050() {
        let t = rfc5280_time(UNIX_EPOCH + Duration::from_secs(CA_NOT_AFTER)).unwrap();
        assert!(matches!(t, Time::UtcTime(_)));
        let t = rfc5280_time(UNIX_EPOCH + Duration::from_secs(2_600_000_000)).unwrap();
        assert!(matches!(t, Time::GeneralTime(_)));
        assert_eq!(
            tag_of(&printable("IR", "c").unwrap()),
            der::Tag::PrintableString
        );
    }

    #[test]
    fn seeded_keys_are_deterministic() {
        assert_eq!(p256_key_from_seed(b"a"), p256_key_from_seed(b"a"));
        assert_ne!(p256_key_from_seed(b"a"), p256_key_from_seed(b"b"));
        assert_eq!(p384_key_from_seed(b"a"), p384_key_from_seed(b"a"));
    }

    /// Regenerates `simulators/fixtures/pki/` and `apdu/cards/fixtures/` (see the module doc).
    #[test]
    #[ignore = "writes the fixtures; run by hand"]
    fn regenerate_fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pki");
        std::fs::create_dir_all(&dir).unwrap();
        let pki = SimulatedPki::generate().unwrap();
        for (name, pem) in pki.fixture_files().unwrap() {
            std::fs::write(dir.join(name), pem).unwrap();
        }
        let cards = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../apdu/cards/fixtures");
        std::fs::create_dir_all(&cards).unwrap();
        std::fs::write(
            cards.join("shenas-simulated-national-root-ca.pem"),
            pki.root.cert_pem().unwrap(),
        )
        .unwrap();
        for i in 0..RSA_FIXTURE_KEYS {
            let path = dir.join(format!("rsa-2048-{i}.key.pem"));
            if path.exists() {
                continue;
            }
            let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
            let pem = key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap();
            std::fs::write(path, pem.as_bytes()).unwrap();
        }
    }
}
