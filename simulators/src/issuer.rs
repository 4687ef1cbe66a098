//! The simulated issuer: the party that holds the simulated cards' static keys and plays the
//! terminal of EN 14890-1 device authentication, in process ([`SimulatedIssuer`] implements
//! [`IssuerAuthority`]) or as a loopback HTTP service ([`SimulatedIssuer::serve_http`], the
//! `shenas-sim-issuer` binary) speaking [`shenas_cards::issuer::wire`].
//!
//! **No security**: the master key is [`SIMULATED_MASTER_KEY`], written here for everyone to
//! read, so every simulated card's keys are public. Tests and demos only.
//!
//! Card side, [`CardAuthenticator`] answers GET CHALLENGE and MUTUAL AUTHENTICATE for a
//! simulated card and hands it the [`CardSm`] session.
//!
//! ```
//! use shenas_cards::issuer::{IssuerAuthority, IssuerMode};
//! use shenas_simulators::issuer::{CardAuthenticator, SimulatedIssuer};
//!
//! let issuer = SimulatedIssuer::new();
//! let mut card = CardAuthenticator::simulated(b"SH0001");
//! let challenge = card.get_challenge();
//! let begun = issuer.begin(b"SH0001", &challenge)?;
//! let (answer, _card_sm) = card
//!     .mutual_authenticate(&begun.terminal_cryptogram)
//!     .map_err(|sw| format!("card refused: {sw}"))?;
//! let _keys = issuer.finish(&begun.session, &answer)?;
//! assert_eq!(issuer.mode(), IssuerMode::SessionKeysOnly);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use shenas_apdu::StatusWord;
use shenas_cards::device_auth::{
    self, CHALLENGE_LEN, CardKeys, DeviceAuthError, KEY_MATERIAL_LEN, SERIAL_LEN,
};
use shenas_cards::issuer::wire::{
    self, BeginRequest, BeginResponse, ErrorResponse, FinishRequest, FinishResponse, MAX_BODY,
};
use shenas_cards::issuer::{
    CardKeySource, IssuerAuthority, IssuerChallenge, IssuerEngine, IssuerError, IssuerMode,
    IssuerSession,
};
use shenas_cards::sm::{CardSm, SessionKeys};
use tracing::debug;
use zeroize::Zeroizing;

/// The simulated issuer's master key: public, so the simulated cards' keys are too.
pub const SIMULATED_MASTER_KEY: [u8; 16] = *b"shenas-sim-mk-01";
/// SN.IFD the simulated issuer uses as terminal serial.
pub const SIMULATED_SN_IFD: [u8; SERIAL_LEN] = *b"SHENASIS";
/// The port `shenas-sim-issuer` listens on by default (on 127.0.0.1).
pub const DEFAULT_PORT: u16 = 8446;

/// The keys a simulated card with this serial is personalised with (and the simulated
/// issuer derives): [`CardKeys::diversify`] under [`SIMULATED_MASTER_KEY`].
pub fn simulated_card_keys(serial: &[u8]) -> CardKeys {
    CardKeys::diversify(&SIMULATED_MASTER_KEY, serial)
}

/// Derives every card's keys from a master key; optionally knows only some serials.
struct MasterKeySource {
    master: Zeroizing<[u8; 16]>,
    known: Option<HashSet<Vec<u8>>>,
}

impl CardKeySource for MasterKeySource {
    fn card_keys(&self, card_serial: &[u8]) -> Option<CardKeys> {
        if self
            .known
            .as_ref()
            .is_some_and(|known| !known.contains(card_serial))
        {
            return None;
        }
        Some(CardKeys::diversify(&self.master, card_serial))
    }
}

/// The simulated issuer, in [`IssuerMode::SessionKeysOnly`]: the card keys stay inside it;
/// callers receive session keys only.
pub struct SimulatedIssuer {
    engine: IssuerEngine<MasterKeySource>,
}

impl SimulatedIssuer {
    /// The issuer of every simulated card, under [`SIMULATED_MASTER_KEY`].
    pub fn new() -> Self {
        Self::with_master(SIMULATED_MASTER_KEY)
    }

    /// An issuer under another master key (cards personalised with
    /// `CardKeys::diversify(&master, serial)`).
    pub fn with_master(master: [u8; 16]) -> Self {
        Self {
            engine: IssuerEngine::new(
                MasterKeySource {
                    master: Zeroizing::new(master),
                    known: None,
                },
                SIMULATED_SN_IFD,
            ),
        }
    }

    /// Knows only these card serials; any other card is [`IssuerError::UnknownCard`].
    #[must_use]
    pub fn only_cards<I, S>(self, serials: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let known = serials.into_iter().map(|s| s.as_ref().to_vec()).collect();
        let MasterKeySource { master, .. } = self.engine_source();
        Self {
            engine: IssuerEngine::new(
                MasterKeySource {
                    master,
                    known: Some(known),
                },
                SIMULATED_SN_IFD,
            )
            .with_ttl(self.engine.ttl()),
        }
    }

    fn engine_source(&self) -> MasterKeySource {
        MasterKeySource {
            master: self.engine.source().master.clone(),
            known: self.engine.source().known.clone(),
        }
    }

    /// Sessions wait `ttl` for `finish` (default 30 s).
    #[must_use]
    pub fn with_ttl(self, ttl: Duration) -> Self {
        Self {
            engine: IssuerEngine::new(self.engine_source(), SIMULATED_SN_IFD).with_ttl(ttl),
        }
    }

    /// How long sessions wait for `finish`.
    pub fn ttl(&self) -> Duration {
        self.engine.ttl()
    }

    /// Sessions begun and neither finished nor expired.
    pub fn open_sessions(&self) -> usize {
        self.engine.open_sessions()
    }

    /// The keys this issuer holds for a card (to personalise a simulated card), or `None`
    /// for a card it does not know.
    pub fn card_keys(&self, serial: &[u8]) -> Option<CardKeys> {
        self.engine.source().card_keys(serial)
    }

    /// Serves this issuer over HTTP ([`shenas_cards::issuer::wire`]) on `addr`, which must be
    /// a loopback address (port 0 picks a free port). One thread answers the requests.
    pub fn serve_http(self, addr: impl ToSocketAddrs) -> Result<IssuerServer, IssuerServerError> {
        let addr = addr
            .to_socket_addrs()
            .map_err(IssuerServerError::Address)?
            .next()
            .ok_or(IssuerServerError::Address(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "no address",
            )))?;
        if !addr.ip().is_loopback() {
            return Err(IssuerServerError::NotLoopback(addr));
        }
        let server = Arc::new(tiny_http::Server::http(addr).map_err(IssuerServerError::Bind)?);
        let local = server
            .server_addr()
            .to_ip()
            .ok_or(IssuerServerError::Address(std::io::Error::other(
                "not an IP listener",
            )))?;
        let worker = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("shenas-sim-issuer".into())
            .spawn(move || {
                while let Ok(request) = worker.recv() {
                    handle(&self, request);
                }
            })
            .map_err(IssuerServerError::Spawn)?;
        Ok(IssuerServer {
            addr: local,
            server,
            thread: Some(thread),
        })
    }
}

impl Default for SimulatedIssuer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SimulatedIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatedIssuer")
            .field("mode", &IssuerMode::SessionKeysOnly)
            .field("ttl", &self.engine.ttl())
            .finish_non_exhaustive()
    }
}

impl IssuerAuthority for SimulatedIssuer {
    fn mode(&self) -> IssuerMode {
        IssuerMode::SessionKeysOnly
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

/// Serves the simulated issuer of [`SIMULATED_MASTER_KEY`] on a loopback `addr`.
pub fn serve_http(addr: impl ToSocketAddrs) -> Result<IssuerServer, IssuerServerError> {
    SimulatedIssuer::new().serve_http(addr)
}

/// Why the HTTP issuer could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerServerError {
    /// The address is not loopback: the simulated issuer never listens on a network.
    #[error("the simulated issuer listens on loopback only, not {0}")]
    NotLoopback(SocketAddr),
    /// The address cannot be resolved or used.
    #[error("bad listen address")]
    Address(#[source] std::io::Error),
    /// The socket cannot be bound.
    #[error("cannot listen")]
    Bind(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The server thread cannot be started.
    #[error("cannot start the server thread")]
    Spawn(#[source] std::io::Error),
}

/// A running HTTP issuer. Stops when dropped.
pub struct IssuerServer {
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl IssuerServer {
    /// Where it listens.
    pub const fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, e.g. `http://127.0.0.1:8446`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Blocks until the server stops.
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Stops serving and waits for the server thread. The listening socket closes; a
    /// keep-alive connection a client still holds stays open but is never answered, so that
    /// client's next request ends in its timeout (a killed `shenas-sim-issuer` closes
    /// everything at once).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for IssuerServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for IssuerServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Answers one request (no request or answer data is logged).
fn handle(issuer: &SimulatedIssuer, mut request: tiny_http::Request) {
    let is_post = *request.method() == tiny_http::Method::Post;
    let url = request.url().to_owned();
    let mut body = String::new();
    let read = request
        .as_reader()
        .take(u64::try_from(MAX_BODY + 1).unwrap_or(u64::MAX))
        .read_to_string(&mut body);
    let (status, answer) = if !is_post {
        error(405, wire::ERROR_BAD_REQUEST)
    } else if read.is_err() || body.len() > MAX_BODY {
        error(413, wire::ERROR_BAD_REQUEST)
    } else {
        route(issuer, &url, &body)
    };
    debug!(status, "issuer request");
    let mut response = tiny_http::Response::from_string(answer).with_status_code(status);
    if let Ok(header) = tiny_http::Header::from_bytes("Content-Type", "application/json") {
        response = response.with_header(header);
    }
    let _ = request.respond(response);
}

fn error(status: u16, code: &str) -> (u16, String) {
    let body = serde_json::to_string(&ErrorResponse {
        error: code.to_owned(),
    })
    .unwrap_or_default();
    (status, body)
}

fn issuer_error(e: &IssuerError) -> (u16, String) {
    let (status, code) = wire::error_status(e);
    error(status, code)
}

fn route(issuer: &SimulatedIssuer, url: &str, body: &str) -> (u16, String) {
    if url == wire::PATH_SESSIONS {
        let Ok(request) = serde_json::from_str::<BeginRequest>(body) else {
            return error(400, wire::ERROR_BAD_REQUEST);
        };
        let (Ok(serial), Ok(challenge)) = (
            hex::decode(&request.serial),
            hex::decode(&request.challenge),
        ) else {
            return error(400, wire::ERROR_BAD_REQUEST);
        };
        return match issuer.begin(&serial, &challenge) {
            Ok(begun) => {
                let answer = BeginResponse {
                    session: begun.session.id().to_owned(),
                    terminal_cryptogram: hex::encode(&begun.terminal_cryptogram),
                    expires_in_ms: u64::try_from(issuer.ttl().as_millis()).unwrap_or(u64::MAX),
                };
                (201, serde_json::to_string(&answer).unwrap_or_default())
            }
            Err(e) => issuer_error(&e),
        };
    }
    let session = url
        .strip_prefix(wire::PATH_SESSIONS)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.strip_suffix("/finish"))
        .and_then(IssuerSession::new);
    let Some(session) = session else {
        return error(404, "not_found");
    };
    let Ok(request) = serde_json::from_str::<FinishRequest>(body) else {
        return error(400, wire::ERROR_BAD_REQUEST);
    };
    let Ok(card_cryptogram) = hex::decode(&request.card_cryptogram) else {
        return error(400, wire::ERROR_BAD_REQUEST);
    };
    match issuer.finish(&session, &card_cryptogram) {
        Ok(keys) => (
            200,
            serde_json::to_string(&FinishResponse::from_keys(&keys)).unwrap_or_default(),
        ),
        Err(e) => issuer_error(&e),
    }
}

/// The card side of device authentication for a simulated card: GET CHALLENGE (`84`) and
/// MUTUAL AUTHENTICATE (`82`), EN 14890-1 clause 8. The card engine routes those two
/// instructions here and uses the [`CardSm`] it gets for the commands that follow.
///
/// `Debug` shows nothing of the keys.
pub struct CardAuthenticator {
    keys: CardKeys,
    sn_icc: [u8; SERIAL_LEN],
    challenge: Option<[u8; CHALLENGE_LEN]>,
}

impl CardAuthenticator {
    /// A card with these static keys and serial.
    pub fn new(keys: CardKeys, serial: &[u8]) -> Self {
        Self {
            keys,
            sn_icc: device_auth::sn_icc(serial),
            challenge: None,
        }
    }

    /// A card personalised by the simulated issuer ([`simulated_card_keys`]).
    pub fn simulated(serial: &[u8]) -> Self {
        Self::new(simulated_card_keys(serial), serial)
    }

    /// GET CHALLENGE: a fresh RND.ICC, remembered for the next MUTUAL AUTHENTICATE only.
    pub fn get_challenge(&mut self) -> [u8; CHALLENGE_LEN] {
        let mut challenge = [0; CHALLENGE_LEN];
        rand::fill(&mut challenge);
        self.challenge = Some(challenge);
        challenge
    }

    /// Forgets the challenge (reset, or another command in between if the profile says so).
    pub fn forget_challenge(&mut self) {
        self.challenge = None;
    }

    /// MUTUAL AUTHENTICATE: checks the terminal cryptogram and answers the card cryptogram,
    /// with the card's secure messaging session. The challenge is used up whatever the
    /// outcome. `6985` without a challenge, `6700` for data of the wrong length, `6300` for a
    /// cryptogram that does not verify.
    pub fn mutual_authenticate(&mut self, data: &[u8]) -> Result<(Vec<u8>, CardSm), StatusWord> {
        let challenge = self
            .challenge
            .take()
            .ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
        let mut k_icc = Zeroizing::new([0u8; KEY_MATERIAL_LEN]);
        rand::fill(&mut k_icc[..]);
        match device_auth::card_mutual_authenticate_with(
            &self.keys,
            &challenge,
            &self.sn_icc,
            data,
            &k_icc,
        ) {
            Ok((answer, keys)) => Ok((answer, CardSm::new(keys))),
            Err(DeviceAuthError::BadLength { .. }) => Err(StatusWord::WRONG_LENGTH),
            Err(_) => Err(device_auth::SW_AUTHENTICATION_FAILED),
        }
    }
}

impl fmt::Debug for CardAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardAuthenticator")
            .field("challenge_pending", &self.challenge.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_and_its_cards_agree() {
        let issuer = SimulatedIssuer::new();
        let mut card = CardAuthenticator::simulated(b"SH42");
        let challenge = card.get_challenge();
        let begun = issuer.begin(b"SH42", &challenge).unwrap();
        let (answer, _sm) = card
            .mutual_authenticate(&begun.terminal_cryptogram)
            .unwrap();
        issuer.finish(&begun.session, &answer).unwrap();
        // The challenge was used up.
        assert_eq!(
            card.mutual_authenticate(&begun.terminal_cryptogram).err(),
            Some(StatusWord::CONDITIONS_NOT_SATISFIED)
        );
    }

    #[test]
    fn another_master_key_is_another_issuer() {
        let issuer = SimulatedIssuer::with_master([9; 16]);
        let mut card = CardAuthenticator::simulated(b"SH42");
        let begun = issuer.begin(b"SH42", &card.get_challenge()).unwrap();
        assert_eq!(
            card.mutual_authenticate(&begun.terminal_cryptogram).err(),
            Some(device_auth::SW_AUTHENTICATION_FAILED)
        );
        let mut card = CardAuthenticator::simulated(b"SH42");
        card.get_challenge();
        assert_eq!(
            card.mutual_authenticate(&[0; 10]).err(),
            Some(StatusWord::WRONG_LENGTH)
        );
    }

    #[test]
    fn only_cards_restricts_and_keeps_the_master() {
        let issuer = SimulatedIssuer::new()
            .with_ttl(Duration::from_secs(5))
            .only_cards(["SH1"]);
        assert!(matches!(
            issuer.begin(b"SH2", &[0; 8]),
            Err(IssuerError::UnknownCard)
        ));
        assert_eq!(issuer.ttl(), Duration::from_secs(5));
        let keys = issuer.card_keys(b"SH1").unwrap();
        assert_eq!(keys.k_enc, simulated_card_keys(b"SH1").k_enc);
    }

    #[test]
    fn refuses_to_listen_beyond_loopback() {
        assert!(matches!(
            SimulatedIssuer::new().serve_http("0.0.0.0:0"),
            Err(IssuerServerError::NotLoopback(_))
        ));
    }
}
