//! Consent for operations that reveal personal data or create a signature.
//!
//! Policy: in kiosk mode the authenticated kiosk client is allowed. Otherwise a client first
//! asks for a consent (`POST /v1/consents`: operation + reader), someone confirms it through
//! the API (`POST /v1/consents/{id}/confirm`) or D-Bus (`ConfirmConsent`, polkit-checked), and
//! the operation request quotes the id. A consent is bound to its operation and reader, expires
//! after the configured time and is used up by one operation.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use shenas_dbus::api::{Consent, ConsentOperation, ConsentState};
use shenas_dbus::{ApiError, ErrorCode};

/// How an operation was allowed, for the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// Kiosk mode.
    Kiosk,
    /// A confirmed consent was used.
    Confirmed,
}

impl Allowed {
    /// The audit log's word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Kiosk => "kiosk",
            Self::Confirmed => "confirmed",
        }
    }
}

struct Pending {
    operation: ConsentOperation,
    reader: String,
    granted: bool,
    expires: Instant,
}

/// The consents pending or granted.
pub struct ConsentStore {
    kiosk: bool,
    ttl: Duration,
    items: Mutex<HashMap<String, Pending>>,
}

/// Upper bound on consents held at once (pending ones expire; this keeps a flood bounded).
const MAX_CONSENTS: usize = 1024;

impl ConsentStore {
    /// A store with this policy.
    pub fn new(kiosk: bool, ttl: Duration) -> Self {
        Self {
            kiosk,
            ttl,
            items: Mutex::new(HashMap::new()),
        }
    }

    /// Whether kiosk mode is on.
    pub fn kiosk(&self) -> bool {
        self.kiosk
    }

    fn view(&self, id: &str, p: &Pending, now: Instant) -> Consent {
        Consent {
            id: id.to_owned(),
            operation: p.operation,
            reader: p.reader.clone(),
            state: if p.granted {
                ConsentState::Granted
            } else {
                ConsentState::Pending
            },
            expires_in: p.expires.saturating_duration_since(now).as_secs(),
        }
    }

    /// Opens a pending consent.
    pub fn request(
        &self,
        operation: ConsentOperation,
        reader: &str,
        now: Instant,
    ) -> Result<Consent, ApiError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| ApiError::new(ErrorCode::Internal))?;
        let id = hex::encode(bytes);
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        items.retain(|_, p| p.expires > now);
        if items.len() >= MAX_CONSENTS {
            return Err(ApiError::new(ErrorCode::RateLimited).with_reason("too many open consents"));
        }
        let pending = Pending {
            operation,
            reader: reader.to_owned(),
            granted: false,
            expires: now + self.ttl,
        };
        let view = self.view(&id, &pending, now);
        items.insert(id, pending);
        Ok(view)
    }

    /// Confirms a pending consent.
    pub fn confirm(&self, id: &str, now: Instant) -> Result<Consent, ApiError> {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        match items.get_mut(id) {
            Some(p) if p.expires > now => {
                p.granted = true;
                Ok(self.view(id, p, now))
            }
            _ => Err(ApiError::new(ErrorCode::ConsentInvalid)),
        }
    }

    /// Decides whether `operation` on `reader` may run; uses up the consent quoted.
    pub fn check(
        &self,
        operation: ConsentOperation,
        reader: &str,
        consent: Option<&str>,
        now: Instant,
    ) -> Result<Allowed, ApiError> {
        if self.kiosk {
            return Ok(Allowed::Kiosk);
        }
        let Some(id) = consent else {
            return Err(ApiError::new(ErrorCode::ConsentRequired)
                .with_reason(format!("POST /v1/consents for {}", operation.as_str())));
        };
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        match items.get(id) {
            Some(p)
                if p.granted
                    && p.expires > now
                    && p.operation == operation
                    && (p.reader == reader || p.reader == super::readers::ANY_READER) =>
            {
                items.remove(id);
                Ok(Allowed::Confirmed)
            }
            Some(p) if !p.granted && p.expires > now => {
                Err(ApiError::new(ErrorCode::ConsentRequired)
                    .with_reason("the consent is not confirmed yet"))
            }
            _ => Err(ApiError::new(ErrorCode::ConsentInvalid)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn kiosk_mode_allows() {
        let store = ConsentStore::new(true, Duration::from_secs(60));
        assert_eq!(
            store
                .check(ConsentOperation::Sign, "R", None, Instant::now())
                .ok(),
            Some(Allowed::Kiosk)
        );
    }

    #[test]
    fn consent_flow() -> Result<(), ApiError> {
        let store = ConsentStore::new(false, Duration::from_secs(60));
        let now = Instant::now();
        let code = |r: Result<Allowed, ApiError>| r.err().map(|e| e.code);
        assert_eq!(
            code(store.check(ConsentOperation::ReadIdentity, "R", None, now)),
            Some(ErrorCode::ConsentRequired)
        );
        let consent = store.request(ConsentOperation::ReadIdentity, "R", now)?;
        assert_eq!(consent.state, ConsentState::Pending);
        assert_eq!(
            code(store.check(ConsentOperation::ReadIdentity, "R", Some(&consent.id), now)),
            Some(ErrorCode::ConsentRequired)
        );
        assert_eq!(
            store.confirm(&consent.id, now)?.state,
            ConsentState::Granted
        );
        // Bound to its operation and reader.
        assert_eq!(
            code(store.check(ConsentOperation::Sign, "R", Some(&consent.id), now)),
            Some(ErrorCode::ConsentInvalid)
        );
        assert_eq!(
            code(store.check(
                ConsentOperation::ReadIdentity,
                "Other",
                Some(&consent.id),
                now
            )),
            Some(ErrorCode::ConsentInvalid)
        );
        assert_eq!(
            store
                .check(ConsentOperation::ReadIdentity, "R", Some(&consent.id), now)
                .ok(),
            Some(Allowed::Confirmed)
        );
        // Used up.
        assert_eq!(
            code(store.check(ConsentOperation::ReadIdentity, "R", Some(&consent.id), now)),
            Some(ErrorCode::ConsentInvalid)
        );
        // Expired.
        let late = store.request(ConsentOperation::Sign, "R", now)?;
        store.confirm(&late.id, now)?;
        let after = now + Duration::from_secs(61);
        assert_eq!(
            code(store.check(ConsentOperation::Sign, "R", Some(&late.id), after)),
            Some(ErrorCode::ConsentInvalid)
        );
        assert!(store.confirm("nope", now).is_err());
        Ok(())
    }
}
