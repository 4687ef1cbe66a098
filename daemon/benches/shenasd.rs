//! Benchmark of `shenasd`'s localhost API beside a minimal Rust WebSocket echo server, in the
//! same run: requests/s and p50/p99 latency of listing readers over the WebSocket with 1, 10
//! and 100 concurrent clients (the same over HTTP keep-alive), the daemon's RSS idle and after
//! 100,000 requests, and the time from start to ready. Ends with one JSON line.
//!
//!     cargo bench -p shenas-daemon --bench shenasd            # release
//!     cargo bench -p shenas-daemon --bench shenasd --profile dev
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
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let request = format!(
                "GET /v1/readers HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
            );
            tokio::spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut latencies = Vec::with_capacity(per_client);
                let mut buffer = vec![0u8; 8192];
                for _ in 0..per_client {
                    let sent = Instant::now();
                    stream.write_all(request.as_bytes()).await.unwrap();
                    // Read one response: head, then Content-Length bytes.
                    let mut got = Vec::new();
                    loop {
                        let n = stream.read(&mut buffer).await.unwrap();
                        assert!(n > 0, "closed");
                        got.extend_from_slice(&buffer[..n]);
                        let text = String::from_utf8_lossy(&got);
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let len: usize = head
                                .lines()
                                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                                .unwrap_or(0);
                            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
                            if body.len() >= len {
                                break;
                            }
                        }
                    }
                    latencies.push(sent.elapsed());
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
    cmd.arg("--config").arg(&config).env("SHENAS_LOG", "warn");
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
    // Top up to 100,000 requests, then measure RSS again.
    while total < 100_000 {
        let (l, _) = ws_round(DAEMON_PORT, Some(&token), 10, 1000).await;
        total += l.len();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_after = rss_kib(pid);
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
    let line = json!({
        "bench": "shenasd_list_readers",
        "profile": if cfg!(debug_assertions) { "dev" } else { "release" },
        "ready_ms_best": (ready_times[0].as_secs_f64() * 1e4).round() / 10.0,
        "ready_ms_median": (ready_times[2].as_secs_f64() * 1e4).round() / 10.0,
        "rss_idle_kib": rss_idle,
        "rss_after_kib": rss_after,
        "requests_total": total,
        "results": results,
    });
    println!("{line}");
}
