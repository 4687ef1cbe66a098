//! The localhost API's route table and the OpenAPI 3.1 document built from it. The router is
//! built from the same table ([`ROUTES`]), so the document and the routes cannot disagree; an
//! integration test calls every documented route over a real socket.

use serde_json::{Value, json};
use shenas_dbus::ErrorCode;

/// HTTP methods the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
}

impl Method {
    /// Lower-case name, as OpenAPI writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
        }
    }
}

/// One route.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// Method.
    pub method: Method,
    /// Path, with `{param}` segments.
    pub path: &'static str,
    /// OpenAPI operationId; the router maps it to its handler.
    pub operation: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Needs the token (or a trusted Unix peer).
    pub auth: bool,
    /// Request body schema (in `components.schemas`), if any.
    pub body: Option<&'static str>,
    /// Response schema.
    pub response: &'static str,
    /// Consent operation (outside kiosk mode the body must quote a confirmed consent).
    pub consent: bool,
}

const fn route(
    method: Method,
    path: &'static str,
    operation: &'static str,
    summary: &'static str,
    body: Option<&'static str>,
    response: &'static str,
) -> Route {
    Route {
        method,
        path,
        operation,
        summary,
        auth: true,
        body,
        response,
        consent: false,
    }
}

const fn with_consent(mut r: Route) -> Route {
    r.consent = true;
    r
}

/// Every route of the localhost API.
pub const ROUTES: &[Route] = &[
    Route {
        auth: false,
        ..route(
            Method::Get,
            "/openapi.json",
            "openapi",
            "This document (no token needed).",
            None,
            "OpenApi",
        )
    },
    route(
        Method::Get,
        "/v1/status",
        "status",
        "Daemon version, service state, mode.",
        None,
        "DaemonStatus",
    ),
    route(
        Method::Get,
        "/v1/readers",
        "list_readers",
        "Readers and the cards in them (no card is touched).",
        None,
        "ReaderList",
    ),
    route(
        Method::Get,
        "/v1/readers/{reader}/card",
        "identify",
        "Identify the card: ATR, serial, profile (no PIN, no personal data).",
        None,
        "CardIdentity",
    ),
    with_consent(route(
        Method::Post,
        "/v1/readers/{reader}/identity",
        "read_identity",
        "Read the identity with passive authentication (consent).",
        Some("ReadIdentityRequest"),
        "IdentityDocument",
    )),
    route(
        Method::Get,
        "/v1/readers/{reader}/certificates",
        "certificates",
        "The card's certificates, validated on the host.",
        None,
        "CertificateList",
    ),
    route(
        Method::Get,
        "/v1/readers/{reader}/pins/{pin}",
        "pin_status",
        "Tries left on a PIN (id, sign, puk), without spending one.",
        None,
        "PinStatus",
    ),
    route(
        Method::Post,
        "/v1/readers/{reader}/pins/{pin}/verify",
        "verify_pin",
        "VERIFY a PIN.",
        Some("VerifyPinRequest"),
        "PinStatus",
    ),
    route(
        Method::Post,
        "/v1/readers/{reader}/pins/{pin}/change",
        "change_pin",
        "CHANGE REFERENCE DATA of a PIN.",
        Some("ChangePinRequest"),
        "PinStatus",
    ),
    route(
        Method::Post,
        "/v1/readers/{reader}/pins/{pin}/unblock",
        "unblock_pin",
        "RESET RETRY COUNTER of a PIN with the PUK.",
        Some("UnblockPinRequest"),
        "PinStatus",
    ),
    with_consent(route(
        Method::Post,
        "/v1/readers/{reader}/sign",
        "sign",
        "Sign a hash with the card's signing key (consent).",
        Some("SignRequest"),
        "SignatureReply",
    )),
    with_consent(route(
        Method::Post,
        "/v1/readers/{reader}/authenticate",
        "authenticate",
        "INTERNAL AUTHENTICATE over a challenge (consent).",
        Some("AuthenticateRequest"),
        "SignatureReply",
    )),
    route(
        Method::Post,
        "/v1/consents",
        "request_consent",
        "Ask for consent to one operation on one reader.",
        Some("ConsentRequest"),
        "Consent",
    ),
    route(
        Method::Post,
        "/v1/consents/{id}/confirm",
        "confirm_consent",
        "Confirm a pending consent.",
        None,
        "Consent",
    ),
    route(
        Method::Get,
        "/v1/events",
        "events",
        "WebSocket: reader/card/service events, and the read operations as {id, op, ...} messages.",
        None,
        "WsMessage",
    ),
];

fn string() -> Value {
    json!({"type": "string"})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

fn schemas() -> Value {
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let pin = json!({"type": "string", "enum": ["id", "sign", "puk"]});
    let secret = json!({"type": "string", "format": "password", "writeOnly": true});
    let consent = json!({"type": "string", "description": "A confirmed consent id (not needed in kiosk mode)."});
    json!({
        "ApiError": object(&["code", "message", "message_fa"], json!({
            "code": {"type": "string", "enum": codes},
            "message": string(),
            "message_fa": string(),
            "tries_left": {"type": "integer"},
            "reason": string(),
        })),
        "OpenApi": {"type": "object"},
        "DaemonStatus": object(&["version", "wire_version", "service_available", "readers", "kiosk", "bus"], json!({
            "version": string(), "wire_version": {"type": "integer"},
            "service_available": {"type": "boolean"}, "readers": {"type": "integer"},
            "kiosk": {"type": "boolean"}, "bus": string(),
        })),
        "ReaderInfo": object(&["name", "card_present", "exclusive"], json!({
            "name": string(), "card_present": {"type": "boolean"},
            "exclusive": {"type": "boolean"}, "atr": string(),
        })),
        "ReaderList": object(&["service_available", "readers"], json!({
            "service_available": {"type": "boolean"},
            "readers": {"type": "array", "items": {"$ref": "#/components/schemas/ReaderInfo"}},
        })),
        "CardIdentity": object(&["reader", "atr", "profile"], json!({
            "reader": string(), "atr": string(), "serial": string(),
            "profile": string(), "profile_version": string(),
        })),
        "ReadIdentityRequest": object(&[], json!({"consent": consent, "portrait": {"type": "boolean"}})),
        "IdentityDocument": object(&["profile", "fields"], json!({
            "card_serial": string(), "profile": string(),
            "fields": {"type": "object", "additionalProperties": string()},
            "portrait": {"type": "string", "contentEncoding": "base64"},
            "passive_authentication": object(&["valid", "trust"], json!({
                "valid": {"type": "boolean"}, "reason": string(), "trust": string(),
            })),
        })),
        "CertificateInfo": object(&["key", "der", "subject", "issuer", "valid"], json!({
            "key": {"type": "string", "enum": ["sign", "auth"]}, "der": string(),
            "subject": string(), "issuer": string(), "valid": {"type": "boolean"}, "reason": string(),
        })),
        "CertificateList": {"type": "array", "items": {"$ref": "#/components/schemas/CertificateInfo"}},
        "PinStatus": object(&["pin", "blocked", "verified"], json!({
            "pin": pin, "tries_left": {"type": "integer"},
            "blocked": {"type": "boolean"}, "verified": {"type": "boolean"},
        })),
        "VerifyPinRequest": object(&["pin"], json!({"pin": secret})),
        "ChangePinRequest": object(&["old", "new"], json!({"old": secret, "new": secret})),
        "UnblockPinRequest": object(&["puk", "new"], json!({"puk": secret, "new": secret})),
        "SignRequest": object(&["hash_algorithm", "hash"], json!({
            "hash_algorithm": {"type": "string", "enum": ["sha256", "sha384"]},
            "hash": {"type": "string", "description": "hexadecimal"},
            "pin": secret, "consent": consent,
        })),
        "AuthenticateRequest": object(&["challenge"], json!({
            "challenge": {"type": "string", "description": "hexadecimal"},
            "pin": secret, "consent": consent,
        })),
        "SignatureReply": object(&["algorithm", "signature", "certificate"], json!({
            "algorithm": string(), "signature": string(), "certificate": string(),
        })),
        "ConsentRequest": object(&["operation", "reader"], json!({
            "operation": {"type": "string", "enum": ["read_identity", "sign", "authenticate"]},
            "reader": string(), "purpose": string(),
        })),
        "Consent": object(&["id", "operation", "reader", "state", "expires_in"], json!({
            "id": string(),
            "operation": {"type": "string", "enum": ["read_identity", "sign", "authenticate"]},
            "reader": string(),
            "state": {"type": "string", "enum": ["pending", "granted"]},
            "expires_in": {"type": "integer"},
        })),
        "WsMessage": {"type": "object", "description": "{id, result} | {id, error} | {event, ...}"},
    })
}

fn parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let description = match name {
                "reader" => {
                    "PC/SC reader name, percent-encoded; `_` is the first reader holding a card"
                }
                "pin" => "id, sign or puk",
                _ => "consent id",
            };
            json!({"name": name, "in": "path", "required": true,
                   "schema": {"type": "string"}, "description": description})
        })
        .collect()
}

/// The OpenAPI 3.1 document of the API.
pub fn document(version: &str, port: u16) -> Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let mut operation = json!({
            "operationId": r.operation,
            "summary": r.summary,
            "parameters": parameters(r.path),
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {
                    "schema": {"$ref": format!("#/components/schemas/{}", r.response)}}}},
                "default": {"description": "A refusal or failure with a stable code",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ApiError"}}}},
            },
        });
        if let Some(operation) = operation.as_object_mut() {
            if !r.auth {
                operation.insert("security".into(), json!([]));
            }
            if let Some(body) = r.body {
                operation.insert(
                    "requestBody".into(),
                    json!({"required": !r.consent && body != "ReadIdentityRequest",
                    "content": {"application/json": {
                        "schema": {"$ref": format!("#/components/schemas/{body}")}}}}),
                );
            }
            if r.consent {
                operation.insert("x-shenas-consent".into(), json!(true));
            }
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        if let Some(methods) = entry.as_object_mut() {
            methods.insert(r.method.as_str().to_owned(), operation);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "shenasd localhost API",
            "version": version,
            "description": "Smart ID cards through shenasd. Every route but this document needs \
                `Authorization: Bearer <token>` (the per-installation token file) or a trusted Unix-socket peer. \
                Requests with an Origin not on the allow-list, or a Host that is not a loopback name, are refused.",
        },
        "servers": [{"url": format!("http://127.0.0.1:{port}")}],
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas(),
        },
        "security": [{"token": []}],
        "paths": paths,
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_schemas() {
        let doc = document("0", 1);
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method.as_str()];
            assert_eq!(op["operationId"], r.operation, "{}", r.path);
            assert!(
                doc["components"]["schemas"][r.response].is_object(),
                "{}",
                r.response
            );
            if let Some(body) = r.body {
                assert!(doc["components"]["schemas"][body].is_object(), "{body}");
            }
        }
        let operations: std::collections::HashSet<_> = ROUTES.iter().map(|r| r.operation).collect();
        assert_eq!(operations.len(), ROUTES.len(), "operation ids are unique");
        assert_eq!(doc["paths"]["/openapi.json"]["get"]["security"], json!([]));
    }
}
