//! The issuer's HTTP protocol (version 1): JSON bodies, bytes as lowercase hexadecimal.
//!
//! | request | body | success | body |
//! |---|---|---|---|
//! | `POST /v1/sessions` | [`BeginRequest`] `{"serial", "challenge"}` | `201` | [`BeginResponse`] `{"session", "terminal_cryptogram", "expires_in_ms"}` |
//! | `POST /v1/sessions/{session}/finish` | [`FinishRequest`] `{"card_cryptogram"}` | `200` | [`FinishResponse`] `{"k_enc", "k_mac", "ssc"}` (the **session** keys KS.enc, KS.mac and the starting SSC) |
//!
//! Failures answer [`ErrorResponse`] `{"error": code}` with the status of [`error_status`]:
//! `bad_request` / `bad_serial` / `bad_challenge` 400, `bad_card_cryptogram` 403,
//! `unknown_card` / `unknown_session` 404, `session_expired` 410, `busy` 503, `internal` 500.
//!
//! A session is one-shot: `finish` consumes it whatever the outcome, so a replayed `finish`
//! answers `unknown_session`. Sessions expire (`expires_in_ms`). Requests and answers are
//! small: a body above [`MAX_BODY`] bytes is refused.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::IssuerError;
use crate::sm::SessionKeys;

/// The path of `begin`.
pub const PATH_SESSIONS: &str = "/v1/sessions";
/// Largest request or answer body, in bytes.
pub const MAX_BODY: usize = 16 * 1024;

/// Error code: the request is not valid JSON of the expected shape.
pub const ERROR_BAD_REQUEST: &str = "bad_request";
/// Error code: the serial is empty or too long.
pub const ERROR_BAD_SERIAL: &str = "bad_serial";
/// Error code: the challenge is not 8 bytes.
pub const ERROR_BAD_CHALLENGE: &str = "bad_challenge";
/// Error code: the card's cryptogram is not authentic.
pub const ERROR_BAD_CARD_CRYPTOGRAM: &str = "bad_card_cryptogram";
/// Error code: no keys for that serial.
pub const ERROR_UNKNOWN_CARD: &str = "unknown_card";
/// Error code: no such session (never opened or already finished).
pub const ERROR_UNKNOWN_SESSION: &str = "unknown_session";
/// Error code: the session expired.
pub const ERROR_SESSION_EXPIRED: &str = "session_expired";
/// Error code: too many open sessions.
pub const ERROR_BUSY: &str = "busy";
/// Error code: the issuer failed internally.
pub const ERROR_INTERNAL: &str = "internal";

/// The path of `finish` for a session.
pub fn finish_path(session: &str) -> String {
    format!("{PATH_SESSIONS}/{session}/finish")
}

/// `POST /v1/sessions` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeginRequest {
    /// The card serial, hexadecimal.
    pub serial: String,
    /// RND.ICC, hexadecimal (8 bytes).
    pub challenge: String,
}

/// `POST /v1/sessions` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeginResponse {
    /// The session identifier (`A-Z a-z 0-9 - _`, up to 128 characters).
    pub session: String,
    /// `E.IFD ‖ M.IFD`, hexadecimal (72 bytes).
    pub terminal_cryptogram: String,
    /// How long the session waits for `finish`.
    pub expires_in_ms: u64,
}

/// `POST /v1/sessions/{session}/finish` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishRequest {
    /// `E.ICC ‖ M.ICC`, hexadecimal (72 bytes).
    pub card_cryptogram: String,
}

/// `POST /v1/sessions/{session}/finish` answer: the session keys. Zeroized on drop; `Debug`
/// shows nothing.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct FinishResponse {
    /// KS.enc, hexadecimal (16 bytes).
    pub k_enc: String,
    /// KS.mac, hexadecimal (16 bytes).
    pub k_mac: String,
    /// The starting send sequence counter, hexadecimal (16 bytes).
    pub ssc: String,
}

impl FinishResponse {
    /// The answer carrying `keys`.
    pub fn from_keys(keys: &SessionKeys) -> Self {
        Self {
            k_enc: hex::encode(keys.ks_enc()),
            k_mac: hex::encode(keys.ks_mac()),
            ssc: hex::encode(keys.ssc()),
        }
    }

    /// The session keys; `None` unless each field is 16 bytes of hexadecimal.
    pub fn to_keys(&self) -> Option<SessionKeys> {
        fn key(hex_text: &str) -> Option<[u8; 16]> {
            let mut out = [0; 16];
            hex::decode_to_slice(hex_text, &mut out).ok()?;
            Some(out)
        }
        Some(SessionKeys::new(
            key(&self.k_enc)?,
            key(&self.k_mac)?,
            key(&self.ssc)?,
        ))
    }
}

impl fmt::Debug for FinishResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FinishResponse { .. }")
    }
}

/// A failure's body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// One of the `ERROR_*` codes.
    pub error: String,
}

/// The HTTP status and code an issuer service answers for an error.
pub fn error_status(error: &IssuerError) -> (u16, &str) {
    match error {
        IssuerError::UnknownCard => (404, ERROR_UNKNOWN_CARD),
        IssuerError::UnknownSession => (404, ERROR_UNKNOWN_SESSION),
        IssuerError::SessionExpired => (410, ERROR_SESSION_EXPIRED),
        IssuerError::BadCardCryptogram => (403, ERROR_BAD_CARD_CRYPTOGRAM),
        IssuerError::Busy => (503, ERROR_BUSY),
        IssuerError::Refused { code } => (400, code.as_str()),
        _ => (500, ERROR_INTERNAL),
    }
}

/// The error a client reports for an error code.
pub fn error_from_code(code: &str) -> IssuerError {
    match code {
        ERROR_UNKNOWN_CARD => IssuerError::UnknownCard,
        ERROR_UNKNOWN_SESSION => IssuerError::UnknownSession,
        ERROR_SESSION_EXPIRED => IssuerError::SessionExpired,
        ERROR_BAD_CARD_CRYPTOGRAM => IssuerError::BadCardCryptogram,
        ERROR_BUSY => IssuerError::Busy,
        ERROR_INTERNAL => IssuerError::Internal,
        other => IssuerError::Refused {
            // A code is short and printable by protocol; anything else is cut down.
            code: other
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(40)
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_json() {
        let keys = SessionKeys::new([1; 16], [2; 16], [3; 16]);
        let json = serde_json::to_string(&FinishResponse::from_keys(&keys)).unwrap();
        let back: FinishResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(back.to_keys(), Some(keys));
        assert_eq!(format!("{back:?}"), "FinishResponse { .. }");
        let short = FinishResponse {
            k_enc: "00".into(),
            k_mac: back.k_mac.clone(),
            ssc: back.ssc.clone(),
        };
        assert!(short.to_keys().is_none());
    }

    #[test]
    fn error_codes_round_trip() {
        for error in [
            IssuerError::UnknownCard,
            IssuerError::UnknownSession,
            IssuerError::SessionExpired,
            IssuerError::BadCardCryptogram,
            IssuerError::Busy,
        ] {
            let (_, code) = error_status(&error);
            assert_eq!(
                std::mem::discriminant(&error_from_code(code)),
                std::mem::discriminant(&error)
            );
        }
        assert!(matches!(
            error_from_code("bad challenge\n<script>"),
            IssuerError::Refused { code } if code == "badchallengescript"
        ));
    }
}
