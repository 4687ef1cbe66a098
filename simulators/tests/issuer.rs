//! The simulated issuer end to end: host `authenticate` and `SecureChannel` ↔ `SimulatedIssuer`
//! (in process, over loopback HTTP, and as the `shenas-sim-issuer` binary) ↔ a minimal card
//! built on `CardAuthenticator` and `CardSm`, through the real `Channel`.

// The test card below is test code: a failed step should fail the test at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use shenas_apdu::{
    Channel, ChannelConfig, Command, ExtendedLength, Response, StatusWord, Transport,
    TransportError,
};
use shenas_cards::device_auth::{self, AuthError, CardKeys};
use shenas_cards::issuer::{
    DangerousCardKeysIssuer, HttpIssuer, IssuerAuthority, IssuerError, IssuerMode,
};
use shenas_cards::sm::{CardSm, SmError};
use shenas_simulators::issuer::{
    CardAuthenticator, IssuerServerError, SimulatedIssuer, simulated_card_keys,
};

const SERIAL: &[u8] = b"SH1000000042";

/// A card that answers GET CHALLENGE and MUTUAL AUTHENTICATE through `CardAuthenticator`, and
/// under secure messaging READ BINARY of a fixed buffer.
struct MiniCard {
    auth: CardAuthenticator,
    sm: Option<CardSm>,
    content: Vec<u8>,
    flip_card_cryptogram: bool,
}

impl MiniCard {
    fn with_keys(keys: CardKeys) -> Self {
        Self {
            auth: CardAuthenticator::new(keys, SERIAL),
            sm: None,
            content: (0..200u8).collect(),
            flip_card_cryptogram: false,
        }
    }

    fn simulated() -> Self {
        Self::with_keys(simulated_card_keys(SERIAL))
    }

    fn process(&mut self, command: &Command) -> Vec<u8> {
        let status = |sw: StatusWord| sw.to_bytes().to_vec();
        match (command.cla(), command.ins()) {
            (0x00, 0x84) => {
                self.sm = None;
                let mut out = self.auth.get_challenge().to_vec();
                out.extend_from_slice(&[0x90, 0x00]);
                out
            }
            (0x00, 0x82) => match self.auth.mutual_authenticate(command.data()) {
                Ok((mut answer, sm)) => {
                    self.sm = Some(sm);
                    if self.flip_card_cryptogram {
                        answer[0] ^= 1;
                    }
                    answer.extend_from_slice(&[0x90, 0x00]);
                    answer
                }
                Err(sw) => status(sw),
            },
            _ if CardSm::is_protected(command) => {
                let Some(sm) = self.sm.as_mut() else {
                    return status(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
                };
                match sm.unwrap_command(command) {
                    Ok(plain) if plain.ins() == 0xB0 => {
                        let n = plain.le().unwrap_or(0).min(self.content.len());
                        sm.wrap_response(&self.content[..n], StatusWord::SUCCESS)
                    }
                    Ok(_) => sm.wrap_response(&[], StatusWord::INS_NOT_SUPPORTED),
                    Err(sw) => {
                        self.sm = None;
                        status(sw)
                    }
                }
            }
            _ => status(StatusWord::SECURITY_STATUS_NOT_SATISFIED),
        }
    }
}

impl Transport for MiniCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(match Command::parse(command) {
            Ok(command) => self.process(&command),
            Err(_) => StatusWord::WRONG_LENGTH.to_bytes().to_vec(),
        })
    }
    fn atr(&mut self) -> Result<Vec<u8>, TransportError> {
        Ok(vec![0x3B, 0x00])
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.sm = None;
        self.auth.forget_challenge();
        Ok(vec![0x3B, 0x00])
    }
}

fn channel(card: MiniCard) -> Channel<MiniCard> {
    Channel::new(
        card,
        ChannelConfig {
            extended_length: ExtendedLength::Never,
            read_ef_atr: false,
            ..ChannelConfig::default()
        },
    )
}

/// Authenticates and reads the buffer under secure messaging.
fn authenticate_and_read(issuer: &dyn IssuerAuthority) -> IssuerMode {
    let mut ch = channel(MiniCard::simulated());
    let mut sc = device_auth::authenticate(&mut ch, issuer, SERIAL).unwrap();
    let read = sc
        .transmit(&mut ch, &Command::new(0, 0xB0, 0, 0).with_le(200))
        .unwrap();
    assert_eq!(
        read,
        Response::new((0..200u8).collect::<Vec<_>>(), StatusWord::SUCCESS)
    );
    sc.issuer_mode()
}

#[test]
fn in_process_issuer_gives_session_keys_only() {
    let issuer = SimulatedIssuer::new();
    assert_eq!(authenticate_and_read(&issuer), IssuerMode::SessionKeysOnly);
    assert_eq!(issuer.open_sessions(), 0);
}

#[test]
fn http_issuer_on_loopback() {
    let server = SimulatedIssuer::new().serve_http("127.0.0.1:0").unwrap();
    assert!(server.local_addr().ip().is_loopback());
    let issuer = HttpIssuer::new(&server.url()).unwrap();
    assert_eq!(authenticate_and_read(&issuer), IssuerMode::SessionKeysOnly);
    // Twice on the same issuer: sessions are independent.
    assert_eq!(authenticate_and_read(&issuer), IssuerMode::SessionKeysOnly);
    let url = server.url();
    server.stop();
    // Stopped: the next request fails, typed (a fresh client: nothing listens any more).
    let issuer = HttpIssuer::with_timeout(&url, Duration::from_secs(2)).unwrap();
    assert!(matches!(
        issuer.begin(SERIAL, &[0; 8]),
        Err(IssuerError::Transport(_) | IssuerError::Timeout)
    ));
}

#[test]
fn the_weaker_mode_reports_itself() {
    let issuer = DangerousCardKeysIssuer::new(|serial: &[u8]| Some(simulated_card_keys(serial)));
    let mode = authenticate_and_read(&issuer);
    assert_eq!(mode, IssuerMode::CardKeysOnHost);
    assert!(mode.is_weakened());
    let mut ch = channel(MiniCard::simulated());
    let (_, report) = device_auth::authenticate_with_report(&mut ch, &issuer, SERIAL).unwrap();
    assert_eq!(report.issuer_mode, IssuerMode::CardKeysOnHost);
}

#[test]
fn wrong_card_keys_over_http_are_a_card_refusal() {
    let server = SimulatedIssuer::new().serve_http("127.0.0.1:0").unwrap();
    let issuer = HttpIssuer::new(&server.url()).unwrap();
    let card = MiniCard::with_keys(CardKeys::diversify(&[0x5A; 16], SERIAL));
    let mut ch = channel(card);
    let err = device_auth::authenticate(&mut ch, &issuer, SERIAL).unwrap_err();
    assert!(
        matches!(err, AuthError::CardRefused { command: "MUTUAL AUTHENTICATE", sw } if sw.value() == 0x6300),
        "{err:?}"
    );
}

#[test]
fn unknown_card_over_http_is_an_issuer_refusal() {
    let server = SimulatedIssuer::new()
        .only_cards(["SOMEONE ELSE"])
        .serve_http("127.0.0.1:0")
        .unwrap();
    let issuer = HttpIssuer::new(&server.url()).unwrap();
    let mut ch = channel(MiniCard::simulated());
    let err = device_auth::authenticate(&mut ch, &issuer, SERIAL).unwrap_err();
    assert!(
        matches!(err, AuthError::Issuer(IssuerError::UnknownCard)),
        "{err:?}"
    );
}

#[test]
fn modified_card_cryptogram_over_http_is_refused() {
    let server = SimulatedIssuer::new().serve_http("127.0.0.1:0").unwrap();
    let issuer = HttpIssuer::new(&server.url()).unwrap();
    let mut card = MiniCard::simulated();
    card.flip_card_cryptogram = true;
    let mut ch = channel(card);
    let err = device_auth::authenticate(&mut ch, &issuer, SERIAL).unwrap_err();
    assert!(matches!(err, AuthError::BadCardCryptogram), "{err:?}");
}

#[test]
fn replayed_finish_and_expired_session_over_http() {
    let server = SimulatedIssuer::new()
        .with_ttl(Duration::from_millis(150))
        .serve_http("127.0.0.1:0")
        .unwrap();
    let issuer = HttpIssuer::new(&server.url()).unwrap();

    // One session, finished once; the same finish again is refused.
    let mut card = CardAuthenticator::simulated(SERIAL);
    let begun = issuer.begin(SERIAL, &card.get_challenge()).unwrap();
    let (answer, _) = card
        .mutual_authenticate(&begun.terminal_cryptogram)
        .unwrap();
    issuer.finish(&begun.session, &answer).unwrap();
    assert!(matches!(
        issuer.finish(&begun.session, &answer),
        Err(IssuerError::UnknownSession)
    ));

    // A session left waiting past its lifetime.
    let begun = issuer.begin(SERIAL, &card.get_challenge()).unwrap();
    let (answer, _) = card
        .mutual_authenticate(&begun.terminal_cryptogram)
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(matches!(
        issuer.finish(&begun.session, &answer),
        Err(IssuerError::SessionExpired)
    ));

    // The card's answer to one session does not finish another.
    let first = issuer.begin(SERIAL, &card.get_challenge()).unwrap();
    let (answer, _) = card
        .mutual_authenticate(&first.terminal_cryptogram)
        .unwrap();
    let second = issuer.begin(SERIAL, &[7; 8]).unwrap();
    assert!(matches!(
        issuer.finish(&second.session, &answer),
        Err(IssuerError::BadCardCryptogram)
    ));
}

#[test]
fn a_bad_mac_after_http_authentication_closes_the_session() {
    let server = SimulatedIssuer::new().serve_http("127.0.0.1:0").unwrap();
    let issuer = HttpIssuer::new(&server.url()).unwrap();
    let mut ch = channel(MiniCard::simulated());
    let mut sc = device_auth::authenticate(&mut ch, &issuer, SERIAL).unwrap();
    // Another session's keys on the card: its answers do not verify under ours.
    let mut other = CardAuthenticator::simulated(SERIAL);
    let begun = issuer.begin(SERIAL, &other.get_challenge()).unwrap();
    let (_, foreign_sm) = other
        .mutual_authenticate(&begun.terminal_cryptogram)
        .unwrap();
    let mut foreign_sm = foreign_sm;
    let wrapped = sc.wrap(&Command::new(0, 0xB0, 0, 0).with_le(8)).unwrap();
    let reply = foreign_sm.wrap_response(&[1; 8], StatusWord::SUCCESS);
    assert!(wrapped.data().len() > 8);
    let err = sc.unwrap(&Response::parse(&reply).unwrap()).unwrap_err();
    assert!(matches!(err, SmError::BadMac), "{err:?}");
    assert!(!sc.is_open());
}

/// One raw HTTP/1.1 exchange; returns the status code and the body.
fn raw_http(addr: std::net::SocketAddr, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn the_http_service_refuses_malformed_requests_with_typed_codes() {
    let server = SimulatedIssuer::new().serve_http("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let (status, body) = raw_http(
        addr,
        "GET /v1/sessions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((status, body.as_str()), (405, r#"{"error":"bad_request"}"#));
    let (status, _) = raw_http(addr, &post("/v1/sessions", "{not json"));
    assert_eq!(status, 400);
    let (status, body) = raw_http(
        addr,
        &post("/v1/sessions", r#"{"serial":"5348","challenge":"0011"}"#),
    );
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"error":"bad_challenge"}"#)
    );
    let (status, body) = raw_http(
        addr,
        &post(
            "/v1/sessions/../../etc/finish",
            r#"{"card_cryptogram":"00"}"#,
        ),
    );
    assert_eq!((status, body.as_str()), (404, r#"{"error":"not_found"}"#));
    let (status, body) = raw_http(
        addr,
        &post("/v1/sessions/abc/finish", r#"{"card_cryptogram":"00"}"#),
    );
    assert_eq!(
        (status, body.as_str()),
        (404, r#"{"error":"unknown_session"}"#)
    );
    let huge = format!(r#"{{"serial":"{}","challenge":"00"}}"#, "0".repeat(20_000));
    let (status, _) = raw_http(addr, &post("/v1/sessions", &huge));
    assert_eq!(status, 413);
    // A well-formed begin answers 201 with the documented fields.
    let (status, body) = raw_http(
        addr,
        &post(
            "/v1/sessions",
            &format!(
                r#"{{"serial":"{}","challenge":"0001020304050607"}}"#,
                hex::encode(SERIAL)
            ),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json["terminal_cryptogram"].as_str().map(str::len),
        Some(144)
    );
    assert!(json["session"].is_string() && json["expires_in_ms"].as_u64() == Some(30_000));
}

#[test]
fn the_server_listens_on_loopback_only() {
    assert!(matches!(
        SimulatedIssuer::new().serve_http("0.0.0.0:0"),
        Err(IssuerServerError::NotLoopback(_))
    ));
    assert!(matches!(
        HttpIssuer::new("http://192.0.2.1:8446"),
        Err(IssuerError::InsecureEndpoint { .. })
    ));
}

#[test]
fn the_binary_prints_ready_and_serves() {
    let mut child = Process::new(env!("CARGO_BIN_EXE_shenas-sim-issuer"))
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("ready addr=")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let issuer = HttpIssuer::new(&format!("http://{addr}")).unwrap();
    let mode = authenticate_and_read(&issuer);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(mode, IssuerMode::SessionKeysOnly);

    let refused = Process::new(env!("CARGO_BIN_EXE_shenas-sim-issuer"))
        .args(["--listen", "0.0.0.0:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("loopback"));
}

/// Measures `authenticate` (2 APDUs to an in-process card + 2 issuer round trips) in process
/// and over loopback HTTP, and prints the figures (`cargo test -- --nocapture`).
#[test]
fn authenticate_timing_in_process_and_over_http() {
    const RUNS: u32 = 200;
    let measure = |issuer: &dyn IssuerAuthority| {
        let mut ch = channel(MiniCard::simulated());
        let mut issuer_time = Duration::ZERO;
        let started = Instant::now();
        for _ in 0..RUNS {
            let (_, report) =
                device_auth::authenticate_with_report(&mut ch, issuer, SERIAL).unwrap();
            issuer_time += report.issuer_time;
        }
        (started.elapsed() / RUNS, issuer_time / RUNS)
    };
    let in_process = SimulatedIssuer::new();
    let (local, local_issuer) = measure(&in_process);
    let server = SimulatedIssuer::new().serve_http("127.0.0.1:0").unwrap();
    let http = HttpIssuer::new(&server.url()).unwrap();
    let (remote, remote_issuer) = measure(&http);
    eprintln!(
        "authenticate, mean of {RUNS}: in process {local:?} (issuer {local_issuer:?}); \
         over loopback HTTP {remote:?} (issuer {remote_issuer:?})"
    );
    assert!(local > Duration::ZERO && remote > Duration::ZERO);
    assert!(remote_issuer >= local_issuer);
}
