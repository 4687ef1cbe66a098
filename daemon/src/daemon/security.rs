//! The localhost API's defences, as plain functions the HTTP layer calls and tests check: the
//! per-installation token, the `Host` check (DNS rebinding), the `Origin` allow-list and the
//! request-rate limit.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use tracing::{info, warn};
use zeroize::Zeroizing;

/// The effective uid of this process (the owner of `/proc/self`).
pub fn current_uid() -> Option<u32> {
    fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// The API token: 32 random bytes as 64 hexadecimal digits. Never logged.
pub struct ApiToken(Zeroizing<String>);

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

impl ApiToken {
    /// Reads the token from `path`, or creates the file (mode 0600, owned by `owner` when
    /// given) with a fresh random token. A token file readable by group or others is narrowed
    /// to 0600 with a warning.
    pub fn load_or_create(path: &Path, owner: Option<u32>) -> io::Result<Self> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(mut file) => {
                let mut bytes = Zeroizing::new([0u8; 32]);
                getrandom::fill(bytes.as_mut_slice()).map_err(io::Error::other)?;
                let token = Zeroizing::new(hex::encode(bytes.as_slice()));
                file.write_all(token.as_bytes())?;
                file.sync_all()?;
                if let Some(uid) = owner {
                    std::os::unix::fs::chown(path, Some(uid), None)?;
                }
                info!(path = %path.display(), "created the API token file");
                Ok(Self(token))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let mut file = fs::File::open(path)?;
                let mode = file.metadata()?.permissions().mode();
                if mode & 0o077 != 0 {
                    warn!(path = %path.display(), "the API token file was readable by others; narrowing it to 0600");
                    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
                }
                let mut text = Zeroizing::new(String::new());
                file.read_to_string(&mut text)?;
                let token = Zeroizing::new(text.trim().to_owned());
                if token.len() < 32 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the API token file holds no token (at least 32 characters)",
                    ));
                }
                Ok(Self(token))
            }
            Err(e) => Err(e),
        }
    }

    /// A token from text (tests, the SDK side).
    pub fn from_text(text: &str) -> Self {
        Self(Zeroizing::new(text.to_owned()))
    }

    /// Compares `candidate` in time independent of where it differs.
    pub fn matches(&self, candidate: &str) -> bool {
        let a = self.0.as_bytes();
        let b = candidate.as_bytes();
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Whether a `Host` header names the loopback interface (`localhost`, `127.0.0.1`, `[::1]`,
/// with or without a port). Anything else may be a DNS-rebinding page reaching us under a
/// foreign name.
pub fn host_is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inside, after)) if after.is_empty() || port_ok(after) => inside,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port_ok(&format!(":{port}")) => name,
            Some(_) => return false,
            None => host,
        }
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name == "localhost."
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn port_ok(colon_port: &str) -> bool {
    colon_port
        .strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.parse::<u16>().is_ok())
}

/// Whether `origin` is on the allow-list (exact, case-insensitive match; `null` never is).
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    origin != "null" && allowed.iter().any(|a| a.eq_ignore_ascii_case(origin))
}

/// A token bucket: `rate` requests per second sustained, `burst` at once.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst),
            state: Mutex::new((f64::from(burst), Instant::now())),
        }
    }

    /// Takes one token at `now`; false when the bucket is empty.
    pub fn allow_at(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, last) = &mut *state;
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Takes one token now.
    pub fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn loopback_hosts() {
        for ok in [
            "localhost",
            "LOCALHOST:24780",
            "127.0.0.1",
            "127.0.0.1:24780",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:24780",
        ] {
            assert!(host_is_loopback(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:24780",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "10.0.0.1:24780",
            "[::2]:1",
            "[::1]x",
            "localhost:",
            "localhost:99999",
            "",
        ] {
            assert!(!host_is_loopback(bad), "{bad}");
        }
    }

    #[test]
    fn origins() {
        let allowed = vec!["https://portal.example".to_owned()];
        assert!(origin_allowed("https://portal.example", &allowed));
        assert!(origin_allowed("HTTPS://PORTAL.EXAMPLE", &allowed));
        assert!(!origin_allowed("https://portal.example.evil", &allowed));
        assert!(!origin_allowed("http://portal.example", &allowed));
        assert!(!origin_allowed("null", &["null".to_owned()]));
    }

    #[test]
    fn token_bucket() {
        let limiter = RateLimiter::new(10, 3);
        let t0 = Instant::now();
        assert!(limiter.allow_at(t0));
        assert!(limiter.allow_at(t0));
        assert!(limiter.allow_at(t0));
        assert!(!limiter.allow_at(t0));
        // 100 ms at 10/s refills one.
        assert!(limiter.allow_at(t0 + Duration::from_millis(100)));
        assert!(!limiter.allow_at(t0 + Duration::from_millis(100)));
    }

    #[test]
    fn token_file_is_private_and_stable() -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!("shenasd-token-{}", std::process::id()));
        let path = dir.join("sub/api-token");
        let _ = fs::remove_dir_all(&dir);
        let first = ApiToken::load_or_create(&path, None)?;
        let mode = fs::metadata(&path)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = fs::read_to_string(&path)?;
        assert_eq!(text.len(), 64);
        assert!(first.matches(&text));
        assert!(!first.matches(&text.replace(|c: char| c != '0', "0")));
        assert!(!format!("{first:?}").contains(&text));
        // Loading again gives the same token; a widened mode is narrowed.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
        let second = ApiToken::load_or_create(&path, None)?;
        assert!(second.matches(&text));
        assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
