//! The card applications wired into the daemon: [`SessionConversations`] runs every operation
//! of [`CardConversations`] as one [`CardSession`] (`shenas-cards`) over the reader worker's open
//! PC/SC transaction.
//!
//! A card that follows no known profile is still identified from its ATR and GET DATA serial
//! ([`BasicConversations`]); every other operation on it answers `card_error` with the reason
//! `unknown_card`. PINs are sent once per request and never retried; signatures are verified
//! against the card's certificate before they are returned (by [`CardSession::sign_hash`]).

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::Engine as _;
use shenas_apdu::Transport;
use shenas_cards::issuer::IssuerAuthority;
use shenas_cards::pki::{self, TrustAnchors};
use shenas_cards::profile::{KeyRole, PinKind as CardPinKind};
use shenas_cards::session::{self, CardSession, Pin, SessionError};
use shenas_dbus::api::{
    AuthenticateRequest, CardIdentity, CertificateInfo, IdentityDocument, KeyKind,
    PassiveAuthentication, PinKind, PinStatus, ReadIdentityRequest, Secret, SignRequest,
    SignatureReply,
};
use shenas_dbus::{ApiError, ErrorCode};

use super::conversations::{
    BasicConversations, CardConversations, channel_config, transport_error,
};

/// The card operations of `shenas-cards`: identity with device authentication through the
/// issuer and passive authentication against the trust anchors, certificates validated on the
/// host, PINs, on-card signing and authentication.
pub struct SessionConversations {
    issuer: Box<dyn IssuerAuthority>,
    anchors: TrustAnchors,
}

impl SessionConversations {
    /// Conversations that authenticate cards through `issuer` and check data and certificates
    /// against `anchors`.
    pub fn new(issuer: Box<dyn IssuerAuthority>, anchors: TrustAnchors) -> Self {
        Self { issuer, anchors }
    }

    /// `simulated` when the anchors are the simulated national root, else `configured`.
    pub fn trust(&self) -> &'static str {
        if self.anchors.is_simulated() {
            "simulated"
        } else {
            "configured"
        }
    }

    fn open<'a>(
        &self,
        card: &'a mut dyn Transport,
    ) -> Result<CardSession<&'a mut dyn Transport>, ApiError> {
        CardSession::open(card, channel_config()).map_err(|e| session_error(&e))
    }
}

impl std::fmt::Debug for SessionConversations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConversations")
            .field("issuer_mode", &self.issuer.mode())
            .field("trust", &self.trust())
            .finish()
    }
}

impl CardConversations for SessionConversations {
    fn identify(
        &self,
        card: &mut dyn Transport,
        reader: &str,
        atr: &[u8],
    ) -> Result<CardIdentity, ApiError> {
        let identified =
            CardSession::open(&mut *card, channel_config()).and_then(|mut s| s.identify());
        match identified {
            Ok(id) => Ok(CardIdentity {
                reader: reader.to_owned(),
                atr: hex::encode_upper(atr),
                serial: Some(id.card_serial),
                profile: id.profile.as_str().to_owned(),
                profile_version: id.profile_version.map(|v| v.to_string()),
            }),
            // Any ISO/IEC 7816-4 card is still identified from what every card answers.
            Err(SessionError::UnknownCard) => BasicConversations.identify(card, reader, atr),
            Err(e) => Err(session_error(&e)),
        }
    }

    fn read_identity(
        &self,
        card: &mut dyn Transport,
        request: &ReadIdentityRequest,
    ) -> Result<IdentityDocument, ApiError> {
        let mut session = self.open(card)?;
        let serial = session
            .card_serial()
            .map(|s| session::printable_serial(&s))
            .ok();
        let reading = session
            .read_identity(self.issuer.as_ref(), &self.anchors, SystemTime::now())
            .map_err(|e| session_error(&e))?;
        let identity = reading.identity.map_err(|e| {
            ApiError::new(ErrorCode::CardError).with_reason(format!("card_defect: {e}"))
        })?;
        let value = serde_json::to_value(&identity)
            .map_err(|_| ApiError::new(ErrorCode::Internal).with_reason("identity encoding"))?;
        let mut fields = BTreeMap::new();
        let mut portrait = None;
        let mut profile = session.profile().id.as_str().to_owned();
        if let serde_json::Value::Object(map) = value {
            for (key, value) in map {
                match key.as_str() {
                    "profile" => {
                        if let serde_json::Value::String(p) = value {
                            profile = p;
                        }
                    }
                    "portrait" => {
                        if request.portrait
                            && let Some(bytes) = value.as_str().and_then(|h| hex::decode(h).ok())
                        {
                            portrait =
                                Some(base64::engine::general_purpose::STANDARD.encode(bytes));
                        }
                    }
                    _ => flatten(&key, value, &mut fields),
                }
            }
        }
        Ok(IdentityDocument {
            card_serial: serial,
            profile,
            fields,
            portrait,
            passive_authentication: Some(PassiveAuthentication {
                valid: reading.passive_authentication.valid,
                reason: reading.passive_authentication.reason,
                trust: self.trust().to_owned(),
            }),
        })
    }

    fn certificates(&self, card: &mut dyn Transport) -> Result<Vec<CertificateInfo>, ApiError> {
        let mut session = self.open(card)?;
        let certificates = session
            .certificates(&self.anchors, SystemTime::now())
            .map_err(|e| session_error(&e))?;
        Ok(certificates
            .into_iter()
            .map(|c| {
                let info = pki::CertificateInfo::parse(&c.der).ok();
                let (valid, reason) = match &c.validation {
                    Ok(_) => (true, None),
                    Err(e) => (false, Some(format!("{}: {e}", e.code()))),
                };
                CertificateInfo {
                    key: match c.role {
                        KeyRole::Signing => KeyKind::Sign,
                        _ => KeyKind::Auth,
                    },
                    der: hex::encode_upper(&c.der),
                    subject: info.as_ref().map(|i| i.subject.clone()).unwrap_or_default(),
                    issuer: info.as_ref().map(|i| i.issuer.clone()).unwrap_or_default(),
                    valid,
                    reason,
                }
            })
            .collect())
    }

    fn pin_status(&self, card: &mut dyn Transport, pin: PinKind) -> Result<PinStatus, ApiError> {
        let mut session = self.open(card)?;
        status(&mut session, pin)
    }

    fn verify_pin(
        &self,
        card: &mut dyn Transport,
        pin: PinKind,
        value: &Secret,
    ) -> Result<PinStatus, ApiError> {
        let mut session = self.open(card)?;
        session
            .verify_pin(card_pin(pin)?, &Pin::new(value.expose()))
            .map_err(|e| session_error(&e))?;
        status(&mut session, pin)
    }

    fn change_pin(
        &self,
        card: &mut dyn Transport,
        pin: PinKind,
        old: &Secret,
        new: &Secret,
    ) -> Result<PinStatus, ApiError> {
        let mut session = self.open(card)?;
        session
            .change_pin(
                card_pin(pin)?,
                &Pin::new(old.expose()),
                &Pin::new(new.expose()),
            )
            .map_err(|e| session_error(&e))?;
        status(&mut session, pin)
    }

    fn unblock_pin(
        &self,
        card: &mut dyn Transport,
        pin: PinKind,
        puk: &Secret,
        new: &Secret,
    ) -> Result<PinStatus, ApiError> {
        let mut session = self.open(card)?;
        session
            .unblock_pin(
                card_pin(pin)?,
                &Pin::new(puk.expose()),
                &Pin::new(new.expose()),
            )
            .map_err(|e| session_error(&e))?;
        status(&mut session, pin)
    }

    fn sign_hash(
        &self,
        card: &mut dyn Transport,
        request: &SignRequest,
    ) -> Result<SignatureReply, ApiError> {
        let hash = hex::decode(&request.hash).map_err(|_| {
            ApiError::new(ErrorCode::BadRequest).with_reason("hash: not hexadecimal")
        })?;
        if hash.len() != request.hash_algorithm.len() {
            return Err(ApiError::new(ErrorCode::BadRequest)
                .with_reason("hash: its length does not match hash_algorithm"));
        }
        let mut session = self.open(card)?;
        if let Some(pin) = &request.pin {
            session
                .verify_pin(CardPinKind::SignPin, &Pin::new(pin.expose()))
                .map_err(|e| session_error(&e))?;
        }
        let signature = session
            .sign_hash(KeyRole::Signing, &hash)
            .map_err(|e| session_error(&e))?;
        Ok(reply(&signature))
    }

    fn authenticate(
        &self,
        card: &mut dyn Transport,
        request: &AuthenticateRequest,
    ) -> Result<SignatureReply, ApiError> {
        let challenge = hex::decode(&request.challenge).map_err(|_| {
            ApiError::new(ErrorCode::BadRequest).with_reason("challenge: not hexadecimal")
        })?;
        let mut session = self.open(card)?;
        if let Some(pin) = &request.pin {
            session
                .verify_pin(CardPinKind::IdPin, &Pin::new(pin.expose()))
                .map_err(|e| session_error(&e))?;
        }
        // The card signs the SHA-256 hash of the challenge.
        let hash = pki::HashAlgorithm::Sha256.digest(&challenge);
        let signature = session
            .internal_authenticate(&hash)
            .map_err(|e| session_error(&e))?;
        Ok(reply(&signature))
    }
}

fn reply(signature: &session::CardSignature) -> SignatureReply {
    SignatureReply {
        algorithm: signature.scheme.to_string().replace('-', "_"),
        signature: hex::encode_upper(&signature.signature),
        certificate: hex::encode_upper(&signature.certificate),
    }
}

fn card_pin(pin: PinKind) -> Result<CardPinKind, ApiError> {
    match pin {
        PinKind::Id => Ok(CardPinKind::IdPin),
        PinKind::Sign => Ok(CardPinKind::SignPin),
        PinKind::Puk => Ok(CardPinKind::Puk),
        _ => Err(ApiError::new(ErrorCode::BadRequest).with_reason("unknown PIN")),
    }
}

fn status<T: Transport>(session: &mut CardSession<T>, pin: PinKind) -> Result<PinStatus, ApiError> {
    let state = session
        .pin_status(card_pin(pin)?)
        .map_err(|e| session_error(&e))?;
    Ok(match state {
        session::PinStatus::Verified => PinStatus {
            pin,
            tries_left: None,
            blocked: false,
            verified: true,
        },
        session::PinStatus::TriesLeft { tries_left } => PinStatus {
            pin,
            tries_left: Some(tries_left),
            blocked: false,
            verified: false,
        },
        session::PinStatus::Blocked => PinStatus {
            pin,
            tries_left: Some(0),
            blocked: true,
            verified: false,
        },
    })
}

/// Nested objects become `parent_child` fields (`birth_date_jalali`, `family_group_id`);
/// strings stay as they are, other scalars become their JSON text.
fn flatten(key: &str, value: serde_json::Value, fields: &mut BTreeMap<String, String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{key}_{k}"), v, fields);
            }
        }
        serde_json::Value::String(s) => {
            fields.insert(key.to_owned(), s);
        }
        serde_json::Value::Null => {}
        other => {
            fields.insert(key.to_owned(), other.to_string());
        }
    }
}

/// Maps a card-session failure to its wire error. The reason carries the session's stable code
/// and message, which never hold a PIN, a key or personal data.
pub fn session_error(error: &SessionError) -> ApiError {
    if let Some(t) = error.transport() {
        return transport_error(t);
    }
    let code = match error {
        // Fewer than two bytes from the reader: the card left in the middle of a transmit.
        _ if matches!(
            error.channel(),
            Some(shenas_apdu::ChannelError::Response(_))
        ) =>
        {
            ErrorCode::CardUnresponsive
        }
        SessionError::WrongPin { tries_left, .. } => {
            let mut e = ApiError::new(ErrorCode::WrongPin);
            e.tries_left = Some(*tries_left);
            return e;
        }
        SessionError::PinBlocked { .. } => {
            let mut e = ApiError::new(ErrorCode::PinBlocked);
            e.tries_left = Some(0);
            return e;
        }
        SessionError::PinRequired { .. } => ErrorCode::PinRequired,
        SessionError::PinFormat(_) => ErrorCode::BadPinFormat,
        SessionError::BadHashLength(_) => ErrorCode::BadRequest,
        SessionError::SecureMessaging(_)
        | SessionError::Certificate(_)
        | SessionError::BadSignature(_) => ErrorCode::IntegrityFailed,
        SessionError::Authentication(shenas_cards::device_auth::AuthError::Issuer(_)) => {
            ErrorCode::Unavailable
        }
        _ => ErrorCode::CardError,
    };
    ApiError::new(code).with_reason(format!("{}: {error}", error.code()))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use shenas_dbus::api::HashAlgorithm;
    use shenas_simulators::SimulatedTransport;
    use shenas_simulators::national::NationalCard;

    fn conversations() -> SessionConversations {
        SessionConversations::new(
            Box::new(shenas_simulators::issuer::SimulatedIssuer::new()),
            TrustAnchors::simulated(),
        )
    }

    fn sim(name: &str) -> (SimulatedTransport<NationalCard>, Vec<u8>) {
        let mut card = SimulatedTransport::new(NationalCard::builtin(name, true).unwrap());
        let atr = Transport::atr(&mut card).unwrap();
        (card, atr)
    }

    fn secret(s: &str) -> Secret {
        Secret::new(s)
    }

    #[test]
    fn identify_names_the_profile_and_serial() -> Result<(), ApiError> {
        let (mut card, atr) = sim("citizen");
        let id = conversations().identify(&mut card, "R", &atr)?;
        assert_eq!(id.profile, "national_id");
        assert_eq!(id.serial.as_deref(), Some("N000000001"));
        let (mut card, atr) = card_foreign();
        let id = conversations().identify(&mut card, "R", &atr)?;
        assert_eq!(id.profile, "foreign_national");
        Ok(())
    }

    fn card_foreign() -> (SimulatedTransport<NationalCard>, Vec<u8>) {
        sim("foreign-national")
    }

    #[test]
    fn a_card_of_no_profile_is_identified_but_not_read() -> Result<(), ApiError> {
        let mut demo = SimulatedTransport::new(shenas_simulators::default_card());
        let atr = shenas_simulators::simulated_atr(true);
        let id = conversations().identify(&mut demo, "R", &atr)?;
        assert_eq!(id.serial.as_deref(), Some("SHSIM001"));
        let e = conversations()
            .read_identity(&mut demo, &ReadIdentityRequest::default())
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::CardError);
        assert!(e.reason.unwrap_or_default().starts_with("unknown_card"));
        Ok(())
    }

    #[test]
    fn read_identity_flattens_the_fields_and_checks_integrity() -> Result<(), ApiError> {
        let (mut card, _) = sim("citizen");
        let doc = conversations().read_identity(&mut card, &ReadIdentityRequest::default())?;
        assert_eq!(doc.profile, "national_id");
        assert_eq!(doc.card_serial.as_deref(), Some("N000000001"));
        assert_eq!(doc.fields["national_code"], "0012345679");
        assert_eq!(doc.fields["given_name_latin"], "Maryam");
        assert!(doc.fields.contains_key("birth_date_jalali"));
        assert!(doc.fields.contains_key("birth_date_gregorian"));
        assert_eq!(doc.portrait, None);
        let pa = doc.passive_authentication.unwrap();
        assert!(pa.valid, "{pa:?}");
        assert_eq!(pa.trust, "simulated");
        let with = ReadIdentityRequest {
            portrait: true,
            ..ReadIdentityRequest::default()
        };
        let doc = conversations().read_identity(&mut card, &with)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(doc.portrait.unwrap())
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG") || bytes.starts_with(&[0xFF, 0xD8]));
        let (mut card, _) = card_foreign();
        let doc = conversations().read_identity(&mut card, &ReadIdentityRequest::default())?;
        assert_eq!(doc.profile, "foreign_national");
        assert_eq!(doc.fields["fida"].len(), 12);
        assert!(doc.fields.contains_key("family_group_id"));
        Ok(())
    }

    #[test]
    fn certificates_are_validated() -> Result<(), ApiError> {
        let (mut card, _) = sim("citizen");
        let certs = conversations().certificates(&mut card)?;
        assert_eq!(certs.len(), 2);
        assert!(certs.iter().all(|c| c.valid && c.reason.is_none()));
        assert!(certs.iter().any(|c| c.key == KeyKind::Sign));
        assert_eq!(certs[0].subject, certs[1].subject);
        let (mut card, _) = sim("expired-card");
        let certs = conversations().certificates(&mut card)?;
        assert!(certs.iter().all(|c| !c.valid && c.reason.is_some()));
        Ok(())
    }

    #[test]
    fn pins_wrong_then_right_and_no_retry() -> Result<(), ApiError> {
        let c = conversations();
        let (mut card, _) = sim("citizen");
        let before = c.pin_status(&mut card, PinKind::Id)?;
        let Some(tries) = before.tries_left else {
            panic!("{before:?}");
        };
        let e = c
            .verify_pin(&mut card, PinKind::Id, &secret("9999"))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::WrongPin);
        assert_eq!(e.tries_left, Some(tries - 1));
        // One wrong PIN spent exactly one try: nothing was retried.
        assert_eq!(
            c.pin_status(&mut card, PinKind::Id)?.tries_left,
            Some(tries - 1)
        );
        let ok = c.verify_pin(&mut card, PinKind::Id, &secret("1234"))?;
        assert!(ok.verified);
        let e = c
            .verify_pin(&mut card, PinKind::Id, &secret("12"))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::BadPinFormat);
        Ok(())
    }

    #[test]
    fn change_and_unblock() -> Result<(), ApiError> {
        let c = conversations();
        let (mut card, _) = sim("citizen-blocked-pin");
        let s = c.pin_status(&mut card, PinKind::Id)?;
        assert!(s.blocked, "{s:?}");
        let e = c
            .verify_pin(&mut card, PinKind::Id, &secret("1234"))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::PinBlocked);
        let s = c.unblock_pin(&mut card, PinKind::Id, &secret("87654321"), &secret("4321"))?;
        assert!(!s.blocked);
        let s = c.change_pin(&mut card, PinKind::Id, &secret("4321"), &secret("5678"))?;
        assert!(!s.blocked);
        assert!(
            c.verify_pin(&mut card, PinKind::Id, &secret("5678"))?
                .verified
        );
        Ok(())
    }

    #[test]
    fn signatures_verify_against_the_certificate() -> Result<(), ApiError> {
        let c = conversations();
        let (mut card, _) = sim("citizen");
        let hash = pki::HashAlgorithm::Sha256.digest(b"a request");
        let mut request = SignRequest {
            hash_algorithm: HashAlgorithm::Sha256,
            hash: hex::encode(&hash),
            pin: None,
            consent: None,
        };
        let e = c.sign_hash(&mut card, &request).unwrap_err();
        assert_eq!(e.code, ErrorCode::PinRequired);
        request.pin = Some(secret("123456"));
        let reply = c.sign_hash(&mut card, &request)?;
        let cert = hex::decode(&reply.certificate).unwrap();
        let key = pki::CertificateInfo::parse(&cert)
            .unwrap()
            .public_key()
            .unwrap();
        let signature = hex::decode(&reply.signature).unwrap();
        assert!(
            key.verify_prehash(pki::HashAlgorithm::Sha256, &hash, &signature)
                .is_ok()
        );
        assert!(reply.algorithm.contains("sha256"), "{}", reply.algorithm);
        request.hash = "00".into();
        let e = c.sign_hash(&mut card, &request).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest);
        let auth = AuthenticateRequest {
            challenge: hex::encode(b"nonce"),
            pin: Some(secret("1234")),
            consent: None,
        };
        let reply = c.authenticate(&mut card, &auth)?;
        let cert = hex::decode(&reply.certificate).unwrap();
        let key = pki::CertificateInfo::parse(&cert)
            .unwrap()
            .public_key()
            .unwrap();
        let hash = pki::HashAlgorithm::Sha256.digest(b"nonce");
        let signature = hex::decode(&reply.signature).unwrap();
        assert!(
            key.verify_prehash(pki::HashAlgorithm::Sha256, &hash, &signature)
                .is_ok()
        );
        Ok(())
    }
}
