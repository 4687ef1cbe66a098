//! Simulated smart cards for tests and demos.
//!
//! **This crate provides no security.** Its cards have no access conditions, no secure
//! messaging and no protected keys; their contents sit in plain memory, and the vpcd client lets
//! anyone who can reach vpcd's port insert a card. Use it for tests and demos only, never with
//! real personal data, and never install vsmartcard-vpcd on a production machine.
//!
//! - [`VirtualCard`]: an ISO/IEC 7816-4 card with a file system ([`Df`], [`Ef`]) that answers
//!   SELECT, READ BINARY (`B0`/`B1`), UPDATE BINARY (also chained), GET DATA, GET CHALLENGE and
//!   GET RESPONSE as a real card does, never panicking on any input.
//! - [`default_card()`]: the card `shenas-sim` serves, documented file by file in
//!   [`default_card`](mod@default_card) so tests know what they read.
//! - [`national::NationalCard`]: the simulated national ID and foreign-nationals cards of the
//!   reference profiles (identity under secure messaging, PKCS#15 PKI application, PINs,
//!   on-card signing), made from a [`persona`]. Its access conditions and cryptography are real
//!   toward clients; its keys and PIN digests sit in plain memory.
//! - [`SimCard`]: what every simulated card implements, so [`SimulatedCard`],
//!   [`SimulatedTransport`] and [`VpcdSlot`] serve any of them.
//! - [`Faults`] and [`SimulatedCard`]: removal after N APDUs, delays, forced status words,
//!   answers split into `61XX` chunks.
//! - [`SimulatedTransport`]: the card behind [`shenas_apdu::Transport`], in process.
//! - [`VpcdSlot`]: the card served to pcscd through vpcd (TCP, one thread per slot).
//!
//! ```
//! use shenas_apdu::Transport;
//! use shenas_simulators::{SimulatedTransport, default_card};
//!
//! let mut t = SimulatedTransport::new(default_card());
//! let mut select = vec![0x00, 0xA4, 0x04, 0x0C, 0x08];
//! select.extend_from_slice(&default_card::APP_AID);
//! assert_eq!(t.transmit(&select)?, [0x90, 0x00]);
//! // READ BINARY of EF 0101 by SFI 1, Le 0x20.
//! let r = t.transmit(&[0x00, 0xB0, 0x81, 0x00, 0x20])?;
//! assert_eq!(&r[..32], default_card::SMALL_EF_CONTENT);
//! # Ok::<(), shenas_apdu::TransportError>(())
//! ```

mod card;
pub mod default_card;
mod faults;
mod fs;
pub mod issuer;
pub mod national;
pub mod persona;
pub mod pki;
mod transport;
pub mod vpcd;

pub use card::{
    EF_ATR_FID, EF_ATR_SFI, HISTORICAL_NAME, SimCard, VirtualCard, ef_atr_content, simulated_atr,
};
pub use default_card::default_card;
pub use faults::{Faults, ForcedStatus, SimulatedCard};
pub use fs::{Access, Df, Ef, MF_FID};
pub use transport::SimulatedTransport;
pub use vpcd::{SlotControl, SlotEvent, VpcdConfig, VpcdSlot};

/// What can go wrong in the simulators.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulatorError {
    /// The simulated card was removed (on command or by an injected fault).
    #[error("the simulated card was removed")]
    CardRemoved,
    /// A slot thread could not be started.
    #[error("cannot start the vpcd slot thread")]
    Spawn(#[source] std::io::Error),
}
