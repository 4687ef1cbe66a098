//! The scanner trait that real (USB) and simulated fingerprint scanners implement.
//!
//! Pure: the trait describes a conversation with a scanner and holds no I/O itself; drivers
//! (`shenas-scanner-usb`) and simulators (`shenas-fingersim`) implement it. A typical capture:
//!
//! 1. [`Scanner::info`] for the geometry and resolution;
//! 2. [`Scanner::wait_event`] until [`ScannerEvent::FingerPlaced`] (or straight to capture on
//!    sensors without finger detection);
//! 3. [`Scanner::capture`] for one image; [`ScannerError::FingerLifted`] if the finger left
//!    before the image was complete;
//! 4. [`Scanner::wait_event`] for [`ScannerEvent::FingerLifted`] before asking for the next
//!    finger.
//!
//! The trait is object safe (`Box<dyn Scanner>`); implementations block for at most the timeout
//! they are given. Images are biometric data: [`Capture`] redacts its `Debug`, and errors
//! never carry pixels.

use core::fmt;
use std::time::Duration;

use crate::image::{GrayImage, ImageError};

/// Sensing technology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SensorTechnology {
    /// Optical (frustrated total internal reflection).
    Optical,
    /// Capacitive or RF (e.g. AuthenTec TruePrint).
    Capacitive,
    /// Thermal.
    Thermal,
    /// Ultrasonic.
    Ultrasonic,
    /// A simulator.
    Simulated,
    /// Not stated.
    Unknown,
}

/// How the sensor acquires an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SensorKind {
    /// The whole finger area at once.
    Area,
    /// A strip the finger is swiped over.
    Swipe,
}

/// What a scanner says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannerInfo {
    /// Vendor name.
    pub vendor: String,
    /// Model name.
    pub model: String,
    /// USB vendor and product id, when on USB.
    pub usb_id: Option<(u16, u16)>,
    /// Width in pixels of the images [`Scanner::capture`] returns.
    pub width: u16,
    /// Height in pixels of the images.
    pub height: u16,
    /// Resolution of the images in pixels per inch.
    pub resolution_ppi: u16,
    /// Sensing technology.
    pub technology: SensorTechnology,
    /// Area or swipe sensor.
    pub kind: SensorKind,
    /// Whether the scanner reports [`ScannerEvent::FingerPlaced`] / [`ScannerEvent::FingerLifted`].
    pub finger_detection: bool,
}

/// An event a scanner reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScannerEvent {
    /// A finger is on the sensor.
    FingerPlaced,
    /// The finger left the sensor.
    FingerLifted,
    /// The device went away (hot-unplug).
    Disconnected,
}

/// One captured image.
#[derive(Clone)]
pub struct Capture {
    /// The image, at [`ScannerInfo::resolution_ppi`].
    pub image: GrayImage,
    /// How long the acquisition took on the device side, when known.
    pub duration: Option<Duration>,
}

impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capture")
            .field("image", &self.image)
            .field("duration", &self.duration)
            .finish()
    }
}

/// Why a scanner operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScannerError {
    /// Nothing happened within the timeout (no finger, no event).
    #[error("timed out")]
    Timeout,
    /// The finger left before the image was complete (too fast a lift): ask again.
    #[error("finger lifted before the capture completed")]
    FingerLifted,
    /// The device is gone (unplugged, or closed).
    #[error("scanner disconnected")]
    Disconnected,
    /// Another process or handle holds the device.
    #[error("scanner busy")]
    Busy,
    /// The device answered outside its protocol.
    #[error("scanner protocol error: {0}")]
    Protocol(&'static str),
    /// The transport (e.g. USB) failed.
    #[error("scanner transport error")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The image the device delivered could not be built.
    #[error("invalid image from the scanner")]
    Image(#[from] ImageError),
}

/// A fingerprint scanner (ISO/IEC 19794-4 image capture in the abstract).
pub trait Scanner {
    /// What the scanner is: geometry, resolution, technology.
    fn info(&self) -> ScannerInfo;

    /// Waits up to `timeout` for the next event; `Ok(None)` when none came.
    fn wait_event(&mut self, timeout: Duration) -> Result<Option<ScannerEvent>, ScannerError>;

    /// Captures one image, waiting up to `timeout` for a finger.
    fn capture(&mut self, timeout: Duration) -> Result<Capture, ScannerError>;
}

impl<S: Scanner + ?Sized> Scanner for Box<S> {
    fn info(&self) -> ScannerInfo {
        (**self).info()
    }

    fn wait_event(&mut self, timeout: Duration) -> Result<Option<ScannerEvent>, ScannerError> {
        (**self).wait_event(timeout)
    }

    fn capture(&mut self, timeout: Duration) -> Result<Capture, ScannerError> {
        (**self).capture(timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scanner with a scripted answer: proves the trait is object safe and usable boxed.
    struct Fixed(u8);

    impl Scanner for Fixed {
        fn info(&self) -> ScannerInfo {
            ScannerInfo {
                vendor: "test".into(),
                model: "fixed".into(),
                usb_id: None,
                width: 64,
                height: 64,
                resolution_ppi: 500,
                technology: SensorTechnology::Simulated,
                kind: SensorKind::Area,
                finger_detection: false,
            }
        }

        fn wait_event(&mut self, _: Duration) -> Result<Option<ScannerEvent>, ScannerError> {
            Ok(None)
        }

        fn capture(&mut self, _: Duration) -> Result<Capture, ScannerError> {
            Ok(Capture {
                image: GrayImage::from_raw(64, 64, 500, vec![self.0; 64 * 64])?,
                duration: None,
            })
        }
    }

    #[test]
    fn boxed_scanner_captures_and_redacts() {
        let mut s: Box<dyn Scanner> = Box::new(Fixed(7));
        assert_eq!(s.info().width, 64);
        let c = s.capture(Duration::from_millis(1)).unwrap();
        assert_eq!(c.image.pixels().len(), 64 * 64);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("[7"), "{dbg}");
        assert!(s.wait_event(Duration::ZERO).unwrap().is_none());
    }
}
