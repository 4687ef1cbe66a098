//! A card session on the host: one conversation with a national ID card or a foreign-nationals
//! card, over any [`Transport`] (a PC/SC transaction, a simulated card in process).
//!
//! | operation | APDUs (floor, with extended length) | clause |
//! |---|---|---|
//! | [`CardSession::open`] (profile detection) | 0 when the ATR names the profile (the first operation's SELECT confirms it), else 1 SELECT per profile tried | ISO/IEC 7816-4 11.2.2 |
//! | [`CardSession::identify`] | 3: GET DATA card serial, chip version, profile version | 11.4.3 |
//! | [`CardSession::read_identity`] | 3 + one READ BINARY per data group and EF.SOD: SELECT identity application, GET CHALLENGE, MUTUAL AUTHENTICATE, then READ BINARY by SFI under secure messaging | EN 14890-1; 7816-4 10, 11.3.3 |
//! | [`CardSession::certificates`] | SELECT PKI application, then SELECT + READ BINARY per certificate | ISO/IEC 7816-15 |
//! | [`CardSession::pin_status`] | 1: VERIFY without data | 11.5.6 |
//! | [`CardSession::verify_pin`] | 1: VERIFY | 11.5.6 |
//! | [`CardSession::change_pin`] | 1: CHANGE REFERENCE DATA | 11.5.7 |
//! | [`CardSession::unblock_pin`] | 1: RESET RETRY COUNTER | 11.5.10 |
//! | [`CardSession::sign_hash`] | MSE SET + PSO: COMPUTE DIGITAL SIGNATURE (+ the certificate once per session) | ISO/IEC 7816-8 11 |
//! | [`CardSession::internal_authenticate`] | MSE SET + INTERNAL AUTHENTICATE | 11.5.2 |
//!
//! Every signature the card returns is verified against its certificate before it is handed
//! out. PINs are never retried: one call, one VERIFY.
//!
//! [`Counting`] wraps a transport to count APDUs and card time, which the benchmark splits from
//! issuer round trips and host cryptography.

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use shenas_apdu::{
    Channel, ChannelConfig, ChannelError, Command, Path, Response, StatusWord, Transport,
    TransportError, TransportLimits,
};
use zeroize::Zeroizing;

use crate::device_auth::{self, AuthError};
use crate::issuer::{IssuerAuthority, IssuerMode};
use crate::pki::{self, CertificateError, HashAlgorithm, Purpose, TrustAnchors, VerifyError};
use crate::profile::identity::{CardDataError, DataGroups, Identity};
use crate::profile::{
    self, AlgorithmSpec, DataGroupSpec, DetectedBy, KeyAlgorithm, KeyRole, PinFormatError, PinKind,
    PinSpec, Profile, ProfileId, SignatureInput, Version,
};
use crate::sm::{SecureChannel, SmError};

mod moc;

pub use crate::moc::BiometricOutcome;

const INS_VERIFY: u8 = 0x20;
const INS_CHANGE_REFERENCE_DATA: u8 = 0x24;
const INS_RESET_RETRY_COUNTER: u8 = 0x2C;
const INS_MSE: u8 = 0x22;
const INS_PSO: u8 = 0x2A;
const INS_INTERNAL_AUTHENTICATE: u8 = 0x88;
const INS_GET_DATA: u8 = 0xCA;
const INS_READ_BINARY: u8 = 0xB0;
const INS_SELECT: u8 = 0xA4;
/// PSO: COMPUTE DIGITAL SIGNATURE, P1-P2 `9E 9A` (ISO/IEC 7816-8, 11).
const PSO_CDS: [u8; 2] = [0x9E, 0x9A];
/// Largest EF the session reads under secure messaging.
const MAX_EF_LEN: usize = 1 << 20;

/// What can go wrong in a card session. Nothing here carries a PIN, a key or personal data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The card, reader or channel failed (card removed, timeout, protocol).
    #[error("the card channel failed: {0}")]
    Channel(#[source] ChannelError),
    /// The card follows no known profile.
    #[error("the card follows no known profile")]
    UnknownCard,
    /// The card answered an unexpected status word.
    #[error("{operation} failed: {sw}")]
    Status {
        /// The operation, in the specification's words.
        operation: &'static str,
        /// What the card answered.
        sw: StatusWord,
    },
    /// The card's data is malformed: a defect of that card.
    #[error("the card's data is defective: {0}")]
    CardDefect(String),
    /// A PIN of the wrong format was given (nothing was sent to the card).
    #[error(transparent)]
    PinFormat(#[from] PinFormatError),
    /// The PIN was wrong; this many tries are left.
    #[error("wrong {}: {tries_left} tries left", .kind.as_str())]
    WrongPin {
        /// Which PIN.
        kind: PinKind,
        /// Tries left before it blocks.
        tries_left: u8,
    },
    /// The PIN is blocked (no tries left).
    #[error("the {} is blocked", .kind.as_str())]
    PinBlocked {
        /// Which PIN.
        kind: PinKind,
    },
    /// The operation needs a PIN that was not verified in this session.
    #[error("the {} must be verified first", .kind.as_str())]
    PinRequired {
        /// Which PIN.
        kind: PinKind,
    },
    /// The profile has no such PIN, key or algorithm.
    #[error("the card's profile has no {0}")]
    NotInProfile(&'static str),
    /// Device authentication failed.
    #[error("card authentication failed: {0}")]
    Authentication(#[source] AuthError),
    /// Secure messaging failed (a response whose MAC does not verify is never used).
    #[error("secure messaging failed: {0}")]
    SecureMessaging(#[source] SmError),
    /// A certificate did not validate.
    #[error("certificate validation failed: {0}")]
    Certificate(#[source] CertificateError),
    /// The card's signature does not verify against its certificate: it is not returned.
    #[error("the card's signature does not verify against its certificate")]
    BadSignature(#[source] VerifyError),
    /// The hash has a length the profile does not accept.
    #[error("a hash of {0} bytes is neither SHA-256 nor SHA-384")]
    BadHashLength(usize),
}

impl SessionError {
    /// The channel failure underneath, however it was wrapped (directly, inside secure
    /// messaging, inside device authentication).
    pub fn channel(&self) -> Option<&ChannelError> {
        match self {
            Self::Channel(c)
            | Self::SecureMessaging(SmError::Channel(c))
            | Self::Authentication(AuthError::Channel(c)) => Some(c),
            _ => None,
        }
    }

    /// The transport failure underneath, however it was wrapped.
    pub fn transport(&self) -> Option<&TransportError> {
        match self.channel() {
            Some(ChannelError::Transport(t)) => Some(t),
            _ => None,
        }
    }

    /// A stable snake_case code for scripts, the CLI's `--json` and the APIs.
    pub fn code(&self) -> &'static str {
        match (self.channel(), self) {
            (Some(ChannelError::Transport(t)), _) => t.code(),
            // Fewer than two bytes from the reader: the link to the card broke (seen when a
            // card leaves in the middle of a transmit).
            (Some(ChannelError::Response(_)), _) => "communication_failed",
            (_, Self::Channel(_)) => "card_error",
            (_, Self::UnknownCard) => "unknown_card",
            (_, Self::Status { .. }) => "card_status",
            (_, Self::CardDefect(_)) => "card_defect",
            (_, Self::PinFormat(_)) => "pin_format",
            (_, Self::WrongPin { .. }) => "wrong_pin",
            (_, Self::PinBlocked { .. }) => "pin_blocked",
            (_, Self::PinRequired { .. }) => "pin_required",
            (_, Self::NotInProfile(_)) => "not_in_profile",
            (_, Self::Authentication(AuthError::Issuer(_))) => "issuer_failed",
            (_, Self::Authentication(_)) => "card_authentication_failed",
            (_, Self::SecureMessaging(_)) => "secure_messaging_failed",
            (_, Self::Certificate(_)) => "certificate_invalid",
            (_, Self::BadSignature(_)) => "bad_signature",
            (_, Self::BadHashLength(_)) => "bad_hash",
        }
    }

    /// True when the card went away (removed, reset, reader gone).
    pub fn is_card_gone(&self) -> bool {
        self.transport()
            .is_some_and(|t| t.is_card_gone() || matches!(t, TransportError::CardReset))
    }
}

impl From<ChannelError> for SessionError {
    fn from(e: ChannelError) -> Self {
        Self::Channel(e)
    }
}

impl From<SmError> for SessionError {
    fn from(e: SmError) -> Self {
        Self::SecureMessaging(e)
    }
}

/// A PIN or PUK as typed by the holder: wiped from memory on drop, never printed.
pub struct Pin(Zeroizing<Vec<u8>>);

impl Pin {
    /// The digits as typed (surrounding white space, such as a newline from stdin, removed).
    pub fn new(typed: &str) -> Self {
        Self(Zeroizing::new(typed.trim().as_bytes().to_vec()))
    }

    fn formatted(&self, spec: &PinSpec) -> Result<Zeroizing<Vec<u8>>, PinFormatError> {
        spec.format(&self.0)
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// What VERIFY without data says about a PIN (ISO/IEC 7816-4, 11.5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PinStatus {
    /// Verified in this session.
    Verified,
    /// Not verified; this many tries are left.
    TriesLeft {
        /// Tries left.
        tries_left: u8,
    },
    /// Blocked.
    Blocked,
}

/// The card's identification: profile, serial and versions.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Identification {
    /// Which profile the card follows.
    pub profile: ProfileId,
    /// The profile's human-readable name.
    pub profile_name: &'static str,
    /// How the profile was recognised.
    pub detected_by: &'static str,
    /// The card serial number (card manager data).
    pub card_serial: String,
    /// The chip version the card reports.
    pub chip_version: Option<Version>,
    /// The profile version the card reports.
    pub profile_version: Option<Version>,
}

/// The passive-authentication verdict, as reported to callers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PaVerdict {
    /// True when every data group hash matches and the document signer chains to the anchors.
    pub valid: bool,
    /// Why not, when not valid (a stable code, then details).
    pub reason: Option<String>,
}

/// The raw data groups and EF.SOD read from the identity application.
pub struct IdentityFiles {
    /// `(data group number, content)` in the profile's order.
    pub data_groups: Vec<(u8, Vec<u8>)>,
    /// EF.SOD.
    pub sod: Vec<u8>,
}

impl fmt::Debug for IdentityFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Personal data stays out of Debug.
        f.debug_struct("IdentityFiles")
            .field("data_groups", &self.data_groups.len())
            .field("sod_len", &self.sod.len())
            .finish()
    }
}

/// The identity read from a card with its passive-authentication verdict.
pub struct IdentityReading {
    /// The raw files (for callers that keep or forward them).
    pub files: IdentityFiles,
    /// The decoded identity, or the card's defect (invalid data is reported, never trusted).
    pub identity: Result<Identity, CardDataError>,
    /// Passive authentication of the files against the trust anchors.
    pub passive_authentication: PaVerdict,
    /// How the secure-messaging keys were obtained.
    pub issuer_mode: IssuerMode,
    /// Whether the anchors are the simulated ones.
    pub simulated_trust: bool,
    /// Time spent waiting for the issuer.
    pub issuer_time: Duration,
    /// Time spent in host cryptography (passive authentication, decoding).
    pub host_crypto_time: Duration,
}

impl fmt::Debug for IdentityReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityReading")
            .field("files", &self.files)
            .field("decoded", &self.identity.is_ok())
            .field("passive_authentication", &self.passive_authentication)
            .field("issuer_mode", &self.issuer_mode)
            .finish_non_exhaustive()
    }
}

/// A certificate on the card with its validation outcome.
#[derive(Clone)]
pub struct CardCertificate {
    /// What the key is for.
    pub role: KeyRole,
    /// The DER certificate.
    pub der: Vec<u8>,
    /// The outcome of validation for the role's purpose.
    pub validation: Result<pki::ValidatedChain, CertificateError>,
}

impl fmt::Debug for CardCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardCertificate")
            .field("role", &self.role)
            .field("len", &self.der.len())
            .field("valid", &self.validation.is_ok())
            .finish()
    }
}

/// A signature the card made, verified against its certificate.
#[derive(Clone, Debug)]
pub struct CardSignature {
    /// The signature as the card returned it (`r ‖ s` for ECDSA, the integer for RSA).
    pub signature: Vec<u8>,
    /// The scheme it verifies under.
    pub scheme: pki::SignatureScheme,
    /// The signer's certificate (DER).
    pub certificate: Vec<u8>,
}

/// Counts APDUs and the time spent in the card link.
pub struct Counting<T> {
    inner: T,
    apdus: usize,
    answered: usize,
    time: Duration,
}

impl<T> Counting<T> {
    /// Wraps a transport.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            apdus: 0,
            answered: 0,
            time: Duration::ZERO,
        }
    }

    /// APDUs sent so far.
    pub fn apdus(&self) -> usize {
        self.apdus
    }

    /// APDUs the card answered so far (transmits that did not fail).
    pub fn answered(&self) -> usize {
        self.answered
    }

    /// Time spent in `transmit` so far.
    pub fn transmit_time(&self) -> Duration {
        self.time
    }

    /// The wrapped transport.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport> Transport for Counting<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let started = Instant::now();
        let r = self.inner.transmit(command);
        self.time += started.elapsed();
        self.apdus += 1;
        self.answered += usize::from(r.is_ok());
        r
    }
    fn atr(&mut self) -> Result<Vec<u8>, TransportError> {
        self.inner.atr()
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.inner.reset()
    }
    fn limits(&self) -> TransportLimits {
        self.inner.limits()
    }
}

/// Which application is selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Selected {
    /// Nothing selected by this session yet.
    Nothing,
    Identity,
    Pki,
    MatchOnCard,
    Other,
}

/// One conversation with a card. Drop it to end the conversation (the caller ends the PC/SC
/// transaction).
pub struct CardSession<T: Transport> {
    channel: Channel<T>,
    profile: &'static Profile,
    detected_by: DetectedBy,
    selected: Selected,
    serial: Option<Vec<u8>>,
    certificates: Vec<(KeyRole, Vec<u8>)>,
    ca_certificates: Option<Vec<Vec<u8>>>,
}

impl<T: Transport> fmt::Debug for CardSession<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardSession")
            .field("profile", &self.profile.id)
            .field("selected", &self.selected)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> CardSession<T> {
    /// Opens the channel and finds the card's profile. When the ATR carries the marker of
    /// exactly one profile, no APDU is sent: the first operation selects the application it
    /// needs, and a card that cannot select it is reported as [`SessionError::UnknownCard`].
    /// Otherwise (a later card generation, an ATR that says nothing) every profile's identity
    /// application is tried ([`profile::detect`]), which leaves it selected.
    pub fn open(transport: T, config: ChannelConfig) -> Result<Self, SessionError> {
        let mut channel = Channel::open(transport, config)?;
        let atr = channel.transport_mut().atr().map_err(ChannelError::from)?;
        let mut by_atr = profile::PROFILES.iter().filter(|p| p.matches_atr(&atr));
        if let (Some(profile), None) = (by_atr.next(), by_atr.next()) {
            return Ok(Self::new(
                channel,
                profile,
                DetectedBy::AtrAndSelection,
                Selected::Nothing,
            ));
        }
        let detection = profile::detect(&atr, |aid| {
            let select = Command::new(0x00, INS_SELECT, 0x04, 0x0C).with_data(aid.to_vec());
            channel.transmit(&select).map(|r| r.is_success())
        })?;
        let Some(detection) = detection else {
            return Err(SessionError::UnknownCard);
        };
        Ok(Self::new(
            channel,
            detection.profile,
            detection.by,
            Selected::Identity,
        ))
    }

    fn new(
        channel: Channel<T>,
        profile: &'static Profile,
        detected_by: DetectedBy,
        selected: Selected,
    ) -> Self {
        Self {
            channel,
            profile,
            detected_by,
            selected,
            serial: None,
            certificates: Vec::new(),
            ca_certificates: None,
        }
    }

    /// The card's profile.
    pub fn profile(&self) -> &'static Profile {
        self.profile
    }

    /// The channel (for the transport's counters).
    pub fn channel_mut(&mut self) -> &mut Channel<T> {
        &mut self.channel
    }

    /// Ends the session, giving the channel back.
    pub fn into_channel(self) -> Channel<T> {
        self.channel
    }

    fn get_data(&mut self, tag: u16) -> Result<Option<Vec<u8>>, SessionError> {
        let [p1, p2] = tag.to_be_bytes();
        let r = self
            .channel
            .transmit(&Command::new(0x00, INS_GET_DATA, p1, p2).with_le(256))?;
        match r.sw().value() {
            0x9000 => Ok(Some(r.into_data())),
            0x6A88 | 0x6A82 => Ok(None),
            _ => Err(SessionError::Status {
                operation: "GET DATA",
                sw: r.sw(),
            }),
        }
    }

    /// The card serial (card manager data), read once per session.
    pub fn card_serial(&mut self) -> Result<Vec<u8>, SessionError> {
        if let Some(serial) = &self.serial {
            return Ok(serial.clone());
        }
        let serial = self
            .get_data(self.profile.card_data.card_serial)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SessionError::CardDefect("no card serial number".into()))?;
        self.serial = Some(serial.clone());
        Ok(serial)
    }

    /// Identifies the card: profile, serial, chip and profile version.
    pub fn identify(&mut self) -> Result<Identification, SessionError> {
        let serial = self.card_serial()?;
        let chip = self.get_data(self.profile.card_data.chip_version)?;
        let version = self.get_data(self.profile.card_data.profile_version)?;
        Ok(Identification {
            profile: self.profile.id,
            profile_name: self.profile.name,
            detected_by: match self.detected_by {
                DetectedBy::AtrAndSelection => "atr_and_selection",
                DetectedBy::Selection => "selection",
            },
            card_serial: printable_serial(&serial),
            chip_version: chip.as_deref().and_then(Version::from_bytes),
            profile_version: version.as_deref().and_then(Version::from_bytes),
        })
    }

    fn select_aid(&mut self, aid: &[u8], which: Selected) -> Result<(), SessionError> {
        if self.selected == which {
            return Ok(());
        }
        let select = Command::new(0x00, INS_SELECT, 0x04, 0x0C).with_data(aid.to_vec());
        let r = self.channel.transmit(&select)?;
        if !r.is_success() {
            let first = self.selected == Selected::Nothing;
            self.selected = Selected::Other;
            if first && matches!(r.sw().value(), 0x6A82 | 0x6A86 | 0x6D00 | 0x6E00) {
                // The ATR named a profile whose application the card does not have.
                return Err(SessionError::UnknownCard);
            }
            return Err(SessionError::Status {
                operation: "SELECT application",
                sw: r.sw(),
            });
        }
        self.selected = which;
        Ok(())
    }

    /// Authenticates the card with the issuer (EN 14890-1 device authentication) and reads the
    /// identity application's data groups and EF.SOD under secure messaging.
    pub fn read_identity_files(
        &mut self,
        issuer: &dyn IssuerAuthority,
    ) -> Result<(IdentityFiles, IssuerMode, Duration), SessionError> {
        let serial = self.card_serial()?;
        self.select_aid(self.profile.identity.aid, Selected::Identity)?;
        let (mut sm, report) =
            device_auth::authenticate_with_report(&mut self.channel, issuer, &serial)
                .map_err(SessionError::Authentication)?;
        let groups: &[DataGroupSpec] = self.profile.data_groups;
        let mut data_groups = Vec::with_capacity(groups.len());
        for group in groups {
            let content = self.read_sfi_secure(&mut sm, group.sfi)?;
            data_groups.push((group.number, content));
        }
        let sod_sfi = self
            .profile
            .identity
            .file_for(profile::FileContent::Sod)
            .and_then(|f| f.sfi)
            .ok_or(SessionError::NotInProfile("EF.SOD"))?;
        let sod = self.read_sfi_secure(&mut sm, sod_sfi)?;
        Ok((
            IdentityFiles { data_groups, sod },
            sm.issuer_mode(),
            report.issuer_time,
        ))
    }

    /// Reads a whole EF by short EF identifier under secure messaging: one READ BINARY when
    /// extended length is available and the file fits, else chunks at increasing offsets.
    fn read_sfi_secure(
        &mut self,
        sm: &mut SecureChannel,
        sfi: u8,
    ) -> Result<Vec<u8>, SessionError> {
        let extended = self.channel.capabilities().extended_length;
        // Short APDUs under SM: the wrapped response carries DO 87 (padding to 16), DO 99 and DO 8E,
        // so ask for less than 256 bytes of plain data per READ BINARY.
        let chunk = if extended { 65_536 } else { 0xDF };
        let mut out = Vec::new();
        loop {
            let offset = out.len();
            let command = if offset == 0 {
                Command::new(0x00, INS_READ_BINARY, 0x80 | sfi, 0x00).with_le(chunk)
            } else {
                let p = u16::try_from(offset)
                    .ok()
                    .filter(|o| *o <= 0x7FFF)
                    .ok_or_else(|| SessionError::CardDefect("an EF beyond 32 767 bytes".into()))?;
                let [p1, p2] = p.to_be_bytes();
                Command::new(0x00, INS_READ_BINARY, p1, p2).with_le(chunk)
            };
            let r = sm.transmit(&mut self.channel, &command)?;
            match r.sw().value() {
                0x9000 | 0x6282 => {}
                0x6B00 if offset > 0 => return Ok(out),
                _ => {
                    return Err(SessionError::Status {
                        operation: "READ BINARY",
                        sw: r.sw(),
                    });
                }
            }
            let got = r.data().len();
            out.extend_from_slice(r.data());
            if out.len() > MAX_EF_LEN {
                return Err(SessionError::CardDefect("an EF larger than 1 MiB".into()));
            }
            if got < chunk || got == 0 || r.sw().value() == 0x6282 {
                return Ok(out);
            }
        }
    }

    /// Reads the identity and checks it: device authentication through `issuer`, the data
    /// groups under secure messaging, passive authentication against `anchors` at `now`, and
    /// decoding with validation (a card's invalid data is reported as that card's defect).
    pub fn read_identity(
        &mut self,
        issuer: &dyn IssuerAuthority,
        anchors: &TrustAnchors,
        now: SystemTime,
    ) -> Result<IdentityReading, SessionError> {
        let (files, issuer_mode, issuer_time) = self.read_identity_files(issuer)?;
        let started = Instant::now();
        let groups: Vec<(u8, &[u8])> = files
            .data_groups
            .iter()
            .map(|(n, c)| (*n, c.as_slice()))
            .collect();
        let pa = pki::sod::passive_authentication(&files.sod, &groups, anchors, now);
        let mut decoded = DataGroups::new();
        for (number, content) in &files.data_groups {
            decoded.insert(*number, content.clone());
        }
        let identity = Identity::decode(self.profile.id, &decoded);
        let host_crypto_time = started.elapsed();
        Ok(IdentityReading {
            passive_authentication: PaVerdict {
                valid: pa.valid,
                reason: pa.reason.clone(),
            },
            identity,
            files,
            issuer_mode,
            simulated_trust: anchors.is_simulated(),
            issuer_time,
            host_crypto_time,
        })
    }

    fn pin_spec(&self, kind: PinKind) -> Result<&'static PinSpec, SessionError> {
        self.profile
            .pin(kind)
            .ok_or(SessionError::NotInProfile("such PIN"))
    }

    /// Maps a PIN command's answer: `9000` ok, `63Cx` wrong with x tries left, `6983` blocked.
    fn pin_outcome(
        kind: PinKind,
        operation: &'static str,
        r: &Response,
    ) -> Result<(), SessionError> {
        let sw = r.sw();
        match (sw.sw1(), sw.sw2()) {
            (0x90, 0x00) => Ok(()),
            (0x63, x) if x & 0xF0 == 0xC0 => Err(SessionError::WrongPin {
                kind,
                tries_left: x & 0x0F,
            }),
            (0x69, 0x83) | (0x69, 0x84) => Err(SessionError::PinBlocked { kind }),
            _ => Err(SessionError::Status { operation, sw }),
        }
    }

    /// The PIN's state without spending a try: VERIFY with no data.
    pub fn pin_status(&mut self, kind: PinKind) -> Result<PinStatus, SessionError> {
        let spec = self.pin_spec(kind)?;
        let r = self
            .channel
            .transmit(&Command::new(0x00, INS_VERIFY, 0x00, spec.reference))?;
        match Self::pin_outcome(kind, "VERIFY", &r) {
            Ok(()) => Ok(PinStatus::Verified),
            Err(SessionError::WrongPin { tries_left, .. }) => {
                Ok(PinStatus::TriesLeft { tries_left })
            }
            Err(SessionError::PinBlocked { .. }) => Ok(PinStatus::Blocked),
            Err(e) => Err(e),
        }
    }

    /// Verifies a PIN: one VERIFY, never retried.
    pub fn verify_pin(&mut self, kind: PinKind, pin: &Pin) -> Result<(), SessionError> {
        let spec = self.pin_spec(kind)?;
        let block = pin.formatted(spec)?;
        let command =
            Command::new(0x00, INS_VERIFY, 0x00, spec.reference).with_data(block.to_vec());
        let r = self.channel.transmit(&command)?;
        Self::pin_outcome(kind, "VERIFY", &r)
    }

    /// Changes a PIN: CHANGE REFERENCE DATA with the old and the new value.
    pub fn change_pin(&mut self, kind: PinKind, old: &Pin, new: &Pin) -> Result<(), SessionError> {
        let spec = self.pin_spec(kind)?;
        let mut data = Zeroizing::new(old.formatted(spec)?.to_vec());
        data.extend_from_slice(&new.formatted(spec)?);
        let command = Command::new(0x00, INS_CHANGE_REFERENCE_DATA, 0x00, spec.reference)
            .with_data(data.to_vec());
        let r = self.channel.transmit(&command)?;
        Self::pin_outcome(kind, "CHANGE REFERENCE DATA", &r)
    }

    /// Unblocks a PIN with the PUK and sets its new value: RESET RETRY COUNTER (P1 `00`: PUK ‖
    /// new PIN). A wrong PUK reports the PUK's tries left.
    pub fn unblock_pin(&mut self, kind: PinKind, puk: &Pin, new: &Pin) -> Result<(), SessionError> {
        let spec = self.pin_spec(kind)?;
        let puk_spec = self.pin_spec(PinKind::Puk)?;
        let mut data = Zeroizing::new(puk.formatted(puk_spec)?.to_vec());
        data.extend_from_slice(&new.formatted(spec)?);
        let command = Command::new(0x00, INS_RESET_RETRY_COUNTER, 0x00, spec.reference)
            .with_data(data.to_vec());
        let r = self.channel.transmit(&command)?;
        Self::pin_outcome(PinKind::Puk, "RESET RETRY COUNTER", &r)
    }

    fn read_pki_file(&mut self, fid: u16) -> Result<Vec<u8>, SessionError> {
        self.select_aid(self.profile.pki.aid, Selected::Pki)?;
        let path = Path::parse(&fid.to_be_bytes())
            .map_err(|_| SessionError::NotInProfile("valid certificate FID"))?;
        let data = self.channel.read_file(&path)?;
        Ok(data)
    }

    /// The certificate of the key with this role, read once per session.
    pub fn certificate(&mut self, role: KeyRole) -> Result<Vec<u8>, SessionError> {
        if let Some((_, der)) = self.certificates.iter().find(|(r, _)| *r == role) {
            return Ok(der.clone());
        }
        let key = self
            .profile
            .key(role)
            .ok_or(SessionError::NotInProfile("such key"))?;
        let der = self.read_pki_file(key.certificate_fid)?;
        self.certificates.push((role, der.clone()));
        Ok(der)
    }

    /// The CA certificates the card carries (the intermediate), read once per session.
    pub fn ca_certificates(&mut self) -> Result<Vec<Vec<u8>>, SessionError> {
        if let Some(ca) = &self.ca_certificates {
            return Ok(ca.clone());
        }
        let ca = match self.read_pki_file(profile::pkcs15::CERT_CA_FID) {
            Ok(der) => vec![der],
            Err(SessionError::Channel(ChannelError::Status { .. })) => Vec::new(),
            Err(e) => return Err(e),
        };
        self.ca_certificates = Some(ca.clone());
        Ok(ca)
    }

    /// Reads both certificates without a PIN and validates each for its purpose.
    pub fn certificates(
        &mut self,
        anchors: &TrustAnchors,
        now: SystemTime,
    ) -> Result<Vec<CardCertificate>, SessionError> {
        let ca = self.ca_certificates()?;
        let intermediates: Vec<&[u8]> = ca.iter().map(Vec::as_slice).collect();
        let mut out = Vec::new();
        for key in self.profile.keys {
            let der = self.certificate(key.role)?;
            let purpose = purpose_of(key.role);
            let validation = pki::validate(&der, &intermediates, anchors, purpose, now);
            out.push(CardCertificate {
                role: key.role,
                der,
                validation,
            });
        }
        Ok(out)
    }

    fn algorithm_for(
        &self,
        cert: &[u8],
    ) -> Result<(&'static AlgorithmSpec, pki::PublicKey), SessionError> {
        let info = pki::CertificateInfo::parse(cert).map_err(SessionError::Certificate)?;
        let key = info.public_key().map_err(SessionError::BadSignature)?;
        let algorithm = match &key {
            pki::PublicKey::Rsa(_) => KeyAlgorithm::Rsa2048,
            _ => KeyAlgorithm::EcP256,
        };
        let spec = self
            .profile
            .algorithm(algorithm)
            .ok_or(SessionError::NotInProfile("algorithm for this key"))?;
        Ok((spec, key))
    }

    fn mse_set(
        &mut self,
        template: [u8; 2],
        key_reference: u8,
        algorithm: u8,
    ) -> Result<(), SessionError> {
        let data = vec![
            profile::CRT_ALGORITHM_TAG,
            0x01,
            algorithm,
            profile::CRT_PRIVATE_KEY_TAG,
            0x01,
            key_reference,
        ];
        let [p1, p2] = template;
        let r = self
            .channel
            .transmit(&Command::new(0x00, INS_MSE, p1, p2).with_data(data))?;
        if r.is_success() {
            Ok(())
        } else {
            Err(SessionError::Status {
                operation: "MSE SET",
                sw: r.sw(),
            })
        }
    }

    /// Signs a SHA-256 or SHA-384 hash with the key of `role`: MSE SET, then PSO: COMPUTE
    /// DIGITAL SIGNATURE (signing key) or INTERNAL AUTHENTICATE (authentication key). The PIN
    /// guarding the key must have been verified in this session. The signature is verified
    /// against the key's certificate before it is returned.
    pub fn sign_hash(&mut self, role: KeyRole, hash: &[u8]) -> Result<CardSignature, SessionError> {
        let hash_alg = match hash.len() {
            32 => HashAlgorithm::Sha256,
            48 => HashAlgorithm::Sha384,
            n => return Err(SessionError::BadHashLength(n)),
        };
        let cert = self.certificate(role)?;
        let (algorithm, public_key) = self.algorithm_for(&cert)?;
        let key = self
            .profile
            .key(role)
            .ok_or(SessionError::NotInProfile("such key"))?;
        self.select_aid(self.profile.pki.aid, Selected::Pki)?;
        let (template, ins, p1p2, operation) = match role {
            KeyRole::Signing => (
                profile::MSE_SET_DST,
                INS_PSO,
                PSO_CDS,
                "PSO: COMPUTE DIGITAL SIGNATURE",
            ),
            _ => (
                profile::MSE_SET_AT,
                INS_INTERNAL_AUTHENTICATE,
                [0x00, 0x00],
                "INTERNAL AUTHENTICATE",
            ),
        };
        self.mse_set(template, key.reference, algorithm.reference)?;
        let input = match algorithm.input {
            SignatureInput::BareHash => hash.to_vec(),
            SignatureInput::DigestInfo => digest_info(hash_alg, hash),
        };
        let [p1, p2] = p1p2;
        let r = self.channel.transmit(
            &Command::new(0x00, ins, p1, p2)
                .with_data(input)
                .with_le(256),
        )?;
        let sw = r.sw();
        if sw.value() == 0x6982 {
            let kind = match role {
                KeyRole::Signing => PinKind::SignPin,
                _ => PinKind::IdPin,
            };
            return Err(SessionError::PinRequired { kind });
        }
        if !r.is_success() {
            return Err(SessionError::Status { operation, sw });
        }
        let signature = r.into_data();
        let scheme = public_key.scheme(hash_alg);
        public_key
            .verify_prehash(hash_alg, hash, &signature)
            .map_err(SessionError::BadSignature)?;
        Ok(CardSignature {
            signature,
            scheme,
            certificate: cert,
        })
    }

    /// INTERNAL AUTHENTICATE over a hash of a challenge with the authentication key (ID PIN
    /// verified first), verified against the authentication certificate.
    pub fn internal_authenticate(&mut self, hash: &[u8]) -> Result<CardSignature, SessionError> {
        self.sign_hash(KeyRole::Authentication, hash)
    }
}

/// The purpose a key's certificate is validated for.
pub fn purpose_of(role: KeyRole) -> Purpose {
    match role {
        KeyRole::Signing => Purpose::NonRepudiation,
        _ => Purpose::Authentication,
    }
}

/// The DER DigestInfo of a hash (RFC 8017, 9.2, note 1).
pub fn digest_info(alg: HashAlgorithm, hash: &[u8]) -> Vec<u8> {
    let prefix: &[u8] = match alg {
        HashAlgorithm::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        _ => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
    };
    let mut out = prefix.to_vec();
    out.extend_from_slice(hash);
    out
}

/// The serial as text: ASCII when printable, hexadecimal otherwise.
pub fn printable_serial(serial: &[u8]) -> String {
    if serial.iter().all(|b| b.is_ascii_graphic()) {
        String::from_utf8_lossy(serial).into_owned()
    } else {
        hex::encode_upper(serial)
    }
}
