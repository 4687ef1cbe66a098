//! The AES3500 driver against traffic recorded from a real device (libfprint's test data,
//! `../shared/usb-captures/aes3500`, or the folder in `SHENAS_USB_CAPTURES`), replayed at the
//! `UsbBackend` boundary: the image must match the one libfprint assembled from the same
//! traffic, pixel for pixel (tolerance 0). The recorded images are of real fingers: they are read from
//! the shared folder, never copied into the project, and never printed.

// Helpers of this test file fail the test at once, like the tests themselves (clippy.toml).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use shenas_biometrics::capture::{Scanner, ScannerError, ScannerEvent};
use shenas_scanner_usb::aes3500::{self, Aes3500, ImageMode};
use shenas_scanner_usb::replay::{Recording, ReplayBackend};
use shenas_scanner_usb::{
    BackendOpener, HotplugEvent, HotplugScanner, HotplugSource, UsbDeviceInfo, UsbError,
};

/// The recordings: `$SHENAS_USB_CAPTURES`, else `shared/usb-captures` beside the checkout or
/// beside any folder above it (a clone elsewhere on the machine), else the workplace's
/// `/work/shared/usb-captures`.
fn captures() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut candidates: Vec<PathBuf> = std::env::var_os("SHENAS_USB_CAPTURES")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.extend(manifest.ancestors().map(|a| a.join("shared/usb-captures")));
    candidates.push(PathBuf::from("/work/shared/usb-captures"));
    let found = candidates
        .iter()
        .find(|dir| dir.join("aes3500/capture.ioctl").is_file());
    assert!(
        found.is_some(),
        "USB captures not found in any of {candidates:?} (set SHENAS_USB_CAPTURES)"
    );
    found.cloned().unwrap_or_default()
}

fn recording() -> Recording {
    let text = std::fs::read_to_string(captures().join("aes3500/capture.ioctl")).unwrap();
    Recording::from_umockdev_ioctl(&text).unwrap()
}

fn device() -> UsbDeviceInfo {
    let text = std::fs::read_to_string(captures().join("aes3500/device")).unwrap();
    UsbDeviceInfo::from_umockdev(&text).unwrap()
}

/// The expected image: libfprint's `capture.png` (RGB with R = G = B) as gray levels.
fn expected() -> (usize, usize, Vec<u8>) {
    let file = std::fs::File::open(captures().join("aes3500/capture.png")).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let gray = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|p| p[0])
        .collect();
    (info.width as usize, info.height as usize, gray)
}

#[test]
fn recorded_device_is_an_aes3500() {
    let d = device();
    assert_eq!(
        (d.vendor_id, d.product_id),
        (aes3500::VENDOR_ID, aes3500::PRODUCT_ID)
    );
    assert_eq!((d.bus, d.address), (3, 4));
}

#[test]
fn replayed_capture_reproduces_libfprint_image() {
    let mut driver = Aes3500::open(ReplayBackend::new(recording()), ImageMode::Enlarged).unwrap();
    let capture = driver.capture(Duration::from_secs(1)).unwrap();
    let (w, h, want) = expected();
    assert_eq!((capture.image.width(), capture.image.height()), (w, h));
    assert_eq!(capture.image.ppi(), 1000);
    let got = capture.image.pixels();
    let diffs: Vec<u8> = got.iter().zip(&want).map(|(a, b)| a.abs_diff(*b)).collect();
    let max = diffs.iter().max().copied().unwrap_or(0);
    let exact = diffs.iter().filter(|d| **d == 0).count();
    println!(
        "AES3500 replay: {w}x{h}, max |diff| {max}, {:.1} % of pixels exact",
        100.0 * exact as f64 / diffs.len() as f64
    );
    assert_eq!(max, 0, "pixels differ by up to {max} gray levels");
    // The image is a fingerprint, not a flat field: both ridges and valleys are present.
    assert!(got.iter().filter(|p| **p < 96).count() > got.len() / 10);
    assert!(got.iter().filter(|p| **p > 160).count() > got.len() / 10);
    // Every recorded transfer was made, in order per endpoint.
    let backend = driver.close();
    backend.finish().unwrap();
}

#[test]
fn native_mode_is_the_sensor_image() {
    let mut driver = Aes3500::open(ReplayBackend::new(recording()), ImageMode::Native).unwrap();
    assert_eq!(driver.info().width, 128);
    let native = driver.capture(Duration::from_secs(1)).unwrap();
    assert_eq!(
        (
            native.image.width(),
            native.image.height(),
            native.image.ppi()
        ),
        (128, 128, 500)
    );
    // Enlarging the native image (undoing inversion and rotation, which commute with it up to
    // the zero padding at the border) gives the libfprint image inside the border.
    let raw: Vec<u8> = native
        .image
        .pixels()
        .iter()
        .rev()
        .map(|v| 255 - v)
        .collect();
    let big: Vec<u8> = aes3500::enlarge_2x(&raw, 128, 128)
        .iter()
        .rev()
        .map(|v| 255 - v)
        .collect();
    let (w, _, want) = expected();
    for y in 1..255 {
        for x in 1..255 {
            assert_eq!(big[y * w + x], want[y * w + x]);
        }
    }
    // A second capture finds nothing more in the recording.
    assert!(driver.capture(Duration::from_millis(10)).is_err());
}

#[test]
fn a_different_driver_conversation_is_caught() {
    // Skipping the initialisation (opening twice on one backend replays INIT again, out of
    // order): the replay reports a mismatch instead of handing out the image.
    let mut backend = ReplayBackend::new(recording());
    use shenas_scanner_usb::UsbBackend;
    backend
        .write_bulk(2, &[0x80, 0x01], Duration::ZERO)
        .unwrap();
    let e = Aes3500::open(backend, ImageMode::Native).unwrap_err();
    match e {
        ScannerError::Transport(src) => {
            let usb = src.downcast_ref::<UsbError>().unwrap();
            assert!(matches!(usb, UsbError::ReplayMismatch { .. }), "{usb}");
        }
        other => panic!("unexpected {other}"),
    }
}

/// Hotplug events from a script.
struct Script(VecDeque<HotplugEvent>);

impl HotplugSource for Script {
    fn next_event(&mut self, _: Duration) -> Option<HotplugEvent> {
        self.0.pop_front()
    }
}

/// Opens a fresh replay of the recording for every arrival.
struct ReplayOpener(usize);

impl BackendOpener for ReplayOpener {
    type Backend = ReplayBackend;

    fn open(&mut self, _: &UsbDeviceInfo) -> Result<ReplayBackend, UsbError> {
        self.0 += 1;
        Ok(ReplayBackend::new(recording()))
    }
}

#[test]
fn hotplug_attaches_detaches_and_reattaches() {
    let d = device();
    let other = UsbDeviceInfo {
        vendor_id: 0x1234,
        ..d
    };
    let script = Script(VecDeque::from([
        HotplugEvent::Arrived(other), // not an AES3500: ignored
        HotplugEvent::Arrived(d),
    ]));
    let mut s = HotplugScanner::new(script, ReplayOpener(0), ImageMode::Native);
    assert!(s.info().model.contains("not attached"));
    let first = s.capture(Duration::from_millis(10)).unwrap();
    assert_eq!(s.attached(), Some(d));
    assert_eq!(first.image.width(), 128);

    // Unplugged: an event, then captures fail until it comes back.
    s.hotplug_mut().0.push_back(HotplugEvent::Left(d));
    assert_eq!(
        s.wait_event(Duration::ZERO).unwrap(),
        Some(ScannerEvent::Disconnected)
    );
    assert_eq!(s.attached(), None);
    assert!(matches!(
        s.capture(Duration::ZERO),
        Err(ScannerError::Disconnected)
    ));

    s.hotplug_mut().0.push_back(HotplugEvent::Arrived(d));
    let again = s.capture(Duration::from_millis(10)).unwrap();
    assert_eq!(again.image.pixels(), first.image.pixels());
    assert_eq!(s.opener().0, 2);
}

#[test]
fn usbmon_pcapng_recordings_parse() {
    // The other recorded families come as usbmon pcapng: the parser reads their transfers
    // (both directions) so that drivers for them can be replayed the same way.
    for dev in ["upektc_img", "egis0570"] {
        let bytes = std::fs::read(captures().join(dev).join("capture.pcapng")).unwrap();
        let rec = Recording::from_usbmon_pcapng(&bytes).unwrap();
        let ins = rec
            .transfers
            .iter()
            .filter(|t| t.endpoint & 0x80 != 0)
            .count();
        let outs = rec.transfers.len() - ins;
        println!("{dev}: {ins} IN and {outs} OUT transfers");
        assert!(ins > 0 && outs > 0, "{dev}: {ins} IN, {outs} OUT");
    }
}
