//! The D-Bus API under `dbus-run-session` with a real dbus-daemon: the daemon owns
//! `ir.shenas.Daemon1` on the session bus, answers `ir.shenas.Manager1` through the SDK's
//! client, maps failures to typed `ir.shenas.Error.*` errors, publishes per-reader objects,
//! and keeps serving the localhost API when no bus is reachable.
//!
//! Each test re-executes its own binary under `dbus-run-session` (package `dbus`), marked by an
//! environment variable, and checks the child ran the test and passed.

// Test code: a failed step fails the test at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use shenas_daemon::daemon::config::{BusChoice, Config, PolkitMode};
use shenas_daemon::daemon::{self, BasicConversations, Ready};
use tokio_util::sync::CancellationToken;

const CHILD: &str = "SHENASD_DBUS_TEST_CHILD";
const LIMIT: Duration = Duration::from_secs(60);

/// True inside the `dbus-run-session` child; in the parent, runs the child and checks it.
fn inside_bus(name: &str) -> bool {
    if std::env::var(CHILD).is_ok_and(|v| v == name) {
        return true;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("timeout")
        .arg("120")
        .arg("dbus-run-session")
        .arg("--")
        .arg(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .output()
        .expect("dbus-run-session (apt-get install dbus)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}\n{stderr}"
    );
    false
}

async fn start(
    name: &str,
    tweak: impl FnOnce(&mut Config),
) -> (
    Ready,
    CancellationToken,
    tokio::task::JoinHandle<()>,
    std::path::PathBuf,
) {
    let dir = std::env::temp_dir().join(format!("shenasd-dbus-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        token_file: dir.join("token"),
        audit_log: dir.join("audit.jsonl"),
        bus: BusChoice::Session,
        ..Config::default()
    };
    tweak(&mut config);
    let stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let token = stop.clone();
    let task = tokio::spawn(async move {
        let mut tx = Some(tx);
        daemon::run(config, Arc::new(BasicConversations), token, |ready| {
            if let Some(tx) = tx.take() {
                let _ = tx.send(ready.clone());
            }
        })
        .await
        .unwrap();
    });
    let ready = tokio::time::timeout(LIMIT, rx).await.unwrap().unwrap();
    (ready, stop, task, dir)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn manager_answers_on_the_session_bus() {
    if !inside_bus("manager_answers_on_the_session_bus") {
        return;
    }
    runtime().block_on(async {
        tokio::time::timeout(LIMIT, async {
            let (ready, stop, task, dir) = start("manager", |_| {}).await;
            assert_eq!(ready.bus, "session");

            let client = shenas_sdk::bus::BusClient::connect(shenas_sdk::bus::Bus::Session)
                .await
                .unwrap();
            let status = client.status().await.unwrap();
            assert_eq!(status.bus, "session");
            assert_eq!(status.wire_version, 1);
            let readers = client.readers().await.unwrap();
            assert_eq!(readers.len(), status.readers);
            // A failure is a typed error carrying the stable code.
            let error = client.identify("No Such Reader").await.unwrap_err();
            let code = error.code().unwrap();
            assert!(
                matches!(
                    code,
                    shenas_sdk::ErrorCode::NoReader | shenas_sdk::ErrorCode::NoService
                ),
                "{error:?}"
            );
            // The D-Bus error name itself, seen by a plain zbus caller.
            let conn = zbus::Connection::session().await.unwrap();
            let reply = conn
                .call_method(
                    Some("ir.shenas.Daemon1"),
                    "/ir/shenas/Daemon1",
                    Some("ir.shenas.Manager1"),
                    "Identify",
                    &("No Such Reader",),
                )
                .await;
            match reply {
                Err(zbus::Error::MethodError(name, Some(description), _)) => {
                    assert!(
                        name.as_str() == "ir.shenas.Error.NoReader"
                            || name.as_str() == "ir.shenas.Error.NoService",
                        "{name}"
                    );
                    let parsed: shenas_sdk::ApiError = serde_json::from_str(&description).unwrap();
                    assert!(!parsed.message_fa.is_empty());
                }
                other => panic!("expected a typed error, got {other:?}"),
            }
            // Privileged method, same uid on the session bus: authorised, reaches the reader layer.
            let error = client
                .read_identity("_", &shenas_sdk::ReadIdentityRequest::default())
                .await
                .unwrap_err();
            assert!(
                matches!(
                    error.code(),
                    Some(shenas_sdk::ErrorCode::NoCard | shenas_sdk::ErrorCode::NoService)
                ),
                "{error:?}"
            );
            assert!(!client.service_available().await.unwrap() || status.service_available);
            // Introspection shows the versioned interface.
            let xml: String = zbus::fdo::IntrospectableProxy::builder(&conn)
                .destination("ir.shenas.Daemon1")
                .unwrap()
                .path("/ir/shenas/Daemon1")
                .unwrap()
                .build()
                .await
                .unwrap()
                .introspect()
                .await
                .unwrap();
            assert!(xml.contains("ir.shenas.Manager1"), "{xml}");
            assert!(xml.contains("CardInserted"), "{xml}");

            stop.cancel();
            tokio::time::timeout(LIMIT, task).await.unwrap().unwrap();
            // The name is released at shutdown.
            let dbus = zbus::fdo::DBusProxy::new(&conn).await.unwrap();
            let owned = dbus
                .name_has_owner("ir.shenas.Daemon1".try_into().unwrap())
                .await
                .unwrap();
            assert!(!owned);
            let _ = std::fs::remove_dir_all(dir);
        })
        .await
        .unwrap();
    });
}

#[test]
fn a_second_daemon_cannot_take_the_name_and_serves_http_only() {
    if !inside_bus("a_second_daemon_cannot_take_the_name_and_serves_http_only") {
        return;
    }
    runtime().block_on(async {
        tokio::time::timeout(LIMIT, async {
            let (first, stop1, task1, dir1) =
                start("first", |c| c.polkit = PolkitMode::Required).await;
            assert_eq!(first.bus, "session");
            let (second, stop2, task2, dir2) = start("second", |_| {}).await;
            assert_eq!(
                second.bus, "none",
                "the name is taken: no bus for the second"
            );
            assert_ne!(first.http, second.http);
            for stop in [stop1, stop2] {
                stop.cancel();
            }
            for task in [task1, task2] {
                tokio::time::timeout(LIMIT, task).await.unwrap().unwrap();
            }
            let _ = std::fs::remove_dir_all(dir1);
            let _ = std::fs::remove_dir_all(dir2);
        })
        .await
        .unwrap();
    });
}

#[test]
fn without_a_bus_the_localhost_api_still_serves() {
    let dir = std::env::temp_dir().join(format!("shenasd-nobus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_shenasd"))
        .args(["--listen", "127.0.0.1:0", "--bus", "session"])
        .arg("--token-file")
        .arg(dir.join("token"))
        .arg("--audit-log")
        .arg(dir.join("audit.jsonl"))
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env("SHENAS_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(LIMIT).unwrap();
    assert!(line.starts_with("ready http=127.0.0.1:"), "{line}");
    assert!(line.contains("bus=none"), "{line}");
    let addr = line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_start_matches("http=")
        .to_owned();
    let token = std::fs::read_to_string(dir.join("token")).unwrap();
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(stream, "GET /v1/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"bus\":\"none\""), "{text}");
    // SIGTERM: a graceful exit with status 0.
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(dir);
}
