//! The Shenas daemon and command-line tool.
//!
//! - [`cli`]: the `shenas` command (readers, watch, atr, apdu), acting on readers directly.
//! - [`daemon`]: `shenasd`, the localhost and D-Bus APIs over reader workers.

pub mod cli;
pub mod daemon;
