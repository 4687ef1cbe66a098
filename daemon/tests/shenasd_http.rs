//! The localhost API over real sockets, with the daemon run in process (no card needed): each
//! refusal is a 4xx with a stable code and a reason and leaves the daemon serving; the OpenAPI
//! document and the routes agree; CORS echoes allowed origins only; the rate limit; consent and
//! the audit log; the WebSocket; Unix-socket peer credentials.

// Test code: a failed step fails the test at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use shenas_daemon::daemon::config::{BusChoice, Config};
use shenas_daemon::daemon::{self, BasicConversations, Ready};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

const LIMIT: Duration = Duration::from_secs(30);

struct Daemon {
    addr: SocketAddr,
    token: String,
    dir: PathBuf,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    unix: Option<PathBuf>,
}

impl Daemon {
    async fn start(name: &str, tweak: impl FnOnce(&mut Config)) -> Daemon {
        let dir = std::env::temp_dir().join(format!("shenasd-http-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            token_file: dir.join("token"),
            audit_log: dir.join("audit.jsonl"),
            bus: BusChoice::None,
            max_body_bytes: 1024,
            ..Config::default()
        };
        tweak(&mut config);
        let stop = CancellationToken::new();
        let (tx, rx) = tokio::sync::oneshot::channel::<Ready>();
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
        let token = std::fs::read_to_string(dir.join("token")).unwrap();
        Daemon {
            addr: ready.http,
            token,
            dir,
            stop,
            task,
            unix: ready.unix_socket,
        }
    }

    /// Sends a raw HTTP/1.1 request; returns status and JSON body (Null when not JSON) and the
    /// response head.
    async fn raw(&self, request: String) -> (u16, Value, String) {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        read_response(&mut stream).await
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value, String) {
        let mut text = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
        let has_host = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"));
        if !has_host {
            text.push_str(&format!("Host: 127.0.0.1:{}\r\n", self.addr.port()));
        }
        for (k, v) in headers {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        self.raw(text).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let auth = format!("Bearer {}", self.token);
        let (status, body, _) = self
            .request("GET", path, &[("Authorization", &auth)], "")
            .await;
        (status, body)
    }

    async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        let auth = format!("Bearer {}", self.token);
        let (status, body, _) = self
            .request(
                "POST",
                path,
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                body,
            )
            .await;
        (status, body)
    }

    async fn assert_serving(&self) {
        let (status, body) = self.get("/v1/status").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["wire_version"], 1);
    }

    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(LIMIT, self.task)
            .await
            .unwrap()
            .unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn read_response<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> (u16, Value, String) {
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::Null),
        head.to_owned(),
    )
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

fn assert_refused(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        body["message_fa"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn refusals_are_4xx_with_a_reason_and_harmless() {
    tokio::time::timeout(LIMIT, async {
        let d = Daemon::start("refusals", |_| {}).await;
        d.assert_serving().await;

        // No token, unknown token.
        let (s, b, _) = d.request("GET", "/v1/readers", &[], "").await;
        assert_refused(s, &b, 401, "unauthorized");
        d.assert_serving().await;
        let (s, b, _) = d.request("GET", "/v1/readers", &[("Authorization", "Bearer 0123456789abcdef0123456789abcdef")], "").await;
        assert_refused(s, &b, 401, "unauthorized");
        assert_eq!(b["reason"], "unknown token");
        d.assert_serving().await;

        let auth = format!("Bearer {}", d.token);
        // A foreign Origin, even with the right token.
        let (s, b, head) = d.request("GET", "/v1/readers", &[("Authorization", &auth), ("Origin", "https://evil.example")], "").await;
        assert_refused(s, &b, 403, "forbidden_origin");
        assert!(!head.to_ascii_lowercase().contains("access-control-allow-origin"), "{head}");
        d.assert_serving().await;

        // A Host that is not a loopback name (DNS rebinding).
        let (s, b, _) = d.request("GET", "/v1/readers", &[("Authorization", &auth), ("Host", "evil.example:24780")], "").await;
        assert_refused(s, &b, 403, "forbidden_host");
        d.assert_serving().await;

        // Oversize body, declared and undeclared (chunked).
        let big = format!("{{\"pin\":\"{}\"}}", "1".repeat(4096));
        let (s, b) = d.post("/v1/readers/_/pins/id/verify", &big).await;
        assert_refused(s, &b, 413, "payload_too_large");
        d.assert_serving().await;
        let chunk = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
        let raw = format!(
            "POST /v1/readers/_/pins/id/verify HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: {auth}\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}"
        );
        let (s, b, _) = d.raw(raw).await;
        assert_refused(s, &b, 413, "payload_too_large");
        d.assert_serving().await;

        // Malformed JSON, wrong types, bad hexadecimal.
        let (s, b) = d.post("/v1/readers/_/pins/id/verify", "{\"pin\": ").await;
        assert_refused(s, &b, 400, "bad_request");
        let (s, b) = d.post("/v1/readers/_/pins/id/verify", "{\"pin\": 1234}").await;
        assert_refused(s, &b, 400, "bad_request");
        assert!(!b.to_string().contains("1234"), "the reply never echoes a PIN: {b}");
        let (s, b) = d.post("/v1/readers/_/sign", "{\"hash_algorithm\":\"sha256\",\"hash\":\"zz\"}").await;
        assert_refused(s, &b, 400, "bad_request");
        let (s, b) = d.post("/v1/readers/_/sign", "{\"hash_algorithm\":\"sha256\",\"hash\":\"00\"}").await;
        assert_refused(s, &b, 400, "bad_request");
        let (s, b) = d.get("/v1/readers/_/pins/nope").await;
        assert_refused(s, &b, 400, "bad_request");
        d.assert_serving().await;

        // Unknown route and method.
        let (s, b) = d.get("/v1/nothing").await;
        assert_refused(s, &b, 404, "not_found");
        let (s, b) = d.post("/v1/readers", "").await;
        assert_refused(s, &b, 405, "method_not_allowed");

        // Garbage that is not HTTP at all: the connection is dropped, the daemon serves on.
        let (_, _, _) = {
            let mut stream = tokio::net::TcpStream::connect(d.addr).await.unwrap();
            stream.write_all(b"\x16\x03\x01 not http\r\n\r\n").await.unwrap();
            let mut sink = Vec::new();
            let _ = stream.read_to_end(&mut sink).await;
            (0, Value::Null, String::new())
        };
        d.assert_serving().await;
        d.stop().await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn openapi_document_and_routes_agree() {
    tokio::time::timeout(LIMIT, async {
        let d = Daemon::start("openapi", |_| {}).await;
        // No token needed for the document.
        let (s, doc, _) = d.request("GET", "/openapi.json", &[], "").await;
        assert_eq!(s, 200);
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 14, "{}", paths.len());
        for (path, methods) in paths {
            let concrete = path
                .replace("{reader}", "_")
                .replace("{pin}", "id")
                .replace("{id}", "0000");
            for (method, op) in methods.as_object().unwrap() {
                let body = match op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str() {
                    Some(r) if r.ends_with("VerifyPinRequest") => r#"{"pin":"1234"}"#,
                    Some(r) if r.ends_with("ChangePinRequest") => r#"{"old":"1234","new":"5678"}"#,
                    Some(r) if r.ends_with("UnblockPinRequest") => r#"{"puk":"1234","new":"5678"}"#,
                    Some(r) if r.ends_with("SignRequest") => {
                        r#"{"hash_algorithm":"sha256","hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#
                    }
                    Some(r) if r.ends_with("AuthenticateRequest") => r#"{"challenge":"0102"}"#,
                    Some(r) if r.ends_with("ConsentRequest") => r#"{"operation":"sign","reader":"_"}"#,
                    _ => "",
                };
                let (status, reply) = match method.as_str() {
                    "get" => d.get(&concrete).await,
                    "post" => d.post(&concrete, body).await,
                    other => panic!("undocumented method {other}"),
                };
                let code = reply["code"].as_str().unwrap_or("");
                // The WebSocket route refuses a plain GET as such: it exists.
                let plain_get_of_ws = reply["reason"] == "WebSocket upgrade expected";
                assert!(
                    code != "not_found" && code != "method_not_allowed" && (code != "bad_request" || plain_get_of_ws),
                    "{method} {path}: {status} {reply}"
                );
                assert!(status < 500 || code.starts_with("no_") || code == "not_implemented",
                    "{method} {path}: {status} {reply}");
            }
        }
        // A route that is not in the document is not served.
        let (s, b) = d.get("/v1/readers/_/apdu").await;
        assert_refused(s, &b, 404, "not_found");
        d.stop().await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn cors_echoes_allowed_origins_only() {
    tokio::time::timeout(LIMIT, async {
        let d = Daemon::start("cors", |c| {
            c.allowed_origins = vec!["https://portal.example".into()]
        })
        .await;
        let auth = format!("Bearer {}", d.token);
        let (s, _, head) = d
            .request(
                "GET",
                "/v1/readers",
                &[
                    ("Authorization", &auth),
                    ("Origin", "https://portal.example"),
                ],
                "",
            )
            .await;
        assert_eq!(s, 200);
        let head = head.to_ascii_lowercase();
        assert!(
            head.contains("access-control-allow-origin: https://portal.example"),
            "{head}"
        );
        assert!(!head.contains("access-control-allow-origin: *"));
        let (s, _, head) = d
            .request(
                "OPTIONS",
                "/v1/readers",
                &[
                    ("Origin", "https://portal.example"),
                    ("Access-Control-Request-Method", "GET"),
                ],
                "",
            )
            .await;
        assert_eq!(s, 204);
        assert!(
            head.to_ascii_lowercase()
                .contains("access-control-allow-headers: authorization"),
            "{head}"
        );
        let (s, b, _) = d
            .request(
                "OPTIONS",
                "/v1/readers",
                &[("Origin", "https://other.example")],
                "",
            )
            .await;
        assert_refused(s, &b, 403, "forbidden_origin");
        d.stop().await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_rate_limit_refuses_then_recovers() {
    tokio::time::timeout(LIMIT, async {
        let d = Daemon::start("rate", |c| {
            c.requests_per_second = 5;
            c.burst = 3;
        })
        .await;
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(d.get("/v1/readers").await);
        }
        assert!(
            statuses.iter().take(3).all(|(s, _)| *s == 200),
            "{statuses:?}"
        );
        let limited = statuses.iter().find(|(s, _)| *s == 429).expect("a 429");
        assert_eq!(limited.1["code"], "rate_limited");
        tokio::time::sleep(Duration::from_millis(400)).await;
        d.assert_serving().await;
        d.stop().await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn consent_is_required_outside_kiosk_mode_and_audited() {
    tokio::time::timeout(LIMIT, async {
        let d = Daemon::start("consent", |_| {}).await;
        let (s, b) = d.post("/v1/readers/_/identity", "").await;
        assert_refused(s, &b, 403, "consent_required");
        let (s, consent) = d
            .post(
                "/v1/consents",
                r#"{"operation":"read_identity","reader":"_","purpose":"test"}"#,
            )
            .await;
        assert_eq!(s, 200, "{consent}");
        assert_eq!(consent["state"], "pending");
        let id = consent["id"].as_str().unwrap().to_owned();
        let body = format!(r#"{{"consent":"{id}"}}"#);
        let (s, b) = d.post("/v1/readers/_/identity", &body).await;
        assert_refused(s, &b, 403, "consent_required");
        let (s, granted) = d.post(&format!("/v1/consents/{id}/confirm"), "").await;
        assert_eq!(s, 200);
        assert_eq!(granted["state"], "granted");
        // Now the request reaches the reader layer (no card here: no_card or no_service).
        let (s, b) = d.post("/v1/readers/_/identity", &body).await;
        let code = b["code"].as_str().unwrap();
        assert!(matches!(code, "no_card" | "no_service"), "{s} {b}");
        // The consent was used up.
        let (s, b) = d.post("/v1/readers/_/identity", &body).await;
        assert_refused(s, &b, 403, "consent_invalid");

        // The audit log names the operation and outcome, never a PIN.
        let (_, _) = d
            .post("/v1/readers/_/pins/id/verify", r#"{"pin":"98765432"}"#)
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let audit = std::fs::read_to_string(d.dir.join("audit.jsonl")).unwrap();
        let records: Vec<Value> = audit
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(
            records
                .iter()
                .any(|r| r["operation"] == "read_identity" && r["outcome"] == "consent_required"),
            "{audit}"
        );
        assert!(
            records
                .iter()
                .any(|r| r["operation"] == "read_identity" && r["consent"] == "confirmed"),
            "{audit}"
        );
        assert!(
            records.iter().any(|r| r["operation"] == "verify_pin"),
            "{audit}"
        );
        assert!(!audit.contains("98765432"), "{audit}");
        assert!(records.iter().all(|r| r["client"] == "token"), "{audit}");
        d.stop().await;

        // Kiosk mode: no consent step.
        let d = Daemon::start("kiosk", |c| c.kiosk = true).await;
        let (_, b) = d.post("/v1/readers/_/identity", "").await;
        assert!(
            matches!(b["code"].as_str(), Some("no_card" | "no_service")),
            "{b}"
        );
        d.stop().await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn websocket_needs_the_token_and_answers_requests() {
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    tokio::time::timeout(LIMIT, async {
        let d = Daemon::start("ws", |_| {}).await;
        let url = format!("ws://127.0.0.1:{}/v1/events", d.addr.port());
        // Without the token the handshake is refused.
        let refused = tokio_tungstenite::connect_async(url.clone()).await;
        match refused {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 401);
            }
            other => panic!("expected a 401, got {other:?}"),
        }
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "Authorization",
            format!("Bearer {}", d.token).parse().unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        ws.send(Message::Text(r#"{"id":7,"op":"list_readers"}"#.into()))
            .await
            .unwrap();
        ws.send(Message::Text("not json".into())).await.unwrap();
        ws.send(Message::Text(
            r#"{"id":8,"op":"identify","reader":"_"}"#.into(),
        ))
        .await
        .unwrap();
        let mut replies = Vec::new();
        while replies.len() < 3 {
            let Some(Ok(Message::Text(text))) = ws.next().await else {
                panic!("closed")
            };
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value.get("event").is_none() {
                replies.push(value);
            }
        }
        assert_eq!(replies[0]["id"], 7);
        assert!(replies[0]["result"]["readers"].is_array(), "{}", replies[0]);
        assert_eq!(replies[1]["error"]["code"], "bad_request");
        assert_eq!(replies[2]["id"], 8);
        assert!(
            matches!(
                replies[2]["error"]["code"].as_str(),
                Some("no_card" | "no_service")
            ),
            "{}",
            replies[2]
        );
        // Shutdown closes the session.
        d.stop.cancel();
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok());
        tokio::time::timeout(LIMIT, d.task).await.unwrap().unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn unix_socket_peers_of_the_same_uid_need_no_token() {
    tokio::time::timeout(LIMIT, async {
        let d = Daemon::start("unix", |c| {
            c.unix_socket =
                Some(std::env::temp_dir().join(format!("shenasd-{}.sock", std::process::id())));
        })
        .await;
        let path = d.unix.clone().unwrap();
        let mut stream = tokio::net::UnixStream::connect(&path).await.unwrap();
        stream
            .write_all(b"GET /v1/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (s, b, _) = read_response(&mut stream).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["wire_version"], 1);
        // The Host check applies there too.
        let mut stream = tokio::net::UnixStream::connect(&path).await.unwrap();
        stream
            .write_all(
                b"GET /v1/status HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
            )
            .await
            .unwrap();
        let (s, b, _) = read_response(&mut stream).await;
        assert_refused(s, &b, 403, "forbidden_host");
        d.stop().await;
        assert!(!path.exists(), "the socket is removed at shutdown");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_token_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    tokio::time::timeout(LIMIT, async {
        let d = Daemon::start("token", |_| {}).await;
        let mode = std::fs::metadata(d.dir.join("token"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(d.token.len(), 64);
        let mode = std::fs::metadata(d.dir.join("audit.jsonl"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        d.stop().await;
    })
    .await
    .unwrap();
}
