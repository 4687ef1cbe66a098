//! CMS SignedData (RFC 5652 clause 5) assembly and signer verification shared by the document
//! security object ([`super::sod`]) and CAdES ([`super::cades`]).

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
    SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;

use super::verify::{HashAlgorithm, PublicKey, SignatureScheme, VerifyError, ecdsa_raw_to_der};

/// Why a CMS structure could not be made or checked; mapped by the callers onto their errors.
#[derive(Debug)]
pub(crate) enum CmsFailure {
    /// Not the structure expected (detail).
    Malformed(String),
    /// An algorithm not supported.
    Unsupported(String),
    /// The content-type attribute differs from the eContentType.
    ContentType,
    /// The message-digest attribute differs from the content's hash.
    MessageDigest,
    /// No certificate matches the signer identifier.
    SignerCertificateMissing,
    /// The signature does not verify.
    BadSignature,
}

impl std::fmt::Display for CmsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(d) => write!(f, "malformed CMS: {d}"),
            Self::Unsupported(d) => write!(f, "unsupported algorithm: {d}"),
            Self::ContentType => f.write_str("the content-type attribute differs from the content"),
            Self::MessageDigest => {
                f.write_str("the message-digest attribute differs from the content's hash")
            }
            Self::SignerCertificateMissing => {
                f.write_str("no certificate matches the signer identifier")
            }
            Self::BadSignature => {
                f.write_str("the signature does not verify with the signer's certificate")
            }
        }
    }
}

fn malformed(what: &str, e: impl std::fmt::Display) -> CmsFailure {
    CmsFailure::Malformed(format!("{what}: {e}"))
}

/// An attribute with one value (RFC 5652 clause 5.3).
pub(crate) fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, der::Error> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// The digest algorithm identifier, parameters absent (RFC 5754 clause 2).
pub(crate) fn digest_algorithm(hash: HashAlgorithm) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: hash.oid(),
        parameters: None,
    }
}

/// The signature algorithm identifier of a SignerInfo: `ecdsa-with-SHA*` without parameters
/// (RFC 5753 clause 7.2), `rsaEncryption` with NULL parameters (RFC 3370 clause 3.2).
fn signature_algorithm(scheme: SignatureScheme) -> AlgorithmIdentifierOwned {
    match scheme {
        SignatureScheme::RsaPkcs1v15 { .. } => AlgorithmIdentifierOwned {
            oid: rfc5912::RSA_ENCRYPTION,
            parameters: Some(Any::from(der::asn1::Null)),
        },
        other => AlgorithmIdentifierOwned {
            oid: other.signature_oid(),
            parameters: None,
        },
    }
}

/// Parses a DER certificate for embedding.
pub(crate) fn certificate(der: &[u8]) -> Result<Certificate, der::Error> {
    Certificate::from_der(der)
}

/// The signature as CMS carries it: DER for ECDSA (a card's `r ‖ s` converted), as is for RSA;
/// checked against `key` over `digest`.
pub(crate) fn normalise_signature(
    key: &PublicKey,
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<Vec<u8>, VerifyError> {
    key.verify_prehash(hash, digest, signature)?;
    if let Some(curve) = key.curve()
        && signature.len() == 2 * curve.field_len()
        && let Ok(der) = ecdsa_raw_to_der(signature)
        && key.verify_prehash(hash, digest, &der).is_ok()
    {
        return Ok(der);
    }
    Ok(signature.to_vec())
}

/// What [`signed_data`] needs.
pub(crate) struct SignedDataParts<'a> {
    pub(crate) econtent_type: ObjectIdentifier,
    /// The encapsulated content, `None` for a detached signature.
    pub(crate) econtent: Option<&'a [u8]>,
    pub(crate) hash: HashAlgorithm,
    pub(crate) signer: &'a Certificate,
    pub(crate) scheme: SignatureScheme,
    pub(crate) extra_certificates: Vec<Certificate>,
    pub(crate) signed_attrs: SignedAttributes,
    /// The signature (DER for ECDSA) over the DER of `signed_attrs`.
    pub(crate) signature: Vec<u8>,
}

/// The DER of the signed attributes as signed: `SET OF Attribute` with its universal SET tag
/// (RFC 5652 clause 5.4).
pub(crate) fn signed_attrs_der(attrs: &SignedAttributes) -> Result<Vec<u8>, der::Error> {
    attrs.to_der()
}

/// A ContentInfo holding a SignedData with one SignerInfo identified by issuer and serial
/// number (RFC 5652 clauses 3, 5.1, 5.3).
pub(crate) fn signed_data(parts: SignedDataParts<'_>) -> Result<Vec<u8>, der::Error> {
    let digest_alg = digest_algorithm(parts.hash);
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: parts.signer.tbs_certificate.issuer.clone(),
        serial_number: parts.signer.tbs_certificate.serial_number.clone(),
    });
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid,
        digest_alg: digest_alg.clone(),
        signed_attrs: Some(parts.signed_attrs),
        signature_algorithm: signature_algorithm(parts.scheme),
        signature: OctetString::new(parts.signature)?,
        unsigned_attrs: None,
    };
    let mut certs = vec![CertificateChoices::Certificate(parts.signer.clone())];
    certs.extend(
        parts
            .extra_certificates
            .into_iter()
            .map(CertificateChoices::Certificate),
    );
    let econtent = match parts.econtent {
        Some(c) => Some(Any::encode_from(&OctetString::new(c)?)?),
        None => None,
    };
    // Version 3 when the eContentType is not id-data (RFC 5652 clause 5.1).
    let version = if parts.econtent_type == rfc5911::ID_DATA {
        CmsVersion::V1
    } else {
        CmsVersion::V3
    };
    let sd = SignedData {
        version,
        digest_algorithms: SetOfVec::try_from(vec![digest_alg])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: parts.econtent_type,
            econtent,
        },
        certificates: Some(CertificateSet(SetOfVec::try_from(certs)?)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    ContentInfo {
        content_type: rfc5911::ID_SIGNED_DATA,
        content: Any::encode_from(&sd)?,
    }
    .to_der()
}

/// A parsed SignedData with its single signer checked.
pub(crate) struct VerifiedSigner {
    /// The encapsulated content (`None` when detached).
    pub(crate) econtent: Option<Vec<u8>>,
    /// The signer's DER certificate.
    pub(crate) signer_der: Vec<u8>,
    /// The other certificates of the SignedData (DER).
    pub(crate) other_certificates: Vec<Vec<u8>>,
    /// The signer's digest algorithm.
    pub(crate) hash: HashAlgorithm,
    /// The signed attributes.
    pub(crate) signed_attrs: SignedAttributes,
}

/// Decodes a DER ContentInfo holding a SignedData (RFC 5652 clauses 3, 5).
pub(crate) fn parse_signed_data(der: &[u8]) -> Result<SignedData, CmsFailure> {
    let ci = ContentInfo::from_der(der).map_err(|e| malformed("ContentInfo", e))?;
    if ci.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(CmsFailure::Malformed(format!(
            "content type {} is not signedData",
            ci.content_type
        )));
    }
    ci.content
        .decode_as::<SignedData>()
        .map_err(|e| malformed("SignedData", e))
}

/// Checks the single SignerInfo of `sd` (RFC 5652 clause 5.6): signed attributes present,
/// content-type equal to the eContentType, message-digest equal to the hash of the content
/// (`detached_content` when there is no eContent), the signer's certificate among the
/// SignedData's, its key verifying the signature over the DER of the signed attributes.
pub(crate) fn verify_signer(
    sd: &SignedData,
    expected_econtent_type: ObjectIdentifier,
    detached_content: Option<&[u8]>,
) -> Result<VerifiedSigner, CmsFailure> {
    let eci = &sd.encap_content_info;
    if eci.econtent_type != expected_econtent_type {
        return Err(CmsFailure::Malformed(format!(
            "eContentType {} instead of {expected_econtent_type}",
            eci.econtent_type
        )));
    }
    let econtent = match &eci.econtent {
        Some(any) => Some(
            any.decode_as::<OctetString>()
                .map_err(|e| malformed("eContent", e))?
                .into_bytes(),
        ),
        None => None,
    };
    let content: &[u8] = match (&econtent, detached_content) {
        (Some(c), None) => c,
        (None, Some(c)) => c,
        (Some(_), Some(_)) => {
            return Err(CmsFailure::Malformed(
                "eContent present in a detached signature".into(),
            ));
        }
        (None, None) => return Err(CmsFailure::Malformed("no eContent".into())),
    };
    let mut signers = sd.signer_infos.0.iter();
    let si = match (signers.next(), signers.next()) {
        (Some(si), None) => si,
        _ => {
            return Err(CmsFailure::Malformed("not exactly one SignerInfo".into()));
        }
    };
    let hash = HashAlgorithm::from_oid(&si.digest_alg.oid)
        .ok_or_else(|| CmsFailure::Unsupported(format!("digest {}", si.digest_alg.oid)))?;
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| CmsFailure::Malformed("no signed attributes".into()))?;
    let ct = single_attribute(attrs, rfc5911::ID_CONTENT_TYPE)?
        .decode_as::<ObjectIdentifier>()
        .map_err(|e| malformed("content-type attribute", e))?;
    if ct != eci.econtent_type {
        return Err(CmsFailure::ContentType);
    }
    let md = single_attribute(attrs, rfc5911::ID_MESSAGE_DIGEST)?
        .decode_as::<OctetString>()
        .map_err(|e| malformed("message-digest attribute", e))?;
    if md.as_bytes() != hash.digest(content).as_slice() {
        return Err(CmsFailure::MessageDigest);
    }

    let mut signer = None;
    let mut others = Vec::new();
    if let Some(set) = &sd.certificates {
        for choice in set.0.iter() {
            if let CertificateChoices::Certificate(c) = choice {
                let der = c.to_der().map_err(|e| malformed("certificate", e))?;
                if signer.is_none() && identifies(&si.sid, c) {
                    signer = Some((c, der));
                } else {
                    others.push(der);
                }
            }
        }
    }
    let (signer, signer_der) = signer.ok_or(CmsFailure::SignerCertificateMissing)?;
    let spki = signer
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| malformed("certificate key", e))?;
    let key = PublicKey::from_spki_der(&spki).map_err(|e| match e {
        VerifyError::UnsupportedKey(d) => CmsFailure::Unsupported(d),
        other => CmsFailure::Malformed(other.to_string()),
    })?;
    check_signature_algorithm(&si.signature_algorithm, &key)?;
    let attrs_der = signed_attrs_der(attrs).map_err(|e| malformed("signed attributes", e))?;
    key.verify_prehash(hash, &hash.digest(&attrs_der), si.signature.as_bytes())
        .map_err(|_| CmsFailure::BadSignature)?;
    Ok(VerifiedSigner {
        econtent,
        signer_der,
        other_certificates: others,
        hash,
        signed_attrs: attrs.clone(),
    })
}

/// The signature algorithm must fit the key: `rsaEncryption` or `sha*WithRSAEncryption` for RSA,
/// `ecdsa-with-SHA*` for EC keys (RFC 3370 clause 3.2, RFC 5753 clause 7.2).
fn check_signature_algorithm(
    alg: &AlgorithmIdentifierOwned,
    key: &PublicKey,
) -> Result<(), CmsFailure> {
    let fits = if alg.oid == rfc5912::RSA_ENCRYPTION {
        key.curve().is_none()
    } else {
        SignatureScheme::from_signature_oid(&alg.oid, key).is_some()
    };
    if fits {
        Ok(())
    } else {
        Err(CmsFailure::Unsupported(format!(
            "signature algorithm {} for a {key:?} key",
            alg.oid
        )))
    }
}

/// The single value of the single attribute `oid` (RFC 5652 clause 11: content-type and
/// message-digest are single-valued and must not repeat).
pub(crate) fn single_attribute(
    attrs: &SignedAttributes,
    oid: ObjectIdentifier,
) -> Result<&Any, CmsFailure> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    match (found.next(), found.next()) {
        (Some(a), None) => {
            let mut values = a.values.iter();
            match (values.next(), values.next()) {
                (Some(v), None) => Ok(v),
                _ => Err(CmsFailure::Malformed(format!(
                    "attribute {oid} without exactly one value"
                ))),
            }
        }
        (None, _) => Err(CmsFailure::Malformed(format!("no attribute {oid}"))),
        (Some(_), Some(_)) => Err(CmsFailure::Malformed(format!("attribute {oid} repeated"))),
    }
}

/// Whether `sid` names `cert` (RFC 5652 clause 5.3).
fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == cert.tbs_certificate.issuer
                && ias.serial_number == cert.tbs_certificate.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .filter(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
            .any(|e| {
                x509_cert::ext::pkix::SubjectKeyIdentifier::from_der(e.extn_value.as_bytes())
                    .is_ok_and(|k| k.0 == ski.0)
            }),
    }
}
