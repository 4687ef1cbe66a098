//! [`HttpIssuer`]: an issuer service reached over HTTP with the protocol of [`super::wire`].

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wire::{
    self, BeginRequest, BeginResponse, ErrorResponse, FinishRequest, FinishResponse, MAX_BODY,
};
use super::{IssuerAuthority, IssuerChallenge, IssuerError, IssuerMode, IssuerSession};
use crate::device_auth::CRYPTOGRAM_LEN;
use crate::sm::SessionKeys;

/// How long one request may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// An issuer service over HTTP ([`super::wire`]), in [`IssuerMode::SessionKeysOnly`].
///
/// Plain `http://` is accepted to loopback only (`127.0.0.0/8`, `::1`, `localhost`), where the
/// simulated issuer listens; this build has no TLS, so `https://` is refused with
/// [`IssuerError::InsecureEndpoint`] too, rather than silently speaking plain HTTP over a
/// network. No proxy from the environment is used and redirects are not followed. Connections
/// are kept alive between requests (one authentication makes two).
pub struct HttpIssuer {
    base: String,
    agent: ureq::Agent,
}

impl HttpIssuer {
    /// An issuer at `base_url` (e.g. `http://127.0.0.1:8446`), with [`DEFAULT_TIMEOUT`].
    pub fn new(base_url: &str) -> Result<Self, IssuerError> {
        Self::with_timeout(base_url, DEFAULT_TIMEOUT)
    }

    /// An issuer at `base_url` whose requests each take at most `timeout`.
    pub fn with_timeout(base_url: &str, timeout: Duration) -> Result<Self, IssuerError> {
        let base = check_endpoint(base_url)?;
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .build();
        Ok(Self {
            base,
            agent: ureq::Agent::new_with_config(config),
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        success: u16,
    ) -> Result<R, IssuerError> {
        let body = serde_json::to_string(body).map_err(|e| IssuerError::Transport(e.into()))?;
        let mut response = self
            .agent
            .post(format!("{}{path}", self.base))
            .content_type("application/json")
            .send(body)
            .map_err(map_ureq)?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(u64::try_from(MAX_BODY).unwrap_or(u64::MAX))
            .read_to_string()
            .map_err(map_ureq)?;
        if status == success {
            return serde_json::from_str(&text).map_err(|_| IssuerError::Protocol {
                reason: "malformed answer",
            });
        }
        match serde_json::from_str::<ErrorResponse>(&text) {
            Ok(e) => Err(wire::error_from_code(&e.error)),
            Err(_) if status >= 500 => Err(IssuerError::Internal),
            Err(_) => Err(IssuerError::Protocol {
                reason: "unexpected HTTP status",
            }),
        }
    }
}

impl fmt::Debug for HttpIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpIssuer")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn map_ureq(e: ureq::Error) -> IssuerError {
    match e {
        ureq::Error::Timeout(_) => IssuerError::Timeout,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => IssuerError::Timeout,
        ureq::Error::BodyExceedsLimit(_) => IssuerError::Protocol {
            reason: "answer too long",
        },
        e => IssuerError::Transport(Box::new(e)),
    }
}

/// Accepts `http://<loopback>[:port][/prefix]` only; returns it without a trailing `/`.
fn check_endpoint(url: &str) -> Result<String, IssuerError> {
    let rest = if let Some(rest) = url.strip_prefix("http://") {
        rest
    } else if url.starts_with("https://") {
        return Err(IssuerError::InsecureEndpoint {
            reason: "this build has no TLS: only plain http to loopback",
        });
    } else {
        return Err(IssuerError::InsecureEndpoint {
            reason: "the URL must start with http://",
        });
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') || authority.is_empty() {
        return Err(IssuerError::InsecureEndpoint {
            reason: "the URL must name a host and no credentials",
        });
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(IssuerError::InsecureEndpoint {
            reason: "plain http is allowed to loopback only",
        });
    }
    if rest.contains(['?', '#']) {
        return Err(IssuerError::InsecureEndpoint {
            reason: "the URL must have no query or fragment",
        });
    }
    Ok(url.trim_end_matches('/').to_owned())
}

impl IssuerAuthority for HttpIssuer {
    fn mode(&self) -> IssuerMode {
        IssuerMode::SessionKeysOnly
    }

    fn begin(
        &self,
        card_serial: &[u8],
        card_challenge: &[u8],
    ) -> Result<IssuerChallenge, IssuerError> {
        let answer: BeginResponse = self.post(
            wire::PATH_SESSIONS,
            &BeginRequest {
                serial: hex::encode(card_serial),
                challenge: hex::encode(card_challenge),
            },
            201,
        )?;
        let session = IssuerSession::new(answer.session).ok_or(IssuerError::Protocol {
            reason: "malformed session identifier",
        })?;
        let terminal_cryptogram =
            hex::decode(&answer.terminal_cryptogram).map_err(|_| IssuerError::Protocol {
                reason: "terminal cryptogram is not hexadecimal",
            })?;
        if terminal_cryptogram.len() != CRYPTOGRAM_LEN {
            return Err(IssuerError::Protocol {
                reason: "terminal cryptogram of the wrong length",
            });
        }
        Ok(IssuerChallenge {
            session,
            terminal_cryptogram,
        })
    }

    fn finish(
        &self,
        session: &IssuerSession,
        card_cryptogram: &[u8],
    ) -> Result<SessionKeys, IssuerError> {
        let answer: FinishResponse = self.post(
            &wire::finish_path(session.id()),
            &FinishRequest {
                card_cryptogram: hex::encode(card_cryptogram),
            },
            200,
        )?;
        answer.to_keys().ok_or(IssuerError::Protocol {
            reason: "malformed session keys",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_to_loopback_only() {
        for ok in [
            "http://127.0.0.1:8446",
            "http://127.1.2.3:1/",
            "http://[::1]:8446/issuer",
            "http://localhost:9",
        ] {
            assert!(check_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1:8446",
            "http://issuer.example:80",
            "http://127.0.0.1.example.com/",
            "http://user@127.0.0.1/",
            "https://issuer.example",
            "ftp://127.0.0.1",
            "http://",
            "http://[::2]:1",
            "http://127.0.0.1/?x=1",
        ] {
            assert!(
                matches!(
                    check_endpoint(bad),
                    Err(IssuerError::InsecureEndpoint { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            check_endpoint("http://127.0.0.1:1/").ok().as_deref(),
            Some("http://127.0.0.1:1")
        );
    }

    #[test]
    fn an_issuer_that_is_not_there_is_a_transport_error() {
        // Port 9 (discard) on loopback: nothing listens in the test environment.
        let issuer = HttpIssuer::with_timeout("http://127.0.0.1:9", Duration::from_secs(2));
        let Ok(issuer) = issuer else {
            panic!("loopback endpoint refused");
        };
        assert!(matches!(
            issuer.begin(b"serial", &[0; 8]),
            Err(IssuerError::Transport(_) | IssuerError::Timeout)
        ));
    }
}
