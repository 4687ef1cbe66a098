//! Driver for the AuthenTec AES3500 TruePrint area sensor (USB `08ff:5731`).
//!
//! ## Protocol (as observed on the bus)
//! Vendor-specific interface 0 with bulk OUT endpoint `0x02` and bulk IN endpoint `0x81`.
//! The host writes registers as (register, value) byte pairs, one or more pairs per bulk OUT
//! transfer:
//! 1. **initialisation** (once, when the device is opened): `80 01` (master reset), `80 00`,
//!    `81 00 80 00`, `80 02` (scan reset), `80 04`, `81 00`;
//! 2. **capture** (for each image): registers `80`…`9f` in two 32-byte writes (drive ring,
//!    calibration, gain, A/D references, scan window rows 0–7 / columns 0–31, data format),
//!    then `80 00 81 00` and `81 04` (start scan);
//! 3. one bulk IN transfer of 8,329 bytes: 8 frames, each a header byte `E0`+frame number and
//!    1,024 bytes of 4-bit pixels for a strip of 128 × 16 pixels, column by column, two rows per
//!    byte (low nibble first), followed by 129 bytes of register read-back.
//!
//! ## Image processing, and what the tests compare
//! The 4-bit samples are scaled by 17 (0–15 → 0–255) into a 128 × 128 image. The sensor
//! reports ridges bright and mounts the array rotated by 180°: the driver inverts the gray
//! levels and rotates the image by 180°, so that ridges are dark and the finger tip is up.
//! [`ImageMode::Native`] (the default) returns that 128 × 128 image at 500 ppi (the array has
//! a 50.8 µm pitch, 500.0 ppi to 2 %). [`ImageMode::Enlarged`] first doubles the raw image by
//! bilinear interpolation (sampling at pixel centres, zero beyond the edges) to 256 × 256,
//! which is what libfprint delivers for this sensor, and declares 1,000 ppi.
//! The replay test feeds the traffic recorded from a real AES3500 (libfprint's test suite) to
//! this driver and compares the enlarged image with the image libfprint assembled from the
//! same traffic: every pixel must be equal (tolerance 0 gray levels; the interpolation
//! truncates as pixman, libfprint's resampler, does).
//!
//! Devices served: AuthenTec AES3500 (`08ff:5731`) only. The sensor has no finger detection
//! in this driver: [`Scanner::capture`] scans at once.

use std::time::{Duration, Instant};

use shenas_biometrics::capture::{
    Capture, Scanner, ScannerError, ScannerEvent, ScannerInfo, SensorKind, SensorTechnology,
};
use shenas_biometrics::image::GrayImage;

use crate::backend::{UsbBackend, UsbError};

/// USB vendor id (AuthenTec).
pub const VENDOR_ID: u16 = 0x08ff;
/// USB product id (AES3500).
pub const PRODUCT_ID: u16 = 0x5731;
/// Interface the driver claims.
pub const INTERFACE: u8 = 0;
const EP_OUT: u8 = 0x02;
const EP_IN: u8 = 0x81;

/// Sensor width and height in pixels.
pub const SENSOR_SIZE: usize = 128;
const FRAME_HEIGHT: usize = 16;
const FRAMES: usize = 8;
const FRAME_BYTES: usize = SENSOR_SIZE * FRAME_HEIGHT / 2;
/// Length of the image transfer: 8 frames of (1 + 1,024) bytes and 129 bytes of registers.
pub const DATA_LEN: usize = FRAMES * (1 + FRAME_BYTES) + 129;

/// Initialisation writes, one bulk transfer each.
const INIT: [&[u8]; 6] = [
    &[0x80, 0x01],
    &[0x80, 0x00],
    &[0x81, 0x00, 0x80, 0x00],
    &[0x80, 0x02],
    &[0x80, 0x04],
    &[0x81, 0x00],
];

/// Capture writes, one bulk transfer each.
const CAPTURE: [&[u8]; 4] = [
    &[
        0x80, 0x00, 0x81, 0x00, 0x82, 0x04, 0x83, 0x13, 0x84, 0x07, 0x85, 0x3D, 0x86, 0x03, 0x87,
        0x01, 0x88, 0x02, 0x89, 0x02, 0x8A, 0x33, 0x8B, 0x33, 0x8C, 0x0F, 0x8D, 0x04, 0x8E, 0x23,
        0x8F, 0x07,
    ],
    &[
        0x90, 0x00, 0x91, 0x1C, 0x92, 0x08, 0x93, 0x00, 0x94, 0x07, 0x95, 0x00, 0x96, 0x1F, 0x97,
        0x04, 0x98, 0x28, 0x99, 0x00, 0x9A, 0x0B, 0x9B, 0x00, 0x9C, 0x00, 0x9D, 0x09, 0x9E, 0x53,
        0x9F, 0x6B,
    ],
    &[0x80, 0x00, 0x81, 0x00],
    &[0x81, 0x04],
];

const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// What image the driver returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ImageMode {
    /// The sensor's 128 × 128 pixels at 500 ppi (inverted, rotated upright).
    #[default]
    Native,
    /// Doubled by bilinear interpolation to 256 × 256, declared 1,000 ppi (libfprint's output).
    Enlarged,
}

fn usb_to_scanner(e: UsbError) -> ScannerError {
    match e {
        UsbError::Timeout => ScannerError::Timeout,
        UsbError::Disconnected | UsbError::NotFound => ScannerError::Disconnected,
        UsbError::Busy => ScannerError::Busy,
        other => ScannerError::Transport(Box::new(other)),
    }
}

/// The AES3500 driver over any [`UsbBackend`].
pub struct Aes3500<B: UsbBackend> {
    backend: B,
    mode: ImageMode,
    disconnected: bool,
}

impl<B: UsbBackend> std::fmt::Debug for Aes3500<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aes3500")
            .field("mode", &self.mode)
            .field("disconnected", &self.disconnected)
            .finish_non_exhaustive()
    }
}

impl<B: UsbBackend> Aes3500<B> {
    /// Claims the interface and initialises the sensor.
    pub fn open(mut backend: B, mode: ImageMode) -> Result<Self, ScannerError> {
        backend.claim_interface(INTERFACE).map_err(usb_to_scanner)?;
        let mut d = Self {
            backend,
            mode,
            disconnected: false,
        };
        d.write_all(&INIT)?;
        Ok(d)
    }

    /// Gives the backend back (releasing the interface).
    pub fn close(mut self) -> B {
        let _ = self.backend.release_interface(INTERFACE);
        self.backend
    }

    fn write_all(&mut self, writes: &[&[u8]]) -> Result<(), ScannerError> {
        for w in writes {
            let n = self
                .backend
                .write_bulk(EP_OUT, w, WRITE_TIMEOUT)
                .map_err(|e| self.fail(e))?;
            if n != w.len() {
                return Err(ScannerError::Protocol("short register write"));
            }
        }
        Ok(())
    }

    fn fail(&mut self, e: UsbError) -> ScannerError {
        let e = usb_to_scanner(e);
        if matches!(e, ScannerError::Disconnected) {
            self.disconnected = true;
        }
        e
    }
}

/// Unpacks the 8 frames of an image transfer into the raw 128 × 128 image (4-bit samples
/// scaled by 17; ridges bright, array orientation).
pub fn unpack_frames(data: &[u8]) -> Result<Vec<u8>, ScannerError> {
    if data.len() != DATA_LEN {
        return Err(ScannerError::Protocol(
            "image transfer of unexpected length",
        ));
    }
    let mut raw = vec![0u8; SENSOR_SIZE * SENSOR_SIZE];
    for (f, frame) in data.chunks_exact(1 + FRAME_BYTES).take(FRAMES).enumerate() {
        let Some((&header, pixels)) = frame.split_first() else {
            return Err(ScannerError::Protocol("empty frame"));
        };
        if header >> 4 != 0xE || usize::from(header & 0x0F) != f {
            return Err(ScannerError::Protocol("bad frame header"));
        }
        for (i, &b) in pixels.iter().enumerate() {
            let column = i / (FRAME_HEIGHT / 2);
            let row = f * FRAME_HEIGHT + 2 * (i % (FRAME_HEIGHT / 2));
            for (dr, v) in [(0, b & 0x0F), (1, b >> 4)] {
                if let Some(p) = raw.get_mut((row + dr) * SENSOR_SIZE + column) {
                    *p = v * 17;
                }
            }
        }
    }
    Ok(raw)
}

/// Doubles an image by bilinear interpolation at pixel centres (source position
/// `(x + 0.5) / 2 − 0.5`), zero beyond the edges. Quarter-pixel weights make it exact in
/// sixteenths: `⌊(9a + 3b + 3c + d) / 16⌋`, truncated as pixman (libfprint's resampler) does.
pub fn enlarge_2x(src: &[u8], w: usize, h: usize) -> Vec<u8> {
    let at = |x: isize, y: isize| -> u32 {
        if x < 0 || y < 0 {
            return 0;
        }
        let (x, y) = (x.unsigned_abs(), y.unsigned_abs());
        if x >= w || y >= h {
            0
        } else {
            u32::from(src.get(y * w + x).copied().unwrap_or(0))
        }
    };
    let mut out = Vec::with_capacity(4 * w * h);
    for oy in 0..2 * h {
        for ox in 0..2 * w {
            // The nearest source pixel and the neighbour on the side the sample falls.
            let (sx, sy) = (
                isize::try_from(ox / 2).unwrap_or(0),
                isize::try_from(oy / 2).unwrap_or(0),
            );
            let nx = if ox % 2 == 0 { sx - 1 } else { sx + 1 };
            let ny = if oy % 2 == 0 { sy - 1 } else { sy + 1 };
            let v = 9 * at(sx, sy) + 3 * at(nx, sy) + 3 * at(sx, ny) + at(nx, ny);
            out.push(u8::try_from(v / 16).unwrap_or(u8::MAX));
        }
    }
    out
}

/// Inverts gray levels and rotates by 180° (ridges dark, finger tip up).
fn upright(raw: &[u8]) -> Vec<u8> {
    raw.iter().rev().map(|v| 255 - v).collect()
}

/// What an AES3500 reports in `mode` (also while none is attached).
pub fn scanner_info(mode: ImageMode) -> ScannerInfo {
    let (size, ppi) = match mode {
        ImageMode::Native => (SENSOR_SIZE, 500),
        ImageMode::Enlarged => (2 * SENSOR_SIZE, 1000),
    };
    let side = u16::try_from(size).unwrap_or(u16::MAX);
    ScannerInfo {
        vendor: "AuthenTec".into(),
        model: "AES3500".into(),
        usb_id: Some((VENDOR_ID, PRODUCT_ID)),
        width: side,
        height: side,
        resolution_ppi: ppi,
        technology: SensorTechnology::Capacitive,
        kind: SensorKind::Area,
        finger_detection: false,
    }
}

impl<B: UsbBackend> Scanner for Aes3500<B> {
    fn info(&self) -> ScannerInfo {
        scanner_info(self.mode)
    }

    fn wait_event(&mut self, _timeout: Duration) -> Result<Option<ScannerEvent>, ScannerError> {
        if self.disconnected {
            return Err(ScannerError::Disconnected);
        }
        Ok(None)
    }

    fn capture(&mut self, timeout: Duration) -> Result<Capture, ScannerError> {
        if self.disconnected {
            return Err(ScannerError::Disconnected);
        }
        let started = Instant::now();
        self.write_all(&CAPTURE)?;
        let mut data = vec![0u8; DATA_LEN];
        let n = self
            .backend
            .read_bulk(EP_IN, &mut data, timeout)
            .map_err(|e| self.fail(e))?;
        let raw = unpack_frames(data.get(..n).unwrap_or_default())?;
        let info = self.info();
        let pixels = match self.mode {
            ImageMode::Native => upright(&raw),
            ImageMode::Enlarged => upright(&enlarge_2x(&raw, SENSOR_SIZE, SENSOR_SIZE)),
        };
        let image = GrayImage::from_raw(
            usize::from(info.width),
            usize::from(info.height),
            info.resolution_ppi,
            pixels,
        )?;
        Ok(Capture {
            image,
            duration: Some(started.elapsed()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic_transfer() -> Vec<u8> {
        let mut d = Vec::with_capacity(DATA_LEN);
        for f in 0..FRAMES {
            d.push(0xE0 | u8::try_from(f).unwrap());
            for i in 0..FRAME_BYTES {
                // Low nibble: column index mod 16; high nibble: frame number.
                let column = i / 8;
                d.push(u8::try_from(column % 16).unwrap() | (u8::try_from(f).unwrap() << 4));
            }
        }
        d.resize(DATA_LEN, 0);
        d
    }

    #[test]
    fn frames_unpack_column_major_two_rows_per_byte() {
        let raw = unpack_frames(&synthetic_transfer()).unwrap();
        // Row 0 (even, low nibble): column mod 16 · 17.
        assert_eq!(raw[5], 5 * 17);
        // Row 1 (odd, high nibble) of frame 0: 0; row 17 (frame 1, odd): 17.
        assert_eq!(raw[SENSOR_SIZE + 5], 0);
        assert_eq!(raw[17 * SENSOR_SIZE + 5], 17);
        let mut bad = synthetic_transfer();
        bad[1 + FRAME_BYTES] = 0xE5; // second frame numbered 5
        assert!(matches!(
            unpack_frames(&bad),
            Err(ScannerError::Protocol(_))
        ));
        assert!(matches!(
            unpack_frames(&bad[..100]),
            Err(ScannerError::Protocol(_))
        ));
    }

    #[test]
    fn enlarging_interpolates_at_quarter_pixels() {
        let src = [0u8, 160, 0, 0];
        let big = enlarge_2x(&src, 2, 2);
        // Output (2, 0) samples source (0.75, −0.25): 9·160·… weights over 16.
        assert_eq!(big[2], 90); // ⌊9 · 160 / 16⌋
        assert_eq!(big[1], 30); // ⌊3 · 160 / 16⌋: the neighbour's share
        assert_eq!(big[0], 0);
        assert_eq!(big.len(), 16);
        assert_eq!(upright(&[0, 255, 10]), vec![245, 0, 255]);
    }
}
