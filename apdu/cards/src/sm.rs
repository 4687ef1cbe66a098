//! ISO/IEC 7816-4:2020 clause 10 secure messaging with AES-128, as EN 14890-1 (clause 8, secure
//! messaging after device authentication) and ICAO 9303-11 (clause 9.8) profile it.
//!
//! # Command (ISO/IEC 7816-4, 10.2 and 10.4)
//!
//! - CLA: bits b4 b3 set (`CLA | 0C`: "command header authenticated"), other bits kept.
//! - Command data: DO `87` = padding indicator `01` ‖ AES-128-CBC(KS.enc, IV, pad(data)) for an
//!   even INS; DO `85` (no padding indicator) for an odd INS, whose data is BER-TLV.
//!   `pad` is ISO/IEC 9797-1 padding method 2 (`80 00 …` to a multiple of 16 bytes, always added).
//!   IV = AES-128(KS.enc, SSC) (ICAO 9303-11, 9.8.6.1).
//! - Le: DO `97`, one byte (`00` = 256) when Ne ≤ 256, two bytes (`0000` = 65 536) otherwise.
//! - MAC: DO `8E` = the 8 leftmost bytes of AES-CMAC(KS.mac, SSC ‖ pad(CLA INS P1 P2) ‖
//!   pad(DO `87`/`85` ‖ DO `97`)) (the second padded part only when one of those objects is
//!   there), SSC incremented first.
//! - Protected Le: `00` (short) or `0000` (extended) when the protected answer may be longer
//!   than 256 bytes.
//!
//! # Response (ISO/IEC 7816-4, 10.2)
//!
//! DO `87` (encrypted response data, when there is data), DO `99` (the status word, always),
//! DO `8E` (8-byte CMAC over SSC ‖ pad(DO `87` ‖ DO `99`), SSC incremented first), then SW1 SW2
//! in the clear, which must equal DO `99`.
//!
//! # Send sequence counter
//!
//! A 128-bit big-endian counter, started at the value device authentication derived
//! ([`crate::device_auth`]), incremented once before each command and once before each
//! response, on both sides.
//!
//! # Failure
//!
//! Any error in unwrapping (on either side) closes the session, as ISO/IEC 7816-4 10.2 has the
//! card do: the counters are no longer in step, so nothing more is exchanged under these keys.
//! A response whose MAC does not verify is an error; its data is never returned.
//!
//! The protected command travels through [`Channel`] like any other, so command chaining,
//! extended length, `61XX` and `6CXX` apply to the protected APDU, as ISO/IEC 7816-4 10.1 says.

use std::fmt;

use aes::Aes128;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncrypt, BlockEncryptMut, KeyInit, KeyIvInit};
use cmac::{Cmac, Mac};
use shenas_apdu::{
    Channel, ChannelError, Command, EXTENDED_MAX_DATA, EXTENDED_MAX_LE, Response, SHORT_MAX_LE,
    StatusWord, TlvRef, Transport,
};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::issuer::IssuerMode;

/// AES block size.
pub const BLOCK_LEN: usize = 16;
/// Length of the truncated MAC in DO `8E`.
pub const MAC_LEN: usize = 8;
/// CLA bits b4 b3: secure messaging with the command header authenticated (ISO/IEC 7816-4, 5.4.1).
pub const CLA_SM: u8 = 0x0C;

const TAG_ENC_ODD: u8 = 0x85;
const TAG_ENC_EVEN: u8 = 0x87;
const TAG_LE: u8 = 0x97;
const TAG_STATUS: u8 = 0x99;
const TAG_MAC: u8 = 0x8E;
const PADDING_INDICATOR: u8 = 0x01;

/// `6987`: expected secure messaging data objects missing (ISO/IEC 7816-4, 5.6).
pub const SW_SM_MISSING: StatusWord = StatusWord::new(0x6987);
/// `6988`: incorrect secure messaging data objects (bad MAC, bad cryptogram).
pub const SW_SM_INCORRECT: StatusWord = StatusWord::new(0x6988);

/// The keys and starting counter of one secure messaging session (EN 14890-1, session keys
/// KS.enc and KS.mac, and the SSC).
///
/// Zeroized on drop; `Debug` shows nothing of them.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SessionKeys {
    ks_enc: [u8; 16],
    ks_mac: [u8; 16],
    ssc: [u8; 16],
}

impl SessionKeys {
    /// Session keys from their parts.
    pub const fn new(ks_enc: [u8; 16], ks_mac: [u8; 16], ssc: [u8; 16]) -> Self {
        Self {
            ks_enc,
            ks_mac,
            ssc,
        }
    }

    /// KS.enc, the encryption key (secret: never log it).
    pub const fn ks_enc(&self) -> &[u8; 16] {
        &self.ks_enc
    }

    /// KS.mac, the MAC key (secret: never log it).
    pub const fn ks_mac(&self) -> &[u8; 16] {
        &self.ks_mac
    }

    /// The send sequence counter's starting value.
    pub const fn ssc(&self) -> &[u8; 16] {
        &self.ssc
    }
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKeys { .. }")
    }
}

impl PartialEq for SessionKeys {
    /// Compares without early exit, so the time taken tells nothing about the keys.
    fn eq(&self, other: &Self) -> bool {
        let diff = self
            .ks_enc
            .iter()
            .chain(&self.ks_mac)
            .chain(&self.ssc)
            .zip(other.ks_enc.iter().chain(&other.ks_mac).chain(&other.ssc))
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        diff == 0
    }
}
impl Eq for SessionKeys {}

/// What can go wrong protecting a command or checking a response (host side).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmError {
    /// The session was closed by an earlier failure; authenticate again.
    #[error("the secure messaging session is closed; authenticate again")]
    SessionClosed,
    /// The command's class byte cannot carry secure messaging, or it is already protected.
    #[error("class byte {cla:02X} cannot be protected")]
    UnsupportedClass {
        /// The class byte.
        cla: u8,
    },
    /// The protected command would exceed 65 535 bytes of data.
    #[error("the protected command would be too long")]
    TooLong,
    /// The card answered without secure messaging (often `6987`/`6988`: it rejected ours).
    #[error("the card answered {sw} without secure messaging")]
    Unprotected {
        /// What the card answered.
        sw: StatusWord,
    },
    /// A data object required in a protected response is missing.
    #[error("protected response lacks data object {tag:02X}")]
    MissingObject {
        /// The tag that is missing (`99` or `8E`).
        tag: u8,
    },
    /// The protected response is malformed (unknown or repeated objects, bad padding, …).
    #[error("malformed protected response: {reason}")]
    Malformed {
        /// What was wrong.
        reason: &'static str,
    },
    /// The response's MAC does not verify: its data was not accepted.
    #[error("the response MAC does not verify")]
    BadMac,
    /// The status word in the clear differs from the authenticated one in DO `99`.
    #[error("status word {outer} differs from the authenticated {inner}")]
    StatusMismatch {
        /// The status word in the clear.
        outer: StatusWord,
        /// The status word in DO `99`.
        inner: StatusWord,
    },
    /// The channel failed while sending the protected command.
    #[error("sending the protected command failed")]
    Channel(#[source] ChannelError),
}

/// One side's session state: keys, counter, open or closed.
#[derive(Clone)]
struct SmState {
    keys: SessionKeys,
    ssc: u128,
    closed: bool,
}

impl SmState {
    fn new(keys: SessionKeys) -> Self {
        let ssc = u128::from_be_bytes(*keys.ssc());
        Self {
            keys,
            ssc,
            closed: false,
        }
    }

    fn next_ssc(&mut self) -> [u8; 16] {
        self.ssc = self.ssc.wrapping_add(1);
        self.ssc.to_be_bytes()
    }

    fn iv(&self, ssc: &[u8; 16]) -> [u8; 16] {
        aes_block(self.keys.ks_enc(), ssc)
    }

    fn mac(&self, ssc: &[u8; 16], header: Option<&[u8; 4]>, objects: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = cmac_new(self.keys.ks_mac());
        mac.update(ssc);
        if let Some(header) = header {
            mac.update(&pad(header));
        }
        if !objects.is_empty() {
            mac.update(&pad(objects));
        }
        let full = mac.finalize().into_bytes();
        let mut out = [0; MAC_LEN];
        out.copy_from_slice(full.get(..MAC_LEN).unwrap_or(&[0; MAC_LEN]));
        out
    }

    fn verify_mac(
        &self,
        ssc: &[u8; 16],
        header: Option<&[u8; 4]>,
        objects: &[u8],
        tag: &[u8],
    ) -> bool {
        if tag.len() != MAC_LEN {
            return false;
        }
        let mut mac = cmac_new(self.keys.ks_mac());
        mac.update(ssc);
        if let Some(header) = header {
            mac.update(&pad(header));
        }
        if !objects.is_empty() {
            mac.update(&pad(objects));
        }
        // Constant-time comparison of the leftmost bytes.
        mac.verify_truncated_left(tag).is_ok()
    }

    fn encrypt(&self, ssc: &[u8; 16], plain: &[u8]) -> Vec<u8> {
        let iv = self.iv(ssc);
        cbc_encrypt(self.keys.ks_enc(), &iv, &pad(plain))
    }

    fn decrypt(&self, ssc: &[u8; 16], cryptogram: &[u8]) -> Option<Vec<u8>> {
        let iv = self.iv(ssc);
        let plain = cbc_decrypt(self.keys.ks_enc(), &iv, cryptogram)?;
        unpad(plain)
    }
}

/// The host side of a secure messaging session: protects commands and checks responses.
///
/// Made by [`crate::device_auth::authenticate`] (or from session keys an issuer returned).
/// `Debug` shows the issuer mode and whether the session is open, never keys or counters.
pub struct SecureChannel {
    state: SmState,
    mode: IssuerMode,
}

impl SecureChannel {
    /// A session from its keys, saying how they were obtained.
    pub fn new(keys: SessionKeys, mode: IssuerMode) -> Self {
        Self {
            state: SmState::new(keys),
            mode,
        }
    }

    /// How the session keys were obtained: from the issuer alone
    /// ([`IssuerMode::SessionKeysOnly`]) or with the card's static keys on this host
    /// ([`IssuerMode::CardKeysOnHost`]).
    pub const fn issuer_mode(&self) -> IssuerMode {
        self.mode
    }

    /// False once a failure closed the session.
    pub const fn is_open(&self) -> bool {
        !self.state.closed
    }

    /// Protects a command (ISO/IEC 7816-4, 10.2): DO `87`/`85`, DO `97`, DO `8E`.
    /// Increments the send sequence counter.
    pub fn wrap(&mut self, command: &Command) -> Result<Command, SmError> {
        if self.state.closed {
            return Err(SmError::SessionClosed);
        }
        let cla = command.cla();
        // Only the first interindustry class layout (and proprietary classes that follow it)
        // carries the SM bits b4 b3; a command must not be protected twice.
        if cla & 0x40 != 0 || cla & CLA_SM != 0 || cla == 0xFF {
            return Err(SmError::UnsupportedClass { cla });
        }
        let header = [cla | CLA_SM, command.ins(), command.p1(), command.p2()];
        let ssc = self.state.next_ssc();
        let mut objects = Vec::with_capacity(command.data().len() + 40);
        if !command.data().is_empty() {
            let cryptogram = self.state.encrypt(&ssc, command.data());
            if command.ins() & 1 == 1 {
                push_object(&mut objects, TAG_ENC_ODD, &[], &cryptogram);
            } else {
                push_object(
                    &mut objects,
                    TAG_ENC_EVEN,
                    &[PADDING_INDICATOR],
                    &cryptogram,
                );
            }
        }
        if let Some(ne) = command.le() {
            push_object(&mut objects, TAG_LE, &[], &encode_le(ne));
        }
        let mac = self.state.mac(&ssc, Some(&header), &objects);
        push_object(&mut objects, TAG_MAC, &[], &mac);
        if objects.len() > EXTENDED_MAX_DATA {
            self.state.closed = true;
            return Err(SmError::TooLong);
        }
        let ne = protected_ne(command.le());
        Ok(Command::new(header[0], header[1], header[2], header[3])
            .with_data(objects)
            .with_le(ne))
    }

    /// Checks a protected response (ISO/IEC 7816-4, 10.2): verifies DO `8E`, decrypts DO `87`,
    /// returns the response with the status word of DO `99`. Increments the counter.
    ///
    /// Any failure closes the session.
    pub fn unwrap(&mut self, response: &Response) -> Result<Response, SmError> {
        if self.state.closed {
            return Err(SmError::SessionClosed);
        }
        let result = self.unwrap_inner(response);
        if result.is_err() {
            self.state.closed = true;
        }
        result
    }

    fn unwrap_inner(&mut self, response: &Response) -> Result<Response, SmError> {
        let ssc = self.state.next_ssc();
        if response.data().is_empty() {
            return Err(SmError::Unprotected { sw: response.sw() });
        }
        let objects =
            split_objects(response.data()).map_err(|reason| SmError::Malformed { reason })?;
        let mut cryptogram = None;
        let mut status = None;
        let mut mac = None;
        for object in &objects {
            let slot = match object.tag {
                TAG_ENC_EVEN => &mut cryptogram,
                TAG_STATUS => &mut status,
                TAG_MAC => &mut mac,
                _ => {
                    return Err(SmError::Malformed {
                        reason: "unexpected data object",
                    });
                }
            };
            if slot.replace(object).is_some() {
                return Err(SmError::Malformed {
                    reason: "repeated data object",
                });
            }
        }
        let mac = mac.ok_or(SmError::MissingObject { tag: TAG_MAC })?;
        // DO 8E comes last and covers everything before it.
        if mac.end != response.data().len() {
            return Err(SmError::Malformed {
                reason: "data after the MAC object",
            });
        }
        let covered = response.data().get(..mac.start).ok_or(SmError::Malformed {
            reason: "MAC object position",
        })?;
        if !self.state.verify_mac(&ssc, None, covered, mac.value) {
            return Err(SmError::BadMac);
        }
        // From here on the objects are authentic.
        let status = status.ok_or(SmError::MissingObject { tag: TAG_STATUS })?;
        let inner = match status.value {
            [sw1, sw2] => StatusWord::from_bytes(*sw1, *sw2),
            _ => {
                return Err(SmError::Malformed {
                    reason: "status object is not two bytes",
                });
            }
        };
        if inner != response.sw() {
            return Err(SmError::StatusMismatch {
                outer: response.sw(),
                inner,
            });
        }
        let data = match cryptogram {
            None => Vec::new(),
            Some(object) => {
                let [PADDING_INDICATOR, body @ ..] = object.value else {
                    return Err(SmError::Malformed {
                        reason: "unknown padding indicator",
                    });
                };
                self.state.decrypt(&ssc, body).ok_or(SmError::Malformed {
                    reason: "bad cryptogram padding",
                })?
            }
        };
        Ok(Response::new(data, inner))
    }

    /// Protects `command`, sends it through `channel` (chaining, `61XX`, `6CXX` apply to the
    /// protected APDU) and checks the answer. A channel failure closes the session.
    pub fn transmit<T: Transport>(
        &mut self,
        channel: &mut Channel<T>,
        command: &Command,
    ) -> Result<Response, SmError> {
        let wrapped = self.wrap(command)?;
        let response = match channel.transmit(&wrapped) {
            Ok(response) => response,
            Err(e) => {
                self.state.closed = true;
                return Err(SmError::Channel(e));
            }
        };
        self.unwrap(&response)
    }
}

impl fmt::Debug for SecureChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecureChannel")
            .field("issuer_mode", &self.mode)
            .field("open", &!self.state.closed)
            .finish_non_exhaustive()
    }
}

/// The card side of a secure messaging session: checks protected commands and protects
/// responses (ISO/IEC 7816-4, 10.2). Made by device authentication on the card.
///
/// Any failure closes the session; the card then answers protected commands with `6988`
/// until a new device authentication.
pub struct CardSm {
    state: SmState,
}

impl CardSm {
    /// A session from its keys.
    pub fn new(keys: SessionKeys) -> Self {
        Self {
            state: SmState::new(keys),
        }
    }

    /// True when the command's class byte says secure messaging (bits b4 b3 set, first
    /// interindustry class layout).
    pub fn is_protected(command: &Command) -> bool {
        let cla = command.cla();
        cla & 0x40 == 0 && cla & CLA_SM == CLA_SM && cla != 0xFF
    }

    /// False once a failure closed the session.
    pub const fn is_open(&self) -> bool {
        !self.state.closed
    }

    /// Checks and decrypts a protected command: `6987` when its objects are missing, `6988`
    /// when they are wrong (bad MAC, bad cryptogram) or the session is closed. The command
    /// returned has the SM bits of CLA cleared.
    pub fn unwrap_command(&mut self, command: &Command) -> Result<Command, StatusWord> {
        if self.state.closed {
            return Err(SW_SM_INCORRECT);
        }
        let result = self.unwrap_command_inner(command);
        if result.is_err() {
            self.state.closed = true;
        }
        result
    }

    fn unwrap_command_inner(&mut self, command: &Command) -> Result<Command, StatusWord> {
        if !Self::is_protected(command) {
            return Err(SW_SM_MISSING);
        }
        let ssc = self.state.next_ssc();
        let objects = split_objects(command.data()).map_err(|_| SW_SM_INCORRECT)?;
        let mut cryptogram = None;
        let mut le = None;
        let mut mac = None;
        for object in &objects {
            let slot = match object.tag {
                TAG_ENC_EVEN | TAG_ENC_ODD => &mut cryptogram,
                TAG_LE => &mut le,
                TAG_MAC => &mut mac,
                _ => return Err(SW_SM_INCORRECT),
            };
            if slot.replace(object).is_some() {
                return Err(SW_SM_INCORRECT);
            }
        }
        let mac = mac.ok_or(SW_SM_MISSING)?;
        if mac.end != command.data().len() {
            return Err(SW_SM_INCORRECT);
        }
        let covered = command.data().get(..mac.start).ok_or(SW_SM_INCORRECT)?;
        let header = [command.cla(), command.ins(), command.p1(), command.p2()];
        if !self
            .state
            .verify_mac(&ssc, Some(&header), covered, mac.value)
        {
            return Err(SW_SM_INCORRECT);
        }
        let data = match cryptogram {
            None => Vec::new(),
            Some(object) => {
                let body = match (object.tag, object.value) {
                    (TAG_ENC_EVEN, [PADDING_INDICATOR, body @ ..]) if command.ins() & 1 == 0 => {
                        body
                    }
                    (TAG_ENC_ODD, body) if command.ins() & 1 == 1 => body,
                    _ => return Err(SW_SM_INCORRECT),
                };
                let data = self.state.decrypt(&ssc, body).ok_or(SW_SM_INCORRECT)?;
                if data.is_empty() {
                    return Err(SW_SM_INCORRECT);
                }
                data
            }
        };
        let mut plain = Command::new(
            command.cla() & !CLA_SM,
            command.ins(),
            command.p1(),
            command.p2(),
        )
        .with_data(data);
        if let Some(le) = le {
            plain = plain.with_le(decode_le(le.value).ok_or(SW_SM_INCORRECT)?);
        }
        Ok(plain)
    }

    /// Protects a response: DO `87` (when there is data), DO `99`, DO `8E`, then SW1 SW2.
    /// Increments the counter. Returns the whole response APDU.
    ///
    /// Answer a failed [`CardSm::unwrap_command`] with its status word in the clear instead.
    pub fn wrap_response(&mut self, data: &[u8], sw: StatusWord) -> Vec<u8> {
        let ssc = self.state.next_ssc();
        let mut out = Vec::with_capacity(data.len() + 48);
        if !data.is_empty() {
            let cryptogram = self.state.encrypt(&ssc, data);
            push_object(&mut out, TAG_ENC_EVEN, &[PADDING_INDICATOR], &cryptogram);
        }
        push_object(&mut out, TAG_STATUS, &[], &sw.to_bytes());
        let mac = self.state.mac(&ssc, None, &out);
        push_object(&mut out, TAG_MAC, &[], &mac);
        out.extend_from_slice(&sw.to_bytes());
        out
    }
}

impl fmt::Debug for CardSm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardSm")
            .field("open", &!self.state.closed)
            .finish_non_exhaustive()
    }
}

/// One data object of a protected APDU, with its position.
struct Object<'a> {
    tag: u8,
    value: &'a [u8],
    start: usize,
    end: usize,
}

/// Splits the data field into one-byte-tag BER-TLV objects (all SM tags are one byte).
fn split_objects(bytes: &[u8]) -> Result<Vec<Object<'_>>, &'static str> {
    let mut objects = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let start = bytes.len() - rest.len();
        let (object, after) = TlvRef::parse_one(rest).map_err(|_| "malformed data object")?;
        let tag = u8::try_from(object.tag().to_u32()).map_err(|_| "multi-byte tag")?;
        rest = after;
        objects.push(Object {
            tag,
            value: object.value(),
            start,
            end: bytes.len() - rest.len(),
        });
    }
    Ok(objects)
}

/// Appends a primitive BER-TLV object `tag`, length, `prefix ‖ value`.
fn push_object(out: &mut Vec<u8>, tag: u8, prefix: &[u8], value: &[u8]) {
    let len = prefix.len() + value.len();
    out.push(tag);
    // Definite length, shortest form (ISO/IEC 7816-4, 6.3); SM objects stay below 2^24.
    let len_bytes = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
    match len {
        0..=0x7F => out.extend_from_slice(len_bytes.get(3..).unwrap_or_default()),
        0x80..=0xFF => {
            out.push(0x81);
            out.extend_from_slice(len_bytes.get(3..).unwrap_or_default());
        }
        0x100..=0xFFFF => {
            out.push(0x82);
            out.extend_from_slice(len_bytes.get(2..).unwrap_or_default());
        }
        _ => {
            out.push(0x83);
            out.extend_from_slice(len_bytes.get(1..).unwrap_or_default());
        }
    }
    out.extend_from_slice(prefix);
    out.extend_from_slice(value);
}

/// Le as DO `97` carries it: one byte up to 256, two beyond.
fn encode_le(ne: usize) -> Vec<u8> {
    if ne <= SHORT_MAX_LE {
        vec![u8::try_from(ne % SHORT_MAX_LE).unwrap_or(0)]
    } else {
        u16::try_from(ne % EXTENDED_MAX_LE)
            .unwrap_or(0)
            .to_be_bytes()
            .to_vec()
    }
}

fn decode_le(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [0] => Some(SHORT_MAX_LE),
        [le] => Some(usize::from(*le)),
        [0, 0] => Some(EXTENDED_MAX_LE),
        [hi, lo] => Some(usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}

/// Ne of the protected command: 256 when the protected answer fits a short response,
/// 65 536 otherwise (the channel lowers it when extended length is not used, and the card
/// answers `61XX`).
fn protected_ne(ne: Option<usize>) -> usize {
    // DO 99 (4) + DO 8E (10) + DO 87 header (up to 4) + indicator + padded data.
    let data = ne.map_or(0, |ne| (ne / BLOCK_LEN + 1) * BLOCK_LEN + 5);
    if data + 14 <= SHORT_MAX_LE {
        SHORT_MAX_LE
    } else {
        EXTENDED_MAX_LE
    }
}

/// ISO/IEC 9797-1 padding method 2 to a multiple of the AES block.
pub(crate) fn pad(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + BLOCK_LEN);
    out.extend_from_slice(data);
    out.push(0x80);
    while !out.len().is_multiple_of(BLOCK_LEN) {
        out.push(0);
    }
    out
}

/// Removes ISO/IEC 9797-1 padding method 2; `None` when it is not there.
fn unpad(mut data: Vec<u8>) -> Option<Vec<u8>> {
    let marker = data.iter().rposition(|b| *b != 0)?;
    if data.get(marker) != Some(&0x80) || data.len() - marker > BLOCK_LEN {
        return None;
    }
    data.truncate(marker);
    Some(data)
}

/// AES-128 of one block.
pub(crate) fn aes_block(key: &[u8; 16], block: &[u8; 16]) -> [u8; 16] {
    let cipher = Aes128::new(key.into());
    let mut b = aes::Block::from(*block);
    cipher.encrypt_block(&mut b);
    b.into()
}

/// AES-128-CBC without padding over whole blocks (the caller padded).
pub(crate) fn cbc_encrypt(key: &[u8; 16], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let mut buf = plain.to_vec();
    let len = buf.len();
    let encryptor = cbc::Encryptor::<Aes128>::new(key.into(), iv.into());
    // The input is a whole number of blocks (padded by the caller), so this cannot fail;
    // on failure nothing is returned rather than plaintext.
    match encryptor.encrypt_padded_mut::<NoPadding>(&mut buf, len) {
        Ok(out) => out.to_vec(),
        Err(_) => Vec::new(),
    }
}

/// AES-128-CBC decryption without padding; `None` unless whole, non-empty blocks.
pub(crate) fn cbc_decrypt(key: &[u8; 16], iv: &[u8; 16], cryptogram: &[u8]) -> Option<Vec<u8>> {
    if cryptogram.is_empty() || !cryptogram.len().is_multiple_of(BLOCK_LEN) {
        return None;
    }
    let mut buf = cryptogram.to_vec();
    let decryptor = cbc::Decryptor::<Aes128>::new(key.into(), iv.into());
    let len = decryptor
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .ok()?
        .len();
    buf.truncate(len);
    Some(buf)
}

/// AES-128-CMAC keyed with `key` (NIST SP 800-38B).
pub(crate) fn cmac_new(key: &[u8; 16]) -> Cmac<Aes128> {
    <Cmac<Aes128> as KeyInit>::new(key.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys() -> SessionKeys {
        SessionKeys::new([0x11; 16], [0x22; 16], [0x33; 16])
    }

    fn pair() -> (SecureChannel, CardSm) {
        (
            SecureChannel::new(keys(), IssuerMode::SessionKeysOnly),
            CardSm::new(keys()),
        )
    }

    #[test]
    fn padding_round_trips_and_rejects() {
        assert_eq!(pad(&[]), [&[0x80][..], &[0; 15]].concat());
        assert_eq!(pad(&[1; 16]).len(), 32);
        assert_eq!(unpad(pad(&[1, 2, 3])), Some(vec![1, 2, 3]));
        assert_eq!(unpad(vec![1, 2, 0, 0]), None);
        assert_eq!(unpad(vec![0; 16]), None);
    }

    #[test]
    fn cmac_matches_nist_sp800_38b_example() {
        // NIST SP 800-38B, D.1, AES-128, example 2 (Mlen = 128).
        let key: [u8; 16] = hex::decode("2b7e151628aed2a6abf7158809cf4f3c")
            .unwrap_or_default()
            .try_into()
            .unwrap_or([0; 16]);
        let msg = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap_or_default();
        let mut mac = cmac_new(&key);
        mac.update(&msg);
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "070a16b46b4d4144f79bdd9dd04a287c"
        );
    }

    #[test]
    fn wraps_the_documented_layout() {
        let (mut host, _) = pair();
        let cmd = Command::new(0x00, 0xB0, 0x00, 0x00).with_le(16);
        let wrapped = host.wrap(&cmd).unwrap_or_else(|_| Command::new(0, 0, 0, 0));
        assert_eq!(wrapped.cla(), 0x0C);
        assert_eq!(wrapped.le(), Some(256));
        // 97 01 10 ‖ 8E 08 <mac>
        assert_eq!(
            wrapped.data().get(..5),
            Some(&[0x97, 0x01, 0x10, 0x8E, 0x08][..])
        );
        assert_eq!(wrapped.data().len(), 13);

        let (mut host, _) = pair();
        let cmd = Command::new(0x00, 0xD6, 0x00, 0x00).with_data([7; 20]);
        let wrapped = host.wrap(&cmd).unwrap_or_else(|_| Command::new(0, 0, 0, 0));
        // 87 21 01 <32 bytes> ‖ 8E 08 <mac>, no Le object, protected Le 256.
        assert_eq!(wrapped.data().get(..3), Some(&[0x87, 0x21, 0x01][..]));
        assert_eq!(wrapped.data().len(), 35 + 10);
        assert_eq!(wrapped.le(), Some(256));
    }

    #[test]
    fn full_exchange_round_trips() -> Result<(), SmError> {
        let (mut host, mut card) = pair();
        let cmd = Command::new(0x00, 0xB0, 0x00, 0x00).with_le(100);
        let wrapped = host.wrap(&cmd)?;
        let unwrapped = card.unwrap_command(&wrapped);
        assert_eq!(unwrapped, Ok(cmd));
        let reply = card.wrap_response(&[0xAB; 100], StatusWord::SUCCESS);
        let response = Response::parse(&reply).map_err(|_| SmError::BadMac)?;
        let plain = host.unwrap(&response)?;
        assert_eq!(plain, Response::new(vec![0xAB; 100], StatusWord::SUCCESS));
        // A second exchange with the counters in step.
        let cmd = Command::new(0x00, 0xA4, 0x04, 0x0C).with_data([1, 2, 3]);
        assert_eq!(card.unwrap_command(&host.wrap(&cmd)?), Ok(cmd));
        let reply = card.wrap_response(&[], StatusWord::FILE_NOT_FOUND);
        let response = Response::parse(&reply).map_err(|_| SmError::BadMac)?;
        assert_eq!(
            host.unwrap(&response)?,
            Response::status(StatusWord::FILE_NOT_FOUND)
        );
        Ok(())
    }

    #[test]
    fn bad_response_mac_is_an_error_and_closes() -> Result<(), SmError> {
        let (mut host, mut card) = pair();
        let wrapped = host.wrap(&Command::new(0x00, 0xB0, 0, 0).with_le(8))?;
        assert!(card.unwrap_command(&wrapped).is_ok());
        let mut reply = card.wrap_response(&[1; 8], StatusWord::SUCCESS);
        let n = reply.len();
        if let Some(b) = reply.get_mut(n - 3) {
            *b ^= 1;
        }
        let response = Response::parse(&reply).map_err(|_| SmError::BadMac)?;
        assert!(matches!(host.unwrap(&response), Err(SmError::BadMac)));
        assert!(!host.is_open());
        assert!(matches!(
            host.wrap(&Command::new(0, 0xB0, 0, 0)),
            Err(SmError::SessionClosed)
        ));
        Ok(())
    }

    #[test]
    fn card_rejects_bad_mac_and_missing_objects() -> Result<(), SmError> {
        let (mut host, mut card) = pair();
        let wrapped = host.wrap(&Command::new(0x00, 0xB0, 0, 0).with_le(8))?;
        let mut data = wrapped.data().to_vec();
        if let Some(b) = data.last_mut() {
            *b ^= 0x80;
        }
        assert_eq!(
            card.unwrap_command(&wrapped.clone().with_data(data)),
            Err(SW_SM_INCORRECT)
        );
        assert!(!card.is_open());
        // A plain command to a fresh session: objects missing.
        let mut card = CardSm::new(keys());
        assert_eq!(
            card.unwrap_command(&Command::new(0x0C, 0xB0, 0, 0)),
            Err(SW_SM_MISSING)
        );
        let mut card = CardSm::new(keys());
        assert_eq!(
            card.unwrap_command(&Command::new(0x00, 0xB0, 0, 0).with_le(4)),
            Err(SW_SM_MISSING)
        );
        Ok(())
    }

    #[test]
    fn unprotected_answers_are_refused() {
        let (mut host, _) = pair();
        assert!(host.wrap(&Command::new(0, 0xB0, 0, 0)).is_ok());
        assert!(matches!(
            host.unwrap(&Response::status(SW_SM_INCORRECT)),
            Err(SmError::Unprotected { sw }) if sw == SW_SM_INCORRECT
        ));
    }

    #[test]
    fn odd_ins_uses_do_85_and_large_le_asks_for_extended() -> Result<(), SmError> {
        let (mut host, mut card) = pair();
        let cmd = Command::new(0x00, 0xB1, 0, 0)
            .with_data([0x54, 0x02, 0x80, 0x00])
            .with_le(4000);
        let wrapped = host.wrap(&cmd)?;
        assert_eq!(wrapped.data().first(), Some(&0x85));
        assert_eq!(wrapped.le(), Some(65536));
        assert_eq!(card.unwrap_command(&wrapped), Ok(cmd));
        Ok(())
    }

    #[test]
    fn refuses_classes_without_sm_bits() {
        let (mut host, _) = pair();
        assert!(matches!(
            host.wrap(&Command::new(0x0C, 0xB0, 0, 0)),
            Err(SmError::UnsupportedClass { cla: 0x0C })
        ));
        assert!(matches!(
            host.wrap(&Command::new(0x40, 0xB0, 0, 0)),
            Err(SmError::UnsupportedClass { cla: 0x40 })
        ));
    }

    #[test]
    fn debug_shows_no_keys() {
        let (host, card) = pair();
        let shown = format!("{:?} {:?} {:?}", keys(), host, card);
        assert!(!shown.contains("11") && !shown.contains("17"), "{shown}");
    }

    fn command() -> impl Strategy<Value = Command> {
        (
            prop_oneof![
                Just(0x00u8),
                Just(0x01),
                Just(0x02),
                Just(0x03),
                Just(0x10),
                Just(0x80)
            ],
            any::<[u8; 3]>(),
            prop_oneof![
                Just(Vec::new()),
                proptest::collection::vec(any::<u8>(), 1..300),
                proptest::collection::vec(any::<u8>(), 3000..5000),
            ],
            proptest::option::of(prop_oneof![1usize..=256, 1usize..=65_536]),
        )
            .prop_map(|(cla, h, data, ne)| {
                let c = Command::new(cla, h[0], h[1], h[2]).with_data(data);
                match ne {
                    Some(ne) => c.with_le(ne),
                    None => c,
                }
            })
    }

    fn fail(e: impl fmt::Display) -> TestCaseError {
        TestCaseError::fail(e.to_string())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn round_trips_any_command_and_answer(
            cmd in command(),
            answer in proptest::collection::vec(any::<u8>(), 0..2000),
            sw in any::<u16>(),
        ) {
            let (mut host, mut card) = pair();
            let wrapped = host.wrap(&cmd).map_err(fail)?;
            // Through the wire encoding and back, as the card would receive it.
            let bytes = wrapped.to_bytes().map_err(fail)?;
            let received = Command::parse(&bytes).map_err(fail)?;
            prop_assert_eq!(card.unwrap_command(&received), Ok(cmd));
            let sw = StatusWord::new(sw);
            let reply = card.wrap_response(&answer, sw);
            let response = Response::parse(&reply).map_err(fail)?;
            prop_assert_eq!(host.unwrap(&response).map_err(fail)?, Response::new(answer, sw));
        }

        #[test]
        fn any_corruption_of_a_command_is_detected(
            cmd in command(),
            position in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let (mut host, mut card) = pair();
            let wrapped = host.wrap(&cmd).map_err(fail)?;
            let mut bytes = wrapped.to_bytes().map_err(fail)?;
            let i = position.index(bytes.len());
            if let Some(b) = bytes.get_mut(i) { *b ^= flip; }
            if let Ok(received) = Command::parse(&bytes) {
                // Only a change of the protected Le (which the MAC does not cover, as in
                // ISO/IEC 7816-4) may pass; everything the card acts on must be authentic.
                match card.unwrap_command(&received) {
                    Ok(plain) => {
                        prop_assert_eq!(plain, cmd);
                        prop_assert_ne!(received.le(), wrapped.le());
                    }
                    Err(sw) => prop_assert!(sw == SW_SM_INCORRECT || sw == SW_SM_MISSING),
                }
            }
        }

        #[test]
        fn any_corruption_of_a_response_is_detected(
            answer in proptest::collection::vec(any::<u8>(), 0..600),
            position in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let (mut host, mut card) = pair();
            let wrapped = host.wrap(&Command::new(0, 0xB0, 0, 0).with_le(256)).map_err(fail)?;
            prop_assert!(card.unwrap_command(&wrapped).is_ok());
            let mut reply = card.wrap_response(&answer, StatusWord::SUCCESS);
            let i = position.index(reply.len());
            if let Some(b) = reply.get_mut(i) { *b ^= flip; }
            let response = Response::parse(&reply).map_err(fail)?;
            prop_assert!(host.unwrap(&response).is_err());
            prop_assert!(!host.is_open());
        }

        #[test]
        fn unwrap_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let (mut host, mut card) = pair();
            if let Ok(response) = Response::parse(&bytes) {
                prop_assert!(host.unwrap(&response).is_err());
            }
            if let Ok(command) = Command::parse(&bytes) {
                let _ = card.unwrap_command(&command);
            }
        }
    }
}
