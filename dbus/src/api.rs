//! Requests and answers of the card operations, shared by the localhost API (JSON), the D-Bus
//! API (the same JSON documents in string arguments) and the SDK.
//!
//! Types that carry personal data or secrets have a hand-written `Debug` that redacts them.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{ReaderEvent, ReaderInfo};

/// A secret typed by the card holder (PIN, PUK): zeroized when dropped, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret itself, for the card conversation that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The readers the daemon sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderList {
    /// Whether the smart-card service (pcscd) is reachable.
    pub service_available: bool,
    /// Readers and the cards in them.
    pub readers: Vec<ReaderInfo>,
}

/// What the daemon is and how it is set up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// The daemon's version.
    pub version: String,
    /// [`crate::WIRE_VERSION`] of the daemon.
    pub wire_version: u32,
    /// Whether the smart-card service is reachable.
    pub service_available: bool,
    /// Number of readers seen.
    pub readers: usize,
    /// Kiosk mode: the authenticated kiosk client needs no per-operation consent.
    pub kiosk: bool,
    /// The D-Bus bus the daemon serves on (`system`, `session`) or `none`.
    pub bus: String,
}

/// The card in a reader, as identified without any PIN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardIdentity {
    /// The reader holding the card.
    pub reader: String,
    /// The card's ATR in hexadecimal.
    pub atr: String,
    /// The card serial number (GET DATA, ISO/IEC 7816-4 clause 11.4.3), when the card gives it:
    /// printable ASCII as text, anything else as hexadecimal.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub serial: Option<String>,
    /// The card profile recognised (`national_id`, `foreign_national`, …), or `unknown`.
    pub profile: String,
    /// Profile version, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub profile_version: Option<String>,
}

/// Which PIN an operation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PinKind {
    /// The identity PIN (card holder authentication).
    Id,
    /// The signature PIN.
    Sign,
    /// The PIN unblocking key.
    Puk,
}

impl PinKind {
    /// The serialized name (`id`, `sign`, `puk`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Sign => "sign",
            Self::Puk => "puk",
        }
    }

    /// Parses the serialized name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "id" => Some(Self::Id),
            "sign" => Some(Self::Sign),
            "puk" => Some(Self::Puk),
            _ => None,
        }
    }
}

/// A PIN's state: tries left (asked without spending one) and whether it is blocked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinStatus {
    /// Which PIN.
    pub pin: PinKind,
    /// Tries left, when the card says.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tries_left: Option<u8>,
    /// No tries left.
    pub blocked: bool,
    /// The PIN is verified in the current card session.
    pub verified: bool,
}

/// `POST …/pins/{pin}/verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyPinRequest {
    /// The PIN.
    pub pin: Secret,
}

/// `POST …/pins/{pin}/change`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePinRequest {
    /// The current PIN.
    pub old: Secret,
    /// The new PIN.
    pub new: Secret,
}

/// `POST …/pins/{pin}/unblock`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnblockPinRequest {
    /// The PUK.
    pub puk: Secret,
    /// The new PIN.
    pub new: Secret,
}

/// Hash algorithms a card signs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (FIPS 180-4), 32 bytes.
    Sha256,
    /// SHA-384 (FIPS 180-4), 48 bytes.
    Sha384,
}

impl HashAlgorithm {
    /// Length of the hash in bytes.
    pub const fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }

    /// Always false: a hash has a length.
    pub const fn is_empty(self) -> bool {
        false
    }
}

/// Which card key an operation uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyKind {
    /// The signing key (non-repudiation).
    #[default]
    Sign,
    /// The authentication key.
    Auth,
}

/// `POST …/sign`: sign a hash with the card (ISO/IEC 7816-8 PSO: COMPUTE DIGITAL SIGNATURE).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignRequest {
    /// The hash algorithm.
    pub hash_algorithm: HashAlgorithm,
    /// The hash, hexadecimal.
    pub hash: String,
    /// The signature PIN, when it is not verified yet in this card session.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pin: Option<Secret>,
    /// A confirmed consent id (not needed in kiosk mode).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub consent: Option<String>,
}

/// `POST …/authenticate`: INTERNAL AUTHENTICATE (ISO/IEC 7816-4 clause 11.5.2) over a challenge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticateRequest {
    /// The challenge, hexadecimal.
    pub challenge: String,
    /// The identity PIN, when it is not verified yet in this card session.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pin: Option<Secret>,
    /// A confirmed consent id (not needed in kiosk mode).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub consent: Option<String>,
}

/// `POST …/identity`: read the identity with passive authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadIdentityRequest {
    /// A confirmed consent id (not needed in kiosk mode).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub consent: Option<String>,
    /// Include the portrait (base64 in [`IdentityDocument::portrait`]).
    #[serde(default)]
    pub portrait: bool,
}

/// A signature the card made (already verified against its certificate by the daemon).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureReply {
    /// The algorithm (`ecdsa_p256_sha256`, `rsa_pkcs1_sha256`, …).
    pub algorithm: String,
    /// The signature, hexadecimal (r‖s for ECDSA).
    pub signature: String,
    /// The certificate of the key, DER in hexadecimal.
    pub certificate: String,
}

/// One certificate on the card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateInfo {
    /// Which key it certifies.
    pub key: KeyKind,
    /// The certificate, DER in hexadecimal.
    pub der: String,
    /// Subject, as text.
    pub subject: String,
    /// Issuer, as text.
    pub issuer: String,
    /// Validation outcome on the host.
    pub valid: bool,
    /// Why validation failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
}

/// The outcome of passive authentication (ICAO 9303 part 11 clause 5.1 style).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassiveAuthentication {
    /// The issuer signature and every data-group hash checked out.
    pub valid: bool,
    /// Why not, when not.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// `configured` or `simulated` trust anchors.
    pub trust: String,
}

/// The identity read from a card. Personal data: its `Debug` shows nothing of it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityDocument {
    /// The card serial.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub card_serial: Option<String>,
    /// The card profile.
    pub profile: String,
    /// Data fields by name (`national_code`, `given_name_fa`, `birth_date_jalali`, …).
    pub fields: std::collections::BTreeMap<String, String>,
    /// The portrait, base64, when asked for.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub portrait: Option<String>,
    /// Passive authentication verdict.
    pub passive_authentication: Option<PassiveAuthentication>,
}

impl fmt::Debug for IdentityDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityDocument")
            .field("profile", &self.profile)
            .field("fields", &self.fields.len())
            .field("portrait", &self.portrait.is_some())
            .field("passive_authentication", &self.passive_authentication)
            .finish_non_exhaustive()
    }
}

/// Operations that need consent outside kiosk mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConsentOperation {
    /// Reading personal data.
    ReadIdentity,
    /// Creating a signature.
    Sign,
    /// Authenticating with the card's key.
    Authenticate,
}

impl ConsentOperation {
    /// The serialized name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReadIdentity => "read_identity",
            Self::Sign => "sign",
            Self::Authenticate => "authenticate",
        }
    }
}

/// `POST /v1/consents`: ask for consent to one operation on one reader's card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRequest {
    /// The operation.
    pub operation: ConsentOperation,
    /// The reader.
    pub reader: String,
    /// Why, as shown to the person confirming (no personal data).
    #[serde(default)]
    pub purpose: String,
}

/// A consent's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConsentState {
    /// Waiting for confirmation.
    Pending,
    /// Confirmed; usable once.
    Granted,
}

/// A consent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Its id, to quote in the operation request.
    pub id: String,
    /// The operation.
    pub operation: ConsentOperation,
    /// The reader.
    pub reader: String,
    /// Pending or granted.
    pub state: ConsentState,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// A message a WebSocket client sends: an operation with an id the answer repeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsRequest {
    /// Chosen by the client, repeated in the answer.
    pub id: u64,
    /// The operation.
    #[serde(flatten)]
    pub op: WsOperation,
}

/// Operations over the WebSocket (the same as the HTTP routes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum WsOperation {
    /// `GET /v1/status`.
    Status,
    /// `GET /v1/readers`.
    ListReaders,
    /// `GET /v1/readers/{reader}/card`.
    Identify {
        /// Reader name (`_` for the first reader holding a card).
        reader: String,
    },
    /// `POST /v1/readers/{reader}/identity`.
    ReadIdentity {
        /// Reader name.
        reader: String,
        /// The request.
        #[serde(flatten)]
        request: ReadIdentityRequest,
    },
    /// `GET /v1/readers/{reader}/certificates`.
    Certificates {
        /// Reader name.
        reader: String,
    },
    /// `GET /v1/readers/{reader}/pins/{pin}`.
    PinStatus {
        /// Reader name.
        reader: String,
        /// Which PIN.
        pin: PinKind,
    },
}

/// A message the daemon sends on the WebSocket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WsMessage {
    /// The answer to a request.
    Reply {
        /// The request's id.
        id: u64,
        /// The result, as the HTTP route would return it.
        result: serde_json::Value,
    },
    /// A failed request.
    Failure {
        /// The request's id (0 when the message could not be parsed).
        id: u64,
        /// What went wrong.
        error: crate::ApiError,
    },
    /// A reader, card or service change.
    Event(ReaderEvent),
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let request = VerifyPinRequest {
            pin: Secret::new("1234"),
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("1234"), "{shown}");
        assert_eq!(request.pin.expose(), "1234");
    }

    #[test]
    fn identity_debug_shows_no_data() {
        let mut doc = IdentityDocument {
            profile: "national_id".into(),
            ..IdentityDocument::default()
        };
        doc.fields
            .insert("national_code".into(), "0076229645".into());
        assert!(!format!("{doc:?}").contains("0076229645"));
    }

    #[test]
    fn ws_messages() -> Result<(), serde_json::Error> {
        let request: WsRequest = serde_json::from_str(r#"{"id":7,"op":"identify","reader":"R"}"#)?;
        assert_eq!(
            request,
            WsRequest {
                id: 7,
                op: WsOperation::Identify { reader: "R".into() }
            }
        );
        let request: WsRequest = serde_json::from_str(r#"{"id":1,"op":"list_readers"}"#)?;
        assert_eq!(request.op, WsOperation::ListReaders);
        let event = WsMessage::Event(ReaderEvent::ServiceLost);
        assert_eq!(
            serde_json::to_string(&event)?,
            r#"{"event":"service_lost"}"#
        );
        let back: WsMessage = serde_json::from_str(r#"{"id":3,"result":{"a":1}}"#)?;
        assert!(matches!(back, WsMessage::Reply { id: 3, .. }));
        let back: WsMessage = serde_json::from_str(r#"{"event":"service_restored"}"#)?;
        assert_eq!(back, WsMessage::Event(ReaderEvent::ServiceRestored));
        Ok(())
    }
}
