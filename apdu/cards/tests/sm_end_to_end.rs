//! Device authentication and secure messaging end to end: the host flow (`authenticate`,
//! `SecureChannel`) through the real `Channel` against a minimal card built from the card-side
//! helpers (`card_mutual_authenticate`, `CardSm`), with the issuer computation of
//! `DangerousCardKeysIssuer` (the simulated issuer's tests live in shenas-simulators).

// The test card below is test code: a failed step should fail the test at once.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use shenas_apdu::{
    Channel, ChannelConfig, Command, ExtendedLength, Response, StatusWord, Transport,
    TransportError,
};
use shenas_cards::device_auth::{
    AuthError, CardKeys, SW_AUTHENTICATION_FAILED, authenticate, authenticate_with_report,
    card_mutual_authenticate, random, sn_icc,
};
use shenas_cards::issuer::{
    DangerousCardKeysIssuer, IssuerAuthority, IssuerChallenge, IssuerError, IssuerMode,
    IssuerSession,
};
use shenas_cards::sm::{CardSm, SW_SM_INCORRECT, SecureChannel, SessionKeys, SmError};

const MASTER: [u8; 16] = *b"test master key!";
const SERIAL: &[u8] = b"IRN0000012345";

fn issuer_keys(serial: &[u8]) -> Option<CardKeys> {
    Some(CardKeys::diversify(&MASTER, serial))
}

/// What the test transport does to the traffic.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tamper {
    None,
    /// Flip a bit of the MUTUAL AUTHENTICATE command data on its way to the card.
    TerminalCryptogram,
    /// Flip a bit of the card's MUTUAL AUTHENTICATE answer on its way to the host.
    CardCryptogram,
    /// Flip a bit of the next protected response's data.
    ProtectedResponse,
}

/// A minimal card: GET CHALLENGE, MUTUAL AUTHENTICATE, and under secure messaging
/// UPDATE BINARY / READ BINARY of one buffer; command chaining and 61XX like a real card.
struct TestCard {
    keys: CardKeys,
    serial: Vec<u8>,
    challenge: Option<[u8; 8]>,
    sm: Option<CardSm>,
    buffer: Vec<u8>,
    chain: Vec<u8>,
    pending: Vec<u8>,
    pending_sw: [u8; 2],
    tamper: Tamper,
    apdus: usize,
    recorded_mutual_authenticate: Option<Vec<u8>>,
}

impl TestCard {
    fn new(keys: CardKeys) -> Self {
        Self {
            keys,
            serial: SERIAL.to_vec(),
            challenge: None,
            sm: None,
            buffer: Vec::new(),
            chain: Vec::new(),
            pending: Vec::new(),
            pending_sw: [0x90, 0],
            tamper: Tamper::None,
            apdus: 0,
            recorded_mutual_authenticate: None,
        }
    }

    fn personalised() -> Self {
        Self::new(CardKeys::diversify(&MASTER, SERIAL))
    }

    fn sw(sw: StatusWord) -> Vec<u8> {
        sw.to_bytes().to_vec()
    }

    /// Answers `data ‖ sw`, in 61XX parts when longer than Ne.
    fn deliver(&mut self, mut answer: Vec<u8>, ne: usize) -> Vec<u8> {
        let sw = [answer[answer.len() - 2], answer[answer.len() - 1]];
        answer.truncate(answer.len() - 2);
        if answer.len() <= ne {
            answer.extend_from_slice(&sw);
            return answer;
        }
        self.pending = answer.split_off(ne);
        self.pending_sw = sw;
        let more = self.pending.len().min(256) as u8;
        answer.extend_from_slice(&[0x61, more]);
        answer
    }

    fn get_response(&mut self, ne: usize) -> Vec<u8> {
        if self.pending.is_empty() {
            return Self::sw(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        let rest = self.pending.split_off(ne.min(self.pending.len()));
        let mut out = std::mem::replace(&mut self.pending, rest);
        if self.pending.is_empty() {
            out.extend_from_slice(&self.pending_sw);
        } else {
            out.extend_from_slice(&[0x61, self.pending.len().min(256) as u8]);
        }
        out
    }

    fn application(&mut self, command: &Command) -> (Vec<u8>, StatusWord) {
        match command.ins() {
            0xD6 => {
                self.buffer = command.data().to_vec();
                (Vec::new(), StatusWord::SUCCESS)
            }
            0xB0 => {
                let n = command.le().unwrap_or(0).min(self.buffer.len());
                (self.buffer[..n].to_vec(), StatusWord::SUCCESS)
            }
            0xA4 => (Vec::new(), StatusWord::FILE_NOT_FOUND),
            _ => (Vec::new(), StatusWord::INS_NOT_SUPPORTED),
        }
    }

    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.apdus += 1;
        let Ok(command) = Command::parse(apdu) else {
            return Self::sw(StatusWord::WRONG_LENGTH);
        };
        if command.ins() == 0xC0 {
            return self.get_response(command.le().unwrap_or(256));
        }
        self.pending.clear();
        if command.cla() & 0x10 != 0 {
            self.chain.extend_from_slice(command.data());
            return Self::sw(StatusWord::SUCCESS);
        }
        let command = if self.chain.is_empty() {
            command
        } else {
            let mut data = std::mem::take(&mut self.chain);
            data.extend_from_slice(command.data());
            let joined = Command::new(command.cla(), command.ins(), command.p1(), command.p2())
                .with_data(data);
            match command.le() {
                Some(ne) => joined.with_le(ne),
                None => joined,
            }
        };
        let ne = command.le().unwrap_or(0);
        match (command.cla(), command.ins()) {
            (0x00, 0x84) => {
                let challenge = random::<8>().unwrap();
                self.challenge = Some(challenge);
                self.sm = None;
                let mut out = challenge.to_vec();
                out.extend_from_slice(&[0x90, 0]);
                out
            }
            (0x00, 0x82) => {
                self.recorded_mutual_authenticate = Some(command.data().to_vec());
                let Some(challenge) = self.challenge.take() else {
                    return Self::sw(StatusWord::CONDITIONS_NOT_SATISFIED);
                };
                match card_mutual_authenticate(
                    &self.keys,
                    &challenge,
                    &sn_icc(&self.serial),
                    command.data(),
                ) {
                    Ok((mut answer, keys)) => {
                        self.sm = Some(CardSm::new(keys));
                        answer.extend_from_slice(&[0x90, 0]);
                        self.deliver(answer, ne)
                    }
                    Err(_) => Self::sw(SW_AUTHENTICATION_FAILED),
                }
            }
            _ if CardSm::is_protected(&command) => {
                let Some(sm) = self.sm.as_mut() else {
                    return Self::sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
                };
                let plain = match sm.unwrap_command(&command) {
                    Ok(plain) => plain,
                    Err(sw) => {
                        self.sm = None;
                        return Self::sw(sw);
                    }
                };
                let (data, sw) = self.application(&plain);
                let Some(sm) = self.sm.as_mut() else {
                    return Self::sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
                };
                let answer = sm.wrap_response(&data, sw);
                self.deliver(answer, ne)
            }
            _ => Self::sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED),
        }
    }
}

impl Transport for TestCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut command = command.to_vec();
        if self.tamper == Tamper::TerminalCryptogram && command.get(1) == Some(&0x82) {
            command[10] ^= 0x01;
        }
        let mut answer = self.process(&command);
        let flip = match self.tamper {
            Tamper::CardCryptogram => command.get(1) == Some(&0x82) && answer.len() > 10,
            Tamper::ProtectedResponse => command[0] & 0x0C == 0x0C && answer.len() > 10,
            _ => false,
        };
        if flip {
            answer[5] ^= 0x01;
        }
        Ok(answer)
    }
    fn atr(&mut self) -> Result<Vec<u8>, TransportError> {
        Ok(vec![0x3B, 0x00])
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.challenge = None;
        self.sm = None;
        Ok(vec![0x3B, 0x00])
    }
}

fn channel(card: TestCard, extended: ExtendedLength) -> Channel<TestCard> {
    Channel::new(
        card,
        ChannelConfig {
            extended_length: extended,
            read_ef_atr: false,
            ..ChannelConfig::default()
        },
    )
}

type KeySource = fn(&[u8]) -> Option<CardKeys>;

fn issuer() -> DangerousCardKeysIssuer<KeySource> {
    DangerousCardKeysIssuer::new(issuer_keys as KeySource)
}

#[test]
fn authenticates_with_two_apdus_and_reports_the_weaker_mode() {
    let mut ch = channel(TestCard::personalised(), ExtendedLength::Never);
    let issuer = issuer();
    let (sc, report) = authenticate_with_report(&mut ch, &issuer, SERIAL).unwrap();
    assert_eq!(report.apdus, 2);
    assert_eq!(ch.transport_mut().apdus, 2);
    assert_eq!(report.issuer_round_trips, 2);
    assert_eq!(report.issuer_mode, IssuerMode::CardKeysOnHost);
    assert_eq!(sc.issuer_mode(), IssuerMode::CardKeysOnHost);
    assert!(sc.issuer_mode().is_weakened());
    assert!(format!("{issuer:?}").contains("CardKeysOnHost"));
}

fn write_then_read(extended: ExtendedLength, len: usize) {
    let mut ch = channel(TestCard::personalised(), extended);
    let mut sc = authenticate(&mut ch, &issuer(), SERIAL).unwrap();
    let content: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let before = ch.transport_mut().apdus;
    let written = sc
        .transmit(
            &mut ch,
            &Command::new(0, 0xD6, 0, 0).with_data(content.clone()),
        )
        .unwrap();
    assert_eq!(written, Response::status(StatusWord::SUCCESS));
    let read = sc
        .transmit(&mut ch, &Command::new(0, 0xB0, 0, 0).with_le(len))
        .unwrap();
    assert_eq!(read, Response::new(content, StatusWord::SUCCESS));
    // An error status word comes back authenticated, as a value.
    let selected = sc
        .transmit(
            &mut ch,
            &Command::new(0, 0xA4, 0, 0).with_data([0x12, 0x34]),
        )
        .unwrap();
    assert_eq!(selected.sw(), StatusWord::FILE_NOT_FOUND);
    let used = ch.transport_mut().apdus - before;
    if extended == ExtendedLength::Always {
        assert_eq!(used, 3, "one APDU per command with extended length");
    } else if len > 200 {
        assert!(used > 3, "chaining and GET RESPONSE with short APDUs");
    }
}

#[test]
fn protected_commands_round_trip_short() {
    write_then_read(ExtendedLength::Never, 100);
}

#[test]
fn protected_commands_round_trip_with_chaining_and_get_response() {
    write_then_read(ExtendedLength::Never, 1500);
}

#[test]
fn protected_commands_round_trip_with_extended_length() {
    write_then_read(ExtendedLength::Always, 4000);
}

#[test]
fn wrong_card_keys_are_refused_by_the_card() {
    let card = TestCard::new(CardKeys::diversify(b"another master!!", SERIAL));
    let mut ch = channel(card, ExtendedLength::Never);
    let err = authenticate(&mut ch, &issuer(), SERIAL).unwrap_err();
    assert!(
        matches!(err, AuthError::CardRefused { command: "MUTUAL AUTHENTICATE", sw } if sw == SW_AUTHENTICATION_FAILED),
        "{err:?}"
    );
    assert!(err.is_card_refusal());
}

#[test]
fn a_modified_terminal_cryptogram_is_refused_by_the_card() {
    let mut card = TestCard::personalised();
    card.tamper = Tamper::TerminalCryptogram;
    let mut ch = channel(card, ExtendedLength::Never);
    let err = authenticate(&mut ch, &issuer(), SERIAL).unwrap_err();
    assert!(err.is_card_refusal(), "{err:?}");
}

#[test]
fn a_modified_card_cryptogram_is_refused_by_the_issuer() {
    let mut card = TestCard::personalised();
    card.tamper = Tamper::CardCryptogram;
    let mut ch = channel(card, ExtendedLength::Never);
    let err = authenticate(&mut ch, &issuer(), SERIAL).unwrap_err();
    assert!(matches!(err, AuthError::BadCardCryptogram), "{err:?}");
}

#[test]
fn a_replayed_terminal_cryptogram_is_refused() {
    let mut ch = channel(TestCard::personalised(), ExtendedLength::Never);
    authenticate(&mut ch, &issuer(), SERIAL).unwrap();
    let old = ch
        .transport_mut()
        .recorded_mutual_authenticate
        .clone()
        .unwrap();
    // A new challenge, then the old cryptogram.
    let challenge = ch
        .transmit(&Command::new(0, 0x84, 0, 0).with_le(8))
        .unwrap();
    assert!(challenge.is_success());
    let replay = ch
        .transmit(
            &Command::new(0, 0x82, 0, 0)
                .with_data(old.clone())
                .with_le(256),
        )
        .unwrap();
    assert_eq!(replay.sw(), SW_AUTHENTICATION_FAILED);
    // Without a fresh challenge the card refuses outright.
    let again = ch
        .transmit(&Command::new(0, 0x82, 0, 0).with_data(old).with_le(256))
        .unwrap();
    assert_eq!(again.sw(), StatusWord::CONDITIONS_NOT_SATISFIED);
}

#[test]
fn a_modified_protected_response_is_an_error_and_closes_the_session() {
    let mut ch = channel(TestCard::personalised(), ExtendedLength::Never);
    let mut sc = authenticate(&mut ch, &issuer(), SERIAL).unwrap();
    ch.transport_mut().tamper = Tamper::ProtectedResponse;
    ch.transport_mut().buffer = vec![0x55; 64];
    let err = sc
        .transmit(&mut ch, &Command::new(0, 0xB0, 0, 0).with_le(64))
        .unwrap_err();
    assert!(matches!(err, SmError::BadMac), "{err:?}");
    assert!(!sc.is_open());
    assert!(matches!(
        sc.transmit(&mut ch, &Command::new(0, 0xB0, 0, 0).with_le(64)),
        Err(SmError::SessionClosed)
    ));
}

#[test]
fn a_session_with_other_keys_is_rejected_by_the_card() {
    let mut ch = channel(TestCard::personalised(), ExtendedLength::Never);
    authenticate(&mut ch, &issuer(), SERIAL).unwrap();
    // Keys the card never agreed to: the card answers 6988 in the clear, the host refuses it.
    let mut forged = SecureChannel::new(
        SessionKeys::new([1; 16], [2; 16], [3; 16]),
        IssuerMode::SessionKeysOnly,
    );
    let err = forged
        .transmit(&mut ch, &Command::new(0, 0xB0, 0, 0).with_le(4))
        .unwrap_err();
    assert!(
        matches!(err, SmError::Unprotected { sw } if sw == SW_SM_INCORRECT),
        "{err:?}"
    );
}

/// An issuer that refuses everything: its error reaches the caller with its source.
struct RefusingIssuer;

impl IssuerAuthority for RefusingIssuer {
    fn mode(&self) -> IssuerMode {
        IssuerMode::SessionKeysOnly
    }
    fn begin(&self, _: &[u8], _: &[u8]) -> Result<IssuerChallenge, IssuerError> {
        Err(IssuerError::UnknownCard)
    }
    fn finish(&self, _: &IssuerSession, _: &[u8]) -> Result<SessionKeys, IssuerError> {
        Err(IssuerError::UnknownSession)
    }
}

#[test]
fn an_issuer_refusal_is_typed() {
    let mut ch = channel(TestCard::personalised(), ExtendedLength::Never);
    let err = authenticate(&mut ch, &RefusingIssuer, SERIAL).unwrap_err();
    assert!(
        matches!(err, AuthError::Issuer(IssuerError::UnknownCard)),
        "{err:?}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn a_card_with_another_serial_refuses_the_cryptogram() {
    let mut card = TestCard::personalised();
    card.serial = b"other".to_vec();
    let mut ch = channel(card, ExtendedLength::Never);
    // The card's SN.ICC differs from the serial the host claims: the card refuses.
    let err = authenticate(&mut ch, &issuer(), SERIAL).unwrap_err();
    assert!(err.is_card_refusal(), "{err:?}");
}
