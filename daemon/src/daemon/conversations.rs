//! The card conversations a reader worker runs, each inside one PC/SC transaction: the seam
//! where the card applications (`shenas-cards`) plug into the daemon.
//!
//! [`CardConversations`] is synchronous and object-safe: a reader worker (an OS thread) calls
//! it with the open transaction as a [`Transport`]. Every operation has a default that answers
//! [`ErrorCode::NotImplemented`], so an implementation only overrides what its card
//! applications really do. [`BasicConversations`] implements identification from the ATR and
//! the card's GET DATA serial number (what any ISO/IEC 7816-4 card answers);
//! [`super::cards::SessionConversations`] is the daemon's implementation of every operation.

use shenas_apdu::{Atr, Channel, ChannelConfig, ChannelError, Command, Transport, TransportError};
use shenas_dbus::api::{
    AuthenticateRequest, CardIdentity, CertificateInfo, IdentityDocument, PinKind, PinStatus,
    ReadIdentityRequest, Secret, SignRequest, SignatureReply,
};
use shenas_dbus::{ApiError, ErrorCode};

/// The card operations the daemon offers. Each call is one whole conversation over `card`
/// (the reader worker has opened a PC/SC transaction; it ends when the call returns).
/// Implementations must not log PINs, keys or personal data.
pub trait CardConversations: Send + Sync + 'static {
    /// Identifies the card: ATR, serial, profile. Needs no PIN and reveals no personal data.
    fn identify(
        &self,
        card: &mut dyn Transport,
        reader: &str,
        atr: &[u8],
    ) -> Result<CardIdentity, ApiError>;

    /// Reads the identity with passive authentication (personal data: consent first).
    fn read_identity(
        &self,
        card: &mut dyn Transport,
        request: &ReadIdentityRequest,
    ) -> Result<IdentityDocument, ApiError> {
        let _ = (card, request);
        Err(not_implemented("read_identity"))
    }

    /// Reads the certificates (no PIN needed) and validates them on the host.
    fn certificates(&self, card: &mut dyn Transport) -> Result<Vec<CertificateInfo>, ApiError> {
        let _ = card;
        Err(not_implemented("certificates"))
    }

    /// The PIN's tries left, asked without spending one.
    fn pin_status(&self, card: &mut dyn Transport, pin: PinKind) -> Result<PinStatus, ApiError> {
        let _ = (card, pin);
        Err(not_implemented("pin_status"))
    }

    /// VERIFY (ISO/IEC 7816-4 clause 11.5.6).
    fn verify_pin(
        &self,
        card: &mut dyn Transport,
        pin: PinKind,
        value: &Secret,
    ) -> Result<PinStatus, ApiError> {
        let _ = (card, pin, value);
        Err(not_implemented("verify_pin"))
    }

    /// CHANGE REFERENCE DATA (ISO/IEC 7816-4 clause 11.5.7).
    fn change_pin(
        &self,
        card: &mut dyn Transport,
        pin: PinKind,
        old: &Secret,
        new: &Secret,
    ) -> Result<PinStatus, ApiError> {
        let _ = (card, pin, old, new);
        Err(not_implemented("change_pin"))
    }

    /// RESET RETRY COUNTER with the PUK (ISO/IEC 7816-4 clause 11.5.10).
    fn unblock_pin(
        &self,
        card: &mut dyn Transport,
        pin: PinKind,
        puk: &Secret,
        new: &Secret,
    ) -> Result<PinStatus, ApiError> {
        let _ = (card, pin, puk, new);
        Err(not_implemented("unblock_pin"))
    }

    /// MSE SET + PSO: COMPUTE DIGITAL SIGNATURE over a hash (ISO/IEC 7816-8 clause 11), verified
    /// against the certificate before it is returned.
    fn sign_hash(
        &self,
        card: &mut dyn Transport,
        request: &SignRequest,
    ) -> Result<SignatureReply, ApiError> {
        let _ = (card, request);
        Err(not_implemented("sign_hash"))
    }

    /// INTERNAL AUTHENTICATE over a challenge (ISO/IEC 7816-4 clause 11.5.2).
    fn authenticate(
        &self,
        card: &mut dyn Transport,
        request: &AuthenticateRequest,
    ) -> Result<SignatureReply, ApiError> {
        let _ = (card, request);
        Err(not_implemented("authenticate"))
    }
}

/// The typed answer of an operation this implementation does not offer (never a fake success).
pub fn not_implemented(operation: &str) -> ApiError {
    ApiError::new(ErrorCode::NotImplemented).with_reason(format!(
        "{operation}: this implementation of the card conversations does not offer it"
    ))
}

/// The channel settings of every conversation: EF.ATR is not read (it would select the MF on
/// every request; the reader worker's connection already knows the card).
pub fn channel_config() -> ChannelConfig {
    ChannelConfig {
        read_ef_atr: false,
        ..ChannelConfig::default()
    }
}

/// Maps a transport failure to its wire code.
pub fn transport_error(error: &TransportError) -> ApiError {
    let code = match error {
        TransportError::NoService | TransportError::Closed => ErrorCode::NoService,
        TransportError::NoReader | TransportError::ReaderUnavailable => ErrorCode::NoReader,
        TransportError::NoCard => ErrorCode::NoCard,
        TransportError::CardRemoved => ErrorCode::CardRemoved,
        TransportError::CardReset => ErrorCode::CardReset,
        TransportError::SharingViolation => ErrorCode::SharingViolation,
        TransportError::Timeout(_) => ErrorCode::Timeout,
        TransportError::Unresponsive => ErrorCode::CardUnresponsive,
        // A transmit the reader could not complete: almost always the card leaving.
        TransportError::CommunicationFailed => ErrorCode::CardRemoved,
        _ => ErrorCode::Transport,
    };
    ApiError::new(code)
}

/// Maps a channel failure to its wire code.
pub fn channel_error(error: &ChannelError) -> ApiError {
    match error {
        ChannelError::Transport(e) => transport_error(e),
        _ => ApiError::new(ErrorCode::CardError),
    }
}

/// GET DATA P1-P2 of the card serial number (ISO/IEC 7816-6 tag `5F5A`... as the simulated
/// cards serve it).
pub const SERIAL_NUMBER_TAG: u16 = 0x5F5A;

/// Identification from what every ISO/IEC 7816-4 card answers: the ATR and GET DATA of the
/// serial number. Every other operation answers `not_implemented`; the daemon uses it for
/// cards that follow no profile of `shenas-cards`.
#[derive(Clone, Copy, Debug, Default)]
pub struct BasicConversations;

impl CardConversations for BasicConversations {
    fn identify(
        &self,
        card: &mut dyn Transport,
        reader: &str,
        atr: &[u8],
    ) -> Result<CardIdentity, ApiError> {
        let mut channel = Channel::open(card, channel_config()).map_err(|e| channel_error(&e))?;
        let [p1, p2] = SERIAL_NUMBER_TAG.to_be_bytes();
        // GET DATA (ISO/IEC 7816-4 clause 11.4.3), Le = 00.
        let command = Command::new(0x00, 0xCA, p1, p2).with_le(256);
        let response = channel.transmit(&command).map_err(|e| channel_error(&e))?;
        let serial = (response.sw().is_success() && !response.data().is_empty())
            .then(|| serial_text(response.data()));
        Ok(CardIdentity {
            reader: reader.to_owned(),
            atr: hex::encode_upper(atr),
            serial,
            profile: profile_from_atr(atr).to_owned(),
            profile_version: None,
        })
    }
}

/// A serial as text when it is printable ASCII, else as hexadecimal.
pub fn serial_text(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| b.is_ascii_graphic()) {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else {
        hex::encode_upper(bytes)
    }
}

/// The profile an ATR's historical bytes suggest: `national_id` when they carry "IRN" (seen on
/// some generations of the national card, domain notes §2), `iso7816` for any other ATR that
/// parses, `unknown` otherwise.
pub fn profile_from_atr(atr: &[u8]) -> &'static str {
    match Atr::parse(atr) {
        Ok(parsed) if parsed.historical_bytes().windows(3).any(|w| w == b"IRN") => "national_id",
        Ok(_) => "iso7816",
        Err(_) => "unknown",
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use shenas_simulators::{Df, SimulatedTransport, VirtualCard, default_card, simulated_atr};

    #[test]
    fn identify_reads_the_serial() -> Result<(), ApiError> {
        let mut card = SimulatedTransport::new(default_card());
        let atr = simulated_atr(true);
        let id = BasicConversations.identify(&mut card, "R", &atr)?;
        assert_eq!(id.reader, "R");
        assert_eq!(id.serial.as_deref(), Some("SHSIM001"));
        assert_eq!(id.atr, hex::encode_upper(&atr));
        assert_eq!(id.profile, "iso7816");
        Ok(())
    }

    #[test]
    fn a_card_without_serial_is_identified_without_one() -> Result<(), ApiError> {
        let mut card = SimulatedTransport::new(VirtualCard::new(Df::mf()));
        let id = BasicConversations.identify(&mut card, "R", &simulated_atr(false))?;
        assert_eq!(id.serial, None);
        Ok(())
    }

    #[test]
    fn the_rest_is_not_implemented() {
        let mut card = SimulatedTransport::new(default_card());
        let error = BasicConversations
            .pin_status(&mut card, PinKind::Id)
            .err()
            .map(|e| e.code);
        assert_eq!(error, Some(ErrorCode::NotImplemented));
        let error = BasicConversations
            .read_identity(&mut card, &ReadIdentityRequest::default())
            .err()
            .map(|e| e.code);
        assert_eq!(error, Some(ErrorCode::NotImplemented));
    }

    #[test]
    fn serials_and_profiles() {
        assert_eq!(serial_text(b"AB12"), "AB12");
        assert_eq!(serial_text(&[0x01, 0xFF]), "01FF");
        assert_eq!(profile_from_atr(&[0x3B]), "unknown");
    }
}
