//! Card applications of the Iranian national ID card and the foreign-nationals card, as the
//! host sees them: card **profiles** (identifiers as data tables, behaviour as code), identity
//! data with issuer authentication (EN 14890 device authentication, ISO/IEC 7816-4 secure
//! messaging) and passive authentication (ICAO 9303-style document security object), PINs,
//! on-card signing and certificate validation.
//!
//! The simulated cards in `shenas-simulators` implement the same profiles on the card side and
//! reuse the tables and codecs of this crate, so both sides speak of the same bytes.
//!
//! | module | what |
//! |---|---|
//! | [`profile`] | the two reference profiles: AIDs, files, data objects, PIN and key references; the identity data model and its BER-TLV codec; validation (national code, FIDA, dates) |
//! | [`sm`] | ISO/IEC 7816-4 secure messaging with AES-128 (host and card side) |
//! | [`device_auth`] | EN 14890 device authentication with symmetric keys: cryptograms and session keys |
//! | [`issuer`] | the issuer authority interface (in process and over loopback HTTP) |
//! | [`session`] | a card session on the host: identify, read identity, certificates, PINs, signing, match-on-card |
//! | [`moc`] | ISO/IEC 7816-11 match-on-card objects: BIT group, VERIFY data, the profile's qualifiers and parameters |
//! | [`pki`] | signature verification, X.509 validation, passive authentication (EF.SOD), CAdES-BES |

pub mod device_auth;
pub mod issuer;
pub mod moc;
pub mod pki;
pub mod profile;
pub mod session;
pub mod sm;
