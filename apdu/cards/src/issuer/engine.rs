//! The issuer's side of device authentication with a session table: what an issuer service
//! runs, and what [`DangerousCardKeysIssuer`] runs on the host when an issuer only hands out
//! card keys.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{IssuerAuthority, IssuerChallenge, IssuerError, IssuerMode, IssuerSession};
use crate::device_auth::{
    self, CHALLENGE_LEN, CardKeys, TerminalState, check_card_cryptogram, sn_icc,
    terminal_cryptogram,
};
use crate::sm::SessionKeys;

/// How long a session waits for `finish` unless told otherwise.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(30);
/// Open sessions beyond which `begin` answers [`IssuerError::Busy`].
const MAX_OPEN_SESSIONS: usize = 4096;
/// Longest card serial accepted.
const MAX_SERIAL_LEN: usize = 64;

/// Where an issuer finds a card's static keys.
pub trait CardKeySource: Send + Sync {
    /// The keys of the card with this serial; `None` when the card is unknown.
    fn card_keys(&self, card_serial: &[u8]) -> Option<CardKeys>;
}

impl<F> CardKeySource for F
where
    F: Fn(&[u8]) -> Option<CardKeys> + Send + Sync,
{
    fn card_keys(&self, card_serial: &[u8]) -> Option<CardKeys> {
        self(card_serial)
    }
}

struct Pending {
    keys: CardKeys,
    state: TerminalState,
    expires: Instant,
}

/// The terminal side of EN 14890 device authentication over a [`CardKeySource`], with
/// one-shot sessions that expire.
///
/// It does not implement [`IssuerAuthority`] itself: the type wrapping it says where it runs
/// (at the issuer, or [`DangerousCardKeysIssuer`] on the host).
pub struct IssuerEngine<S> {
    source: S,
    sn_ifd: [u8; device_auth::SERIAL_LEN],
    ttl: Duration,
    sessions: Mutex<HashMap<String, Pending>>,
}

impl<S: CardKeySource> IssuerEngine<S> {
    /// An engine with keys from `source`, terminal serial SN.IFD `sn_ifd` and the default
    /// session lifetime.
    pub fn new(source: S, sn_ifd: [u8; device_auth::SERIAL_LEN]) -> Self {
        Self {
            source,
            sn_ifd,
            ttl: DEFAULT_SESSION_TTL,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Sets how long a session waits for `finish`.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long a session waits for `finish`.
    pub const fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The key source.
    pub const fn source(&self) -> &S {
        &self.source
    }

    /// Sessions begun and neither finished nor expired.
    pub fn open_sessions(&self) -> usize {
        let now = Instant::now();
        self.table().values().filter(|p| p.expires > now).count()
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        // A panic elsewhere while holding the lock leaves the table consistent (every
        // operation is one insert or one remove), so a poisoned lock is still usable.
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Step 2: opens a session for the card and computes the terminal cryptogram.
    pub fn begin(
        &self,
        card_serial: &[u8],
        card_challenge: &[u8],
    ) -> Result<IssuerChallenge, IssuerError> {
        if card_serial.is_empty() || card_serial.len() > MAX_SERIAL_LEN {
            return Err(IssuerError::Refused {
                code: super::wire::ERROR_BAD_SERIAL.to_owned(),
            });
        }
        if card_challenge.len() != CHALLENGE_LEN {
            return Err(IssuerError::Refused {
                code: super::wire::ERROR_BAD_CHALLENGE.to_owned(),
            });
        }
        let keys = self
            .source
            .card_keys(card_serial)
            .ok_or(IssuerError::UnknownCard)?;
        let (cryptogram, state) =
            terminal_cryptogram(&keys, self.sn_ifd, card_challenge, sn_icc(card_serial))
                .map_err(|_| IssuerError::Internal)?;
        let id = hex::encode(device_auth::random::<16>().map_err(|_| IssuerError::Internal)?);
        let session = IssuerSession::new(id.clone()).ok_or(IssuerError::Internal)?;
        let now = Instant::now();
        let mut table = self.table();
        table.retain(|_, p| p.expires > now);
        if table.len() >= MAX_OPEN_SESSIONS {
            return Err(IssuerError::Busy);
        }
        table.insert(
            id,
            Pending {
                keys,
                state,
                expires: now + self.ttl,
            },
        );
        Ok(IssuerChallenge {
            session,
            terminal_cryptogram: cryptogram,
        })
    }

    /// Step 4: checks the card's cryptogram and returns the session keys. The session is
    /// removed first: a second `finish` of the same session is [`IssuerError::UnknownSession`].
    pub fn finish(
        &self,
        session_id: &str,
        card_cryptogram: &[u8],
    ) -> Result<SessionKeys, IssuerError> {
        let pending = self
            .table()
            .remove(session_id)
            .ok_or(IssuerError::UnknownSession)?;
        if Instant::now() >= pending.expires {
            return Err(IssuerError::SessionExpired);
        }
        check_card_cryptogram(&pending.keys, &pending.state, card_cryptogram)
            .map_err(|_| IssuerError::BadCardCryptogram)
    }
}

impl<S> fmt::Debug for IssuerEngine<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerEngine")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// **Weaker mode.** An adapter for a real issuer that can only hand out card keys: it fetches
/// the card's static keys from `S` onto this host and runs the issuer's side of the protocol
/// here, so the host's memory holds keys that authenticate to the card for its whole life.
/// Reports [`IssuerMode::CardKeysOnHost`].
pub struct DangerousCardKeysIssuer<S> {
    engine: IssuerEngine<S>,
}

impl<S: CardKeySource> DangerousCardKeysIssuer<S> {
    /// SN.IFD this adapter claims as terminal.
    pub const SN_IFD: [u8; 8] = *b"SHENASHO";

    /// The adapter over a source of card keys.
    pub fn new(source: S) -> Self {
        Self {
            engine: IssuerEngine::new(source, Self::SN_IFD),
        }
    }

    /// Sets how long a session waits for `finish`.
    #[must_use]
    pub fn with_ttl(self, ttl: Duration) -> Self {
        Self {
            engine: self.engine.with_ttl(ttl),
        }
    }
}

impl<S: CardKeySource> IssuerAuthority for DangerousCardKeysIssuer<S> {
    fn mode(&self) -> IssuerMode {
        IssuerMode::CardKeysOnHost
    }

    fn begin(
        &self,
        card_serial: &[u8],
        card_challenge: &[u8],
    ) -> Result<IssuerChallenge, IssuerError> {
        self.engine.begin(card_serial, card_challenge)
    }

    fn finish(
        &self,
        session: &IssuerSession,
        card_cryptogram: &[u8],
    ) -> Result<SessionKeys, IssuerError> {
        self.engine.finish(session.id(), card_cryptogram)
    }
}

impl<S> fmt::Debug for DangerousCardKeysIssuer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DangerousCardKeysIssuer")
            .field("mode", &IssuerMode::CardKeysOnHost)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_auth::card_mutual_authenticate;

    const MASTER: [u8; 16] = [7; 16];

    fn source(serial: &[u8]) -> Option<CardKeys> {
        (serial != b"unknown").then(|| CardKeys::diversify(&MASTER, serial))
    }

    fn card_answer(serial: &[u8], rnd: [u8; 8], cryptogram: &[u8]) -> Vec<u8> {
        let keys = CardKeys::diversify(&MASTER, serial);
        card_mutual_authenticate(&keys, &rnd, &sn_icc(serial), cryptogram)
            .map(|(a, _)| a)
            .unwrap_or_default()
    }

    #[test]
    fn sessions_are_one_shot() -> Result<(), IssuerError> {
        let engine = IssuerEngine::new(source, *b"TESTISSR");
        let challenge = engine.begin(b"card-1", &[1; 8])?;
        assert_eq!(engine.open_sessions(), 1);
        let answer = card_answer(b"card-1", [1; 8], &challenge.terminal_cryptogram);
        engine.finish(challenge.session.id(), &answer)?;
        assert!(matches!(
            engine.finish(challenge.session.id(), &answer),
            Err(IssuerError::UnknownSession)
        ));
        assert_eq!(engine.open_sessions(), 0);
        Ok(())
    }

    #[test]
    fn sessions_expire() -> Result<(), IssuerError> {
        let engine = IssuerEngine::new(source, *b"TESTISSR").with_ttl(Duration::from_millis(20));
        let challenge = engine.begin(b"card-1", &[1; 8])?;
        std::thread::sleep(Duration::from_millis(40));
        let answer = card_answer(b"card-1", [1; 8], &challenge.terminal_cryptogram);
        assert!(matches!(
            engine.finish(challenge.session.id(), &answer),
            Err(IssuerError::SessionExpired)
        ));
        Ok(())
    }

    #[test]
    fn refuses_bad_input_and_unknown_cards() {
        let engine = IssuerEngine::new(source, *b"TESTISSR");
        assert!(matches!(
            engine.begin(b"unknown", &[1; 8]),
            Err(IssuerError::UnknownCard)
        ));
        assert!(matches!(
            engine.begin(b"card", &[1; 7]),
            Err(IssuerError::Refused { code }) if code == "bad_challenge"
        ));
        assert!(matches!(
            engine.begin(b"", &[1; 8]),
            Err(IssuerError::Refused { .. })
        ));
    }

    #[test]
    fn a_failed_finish_consumes_the_session() -> Result<(), IssuerError> {
        let issuer = DangerousCardKeysIssuer::new(source);
        assert_eq!(issuer.mode(), IssuerMode::CardKeysOnHost);
        let challenge = issuer.begin(b"card-1", &[1; 8])?;
        let good = card_answer(b"card-1", [1; 8], &challenge.terminal_cryptogram);
        let mut bad = good.clone();
        bad[0] ^= 1;
        assert!(matches!(
            issuer.finish(&challenge.session, &bad),
            Err(IssuerError::BadCardCryptogram)
        ));
        assert!(matches!(
            issuer.finish(&challenge.session, &good),
            Err(IssuerError::UnknownSession)
        ));
        Ok(())
    }
}
