//! The issuer authority interface: the party that holds the cards' static keys and plays the
//! terminal (IFD) of EN 14890-1 device authentication ([`crate::device_auth`]).
//!
//! The host gives the issuer the card's serial and challenge ([`IssuerAuthority::begin`]),
//! relays the terminal cryptogram to the card and the card's answer back
//! ([`IssuerAuthority::finish`]), and receives **only the session keys** of that session.
//!
//! | implementation | mode | where the card keys are |
//! |---|---|---|
//! | [`HttpIssuer`] | [`IssuerMode::SessionKeysOnly`] | at the issuer's service (JSON over HTTP, [`wire`]) |
//! | `shenas_simulators::issuer::SimulatedIssuer` | [`IssuerMode::SessionKeysOnly`] | in the simulated issuer (in process or behind loopback HTTP) |
//! | [`DangerousCardKeysIssuer`] | [`IssuerMode::CardKeysOnHost`] | **on this host**: an issuer that only hands out card keys, with the issuer's computation run here |
//!
//! Every outcome says which mode was used ([`crate::sm::SecureChannel::issuer_mode`],
//! [`crate::device_auth::AuthReport`]).

use std::fmt;

mod engine;
pub mod http;
pub mod wire;

pub use engine::{CardKeySource, DEFAULT_SESSION_TTL, DangerousCardKeysIssuer, IssuerEngine};
pub use http::{DEFAULT_TIMEOUT, HttpIssuer};

use crate::sm::SessionKeys;

/// How an issuer establishes sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IssuerMode {
    /// The proper mode: the card's static keys stay at the issuer; the host receives this
    /// session's keys only.
    SessionKeysOnly,
    /// The weaker mode: the issuer handed the card's static keys to this host, which ran the
    /// issuer's side of the protocol itself. Anyone who reads this host's memory can
    /// authenticate as the terminal to that card from now on.
    CardKeysOnHost,
}

impl IssuerMode {
    /// True for [`IssuerMode::CardKeysOnHost`].
    pub const fn is_weakened(self) -> bool {
        matches!(self, Self::CardKeysOnHost)
    }

    /// A stable name: `session_keys_only` or `card_keys_on_host`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SessionKeysOnly => "session_keys_only",
            Self::CardKeysOnHost => "card_keys_on_host",
        }
    }
}

impl fmt::Display for IssuerMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An open issuer session, named by the issuer. One use only: [`IssuerAuthority::finish`]
/// consumes it at the issuer, whatever the outcome.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IssuerSession {
    id: String,
}

impl IssuerSession {
    /// A session identifier as the issuer gave it: 1 to 128 characters of `A-Z a-z 0-9 - _`
    /// (so it can sit in a URL path). `None` otherwise.
    pub fn new(id: impl Into<String>) -> Option<Self> {
        let id = id.into();
        let ok = (1..=128).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then_some(Self { id })
    }

    /// The identifier.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The issuer's answer to [`IssuerAuthority::begin`].
#[derive(Clone, PartialEq, Eq)]
pub struct IssuerChallenge {
    /// The session to finish.
    pub session: IssuerSession,
    /// `E.IFD ‖ M.IFD`, the MUTUAL AUTHENTICATE command data.
    pub terminal_cryptogram: Vec<u8>,
}

impl fmt::Debug for IssuerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerChallenge")
            .field("session", &self.session)
            .field("terminal_cryptogram_len", &self.terminal_cryptogram.len())
            .finish()
    }
}

/// Why the issuer did not give session keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// The issuer does not know the card (no keys for that serial).
    #[error("the issuer does not know this card")]
    UnknownCard,
    /// The issuer refused the request (bad input, policy).
    #[error("the issuer refused the request: {code}")]
    Refused {
        /// The issuer's error code (see [`wire`]).
        code: String,
    },
    /// The session expired before `finish`.
    #[error("the issuer session expired")]
    SessionExpired,
    /// The issuer knows no such session (never opened, or already finished: sessions are
    /// one-shot, so a replayed `finish` lands here).
    #[error("the issuer knows no such session")]
    UnknownSession,
    /// The card's cryptogram is not authentic (wrong card, modified, or replayed answer).
    #[error("the card's cryptogram is not authentic")]
    BadCardCryptogram,
    /// Too many open sessions at the issuer.
    #[error("the issuer is busy")]
    Busy,
    /// The issuer endpoint is refused: plain HTTP to a host that is not loopback, or a
    /// scheme this build cannot speak.
    #[error("refused issuer endpoint: {reason}")]
    InsecureEndpoint {
        /// Why.
        reason: &'static str,
    },
    /// The issuer did not answer in time.
    #[error("the issuer did not answer in time")]
    Timeout,
    /// The issuer could not be reached or the exchange failed.
    #[error("cannot reach the issuer")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The issuer answered something that does not follow the protocol.
    #[error("the issuer broke the protocol: {reason}")]
    Protocol {
        /// What was wrong.
        reason: &'static str,
    },
    /// The issuer failed internally (HTTP 5xx, no randomness, …).
    #[error("the issuer failed internally")]
    Internal,
}

/// The issuer of the cards: runs the terminal side of device authentication.
///
/// Implementations must be usable from several threads; each session is independent.
pub trait IssuerAuthority: Send + Sync {
    /// How this issuer establishes sessions.
    fn mode(&self) -> IssuerMode;

    /// Step 2 of device authentication: the card's serial and its GET CHALLENGE answer in,
    /// a session and the terminal cryptogram out.
    fn begin(
        &self,
        card_serial: &[u8],
        card_challenge: &[u8],
    ) -> Result<IssuerChallenge, IssuerError>;

    /// Step 4: the card's MUTUAL AUTHENTICATE answer in, this session's keys out. Consumes the
    /// session at the issuer.
    fn finish(
        &self,
        session: &IssuerSession,
        card_cryptogram: &[u8],
    ) -> Result<SessionKeys, IssuerError>;
}

impl<I: IssuerAuthority + ?Sized> IssuerAuthority for std::sync::Arc<I> {
    fn mode(&self) -> IssuerMode {
        (**self).mode()
    }
    fn begin(
        &self,
        card_serial: &[u8],
        card_challenge: &[u8],
    ) -> Result<IssuerChallenge, IssuerError> {
        (**self).begin(card_serial, card_challenge)
    }
    fn finish(
        &self,
        session: &IssuerSession,
        card_cryptogram: &[u8],
    ) -> Result<SessionKeys, IssuerError> {
        (**self).finish(session, card_cryptogram)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_url_safe() {
        assert!(IssuerSession::new("abc-DEF_012").is_some());
        assert!(IssuerSession::new("").is_none());
        assert!(IssuerSession::new("../x").is_none());
        assert!(IssuerSession::new("a/b").is_none());
        assert!(IssuerSession::new("x".repeat(129)).is_none());
    }

    #[test]
    fn modes_name_themselves() {
        assert!(IssuerMode::CardKeysOnHost.is_weakened());
        assert!(!IssuerMode::SessionKeysOnly.is_weakened());
        assert_eq!(IssuerMode::CardKeysOnHost.to_string(), "card_keys_on_host");
    }
}
