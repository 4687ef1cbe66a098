//! `shenasd`'s configuration: a TOML file whose every key has a default, so an empty file (or
//! none) gives a working daemon on `127.0.0.1:24780`.
//!
//! ```toml
//! listen = "127.0.0.1:24780"      # the localhost API (loopback addresses only)
//! unix_socket = "/run/shenas/api.sock"   # optional: peer-credential clients
//! socket_uids = [1000]            # uids a Unix-socket peer is trusted as (besides the daemon's)
//! token_file = "/var/lib/shenas/api-token"
//! token_owner_uid = 1000          # the kiosk user who may read the token
//! allowed_origins = ["https://portal.example"]
//! kiosk = false
//! bus = "auto"                    # auto | system | session | none
//! polkit = "auto"                 # auto | required | off
//! audit_log = "/var/log/shenas/audit.jsonl"
//! max_body_bytes = 65536
//! requests_per_second = 200
//! burst = 400
//! consent_ttl_secs = 120
//! card_timeout_secs = 30
//! issuer_url = "http://127.0.0.1:24790"   # the issuer authority; absent: the simulated one
//! trust_anchors = ["/etc/shenas/national-root.pem"]   # empty: the simulated national root
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use shenas_dbus::names::DEFAULT_PORT;

/// Which D-Bus bus to serve on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusChoice {
    /// The system bus when it can be reached and the name owned, else the session bus, else none.
    #[default]
    Auto,
    /// The system bus only.
    System,
    /// The session bus only.
    Session,
    /// No D-Bus at all.
    None,
}

/// Whether privileged D-Bus methods ask polkit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolkitMode {
    /// Ask polkit on the system bus; on the session bus, trust callers of the same uid.
    #[default]
    Auto,
    /// Always ask polkit; refuse when it cannot be asked.
    Required,
    /// Never ask (development only: any caller on the bus may use privileged methods).
    Off,
}

/// The daemon's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address of the localhost API; must be a loopback address.
    pub listen: SocketAddr,
    /// A Unix socket for clients authenticated by their peer credentials.
    pub unix_socket: Option<PathBuf>,
    /// Uids trusted over the Unix socket, besides the daemon's own uid.
    pub socket_uids: Vec<u32>,
    /// The per-installation API token (created 0600 when missing).
    pub token_file: PathBuf,
    /// Owner given to a newly created token file (the kiosk user).
    pub token_owner_uid: Option<u32>,
    /// Web origins allowed to call the API (exact `scheme://host[:port]`). Requests carrying
    /// any other `Origin` are refused.
    pub allowed_origins: Vec<String>,
    /// Kiosk mode: the authenticated client needs no per-operation consent.
    pub kiosk: bool,
    /// Which D-Bus bus to serve on.
    pub bus: BusChoice,
    /// polkit for privileged D-Bus methods.
    pub polkit: PolkitMode,
    /// The audit log (JSON lines).
    pub audit_log: PathBuf,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Sustained requests per second accepted (all clients together).
    pub requests_per_second: u32,
    /// Requests accepted in a burst above the sustained rate.
    pub burst: u32,
    /// Seconds a consent stays usable.
    pub consent_ttl_secs: u64,
    /// Seconds one APDU may take.
    pub card_timeout_secs: u64,
    /// Largest number of WebSocket clients at once.
    pub max_ws_clients: usize,
    /// The issuer authority's base URL (card authentication before reading the identity);
    /// absent: the simulated issuer, in process.
    pub issuer_url: Option<String>,
    /// Trust anchors (PEM or DER files) for passive authentication and certificates; empty:
    /// the simulated national root CA (and answers say `"trust": "simulated"`).
    pub trust_anchors: Vec<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        let state = default_state_dir();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            unix_socket: None,
            socket_uids: Vec::new(),
            token_file: state.join("api-token"),
            token_owner_uid: None,
            allowed_origins: Vec::new(),
            kiosk: false,
            bus: BusChoice::Auto,
            polkit: PolkitMode::Auto,
            audit_log: state.join("audit.jsonl"),
            max_body_bytes: 64 * 1024,
            requests_per_second: 200,
            burst: 400,
            consent_ttl_secs: 120,
            card_timeout_secs: 30,
            max_ws_clients: 64,
            issuer_url: None,
            trust_anchors: Vec::new(),
        }
    }
}

/// Where the token and the audit log live by default: `/var/lib/shenas` for root,
/// `$XDG_STATE_HOME/shenas` (or `~/.local/state/shenas`) for anyone else.
pub fn default_state_dir() -> PathBuf {
    if crate::daemon::security::current_uid() == Some(0) {
        return PathBuf::from("/var/lib/shenas");
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("shenas");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".local/state/shenas");
    }
    PathBuf::from("/tmp/shenas")
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("invalid configuration in {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: toml::de::Error,
    },
    /// A value is out of range.
    #[error("invalid configuration: {0}")]
    Invalid(&'static str),
}

impl Config {
    /// Reads and checks a TOML configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
        config.check()?;
        Ok(config)
    }

    /// Checks values a parse cannot: the listen address is loopback, limits are positive,
    /// origins are plain origins.
    pub fn check(&self) -> Result<(), ConfigError> {
        if !self.listen.ip().is_loopback() {
            return Err(ConfigError::Invalid(
                "listen must be a loopback address (127.0.0.1 or ::1)",
            ));
        }
        if self.max_body_bytes == 0 || self.requests_per_second == 0 || self.burst == 0 {
            return Err(ConfigError::Invalid(
                "max_body_bytes, requests_per_second and burst must be positive",
            ));
        }
        if self
            .allowed_origins
            .iter()
            .any(|o| o == "*" || o.ends_with('/'))
        {
            return Err(ConfigError::Invalid(
                "allowed_origins holds exact origins (scheme://host[:port]); no wildcard",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() -> Result<(), toml::de::Error> {
        let config: Config = toml::from_str("")?;
        assert_eq!(config, Config::default());
        assert_eq!(config.listen.to_string(), "127.0.0.1:24780");
        assert!(config.check().is_ok());
        Ok(())
    }

    #[test]
    fn the_shipped_config_is_the_defaults() -> Result<(), toml::de::Error> {
        let shipped: Config = toml::from_str(include_str!("../../dist/shenasd.toml"))?;
        assert!(shipped.check().is_ok());
        let defaults = Config {
            token_file: shipped.token_file.clone(),
            audit_log: shipped.audit_log.clone(),
            ..Config::default()
        };
        assert_eq!(shipped, defaults);
        assert_eq!(
            shipped.token_file,
            PathBuf::from("/var/lib/shenas/api-token")
        );
        Ok(())
    }

    #[test]
    fn values_are_read_and_checked() -> Result<(), toml::de::Error> {
        let config: Config = toml::from_str(
            "listen = \"127.0.0.1:9999\"\nkiosk = true\nbus = \"session\"\nallowed_origins = [\"https://a.example\"]\n",
        )?;
        assert!(config.kiosk);
        assert_eq!(config.bus, BusChoice::Session);
        assert_eq!(config.listen.port(), 9999);
        assert!(config.check().is_ok());

        let open: Config = toml::from_str("listen = \"0.0.0.0:24780\"")?;
        assert!(open.check().is_err());
        let wildcard: Config = toml::from_str("allowed_origins = [\"*\"]")?;
        assert!(wildcard.check().is_err());
        assert!(toml::from_str::<Config>("no_such_key = 1").is_err());
        Ok(())
    }
}
