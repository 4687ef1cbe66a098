//! Wire types of Shenas's public interfaces: the D-Bus API and the localhost API share them,
//! and so does the `--json` output of the `shenas` CLI.
//!
//! This crate holds names, versioned data types and error codes only — no logic. Byte strings
//! (ATRs, APDUs) travel as upper-case hexadecimal text.
//!
//! - [`api`]: requests and answers of the card operations, consent, WebSocket messages.
//! - [`errors`]: stable error codes with Persian and English messages, HTTP statuses and D-Bus
//!   error names.
//! - [`names`]: bus name, versioned interface names, object paths, default port.

use serde::{Deserialize, Serialize};

pub mod api;
pub mod errors;
pub mod names;

pub use errors::{ApiError, ErrorCode};

/// Version of the wire types; bumped on any incompatible change.
pub const WIRE_VERSION: u32 = 1;

/// A card reader and what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderInfo {
    /// The reader's PC/SC name.
    pub name: String,
    /// A card is present.
    pub card_present: bool,
    /// Another application holds the card exclusively.
    pub exclusive: bool,
    /// The card's answer-to-reset in hexadecimal, when a card is present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub atr: Option<String>,
}

/// A change of readers, cards or the smart-card service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReaderEvent {
    /// A reader appeared.
    ReaderAdded {
        /// Reader name.
        reader: String,
    },
    /// A reader disappeared.
    ReaderRemoved {
        /// Reader name.
        reader: String,
    },
    /// A card was inserted.
    CardInserted {
        /// Reader name.
        reader: String,
        /// The card's answer-to-reset in hexadecimal.
        atr: String,
    },
    /// A card was removed.
    CardRemoved {
        /// Reader name.
        reader: String,
    },
    /// The smart-card service (pcscd) is unreachable.
    ServiceLost,
    /// The smart-card service is reachable again.
    ServiceRestored,
}

/// The answer to one raw APDU exchange, as the CLI reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApduExchange {
    /// The command sent, in hexadecimal.
    pub command: String,
    /// Response data in hexadecimal (after GET RESPONSE and re-sends).
    pub data: String,
    /// The status word, four hexadecimal digits.
    pub sw: String,
    /// What the status word means per ISO/IEC 7816-4.
    pub meaning: String,
}

/// A card's answer-to-reset, decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtrInfo {
    /// The reader holding the card.
    pub reader: String,
    /// The ATR in hexadecimal.
    pub atr: String,
    /// Transmission protocols offered (`"T=0"`, `"T=1"`).
    pub protocols: Vec<String>,
    /// Historical bytes in hexadecimal.
    pub historical_bytes: String,
    /// Whether the card declares extended-length APDUs in its ATR, if it says.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub extended_length: Option<bool>,
}

/// A failure reported to a client: a stable code and a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// Stable machine-readable code, e.g. `no_card`, `card_removed`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_snake_case() -> Result<(), serde_json::Error> {
        let event = ReaderEvent::CardInserted {
            reader: "R".into(),
            atr: "3B00".into(),
        };
        assert_eq!(
            serde_json::to_string(&event)?,
            r#"{"event":"card_inserted","reader":"R","atr":"3B00"}"#
        );
        assert_eq!(
            serde_json::to_string(&ReaderEvent::ServiceLost)?,
            r#"{"event":"service_lost"}"#
        );
        let back: ReaderEvent = serde_json::from_str(r#"{"event":"card_removed","reader":"R"}"#)?;
        assert_eq!(back, ReaderEvent::CardRemoved { reader: "R".into() });
        Ok(())
    }
}
