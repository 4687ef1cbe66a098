//! USB fingerprint scanner drivers on rusb, outside the pure `shenas-biometrics` crate.
//!
//! | module | what |
//! |---|---|
//! | [`backend`] | the [`UsbBackend`] boundary drivers talk through; its rusb implementation; rusb hotplug |
//! | [`replay`] | a [`UsbBackend`] that replays recorded traffic (umockdev ioctl logs, usbmon pcapng) |
//! | [`aes3500`] | driver for the AuthenTec AES3500 (`08ff:5731`) |
//!
//! **Devices served:** AuthenTec AES3500 TruePrint (USB `08ff:5731`). The driver is checked
//! without the device by replaying traffic recorded from a real one (libfprint's test data in
//! `../shared/usb-captures/aes3500`) and comparing the image with the one libfprint assembled
//! (see [`aes3500`] for the processing reproduced; the comparison is exact, pixel for pixel).
//!
//! [`HotplugScanner`] follows a scanner as it is plugged and unplugged: it opens the device
//! when it arrives, reports [`ScannerEvent::Disconnected`] when it leaves, and opens it again
//! when it comes back. Building needs libusb (`libusb-1.0-0-dev` and `pkg-config` on Debian).
//! Fingerprint images never reach logs: nothing here logs, and errors carry no data.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use shenas_biometrics::capture::{Capture, Scanner, ScannerError, ScannerEvent, ScannerInfo};

pub mod aes3500;
pub mod backend;
pub mod replay;

pub use backend::{
    BackendOpener, HotplugEvent, HotplugSource, RusbBackend, RusbHotplug, RusbOpener, UsbBackend,
    UsbDeviceInfo, UsbError,
};

use aes3500::{Aes3500, ImageMode};

/// An AES3500 that may come and go: hotplug events open and drop the driver.
pub struct HotplugScanner<H: HotplugSource, O: BackendOpener> {
    hotplug: H,
    opener: O,
    mode: ImageMode,
    device: Option<(UsbDeviceInfo, Aes3500<O::Backend>)>,
    events: VecDeque<ScannerEvent>,
}

impl<H: HotplugSource, O: BackendOpener> std::fmt::Debug for HotplugScanner<H, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotplugScanner")
            .field("attached", &self.device.as_ref().map(|(d, _)| *d))
            .finish_non_exhaustive()
    }
}

impl HotplugScanner<RusbHotplug, RusbOpener> {
    /// Watches for AES3500 scanners with libusb.
    pub fn rusb(mode: ImageMode) -> Result<Self, UsbError> {
        let context = rusb::Context::new()?;
        let hotplug = RusbHotplug::new(context.clone(), (aes3500::VENDOR_ID, aes3500::PRODUCT_ID))?;
        Ok(Self::new(hotplug, RusbOpener::new(context), mode))
    }
}

impl<H: HotplugSource, O: BackendOpener> HotplugScanner<H, O> {
    /// A scanner fed by `hotplug` that opens devices with `opener`.
    pub fn new(hotplug: H, opener: O, mode: ImageMode) -> Self {
        Self {
            hotplug,
            opener,
            mode,
            device: None,
            events: VecDeque::new(),
        }
    }

    /// The hotplug source (tests push scripted events through it).
    pub fn hotplug_mut(&mut self) -> &mut H {
        &mut self.hotplug
    }

    /// The opener.
    pub fn opener(&self) -> &O {
        &self.opener
    }

    /// The attached device, if any.
    pub fn attached(&self) -> Option<UsbDeviceInfo> {
        self.device.as_ref().map(|(d, _)| *d)
    }

    /// Handles hotplug events for up to `timeout` (at least one poll).
    fn pump(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(e) = self.hotplug.next_event(left) else {
                if Instant::now() >= deadline {
                    return;
                }
                // A source that does not block (a script) must not make this spin.
                std::thread::sleep(left.min(Duration::from_millis(1)));
                continue;
            };
            match e {
                HotplugEvent::Arrived(d)
                    if self.device.is_none()
                        && (d.vendor_id, d.product_id)
                            == (aes3500::VENDOR_ID, aes3500::PRODUCT_ID) =>
                {
                    // A device that cannot be opened (permissions, busy) stays unattached; the
                    // next arrival tries again.
                    if let Ok(b) = self.opener.open(&d)
                        && let Ok(driver) = Aes3500::open(b, self.mode)
                    {
                        self.device = Some((d, driver));
                    }
                }
                HotplugEvent::Left(d)
                    if self
                        .device
                        .as_ref()
                        .is_some_and(|(a, _)| (a.bus, a.address) == (d.bus, d.address)) =>
                {
                    self.device = None;
                    self.events.push_back(ScannerEvent::Disconnected);
                }
                _ => {}
            }
            if self.device.is_some() || !self.events.is_empty() {
                return;
            }
        }
    }
}

impl<H: HotplugSource, O: BackendOpener> Scanner for HotplugScanner<H, O> {
    fn info(&self) -> ScannerInfo {
        match &self.device {
            Some((_, d)) => d.info(),
            None => {
                let mut info = aes3500::scanner_info(self.mode);
                info.model.push_str(" (not attached)");
                info
            }
        }
    }

    fn wait_event(&mut self, timeout: Duration) -> Result<Option<ScannerEvent>, ScannerError> {
        if self.events.is_empty() {
            self.pump(timeout);
        }
        Ok(self.events.pop_front())
    }

    /// Captures on the attached scanner, waiting up to `timeout` for one to arrive;
    /// [`ScannerError::Disconnected`] when none is there.
    fn capture(&mut self, timeout: Duration) -> Result<Capture, ScannerError> {
        if self.device.is_none() {
            self.pump(timeout);
        }
        let Some((_, driver)) = self.device.as_mut() else {
            return Err(ScannerError::Disconnected);
        };
        let r = driver.capture(timeout);
        if matches!(r, Err(ScannerError::Disconnected)) {
            self.device = None;
            self.events.push_back(ScannerEvent::Disconnected);
        }
        r
    }
}
