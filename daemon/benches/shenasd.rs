//! Benchmark of `shenasd`'s localhost API beside a minimal Rust WebSocket echo server, in the
//! same run: requests/s and p50/p99 latency of listing readers over the WebSocket with 1, 10
//! and 100 concurrent clients (the same over HTTP keep-alive), the daemon's RSS idle and after
//! 100,000 requests, and the time from start to ready. With `SHENAS_BENCH_READER` naming a
//! PC/SC reader that holds the simulated citizen's national card, it also measures card
//! operations (identify; read identity with device authentication, secure messaging and passive
//! authentication) through the daemon's HTTP API with 1, 10 and 100 clients, beside the same
//! operation called in process through the same pcscd (the daemon's overhead is the difference).
//! Ends with one JSON line.
//!
//!     cargo bench -p shenas-daemon --bench shenasd            # release, no card
//!     .ci/bench-shenasd                                       # with pcscd + vpcd + shenas-sim
//!
//! The daemon and the echo server each run as a child process (this binary with `--echo`), so
//! both are measured the same way; rounds alternate between them to share the machine's drift.

// A benchmark driver: a failed step ends the run loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
#![allow(missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const DAEMON_PORT: u16 = 24790;
const ECHO_PORT: u16 = 24791;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--echo") {
        echo_server();
        return;
    }
    // `cargo bench` passes `--bench`; nothing else to parse.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

/// The peer: accept WebSocket connections and echo every text message.
fn echo_server() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", ECHO_PORT))
            .await
            .unwrap();
        println!("ready");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_text() && ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

struct Proc {
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` and waits for a stdout line starting with `ready`; returns the time it took.
fn start(mut cmd: Command) -> (Proc, Duration) {
    let started = Instant::now();
    // `SHENAS_BENCH_DAEMON_LOG=FILE`: the children's logs go there (for a failed run).
    let stderr = std::env::var_os("SHENAS_BENCH_DAEMON_LOG")
        .and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        })
        .map_or_else(Stdio::null, Stdio::from);
    let mut child = cmd.stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().expect("the child closed its output").unwrap();
        if line.starts_with("ready") {
            break;
        }
    }
    let elapsed = started.elapsed();
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Proc { child }, elapsed)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(port: u16, token: Option<&str>) -> Ws {
    let path = if token.is_some() { "/v1/events" } else { "/" };
    let mut request = format!("ws://127.0.0.1:{port}{path}")
        .into_client_request()
        .unwrap();
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    }
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .unwrap();
    ws
}

/// `clients` connections each send `per_client` requests one after another; returns the
/// latencies and the wall time.
async fn ws_round(
    port: u16,
    token: Option<&str>,
    clients: usize,
    per_client: usize,
) -> (Vec<Duration>, Duration) {
    let mut sockets = Vec::new();
    for _ in 0..clients {
        sockets.push(connect(port, token).await);
    }
    let started = Instant::now();
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let text = format!(r#"{{"id":{i},"op":"list_readers"}}"#);
                    let sent = Instant::now();
                    ws.send(Message::Text(text.into())).await.unwrap();
                    loop {
                        match ws.next().await {
                            Some(Ok(Message::Text(t)))
                                if !t.as_str().starts_with(r#"{"event""#) =>
                            {
                                break;
                            }
                            Some(Ok(_)) => {}
                            other => panic!("socket ended: {other:?}"),
                        }
                    }
                    latencies.push(sent.elapsed());
                }
                let _ = ws.close(None).await;
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, started.elapsed())
}

/// The same over HTTP/1.1 keep-alive (hand-written client, one connection per client).
async fn http_round(
    port: u16,
    token: &str,
    clients: usize,
    per_client: usize,
) -> (Vec<Duration>, Duration) {
    let request = format!(
        "GET /v1/readers HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    keep_alive_round(port, request, clients, per_client).await
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index].as_secs_f64() * 1e6
}

fn summary(mut latencies: Vec<Duration>, wall: Duration) -> serde_json::Value {
    latencies.sort();
    json!({
        "requests": latencies.len(),
        "rps": (latencies.len() as f64 / wall.as_secs_f64()).round(),
        "p50_us": (percentile(&latencies, 0.50) * 10.0).round() / 10.0,
        "p99_us": (percentile(&latencies, 0.99) * 10.0).round() / 10.0,
    })
}

/// One card operation the benchmark measures.
#[derive(Clone, Copy)]
enum CardOp {
    /// `GET /v1/readers/{r}/card`: 3 GET DATA.
    Identify,
    /// `POST /v1/readers/{r}/identity`: GET DATA serial, SELECT, GET CHALLENGE, MUTUAL
    /// AUTHENTICATE (simulated issuer), the data groups and EF.SOD under secure messaging, and
    /// passive authentication.
    ReadIdentity,
}

impl CardOp {
    fn name(self) -> &'static str {
        match self {
            Self::Identify => "identify",
            Self::ReadIdentity => "read_identity",
        }
    }
}

/// The operation called in process over the same pcscd, one PC/SC transaction each, as the
/// daemon's reader worker runs it (a connection kept open).
fn in_process(reader: &str, op: CardOp, n: usize) -> Vec<Duration> {
    use shenas_apdu::pcsc::{ConnectOptions, PcscContext};
    use shenas_cards::session::CardSession;
    let mut context = PcscContext::establish().unwrap();
    let mut card = context.connect(reader, ConnectOptions::default()).unwrap();
    let issuer = shenas_simulators::issuer::SimulatedIssuer::new();
    let anchors = shenas_cards::pki::TrustAnchors::simulated();
    let config = shenas_daemon::daemon::conversations::channel_config();
    let mut latencies = Vec::with_capacity(n);
    let mut resets = 0;
    while latencies.len() < n {
        let started = Instant::now();
        let mut transaction = card.transaction().unwrap();
        let mut session = CardSession::open(&mut transaction, config).unwrap();
        let outcome = match op {
            CardOp::Identify => session.identify().map(|_| ()),
            CardOp::ReadIdentity => session.card_serial().and_then(|_| {
                let reading =
                    session.read_identity(&issuer, &anchors, std::time::SystemTime::now())?;
                assert!(reading.passive_authentication.valid);
                Ok(())
            }),
        };
        drop(session);
        drop(transaction);
        match outcome {
            Ok(()) => latencies.push(started.elapsed()),
            // pcscd powered the idle card down (or the daemon's worker reset it): connect
            // afresh, as the daemon does, and do not count this round.
            Err(e) if e.code() == "card_reset" && resets < 10 => {
                resets += 1;
                card = context.connect(reader, ConnectOptions::default()).unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    }
    latencies
}

/// The HTTP request of `op` on `reader`.
fn card_request(port: u16, token: &str, reader: &str, op: CardOp) -> String {
    let path_reader = reader.replace(' ', "%20");
    match op {
        CardOp::Identify => format!(
            "GET /v1/readers/{path_reader}/card HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
        ),
        CardOp::ReadIdentity => format!(
            "POST /v1/readers/{path_reader}/identity HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
        ),
    }
}

/// Sends one request on a keep-alive connection and reads its whole answer (which must be 200).
async fn exchange(
    stream: &mut tokio::net::TcpStream,
    request: &str,
    buffer: &mut [u8],
) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sent = Instant::now();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    loop {
        let n = stream.read(buffer).await.unwrap();
        assert!(n > 0, "closed");
        got.extend_from_slice(&buffer[..n]);
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&got[..end]).to_string();
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        assert!(
            head.starts_with("HTTP/1.1 200"),
            "{head} {}",
            String::from_utf8_lossy(&got[end..])
        );
        if got.len() >= end + 4 + len {
            return sent.elapsed();
        }
    }
}

/// `clients` HTTP clients (one keep-alive connection each) send `per_client` requests of `op`.
async fn card_round(
    port: u16,
    token: &str,
    reader: &str,
    op: CardOp,
    clients: usize,
    per_client: usize,
) -> (Vec<Duration>, Duration) {
    keep_alive_round(
        port,
        card_request(port, token, reader, op),
        clients,
        per_client,
    )
    .await
}

/// `clients` HTTP clients, one keep-alive connection each, send `request` `per_client` times.
async fn keep_alive_round(
    port: u16,
    request: String,
    clients: usize,
    per_client: usize,
) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap();
                stream.set_nodelay(true).unwrap();
                let mut buffer = vec![0u8; 65536];
                let mut latencies = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    latencies.push(exchange(&mut stream, &request, &mut buffer).await);
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, started.elapsed())
}

/// Card operations through the daemon beside the same calls in process.
async fn card_results(token: &str, reader: &str) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for op in [CardOp::Identify, CardOp::ReadIdentity] {
        let n = match op {
            CardOp::Identify => 300,
            CardOp::ReadIdentity => 100,
        };
        // One keep-alive connection to the daemon and one PC/SC connection in process, used
        // alternately request by request, so both see the same drift of the machine.
        let (go, jobs) = std::sync::mpsc::channel::<usize>();
        let (done, times) = std::sync::mpsc::channel::<Vec<Duration>>();
        let r = reader.to_owned();
        let local_thread = std::thread::spawn(move || {
            for n in jobs {
                let _ = done.send(in_process(&r, op, n));
            }
        });
        let request = card_request(DAEMON_PORT, token, reader, op);
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", DAEMON_PORT))
            .await
            .unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buffer = vec![0u8; 65536];
        for _ in 0..10 {
            exchange(&mut stream, &request, &mut buffer).await;
        }
        go.send(10).unwrap();
        times.recv().unwrap();
        let (mut daemon, mut local) = (Vec::new(), Vec::new());
        let (mut d_wall, mut l_wall) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..n {
            let d = exchange(&mut stream, &request, &mut buffer).await;
            d_wall += d;
            daemon.push(d);
            go.send(1).unwrap();
            let l = times.recv().unwrap();
            l_wall += l.iter().sum::<Duration>();
            local.extend(l);
        }
        drop(go);
        local_thread.join().unwrap();
        let daemon = summary(daemon, d_wall);
        let local = summary(local, l_wall);
        let overhead = daemon["p50_us"].as_f64().unwrap() - local["p50_us"].as_f64().unwrap();
        let mut entry = serde_json::Map::new();
        entry.insert("shenasd_http_clients_1".into(), daemon.clone());
        entry.insert("in_process".into(), local.clone());
        entry.insert(
            "p50_overhead_us".into(),
            json!((overhead * 10.0).round() / 10.0),
        );
        eprintln!(
            "{} clients=1  shenasd http: {daemon}  in process: {local}  p50 overhead {overhead:.1} µs",
            op.name()
        );
        for &clients in &[10usize, 100] {
            let per_client = (n / clients).max(2);
            let (l, w) = card_round(DAEMON_PORT, token, reader, op, clients, per_client).await;
            let s = summary(l, w);
            eprintln!("{} clients={clients:3}  shenasd http: {s}", op.name());
            entry.insert(format!("shenasd_http_clients_{clients}"), s);
        }
        out.insert(op.name().into(), serde_json::Value::Object(entry));
    }
    serde_json::Value::Object(out)
}

async fn run() {
    let exe = std::env::current_exe().unwrap();
    let dir = std::env::temp_dir().join(format!("shenasd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("shenasd.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{DAEMON_PORT}\"\nbus = \"none\"\nkiosk = true\nrequests_per_second = 10000000\nburst = 10000000\nmax_ws_clients = 512\ntoken_file = \"{}\"\naudit_log = \"{}\"\n",
            dir.join("token").display(),
            dir.join("audit.jsonl").display()
        ),
    )
    .unwrap();

    // Time to ready: the best of five starts (a fresh process each time).
    let mut ready_times = Vec::new();
    for _ in 0..5 {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shenasd"));
        cmd.arg("--config").arg(&config).env("SHENAS_LOG", "warn");
        let (daemon, elapsed) = start(cmd);
        ready_times.push(elapsed);
        drop(daemon);
    }
    ready_times.sort();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shenasd"));
    cmd.arg("--config").arg(&config).env(
        "SHENAS_LOG",
        std::env::var("SHENAS_BENCH_LOG_LEVEL").unwrap_or_else(|_| "warn".into()),
    );
    let (daemon, _) = start(cmd);
    let pid = daemon.child.id();
    let token = std::fs::read_to_string(dir.join("token")).unwrap();
    let mut echo_cmd = Command::new(&exe);
    echo_cmd.arg("--echo");
    let (_echo, _) = start(echo_cmd);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_idle = rss_kib(pid);

    let mut results = serde_json::Map::new();
    let mut total = 0usize;
    for &clients in &[1usize, 10, 100] {
        let per_client = match clients {
            1 => 5000,
            10 => 1000,
            _ => 200,
        };
        // Warm-up, then alternate rounds.
        let _ = ws_round(DAEMON_PORT, Some(&token), clients, 50).await;
        let _ = ws_round(ECHO_PORT, None, clients, 50).await;
        let (mut d_lat, mut e_lat, mut h_lat) = (Vec::new(), Vec::new(), Vec::new());
        let (mut d_wall, mut e_wall, mut h_wall) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        for _ in 0..3 {
            let (l, w) = ws_round(DAEMON_PORT, Some(&token), clients, per_client).await;
            total += l.len();
            d_lat.extend(l);
            d_wall += w;
            let (l, w) = ws_round(ECHO_PORT, None, clients, per_client).await;
            e_lat.extend(l);
            e_wall += w;
            let (l, w) = http_round(DAEMON_PORT, &token, clients, per_client / 2).await;
            total += l.len();
            h_lat.extend(l);
            h_wall += w;
        }
        let daemon_ws = summary(d_lat, d_wall);
        let echo = summary(e_lat, e_wall);
        let http = summary(h_lat, h_wall);
        let ratio =
            daemon_ws["p50_us"].as_f64().unwrap() / echo["p50_us"].as_f64().unwrap().max(0.001);
        eprintln!(
            "clients={clients:3}  shenasd ws: {daemon_ws}  echo: {echo}  shenasd http: {http}  p50 ratio ws/echo {ratio:.2}"
        );
        results.insert(
            format!("clients_{clients}"),
            json!({"shenasd_ws": daemon_ws, "echo_ws": echo, "shenasd_http": http,
                   "p50_ratio_ws_vs_echo": (ratio * 100.0).round() / 100.0}),
        );
    }
    let card_reader = std::env::var("SHENAS_BENCH_READER").ok();
    let cards = match &card_reader {
        Some(reader) => card_results(&token, reader).await,
        None => {
            eprintln!(
                "SHENAS_BENCH_READER unset: no card operations measured (.ci/bench-shenasd sets it)"
            );
            serde_json::Value::Null
        }
    };
    // RSS under load (after the rounds above), then again after 100,000 more requests: the
    // difference is the growth (a leak shows there; allocator high-water marks do not grow).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_loaded = rss_kib(pid);
    let mut more = 0usize;
    while more < 100_000 {
        let (l, _) = ws_round(DAEMON_PORT, Some(&token), 10, 1000).await;
        more += l.len();
    }
    total += more;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_after = rss_kib(pid);
    eprintln!(
        "RSS idle {rss_idle} KiB, under load {rss_loaded} KiB, after 100,000 more requests {rss_after} KiB"
    );
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
    let line = json!({
        "bench": "shenasd_list_readers",
        "profile": if cfg!(debug_assertions) { "dev" } else { "release" },
        "ready_ms_best": (ready_times[0].as_secs_f64() * 1e4).round() / 10.0,
        "ready_ms_median": (ready_times[2].as_secs_f64() * 1e4).round() / 10.0,
        "rss_idle_kib": rss_idle,
        "rss_loaded_kib": rss_loaded,
        "rss_after_100k_more_kib": rss_after,
        "rss_growth_over_100k_kib": rss_after.saturating_sub(rss_loaded),
        "requests_total": total,
        "results": results,
        "card_operations": cards,
    });
    println!("{line}");
}
