//! Detached CAdES-BES signatures (ETSI EN 319 122-1 clause 5, the BES level of ETSI TS 101 733):
//! a `.p7s` file holding a CMS SignedData (RFC 5652 clause 5) without eContent, whose one
//! SignerInfo carries the signed attributes content-type (`id-data`), message-digest (the
//! document's hash), signing-time (RFC 5652 clause 11.3) and signing-certificate-v2 (ESS,
//! RFC 5035 clause 3), and the signer's and intermediate certificates.
//!
//! The card does the signature: the closure given to [`sign_detached`] receives the **hash** of
//! the DER of the signed attributes (what PSO: COMPUTE DIGITAL SIGNATURE signs, ISO/IEC 7816-8
//! clause 11) and returns the card's raw signature (ECDSA `r ‖ s`, or RSA PKCS#1 v1.5 over a
//! DigestInfo); it is converted for CMS and verified against the certificate before the `.p7s`
//! is returned. `openssl cms -verify -binary -inform DER -in F.p7s -content F -CAfile root.pem
//! -purpose any` accepts the result (tested in `apdu/cards/tests/pki.rs`).

use std::time::SystemTime;

use const_oid::db::rfc5911;
use der::asn1::{Any, GeneralizedTime, OctetString, SetOfVec, UtcTime};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

use super::cms_util::{self, CmsFailure, SignedDataParts};
use super::verify::{HashAlgorithm, PublicKey, VerifyError};
use super::x509::{CertificateError, Purpose, TrustAnchors, ValidatedChain, validate};

/// Why a CAdES signature could not be made or does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CadesError {
    /// The signer certificate cannot be parsed or its key is not supported.
    #[error("bad signer certificate: {0}")]
    BadCertificate(String),
    /// The document hash has the wrong length for the algorithm.
    #[error("document hash of {len} bytes given as {algorithm}")]
    HashLength {
        /// The algorithm named.
        algorithm: HashAlgorithm,
        /// The length given.
        len: usize,
    },
    /// The signing closure (the card) failed.
    #[error("the signing function failed")]
    Signer(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The signature returned does not verify with the signer certificate.
    #[error("the signature does not verify with the signer certificate")]
    SignatureCheck(#[source] VerifyError),
    /// The signing time cannot be encoded (before 1970 or after 9999).
    #[error("the signing time cannot be encoded")]
    SigningTime,
    /// Not a detached CAdES signature, or its CMS checks fail (`code` is stable:
    /// `malformed`, `unsupported_algorithm`, `content_type_mismatch`, `message_digest_mismatch`,
    /// `signer_certificate_missing`, `bad_signature`, `signing_certificate_mismatch`).
    #[error("{code}: {detail}")]
    Invalid {
        /// Stable code.
        code: &'static str,
        /// Detail.
        detail: String,
    },
    /// The signer's certificate does not validate.
    #[error("signer certificate: {0}")]
    Certificate(#[source] CertificateError),
    /// DER encoding failed.
    #[error("DER encoding")]
    Der(#[from] der::Error),
}

impl From<CmsFailure> for CadesError {
    fn from(f: CmsFailure) -> Self {
        let code = match &f {
            CmsFailure::Malformed(_) => "malformed",
            CmsFailure::Unsupported(_) => "unsupported_algorithm",
            CmsFailure::ContentType => "content_type_mismatch",
            CmsFailure::MessageDigest => "message_digest_mismatch",
            CmsFailure::SignerCertificateMissing => "signer_certificate_missing",
            CmsFailure::BadSignature => "bad_signature",
        };
        Self::Invalid {
            code,
            detail: f.to_string(),
        }
    }
}

/// `ESSCertIDv2` (RFC 5035 clause 4): `hashAlgorithm` DEFAULT SHA-256 (absent then, DER).
#[derive(Clone, Debug, PartialEq, Eq, der::Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`
/// (RFC 5035 clause 4).
#[derive(Clone, Debug, PartialEq, Eq, der::Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies … OPTIONAL }`
/// (RFC 5035 clause 3).
#[derive(Clone, Debug, PartialEq, Eq, der::Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// UTCTime through 2049, GeneralizedTime from 2050 (RFC 5652 clause 11.3).
fn signing_time(t: SystemTime) -> Result<Time, CadesError> {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| CadesError::SigningTime)?;
    let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(d.as_secs()))
        .map_err(|_| CadesError::SigningTime)?;
    if dt.year() < 2050 {
        Ok(Time::UtcTime(
            UtcTime::from_date_time(dt).map_err(|_| CadesError::SigningTime)?,
        ))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

/// Makes a detached CAdES-BES signature (DER `.p7s`) of `document` with `hash`.
///
/// `sign` receives the `hash` of the DER of the signed attributes and returns the raw card
/// signature; `intermediates` are embedded after the signer's certificate.
pub fn sign_detached<E>(
    document: &[u8],
    signer_cert_der: &[u8],
    intermediates: &[&[u8]],
    hash: HashAlgorithm,
    signing_time: SystemTime,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, CadesError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    sign_detached_digest(
        &hash.digest(document),
        signer_cert_der,
        intermediates,
        hash,
        signing_time,
        sign,
    )
}

/// As [`sign_detached`], given the document's hash instead of the document.
pub fn sign_detached_digest<E>(
    document_digest: &[u8],
    signer_cert_der: &[u8],
    intermediates: &[&[u8]],
    hash: HashAlgorithm,
    time: SystemTime,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, CadesError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    if document_digest.len() != hash.output_len() {
        return Err(CadesError::HashLength {
            algorithm: hash,
            len: document_digest.len(),
        });
    }
    let cert = cms_util::certificate(signer_cert_der)
        .map_err(|e| CadesError::BadCertificate(e.to_string()))?;
    let key = PublicKey::from_spki_der(&cert.tbs_certificate.subject_public_key_info.to_der()?)
        .map_err(|e| CadesError::BadCertificate(e.to_string()))?;
    let extra = intermediates
        .iter()
        .map(|d| cms_util::certificate(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CadesError::BadCertificate(format!("intermediate: {e}")))?;

    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: (hash != HashAlgorithm::Sha256)
                .then(|| cms_util::digest_algorithm(hash)),
            cert_hash: OctetString::new(hash.digest(signer_cert_der))?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    cert.tbs_certificate.issuer.clone(),
                )],
                serial_number: cert.tbs_certificate.serial_number.clone(),
            }),
        }],
    };
    let attrs = SetOfVec::try_from(vec![
        cms_util::attribute(rfc5911::ID_CONTENT_TYPE, Any::from(&rfc5911::ID_DATA))?,
        cms_util::attribute(
            rfc5911::ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(document_digest)?)?,
        )?,
        cms_util::attribute(
            rfc5911::ID_SIGNING_TIME,
            Any::encode_from(&signing_time(time)?)?,
        )?,
        cms_util::attribute(
            rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2,
            Any::encode_from(&ess)?,
        )?,
    ])?;
    let attrs_der = cms_util::signed_attrs_der(&attrs)?;
    let to_sign = hash.digest(&attrs_der);
    let raw = sign(&to_sign).map_err(|e| CadesError::Signer(Box::new(e)))?;
    let signature = cms_util::normalise_signature(&key, hash, &to_sign, &raw)
        .map_err(CadesError::SignatureCheck)?;
    Ok(cms_util::signed_data(SignedDataParts {
        econtent_type: rfc5911::ID_DATA,
        econtent: None,
        hash,
        signer: &cert,
        scheme: key.scheme(hash),
        extra_certificates: extra,
        signed_attrs: attrs,
        signature,
    })?)
}

/// A detached CAdES-BES signature that verified ([`verify_detached`]).
#[derive(Debug, Clone)]
pub struct VerifiedCades {
    /// The signer's validated chain.
    pub chain: ValidatedChain,
    /// The signing-time attribute.
    pub signing_time: Option<SystemTime>,
    /// The hash algorithm.
    pub hash: HashAlgorithm,
}

/// Verifies a detached CAdES-BES signature `p7s` of `document`: CMS checks (content-type
/// `id-data`, message-digest, signature), the signing-certificate-v2 attribute naming the
/// signer's certificate, and the signer's certificate validated for `purpose` at `now` through
/// the embedded certificates to `anchors`.
pub fn verify_detached(
    p7s: &[u8],
    document: &[u8],
    anchors: &TrustAnchors,
    purpose: Purpose,
    now: SystemTime,
) -> Result<VerifiedCades, CadesError> {
    let sd = cms_util::parse_signed_data(p7s)?;
    let signer = cms_util::verify_signer(&sd, rfc5911::ID_DATA, Some(document))?;
    let mismatch = |detail: &str| CadesError::Invalid {
        code: "signing_certificate_mismatch",
        detail: detail.into(),
    };
    let ess =
        cms_util::single_attribute(&signer.signed_attrs, rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2)?
            .decode_as::<SigningCertificateV2>()
            .map_err(|e| CadesError::Invalid {
                code: "malformed",
                detail: format!("signing-certificate-v2: {e}"),
            })?;
    let first = ess
        .certs
        .first()
        .ok_or_else(|| mismatch("signing-certificate-v2 names no certificate"))?;
    let ess_hash = match &first.hash_algorithm {
        None => HashAlgorithm::Sha256,
        Some(a) => HashAlgorithm::from_oid(&a.oid).ok_or_else(|| CadesError::Invalid {
            code: "unsupported_algorithm",
            detail: format!("signing-certificate-v2 hash {}", a.oid),
        })?,
    };
    if first.cert_hash.as_bytes() != ess_hash.digest(&signer.signer_der).as_slice() {
        return Err(mismatch(
            "signing-certificate-v2 does not name the signer's certificate",
        ));
    }
    let time = match cms_util::single_attribute(&signer.signed_attrs, rfc5911::ID_SIGNING_TIME) {
        Ok(v) => Some(
            v.to_der()
                .and_then(|d| Time::from_der(&d))
                .map_err(|e| CadesError::Invalid {
                    code: "malformed",
                    detail: format!("signing-time: {e}"),
                })?
                .to_system_time(),
        ),
        Err(_) => None,
    };
    let intermediates: Vec<&[u8]> = signer
        .other_certificates
        .iter()
        .map(Vec::as_slice)
        .collect();
    let chain = validate(&signer.signer_der, &intermediates, anchors, purpose, now)
        .map_err(CadesError::Certificate)?;
    Ok(VerifiedCades {
        chain,
        signing_time: time,
        hash: signer.hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ess_cert_id_omits_the_default_hash() {
        let id = EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(vec![1; 32]).unwrap(),
            issuer_serial: None,
        };
        let der = id.to_der().unwrap();
        assert_eq!(&der[..4], &[0x30, 34, 0x04, 32]);
        assert_eq!(EssCertIdV2::from_der(&der).unwrap(), id);
    }

    #[test]
    fn signing_time_types() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        assert!(matches!(signing_time(t).unwrap(), Time::UtcTime(_)));
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_600_000_000);
        assert!(matches!(signing_time(t).unwrap(), Time::GeneralTime(_)));
    }

    #[test]
    fn garbage_is_malformed() {
        let e = verify_detached(
            b"garbage",
            b"doc",
            &TrustAnchors::simulated(),
            Purpose::Any,
            SystemTime::now(),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            CadesError::Invalid {
                code: "malformed",
                ..
            }
        ));
    }
}
