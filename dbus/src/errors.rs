//! Error codes of the public interfaces: one stable snake_case code per condition a client acts
//! on, each with a message in Persian and in English, an HTTP status for the localhost API and a
//! D-Bus error name.
//!
//! Toward untrusted callers the codes are coarse on purpose; details go to the daemon's audit
//! log and its own logs, never into a reply.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::names::ERROR_PREFIX;

/// A condition reported to a client. The serialized form (`snake_case`) is stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The smart-card service (pcscd) is not reachable.
    NoService,
    /// No such reader.
    NoReader,
    /// The reader holds no card.
    NoCard,
    /// The card was removed during the operation.
    CardRemoved,
    /// The card was reset by another application during the operation.
    CardReset,
    /// Another application holds the card exclusively.
    SharingViolation,
    /// The card did not answer in time.
    Timeout,
    /// The card does not answer or cannot be powered.
    CardUnresponsive,
    /// The card answered something this operation cannot use.
    CardError,
    /// The reader or service failed in another way.
    Transport,
    /// The card application does not offer this operation, or the daemon does not implement it
    /// yet for this card.
    NotImplemented,
    /// The PIN was wrong; the reply says how many tries are left.
    WrongPin,
    /// The PIN is blocked (no tries left).
    PinBlocked,
    /// The operation needs a verified PIN first.
    PinRequired,
    /// The PIN's format is not accepted (length, characters).
    BadPinFormat,
    /// Card data failed its integrity check (passive authentication).
    IntegrityFailed,
    /// The request needs a confirmed consent first.
    ConsentRequired,
    /// The consent named does not exist, expired or was for another operation.
    ConsentInvalid,
    /// The caller is not authenticated (no or unknown token, unknown peer).
    Unauthorized,
    /// The caller is authenticated but not allowed this operation (polkit said no).
    Forbidden,
    /// The request's `Origin` is not on the allow-list.
    ForbiddenOrigin,
    /// The request's `Host` is not a loopback name (DNS rebinding defence).
    ForbiddenHost,
    /// The request body is larger than allowed.
    PayloadTooLarge,
    /// Too many requests; retry later.
    RateLimited,
    /// The request is malformed (JSON, fields, hexadecimal, path).
    BadRequest,
    /// No such route.
    NotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// The daemon is shutting down or overloaded.
    Unavailable,
    /// An internal failure; the daemon logged the details.
    Internal,
}

impl ErrorCode {
    /// Every code, for tests and documentation.
    pub const ALL: &'static [ErrorCode] = &[
        Self::NoService,
        Self::NoReader,
        Self::NoCard,
        Self::CardRemoved,
        Self::CardReset,
        Self::SharingViolation,
        Self::Timeout,
        Self::CardUnresponsive,
        Self::CardError,
        Self::Transport,
        Self::NotImplemented,
        Self::WrongPin,
        Self::PinBlocked,
        Self::PinRequired,
        Self::BadPinFormat,
        Self::IntegrityFailed,
        Self::ConsentRequired,
        Self::ConsentInvalid,
        Self::Unauthorized,
        Self::Forbidden,
        Self::ForbiddenOrigin,
        Self::ForbiddenHost,
        Self::PayloadTooLarge,
        Self::RateLimited,
        Self::BadRequest,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The stable code, as serialized (`no_card`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoService => "no_service",
            Self::NoReader => "no_reader",
            Self::NoCard => "no_card",
            Self::CardRemoved => "card_removed",
            Self::CardReset => "card_reset",
            Self::SharingViolation => "sharing_violation",
            Self::Timeout => "timeout",
            Self::CardUnresponsive => "card_unresponsive",
            Self::CardError => "card_error",
            Self::Transport => "transport",
            Self::NotImplemented => "not_implemented",
            Self::WrongPin => "wrong_pin",
            Self::PinBlocked => "pin_blocked",
            Self::PinRequired => "pin_required",
            Self::BadPinFormat => "bad_pin_format",
            Self::IntegrityFailed => "integrity_failed",
            Self::ConsentRequired => "consent_required",
            Self::ConsentInvalid => "consent_invalid",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::ForbiddenOrigin => "forbidden_origin",
            Self::ForbiddenHost => "forbidden_host",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited => "rate_limited",
            Self::BadRequest => "bad_request",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The code for a serialized name, if it is one.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// The English message.
    pub const fn message_en(self) -> &'static str {
        match self {
            Self::NoService => "The smart-card service is not running.",
            Self::NoReader => "No such card reader.",
            Self::NoCard => "There is no card in the reader.",
            Self::CardRemoved => "The card was removed.",
            Self::CardReset => "The card was reset by another application.",
            Self::SharingViolation => "Another application is using the card.",
            Self::Timeout => "The card did not answer in time.",
            Self::CardUnresponsive => "The card does not respond.",
            Self::CardError => "The card gave an unexpected answer.",
            Self::Transport => "The card reader failed.",
            Self::NotImplemented => "This operation is not available for this card.",
            Self::WrongPin => "The PIN is wrong.",
            Self::PinBlocked => "The PIN is blocked.",
            Self::PinRequired => "The PIN must be verified first.",
            Self::BadPinFormat => "The PIN format is not accepted.",
            Self::IntegrityFailed => "The card data failed its integrity check.",
            Self::ConsentRequired => "This operation needs the card holder's consent.",
            Self::ConsentInvalid => "The consent is unknown, expired or for another operation.",
            Self::Unauthorized => "The client is not authenticated.",
            Self::Forbidden => "The client is not allowed to do this.",
            Self::ForbiddenOrigin => "Requests from this web origin are not allowed.",
            Self::ForbiddenHost => "The Host header must name the local machine.",
            Self::PayloadTooLarge => "The request is too large.",
            Self::RateLimited => "Too many requests; try again shortly.",
            Self::BadRequest => "The request is malformed.",
            Self::NotFound => "No such resource.",
            Self::MethodNotAllowed => "This method is not allowed here.",
            Self::Unavailable => "The service is unavailable.",
            Self::Internal => "Internal error.",
        }
    }

    /// The Persian message.
    pub const fn message_fa(self) -> &'static str {
        match self {
            Self::NoService => "سرویس کارت هوشمند در حال اجرا نیست.",
            Self::NoReader => "چنین کارت‌خوانی وجود ندارد.",
            Self::NoCard => "کارتی در کارت‌خوان نیست.",
            Self::CardRemoved => "کارت خارج شد.",
            Self::CardReset => "کارت توسط برنامهٔ دیگری بازنشانی شد.",
            Self::SharingViolation => "برنامهٔ دیگری در حال استفاده از کارت است.",
            Self::Timeout => "کارت به‌موقع پاسخ نداد.",
            Self::CardUnresponsive => "کارت پاسخ نمی‌دهد.",
            Self::CardError => "کارت پاسخ غیرمنتظره‌ای داد.",
            Self::Transport => "کارت‌خوان دچار خطا شد.",
            Self::NotImplemented => "این عملیات برای این کارت در دسترس نیست.",
            Self::WrongPin => "رمز (PIN) نادرست است.",
            Self::PinBlocked => "رمز (PIN) مسدود شده است.",
            Self::PinRequired => "ابتدا باید رمز (PIN) تأیید شود.",
            Self::BadPinFormat => "قالب رمز (PIN) پذیرفته نیست.",
            Self::IntegrityFailed => "صحت داده‌های کارت تأیید نشد.",
            Self::ConsentRequired => "این عملیات به رضایت دارندهٔ کارت نیاز دارد.",
            Self::ConsentInvalid => "رضایت نامعتبر، منقضی یا مربوط به عملیات دیگری است.",
            Self::Unauthorized => "کلاینت احراز هویت نشده است.",
            Self::Forbidden => "کلاینت اجازهٔ این کار را ندارد.",
            Self::ForbiddenOrigin => "درخواست از این مبدأ وب مجاز نیست.",
            Self::ForbiddenHost => "سرآیند Host باید به همین رایانه اشاره کند.",
            Self::PayloadTooLarge => "درخواست بیش از حد بزرگ است.",
            Self::RateLimited => "درخواست‌ها بیش از حد زیاد است؛ کمی بعد دوباره تلاش کنید.",
            Self::BadRequest => "درخواست نادرست است.",
            Self::NotFound => "چنین منبعی وجود ندارد.",
            Self::MethodNotAllowed => "این روش در اینجا مجاز نیست.",
            Self::Unavailable => "سرویس در دسترس نیست.",
            Self::Internal => "خطای داخلی.",
        }
    }

    /// The HTTP status the localhost API answers with (RFC 9110 clause 15).
    pub const fn http_status(self) -> u16 {
        match self {
            Self::BadRequest | Self::BadPinFormat => 400,
            Self::Unauthorized => 401,
            Self::Forbidden
            | Self::ForbiddenOrigin
            | Self::ForbiddenHost
            | Self::ConsentRequired
            | Self::ConsentInvalid => 403,
            Self::NotFound | Self::NoReader => 404,
            Self::MethodNotAllowed => 405,
            Self::NoCard | Self::CardRemoved | Self::CardReset | Self::SharingViolation => 409,
            Self::PayloadTooLarge => 413,
            Self::WrongPin | Self::PinBlocked | Self::PinRequired | Self::IntegrityFailed => 422,
            Self::RateLimited => 429,
            Self::NotImplemented => 501,
            Self::CardError | Self::Transport | Self::CardUnresponsive => 502,
            Self::NoService | Self::Unavailable => 503,
            Self::Timeout => 504,
            Self::Internal => 500,
        }
    }

    /// The D-Bus error name (`ir.shenas.Error.NoCard`), stable like the code.
    pub fn dbus_name(self) -> String {
        let camel: String = self
            .as_str()
            .split('_')
            .map(|part| {
                let mut chars = part.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect();
        format!("{ERROR_PREFIX}{camel}")
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure as a client sees it: stable code, messages in English and Persian, and, for
/// [`ErrorCode::WrongPin`], the tries left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// English message.
    pub message: String,
    /// Persian message.
    pub message_fa: String,
    /// Tries left on the PIN, when the code is about a PIN.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tries_left: Option<u8>,
    /// A short non-sensitive reason that refines the code (e.g. which header was refused).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
}

impl ApiError {
    /// The error for `code`, with its standard messages.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            message: code.message_en().to_owned(),
            message_fa: code.message_fa().to_owned(),
            tries_left: None,
            reason: None,
        }
    }

    /// Adds a short non-sensitive reason.
    #[must_use]
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Adds the tries left on a PIN.
    #[must_use]
    pub fn with_tries_left(mut self, tries: u8) -> Self {
        self.tries_left = Some(tries);
        self
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(reason) = &self.reason {
            write!(f, " ({reason})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() -> Result<(), serde_json::Error> {
        let mut seen = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code)?;
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json)?, code);
            assert_eq!(ErrorCode::from_code(code.as_str()), Some(code));
            assert!(seen.insert(code.as_str()));
            assert!(!code.message_en().is_empty() && !code.message_fa().is_empty());
            assert!((400..600).contains(&code.http_status()));
        }
        Ok(())
    }

    #[test]
    fn dbus_names_are_camel_case() {
        assert_eq!(ErrorCode::NoCard.dbus_name(), "ir.shenas.Error.NoCard");
        assert_eq!(
            ErrorCode::ForbiddenOrigin.dbus_name(),
            "ir.shenas.Error.ForbiddenOrigin"
        );
    }

    #[test]
    fn api_error_json() -> Result<(), serde_json::Error> {
        let e = ApiError::new(ErrorCode::WrongPin).with_tries_left(2);
        let v: serde_json::Value = serde_json::to_value(&e)?;
        assert_eq!(v["code"], "wrong_pin");
        assert_eq!(v["tries_left"], 2);
        assert!(v.get("reason").is_none());
        assert_eq!(serde_json::from_value::<ApiError>(v)?, e);
        Ok(())
    }
}
