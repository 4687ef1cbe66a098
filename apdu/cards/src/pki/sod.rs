//! The document security object, as ICAO Doc 9303 part 10 clause 4.6.2 (EF.SOD) and part 12
//! clause 7 define it: `'77' L ContentInfo`, a CMS SignedData (RFC 5652) signed by a document
//! signer, whose encapsulated content (eContentType `id-icao-mrtd-security-ldsSecurityObject`,
//! 2.23.136.1.1.1) is an [`LdsSecurityObject`] holding the hash of every data group.
//!
//! - [`passive_authentication`] (ICAO 9303-11 clause 5.1): the host's check of EF.SOD and the
//!   data groups read from the card against configured trust anchors. Never panics; any
//!   failure gives `valid: false` with a stable code and a detail.
//! - [`build_sod`]: what the issuer (here the simulated card's personalisation) writes to the
//!   card, given the data groups, the document signer's certificate and a signing closure.
//!
//! Data group numbers are those of the card profile (ICAO uses 1–16; any `u8` is accepted).

use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911;
use der::asn1::{Any, OctetString, PrintableString};
use der::{Decode, Encode, Tag, TagNumber, Tagged};
use spki::AlgorithmIdentifierOwned;

use super::cms_util::{self, CmsFailure, SignedDataParts};
use super::verify::{HashAlgorithm, PublicKey, VerifyError};
use super::x509::{CertificateError, CertificateInfo, Purpose, TrustAnchors, validate};

/// `id-icao-mrtd-security-ldsSecurityObject` (ICAO 9303-10 clause 4.6.2.2).
pub const ID_LDS_SECURITY_OBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.1");

/// `[APPLICATION 23]`, the tag of EF.SOD's content (ICAO 9303-10 clause 4.6.2).
pub const EF_SOD_TAG: u8 = 0x77;

/// `LDSSecurityObject` (ICAO 9303-10 clause 4.6.2.3).
///
/// ```text
/// LDSSecurityObject ::= SEQUENCE {
///   version LDSSecurityObjectVersion,            -- v0 (0), or v1 (1) with ldsVersionInfo
///   hashAlgorithm DigestAlgorithmIdentifier,
///   dataGroupHashValues SEQUENCE SIZE (2..ub-DataGroups) OF DataGroupHash,
///   ldsVersionInfo LDSVersionInfo OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, der::Sequence)]
pub struct LdsSecurityObject {
    /// 0, or 1 when `lds_version_info` is present.
    pub version: u8,
    /// The hash algorithm of the data group hashes.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The data groups' hashes.
    pub data_group_hash_values: Vec<DataGroupHash>,
    /// LDS and Unicode versions (version 1 only).
    #[asn1(optional = "true")]
    pub lds_version_info: Option<LdsVersionInfo>,
}

/// `DataGroupHash ::= SEQUENCE { dataGroupNumber DataGroupNumber, dataGroupHashValue OCTET
/// STRING }` (ICAO 9303-10 clause 4.6.2.3).
#[derive(Clone, Debug, PartialEq, Eq, der::Sequence)]
pub struct DataGroupHash {
    /// The data group's number.
    pub data_group_number: u8,
    /// Its hash.
    pub data_group_hash_value: OctetString,
}

/// `LDSVersionInfo ::= SEQUENCE { ldsVersion PrintableString, unicodeVersion PrintableString }`
/// (ICAO 9303-10 clause 4.6.2.3).
#[derive(Clone, Debug, PartialEq, Eq, der::Sequence)]
pub struct LdsVersionInfo {
    /// `"0108"` for LDS 1.8.
    pub lds_version: PrintableString,
    /// e.g. `"040000"` for Unicode 4.0.0.
    pub unicode_version: PrintableString,
}

/// Why [`build_sod`] or [`parse_sod`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SodError {
    /// No data group given.
    #[error("no data group")]
    NoDataGroups,
    /// A data group number given twice.
    #[error("data group {0} given twice")]
    DuplicateDataGroup(u8),
    /// The document signer certificate cannot be parsed or its key is not supported.
    #[error("bad document signer certificate: {0}")]
    BadCertificate(String),
    /// The signing closure failed.
    #[error("the document signer's signing function failed")]
    Signer(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The signature returned does not verify with the document signer certificate.
    #[error("the signature does not verify with the document signer certificate")]
    SignatureCheck(#[source] VerifyError),
    /// Not an EF.SOD (detail).
    #[error("malformed EF.SOD: {0}")]
    Malformed(String),
    /// DER encoding failed.
    #[error("DER encoding")]
    Der(#[from] der::Error),
}

/// Builds EF.SOD (`'77' L ContentInfo`) over `groups` (number, content as read from the card),
/// signed by the document signer of `ds_cert_der`.
///
/// The hash is the document signer key's default ([`PublicKey::default_hash`]: SHA-256 for
/// P-256 and RSA, SHA-384 for P-384), used for the data group hashes, the message digest and the
/// signature. `sign` receives the DER of the signed attributes (RFC 5652 clause 5.4:
/// content-type and message-digest) and returns the signature with that hash (ECDSA `r ‖ s` or
/// DER, or RSA PKCS#1 v1.5); it is verified against the certificate before EF.SOD is returned.
pub fn build_sod<E>(
    groups: &[(u8, &[u8])],
    ds_cert_der: &[u8],
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, SodError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let cert =
        cms_util::certificate(ds_cert_der).map_err(|e| SodError::BadCertificate(e.to_string()))?;
    let key = PublicKey::from_spki_der(&cert.tbs_certificate.subject_public_key_info.to_der()?)
        .map_err(|e| SodError::BadCertificate(e.to_string()))?;
    let hash = key.default_hash();
    let lds = lds_security_object(groups, hash)?.to_der()?;
    let attrs = der::asn1::SetOfVec::try_from(vec![
        cms_util::attribute(rfc5911::ID_CONTENT_TYPE, Any::from(&ID_LDS_SECURITY_OBJECT))?,
        cms_util::attribute(
            rfc5911::ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(hash.digest(&lds))?)?,
        )?,
    ])?;
    let attrs_der = cms_util::signed_attrs_der(&attrs)?;
    let signature = sign(&attrs_der).map_err(|e| SodError::Signer(Box::new(e)))?;
    let signature = cms_util::normalise_signature(&key, hash, &hash.digest(&attrs_der), &signature)
        .map_err(SodError::SignatureCheck)?;
    let content_info = cms_util::signed_data(SignedDataParts {
        econtent_type: ID_LDS_SECURITY_OBJECT,
        econtent: Some(&lds),
        hash,
        signer: &cert,
        scheme: key.scheme(hash),
        extra_certificates: Vec::new(),
        signed_attrs: attrs,
        signature,
    })?;
    let wrapped = Any::new(application_23(), content_info)?;
    Ok(wrapped.to_der()?)
}

fn application_23() -> Tag {
    Tag::Application {
        constructed: true,
        number: TagNumber::N23,
    }
}

/// The LDSSecurityObject (version 0) over `groups`, in the order given.
pub fn lds_security_object(
    groups: &[(u8, &[u8])],
    hash: HashAlgorithm,
) -> Result<LdsSecurityObject, SodError> {
    if groups.is_empty() {
        return Err(SodError::NoDataGroups);
    }
    let mut seen = [false; 256];
    let mut values = Vec::with_capacity(groups.len());
    for (n, content) in groups {
        let slot = seen
            .get_mut(usize::from(*n))
            .ok_or(SodError::DuplicateDataGroup(*n))?;
        if *slot {
            return Err(SodError::DuplicateDataGroup(*n));
        }
        *slot = true;
        values.push(DataGroupHash {
            data_group_number: *n,
            data_group_hash_value: OctetString::new(hash.digest(content))?,
        });
    }
    Ok(LdsSecurityObject {
        version: 0,
        hash_algorithm: cms_util::digest_algorithm(hash),
        data_group_hash_values: values,
        lds_version_info: None,
    })
}

/// What EF.SOD says, unverified ([`parse_sod`]).
#[derive(Debug, Clone)]
pub struct SodContents {
    /// The security object.
    pub lds: LdsSecurityObject,
    /// The hash algorithm of the data group hashes.
    pub hash: HashAlgorithm,
    /// The certificates in the SignedData (DER), the document signer's among them.
    pub certificates: Vec<Vec<u8>>,
}

/// The ContentInfo of EF.SOD: the content of `'77'` when wrapped, the bytes as they are
/// otherwise.
fn unwrap_ef_sod(sod_der: &[u8]) -> Result<Vec<u8>, SodError> {
    if sod_der.first() == Some(&EF_SOD_TAG) {
        let any = Any::from_der(sod_der).map_err(|e| SodError::Malformed(e.to_string()))?;
        if any.tag() != application_23() {
            return Err(SodError::Malformed("not tag '77'".into()));
        }
        Ok(any.value().to_vec())
    } else {
        Ok(sod_der.to_vec())
    }
}

/// Parses EF.SOD (with or without the `'77'` wrapper) without checking any signature.
pub fn parse_sod(sod_der: &[u8]) -> Result<SodContents, SodError> {
    let ci = unwrap_ef_sod(sod_der)?;
    let sd = cms_util::parse_signed_data(&ci).map_err(|e| SodError::Malformed(e.to_string()))?;
    let eci = &sd.encap_content_info;
    if eci.econtent_type != ID_LDS_SECURITY_OBJECT {
        return Err(SodError::Malformed(format!(
            "eContentType {} is not ldsSecurityObject",
            eci.econtent_type
        )));
    }
    let econtent = eci
        .econtent
        .as_ref()
        .ok_or_else(|| SodError::Malformed("no eContent".into()))?
        .decode_as::<OctetString>()
        .map_err(|e| SodError::Malformed(e.to_string()))?;
    let lds = LdsSecurityObject::from_der(econtent.as_bytes())
        .map_err(|e| SodError::Malformed(format!("LDSSecurityObject: {e}")))?;
    let hash = HashAlgorithm::from_oid(&lds.hash_algorithm.oid)
        .ok_or_else(|| SodError::Malformed(format!("hash algorithm {}", lds.hash_algorithm.oid)))?;
    let mut certificates = Vec::new();
    for c in sd.certificates.iter().flat_map(|s| s.0.iter()) {
        if let cms::cert::CertificateChoices::Certificate(c) = c {
            certificates.push(c.to_der()?);
        }
    }
    Ok(SodContents {
        lds,
        hash,
        certificates,
    })
}

/// Why passive authentication failed. [`code`](Self::code) is stable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaFailure {
    /// EF.SOD is not a SignedData over an LDSSecurityObject (truncated, garbage, …).
    MalformedSod(String),
    /// An algorithm not supported.
    UnsupportedAlgorithm(String),
    /// The content-type signed attribute is not the LDSSecurityObject's.
    ContentTypeMismatch,
    /// The message-digest signed attribute is not the LDSSecurityObject's hash.
    MessageDigestMismatch,
    /// No document signer certificate in EF.SOD matches the signer.
    DocumentSignerMissing,
    /// The document signer's signature does not verify.
    BadSignature,
    /// The document signer certificate does not validate against the trust anchors.
    DocumentSignerInvalid(CertificateError),
    /// A data group's hash differs from EF.SOD's.
    DataGroupHashMismatch(u8),
    /// EF.SOD lists a data group that was not given.
    DataGroupMissing(u8),
    /// A data group given is not in EF.SOD.
    DataGroupNotInSod(u8),
    /// A data group number appears twice (in EF.SOD or in the groups given).
    DuplicateDataGroup(u8),
}

impl PaFailure {
    /// `malformed_sod`, `unsupported_algorithm`, `content_type_mismatch`,
    /// `message_digest_mismatch`, `document_signer_missing`, `bad_signature`,
    /// `document_signer_invalid`, `data_group_hash_mismatch`, `data_group_missing`,
    /// `data_group_not_in_sod`, `duplicate_data_group`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedSod(_) => "malformed_sod",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::ContentTypeMismatch => "content_type_mismatch",
            Self::MessageDigestMismatch => "message_digest_mismatch",
            Self::DocumentSignerMissing => "document_signer_missing",
            Self::BadSignature => "bad_signature",
            Self::DocumentSignerInvalid(_) => "document_signer_invalid",
            Self::DataGroupHashMismatch(_) => "data_group_hash_mismatch",
            Self::DataGroupMissing(_) => "data_group_missing",
            Self::DataGroupNotInSod(_) => "data_group_not_in_sod",
            Self::DuplicateDataGroup(_) => "duplicate_data_group",
        }
    }
}

impl std::fmt::Display for PaFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.code();
        match self {
            Self::MalformedSod(d) => write!(f, "{code}: {d}"),
            Self::UnsupportedAlgorithm(d) => write!(f, "{code}: {d}"),
            Self::ContentTypeMismatch => write!(
                f,
                "{code}: the signed content-type is not the LDSSecurityObject"
            ),
            Self::MessageDigestMismatch => write!(
                f,
                "{code}: the signed message digest differs from the LDSSecurityObject's hash"
            ),
            Self::DocumentSignerMissing => {
                write!(f, "{code}: EF.SOD holds no certificate of its signer")
            }
            Self::BadSignature => write!(
                f,
                "{code}: the document signer's signature on EF.SOD does not verify"
            ),
            Self::DocumentSignerInvalid(e) => write!(f, "{code}: {}: {e}", e.code()),
            Self::DataGroupHashMismatch(n) => {
                write!(f, "{code}: data group {n} differs from its hash in EF.SOD")
            }
            Self::DataGroupMissing(n) => {
                write!(f, "{code}: data group {n} is in EF.SOD but was not read")
            }
            Self::DataGroupNotInSod(n) => {
                write!(f, "{code}: data group {n} was read but is not in EF.SOD")
            }
            Self::DuplicateDataGroup(n) => write!(f, "{code}: data group {n} appears twice"),
        }
    }
}

/// The verdict of passive authentication (ICAO 9303-11 clause 5.1).
#[derive(Debug, Clone)]
pub struct PassiveAuthentication {
    /// Whether every check passed.
    pub valid: bool,
    /// When not valid: the stable code and a detail, `"<code>: <detail>"`.
    pub reason: Option<String>,
    /// When not valid: the typed failure.
    pub failure: Option<PaFailure>,
    /// The document signer's certificate, when EF.SOD holds one matching its signer.
    pub document_signer: Option<CertificateInfo>,
    /// Whether the verdict rests on the simulated national root CA.
    pub simulated_trust: bool,
}

impl PassiveAuthentication {
    fn failed(failure: PaFailure, document_signer: Option<CertificateInfo>) -> Self {
        Self {
            valid: false,
            reason: Some(failure.to_string()),
            failure: Some(failure),
            document_signer,
            simulated_trust: false,
        }
    }
}

impl From<CmsFailure> for PaFailure {
    fn from(f: CmsFailure) -> Self {
        match f {
            CmsFailure::Malformed(d) => Self::MalformedSod(d),
            CmsFailure::Unsupported(d) => Self::UnsupportedAlgorithm(d),
            CmsFailure::ContentType => Self::ContentTypeMismatch,
            CmsFailure::MessageDigest => Self::MessageDigestMismatch,
            CmsFailure::SignerCertificateMissing => Self::DocumentSignerMissing,
            CmsFailure::BadSignature => Self::BadSignature,
        }
    }
}

/// Passive authentication (ICAO 9303-11 clause 5.1) of `data_groups` (number, content as read)
/// with EF.SOD `sod_der` (with or without `'77'`), at time `now`:
///
/// 1. EF.SOD is a SignedData with one signer over an LDSSecurityObject;
/// 2. its signed attributes' content-type and message-digest match the LDSSecurityObject;
/// 3. the document signer certificate in EF.SOD verifies the signature;
/// 4. that certificate validates for [`Purpose::DocumentSigning`] at `now` through EF.SOD's other
///    certificates to `anchors`;
/// 5. every data group's hash matches, none listed in EF.SOD is missing, none given is extra.
///
/// The first failing check gives the reason; nothing here panics.
pub fn passive_authentication(
    sod_der: &[u8],
    data_groups: &[(u8, &[u8])],
    anchors: &TrustAnchors,
    now: SystemTime,
) -> PassiveAuthentication {
    let ci = match unwrap_ef_sod(sod_der) {
        Ok(ci) => ci,
        Err(e) => {
            return PassiveAuthentication::failed(PaFailure::MalformedSod(e.to_string()), None);
        }
    };
    let signer = cms_util::parse_signed_data(&ci)
        .and_then(|sd| cms_util::verify_signer(&sd, ID_LDS_SECURITY_OBJECT, None));
    let signer = match signer {
        Ok(s) => s,
        Err(e) => return PassiveAuthentication::failed(e.into(), None),
    };
    let ds_info = CertificateInfo::parse(&signer.signer_der).ok();
    let lds = match signer.econtent.as_deref().map(LdsSecurityObject::from_der) {
        Some(Ok(lds)) => lds,
        Some(Err(e)) => {
            return PassiveAuthentication::failed(
                PaFailure::MalformedSod(format!("LDSSecurityObject: {e}")),
                ds_info,
            );
        }
        None => {
            return PassiveAuthentication::failed(
                PaFailure::MalformedSod("no eContent".into()),
                ds_info,
            );
        }
    };
    let intermediates: Vec<&[u8]> = signer
        .other_certificates
        .iter()
        .map(Vec::as_slice)
        .collect();
    let chain = match validate(
        &signer.signer_der,
        &intermediates,
        anchors,
        Purpose::DocumentSigning,
        now,
    ) {
        Ok(chain) => chain,
        Err(e) => {
            return PassiveAuthentication::failed(PaFailure::DocumentSignerInvalid(e), ds_info);
        }
    };
    if let Err(f) = check_groups(&lds, data_groups) {
        return PassiveAuthentication::failed(f, ds_info);
    }
    PassiveAuthentication {
        valid: true,
        reason: None,
        failure: None,
        document_signer: ds_info,
        simulated_trust: chain.simulated_trust,
    }
}

/// Step 5 of [`passive_authentication`].
fn check_groups(lds: &LdsSecurityObject, data_groups: &[(u8, &[u8])]) -> Result<(), PaFailure> {
    let hash = HashAlgorithm::from_oid(&lds.hash_algorithm.oid).ok_or_else(|| {
        PaFailure::UnsupportedAlgorithm(format!("data group hash {}", lds.hash_algorithm.oid))
    })?;
    if !matches!(lds.version, 0 | 1) {
        return Err(PaFailure::MalformedSod(format!(
            "LDSSecurityObject version {}",
            lds.version
        )));
    }
    let mut in_sod = [false; 256];
    for dg in &lds.data_group_hash_values {
        let slot = in_sod
            .get_mut(usize::from(dg.data_group_number))
            .ok_or(PaFailure::DuplicateDataGroup(dg.data_group_number))?;
        if *slot {
            return Err(PaFailure::DuplicateDataGroup(dg.data_group_number));
        }
        *slot = true;
    }
    let mut given = [false; 256];
    for (n, content) in data_groups {
        let slot = given
            .get_mut(usize::from(*n))
            .ok_or(PaFailure::DuplicateDataGroup(*n))?;
        if *slot {
            return Err(PaFailure::DuplicateDataGroup(*n));
        }
        *slot = true;
        let expected = lds
            .data_group_hash_values
            .iter()
            .find(|dg| dg.data_group_number == *n)
            .ok_or(PaFailure::DataGroupNotInSod(*n))?;
        if expected.data_group_hash_value.as_bytes() != hash.digest(content).as_slice() {
            return Err(PaFailure::DataGroupHashMismatch(*n));
        }
    }
    if let Some(dg) = lds.data_group_hash_values.iter().find(|dg| {
        !given
            .get(usize::from(dg.data_group_number))
            .copied()
            .unwrap_or(false)
    }) {
        return Err(PaFailure::DataGroupMissing(dg.data_group_number));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lds_rejects_empty_and_duplicates() {
        assert!(matches!(
            lds_security_object(&[], HashAlgorithm::Sha256),
            Err(SodError::NoDataGroups)
        ));
        assert!(matches!(
            lds_security_object(&[(1, b"a"), (1, b"b")], HashAlgorithm::Sha256),
            Err(SodError::DuplicateDataGroup(1))
        ));
    }

    #[test]
    fn garbage_sod_is_malformed() {
        for bytes in [
            &b""[..],
            b"\x77",
            b"\x77\x03\x30\x01\x00",
            b"\x30\x00",
            b"hello",
        ] {
            let pa =
                passive_authentication(bytes, &[], &TrustAnchors::simulated(), SystemTime::now());
            assert!(!pa.valid);
            assert_eq!(
                pa.failure.as_ref().map(PaFailure::code),
                Some("malformed_sod")
            );
            assert!(pa.reason.unwrap().starts_with("malformed_sod: "));
        }
    }

    proptest! {
        #[test]
        fn lds_round_trips(groups in proptest::collection::btree_map(any::<u8>(), proptest::collection::vec(any::<u8>(), 0..40), 1..20)) {
            let groups: Vec<(u8, &[u8])> = groups.iter().map(|(n, c)| (*n, c.as_slice())).collect();
            let lds = lds_security_object(&groups, HashAlgorithm::Sha256).unwrap();
            let der = lds.to_der().unwrap();
            prop_assert_eq!(LdsSecurityObject::from_der(&der).unwrap(), lds.clone());
            prop_assert!(check_groups(&lds, &groups).is_ok());
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_sod(&bytes);
            let pa = passive_authentication(&bytes, &[(1, &bytes)], &TrustAnchors::simulated(), SystemTime::now());
            prop_assert!(!pa.valid);
        }
    }
}
