//! Cross-crate test scenarios for Shenas.
//!
//! [`conformance`] is the one suite every transport must pass: the in-process simulator, the
//! simulator behind a real pcscd + vpcd, and (ignored unless a reader is named) real hardware.

pub mod conformance;
