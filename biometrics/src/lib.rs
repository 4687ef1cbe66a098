//! Fingerprint biometrics as pure computation: no I/O, no async, never a panic on external data.
//!
//! | module | what |
//! |---|---|
//! | [`image`] | grayscale images with their resolution; PNG, BMP, raw (and WSQ if feasible) decoding |
//! | [`eval`] | the FVC evaluation protocol: pair enumeration, EER, FNMR at fixed FMR |
//! | [`extract`] | segmentation, orientation and ridge-frequency fields, enhancement, minutiae |
//! | [`quality`] | a 0–100 quality score (NFIQ 2 scale) with actionable feedback |
//! | [`matcher`] | the 1:1 matcher and its calibrated decision thresholds |
//! | [`template`] | ISO/IEC 19794-2 (2005, 2011), ANSI/INCITS 378-2004, compact-card and normal-card formats |
//! | [`capture`] | the scanner trait real and simulated scanners implement |

pub mod capture;
pub mod eval;
pub mod extract;
pub mod image;
pub mod matcher;
pub mod quality;
pub mod template;
