//! The D-Bus API (zbus, tokio): the manager object `ir.shenas.Manager1` at
//! `/ir/shenas/Daemon1` and one `ir.shenas.Reader1` object per reader at
//! `/ir/shenas/Daemon1/reader/<escaped name>`, under the well-known name `ir.shenas.Daemon1`.
//!
//! Answers and requests are the JSON documents of the wire types ([`shenas_dbus::api`]) in
//! string arguments, the same as the localhost API; errors are typed D-Bus errors
//! (`ir.shenas.Error.NoCard`, …) whose message is the JSON [`ApiError`].
//!
//! Privileged methods (reading identity, signing, authenticating, changing or unblocking a
//! PIN, confirming a consent) are authorised by [`decide`]: root always, the daemon's own uid on
//! the session bus, and otherwise polkit (`CheckAuthorization` with the caller's bus name as
//! subject), failing closed when polkit cannot be asked.

// zbus's `#[interface]` generates public helper methods without documentation.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::sync::Arc;

use shenas_dbus::api::{
    AuthenticateRequest, ConsentOperation, PinKind, ReadIdentityRequest, Secret, SignRequest,
};
use shenas_dbus::names::{
    BUS_NAME, MANAGER_PATH, POLKIT_MANAGE_PIN, POLKIT_READ_IDENTITY, POLKIT_SIGN, reader_path,
};
use shenas_dbus::{ApiError, ErrorCode, ReaderEvent};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};
use zbus::message::Header;
use zbus::names::ErrorName;
use zbus::object_server::SignalEmitter;

use super::config::{BusChoice, Config, PolkitMode};
use super::http::{App, Client};
use super::readers::Operation;

/// A typed D-Bus error: name `ir.shenas.Error.<Code>`, message the JSON [`ApiError`].
#[derive(Debug)]
pub struct BusError {
    name: String,
    json: String,
}

impl From<ApiError> for BusError {
    fn from(error: ApiError) -> Self {
        Self {
            name: error.code.dbus_name(),
            json: serde_json::to_string(&error).unwrap_or_default(),
        }
    }
}

impl From<ErrorCode> for BusError {
    fn from(code: ErrorCode) -> Self {
        ApiError::new(code).into()
    }
}

impl zbus::DBusError for BusError {
    fn create_reply(&self, call: &Header<'_>) -> zbus::Result<zbus::Message> {
        zbus::Message::error(call, self.name())?.build(&(self.json.as_str(),))
    }

    fn name(&self) -> ErrorName<'_> {
        ErrorName::try_from(self.name.as_str())
            .unwrap_or_else(|_| ErrorName::from_static_str_unchecked("ir.shenas.Error.Internal"))
    }

    fn description(&self) -> Option<&str> {
        Some(&self.json)
    }
}

/// Which bus a connection is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusKind {
    /// The system bus.
    System,
    /// A session bus.
    Session,
}

impl BusKind {
    /// `system` or `session`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Session => "session",
        }
    }
}

/// What polkit answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolkitAnswer {
    /// `is_authorized` true.
    Authorized,
    /// `is_authorized` false (or a challenge the caller did not pass).
    NotAuthorized,
    /// polkit could not be asked.
    Unavailable,
}

/// What [`decide`] needs to know first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed without asking.
    Allow,
    /// Refused without asking.
    Deny,
    /// Ask polkit, then call [`decide_with`].
    AskPolkit,
}

/// Whether a caller may use a privileged method, before asking polkit.
pub fn decide(
    mode: PolkitMode,
    bus: BusKind,
    caller_uid: Option<u32>,
    own_uid: Option<u32>,
) -> Decision {
    match (mode, caller_uid) {
        (_, Some(0)) | (PolkitMode::Off, _) => Decision::Allow,
        (PolkitMode::Required, _) => Decision::AskPolkit,
        (PolkitMode::Auto, uid) => match bus {
            BusKind::System => Decision::AskPolkit,
            // A session bus is one user's: only that user's processes can reach it.
            BusKind::Session if uid.is_some() && uid == own_uid => Decision::Allow,
            BusKind::Session => Decision::Deny,
        },
    }
}

/// The decision once polkit answered: only an explicit authorisation allows (fail closed).
pub fn decide_with(answer: PolkitAnswer) -> Decision {
    match answer {
        PolkitAnswer::Authorized => Decision::Allow,
        PolkitAnswer::NotAuthorized | PolkitAnswer::Unavailable => Decision::Deny,
    }
}

/// Shared by the manager and reader objects.
#[derive(Clone)]
struct Ctx {
    app: Arc<App>,
    bus: BusKind,
}

impl Ctx {
    async fn caller(&self, conn: &zbus::Connection, header: &Header<'_>) -> (Client, Option<u32>) {
        let Some(sender) = header.sender() else {
            return (Client("dbus:unknown".into()), None);
        };
        let uid = match zbus::fdo::DBusProxy::new(conn).await {
            Ok(proxy) => proxy
                .get_connection_unix_user(sender.clone().into())
                .await
                .ok(),
            Err(_) => None,
        };
        let who = uid.map_or_else(|| "dbus:unknown".to_owned(), |u| format!("dbus:uid:{u}"));
        (Client(who), uid)
    }

    async fn polkit(
        &self,
        conn: &zbus::Connection,
        header: &Header<'_>,
        action: &str,
    ) -> PolkitAnswer {
        let Some(sender) = header.sender() else {
            return PolkitAnswer::Unavailable;
        };
        // polkit lives on the system bus, whichever bus we serve.
        let system = if self.bus == BusKind::System {
            conn.clone()
        } else {
            match zbus::Connection::system().await {
                Ok(c) => c,
                Err(_) => return PolkitAnswer::Unavailable,
            }
        };
        let mut subject_details: HashMap<&str, zbus::zvariant::Value<'_>> = HashMap::new();
        subject_details.insert("name", zbus::zvariant::Value::from(sender.as_str()));
        let subject = ("system-bus-name", subject_details);
        let details: HashMap<&str, &str> = HashMap::new();
        // Flag 1: AllowUserInteraction (the agent asks the person at the kiosk).
        let reply = system
            .call_method(
                Some("org.freedesktop.PolicyKit1"),
                "/org/freedesktop/PolicyKit1/Authority",
                Some("org.freedesktop.PolicyKit1.Authority"),
                "CheckAuthorization",
                &(subject, action, details, 1u32, ""),
            )
            .await;
        match reply {
            Ok(message) => match message
                .body()
                .deserialize::<(bool, bool, HashMap<String, String>)>()
            {
                Ok((true, _, _)) => PolkitAnswer::Authorized,
                Ok(_) => PolkitAnswer::NotAuthorized,
                Err(_) => PolkitAnswer::Unavailable,
            },
            Err(e) => {
                debug!(error = %e, "polkit could not be asked");
                PolkitAnswer::Unavailable
            }
        }
    }

    /// Authorises a privileged call; the audit log's consent word on success.
    async fn authorise(
        &self,
        conn: &zbus::Connection,
        header: &Header<'_>,
        action: &str,
        uid: Option<u32>,
    ) -> Result<&'static str, BusError> {
        let decision = match decide(self.app.config.polkit, self.bus, uid, self.app.own_uid) {
            Decision::AskPolkit => decide_with(self.polkit(conn, header, action).await),
            other => other,
        };
        match decision {
            Decision::Allow => Ok("polkit"),
            _ => Err(ApiError::new(ErrorCode::Forbidden)
                .with_reason(format!("not authorised for {action}"))
                .into()),
        }
    }

    async fn op(
        &self,
        conn: &zbus::Connection,
        header: &Header<'_>,
        reader: &str,
        operation: Operation,
        action: Option<&str>,
    ) -> Result<String, BusError> {
        let (client, uid) = self.caller(conn, header).await;
        let allowed = match action {
            Some(action) => Some(self.authorise(conn, header, action, uid).await?),
            None => None,
        };
        let value = self
            .app
            .card_op_allowed(&client, "dbus", reader, operation, allowed)
            .await?;
        Ok(value.to_string())
    }
}

fn pin(name: &str) -> Result<PinKind, BusError> {
    PinKind::from_name(name).ok_or_else(|| {
        ApiError::new(ErrorCode::BadRequest)
            .with_reason("pin must be id, sign or puk")
            .into()
    })
}

fn parse<T: serde::de::DeserializeOwned + Default>(json: &str) -> Result<T, BusError> {
    if json.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(json).map_err(|_| {
        ApiError::new(ErrorCode::BadRequest)
            .with_reason("invalid JSON")
            .into()
    })
}

fn parse_required<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, BusError> {
    serde_json::from_str(json).map_err(|_| {
        ApiError::new(ErrorCode::BadRequest)
            .with_reason("invalid JSON")
            .into()
    })
}

/// `ir.shenas.Manager1`.
struct Manager(Ctx);

#[zbus::interface(name = "ir.shenas.Manager1")]
impl Manager {
    /// The readers: (name, card present, ATR hex or "").
    async fn list_readers(&self) -> Vec<(String, bool, String)> {
        self.0
            .app
            .readers
            .list()
            .readers
            .into_iter()
            .map(|r| (r.name, r.card_present, r.atr.unwrap_or_default()))
            .collect()
    }

    /// The object path of a reader's object.
    fn reader_path(&self, reader: &str) -> zbus::zvariant::OwnedObjectPath {
        zbus::zvariant::OwnedObjectPath::try_from(reader_path(reader)).unwrap_or_else(|_| {
            zbus::zvariant::OwnedObjectPath::from(
                zbus::zvariant::ObjectPath::from_static_str_unchecked(MANAGER_PATH),
            )
        })
    }

    /// The daemon's status (JSON `DaemonStatus`).
    fn status(&self) -> String {
        serde_json::to_string(&self.0.app.status()).unwrap_or_default()
    }

    /// Identify the card (JSON `CardIdentity`).
    async fn identify(
        &self,
        reader: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        self.0
            .op(conn, &header, reader, Operation::Identify, None)
            .await
    }

    /// Read the identity (request: JSON `ReadIdentityRequest` or ""); privileged.
    async fn read_identity(
        &self,
        reader: &str,
        request: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        let request: ReadIdentityRequest = parse(request)?;
        let op = Operation::ReadIdentity(request);
        self.0
            .op(conn, &header, reader, op, Some(POLKIT_READ_IDENTITY))
            .await
    }

    /// The certificates (JSON array of `CertificateInfo`).
    async fn certificates(
        &self,
        reader: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        self.0
            .op(conn, &header, reader, Operation::Certificates, None)
            .await
    }

    /// Tries left on a PIN (`id`, `sign`, `puk`).
    async fn pin_status(
        &self,
        reader: &str,
        pin_name: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        let op = Operation::PinStatus(pin(pin_name)?);
        self.0.op(conn, &header, reader, op, None).await
    }

    /// Verify a PIN; privileged under the sign action (a verified PIN is what lets the card's
    /// keys sign or authenticate), so no bus client can spend the holder's tries.
    async fn verify_pin(
        &self,
        reader: &str,
        pin_name: &str,
        value: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        let op = Operation::VerifyPin(pin(pin_name)?, Secret::new(value));
        self.0
            .op(conn, &header, reader, op, Some(POLKIT_SIGN))
            .await
    }

    /// Change a PIN; privileged.
    async fn change_pin(
        &self,
        reader: &str,
        pin_name: &str,
        old: &str,
        new: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        let op = Operation::ChangePin(pin(pin_name)?, Secret::new(old), Secret::new(new));
        self.0
            .op(conn, &header, reader, op, Some(POLKIT_MANAGE_PIN))
            .await
    }

    /// Unblock a PIN with the PUK; privileged.
    async fn unblock_pin(
        &self,
        reader: &str,
        pin_name: &str,
        puk: &str,
        new: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        let op = Operation::UnblockPin(pin(pin_name)?, Secret::new(puk), Secret::new(new));
        self.0
            .op(conn, &header, reader, op, Some(POLKIT_MANAGE_PIN))
            .await
    }

    /// Sign a hash (request: JSON `SignRequest`); privileged.
    async fn sign_hash(
        &self,
        reader: &str,
        request: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        let request: SignRequest = parse_required(request)?;
        let op = Operation::Sign(request);
        self.0
            .op(conn, &header, reader, op, Some(POLKIT_SIGN))
            .await
    }

    /// Authenticate over a challenge (request: JSON `AuthenticateRequest`); privileged.
    async fn authenticate(
        &self,
        reader: &str,
        request: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        let request: AuthenticateRequest = parse_required(request)?;
        let op = Operation::Authenticate(request);
        self.0
            .op(conn, &header, reader, op, Some(POLKIT_SIGN))
            .await
    }

    /// Confirm a pending consent of the localhost API (JSON `Consent`); privileged (the
    /// polkit action of the consent's operation).
    async fn confirm_consent(
        &self,
        id: &str,
        operation: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        let action =
            match serde_json::from_value::<ConsentOperation>(serde_json::Value::from(operation)) {
                Ok(ConsentOperation::ReadIdentity) => POLKIT_READ_IDENTITY,
                Ok(_) => POLKIT_SIGN,
                Err(_) => return Err(ErrorCode::BadRequest.into()),
            };
        let (_, uid) = self.0.caller(conn, &header).await;
        self.0.authorise(conn, &header, action, uid).await?;
        let consent = self.0.app.consent.confirm(id, std::time::Instant::now())?;
        if consent.operation.as_str() != operation {
            return Err(ErrorCode::ConsentInvalid.into());
        }
        Ok(serde_json::to_string(&consent).unwrap_or_default())
    }

    /// Whether the smart-card service is reachable.
    #[zbus(property)]
    fn service_available(&self) -> bool {
        self.0.app.readers.service_available()
    }

    /// A reader appeared.
    #[zbus(signal)]
    async fn reader_added(emitter: &SignalEmitter<'_>, reader: &str) -> zbus::Result<()>;
    /// A reader disappeared.
    #[zbus(signal)]
    async fn reader_removed(emitter: &SignalEmitter<'_>, reader: &str) -> zbus::Result<()>;
    /// A card was inserted (ATR in hexadecimal).
    #[zbus(signal)]
    async fn card_inserted(
        emitter: &SignalEmitter<'_>,
        reader: &str,
        atr: &str,
    ) -> zbus::Result<()>;
    /// A card was removed.
    #[zbus(signal)]
    async fn card_removed(emitter: &SignalEmitter<'_>, reader: &str) -> zbus::Result<()>;
    /// The smart-card service is unreachable.
    #[zbus(signal)]
    async fn service_lost(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
    /// The smart-card service is reachable again.
    #[zbus(signal)]
    async fn service_restored(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

/// `ir.shenas.Reader1`: the operations of the manager, on this object's reader.
struct ReaderObject {
    ctx: Ctx,
    reader: String,
}

#[zbus::interface(name = "ir.shenas.Reader1")]
impl ReaderObject {
    /// The reader's PC/SC name.
    #[zbus(property)]
    fn name(&self) -> String {
        self.reader.clone()
    }

    /// Whether it holds a card.
    #[zbus(property)]
    fn card_present(&self) -> bool {
        self.ctx
            .app
            .readers
            .list()
            .readers
            .iter()
            .any(|r| r.name == self.reader && r.card_present)
    }

    /// Identify the card (JSON `CardIdentity`).
    async fn identify(
        &self,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        self.ctx
            .op(conn, &header, &self.reader, Operation::Identify, None)
            .await
    }

    /// Read the identity; privileged.
    async fn read_identity(
        &self,
        request: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        let op = Operation::ReadIdentity(parse(request)?);
        self.ctx
            .op(conn, &header, &self.reader, op, Some(POLKIT_READ_IDENTITY))
            .await
    }

    /// Tries left on a PIN.
    async fn pin_status(
        &self,
        pin_name: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        let op = Operation::PinStatus(pin(pin_name)?);
        self.ctx.op(conn, &header, &self.reader, op, None).await
    }

    /// Sign a hash; privileged.
    async fn sign_hash(
        &self,
        request: &str,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, BusError> {
        let op = Operation::Sign(parse_required(request)?);
        self.ctx
            .op(conn, &header, &self.reader, op, Some(POLKIT_SIGN))
            .await
    }
}

async fn connect(kind: BusKind) -> Option<zbus::Connection> {
    let conn = match kind {
        BusKind::System => zbus::Connection::system().await,
        BusKind::Session => zbus::Connection::session().await,
    };
    let conn = match conn {
        Ok(conn) => conn,
        Err(e) => {
            debug!(bus = kind.as_str(), error = %e, "bus not reachable");
            return None;
        }
    };
    // Neither replace an owner nor let one replace us, and never queue: zbus's default flags
    // (AllowReplacement | ReplaceExisting) would let a second daemon steal the name.
    let flags = zbus::fdo::RequestNameFlags::DoNotQueue.into();
    match conn.request_name_with_flags(BUS_NAME, flags).await {
        Ok(
            zbus::fdo::RequestNameReply::PrimaryOwner | zbus::fdo::RequestNameReply::AlreadyOwner,
        ) => Some(conn),
        Ok(reply) => {
            info!(
                bus = kind.as_str(),
                ?reply,
                "{BUS_NAME} is owned by another process"
            );
            None
        }
        Err(e) => {
            info!(bus = kind.as_str(), error = %e, "cannot own {BUS_NAME} (bus policy?)");
            None
        }
    }
}

async fn add_reader(conn: &zbus::Connection, ctx: &Ctx, reader: &str) {
    let object = ReaderObject {
        ctx: ctx.clone(),
        reader: reader.to_owned(),
    };
    if let Err(e) = conn.object_server().at(reader_path(reader), object).await {
        warn!(error = %e, "cannot publish a reader object");
    }
}

/// Serves the D-Bus API as configured; returns the bus served (`system`/`session`), or
/// `None` when no bus is reachable (the localhost API keeps serving).
pub async fn serve(
    config: &Config,
    app: Arc<App>,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) -> Option<String> {
    let order: &[BusKind] = match config.bus {
        BusChoice::None => &[],
        BusChoice::System => &[BusKind::System],
        BusChoice::Session => &[BusKind::Session],
        BusChoice::Auto => &[BusKind::System, BusKind::Session],
    };
    let mut found = None;
    for &kind in order {
        if let Some(conn) = connect(kind).await {
            found = Some((kind, conn));
            break;
        }
    }
    let Some((kind, conn)) = found else {
        if config.bus != BusChoice::None {
            warn!("no D-Bus bus reachable; serving the localhost API only");
        }
        return None;
    };
    let ctx = Ctx {
        app: Arc::clone(&app),
        bus: kind,
    };
    // Subscribe before publishing the readers, so no change falls between the two.
    let mut events = app.readers.subscribe();
    if let Err(e) = conn
        .object_server()
        .at(MANAGER_PATH, Manager(ctx.clone()))
        .await
    {
        warn!(error = %e, "cannot publish the manager object");
        return None;
    }
    for reader in app.readers.list().readers {
        add_reader(&conn, &ctx, &reader.name).await;
    }
    info!(bus = kind.as_str(), "serving {BUS_NAME}");
    tracker.spawn(async move {
        let Ok(emitter) = SignalEmitter::new(&conn, MANAGER_PATH) else {
            return;
        };
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => break,
                event = events.recv() => event,
            };
            let event = match event {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            let sent = match &event {
                ReaderEvent::ReaderAdded { reader } => {
                    add_reader(&conn, &ctx, reader).await;
                    Manager::reader_added(&emitter, reader).await
                }
                ReaderEvent::ReaderRemoved { reader } => {
                    let _ = conn
                        .object_server()
                        .remove::<ReaderObject, _>(reader_path(reader))
                        .await;
                    Manager::reader_removed(&emitter, reader).await
                }
                ReaderEvent::CardInserted { reader, atr } => {
                    Manager::card_inserted(&emitter, reader, atr).await
                }
                ReaderEvent::CardRemoved { reader } => {
                    Manager::card_removed(&emitter, reader).await
                }
                ReaderEvent::ServiceLost => Manager::service_lost(&emitter).await,
                ReaderEvent::ServiceRestored => Manager::service_restored(&emitter).await,
                _ => Ok(()),
            };
            if let Err(e) = sent {
                debug!(error = %e, "cannot emit a D-Bus signal");
            }
        }
        let _ = conn.release_name(BUS_NAME).await;
    });
    Some(kind.as_str().to_owned())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn polkit_decisions() {
        use BusKind::{Session, System};
        use PolkitMode::{Auto, Off, Required};
        // Root is always allowed; `off` allows everyone.
        assert_eq!(decide(Required, System, Some(0), Some(0)), Decision::Allow);
        assert_eq!(decide(Off, System, Some(1000), Some(0)), Decision::Allow);
        // The system bus asks polkit for everyone else.
        assert_eq!(
            decide(Auto, System, Some(1000), Some(0)),
            Decision::AskPolkit
        );
        assert_eq!(decide(Auto, System, None, Some(0)), Decision::AskPolkit);
        // A session bus trusts its own user only, unless polkit is required.
        assert_eq!(
            decide(Auto, Session, Some(1000), Some(1000)),
            Decision::Allow
        );
        assert_eq!(
            decide(Auto, Session, Some(1001), Some(1000)),
            Decision::Deny
        );
        assert_eq!(decide(Auto, Session, None, None), Decision::Deny);
        assert_eq!(
            decide(Required, Session, Some(1000), Some(1000)),
            Decision::AskPolkit
        );
        // Only an explicit yes allows.
        assert_eq!(decide_with(PolkitAnswer::Authorized), Decision::Allow);
        assert_eq!(decide_with(PolkitAnswer::NotAuthorized), Decision::Deny);
        assert_eq!(decide_with(PolkitAnswer::Unavailable), Decision::Deny);
    }

    #[test]
    fn bus_errors_are_typed() {
        let error = BusError::from(ApiError::new(ErrorCode::NoCard));
        assert_eq!(
            zbus::DBusError::name(&error).as_str(),
            "ir.shenas.Error.NoCard"
        );
        assert!(zbus::DBusError::description(&error).is_some_and(|d| d.contains("\"no_card\"")));
    }
}
