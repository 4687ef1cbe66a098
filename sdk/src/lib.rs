//! The Rust client of `shenasd`.
//!
//! - [`Client`]: the localhost API (HTTP JSON on a kept-alive connection, WebSocket events),
//!   async on tokio.
//! - [`blocking::Client`]: the same, for synchronous programs (it owns a small runtime).
//! - [`bus::BusClient`] (feature `dbus`): the D-Bus API (`ir.shenas.Manager1`).
//!
//! Depends on the wire types ([`shenas_dbus`]) only. Failures the daemon reports arrive as
//! [`SdkError::Api`] with the stable [`ErrorCode`] and the Persian and English messages.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
pub use shenas_dbus::api::{
    AuthenticateRequest, CardIdentity, CertificateInfo, ChangePinRequest, Consent,
    ConsentOperation, ConsentRequest, DaemonStatus, HashAlgorithm, IdentityDocument, PinKind,
    PinStatus, ReadIdentityRequest, ReaderList, Secret, SignRequest, SignatureReply,
    UnblockPinRequest, VerifyPinRequest, WsMessage,
};
pub use shenas_dbus::{ApiError, ErrorCode, ReaderEvent, ReaderInfo};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

#[cfg(feature = "dbus")]
pub mod bus;

/// What can go wrong talking to the daemon.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// The daemon answered with a failure (stable code, messages in Persian and English).
    #[error("{0}")]
    Api(ApiError),
    /// The daemon cannot be reached.
    #[error("cannot reach shenasd")]
    Connect(#[source] std::io::Error),
    /// The token file cannot be read.
    #[error("cannot read the token file {path}")]
    Token {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// HTTP failed.
    #[error("HTTP failure")]
    Http(#[from] hyper::Error),
    /// The WebSocket failed.
    #[error("WebSocket failure")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// The daemon sent something that is not the expected document.
    #[error("unexpected answer from shenasd")]
    Decode(#[from] serde_json::Error),
    /// A request could not be built (a reader name that is not valid in a URL path, …).
    #[error("invalid request: {0}")]
    Request(&'static str),
    /// D-Bus failed.
    #[cfg(feature = "dbus")]
    #[error("D-Bus failure")]
    Bus(#[from] zbus::Error),
}

impl SdkError {
    /// The daemon's error code, when the daemon answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api(e) => Some(e.code),
            _ => None,
        }
    }
}

/// Where the daemon keeps its token by default (the same rule as `shenasd`): root's
/// `/var/lib/shenas/api-token`, else `$XDG_STATE_HOME/shenas/api-token` or
/// `~/.local/state/shenas/api-token`.
pub fn default_token_file() -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        return PathBuf::from("/var/lib/shenas/api-token");
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("shenas/api-token");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".local/state/shenas/api-token");
    }
    PathBuf::from("/tmp/shenas/api-token")
}

/// Percent-encodes a reader name for a URL path segment (RFC 3986 clause 2.1).
pub fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A client of the localhost API. Cheap to share behind an `Arc`; requests on one client are
/// sent one after another on one kept-alive connection.
pub struct Client {
    addr: SocketAddr,
    host: String,
    auth: String,
    connection: Mutex<Option<SendRequest<Full<Bytes>>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the daemon at `addr` with this token. Connects lazily.
    pub fn new(addr: SocketAddr, token: &str) -> Self {
        Self {
            addr,
            host: format!("127.0.0.1:{}", addr.port()),
            auth: format!("Bearer {}", token.trim()),
            connection: Mutex::new(None),
        }
    }

    /// A client with the token read from `token_file`.
    pub fn with_token_file(addr: SocketAddr, token_file: &Path) -> Result<Self, SdkError> {
        let token = std::fs::read_to_string(token_file).map_err(|source| SdkError::Token {
            path: token_file.to_owned(),
            source,
        })?;
        Ok(Self::new(addr, &token))
    }

    /// A client of the daemon at `SHENAS_URL` (default `127.0.0.1:24780`) with the token from
    /// `SHENAS_TOKEN_FILE` (default [`default_token_file`]); checks it answers.
    pub async fn connect_default() -> Result<Self, SdkError> {
        let addr = std::env::var("SHENAS_URL")
            .ok()
            .and_then(|u| {
                u.trim_start_matches("http://")
                    .trim_end_matches('/')
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| {
                SocketAddr::from(([127, 0, 0, 1], shenas_dbus::names::DEFAULT_PORT))
            });
        let token_file =
            std::env::var_os("SHENAS_TOKEN_FILE").map_or_else(default_token_file, PathBuf::from);
        let client = Self::with_token_file(addr, &token_file)?;
        client.status().await?;
        Ok(client)
    }

    async fn open(&self) -> Result<SendRequest<Full<Bytes>>, SdkError> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(SdkError::Connect)?;
        stream.set_nodelay(true).map_err(SdkError::Connect)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    async fn send(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Bytes), SdkError> {
        let mut slot = self.connection.lock().await;
        // A kept-alive connection the daemon closed is retried once on a fresh one.
        for attempt in 0..2 {
            let mut sender = match slot.take() {
                Some(sender) if !sender.is_closed() => sender,
                _ => self.open().await?,
            };
            let mut request = hyper::Request::builder()
                .method(method.clone())
                .uri(path)
                .header(hyper::header::HOST, &self.host)
                .header(hyper::header::AUTHORIZATION, &self.auth);
            if body.is_some() {
                request = request.header(hyper::header::CONTENT_TYPE, "application/json");
            }
            let request = request
                .body(Full::new(Bytes::from(body.clone().unwrap_or_default())))
                .map_err(|_| SdkError::Request("cannot build the HTTP request"))?;
            if sender.ready().await.is_err() && attempt == 0 {
                continue;
            }
            match sender.send_request(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let bytes = response.into_body().collect().await?.to_bytes();
                    *slot = Some(sender);
                    return Ok((status, bytes));
                }
                Err(e) if attempt == 0 && (e.is_closed() || e.is_canceled()) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(SdkError::Request("the daemon closed the connection"))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, SdkError> {
        let body = body.map(serde_json::to_vec).transpose()?;
        let (status, bytes) = self.send(method, path, body).await?;
        if (200..300).contains(&status) {
            Ok(serde_json::from_slice(&bytes)?)
        } else {
            Err(SdkError::Api(serde_json::from_slice(&bytes)?))
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, SdkError> {
        self.call(hyper::Method::GET, path, None::<&()>).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, SdkError> {
        self.call(hyper::Method::POST, path, Some(body)).await
    }

    fn reader_path(reader: &str, rest: &str) -> String {
        format!("/v1/readers/{}/{rest}", encode_segment(reader))
    }

    /// `GET /v1/status`.
    pub async fn status(&self) -> Result<DaemonStatus, SdkError> {
        self.get("/v1/status").await
    }

    /// `GET /v1/readers`: readers and cards, as the daemon last saw them.
    pub async fn readers(&self) -> Result<ReaderList, SdkError> {
        self.get("/v1/readers").await
    }

    /// Identifies the card in `reader` (`_`: the first reader holding a card).
    pub async fn identify(&self, reader: &str) -> Result<CardIdentity, SdkError> {
        self.get(&Self::reader_path(reader, "card")).await
    }

    /// Reads the identity (consent outside kiosk mode: [`Client::request_consent`]).
    pub async fn read_identity(
        &self,
        reader: &str,
        request: &ReadIdentityRequest,
    ) -> Result<IdentityDocument, SdkError> {
        self.post(&Self::reader_path(reader, "identity"), request)
            .await
    }

    /// The card's certificates.
    pub async fn certificates(&self, reader: &str) -> Result<Vec<CertificateInfo>, SdkError> {
        self.get(&Self::reader_path(reader, "certificates")).await
    }

    /// Tries left on a PIN.
    pub async fn pin_status(&self, reader: &str, pin: PinKind) -> Result<PinStatus, SdkError> {
        self.get(&Self::reader_path(
            reader,
            &format!("pins/{}", pin.as_str()),
        ))
        .await
    }

    /// Verifies a PIN.
    pub async fn verify_pin(
        &self,
        reader: &str,
        pin: PinKind,
        value: Secret,
    ) -> Result<PinStatus, SdkError> {
        let path = Self::reader_path(reader, &format!("pins/{}/verify", pin.as_str()));
        self.post(&path, &VerifyPinRequest { pin: value }).await
    }

    /// Changes a PIN.
    pub async fn change_pin(
        &self,
        reader: &str,
        pin: PinKind,
        old: Secret,
        new: Secret,
    ) -> Result<PinStatus, SdkError> {
        let path = Self::reader_path(reader, &format!("pins/{}/change", pin.as_str()));
        self.post(&path, &ChangePinRequest { old, new }).await
    }

    /// Unblocks a PIN with the PUK.
    pub async fn unblock_pin(
        &self,
        reader: &str,
        pin: PinKind,
        puk: Secret,
        new: Secret,
    ) -> Result<PinStatus, SdkError> {
        let path = Self::reader_path(reader, &format!("pins/{}/unblock", pin.as_str()));
        self.post(&path, &UnblockPinRequest { puk, new }).await
    }

    /// Signs a hash.
    pub async fn sign(
        &self,
        reader: &str,
        request: &SignRequest,
    ) -> Result<SignatureReply, SdkError> {
        self.post(&Self::reader_path(reader, "sign"), request).await
    }

    /// INTERNAL AUTHENTICATE over a challenge.
    pub async fn authenticate(
        &self,
        reader: &str,
        request: &AuthenticateRequest,
    ) -> Result<SignatureReply, SdkError> {
        self.post(&Self::reader_path(reader, "authenticate"), request)
            .await
    }

    /// Asks for consent to one operation.
    pub async fn request_consent(
        &self,
        operation: ConsentOperation,
        reader: &str,
        purpose: &str,
    ) -> Result<Consent, SdkError> {
        let request = ConsentRequest {
            operation,
            reader: reader.to_owned(),
            purpose: purpose.to_owned(),
        };
        self.post("/v1/consents", &request).await
    }

    /// Confirms a pending consent.
    pub async fn confirm_consent(&self, id: &str) -> Result<Consent, SdkError> {
        self.post(
            &format!("/v1/consents/{}/confirm", encode_segment(id)),
            &serde_json::Value::Null,
        )
        .await
    }

    /// Opens the WebSocket: reader, card and service events.
    pub async fn events(&self) -> Result<EventStream, SdkError> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("ws://{}/v1/events", self.host);
        let mut request = url
            .into_client_request()
            .map_err(|e| SdkError::WebSocket(Box::new(e)))?;
        let auth = self
            .auth
            .parse()
            .map_err(|_| SdkError::Request("token is not a valid header value"))?;
        request
            .headers_mut()
            .insert(hyper::header::AUTHORIZATION, auth);
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(SdkError::Connect)?;
        stream.set_nodelay(true).map_err(SdkError::Connect)?;
        let (socket, _) = tokio_tungstenite::client_async(request, stream)
            .await
            .map_err(|e| SdkError::WebSocket(Box::new(e)))?;
        Ok(EventStream { socket })
    }
}

/// The daemon's event stream (a WebSocket).
pub struct EventStream {
    socket: tokio_tungstenite::WebSocketStream<TcpStream>,
}

impl EventStream {
    /// The next event; `None` when the daemon closed the stream.
    pub async fn next(&mut self) -> Option<Result<ReaderEvent, SdkError>> {
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let message = match self.socket.next().await? {
                Ok(message) => message,
                Err(e) => return Some(Err(SdkError::WebSocket(Box::new(e)))),
            };
            let Message::Text(text) = message else {
                if matches!(message, Message::Close(_)) {
                    return None;
                }
                continue;
            };
            match serde_json::from_str::<WsMessage>(text.as_str()) {
                Ok(WsMessage::Event(event)) => return Some(Ok(event)),
                Ok(_) => continue,
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}

/// The blocking facade: the same calls, for programs without an async runtime.
pub mod blocking {
    use super::{
        AuthenticateRequest, CardIdentity, CertificateInfo, DaemonStatus, IdentityDocument,
        PinKind, PinStatus, ReadIdentityRequest, ReaderList, SdkError, Secret, SignRequest,
        SignatureReply,
    };
    use std::net::SocketAddr;
    use std::path::Path;

    /// A blocking client: owns a current-thread runtime and an async [`super::Client`].
    pub struct Client {
        runtime: tokio::runtime::Runtime,
        inner: super::Client,
    }

    impl Client {
        fn runtime() -> Result<tokio::runtime::Runtime, SdkError> {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(SdkError::Connect)
        }

        /// See [`super::Client::new`].
        pub fn new(addr: SocketAddr, token: &str) -> Result<Self, SdkError> {
            Ok(Self {
                runtime: Self::runtime()?,
                inner: super::Client::new(addr, token),
            })
        }

        /// See [`super::Client::with_token_file`].
        pub fn with_token_file(addr: SocketAddr, token_file: &Path) -> Result<Self, SdkError> {
            Ok(Self {
                runtime: Self::runtime()?,
                inner: super::Client::with_token_file(addr, token_file)?,
            })
        }

        /// See [`super::Client::connect_default`].
        pub fn connect_default() -> Result<Self, SdkError> {
            let runtime = Self::runtime()?;
            let inner = runtime.block_on(super::Client::connect_default())?;
            Ok(Self { runtime, inner })
        }

        /// See [`super::Client::status`].
        pub fn status(&self) -> Result<DaemonStatus, SdkError> {
            self.runtime.block_on(self.inner.status())
        }

        /// See [`super::Client::readers`].
        pub fn readers(&self) -> Result<ReaderList, SdkError> {
            self.runtime.block_on(self.inner.readers())
        }

        /// See [`super::Client::identify`].
        pub fn identify(&self, reader: &str) -> Result<CardIdentity, SdkError> {
            self.runtime.block_on(self.inner.identify(reader))
        }

        /// See [`super::Client::read_identity`].
        pub fn read_identity(
            &self,
            reader: &str,
            request: &ReadIdentityRequest,
        ) -> Result<IdentityDocument, SdkError> {
            self.runtime
                .block_on(self.inner.read_identity(reader, request))
        }

        /// See [`super::Client::pin_status`].
        pub fn pin_status(&self, reader: &str, pin: PinKind) -> Result<PinStatus, SdkError> {
            self.runtime.block_on(self.inner.pin_status(reader, pin))
        }

        /// See [`super::Client::certificates`].
        pub fn certificates(&self, reader: &str) -> Result<Vec<CertificateInfo>, SdkError> {
            self.runtime.block_on(self.inner.certificates(reader))
        }

        /// See [`super::Client::verify_pin`].
        pub fn verify_pin(
            &self,
            reader: &str,
            pin: PinKind,
            value: Secret,
        ) -> Result<PinStatus, SdkError> {
            self.runtime
                .block_on(self.inner.verify_pin(reader, pin, value))
        }

        /// See [`super::Client::sign`].
        pub fn sign(
            &self,
            reader: &str,
            request: &SignRequest,
        ) -> Result<SignatureReply, SdkError> {
            self.runtime.block_on(self.inner.sign(reader, request))
        }

        /// See [`super::Client::authenticate`].
        pub fn authenticate(
            &self,
            reader: &str,
            request: &AuthenticateRequest,
        ) -> Result<SignatureReply, SdkError> {
            self.runtime
                .block_on(self.inner.authenticate(reader, request))
        }

        /// The async client inside, for calls the facade does not wrap.
        pub fn inner(&self) -> &super::Client {
            &self.inner
        }

        /// Runs any future of the async client on this facade's runtime.
        pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
            self.runtime.block_on(future)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(
            encode_segment("Virtual PCD 00 00"),
            "Virtual%20PCD%2000%2000"
        );
        assert_eq!(encode_segment("_"), "_");
        assert_eq!(encode_segment("a/b?c#"), "a%2Fb%3Fc%23");
    }
}
