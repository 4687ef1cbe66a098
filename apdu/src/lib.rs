//! ISO/IEC 7816-4 values and channel logic for smart cards, over a synchronous, object-safe
//! [`Transport`].
//!
//! - [`Command`], [`Response`], [`StatusWord`]: APDUs as values (clause 5).
//! - [`Channel`]: GET RESPONSE on `61XX`, re-send on `6CXX`, command chaining, and file reads
//!   larger than one response, with extended length where the card offers it.
//! - `pcsc` (default feature): the PC/SC transport, reader listing and the reader monitor.
//!
//! No parser here panics on any input; each has property tests and a fuzz target.

mod atr;
mod channel;
mod command;
mod file;
mod response;
mod status;
mod tlv;
mod transport;

pub use atr::{
    Atr, AtrError, CardCapabilities, CardServiceData, CompactTlv, Convention, ExtendedLengthInfo,
    HistoricalBytes, StatusIndicator,
};
pub use channel::{Capabilities, Channel, ChannelConfig, ChannelError, ExtendedLength, file_size};
pub use command::{
    Case, Command, CommandError, EXTENDED_MAX_DATA, EXTENDED_MAX_LE, SHORT_MAX_DATA, SHORT_MAX_LE,
};
pub use file::{Aid, FileError, FileId, Path};
pub use response::{Response, ResponseError};
pub use status::StatusWord;
pub use tlv::{Tag, TagClass, Tlv, TlvError, TlvIter, TlvRef};
pub use transport::{Transport, TransportError, TransportLimits};

#[cfg(feature = "pcsc")]
pub mod pcsc;
