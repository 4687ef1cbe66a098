//! The Shenas daemon and command-line tool.
//!
//! - [`cli`]: the `shenas` command (readers, watch, atr, apdu), acting on readers directly.

pub mod cli;
