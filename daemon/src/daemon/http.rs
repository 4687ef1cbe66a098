//! The localhost API: HTTP JSON routes and a WebSocket, for kiosks and local applications.
//!
//! Every request passes `guard` first, in this order: the `Host` must be a loopback name (DNS
//! rebinding), an `Origin` must be on the allow-list (no wildcard CORS: an allowed origin is
//! echoed back, nothing else), the request rate must be under the limit, the declared body size
//! under the maximum, and the caller authenticated (bearer token, or a trusted Unix-socket peer)
//! — except for `GET /openapi.json`. Each refusal is a 4xx with a stable code and a reason.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::serve::IncomingStream;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shenas_dbus::api::{
    AuthenticateRequest, ChangePinRequest, ConsentOperation, ConsentRequest, DaemonStatus, PinKind,
    ReadIdentityRequest, SignRequest, UnblockPinRequest, VerifyPinRequest, WsMessage, WsOperation,
    WsRequest,
};
use shenas_dbus::{ApiError, ErrorCode};
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::audit::{AuditLog, AuditRecord};
use super::config::Config;
use super::consent::ConsentStore;
use super::openapi::{self, ROUTES};
use super::readers::{Operation, Readers};
use super::security::{ApiToken, RateLimiter, host_is_loopback, origin_allowed};

/// How a connection reached the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerInfo {
    /// TCP on loopback.
    Tcp,
    /// The Unix socket, with the peer's uid when the kernel told it.
    Unix {
        /// The peer's uid (SO_PEERCRED).
        uid: Option<u32>,
    },
}

impl axum::extract::connect_info::Connected<IncomingStream<'_, TcpListener>> for PeerInfo {
    fn connect_info(_: IncomingStream<'_, TcpListener>) -> Self {
        Self::Tcp
    }
}

impl axum::extract::connect_info::Connected<IncomingStream<'_, UnixListener>> for PeerInfo {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Self {
        Self::Unix {
            uid: stream.io().peer_cred().ok().map(|c| c.uid()),
        }
    }
}

/// Who an authenticated request comes from, as the audit log names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client(pub String);

/// The shared state of the API.
pub struct App {
    /// The configuration.
    pub config: Config,
    /// The API token.
    pub token: ApiToken,
    /// Readers and workers.
    pub readers: Arc<Readers>,
    /// Consent policy.
    pub consent: ConsentStore,
    /// The audit log.
    pub audit: AuditLog,
    /// Request-rate limit.
    pub limiter: RateLimiter,
    /// The D-Bus bus served (`system`, `session`, `none`).
    pub bus: Mutex<String>,
    /// Open WebSocket sessions.
    pub ws_clients: AtomicUsize,
    /// Cancelled at shutdown.
    pub shutdown: CancellationToken,
    /// The daemon's own uid (trusted over the Unix socket).
    pub own_uid: Option<u32>,
}

/// An [`ApiError`] as an HTTP response.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl From<ErrorCode> for HttpError {
    fn from(code: ErrorCode) -> Self {
        Self(ApiError::new(code))
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self.0)).into_response()
    }
}

fn refuse(code: ErrorCode, reason: &str) -> Response {
    HttpError(ApiError::new(code).with_reason(reason)).into_response()
}

/// The path parameters of a route, decoded.
struct Params(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|p| Params(p.0))
            .map_err(|_| {
                ApiError::new(ErrorCode::BadRequest)
                    .with_reason("path")
                    .into()
            })
    }
}

impl Params {
    fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    fn pin(&self) -> Result<PinKind, HttpError> {
        PinKind::from_name(self.get("pin")).ok_or_else(|| {
            ApiError::new(ErrorCode::BadRequest)
                .with_reason("pin must be id, sign or puk")
                .into()
        })
    }
}

/// Reads a JSON body within the size limit; an empty body gives `T::default()` when `default`
/// is given.
async fn read_json<T: DeserializeOwned>(
    body: Body,
    limit: usize,
    default: Option<T>,
) -> Result<T, HttpError> {
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge))?;
    if bytes.is_empty()
        && let Some(value) = default
    {
        return Ok(value);
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        // serde_json's message names the field and position, never the value.
        ApiError::new(ErrorCode::BadRequest)
            .with_reason(format!("invalid JSON: {}", e.classify_reason()))
            .into()
    })
}

trait ClassifyReason {
    fn classify_reason(&self) -> &'static str;
}

impl ClassifyReason for serde_json::Error {
    fn classify_reason(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Eof => "unexpected end",
            serde_json::error::Category::Data => "missing or invalid field",
            serde_json::error::Category::Io => "read error",
        }
    }
}

fn hex_field(text: &str, what: &str) -> Result<Vec<u8>, ApiError> {
    hex::decode(text).map_err(|_| {
        ApiError::new(ErrorCode::BadRequest).with_reason(format!("{what}: not hexadecimal"))
    })
}

impl App {
    #[allow(clippy::too_many_arguments)]
    fn audit(
        &self,
        client: &Client,
        via: &'static str,
        operation: &'static str,
        reader: &str,
        card_serial: Option<String>,
        outcome: &str,
        consent: Option<&'static str>,
    ) {
        self.audit.record(AuditRecord {
            ts_ms: 0,
            client: client.0.clone(),
            via,
            operation,
            reader: reader.to_owned(),
            card_serial,
            outcome: outcome.to_owned(),
            consent,
        });
    }

    /// Runs a card operation for `client`: consent policy, the reader worker, the audit log.
    pub async fn card_op(
        &self,
        client: &Client,
        via: &'static str,
        reader: &str,
        operation: Operation,
        consent: Option<(ConsentOperation, Option<String>)>,
    ) -> Result<Value, ApiError> {
        let name = operation.name();
        let allowed = match consent {
            Some((what, id)) => {
                match self
                    .consent
                    .check(what, reader, id.as_deref(), Instant::now())
                {
                    Ok(allowed) => Some(allowed.as_str()),
                    Err(e) => {
                        self.audit(client, via, name, reader, None, e.code.as_str(), None);
                        return Err(e);
                    }
                }
            }
            None => None,
        };
        self.card_op_allowed(client, via, reader, operation, allowed)
            .await
    }

    /// Runs a card operation already authorised (`allowed`: how, for the audit log).
    pub async fn card_op_allowed(
        &self,
        client: &Client,
        via: &'static str,
        reader: &str,
        operation: Operation,
        allowed: Option<&'static str>,
    ) -> Result<Value, ApiError> {
        let name = operation.name();
        let answer = self.readers.run(reader, operation).await;
        let outcome = match &answer.result {
            Ok(_) => "ok",
            Err(e) => e.code.as_str(),
        };
        self.audit(
            client,
            via,
            name,
            &answer.reader,
            answer.card_serial,
            outcome,
            allowed,
        );
        answer.result.map(|o| o.to_json())
    }

    /// `GET /v1/status`.
    pub fn status(&self) -> DaemonStatus {
        let list = self.readers.list();
        DaemonStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            wire_version: shenas_dbus::WIRE_VERSION,
            service_available: list.service_available,
            readers: list.readers.len(),
            kiosk: self.consent.kiosk(),
            bus: self
                .bus
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    fn authenticate(&self, peer: PeerInfo, request: &Request) -> Option<Client> {
        if let PeerInfo::Unix { uid: Some(uid) } = peer
            && (Some(uid) == self.own_uid || self.config.socket_uids.contains(&uid))
        {
            return Some(Client(format!("uid:{uid}")));
        }
        let value = request
            .headers()
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?;
        let token = value.strip_prefix("Bearer ")?;
        self.token.matches(token.trim()).then(|| {
            Client(if self.consent.kiosk() {
                "kiosk:token".to_owned()
            } else {
                "token".to_owned()
            })
        })
    }
}

type Shared = Arc<App>;

/// The defences every request passes (see the module documentation).
async fn guard(
    State(app): State<Shared>,
    ConnectInfo(peer): ConnectInfo<PeerInfo>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).map(|h| h.to_str().unwrap_or(""));
    let host_ok = match host {
        Some(host) => host_is_loopback(host),
        // HTTP/1.1 requires Host; over the Unix socket a client may leave it out.
        None => matches!(peer, PeerInfo::Unix { .. }),
    };
    if !host_ok {
        return refuse(
            ErrorCode::ForbiddenHost,
            "Host must be localhost, 127.0.0.1 or [::1]",
        );
    }
    let origin = headers
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or("\u{0}").to_owned());
    if let Some(origin) = &origin
        && !origin_allowed(origin, &app.config.allowed_origins)
    {
        return refuse(
            ErrorCode::ForbiddenOrigin,
            "Origin is not on the allow-list",
        );
    }
    if request.method() == Method::OPTIONS {
        let Some(origin) = origin else {
            return refuse(ErrorCode::MethodNotAllowed, "OPTIONS without Origin");
        };
        let mut response = StatusCode::NO_CONTENT.into_response();
        cors(&mut response, &origin);
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return response;
    }
    if !app.limiter.allow() {
        return refuse(ErrorCode::RateLimited, "request rate limit");
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let max = u64::try_from(app.config.max_body_bytes).unwrap_or(u64::MAX);
    if declared.is_some_and(|len| len > max) {
        return refuse(ErrorCode::PayloadTooLarge, "Content-Length above the limit");
    }
    let public = request.uri().path() == "/openapi.json" && request.method() == Method::GET;
    match app.authenticate(peer, &request) {
        Some(client) => {
            request.extensions_mut().insert(client);
        }
        None if public => {
            request.extensions_mut().insert(Client("anonymous".into()));
        }
        None => {
            let reason = if request.headers().contains_key(header::AUTHORIZATION) {
                "unknown token"
            } else {
                "Authorization: Bearer <token> required"
            };
            return refuse(ErrorCode::Unauthorized, reason);
        }
    }
    let mut response = next.run(request).await;
    if let Some(origin) = origin {
        cors(&mut response, &origin);
    }
    response
}

fn cors(response: &mut Response, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

type Reply = Result<axum::Json<Value>, HttpError>;

fn json<T: serde::Serialize>(value: &T) -> axum::Json<Value> {
    axum::Json(serde_json::to_value(value).unwrap_or(Value::Null))
}

async fn openapi_doc(State(app): State<Shared>) -> axum::Json<Value> {
    axum::Json(openapi::document(
        env!("CARGO_PKG_VERSION"),
        app.config.listen.port(),
    ))
}

async fn status(State(app): State<Shared>) -> axum::Json<Value> {
    json(&app.status())
}

async fn list_readers(State(app): State<Shared>) -> axum::Json<Value> {
    json(&app.readers.list())
}

async fn identify(
    State(app): State<Shared>,
    axum::Extension(client): axum::Extension<Client>,
    p: Params,
) -> Reply {
    let reader = p.get("reader");
    Ok(axum::Json(
        app.card_op(&client, "http", reader, Operation::Identify, None)
            .await?,
    ))
}

async fn read_identity(
    State(app): State<Shared>,
    axum::Extension(client): axum::Extension<Client>,
    p: Params,
    body: Body,
) -> Reply {
    let request: ReadIdentityRequest = read_json(
        body,
        app.config.max_body_bytes,
        Some(ReadIdentityRequest::default()),
    )
    .await?;
    let consent = Some((ConsentOperation::ReadIdentity, request.consent.clone()));
    let op = Operation::ReadIdentity(request);
    Ok(axum::Json(
        app.card_op(&client, "http", p.get("reader"), op, consent)
            .await?,
    ))
}

async fn certificates(
    State(app): State<Shared>,
    axum::Extension(client): axum::Extension<Client>,
    p: Params,
) -> Reply {
    let op = Operation::Certificates;
    Ok(axum::Json(
        app.card_op(&client, "http", p.get("reader"), op, None)
            .await?,
    ))
}

async fn pin_status(
    State(app): State<Shared>,
    axum::Extension(client): axum::Extension<Client>,
    p: Params,
) -> Reply {
    let op = Operation::PinStatus(p.pin()?);
    Ok(axum::Json(
        app.card_op(&client, "http", p.get("reader"), op, None)
            .await?,
    ))
}

async fn verify_pin(
    State(app): State<Shared>,
    axum::Extension(client): axum::Extension<Client>,
    p: Params,
    body: Body,
) -> Reply {
    let pin = p.pin()?;
    let request: VerifyPinRequest = read_json(body, app.config.max_body_bytes, None).await?;
    let op = Operation::VerifyPin(pin, request.pin);
    Ok(axum::Json(
        app.card_op(&client, "http", p.get("reader"), op, None)
            .await?,
    ))
}

async fn change_pin(
    State(app): State<Shared>,
    axum::Extension(client): axum::Extension<Client>,
    p: Params,
    body: Body,
) -> Reply {
    let pin = p.pin()?;
    let request: ChangePinRequest = read_json(body, app.config.max_body_bytes, None).await?;
    let op = Operation::ChangePin(pin, request.old, request.new);
    Ok(axum::Json(
        app.card_op(&client, "http", p.get("reader"), op, None)
            .await?,
    ))
}

async fn unblock_pin(
    State(app): State<Shared>,
    axum::Extension(client): axum::Extension<Client>,
    p: Params,
    body: Body,
) -> Reply {
    let pin = p.pin()?;
    let request: UnblockPinRequest = read_json(body, app.config.max_body_bytes, None).await?;
    let op = Operation::UnblockPin(pin, request.puk, request.new);
    Ok(axum::Json(
        app.card_op(&client, "http", p.get("reader"), op, None)
            .await?,
    ))
}

async fn sign(
    State(app): State<Shared>,
    axum::Extension(client): axum::Extension<Client>,
    p: Params,
    body: Body,
) -> Reply {
    let request: SignRequest = read_json(body, app.config.max_body_bytes, None).await?;
    let hash = hex_field(&request.hash, "hash")?;
    if hash.len() != request.hash_algorithm.len() {
        return Err(ApiError::new(ErrorCode::BadRequest)
            .with_reason("hash length does not match hash_algorithm")
            .into());
    }
    let consent = Some((ConsentOperation::Sign, request.consent.clone()));
    let op = Operation::Sign(request);
    Ok(axum::Json(
        app.card_op(&client, "http", p.get("reader"), op, consent)
            .await?,
    ))
}

async fn authenticate(
    State(app): State<Shared>,
    axum::Extension(client): axum::Extension<Client>,
    p: Params,
    body: Body,
) -> Reply {
    let request: AuthenticateRequest = read_json(body, app.config.max_body_bytes, None).await?;
    let challenge = hex_field(&request.challenge, "challenge")?;
    if challenge.is_empty() || challenge.len() > 256 {
        return Err(ApiError::new(ErrorCode::BadRequest)
            .with_reason("challenge must be 1 to 256 bytes")
            .into());
    }
    let consent = Some((ConsentOperation::Authenticate, request.consent.clone()));
    let op = Operation::Authenticate(request);
    Ok(axum::Json(
        app.card_op(&client, "http", p.get("reader"), op, consent)
            .await?,
    ))
}

async fn request_consent(State(app): State<Shared>, body: Body) -> Reply {
    let request: ConsentRequest = read_json(body, app.config.max_body_bytes, None).await?;
    let consent = app
        .consent
        .request(request.operation, &request.reader, Instant::now())?;
    Ok(json(&consent))
}

async fn confirm_consent(State(app): State<Shared>, p: Params) -> Reply {
    Ok(json(&app.consent.confirm(p.get("id"), Instant::now())?))
}

async fn events(
    State(app): State<Shared>,
    axum::Extension(client): axum::Extension<Client>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return refuse(ErrorCode::BadRequest, "WebSocket upgrade expected");
    };
    if app.ws_clients.fetch_add(1, Ordering::SeqCst) >= app.config.max_ws_clients {
        app.ws_clients.fetch_sub(1, Ordering::SeqCst);
        return refuse(ErrorCode::Unavailable, "too many WebSocket clients");
    }
    upgrade
        .max_message_size(app.config.max_body_bytes)
        .on_upgrade(move |socket| async move {
            ws_session(&app, &client, socket).await;
            app.ws_clients.fetch_sub(1, Ordering::SeqCst);
        })
}

async fn ws_session(app: &App, client: &Client, mut socket: WebSocket) {
    let mut events = app.readers.subscribe();
    loop {
        let outgoing = tokio::select! {
            () = app.shutdown.cancelled() => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            event = events.recv() => match event {
                Ok(event) => WsMessage::Event(event),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    debug!(missed = n, "a WebSocket client lagged behind the events");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    if app.limiter.allow() {
                        ws_request(app, client, text.as_str()).await
                    } else {
                        WsMessage::Failure { id: 0, error: ApiError::new(ErrorCode::RateLimited) }
                    }
                }
                Some(Ok(Message::Binary(_))) => WsMessage::Failure {
                    id: 0,
                    error: ApiError::new(ErrorCode::BadRequest).with_reason("text messages only"),
                },
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => continue,
            },
        };
        let Ok(text) = serde_json::to_string(&outgoing) else {
            continue;
        };
        if socket.send(Message::Text(text.into())).await.is_err() {
            return;
        }
    }
}

/// Answers one WebSocket request.
pub async fn ws_request(app: &App, client: &Client, text: &str) -> WsMessage {
    let request: WsRequest = match serde_json::from_str(text) {
        Ok(request) => request,
        Err(e) => {
            return WsMessage::Failure {
                id: 0,
                error: ApiError::new(ErrorCode::BadRequest)
                    .with_reason(format!("invalid JSON: {}", e.classify_reason())),
            };
        }
    };
    let id = request.id;
    let result = match request.op {
        WsOperation::Status => Ok(serde_json::to_value(app.status()).unwrap_or(Value::Null)),
        WsOperation::ListReaders => {
            Ok(serde_json::to_value(app.readers.list()).unwrap_or(Value::Null))
        }
        WsOperation::Identify { reader } => {
            app.card_op(client, "ws", &reader, Operation::Identify, None)
                .await
        }
        WsOperation::ReadIdentity { reader, request } => {
            let consent = Some((ConsentOperation::ReadIdentity, request.consent.clone()));
            app.card_op(
                client,
                "ws",
                &reader,
                Operation::ReadIdentity(request),
                consent,
            )
            .await
        }
        WsOperation::Certificates { reader } => {
            app.card_op(client, "ws", &reader, Operation::Certificates, None)
                .await
        }
        WsOperation::PinStatus { reader, pin } => {
            app.card_op(client, "ws", &reader, Operation::PinStatus(pin), None)
                .await
        }
        _ => Err(ApiError::new(ErrorCode::NotImplemented)),
    };
    match result {
        Ok(result) => WsMessage::Reply { id, result },
        Err(error) => WsMessage::Failure { id, error },
    }
}

fn handler(operation: &str) -> Option<MethodRouter<Shared>> {
    Some(match operation {
        "openapi" => get(openapi_doc),
        "status" => get(status),
        "list_readers" => get(list_readers),
        "identify" => get(identify),
        "read_identity" => post(read_identity),
        "certificates" => get(certificates),
        "pin_status" => get(pin_status),
        "verify_pin" => post(verify_pin),
        "change_pin" => post(change_pin),
        "unblock_pin" => post(unblock_pin),
        "sign" => post(sign),
        "authenticate" => post(authenticate),
        "request_consent" => post(request_consent),
        "confirm_consent" => post(confirm_consent),
        "events" => get(events),
        _ => return None,
    })
}

async fn not_found() -> HttpError {
    ErrorCode::NotFound.into()
}

async fn method_not_allowed() -> HttpError {
    ErrorCode::MethodNotAllowed.into()
}

/// The router: every route of [`ROUTES`], the defences, JSON 404 and 405.
pub fn router(app: Shared) -> Router {
    let mut router = Router::new();
    for route in ROUTES {
        if let Some(h) = handler(route.operation) {
            router = router.route(route.path, h);
        }
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(Arc::clone(&app), guard))
        .with_state(app)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_handler() {
        for route in ROUTES {
            assert!(handler(route.operation).is_some(), "{}", route.operation);
        }
    }
}
