//! The USB boundary: the [`UsbBackend`] trait drivers talk through, its rusb implementation
//! ([`RusbBackend`]) and hotplug ([`HotplugSource`], [`RusbHotplug`]).
//!
//! Drivers never touch rusb directly, so the same driver code runs against a real device and
//! against recorded traffic ([`crate::replay`]).

use std::sync::mpsc;
use std::time::Duration;

use rusb::UsbContext;

/// Errors at the USB boundary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsbError {
    /// The transfer did not complete in time.
    #[error("USB transfer timed out")]
    Timeout,
    /// The device is gone.
    #[error("USB device disconnected")]
    Disconnected,
    /// Another driver or process holds the interface.
    #[error("USB device busy")]
    Busy,
    /// Permission denied (udev rules).
    #[error("no permission to open the USB device")]
    Access,
    /// The device sent more data than the buffer holds.
    #[error("USB transfer overflow")]
    Overflow,
    /// The endpoint stalled.
    #[error("USB endpoint stalled")]
    Stall,
    /// No device with the wanted id is attached.
    #[error("no matching USB device")]
    NotFound,
    /// Replay: the driver sent something other than what the recording holds next on this
    /// endpoint (data is not shown: it may be biometric).
    #[error("replay mismatch at transfer {index} on endpoint {endpoint:#04x}: {reason}")]
    ReplayMismatch {
        /// Index of the recorded transfer.
        index: usize,
        /// The endpoint.
        endpoint: u8,
        /// What differed.
        reason: &'static str,
    },
    /// Replay: the recording file does not parse.
    #[error("malformed recording at line {line}: {reason}")]
    BadRecording {
        /// 1-based line (or record) number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// Any other libusb error.
    #[error("USB error")]
    Rusb(#[source] rusb::Error),
}

impl From<rusb::Error> for UsbError {
    fn from(e: rusb::Error) -> Self {
        match e {
            rusb::Error::Timeout => Self::Timeout,
            rusb::Error::NoDevice => Self::Disconnected,
            rusb::Error::Busy => Self::Busy,
            rusb::Error::Access => Self::Access,
            rusb::Error::Overflow => Self::Overflow,
            rusb::Error::Pipe => Self::Stall,
            rusb::Error::NotFound => Self::NotFound,
            other => Self::Rusb(other),
        }
    }
}

/// Synchronous bulk transfers to one opened device: what a scanner driver needs.
pub trait UsbBackend: Send {
    /// Claims interface `interface` (detaching a kernel driver where the platform allows).
    fn claim_interface(&mut self, interface: u8) -> Result<(), UsbError>;

    /// Releases interface `interface`.
    fn release_interface(&mut self, interface: u8) -> Result<(), UsbError>;

    /// Writes `data` to bulk OUT endpoint `endpoint`; returns the bytes written.
    fn write_bulk(
        &mut self,
        endpoint: u8,
        data: &[u8],
        timeout: Duration,
    ) -> Result<usize, UsbError>;

    /// Reads up to `buf.len()` bytes from bulk IN endpoint `endpoint`; returns the bytes read.
    fn read_bulk(
        &mut self,
        endpoint: u8,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, UsbError>;
}

/// Where a USB device sits and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UsbDeviceInfo {
    /// Bus number.
    pub bus: u8,
    /// Device address on the bus.
    pub address: u8,
    /// idVendor.
    pub vendor_id: u16,
    /// idProduct.
    pub product_id: u16,
}

/// A hotplug notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HotplugEvent {
    /// A device appeared (or was present when monitoring started).
    Arrived(UsbDeviceInfo),
    /// A device went away.
    Left(UsbDeviceInfo),
}

/// A source of hotplug events (rusb's hotplug callbacks, or a script in tests).
pub trait HotplugSource: Send {
    /// The next event, waiting up to `timeout`; `None` when none came.
    fn next_event(&mut self, timeout: Duration) -> Option<HotplugEvent>;
}

/// Opens a device a [`HotplugSource`] announced.
pub trait BackendOpener: Send {
    /// The backend it opens.
    type Backend: UsbBackend;

    /// Opens `device`.
    fn open(&mut self, device: &UsbDeviceInfo) -> Result<Self::Backend, UsbError>;
}

/// [`UsbBackend`] on a rusb device handle.
pub struct RusbBackend {
    handle: rusb::DeviceHandle<rusb::Context>,
}

impl std::fmt::Debug for RusbBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RusbBackend").finish_non_exhaustive()
    }
}

impl RusbBackend {
    /// Opens the device at `device.bus`/`device.address` (checking its ids) in `context`.
    pub fn open(context: &rusb::Context, device: &UsbDeviceInfo) -> Result<Self, UsbError> {
        for d in context.devices()?.iter() {
            if d.bus_number() != device.bus || d.address() != device.address {
                continue;
            }
            let desc = d.device_descriptor()?;
            if desc.vendor_id() != device.vendor_id || desc.product_id() != device.product_id {
                return Err(UsbError::NotFound);
            }
            let handle = d.open()?;
            // Not every platform can detach kernel drivers; claiming reports the real problem.
            let _ = handle.set_auto_detach_kernel_driver(true);
            return Ok(Self { handle });
        }
        Err(UsbError::NotFound)
    }

    /// The attached devices with vendor/product id `id`.
    pub fn find(context: &rusb::Context, id: (u16, u16)) -> Result<Vec<UsbDeviceInfo>, UsbError> {
        let mut out = Vec::new();
        for d in context.devices()?.iter() {
            let desc = d.device_descriptor()?;
            if (desc.vendor_id(), desc.product_id()) == id {
                out.push(UsbDeviceInfo {
                    bus: d.bus_number(),
                    address: d.address(),
                    vendor_id: id.0,
                    product_id: id.1,
                });
            }
        }
        Ok(out)
    }
}

impl UsbBackend for RusbBackend {
    fn claim_interface(&mut self, interface: u8) -> Result<(), UsbError> {
        Ok(self.handle.claim_interface(interface)?)
    }

    fn release_interface(&mut self, interface: u8) -> Result<(), UsbError> {
        Ok(self.handle.release_interface(interface)?)
    }

    fn write_bulk(
        &mut self,
        endpoint: u8,
        data: &[u8],
        timeout: Duration,
    ) -> Result<usize, UsbError> {
        Ok(self.handle.write_bulk(endpoint, data, timeout)?)
    }

    fn read_bulk(
        &mut self,
        endpoint: u8,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, UsbError> {
        Ok(self.handle.read_bulk(endpoint, buf, timeout)?)
    }
}

/// Opens devices with rusb in one shared context.
#[derive(Clone)]
pub struct RusbOpener {
    context: rusb::Context,
}

impl std::fmt::Debug for RusbOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RusbOpener").finish_non_exhaustive()
    }
}

impl RusbOpener {
    /// An opener on `context`.
    pub fn new(context: rusb::Context) -> Self {
        Self { context }
    }
}

impl BackendOpener for RusbOpener {
    type Backend = RusbBackend;

    fn open(&mut self, device: &UsbDeviceInfo) -> Result<RusbBackend, UsbError> {
        RusbBackend::open(&self.context, device)
    }
}

struct Callback {
    tx: mpsc::Sender<HotplugEvent>,
}

fn device_info<T: UsbContext>(device: &rusb::Device<T>) -> Option<UsbDeviceInfo> {
    let desc = device.device_descriptor().ok()?;
    Some(UsbDeviceInfo {
        bus: device.bus_number(),
        address: device.address(),
        vendor_id: desc.vendor_id(),
        product_id: desc.product_id(),
    })
}

impl rusb::Hotplug<rusb::Context> for Callback {
    fn device_arrived(&mut self, device: rusb::Device<rusb::Context>) {
        if let Some(info) = device_info(&device) {
            let _ = self.tx.send(HotplugEvent::Arrived(info));
        }
    }

    fn device_left(&mut self, device: rusb::Device<rusb::Context>) {
        // The descriptor may no longer be readable: report bus and address with the ids
        // unknown (0) in that case; consumers match departures by bus and address.
        let info = device_info(&device).unwrap_or(UsbDeviceInfo {
            bus: device.bus_number(),
            address: device.address(),
            vendor_id: 0,
            product_id: 0,
        });
        let _ = self.tx.send(HotplugEvent::Left(info));
    }
}

/// rusb hotplug for one vendor/product id: devices already attached arrive first
/// (`LIBUSB_HOTPLUG_ENUMERATE`). Where libusb has no hotplug support (some platforms), the
/// attached devices are listed once at creation and no further events come.
pub struct RusbHotplug {
    context: rusb::Context,
    rx: mpsc::Receiver<HotplugEvent>,
    _registration: Option<rusb::Registration<rusb::Context>>,
}

impl std::fmt::Debug for RusbHotplug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RusbHotplug").finish_non_exhaustive()
    }
}

impl RusbHotplug {
    /// Starts watching for devices with id `id` in `context`.
    pub fn new(context: rusb::Context, id: (u16, u16)) -> Result<Self, UsbError> {
        let (tx, rx) = mpsc::channel();
        let registration = if rusb::has_hotplug() {
            let mut builder = rusb::HotplugBuilder::new();
            builder.vendor_id(id.0).product_id(id.1).enumerate(true);
            Some(builder.register(&context, Box::new(Callback { tx }))?)
        } else {
            for d in RusbBackend::find(&context, id)? {
                let _ = tx.send(HotplugEvent::Arrived(d));
            }
            None
        };
        Ok(Self {
            context,
            rx,
            _registration: registration,
        })
    }
}

impl HotplugSource for RusbHotplug {
    fn next_event(&mut self, timeout: Duration) -> Option<HotplugEvent> {
        if let Ok(e) = self.rx.try_recv() {
            return Some(e);
        }
        if self._registration.is_some() {
            // Hotplug callbacks run inside libusb's event handling.
            let _ = self.context.handle_events(Some(timeout));
            self.rx.try_recv().ok()
        } else {
            std::thread::sleep(timeout.min(Duration::from_millis(50)));
            None
        }
    }
}
