//! EN 14890-1:2008 (CWA 14890-1) clause 8, device authentication with symmetric keys, with
//! AES-128 and AES-CMAC in place of 3DES and the retail MAC, establishing the ISO/IEC 7816-4
//! secure messaging of [`crate::sm`].
//!
//! The "terminal" (IFD) of EN 14890 is the **issuer**: it holds the card's static keys, so the
//! host only relays cryptograms ([`authenticate`]) and receives this session's keys.
//!
//! # The protocol (EN 14890-1 clause 8, device authentication with symmetric keys)
//!
//! 1. Host → card: GET CHALLENGE `00 84 00 00 08` → RND.ICC (8 bytes).
//! 2. Host → issuer: card serial and RND.ICC ([`crate::issuer::IssuerAuthority::begin`]). The
//!    issuer draws RND.IFD (8 bytes) and K.IFD (32 bytes) and answers the terminal cryptogram
//!    `E.IFD ‖ M.IFD` where
//!    `E.IFD = AES-128-CBC(K.enc, IV = 0, RND.IFD ‖ SN.IFD ‖ RND.ICC ‖ SN.ICC ‖ K.IFD)` (64 bytes,
//!    no padding: four whole blocks) and `M.IFD` = the 8 leftmost bytes of
//!    `AES-CMAC(K.mac, E.IFD)` ([`terminal_cryptogram`]).
//! 3. Host → card: MUTUAL AUTHENTICATE `00 82 00 00 48 E.IFD‖M.IFD 00`. The card checks M.IFD,
//!    decrypts, checks RND.ICC (its last challenge, usable once) and SN.ICC, draws K.ICC
//!    (32 bytes) and answers `E.ICC ‖ M.ICC` over
//!    `RND.ICC ‖ SN.ICC ‖ RND.IFD ‖ SN.IFD ‖ K.ICC` ([`card_mutual_authenticate`]). A failed check
//!    answers `6300` (authentication failed); no challenge, `6985`.
//! 4. Host → issuer: the card cryptogram ([`crate::issuer::IssuerAuthority::finish`]); the
//!    issuer checks M.ICC, RND.IFD and SN.IFD, RND.ICC and SN.ICC ([`check_card_cryptogram`])
//!    and returns only the session keys.
//!
//! # Session keys (EN 14890-1 clause 8, computation of the session keys; AES variant)
//!
//! `K = K.IFD ⊕ K.ICC` (32 bytes); `KS.enc` = the first 16 bytes of `SHA-256(K ‖ 00000001)`,
//! `KS.mac` = the first 16 bytes of `SHA-256(K ‖ 00000002)`.
//!
//! **Choice**: the send sequence counter is the 16-byte `RND.ICC ‖ RND.IFD` (EN 14890's 3DES
//! variant takes the 4 least significant bytes of each for an 8-byte counter; the AES block is
//! 16 bytes, so both randoms are taken whole).
//!
//! # Card numbers
//!
//! `SN.ICC` is the 8 rightmost bytes of the card serial, left-padded with zeros when shorter
//! ([`sn_icc`]). `SN.IFD` is the issuer's 8-byte identifier.
//!
//! # Per-card keys (choice: EN 14890 leaves diversification to the issuer)
//!
//! NIST SP 800-108 KDF in counter mode with AES-128-CMAC as PRF and the issuer master key:
//! `K.x = CMAC(master, 01 ‖ label ‖ 00 ‖ serial ‖ 0080)` with labels `"shenas K.enc"` and
//! `"shenas K.mac"`, over the whole serial ([`CardKeys::diversify`]).

use std::fmt;
use std::time::{Duration, Instant};

use cmac::Mac;
use sha2::{Digest, Sha256};
use shenas_apdu::{Channel, ChannelError, Command, StatusWord, Transport};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::issuer::{IssuerAuthority, IssuerError, IssuerMode};
use crate::sm::{MAC_LEN, SecureChannel, SessionKeys, cbc_decrypt, cbc_encrypt, cmac_new};

/// Length of RND.ICC and RND.IFD.
pub const CHALLENGE_LEN: usize = 8;
/// Length of SN.ICC and SN.IFD.
pub const SERIAL_LEN: usize = 8;
/// Length of K.IFD and K.ICC.
pub const KEY_MATERIAL_LEN: usize = 32;
/// Length of a cryptogram `E ‖ M` (64 + 8).
pub const CRYPTOGRAM_LEN: usize = 4 * CHALLENGE_LEN + KEY_MATERIAL_LEN + MAC_LEN;
/// Length of the encrypted part `E`.
const E_LEN: usize = CRYPTOGRAM_LEN - MAC_LEN;

/// GET CHALLENGE instruction (ISO/IEC 7816-4, 11.6.3).
pub const INS_GET_CHALLENGE: u8 = 0x84;
/// MUTUAL AUTHENTICATE instruction (ISO/IEC 7816-4, 11.6.4; EN 14890-1).
pub const INS_MUTUAL_AUTHENTICATE: u8 = 0x82;
/// `6300`: authentication failed (the card's answer to a bad terminal cryptogram).
pub const SW_AUTHENTICATION_FAILED: StatusWord = StatusWord::new(0x6300);

const LABEL_ENC: &[u8] = b"shenas K.enc";
const LABEL_MAC: &[u8] = b"shenas K.mac";

/// A card's static device-authentication keys K.enc and K.mac (AES-128).
///
/// The issuer derives them per card ([`CardKeys::diversify`]); they never reach the host in the
/// proper issuer mode. Zeroized on drop; `Debug` shows nothing of them.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CardKeys {
    /// K.enc: encrypts the authentication cryptograms.
    pub k_enc: [u8; 16],
    /// K.mac: authenticates them.
    pub k_mac: [u8; 16],
}

impl CardKeys {
    /// The keys of card `serial` under issuer master key `master` (the KDF of the module
    /// documentation: NIST SP 800-108 counter mode, AES-CMAC PRF).
    pub fn diversify(master: &[u8; 16], serial: &[u8]) -> Self {
        Self {
            k_enc: kdf(master, LABEL_ENC, serial),
            k_mac: kdf(master, LABEL_MAC, serial),
        }
    }
}

impl fmt::Debug for CardKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardKeys { .. }")
    }
}

fn kdf(master: &[u8; 16], label: &[u8], context: &[u8]) -> [u8; 16] {
    let mut mac = cmac_new(master);
    mac.update(&[0x01]);
    mac.update(label);
    mac.update(&[0x00]);
    mac.update(context);
    mac.update(&[0x00, 0x80]);
    mac.finalize().into_bytes().into()
}

/// SN.ICC: the 8 rightmost bytes of the card serial, left-padded with zeros.
pub fn sn_icc(serial: &[u8]) -> [u8; SERIAL_LEN] {
    let mut out = [0; SERIAL_LEN];
    let take = serial.len().min(SERIAL_LEN);
    let src = serial.get(serial.len() - take..).unwrap_or_default();
    if let Some(dst) = out.get_mut(SERIAL_LEN - take..) {
        dst.copy_from_slice(src);
    }
    out
}

/// Why a cryptogram was refused, on either side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceAuthError {
    /// A challenge or cryptogram of the wrong length.
    #[error("{what} of {len} bytes, expected {expected}")]
    BadLength {
        /// What had the wrong length.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The length wanted.
        expected: usize,
    },
    /// The cryptogram's MAC does not verify: wrong keys, or the cryptogram was modified.
    #[error("the cryptogram's MAC does not verify")]
    BadMac,
    /// The cryptogram is authentic but answers another challenge (a replay).
    #[error("the cryptogram answers another challenge")]
    WrongChallenge,
    /// The cryptogram is authentic but names another card or terminal.
    #[error("the cryptogram names another card or terminal")]
    WrongSerial,
    /// The system's random generator failed.
    #[error("no random numbers from the system")]
    Random(#[source] getrandom::Error),
}

/// What the issuer keeps between the terminal cryptogram and the card's answer.
///
/// Zeroized on drop; `Debug` shows nothing.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TerminalState {
    rnd_ifd: [u8; CHALLENGE_LEN],
    sn_ifd: [u8; SERIAL_LEN],
    rnd_icc: [u8; CHALLENGE_LEN],
    sn_icc: [u8; SERIAL_LEN],
    k_ifd: [u8; KEY_MATERIAL_LEN],
}

impl fmt::Debug for TerminalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TerminalState { .. }")
    }
}

/// Random bytes from the operating system.
pub fn random<const N: usize>() -> Result<[u8; N], DeviceAuthError> {
    let mut out = [0; N];
    getrandom::fill(&mut out).map_err(DeviceAuthError::Random)?;
    Ok(out)
}

fn challenge(bytes: &[u8]) -> Result<[u8; CHALLENGE_LEN], DeviceAuthError> {
    bytes.try_into().map_err(|_| DeviceAuthError::BadLength {
        what: "card challenge",
        len: bytes.len(),
        expected: CHALLENGE_LEN,
    })
}

/// Issuer side, step 2: the terminal cryptogram `E.IFD ‖ M.IFD` for card challenge `rnd_icc`,
/// with fresh RND.IFD and K.IFD from the system. Returns what [`check_card_cryptogram`] needs.
pub fn terminal_cryptogram(
    keys: &CardKeys,
    sn_ifd: [u8; SERIAL_LEN],
    rnd_icc: &[u8],
    sn_icc: [u8; SERIAL_LEN],
) -> Result<(Vec<u8>, TerminalState), DeviceAuthError> {
    let rnd_icc = challenge(rnd_icc)?;
    let rnd_ifd = random::<CHALLENGE_LEN>()?;
    let k_ifd = Zeroizing::new(random::<KEY_MATERIAL_LEN>()?);
    Ok(terminal_cryptogram_with(
        keys, sn_ifd, rnd_icc, sn_icc, rnd_ifd, *k_ifd,
    ))
}

/// [`terminal_cryptogram`] with given RND.IFD and K.IFD (for test vectors).
pub fn terminal_cryptogram_with(
    keys: &CardKeys,
    sn_ifd: [u8; SERIAL_LEN],
    rnd_icc: [u8; CHALLENGE_LEN],
    sn_icc: [u8; SERIAL_LEN],
    rnd_ifd: [u8; CHALLENGE_LEN],
    k_ifd: [u8; KEY_MATERIAL_LEN],
) -> (Vec<u8>, TerminalState) {
    let state = TerminalState {
        rnd_ifd,
        sn_ifd,
        rnd_icc,
        sn_icc,
        k_ifd,
    };
    let plain = Zeroizing::new([&rnd_ifd[..], &sn_ifd, &rnd_icc, &sn_icc, &k_ifd].concat());
    (seal(keys, &plain), state)
}

/// Issuer side, step 4: checks the card's `E.ICC ‖ M.ICC` against the state of step 2 and
/// derives the session keys.
pub fn check_card_cryptogram(
    keys: &CardKeys,
    state: &TerminalState,
    card_cryptogram: &[u8],
) -> Result<SessionKeys, DeviceAuthError> {
    let plain = open(keys, card_cryptogram, "card cryptogram")?;
    let (rnd_icc, sn_icc, rnd_ifd, sn_ifd, k_icc) = split(&plain);
    if rnd_ifd != state.rnd_ifd || rnd_icc != state.rnd_icc {
        return Err(DeviceAuthError::WrongChallenge);
    }
    if sn_ifd != state.sn_ifd || sn_icc != state.sn_icc {
        return Err(DeviceAuthError::WrongSerial);
    }
    Ok(session_keys(
        &state.k_ifd,
        &k_icc,
        &state.rnd_icc,
        &state.rnd_ifd,
    ))
}

/// Card side, step 3: checks the terminal cryptogram against the card's last challenge
/// `rnd_icc` and its SN.ICC, and answers `E.ICC ‖ M.ICC` with a fresh K.ICC, with the session
/// keys. The caller forgets the challenge whatever the outcome (one use only).
pub fn card_mutual_authenticate(
    keys: &CardKeys,
    rnd_icc: &[u8; CHALLENGE_LEN],
    sn_icc: &[u8; SERIAL_LEN],
    command_data: &[u8],
) -> Result<(Vec<u8>, SessionKeys), DeviceAuthError> {
    let k_icc = Zeroizing::new(random::<KEY_MATERIAL_LEN>()?);
    card_mutual_authenticate_with(keys, rnd_icc, sn_icc, command_data, &k_icc)
}

/// [`card_mutual_authenticate`] with a given K.ICC (for test vectors and simulators that
/// bring their own random generator).
pub fn card_mutual_authenticate_with(
    keys: &CardKeys,
    rnd_icc: &[u8; CHALLENGE_LEN],
    sn_icc: &[u8; SERIAL_LEN],
    command_data: &[u8],
    k_icc: &[u8; KEY_MATERIAL_LEN],
) -> Result<(Vec<u8>, SessionKeys), DeviceAuthError> {
    let plain = open(keys, command_data, "terminal cryptogram")?;
    // Terminal order: RND.IFD ‖ SN.IFD ‖ RND.ICC ‖ SN.ICC ‖ K.IFD.
    let (rnd_ifd, sn_ifd, their_rnd_icc, their_sn_icc, k_ifd) = split(&plain);
    if their_rnd_icc != *rnd_icc {
        return Err(DeviceAuthError::WrongChallenge);
    }
    if their_sn_icc != *sn_icc {
        return Err(DeviceAuthError::WrongSerial);
    }
    let answer = Zeroizing::new([&rnd_icc[..], sn_icc, &rnd_ifd, &sn_ifd, k_icc].concat());
    let keys_out = session_keys(&k_ifd, k_icc, rnd_icc, &rnd_ifd);
    Ok((seal(keys, &answer), keys_out))
}

/// KS.enc, KS.mac and SSC from the key material and the randoms (module documentation).
pub fn session_keys(
    k_ifd: &[u8; KEY_MATERIAL_LEN],
    k_icc: &[u8; KEY_MATERIAL_LEN],
    rnd_icc: &[u8; CHALLENGE_LEN],
    rnd_ifd: &[u8; CHALLENGE_LEN],
) -> SessionKeys {
    let mut k = Zeroizing::new([0u8; KEY_MATERIAL_LEN]);
    for ((out, a), b) in k.iter_mut().zip(k_ifd).zip(k_icc) {
        *out = a ^ b;
    }
    let derive = |counter: u8| -> [u8; 16] {
        let mut digest: [u8; 32] = Sha256::new()
            .chain_update(&k[..])
            .chain_update([0, 0, 0, counter])
            .finalize()
            .into();
        let mut out = [0; 16];
        out.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
        digest.zeroize();
        out
    };
    let mut ssc = [0; 16];
    let (icc, ifd) = ssc.split_at_mut(CHALLENGE_LEN);
    icc.copy_from_slice(rnd_icc);
    ifd.copy_from_slice(rnd_ifd);
    SessionKeys::new(derive(1), derive(2), ssc)
}

/// `E ‖ M`: AES-CBC with a zero IV over the 64 bytes, then the truncated CMAC over E.
fn seal(keys: &CardKeys, plain: &[u8]) -> Vec<u8> {
    let mut out = cbc_encrypt(&keys.k_enc, &[0; 16], plain);
    let mut mac = cmac_new(&keys.k_mac);
    mac.update(&out);
    out.extend_from_slice(
        mac.finalize()
            .into_bytes()
            .get(..MAC_LEN)
            .unwrap_or_default(),
    );
    out
}

/// Checks M, then decrypts E.
fn open(
    keys: &CardKeys,
    cryptogram: &[u8],
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, DeviceAuthError> {
    if cryptogram.len() != CRYPTOGRAM_LEN {
        return Err(DeviceAuthError::BadLength {
            what,
            len: cryptogram.len(),
            expected: CRYPTOGRAM_LEN,
        });
    }
    let (e, m) = cryptogram.split_at(E_LEN);
    let mut mac = cmac_new(&keys.k_mac);
    mac.update(e);
    mac.verify_truncated_left(m)
        .map_err(|_| DeviceAuthError::BadMac)?;
    cbc_decrypt(&keys.k_enc, &[0; 16], e)
        .map(Zeroizing::new)
        .ok_or(DeviceAuthError::BadMac)
}

type Parts = (
    [u8; CHALLENGE_LEN],
    [u8; SERIAL_LEN],
    [u8; CHALLENGE_LEN],
    [u8; SERIAL_LEN],
    [u8; KEY_MATERIAL_LEN],
);

/// Splits the 64 decrypted bytes into 8 ‖ 8 ‖ 8 ‖ 8 ‖ 32.
fn split(plain: &[u8]) -> Parts {
    let mut parts: Parts = ([0; 8], [0; 8], [0; 8], [0; 8], [0; 32]);
    // `open` returns exactly E_LEN = 64 bytes.
    let take = |from: usize, out: &mut [u8]| {
        if let Some(src) = plain.get(from..from + out.len()) {
            out.copy_from_slice(src);
        }
    };
    take(0, &mut parts.0);
    take(8, &mut parts.1);
    take(16, &mut parts.2);
    take(24, &mut parts.3);
    take(32, &mut parts.4);
    parts
}

// --- Host flow -----------------------------------------------------------------------------

/// Why [`authenticate`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The card refused a command: `6300` or `6982` to MUTUAL AUTHENTICATE means it did not
    /// accept the terminal cryptogram (wrong card keys at the issuer, or a modified cryptogram).
    #[error("the card refused {command}: {sw}")]
    CardRefused {
        /// The command, in the specification's words.
        command: &'static str,
        /// What the card answered.
        sw: StatusWord,
    },
    /// The issuer refused or could not be reached.
    #[error("the issuer failed")]
    Issuer(#[source] IssuerError),
    /// The issuer found the card's cryptogram wrong: the card is not the one it claims, or its
    /// answer was modified.
    #[error("the card's cryptogram is not authentic")]
    BadCardCryptogram,
    /// The card answered with data of the wrong shape.
    #[error("the card broke the protocol: {reason}")]
    CardProtocol {
        /// What was wrong.
        reason: &'static str,
    },
    /// The channel to the card failed.
    #[error("the card channel failed")]
    Channel(#[source] ChannelError),
}

impl AuthError {
    /// True when the card refused the cryptogram (`6300`, `6982`, `6983`).
    pub fn is_card_refusal(&self) -> bool {
        matches!(self, Self::CardRefused { sw, .. }
            if [0x6300, 0x6982, 0x6983].contains(&sw.value()) || sw.sw1() == 0x63)
    }
}

/// How one authentication went: the issuer mode, APDUs and where the time went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthReport {
    /// How the session keys were obtained.
    pub issuer_mode: IssuerMode,
    /// APDUs sent to the card (2: GET CHALLENGE and MUTUAL AUTHENTICATE).
    pub apdus: usize,
    /// Issuer round trips (2: begin and finish).
    pub issuer_round_trips: usize,
    /// Time spent in the card channel.
    pub card_time: Duration,
    /// Time spent waiting for the issuer.
    pub issuer_time: Duration,
}

/// Runs device authentication (module documentation) between the card behind `channel` and
/// `issuer`: GET CHALLENGE, issuer `begin`, MUTUAL AUTHENTICATE, issuer `finish` — 2 APDUs and
/// 2 issuer round trips. `card_serial` is the serial the card reports (card manager data).
///
/// Returns the secure channel; [`SecureChannel::issuer_mode`] tells which issuer mode was used.
pub fn authenticate<T: Transport>(
    channel: &mut Channel<T>,
    issuer: &dyn IssuerAuthority,
    card_serial: &[u8],
) -> Result<SecureChannel, AuthError> {
    authenticate_with_report(channel, issuer, card_serial).map(|(sc, _)| sc)
}

/// [`authenticate`], also returning how it went.
pub fn authenticate_with_report<T: Transport>(
    channel: &mut Channel<T>,
    issuer: &dyn IssuerAuthority,
    card_serial: &[u8],
) -> Result<(SecureChannel, AuthReport), AuthError> {
    let mut card_time = Duration::ZERO;
    let mut issuer_time = Duration::ZERO;

    let started = Instant::now();
    let get_challenge = Command::new(0x00, INS_GET_CHALLENGE, 0x00, 0x00).with_le(CHALLENGE_LEN);
    let response = channel
        .transmit(&get_challenge)
        .map_err(AuthError::Channel)?;
    card_time += started.elapsed();
    if !response.is_success() {
        return Err(AuthError::CardRefused {
            command: "GET CHALLENGE",
            sw: response.sw(),
        });
    }
    if response.data().len() != CHALLENGE_LEN {
        return Err(AuthError::CardProtocol {
            reason: "GET CHALLENGE answered a challenge of the wrong length",
        });
    }

    let started = Instant::now();
    let challenge = issuer
        .begin(card_serial, response.data())
        .map_err(AuthError::Issuer)?;
    issuer_time += started.elapsed();

    let started = Instant::now();
    let mutual_authenticate = Command::new(0x00, INS_MUTUAL_AUTHENTICATE, 0x00, 0x00)
        .with_data(challenge.terminal_cryptogram.clone())
        .with_le(256);
    let response = channel
        .transmit(&mutual_authenticate)
        .map_err(AuthError::Channel)?;
    card_time += started.elapsed();
    if !response.is_success() {
        return Err(AuthError::CardRefused {
            command: "MUTUAL AUTHENTICATE",
            sw: response.sw(),
        });
    }
    if response.data().len() != CRYPTOGRAM_LEN {
        return Err(AuthError::CardProtocol {
            reason: "MUTUAL AUTHENTICATE answered a cryptogram of the wrong length",
        });
    }

    let started = Instant::now();
    let keys = issuer
        .finish(&challenge.session, response.data())
        .map_err(|e| match e {
            IssuerError::BadCardCryptogram => AuthError::BadCardCryptogram,
            e => AuthError::Issuer(e),
        })?;
    issuer_time += started.elapsed();

    let mode = issuer.mode();
    Ok((
        SecureChannel::new(keys, mode),
        AuthReport {
            issuer_mode: mode,
            apdus: 2,
            issuer_round_trips: 2,
            card_time,
            issuer_time,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm::aes_block;

    const MASTER: [u8; 16] = [0x4D; 16];
    const SN_IFD: [u8; 8] = *b"ISSUER01";

    fn fixture() -> (CardKeys, [u8; 8], [u8; 8]) {
        let serial = b"IRN-0001-2345";
        (CardKeys::diversify(&MASTER, serial), sn_icc(serial), [9; 8])
    }

    #[test]
    fn diversification_is_per_card_and_per_key() {
        let a = CardKeys::diversify(&MASTER, b"A");
        let b = CardKeys::diversify(&MASTER, b"B");
        assert_ne!(a.k_enc, b.k_enc);
        assert_ne!(a.k_enc, a.k_mac);
        assert_eq!(a.k_mac, CardKeys::diversify(&MASTER, b"A").k_mac);
        assert_ne!(a.k_mac, CardKeys::diversify(&[0; 16], b"A").k_mac);
    }

    #[test]
    fn sn_icc_takes_the_rightmost_bytes() {
        assert_eq!(sn_icc(b"0123456789"), *b"23456789");
        assert_eq!(sn_icc(&[1, 2]), [0, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn both_sides_agree_on_the_session_keys() -> Result<(), DeviceAuthError> {
        let (keys, sn, rnd_icc) = fixture();
        let (cryptogram, state) = terminal_cryptogram(&keys, SN_IFD, &rnd_icc, sn)?;
        assert_eq!(cryptogram.len(), CRYPTOGRAM_LEN);
        let (answer, card_keys) = card_mutual_authenticate(&keys, &rnd_icc, &sn, &cryptogram)?;
        let issuer_keys = check_card_cryptogram(&keys, &state, &answer)?;
        assert_eq!(card_keys, issuer_keys);
        let mut expected_ssc = [0; 16];
        expected_ssc[..8].copy_from_slice(&rnd_icc);
        expected_ssc[8..].copy_from_slice(&state.rnd_ifd);
        assert_eq!(issuer_keys.ssc(), &expected_ssc);
        Ok(())
    }

    #[test]
    fn fixed_inputs_give_fixed_outputs() {
        let (keys, sn, rnd_icc) = fixture();
        let (a, _) = terminal_cryptogram_with(&keys, SN_IFD, rnd_icc, sn, [1; 8], [2; 32]);
        let (b, _) = terminal_cryptogram_with(&keys, SN_IFD, rnd_icc, sn, [1; 8], [2; 32]);
        assert_eq!(a, b);
        let s1 = session_keys(&[2; 32], &[3; 32], &[4; 8], &[5; 8]);
        let s2 = session_keys(&[1; 32], &[0; 32], &[4; 8], &[5; 8]);
        // 02 ⊕ 03 = 01 ⊕ 00: the same key material.
        assert_eq!(s1, s2);
        assert_ne!(s1.ks_enc(), s1.ks_mac());
    }

    #[test]
    fn card_refuses_wrong_keys_modification_and_replay() -> Result<(), DeviceAuthError> {
        let (keys, sn, rnd_icc) = fixture();
        let (cryptogram, _) = terminal_cryptogram(&keys, SN_IFD, &rnd_icc, sn)?;
        let other = CardKeys::diversify(&MASTER, b"another card");
        assert!(matches!(
            card_mutual_authenticate(&other, &rnd_icc, &sn, &cryptogram),
            Err(DeviceAuthError::BadMac)
        ));
        let mut modified = cryptogram.clone();
        if let Some(b) = modified.get_mut(3) {
            *b ^= 1;
        }
        assert!(matches!(
            card_mutual_authenticate(&keys, &rnd_icc, &sn, &modified),
            Err(DeviceAuthError::BadMac)
        ));
        // Replayed against a new challenge.
        assert!(matches!(
            card_mutual_authenticate(&keys, &[8; 8], &sn, &cryptogram),
            Err(DeviceAuthError::WrongChallenge)
        ));
        assert!(matches!(
            card_mutual_authenticate(&keys, &rnd_icc, &[0; 8], &cryptogram),
            Err(DeviceAuthError::WrongSerial)
        ));
        assert!(matches!(
            card_mutual_authenticate(&keys, &rnd_icc, &sn, &cryptogram[..70]),
            Err(DeviceAuthError::BadLength { len: 70, .. })
        ));
        Ok(())
    }

    #[test]
    fn issuer_refuses_a_replayed_or_modified_card_answer() -> Result<(), DeviceAuthError> {
        let (keys, sn, rnd_icc) = fixture();
        let (c1, state1) = terminal_cryptogram(&keys, SN_IFD, &rnd_icc, sn)?;
        let (answer1, _) = card_mutual_authenticate(&keys, &rnd_icc, &sn, &c1)?;
        // A second session: the old answer does not fit it.
        let (_, state2) = terminal_cryptogram(&keys, SN_IFD, &rnd_icc, sn)?;
        assert!(matches!(
            check_card_cryptogram(&keys, &state2, &answer1),
            Err(DeviceAuthError::WrongChallenge)
        ));
        let mut modified = answer1.clone();
        if let Some(b) = modified.last_mut() {
            *b ^= 1;
        }
        assert!(matches!(
            check_card_cryptogram(&keys, &state1, &modified),
            Err(DeviceAuthError::BadMac)
        ));
        // The terminal's own cryptogram reflected back is refused (the order of fields differs).
        assert!(check_card_cryptogram(&keys, &state1, &c1).is_err());
        Ok(())
    }

    #[test]
    fn terminal_cryptogram_has_the_documented_layout() {
        let (keys, sn, rnd_icc) = fixture();
        let (cryptogram, _) = terminal_cryptogram_with(&keys, SN_IFD, rnd_icc, sn, [1; 8], [2; 32]);
        let (e, m) = cryptogram.split_at(64);
        let mut mac = cmac_new(&keys.k_mac);
        mac.update(e);
        assert_eq!(&mac.finalize().into_bytes()[..8], m);
        let plain = cbc_decrypt(&keys.k_enc, &[0; 16], e).unwrap();
        let expected = [&[1u8; 8][..], &SN_IFD, &rnd_icc, &sn, &[2; 32]].concat();
        assert_eq!(plain, expected);
        // The card's answer: RND.ICC ‖ SN.ICC ‖ RND.IFD ‖ SN.IFD ‖ K.ICC.
        let (answer, _) =
            card_mutual_authenticate_with(&keys, &rnd_icc, &sn, &cryptogram, &[3; 32]).unwrap();
        let plain = cbc_decrypt(&keys.k_enc, &[0; 16], &answer[..64]).unwrap();
        let expected = [&rnd_icc[..], &sn, &[1; 8], &SN_IFD, &[3; 32]].concat();
        assert_eq!(plain, expected);
    }

    #[test]
    fn debug_hides_keys() {
        let (keys, sn, rnd_icc) = fixture();
        let (_, state) = terminal_cryptogram_with(&keys, SN_IFD, rnd_icc, sn, [1; 8], [2; 32]);
        assert_eq!(format!("{keys:?}"), "CardKeys { .. }");
        assert_eq!(format!("{state:?}"), "TerminalState { .. }");
    }

    #[test]
    fn aes_block_matches_fips_197() {
        // FIPS-197 appendix C.1.
        let key: [u8; 16] = core::array::from_fn(|i| u8::try_from(i).unwrap_or(0));
        let block: [u8; 16] = core::array::from_fn(|i| u8::try_from(i * 0x11).unwrap_or(0));
        assert_eq!(
            hex::encode(aes_block(&key, &block)),
            "69c4e0d86a7b0430d8cdb78070b4c55a"
        );
    }
}
