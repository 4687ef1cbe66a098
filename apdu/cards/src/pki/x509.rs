//! X.509 certificate validation on the host (RFC 5280 clause 6, simplified): parse, validity
//! dates at a given time, key usage and extended key usage for a [`Purpose`], and a chain
//! through given intermediates to configured [`TrustAnchors`], each link's signature verified
//! with [`PublicKey::verify_prehash`], basicConstraints `cA` and `pathLenConstraint` checked on
//! every issuer.
//!
//! What it does not do (say so wherever a verdict is shown): revocation (CRL, OCSP),
//! certificate policies and name constraints (a certificate marking name constraints or any other
//! unprocessed extension critical is rejected, RFC 5280 clause 4.2). Names are compared as their
//! DER encodings (RFC 5280 clause 7.1 allows this for names encoded alike).
//!
//! Failures are [`CertificateError`] values with a stable snake_case [`code`](CertificateError::code)
//! (`expired`, `not_yet_valid`, `wrong_key_usage`, `unknown_issuer`, `bad_signature`,
//! `malformed`, …) and a human [`Display`](std::fmt::Display). Messages name CA certificates by
//! subject but never the holder's certificate subject (it carries personal data).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use const_oid::ObjectIdentifier;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

use super::verify::{PublicKey, SignatureScheme, VerifyError};

/// The simulated national root CA certificate (PEM), the only anchor of
/// [`TrustAnchors::simulated`]. Made by `shenas_simulators::pki` (its fixtures test regenerates
/// it); public part only.
pub const SIMULATED_ROOT_PEM: &str =
    include_str!("../../fixtures/shenas-simulated-national-root-ca.pem");

/// Longest chain accepted, anchor included (a bound on path building).
const MAX_CHAIN_LEN: usize = 8;

/// What a certificate is to be used for (RFC 5280 clauses 4.2.1.3 and 4.2.1.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// Client authentication (TLS, Web eID): keyUsage digitalSignature and extendedKeyUsage
    /// `id-kp-clientAuth` (or `anyExtendedKeyUsage`).
    Authentication,
    /// Qualified-style electronic signature: keyUsage nonRepudiation (contentCommitment); no
    /// extended key usage required.
    NonRepudiation,
    /// A document signer of a document security object (ICAO 9303-12 clause 7.1.2): keyUsage
    /// digitalSignature; no extended key usage required.
    DocumentSigning,
    /// No key usage requirement (chain and dates only).
    Any,
}

impl Purpose {
    /// A stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Authentication => "authentication",
            Self::NonRepudiation => "non_repudiation",
            Self::DocumentSigning => "document_signing",
            Self::Any => "any",
        }
    }
}

impl std::fmt::Display for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which certificate of a chain a failure is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPosition {
    /// 0 for the certificate validated, 1 for its issuer, and so on.
    pub depth: usize,
    /// The subject of a CA certificate (depth ≥ 1); `None` for the end-entity certificate,
    /// whose subject is personal data.
    pub ca_subject: Option<String>,
}

impl std::fmt::Display for ChainPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.ca_subject {
            None => f.write_str("the certificate"),
            Some(s) => write!(f, "the CA certificate \"{s}\" (depth {})", self.depth),
        }
    }
}

/// Why a certificate is not valid. [`code`](Self::code) gives a stable snake_case name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// Not a DER X.509 certificate, or an extension that cannot be parsed.
    #[error("malformed certificate at depth {depth}: {detail}")]
    Malformed {
        /// 0 for the certificate validated, 1 for its issuer, …
        depth: usize,
        /// What is wrong.
        detail: String,
    },
    /// `notAfter` is before the validation time.
    #[error("{at} expired at {not_after}")]
    Expired {
        /// The certificate concerned.
        at: ChainPosition,
        /// Its notAfter (RFC 3339).
        not_after: String,
    },
    /// `notBefore` is after the validation time.
    #[error("{at} is not valid before {not_before}")]
    NotYetValid {
        /// The certificate concerned.
        at: ChainPosition,
        /// Its notBefore (RFC 3339).
        not_before: String,
    },
    /// The key usage or extended key usage does not allow the purpose.
    #[error("{at} does not allow {purpose}: {detail}")]
    WrongKeyUsage {
        /// The certificate concerned.
        at: ChainPosition,
        /// The purpose asked for (for a CA: `keyCertSign`).
        purpose: String,
        /// What is missing.
        detail: String,
    },
    /// No intermediate or trust anchor has the issuer's name.
    #[error("unknown issuer \"{issuer}\" of the certificate at depth {depth}")]
    UnknownIssuer {
        /// Depth of the certificate whose issuer is unknown.
        depth: usize,
        /// The issuer name it names.
        issuer: String,
    },
    /// The issuer's key does not verify the certificate's signature.
    #[error(
        "the signature on the certificate at depth {depth} does not verify with its issuer's key"
    )]
    BadSignature {
        /// Depth of the certificate whose signature fails.
        depth: usize,
    },
    /// An issuer is not a CA (basicConstraints absent or `cA` false).
    #[error("{at} is not a CA certificate (basicConstraints)")]
    NotCa {
        /// The issuer concerned.
        at: ChainPosition,
    },
    /// An issuer's `pathLenConstraint` is smaller than the intermediates below it.
    #[error("{at} allows {allowed} intermediate CA certificates below it, the chain has {found}")]
    PathLenExceeded {
        /// The issuer concerned.
        at: ChainPosition,
        /// Its pathLenConstraint.
        allowed: u32,
        /// Intermediates below it.
        found: usize,
    },
    /// The chain would be longer than the bound on path building.
    #[error("the certificate chain is longer than {0} certificates")]
    ChainTooLong(usize),
    /// A signature or key algorithm not supported here.
    #[error("unsupported algorithm at depth {depth}: {detail}")]
    UnsupportedAlgorithm {
        /// Depth of the certificate concerned.
        depth: usize,
        /// Which algorithm.
        detail: String,
    },
    /// A critical extension not processed here (RFC 5280 clause 4.2).
    #[error("{at} has the unsupported critical extension {oid}")]
    UnsupportedCriticalExtension {
        /// The certificate concerned.
        at: ChainPosition,
        /// The extension's OID.
        oid: String,
    },
}

impl CertificateError {
    /// A stable snake_case code: `malformed`, `expired`, `not_yet_valid`, `wrong_key_usage`,
    /// `unknown_issuer`, `bad_signature`, `not_ca`, `path_len_exceeded`, `chain_too_long`,
    /// `unsupported_algorithm`, `unsupported_critical_extension`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "malformed",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::WrongKeyUsage { .. } => "wrong_key_usage",
            Self::UnknownIssuer { .. } => "unknown_issuer",
            Self::BadSignature { .. } => "bad_signature",
            Self::NotCa { .. } => "not_ca",
            Self::PathLenExceeded { .. } => "path_len_exceeded",
            Self::ChainTooLong(_) => "chain_too_long",
            Self::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            Self::UnsupportedCriticalExtension { .. } => "unsupported_critical_extension",
        }
    }
}

/// A failure to set up [`TrustAnchors`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnchorError {
    /// A file could not be read.
    #[error("cannot read trust anchor file {path}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not DER certificates or PEM `CERTIFICATE` blocks.
    #[error("not a trust anchor certificate: {0}")]
    Malformed(String),
    /// No certificate found.
    #[error("no trust anchor certificate found")]
    Empty,
}

/// The configured roots that certificate chains must end at.
///
/// [`TrustAnchors::simulated`] holds only the simulated national root CA (for tests, demos and
/// the default configuration, which must say it uses simulated trust); the other constructors
/// hold exactly the certificates given, so a configuration naming real anchors never includes
/// the simulated one unless it names it itself (and [`is_simulated`](Self::is_simulated) then
/// says so).
#[derive(Clone, Default)]
pub struct TrustAnchors {
    anchors: Vec<Vec<u8>>,
}

impl std::fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustAnchors")
            .field("count", &self.anchors.len())
            .field("simulated", &self.is_simulated())
            .finish()
    }
}

impl TrustAnchors {
    /// No anchors (every validation fails with `unknown_issuer`).
    pub fn empty() -> Self {
        Self::default()
    }

    /// The simulated national root CA ("Shenas Simulated National Root CA") alone.
    pub fn simulated() -> Self {
        // The embedded fixture is a valid certificate (tested below); were it not, the set
        // would be empty and every validation would fail closed.
        Self::from_bytes(SIMULATED_ROOT_PEM.as_bytes()).unwrap_or_default()
    }

    /// One DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, AnchorError> {
        let mut a = Self::empty();
        a.add_der(der)?;
        Ok(a)
    }

    /// All `CERTIFICATE` blocks of a PEM text (RFC 7468 clause 5); other blocks are skipped.
    pub fn from_pem(pem: &[u8]) -> Result<Self, AnchorError> {
        let mut a = Self::empty();
        a.add_pem(pem)?;
        Ok(a)
    }

    /// PEM if the bytes look like PEM (they start with `-----BEGIN` after white space), DER
    /// otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AnchorError> {
        let mut a = Self::empty();
        a.add_bytes(bytes)?;
        Ok(a)
    }

    /// The certificates of each file (DER or PEM, see [`from_bytes`](Self::from_bytes)).
    pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self, AnchorError> {
        let mut a = Self::empty();
        for p in paths {
            let p = p.as_ref();
            let bytes = std::fs::read(p).map_err(|source| AnchorError::Io {
                path: p.to_path_buf(),
                source,
            })?;
            a.add_bytes(&bytes)?;
        }
        if a.anchors.is_empty() {
            return Err(AnchorError::Empty);
        }
        Ok(a)
    }

    /// Adds the certificates of DER or PEM bytes.
    pub fn add_bytes(&mut self, bytes: &[u8]) -> Result<(), AnchorError> {
        let start = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(bytes.len());
        if bytes
            .get(start..)
            .is_some_and(|b| b.starts_with(b"-----BEGIN"))
        {
            self.add_pem(bytes)
        } else {
            self.add_der(bytes)
        }
    }

    /// Adds one DER certificate.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), AnchorError> {
        parse(der, 0).map_err(|e| AnchorError::Malformed(e.to_string()))?;
        if !self.anchors.iter().any(|a| a == der) {
            self.anchors.push(der.to_vec());
        }
        Ok(())
    }

    /// Adds every `CERTIFICATE` block of a PEM text.
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<(), AnchorError> {
        let mut found = 0usize;
        for block in x509_parser::pem::Pem::iter_from_buffer(pem) {
            let block = block.map_err(|e| AnchorError::Malformed(format!("PEM: {e}")))?;
            if block.label == "CERTIFICATE" {
                self.add_der(&block.contents)?;
                found += 1;
            }
        }
        if found == 0 {
            return Err(AnchorError::Empty);
        }
        Ok(())
    }

    /// Whether any anchor is the simulated national root CA: verdicts that rest on it must be
    /// shown as simulated trust (`"trust": "simulated"`).
    pub fn is_simulated(&self) -> bool {
        let sim = simulated_root_der();
        self.anchors
            .iter()
            .any(|a| Some(a.as_slice()) == sim.as_deref())
    }

    /// Number of anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The anchors' DER certificates.
    pub fn certificates(&self) -> impl Iterator<Item = &[u8]> {
        self.anchors.iter().map(Vec::as_slice)
    }
}

/// The DER of the simulated root, decoded from [`SIMULATED_ROOT_PEM`].
fn simulated_root_der() -> Option<Vec<u8>> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(SIMULATED_ROOT_PEM.as_bytes()).ok()?;
    Some(pem.contents)
}

/// Facts about one certificate. `Debug` leaves out the subject (personal data for a holder's
/// certificate); [`subject`](Self::subject) gives it to callers that show it to the holder.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The DER certificate.
    pub der: Vec<u8>,
    /// The subject name as an RFC 4514-style string (personal data for a holder).
    pub subject: String,
    /// The issuer name as an RFC 4514-style string.
    pub issuer: String,
    /// The serial number in hexadecimal, colon-separated.
    pub serial: String,
    /// notBefore.
    pub not_before: SystemTime,
    /// notAfter.
    pub not_after: SystemTime,
    /// The DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// basicConstraints `cA`.
    pub is_ca: bool,
}

impl std::fmt::Debug for CertificateInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateInfo")
            .field("issuer", &self.issuer)
            .field("serial", &self.serial)
            .field("is_ca", &self.is_ca)
            .finish_non_exhaustive()
    }
}

impl CertificateInfo {
    /// Parses a DER certificate (no validation).
    pub fn parse(der: &[u8]) -> Result<Self, CertificateError> {
        let c = parse(der, 0)?;
        Ok(info(der, &c))
    }

    /// The subject's public key.
    pub fn public_key(&self) -> Result<PublicKey, VerifyError> {
        PublicKey::from_spki_der(&self.spki_der)
    }
}

/// A chain that validated.
#[derive(Debug, Clone)]
pub struct ValidatedChain {
    /// The certificate validated.
    pub end_entity: CertificateInfo,
    /// Its issuers, nearest first, ending with the trust anchor.
    pub issuers: Vec<CertificateInfo>,
    /// Whether the anchor reached is the simulated national root CA.
    pub simulated_trust: bool,
}

impl ValidatedChain {
    /// The trust anchor the chain ends at.
    pub fn anchor(&self) -> Option<&CertificateInfo> {
        self.issuers.last()
    }
}

/// Validates the DER certificate `cert_der` for `purpose` at time `now`, through
/// `intermediates` (any order, extra ones ignored) to one of `anchors` (RFC 5280 clause 6.1,
/// simplified as the module says).
///
/// Checks, for every certificate of the chain: DER structure and extensions parse, validity
/// dates contain `now`, no unprocessed critical extension; for every issuer: its key verifies
/// the signature below, basicConstraints `cA` (not required of a trust anchor without the
/// extension), keyUsage `keyCertSign` when keyUsage is present, `pathLenConstraint`; for the
/// certificate itself: key usage for `purpose`.
pub fn validate(
    cert_der: &[u8],
    intermediates: &[&[u8]],
    anchors: &TrustAnchors,
    purpose: Purpose,
    now: SystemTime,
) -> Result<ValidatedChain, CertificateError> {
    let leaf = parse(cert_der, 0)?;
    let now_s = unix_seconds(now);
    check_dates(&leaf, 0, now_s)?;
    check_critical(&leaf, 0)?;
    check_purpose(&leaf, purpose)?;

    let mut parsed_inter = Vec::new();
    for der in intermediates {
        // Unparsable extra certificates are ignored: they cannot be links of a chain.
        if let Ok(c) = parse(der, 1) {
            parsed_inter.push((*der, c));
        }
    }
    let mut parsed_anchors = Vec::new();
    for der in anchors.certificates() {
        if let Ok(c) = parse(der, 1) {
            parsed_anchors.push((der, c));
        }
    }
    let ctx = PathContext {
        intermediates: &parsed_inter,
        anchors: &parsed_anchors,
        now: now_s,
    };
    let mut path = Vec::new();
    let anchor = ctx.extend(&leaf, 0, &mut path)?;
    let sim = simulated_root_der();
    let mut issuers: Vec<CertificateInfo> = path
        .iter()
        .filter_map(|i| parsed_inter.get(*i))
        .map(|(d, c)| info(d, c))
        .collect();
    let (anchor_der, anchor_cert) = anchor;
    issuers.push(info(anchor_der, anchor_cert));
    Ok(ValidatedChain {
        end_entity: info(cert_der, &leaf),
        issuers,
        simulated_trust: Some(anchor_der) == sim.as_deref(),
    })
}

/// The certificates path building may use.
struct PathContext<'c, 'a> {
    intermediates: &'c [(&'a [u8], X509Certificate<'a>)],
    anchors: &'c [(&'a [u8], X509Certificate<'a>)],
    now: i64,
}

impl<'c, 'a> PathContext<'c, 'a> {
    /// Finds an issuer of `cert` (at `depth`), preferring anchors, and extends the chain to an
    /// anchor; `path` holds the indexes of the intermediates used so far. Returns the anchor.
    fn extend(
        &self,
        cert: &X509Certificate<'_>,
        depth: usize,
        path: &mut Vec<usize>,
    ) -> Result<(&'a [u8], &'c X509Certificate<'a>), CertificateError> {
        if depth + 2 > MAX_CHAIN_LEN {
            return Err(CertificateError::ChainTooLong(MAX_CHAIN_LEN));
        }
        let issuer_raw = cert.issuer().as_raw();
        let mut last_err = None;
        for (der, a) in self.anchors {
            if a.subject().as_raw() != issuer_raw {
                continue;
            }
            match self.check_link(cert, depth, a, true) {
                Ok(()) => return Ok((der, a)),
                Err(e) => last_err = Some(e),
            }
        }
        for (i, (_, c)) in self.intermediates.iter().enumerate() {
            if c.subject().as_raw() != issuer_raw || path.contains(&i) {
                continue;
            }
            if let Err(e) = self.check_link(cert, depth, c, false) {
                last_err = Some(e);
                continue;
            }
            path.push(i);
            match self.extend(c, depth + 1, path) {
                Ok(anchor) => return Ok(anchor),
                Err(e) => {
                    path.pop();
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| CertificateError::UnknownIssuer {
            depth,
            issuer: cert.issuer().to_string(),
        }))
    }

    /// Checks that `issuer` (at `depth + 1`) issued `cert` and may issue it.
    fn check_link(
        &self,
        cert: &X509Certificate<'_>,
        depth: usize,
        issuer: &X509Certificate<'_>,
        is_anchor: bool,
    ) -> Result<(), CertificateError> {
        verify_signature(cert, depth, issuer)?;
        let idepth = depth + 1;
        let at = || ca_position(issuer, idepth);
        check_dates(issuer, idepth, self.now)?;
        check_critical(issuer, idepth)?;
        let bc = issuer
            .basic_constraints()
            .map_err(|e| malformed(idepth, format!("basicConstraints: {e}")))?;
        match bc {
            Some(bc) if !bc.value.ca => return Err(CertificateError::NotCa { at: at() }),
            None if !is_anchor => return Err(CertificateError::NotCa { at: at() }),
            Some(bc) => {
                // `depth` certificates are below the issuer; all but the end entity are
                // intermediates (RFC 5280 clause 4.2.1.9).
                if let Some(allowed) = bc.value.path_len_constraint {
                    let found = depth;
                    if usize::try_from(allowed).is_ok_and(|a| found > a) {
                        return Err(CertificateError::PathLenExceeded {
                            at: at(),
                            allowed,
                            found,
                        });
                    }
                }
            }
            None => {}
        }
        let ku = issuer
            .key_usage()
            .map_err(|e| malformed(idepth, format!("keyUsage: {e}")))?;
        if let Some(ku) = ku
            && !ku.value.key_cert_sign()
        {
            return Err(CertificateError::WrongKeyUsage {
                at: at(),
                purpose: "certificate signing".into(),
                detail: "keyUsage lacks keyCertSign".into(),
            });
        }
        Ok(())
    }
}

/// Verifies the signature on `cert` (at `depth`) with `issuer`'s key.
fn verify_signature(
    cert: &X509Certificate<'_>,
    depth: usize,
    issuer: &X509Certificate<'_>,
) -> Result<(), CertificateError> {
    if cert.signature_algorithm != cert.tbs_certificate.signature {
        return Err(malformed(
            depth,
            "signatureAlgorithm differs from the TBS signature field".into(),
        ));
    }
    let key = PublicKey::from_spki_der(issuer.public_key().raw).map_err(|e| match e {
        VerifyError::UnsupportedKey(detail) => CertificateError::UnsupportedAlgorithm {
            depth: depth + 1,
            detail,
        },
        other => malformed(depth + 1, other.to_string()),
    })?;
    let oid_bytes = cert.signature_algorithm.algorithm.as_bytes();
    let scheme = ObjectIdentifier::from_bytes(oid_bytes)
        .ok()
        .and_then(|oid| SignatureScheme::from_signature_oid(&oid, &key))
        .ok_or_else(|| CertificateError::UnsupportedAlgorithm {
            depth,
            detail: format!(
                "signature algorithm {} with a {:?} issuer key",
                cert.signature_algorithm.algorithm, key
            ),
        })?;
    let hash = scheme.hash();
    let digest = hash.digest(cert.tbs_certificate.as_ref());
    key.verify_prehash(hash, &digest, &cert.signature_value.data)
        .map(|_| ())
        .map_err(|_| CertificateError::BadSignature { depth })
}

/// Parses a DER certificate, rejecting trailing bytes and unparsable extensions.
fn parse(der: &[u8], depth: usize) -> Result<X509Certificate<'_>, CertificateError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| malformed(depth, format!("X.509: {e}")))?;
    if !rest.is_empty() {
        return Err(malformed(
            depth,
            format!("{} bytes after the certificate", rest.len()),
        ));
    }
    for ext in cert.extensions() {
        if let ParsedExtension::ParseError { error } = ext.parsed_extension() {
            return Err(malformed(depth, format!("extension {}: {error}", ext.oid)));
        }
    }
    // Reject duplicated extensions (RFC 5280 clause 4.2), which would make usage ambiguous.
    cert.extensions_map()
        .map_err(|e| malformed(depth, format!("extensions: {e}")))?;
    Ok(cert)
}

fn malformed(depth: usize, detail: String) -> CertificateError {
    CertificateError::Malformed { depth, detail }
}

fn ca_position(cert: &X509Certificate<'_>, depth: usize) -> ChainPosition {
    ChainPosition {
        depth,
        ca_subject: Some(cert.subject().to_string()),
    }
}

fn position(cert: &X509Certificate<'_>, depth: usize) -> ChainPosition {
    if depth == 0 {
        ChainPosition {
            depth,
            ca_subject: None,
        }
    } else {
        ca_position(cert, depth)
    }
}

fn check_dates(cert: &X509Certificate<'_>, depth: usize, now: i64) -> Result<(), CertificateError> {
    let v = cert.validity();
    if now < v.not_before.timestamp() {
        return Err(CertificateError::NotYetValid {
            at: position(cert, depth),
            not_before: rfc3339(v.not_before.timestamp()),
        });
    }
    if now > v.not_after.timestamp() {
        return Err(CertificateError::Expired {
            at: position(cert, depth),
            not_after: rfc3339(v.not_after.timestamp()),
        });
    }
    Ok(())
}

/// Extensions whose semantics are processed (or, for policies and alternative names, impose
/// nothing this validation needs to enforce).
fn is_processed(oid: &str) -> bool {
    matches!(
        oid,
        "2.5.29.15" // keyUsage
            | "2.5.29.37" // extKeyUsage
            | "2.5.29.19" // basicConstraints
            | "2.5.29.14" // subjectKeyIdentifier
            | "2.5.29.35" // authorityKeyIdentifier
            | "2.5.29.17" // subjectAltName
            | "2.5.29.18" // issuerAltName
            | "2.5.29.32" // certificatePolicies (any policy accepted)
    )
}

fn check_critical(cert: &X509Certificate<'_>, depth: usize) -> Result<(), CertificateError> {
    for ext in cert.extensions() {
        let oid = ext.oid.to_id_string();
        if ext.critical && !is_processed(&oid) {
            return Err(CertificateError::UnsupportedCriticalExtension {
                at: position(cert, depth),
                oid,
            });
        }
    }
    Ok(())
}

fn check_purpose(cert: &X509Certificate<'_>, purpose: Purpose) -> Result<(), CertificateError> {
    let wrong = |detail: &str| CertificateError::WrongKeyUsage {
        at: position(cert, 0),
        purpose: purpose.name().into(),
        detail: detail.into(),
    };
    let ku = cert
        .key_usage()
        .map_err(|e| malformed(0, format!("keyUsage: {e}")))?
        .map(|k| *k.value);
    let eku = cert
        .extended_key_usage()
        .map_err(|e| malformed(0, format!("extKeyUsage: {e}")))?
        .map(|e| (e.value.client_auth, e.value.any));
    match purpose {
        Purpose::Any => Ok(()),
        Purpose::Authentication => {
            match ku {
                Some(k) if k.digital_signature() => {}
                Some(_) => return Err(wrong("keyUsage lacks digitalSignature")),
                None => return Err(wrong("no keyUsage extension")),
            }
            match eku {
                Some((true, _) | (_, true)) => Ok(()),
                Some(_) => Err(wrong("extendedKeyUsage lacks clientAuth")),
                None => Err(wrong("no extendedKeyUsage clientAuth")),
            }
        }
        Purpose::NonRepudiation => match ku {
            Some(k) if k.non_repudiation() => Ok(()),
            Some(_) => Err(wrong("keyUsage lacks nonRepudiation")),
            None => Err(wrong("no keyUsage extension")),
        },
        Purpose::DocumentSigning => match ku {
            Some(k) if k.digital_signature() => Ok(()),
            Some(_) => Err(wrong("keyUsage lacks digitalSignature")),
            None => Err(wrong("no keyUsage extension")),
        },
    }
}

fn info(der: &[u8], c: &X509Certificate<'_>) -> CertificateInfo {
    CertificateInfo {
        der: der.to_vec(),
        subject: c.subject().to_string(),
        issuer: c.issuer().to_string(),
        serial: c.raw_serial_as_string(),
        not_before: system_time(c.validity().not_before.timestamp()),
        not_after: system_time(c.validity().not_after.timestamp()),
        spki_der: c.public_key().raw.to_vec(),
        is_ca: c.is_ca(),
    }
}

/// Seconds since the Unix epoch (negative before it), saturating.
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

fn system_time(secs: i64) -> SystemTime {
    let d = Duration::from_secs(secs.unsigned_abs());
    let t = if secs >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    };
    t.unwrap_or(UNIX_EPOCH)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339), or the raw number of seconds outside years 1970–9999.
pub(crate) fn rfc3339(secs: i64) -> String {
    u64::try_from(secs)
        .ok()
        .and_then(|s| der::DateTime::from_unix_duration(Duration::from_secs(s)).ok())
        .map_or_else(|| format!("{secs} s since 1970"), |d| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_anchors_hold_the_simulated_root() {
        let a = TrustAnchors::simulated();
        assert_eq!(a.len(), 1);
        assert!(a.is_simulated());
        let der = a.certificates().next().unwrap();
        let info = CertificateInfo::parse(der).unwrap();
        assert!(info.subject.contains("Shenas Simulated National Root CA"));
        assert_eq!(info.subject, info.issuer);
        assert!(info.is_ca);
        // A self-signed anchor validates against itself.
        let chain = validate(
            der,
            &[],
            &a,
            Purpose::Any,
            UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        )
        .unwrap();
        assert!(chain.simulated_trust);
        assert!(!TrustAnchors::empty().is_simulated());
    }

    #[test]
    fn anchors_from_garbage_are_errors() {
        assert!(matches!(
            TrustAnchors::from_bytes(b"garbage"),
            Err(AnchorError::Malformed(_))
        ));
        assert!(TrustAnchors::from_pem(b"-----BEGIN X-----\n-----END X-----\n").is_err());
        let e = TrustAnchors::from_files(&["/nonexistent/anchor.pem"]).unwrap_err();
        assert!(matches!(e, AnchorError::Io { .. }));
    }

    #[test]
    fn malformed_certificate_is_malformed() {
        let e = validate(
            &[0x30, 0x03, 0x02, 0x01, 0x01],
            &[],
            &TrustAnchors::simulated(),
            Purpose::Any,
            SystemTime::now(),
        )
        .unwrap_err();
        assert_eq!(e.code(), "malformed");
        let mut der = TrustAnchors::simulated()
            .certificates()
            .next()
            .unwrap()
            .to_vec();
        der.push(0);
        let e = CertificateInfo::parse(&der).unwrap_err();
        assert_eq!(e.code(), "malformed");
        assert!(e.to_string().contains("after the certificate"));
    }

    #[test]
    fn time_conversions() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(2_366_841_600), "2045-01-01T00:00:00Z");
        assert_eq!(unix_seconds(system_time(-5)), -5);
        assert_eq!(unix_seconds(system_time(1_700_000_000)), 1_700_000_000);
    }

    proptest::proptest! {
        #[test]
        fn validate_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let r = validate(&bytes, &[&bytes], &TrustAnchors::simulated(), Purpose::Authentication, SystemTime::now());
            proptest::prop_assert!(r.is_err());
        }
    }
}
