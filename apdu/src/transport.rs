//! The lowest layer: raw command bytes in, raw response bytes out.
//!
//! Everything above (channel logic, card applications) runs over [`Transport`], so the
//! same code drives a PC/SC reader, the in-process simulator or any other backend.

/// Typed transport failures: what a caller can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The PC/SC service (pcscd) is not running or went away; establish a new context.
    #[error("the smart card service is not available")]
    NoService,
    /// No reader of that name, or no readers at all.
    #[error("no such reader")]
    NoReader,
    /// The reader exists but cannot be used right now (unplugged, or its driver failed).
    #[error("the reader is unavailable")]
    ReaderUnavailable,
    /// The reader holds no card.
    #[error("no card in the reader")]
    NoCard,
    /// The card was removed; the conversation is lost.
    #[error("the card was removed")]
    CardRemoved,
    /// The card was reset by someone else; its volatile state (selected files, verified PINs) is gone.
    #[error("the card was reset")]
    CardReset,
    /// Another application holds the card exclusively.
    #[error("the card is in use by another application")]
    SharingViolation,
    /// The card or reader did not answer in time.
    #[error("the card did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The reader could not exchange the command with the card (pulled mid-command, or mute);
    /// the reader may report the card removed moments later.
    #[error("the command could not be exchanged with the card")]
    CommunicationFailed,
    /// The card does not answer to reset or to commands.
    #[error("the card is unresponsive")]
    Unresponsive,
    /// The transport's handle is no longer usable (closed, or its service restarted).
    #[error("the transport is closed")]
    Closed,
    /// Any other backend failure, with its cause.
    #[error("transport failure: {message}")]
    Other {
        /// Short description of what failed.
        message: &'static str,
        /// The backend's error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl TransportError {
    /// A stable snake_case code for scripts, `--json` output and the APIs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoService => "no_service",
            Self::NoReader => "no_reader",
            Self::ReaderUnavailable => "reader_unavailable",
            Self::NoCard => "no_card",
            Self::CardRemoved => "card_removed",
            Self::CardReset => "card_reset",
            Self::SharingViolation => "sharing_violation",
            Self::Timeout(_) => "timeout",
            Self::Unresponsive => "card_unresponsive",
            Self::CommunicationFailed => "communication_failed",
            Self::Closed | Self::Other { .. } => "transport",
        }
    }

    /// True when the card (or the service) went away, so retrying on this handle is pointless.
    pub fn is_card_gone(&self) -> bool {
        matches!(
            self,
            Self::CardRemoved
                | Self::NoCard
                | Self::NoService
                | Self::ReaderUnavailable
                | Self::Closed
                | Self::CommunicationFailed
        )
    }
}

/// What the transport (reader or virtual link) lets through, as far as it knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransportLimits {
    /// `Some(true)` when the reader is known to pass extended-length APDUs, `Some(false)` when it is
    /// known not to, `None` when it declares nothing (vpcd, most CCID readers behind PC/SC).
    pub extended_length: Option<bool>,
}

/// A synchronous, object-safe link to one card.
///
/// Implementations send each command as given (no GET RESPONSE, no chaining): that belongs to
/// [`crate::Channel`]. They must never panic on what the card sends.
pub trait Transport {
    /// Sends one command APDU and returns the whole response APDU (data ‖ SW1 SW2).
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError>;

    /// The card's answer-to-reset, as the reader reported it.
    fn atr(&mut self) -> Result<Vec<u8>, TransportError>;

    /// Resets the card (warm reset): the card drops its volatile state. Returns the new ATR.
    fn reset(&mut self) -> Result<Vec<u8>, TransportError>;

    /// What the link lets through. Defaults to "declares nothing".
    fn limits(&self) -> TransportLimits {
        TransportLimits::default()
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }
    fn atr(&mut self) -> Result<Vec<u8>, TransportError> {
        (**self).atr()
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        (**self).reset()
    }
    fn limits(&self) -> TransportLimits {
        (**self).limits()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }
    fn atr(&mut self) -> Result<Vec<u8>, TransportError> {
        (**self).atr()
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        (**self).reset()
    }
    fn limits(&self) -> TransportLimits {
        (**self).limits()
    }
}
