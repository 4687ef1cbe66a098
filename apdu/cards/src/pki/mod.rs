//! Public-key infrastructure on the host: signatures, certificates, the document security
//! object and CAdES.
//!
//! | module | what |
//! |---|---|
//! | [`verify`] | a signature over a given hash against a SubjectPublicKeyInfo (ECDSA P-256/P-384 `r ‖ s` or DER, RSA PKCS#1 v1.5) |
//! | [`x509`] | certificate validation: dates, key usage for a purpose, chain to [`TrustAnchors`] |
//! | [`sod`] | the document security object (ICAO 9303 EF.SOD): passive authentication and its builder |
//! | [`cades`] | detached CAdES-BES signatures (`.p7s`) made with the card's key, and their verification |
//!
//! Nothing here does I/O except [`TrustAnchors::from_files`], which reads the files it is
//! given; time is always passed in by the caller.

pub mod cades;
mod cms_util;
pub mod sod;
pub mod verify;
pub mod x509;

pub use cades::{CadesError, VerifiedCades, sign_detached, sign_detached_digest, verify_detached};
pub use sod::{PaFailure, PassiveAuthentication, SodError, build_sod, passive_authentication};
pub use verify::{
    EcCurve, HashAlgorithm, PublicKey, SignatureScheme, VerifyError, ecdsa_der_to_raw,
    ecdsa_raw_to_der, verify_prehash,
};
pub use x509::{
    AnchorError, CertificateError, CertificateInfo, ChainPosition, Purpose, TrustAnchors,
    ValidatedChain, validate,
};
