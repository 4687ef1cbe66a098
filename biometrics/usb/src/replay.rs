//! Replaying recorded USB traffic at the [`UsbBackend`] boundary, so drivers are checked
//! without the device.
//!
//! Two recording formats are read:
//! - **umockdev ioctl logs** (`capture.ioctl`): one `USBDEVFS_REAPURB[NDELAY] ret type endpoint
//!   status flags buffer_length actual_length <field> hex` line per completed URB (type 1
//!   interrupt, 3 bulk; endpoint in decimal, bit 7 set for IN); other ioctls, `@DEV` lines and
//!   `#` comments are skipped.
//! - **usbmon pcapng** (`capture.pcapng`, Wireshark): enhanced packet blocks of link type 220
//!   (`LINKTYPE_USB_LINUX_MMAPPED`, 64-byte usbmon header) or 189 (48-byte header); OUT data is
//!   taken from submissions (`S`), IN data from completions (`C`), bulk and interrupt only.
//!
//! Replay rules: transfers are matched **per endpoint, in recorded order** (a synchronous
//! driver issues a read after the writes that precede its completion on the bus, while the log
//! lists URBs by completion, so ordering across endpoints is not enforced). A write must carry
//! exactly the recorded bytes ([`UsbError::ReplayMismatch`] otherwise, without the data); a
//! read returns the next recorded IN data on that endpoint ([`UsbError::Overflow`] if the
//! buffer is smaller, [`UsbError::Timeout`] when the recording has no more, as a device with
//! nothing to send). [`ReplayBackend::finish`] reports transfers the driver never made.

use std::time::Duration;

use crate::backend::{UsbBackend, UsbDeviceInfo, UsbError};

/// One recorded bulk or interrupt transfer.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordedTransfer {
    /// Endpoint address (bit 7 set for IN).
    pub endpoint: u8,
    /// The bytes sent (OUT) or received (IN).
    pub data: Vec<u8>,
    /// Line (ioctl log) or block (pcapng) it came from, 1-based.
    pub origin: usize,
}

impl std::fmt::Debug for RecordedTransfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordedTransfer")
            .field("endpoint", &self.endpoint)
            .field("len", &self.data.len())
            .field("origin", &self.origin)
            .finish()
    }
}

/// A recording: the transfers in the order the file lists them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// The transfers.
    pub transfers: Vec<RecordedTransfer>,
}

fn hex(s: &str, line: usize) -> Result<Vec<u8>, UsbError> {
    let bad = UsbError::BadRecording {
        line,
        reason: "bad hex data",
    };
    if !s.len().is_multiple_of(2) {
        return Err(bad);
    }
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or(bad)
}

impl Recording {
    /// Parses a umockdev ioctl log.
    pub fn from_umockdev_ioctl(text: &str) -> Result<Self, UsbError> {
        let mut transfers = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') || l.starts_with('@') {
                continue;
            }
            let t: Vec<&str> = l.split_whitespace().collect();
            let Some((&name, fields)) = t.split_first() else {
                continue;
            };
            if name != "USBDEVFS_REAPURB" && name != "USBDEVFS_REAPURBNDELAY" {
                continue;
            }
            let num = |k: usize, reason| {
                fields
                    .get(k)
                    .and_then(|v| v.parse::<u32>().ok())
                    .ok_or(UsbError::BadRecording { line, reason })
            };
            let kind = num(1, "missing URB type")?;
            let endpoint =
                u8::try_from(num(2, "missing endpoint")?).map_err(|_| UsbError::BadRecording {
                    line,
                    reason: "endpoint out of range",
                })?;
            let status = num(3, "missing status")?;
            let actual = usize::try_from(num(6, "missing actual length")?).unwrap_or(usize::MAX);
            if kind != 1 && kind != 3 {
                continue; // control and isochronous URBs are not replayed
            }
            if status != 0 {
                continue; // failed or cancelled URBs carried nothing
            }
            let data = match fields.get(8) {
                Some(h) => hex(h, line)?,
                None => Vec::new(),
            };
            if endpoint & 0x80 != 0 && data.len() != actual {
                return Err(UsbError::BadRecording {
                    line,
                    reason: "IN data length differs from the actual length",
                });
            }
            transfers.push(RecordedTransfer {
                endpoint,
                data,
                origin: line,
            });
        }
        Ok(Self { transfers })
    }

    /// Parses a usbmon capture in pcapng format (Wireshark).
    pub fn from_usbmon_pcapng(bytes: &[u8]) -> Result<Self, UsbError> {
        let mut transfers = Vec::new();
        let mut pos = 0usize;
        let mut block = 0usize;
        let mut little = true;
        let mut link_types: Vec<u16> = Vec::new();
        let bad = |block, reason| UsbError::BadRecording {
            line: block,
            reason,
        };
        while pos < bytes.len() {
            block += 1;
            let head = bytes
                .get(pos..pos + 12)
                .ok_or(bad(block, "truncated block header"))?;
            let mut btype = [0u8; 4];
            btype.copy_from_slice(head.get(0..4).unwrap_or(&[0; 4]));
            if btype == [0x0A, 0x0D, 0x0D, 0x0A] {
                // Section header: the byte-order magic decides the endianness.
                little = head.get(8..12) == Some(&[0x4D, 0x3C, 0x2B, 0x1A][..]);
                link_types.clear();
            }
            let u32_at = |b: &[u8], at: usize| -> Option<u32> {
                let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
                Some(if little {
                    u32::from_le_bytes(s)
                } else {
                    u32::from_be_bytes(s)
                })
            };
            let u16_at = |b: &[u8], at: usize| -> Option<u16> {
                let s: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
                Some(if little {
                    u16::from_le_bytes(s)
                } else {
                    u16::from_be_bytes(s)
                })
            };
            let kind = u32_at(head, 0).ok_or(bad(block, "truncated block"))?;
            let len = usize::try_from(u32_at(head, 4).ok_or(bad(block, "truncated block"))?)
                .unwrap_or(usize::MAX);
            if len < 12 || !len.is_multiple_of(4) {
                return Err(bad(block, "bad block length"));
            }
            let body = bytes
                .get(pos..pos.saturating_add(len))
                .ok_or(bad(block, "truncated block"))?;
            match kind {
                1 => link_types.push(u16_at(body, 8).ok_or(bad(block, "truncated IDB"))?),
                6 => {
                    let iface =
                        usize::try_from(u32_at(body, 8).unwrap_or(u32::MAX)).unwrap_or(usize::MAX);
                    let captured = usize::try_from(u32_at(body, 20).unwrap_or(0)).unwrap_or(0);
                    let pkt = body
                        .get(28..28usize.saturating_add(captured))
                        .ok_or(bad(block, "truncated packet"))?;
                    let header = match link_types.get(iface) {
                        Some(220) => Some(64),
                        Some(189) => Some(48),
                        _ => None, // not usbmon: skipped
                    };
                    if let Some(header) = header
                        && let Some(t) = usbmon_transfer(pkt, header, little, block)?
                    {
                        transfers.push(t);
                    }
                }
                _ => {}
            }
            pos += len;
        }
        Ok(Self { transfers })
    }
}

/// One usbmon record → a transfer, when it carries data the replay needs.
fn usbmon_transfer(
    pkt: &[u8],
    header: usize,
    little: bool,
    block: usize,
) -> Result<Option<RecordedTransfer>, UsbError> {
    let h = pkt.get(..header).ok_or(UsbError::BadRecording {
        line: block,
        reason: "truncated usbmon header",
    })?;
    let (Some(&event), Some(&xfer), Some(&endpoint)) = (h.get(8), h.get(9), h.get(10)) else {
        return Ok(None);
    };
    if xfer != 1 && xfer != 3 {
        return Ok(None);
    }
    let status: [u8; 4] = h
        .get(28..32)
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; 4]);
    let status = if little {
        i32::from_le_bytes(status)
    } else {
        i32::from_be_bytes(status)
    };
    let data = pkt.get(header..).unwrap_or_default();
    let is_in = endpoint & 0x80 != 0;
    let wanted = (is_in && event == b'C' && status == 0) || (!is_in && event == b'S');
    if !wanted {
        return Ok(None);
    }
    Ok(Some(RecordedTransfer {
        endpoint,
        data: data.to_vec(),
        origin: block,
    }))
}

impl UsbDeviceInfo {
    /// The device a umockdev description (`device` file) starts with: its `N:` line
    /// `bus/usb/BBB/DDD=<descriptors hex>` gives bus, address and the ids.
    pub fn from_umockdev(text: &str) -> Result<Self, UsbError> {
        for (i, l) in text.lines().enumerate() {
            let Some(rest) = l.strip_prefix("N: bus/usb/") else {
                continue;
            };
            let bad = |reason| UsbError::BadRecording {
                line: i + 1,
                reason,
            };
            let (path, desc) = rest.split_once('=').ok_or(bad("no descriptors"))?;
            let (bus, dev) = path.split_once('/').ok_or(bad("bad device path"))?;
            let bus = bus.parse().map_err(|_| bad("bad bus number"))?;
            let address = dev.parse().map_err(|_| bad("bad device number"))?;
            let d = hex(desc.get(..36).ok_or(bad("short device descriptor"))?, i + 1)?;
            let id = |at: usize| {
                d.get(at..at + 2)
                    .and_then(|b| <[u8; 2]>::try_from(b).ok())
                    .map(u16::from_le_bytes)
                    .ok_or(bad("short device descriptor"))
            };
            if d.get(1) != Some(&1) {
                return Err(bad("not a device descriptor"));
            }
            return Ok(Self {
                bus,
                address,
                vendor_id: id(8)?,
                product_id: id(10)?,
            });
        }
        Err(UsbError::BadRecording {
            line: 0,
            reason: "no device line",
        })
    }
}

/// A [`UsbBackend`] that plays a [`Recording`] back.
#[derive(Debug)]
pub struct ReplayBackend {
    transfers: Vec<RecordedTransfer>,
    used: Vec<bool>,
    claimed: Vec<u8>,
}

impl ReplayBackend {
    /// A backend replaying `recording`.
    pub fn new(recording: Recording) -> Self {
        let used = vec![false; recording.transfers.len()];
        Self {
            transfers: recording.transfers,
            used,
            claimed: Vec::new(),
        }
    }

    /// Recorded transfers not yet replayed.
    pub fn remaining(&self) -> usize {
        self.used.iter().filter(|u| !**u).count()
    }

    /// Succeeds when the driver made every recorded transfer.
    pub fn finish(&self) -> Result<(), UsbError> {
        match self.used.iter().position(|u| !*u) {
            None => Ok(()),
            Some(index) => Err(UsbError::ReplayMismatch {
                index,
                endpoint: self.transfers.get(index).map_or(0, |t| t.endpoint),
                reason: "recorded transfer never made",
            }),
        }
    }

    fn next_on(&self, endpoint: u8) -> Option<usize> {
        self.transfers
            .iter()
            .zip(&self.used)
            .position(|(t, u)| !*u && t.endpoint == endpoint)
    }
}

impl UsbBackend for ReplayBackend {
    fn claim_interface(&mut self, interface: u8) -> Result<(), UsbError> {
        if self.claimed.contains(&interface) {
            return Err(UsbError::Busy);
        }
        self.claimed.push(interface);
        Ok(())
    }

    fn release_interface(&mut self, interface: u8) -> Result<(), UsbError> {
        self.claimed.retain(|i| *i != interface);
        Ok(())
    }

    fn write_bulk(&mut self, endpoint: u8, data: &[u8], _: Duration) -> Result<usize, UsbError> {
        if endpoint & 0x80 != 0 {
            return Err(UsbError::ReplayMismatch {
                index: 0,
                endpoint,
                reason: "write to an IN endpoint",
            });
        }
        let index = self.next_on(endpoint).ok_or(UsbError::ReplayMismatch {
            index: self.transfers.len(),
            endpoint,
            reason: "no recorded transfer left on this endpoint",
        })?;
        if self.transfers.get(index).map(|t| t.data.as_slice()) != Some(data) {
            return Err(UsbError::ReplayMismatch {
                index,
                endpoint,
                reason: "data differs from the recording",
            });
        }
        if let Some(u) = self.used.get_mut(index) {
            *u = true;
        }
        Ok(data.len())
    }

    fn read_bulk(&mut self, endpoint: u8, buf: &mut [u8], _: Duration) -> Result<usize, UsbError> {
        if endpoint & 0x80 == 0 {
            return Err(UsbError::ReplayMismatch {
                index: 0,
                endpoint,
                reason: "read from an OUT endpoint",
            });
        }
        let index = self.next_on(endpoint).ok_or(UsbError::Timeout)?;
        let data = self
            .transfers
            .get(index)
            .map(|t| t.data.as_slice())
            .unwrap_or_default();
        let dst = buf.get_mut(..data.len()).ok_or(UsbError::Overflow)?;
        dst.copy_from_slice(data);
        if let Some(u) = self.used.get_mut(index) {
            *u = true;
        }
        Ok(data.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "@DEV /dev/bus/usb/003/004\n\
        USBDEVFS_GET_CAPABILITIES 0 7D000000\n\
        USBDEVFS_REAPURBNDELAY 0 3 2 0 0 2 2 0 8001\n\
        # a comment\n \
        USBDEVFS_REAPURBNDELAY 0 3 129 0 0 4 3 0 0A0B0C\n\
        USBDEVFS_REAPURBNDELAY 0 3 2 0 0 2 2 0 8104\n";

    #[test]
    fn parses_and_replays_per_endpoint() {
        let rec = Recording::from_umockdev_ioctl(LOG).unwrap();
        assert_eq!(rec.transfers.len(), 3);
        assert_eq!(rec.transfers[1].endpoint, 0x81);
        let mut b = ReplayBackend::new(rec);
        let t = Duration::from_millis(10);
        b.claim_interface(0).unwrap();
        assert!(matches!(b.claim_interface(0), Err(UsbError::Busy)));
        assert_eq!(b.write_bulk(2, &[0x80, 0x01], t).unwrap(), 2);
        // Writes may run ahead of reads recorded before them.
        assert_eq!(b.write_bulk(2, &[0x81, 0x04], t).unwrap(), 2);
        let mut small = [0u8; 2];
        assert!(matches!(
            b.read_bulk(0x81, &mut small, t),
            Err(UsbError::Overflow)
        ));
        assert!(b.finish().is_err());
        let mut buf = [0u8; 8];
        assert_eq!(b.read_bulk(0x81, &mut buf, t).unwrap(), 3);
        assert_eq!(&buf[..3], &[10, 11, 12]);
        assert!(matches!(
            b.read_bulk(0x81, &mut buf, t),
            Err(UsbError::Timeout)
        ));
        assert!(matches!(
            b.write_bulk(2, &[0x80, 0x01], t),
            Err(UsbError::ReplayMismatch { .. })
        ));
        b.finish().unwrap();
    }

    #[test]
    fn wrong_data_is_a_mismatch() {
        let mut b = ReplayBackend::new(Recording::from_umockdev_ioctl(LOG).unwrap());
        let e = b.write_bulk(2, &[0x80, 0x02], Duration::ZERO).unwrap_err();
        assert!(matches!(
            e,
            UsbError::ReplayMismatch {
                index: 0,
                endpoint: 2,
                ..
            }
        ));
    }

    #[test]
    fn malformed_logs_are_rejected() {
        for bad in [
            "USBDEVFS_REAPURBNDELAY 0 3 129 0 0 4 3 0 0A0B",
            "USBDEVFS_REAPURBNDELAY 0 3 2 0 0 2 2 0 80G1",
            "USBDEVFS_REAPURBNDELAY 0 3",
            "USBDEVFS_REAPURBNDELAY 0 3 300 0 0 2 2 0 8001",
        ] {
            assert!(
                matches!(
                    Recording::from_umockdev_ioctl(bad),
                    Err(UsbError::BadRecording { line: 1, .. })
                ),
                "{bad}"
            );
        }
        assert!(Recording::from_usbmon_pcapng(&[1, 2, 3]).is_err());
        assert_eq!(
            Recording::from_usbmon_pcapng(&[]).unwrap().transfers.len(),
            0
        );
    }

    #[test]
    fn device_line_gives_ids() {
        let d = UsbDeviceInfo::from_umockdev(
            "P: /devices/x\nN: bus/usb/003/004=12011001FFFFFF08FF0831570000000100010902\n",
        )
        .unwrap();
        assert_eq!(
            (d.bus, d.address, d.vendor_id, d.product_id),
            (3, 4, 0x08FF, 0x5731)
        );
    }
}
