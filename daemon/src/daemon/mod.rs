//! `shenasd`: the daemon behind the localhost API and the D-Bus API.
//!
//! [`run`] is the whole daemon; `src/bin/shenasd.rs` only parses arguments, sets up tracing and
//! signals, and calls it. Tests drive [`run`] (or the binary) directly.
//!
//! - [`config`]: the TOML configuration and its defaults.
//! - [`readers`]: one OS thread per reader, a monitor thread, the event stream.
//! - [`conversations`]: the card operations' seam ([`CardConversations`]); [`cards`]: the card
//!   applications of `shenas-cards` plugged into it ([`cards::SessionConversations`]).
//! - [`http`]: the localhost API (HTTP JSON + WebSocket) and its defences ([`security`]).
//! - [`consent`], [`audit`]: the consent policy and the audit log.
//! - [`bus`]: the D-Bus API (zbus), with polkit for privileged methods.
//! - [`openapi`]: the route table and the OpenAPI document.

pub mod audit;
pub mod bus;
pub mod cards;
pub mod config;
pub mod consent;
pub mod conversations;
pub mod http;
pub mod openapi;
pub mod readers;
pub mod security;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use config::Config;
pub use conversations::{BasicConversations, CardConversations};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The token file cannot be read or created.
    #[error("cannot read or create the API token file {path}")]
    Token {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The audit log cannot be opened.
    #[error("cannot open the audit log {path}")]
    Audit {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The localhost API cannot listen.
    #[error("cannot listen on {address}")]
    Listen {
        /// The address or socket path.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start the reader threads")]
    Threads(#[source] std::io::Error),
}

/// What the daemon reports once it is ready: the localhost API accepts and the bus name is
/// owned (or no bus is reachable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ready {
    /// The localhost API's address (the real port when the configuration asked for port 0).
    pub http: SocketAddr,
    /// The Unix socket, when configured.
    pub unix_socket: Option<PathBuf>,
    /// The bus served: `system`, `session` or `none`.
    pub bus: String,
    /// Time from the call of [`run`] to ready.
    pub elapsed: Duration,
}

impl std::fmt::Display for Ready {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ready http={} bus={} elapsed_us={}",
            self.http,
            self.bus,
            self.elapsed.as_micros()
        )?;
        if let Some(path) = &self.unix_socket {
            write!(f, " unix={}", path.display())?;
        }
        Ok(())
    }
}

/// How long shutdown waits for open requests and sessions.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Runs the daemon until `shutdown` is cancelled; calls `ready` once it serves.
pub async fn run(
    config: Config,
    conversations: Arc<dyn CardConversations>,
    shutdown: CancellationToken,
    ready: impl FnOnce(&Ready),
) -> Result<(), DaemonError> {
    let started = Instant::now();
    config.check()?;
    let token = security::ApiToken::load_or_create(&config.token_file, config.token_owner_uid)
        .map_err(|source| DaemonError::Token {
            path: config.token_file.clone(),
            source,
        })?;
    let audit = audit::AuditLog::open(&config.audit_log).map_err(|source| DaemonError::Audit {
        path: config.audit_log.clone(),
        source,
    })?;
    let timeout = Duration::from_secs(config.card_timeout_secs.max(1));
    let readers =
        tokio::task::spawn_blocking(move || readers::Readers::start(conversations, timeout))
            .await
            .map_err(|e| DaemonError::Threads(std::io::Error::other(e)))?
            .map_err(DaemonError::Threads)?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            address: config.listen.to_string(),
            source,
        })?;
    let http_addr = listener
        .local_addr()
        .map_err(|source| DaemonError::Listen {
            address: config.listen.to_string(),
            source,
        })?;
    let unix = match &config.unix_socket {
        Some(path) => {
            // A socket left by a previous run would make bind fail.
            if std::fs::symlink_metadata(path)
                .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
            {
                let _ = std::fs::remove_file(path);
            }
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let listener =
                tokio::net::UnixListener::bind(path).map_err(|source| DaemonError::Listen {
                    address: path.display().to_string(),
                    source,
                })?;
            Some((listener, path.clone()))
        }
        None => None,
    };

    let app = Arc::new(http::App {
        limiter: security::RateLimiter::new(config.requests_per_second, config.burst),
        consent: consent::ConsentStore::new(
            config.kiosk,
            Duration::from_secs(config.consent_ttl_secs),
        ),
        config: config.clone(),
        token,
        readers: Arc::clone(&readers),
        audit,
        bus: Mutex::new("none".into()),
        ws_clients: AtomicUsize::new(0),
        shutdown: shutdown.clone(),
        own_uid: security::current_uid(),
    });
    let tracker = TaskTracker::new();
    let router = http::router(Arc::clone(&app));
    {
        let service = router
            .clone()
            .into_make_service_with_connect_info::<http::PeerInfo>();
        let stop = shutdown.clone();
        tracker.spawn(async move {
            let served = axum::serve(listener, service)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                warn!(error = %e, "the localhost API stopped");
            }
        });
    }
    let unix_path = match unix {
        Some((listener, path)) => {
            let service = router.into_make_service_with_connect_info::<http::PeerInfo>();
            let stop = shutdown.clone();
            tracker.spawn(async move {
                let served = axum::serve(listener, service)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await;
                if let Err(e) = served {
                    warn!(error = %e, "the Unix-socket API stopped");
                }
            });
            Some(path)
        }
        None => None,
    };

    let bus_name = match bus::serve(&config, Arc::clone(&app), &tracker, shutdown.clone()).await {
        Some(kind) => kind,
        None => "none".to_owned(),
    };
    *app.bus.lock().unwrap_or_else(PoisonError::into_inner) = bus_name.clone();

    let report = Ready {
        http: http_addr,
        unix_socket: unix_path.clone(),
        bus: bus_name,
        elapsed: started.elapsed(),
    };
    info!(%report, "shenasd ready");
    ready(&report);

    shutdown.cancelled().await;
    info!("shenasd shutting down");
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        warn!("open requests did not finish within {SHUTDOWN_GRACE:?}; stopping anyway");
    }
    let _ = tokio::task::spawn_blocking(move || readers.shutdown()).await;
    if let Some(path) = unix_path {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}
