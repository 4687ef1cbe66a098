//! The Shenas daemon and command-line tool.
//!
//! - [`finger`]: the `shenas finger` commands (extract, quality, match, convert, eval).
//! - [`cli`]: the `shenas` command (readers, watch, atr, apdu, and the card commands of
//!   [`card_cli`]: identify, read, certs, pin, sign), acting on readers directly.

pub mod card_cli;
pub mod cli;
pub mod daemon;
pub mod finger;
