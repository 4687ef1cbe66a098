//! Minutiae extraction: segmentation, orientation and ridge-frequency fields, contextual
//! enhancement, binarisation, thinning and minutiae detection with false-minutia removal.
//!
//! The feature types here ([`Minutia`], [`FingerprintFeatures`]) are the crate's common currency:
//! templates ([`crate::template`]) convert to and from them and the matcher consumes them.
//! Conventions follow ISO/IEC 19794-2:2005 §6.4: origin at the top-left pixel, x to the right,
//! y downwards, angles counter-clockwise from the positive x axis.

use core::fmt;

/// The kind of a minutia (ISO/IEC 19794-2:2005 §6.4.1, minutia type bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MinutiaKind {
    /// A ridge ends (type `01`).
    RidgeEnding,
    /// A ridge splits in two (type `10`).
    Bifurcation,
    /// Any other or undetermined kind (type `00`).
    Other,
}

/// One minutia (ISO/IEC 19794-2:2005 §6.4).
///
/// Personal biometric data: `Debug` is hand-written and redacts position and direction.
#[derive(Clone, Copy, PartialEq)]
pub struct Minutia {
    /// Column in pixels, from the left edge.
    pub x: u16,
    /// Row in pixels, from the top edge.
    pub y: u16,
    /// Direction in radians in `[0, 2π)`, counter-clockwise from the positive x axis (y up, as
    /// ISO/IEC 19794-2 §6.4.3). For a ridge ending it points along the ridge, away from the end
    /// into the valley; for a bifurcation it points into the valley between the two branches'
    /// ridge, i.e. along the merged ridge away from the fork.
    pub angle: f32,
    /// Ridge ending, bifurcation or other.
    pub kind: MinutiaKind,
    /// Quality 0–100 (ISO/IEC 19794-2:2005 §6.4.4; 0 = not reported).
    pub quality: u8,
}

impl fmt::Debug for Minutia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minutia").finish_non_exhaustive()
    }
}

/// The features of one fingerprint impression: image geometry and its minutiae.
///
/// Personal biometric data: `Debug` shows geometry and the minutiae count only.
#[derive(Clone, PartialEq)]
pub struct FingerprintFeatures {
    /// Image width in pixels.
    pub width: u16,
    /// Image height in pixels.
    pub height: u16,
    /// Resolution in pixels per inch (both axes).
    pub resolution_ppi: u16,
    /// The minutiae, in no particular order.
    pub minutiae: Vec<Minutia>,
}

impl fmt::Debug for FingerprintFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FingerprintFeatures")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("resolution_ppi", &self.resolution_ppi)
            .field("minutiae", &self.minutiae.len())
            .finish()
    }
}
