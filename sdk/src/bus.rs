//! The D-Bus client: `ir.shenas.Manager1` at `/ir/shenas/Daemon1` on `ir.shenas.Daemon1`.
//! Answers are the same JSON documents as the localhost API's; typed D-Bus errors
//! (`ir.shenas.Error.*`) become [`SdkError::Api`].

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use shenas_dbus::api::{
    AuthenticateRequest, CardIdentity, CertificateInfo, DaemonStatus, IdentityDocument, PinKind,
    PinStatus, ReadIdentityRequest, Secret, SignRequest, SignatureReply,
};
use shenas_dbus::names::ERROR_PREFIX;
use shenas_dbus::{ApiError, ErrorCode, ReaderEvent, ReaderInfo};

use crate::SdkError;

#[allow(missing_docs, unreachable_pub)]
mod proxy {
    #[zbus::proxy(
        interface = "ir.shenas.Manager1",
        default_service = "ir.shenas.Daemon1",
        default_path = "/ir/shenas/Daemon1"
    )]
    pub trait Manager1 {
        fn list_readers(&self) -> zbus::Result<Vec<(String, bool, String)>>;
        fn status(&self) -> zbus::Result<String>;
        fn identify(&self, reader: &str) -> zbus::Result<String>;
        fn read_identity(&self, reader: &str, request: &str) -> zbus::Result<String>;
        fn pin_status(&self, reader: &str, pin_name: &str) -> zbus::Result<String>;
        fn certificates(&self, reader: &str) -> zbus::Result<String>;
        fn verify_pin(&self, reader: &str, pin_name: &str, value: &str) -> zbus::Result<String>;
        fn change_pin(
            &self,
            reader: &str,
            pin_name: &str,
            old: &str,
            new: &str,
        ) -> zbus::Result<String>;
        fn unblock_pin(
            &self,
            reader: &str,
            pin_name: &str,
            puk: &str,
            new: &str,
        ) -> zbus::Result<String>;
        fn sign_hash(&self, reader: &str, request: &str) -> zbus::Result<String>;
        fn authenticate(&self, reader: &str, request: &str) -> zbus::Result<String>;
        #[zbus(signal)]
        fn reader_added(&self, reader: &str) -> zbus::Result<()>;
        #[zbus(signal)]
        fn reader_removed(&self, reader: &str) -> zbus::Result<()>;
        #[zbus(signal)]
        fn card_inserted(&self, reader: &str, atr: &str) -> zbus::Result<()>;
        #[zbus(signal)]
        fn card_removed(&self, reader: &str) -> zbus::Result<()>;
        #[zbus(signal)]
        fn service_lost(&self) -> zbus::Result<()>;
        #[zbus(signal)]
        fn service_restored(&self) -> zbus::Result<()>;
        #[zbus(property)]
        fn service_available(&self) -> zbus::Result<bool>;
    }
}

/// Turns a typed D-Bus error into the daemon's [`ApiError`].
fn bus_error(error: zbus::Error) -> SdkError {
    if let zbus::Error::MethodError(name, description, _) = &error
        && name.as_str().starts_with(ERROR_PREFIX)
    {
        let parsed = description
            .as_deref()
            .and_then(|d| serde_json::from_str::<ApiError>(d).ok());
        return SdkError::Api(parsed.unwrap_or_else(|| ApiError::new(ErrorCode::Internal)));
    }
    SdkError::Bus(error)
}

fn decode<T: DeserializeOwned>(json: zbus::Result<String>) -> Result<T, SdkError> {
    Ok(serde_json::from_str(&json.map_err(bus_error)?)?)
}

/// Which bus to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bus {
    /// The system bus.
    System,
    /// The session bus.
    Session,
}

/// A D-Bus client of the daemon.
pub struct BusClient {
    proxy: proxy::Manager1Proxy<'static>,
}

impl BusClient {
    /// Connects to the daemon on `bus`.
    pub async fn connect(bus: Bus) -> Result<Self, SdkError> {
        let connection = match bus {
            Bus::System => zbus::Connection::system().await?,
            Bus::Session => zbus::Connection::session().await?,
        };
        let proxy = proxy::Manager1Proxy::new(&connection).await?;
        Ok(Self { proxy })
    }

    /// Connects to the daemon on the bus at `address` (a D-Bus address such as
    /// `unix:path=/run/user/1000/bus`).
    pub async fn connect_address(address: &str) -> Result<Self, SdkError> {
        let connection = zbus::connection::Builder::address(address)?.build().await?;
        let proxy = proxy::Manager1Proxy::new(&connection).await?;
        Ok(Self { proxy })
    }

    /// The readers.
    pub async fn readers(&self) -> Result<Vec<ReaderInfo>, SdkError> {
        let list = self.proxy.list_readers().await.map_err(bus_error)?;
        Ok(list
            .into_iter()
            .map(|(name, card_present, atr)| ReaderInfo {
                name,
                card_present,
                exclusive: false,
                atr: (!atr.is_empty()).then_some(atr),
            })
            .collect())
    }

    /// The daemon's status.
    pub async fn status(&self) -> Result<DaemonStatus, SdkError> {
        decode(self.proxy.status().await)
    }

    /// Identifies the card in `reader` (`_`: the first reader holding a card).
    pub async fn identify(&self, reader: &str) -> Result<CardIdentity, SdkError> {
        decode(self.proxy.identify(reader).await)
    }

    /// Reads the identity (polkit decides).
    pub async fn read_identity(
        &self,
        reader: &str,
        request: &ReadIdentityRequest,
    ) -> Result<IdentityDocument, SdkError> {
        let request = serde_json::to_string(request)?;
        decode(self.proxy.read_identity(reader, &request).await)
    }

    /// Tries left on a PIN.
    pub async fn pin_status(&self, reader: &str, pin: PinKind) -> Result<PinStatus, SdkError> {
        decode(self.proxy.pin_status(reader, pin.as_str()).await)
    }

    /// The certificates, validated by the daemon.
    pub async fn certificates(&self, reader: &str) -> Result<Vec<CertificateInfo>, SdkError> {
        decode(self.proxy.certificates(reader).await)
    }

    /// Verifies a PIN (privileged: polkit decides). Sent once; never retried.
    pub async fn verify_pin(
        &self,
        reader: &str,
        pin: PinKind,
        value: &Secret,
    ) -> Result<PinStatus, SdkError> {
        decode(
            self.proxy
                .verify_pin(reader, pin.as_str(), value.expose())
                .await,
        )
    }

    /// Changes a PIN (privileged).
    pub async fn change_pin(
        &self,
        reader: &str,
        pin: PinKind,
        old: &Secret,
        new: &Secret,
    ) -> Result<PinStatus, SdkError> {
        decode(
            self.proxy
                .change_pin(reader, pin.as_str(), old.expose(), new.expose())
                .await,
        )
    }

    /// Unblocks a PIN with the PUK (privileged).
    pub async fn unblock_pin(
        &self,
        reader: &str,
        pin: PinKind,
        puk: &Secret,
        new: &Secret,
    ) -> Result<PinStatus, SdkError> {
        decode(
            self.proxy
                .unblock_pin(reader, pin.as_str(), puk.expose(), new.expose())
                .await,
        )
    }

    /// Signs a hash on the card (privileged); the daemon verified the signature.
    pub async fn sign(
        &self,
        reader: &str,
        request: &SignRequest,
    ) -> Result<SignatureReply, SdkError> {
        let request = zeroize::Zeroizing::new(serde_json::to_string(request)?);
        decode(self.proxy.sign_hash(reader, &request).await)
    }

    /// INTERNAL AUTHENTICATE over a challenge (privileged).
    pub async fn authenticate(
        &self,
        reader: &str,
        request: &AuthenticateRequest,
    ) -> Result<SignatureReply, SdkError> {
        let request = zeroize::Zeroizing::new(serde_json::to_string(request)?);
        decode(self.proxy.authenticate(reader, &request).await)
    }

    /// Whether the smart-card service is reachable.
    pub async fn service_available(&self) -> Result<bool, SdkError> {
        self.proxy.service_available().await.map_err(bus_error)
    }

    /// Card insert and removal signals as events, until the connection closes.
    pub async fn card_events(
        &self,
    ) -> Result<impl futures_util::Stream<Item = ReaderEvent> + use<>, SdkError> {
        let inserted = self
            .proxy
            .receive_card_inserted()
            .await?
            .filter_map(|signal| async move {
                let args = signal.args().ok()?;
                Some(ReaderEvent::CardInserted {
                    reader: args.reader().to_string(),
                    atr: args.atr().to_string(),
                })
            });
        let removed = self
            .proxy
            .receive_card_removed()
            .await?
            .filter_map(|signal| async move {
                let args = signal.args().ok()?;
                Some(ReaderEvent::CardRemoved {
                    reader: args.reader().to_string(),
                })
            });
        Ok(futures_util::stream::select(
            Box::pin(inserted),
            Box::pin(removed),
        ))
    }
}
