//! A vpcd client: serves a [`SimulatedCard`] to pcscd through the vsmartcard virtual reader.
//!
//! pcscd's vpcd driver listens on TCP port 35963 + slot; the card is the client. Connected means
//! inserted, closed means removed. Both directions frame each message as a 2-byte big-endian
//! length and a payload. A 1-byte payload is a control command: `00` power off, `01` power on,
//! `02` reset (no reply to these), `04` get ATR (reply: the ATR). A longer payload is a command
//! APDU; the reply is the response APDU.
//!
//! The socket has `TCP_NODELAY`, `TCP_QUICKACK` is set again after every read (Linux re-arms
//! delayed ACKs), and each reply goes out in one write. Without this, every APDU waits ~40 ms
//! for a delayed ACK against vpcd's two writes (the "44 ms trap").
//!
//! When pcscd goes away (connection refused or closed) the slot retries every
//! [`VpcdConfig::retry`] and the card is power-cycled, unless the card was removed. Each slot is
//! one std thread ([`VpcdSlot::spawn`]), controlled through a [`SlotControl`].
//!
//! **No security**: anyone who reaches vpcd's port can insert a card. For tests and demos only.

use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::SockRef;

use crate::{SimCard, SimulatedCard, SimulatorError, VirtualCard};

/// vpcd's default host.
pub const VPCD_DEFAULT_HOST: &str = "127.0.0.1";
/// vpcd's port for slot 0; slot `n` listens on this plus `n`.
pub const VPCD_BASE_PORT: u16 = 35_963;

/// How often the socket read wakes up to look at control commands.
const POLL: Duration = Duration::from_millis(20);
/// How long a reply write may block before the connection counts as lost.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Where to find vpcd and how to behave toward it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpcdConfig {
    /// vpcd's host (default `127.0.0.1`).
    pub host: String,
    /// The port of slot 0 (default 35963).
    pub base_port: u16,
    /// The slot (vpcd on Debian offers 0 and 1).
    pub slot: u8,
    /// Delay between connection attempts (default 100 ms).
    pub retry: Duration,
}

impl VpcdConfig {
    /// The default host and port, this slot.
    pub fn new(slot: u8) -> Self {
        Self {
            host: VPCD_DEFAULT_HOST.to_owned(),
            base_port: VPCD_BASE_PORT,
            slot,
            retry: Duration::from_millis(100),
        }
    }

    /// The TCP port of this slot.
    pub fn port(&self) -> u16 {
        self.base_port.saturating_add(u16::from(self.slot))
    }
}

/// What happened on a slot; `Display` gives the line `shenas-sim` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotEvent {
    /// The slot thread runs (`ready slot=0 port=35963`).
    Ready {
        /// The slot.
        slot: u8,
        /// Its TCP port.
        port: u16,
    },
    /// The card is inserted (`inserted slot=0`): it will connect to vpcd.
    Inserted {
        /// The slot.
        slot: u8,
    },
    /// Connected to vpcd: pcscd sees the card (`connected slot=0`).
    Connected {
        /// The slot.
        slot: u8,
    },
    /// vpcd closed the connection (pcscd stopped); reconnecting (`disconnected slot=0`).
    Disconnected {
        /// The slot.
        slot: u8,
    },
    /// The card was removed, on command or by the `remove_after` fault (`removed slot=0`).
    Removed {
        /// The slot.
        slot: u8,
    },
    /// The card was reset on command (`reset slot=0`).
    Reset {
        /// The slot.
        slot: u8,
    },
    /// The slot thread ended (`stopped slot=0`).
    Stopped {
        /// The slot.
        slot: u8,
    },
}

impl fmt::Display for SlotEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ready { slot, port } => write!(f, "ready slot={slot} port={port}"),
            Self::Inserted { slot } => write!(f, "inserted slot={slot}"),
            Self::Connected { slot } => write!(f, "connected slot={slot}"),
            Self::Disconnected { slot } => write!(f, "disconnected slot={slot}"),
            Self::Removed { slot } => write!(f, "removed slot={slot}"),
            Self::Reset { slot } => write!(f, "reset slot={slot}"),
            Self::Stopped { slot } => write!(f, "stopped slot={slot}"),
        }
    }
}

/// A command to a slot thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Control {
    Insert,
    Remove,
    Reset,
    Stop,
}

/// A cloneable handle that steers a slot thread from anywhere.
#[derive(Clone, Debug)]
pub struct SlotControl {
    slot: u8,
    tx: Sender<Control>,
}

impl SlotControl {
    /// The slot this handle steers.
    pub const fn slot(&self) -> u8 {
        self.slot
    }
    /// Inserts the card (connects to vpcd). Ignored when the thread has ended.
    pub fn insert(&self) {
        let _ = self.tx.send(Control::Insert);
    }
    /// Removes the card (closes the connection).
    pub fn remove(&self) {
        let _ = self.tx.send(Control::Remove);
    }
    /// Resets the card on its side (volatile state dropped; pcscd is not told).
    pub fn reset(&self) {
        let _ = self.tx.send(Control::Reset);
    }
    /// Ends the slot thread (the card is removed).
    pub fn stop(&self) {
        let _ = self.tx.send(Control::Stop);
    }
}

/// One vpcd slot served by a thread, for any simulated card (by default a [`VirtualCard`]).
/// Dropping it stops the thread.
#[derive(Debug)]
pub struct VpcdSlot<C: SimCard + 'static = VirtualCard> {
    control: SlotControl,
    thread: Option<JoinHandle<SimulatedCard<C>>>,
}

impl<C: SimCard + 'static> VpcdSlot<C> {
    /// Starts a thread that serves `card` on this slot, sending [`SlotEvent`]s to `events`.
    ///
    /// A card that is present ([`SimulatedCard::is_present`]) connects at once; a removed one
    /// waits for [`SlotControl::insert`].
    pub fn spawn(
        config: VpcdConfig,
        card: SimulatedCard<C>,
        events: Option<Sender<SlotEvent>>,
    ) -> Result<Self, SimulatorError> {
        let (tx, rx) = mpsc::channel();
        let slot = config.slot;
        let link = Link {
            config,
            card,
            rx,
            events,
            stream: None,
            buf: Vec::new(),
            waiting_logged: false,
        };
        let thread = std::thread::Builder::new()
            .name(format!("vpcd-slot-{slot}"))
            .spawn(move || link.run())
            .map_err(SimulatorError::Spawn)?;
        Ok(Self {
            control: SlotControl { slot, tx },
            thread: Some(thread),
        })
    }

    /// A handle to steer this slot.
    pub fn control(&self) -> SlotControl {
        self.control.clone()
    }

    /// Stops the thread and returns the card (to inspect what was written).
    pub fn stop(mut self) -> Option<SimulatedCard<C>> {
        self.control.stop();
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl<C: SimCard + 'static> Drop for VpcdSlot<C> {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.control.stop();
            let _ = thread.join();
        }
    }
}

/// The slot thread's state.
struct Link<C: SimCard> {
    config: VpcdConfig,
    card: SimulatedCard<C>,
    rx: Receiver<Control>,
    events: Option<Sender<SlotEvent>>,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    waiting_logged: bool,
}

/// Whether the thread goes on.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

impl<C: SimCard> Link<C> {
    fn slot(&self) -> u8 {
        self.config.slot
    }

    fn emit(&self, event: SlotEvent) {
        tracing::info!(%event, "slot event");
        if let Some(events) = &self.events {
            let _ = events.send(event);
        }
    }

    fn run(mut self) -> SimulatedCard<C> {
        let slot = self.slot();
        self.emit(SlotEvent::Ready {
            slot,
            port: self.config.port(),
        });
        if self.card.is_present() {
            self.emit(SlotEvent::Inserted { slot });
        }
        loop {
            if self.drain_controls() == Flow::Stop {
                break;
            }
            if !self.card.is_present() {
                if self.wait_control(self.config.retry) == Flow::Stop {
                    break;
                }
                continue;
            }
            if self.stream.is_none() {
                if let Err(e) = self.connect() {
                    if !self.waiting_logged {
                        tracing::info!(slot, port = self.config.port(), error = %e, "waiting for vpcd");
                        self.waiting_logged = true;
                    }
                    if self.wait_control(self.config.retry) == Flow::Stop {
                        break;
                    }
                }
                continue;
            }
            self.serve_once();
        }
        self.close();
        self.emit(SlotEvent::Stopped { slot });
        self.card
    }

    /// Handles queued control commands without blocking.
    fn drain_controls(&mut self) -> Flow {
        loop {
            match self.rx.try_recv() {
                Ok(c) => {
                    if self.control(c) == Flow::Stop {
                        return Flow::Stop;
                    }
                }
                Err(TryRecvError::Empty) => return Flow::Continue,
                Err(TryRecvError::Disconnected) => return Flow::Stop,
            }
        }
    }

    /// Waits up to `timeout` for a control command.
    fn wait_control(&mut self, timeout: Duration) -> Flow {
        match self.rx.recv_timeout(timeout) {
            Ok(c) => self.control(c),
            Err(RecvTimeoutError::Timeout) => Flow::Continue,
            Err(RecvTimeoutError::Disconnected) => Flow::Stop,
        }
    }

    fn control(&mut self, c: Control) -> Flow {
        let slot = self.slot();
        match c {
            Control::Insert => {
                if !self.card.is_present() {
                    self.card.insert();
                    self.emit(SlotEvent::Inserted { slot });
                }
            }
            Control::Remove => {
                if self.card.is_present() {
                    self.card.remove();
                    self.close();
                    self.emit(SlotEvent::Removed { slot });
                }
            }
            Control::Reset => {
                self.card.reset();
                self.emit(SlotEvent::Reset { slot });
            }
            Control::Stop => {
                self.card.remove();
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    fn close(&mut self) {
        if let Some(stream) = self.stream.take() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        self.buf.clear();
    }

    fn address(&self) -> std::io::Result<SocketAddr> {
        (self.config.host.as_str(), self.config.port())
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::new(ErrorKind::NotFound, "vpcd host has no address"))
    }

    fn connect(&mut self) -> std::io::Result<()> {
        let stream = TcpStream::connect_timeout(&self.address()?, CONNECT_TIMEOUT)?;
        stream.set_nodelay(true)?;
        SockRef::from(&stream).set_tcp_quickack(true)?;
        stream.set_read_timeout(Some(POLL))?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
        // A new connection is a fresh insertion for pcscd: it will power the card on.
        self.card.power_off();
        self.buf.clear();
        self.stream = Some(stream);
        self.waiting_logged = false;
        self.emit(SlotEvent::Connected { slot: self.slot() });
        Ok(())
    }

    /// Lost connection to vpcd: power off and reconnect later.
    fn disconnected(&mut self, why: &dyn fmt::Display) {
        tracing::info!(slot = self.slot(), reason = %why, "vpcd connection lost");
        self.close();
        self.card.power_off();
        self.emit(SlotEvent::Disconnected { slot: self.slot() });
    }

    /// One read from vpcd, then every complete frame it finished.
    fn serve_once(&mut self) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        let mut chunk = [0u8; 8192];
        let read = stream.read(&mut chunk);
        // Linux re-arms delayed ACKs: ask for quick ACKs again after every read.
        let _ = SockRef::from(&*stream).set_tcp_quickack(true);
        match read {
            Ok(0) => self.disconnected(&"closed by vpcd"),
            Ok(n) => {
                self.buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                self.handle_frames();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) => self.disconnected(&e),
        }
    }

    fn handle_frames(&mut self) {
        while let [h, l, rest @ ..] = self.buf.as_slice() {
            let len = usize::from(u16::from_be_bytes([*h, *l]));
            let Some(payload) = rest.get(..len).map(<[u8]>::to_vec) else {
                return;
            };
            self.buf.drain(..len + 2);
            if self.handle_payload(&payload).is_err() || self.stream.is_none() {
                return;
            }
        }
    }

    /// Handles one vpcd message; an error means the connection was closed.
    fn handle_payload(&mut self, payload: &[u8]) -> Result<(), ()> {
        let slot = self.slot();
        match payload {
            [] => Ok(()),
            [0x00] => {
                tracing::debug!(slot, "power off");
                self.card.power_off();
                Ok(())
            }
            [0x01] => {
                tracing::debug!(slot, "power on");
                self.card.power_on();
                Ok(())
            }
            [0x02] => {
                tracing::debug!(slot, "reset");
                self.card.reset();
                Ok(())
            }
            [0x04] => {
                let atr = self.card.atr().to_vec();
                self.reply(&atr)
            }
            [other] => {
                tracing::debug!(slot, control = other, "unknown vpcd control byte");
                Ok(())
            }
            apdu => match self.card.transmit(apdu) {
                Ok(mut response) => {
                    if response.len() > usize::from(u16::MAX) {
                        tracing::warn!(len = response.len(), "response too long for vpcd framing");
                        response = vec![0x6F, 0x00];
                    }
                    self.reply(&response)?;
                    if !self.card.is_present() {
                        self.close();
                        self.emit(SlotEvent::Removed { slot });
                        return Err(());
                    }
                    Ok(())
                }
                Err(_) => {
                    self.close();
                    self.emit(SlotEvent::Removed { slot });
                    Err(())
                }
            },
        }
    }

    /// Sends one framed reply in a single write.
    fn reply(&mut self, payload: &[u8]) -> Result<(), ()> {
        let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
        let mut frame = Vec::with_capacity(payload.len() + 2);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(payload);
        let Some(stream) = self.stream.as_mut() else {
            return Err(());
        };
        match stream.write_all(&frame) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.disconnected(&e);
                Err(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Faults, default_card};
    use std::net::TcpListener;
    use std::time::Instant;

    /// Plays vpcd: listens, accepts the card, sends frames.
    struct FakeVpcd {
        stream: TcpStream,
    }

    impl FakeVpcd {
        fn accept(listener: &TcpListener) -> std::io::Result<Self> {
            let (stream, _) = listener.accept()?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            Ok(Self { stream })
        }

        fn send(&mut self, payload: &[u8]) -> std::io::Result<()> {
            // Like vpcd: length and payload in two writes.
            let len = u16::try_from(payload.len()).unwrap_or(0).to_be_bytes();
            self.stream.write_all(&len)?;
            self.stream.write_all(payload)
        }

        fn recv(&mut self) -> std::io::Result<Vec<u8>> {
            let mut len = [0u8; 2];
            self.stream.read_exact(&mut len)?;
            let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
            self.stream.read_exact(&mut payload)?;
            Ok(payload)
        }

        fn exchange(&mut self, apdu: &[u8]) -> std::io::Result<Vec<u8>> {
            self.send(apdu)?;
            self.recv()
        }
    }

    fn wait_for(rx: &Receiver<SlotEvent>, want: SlotEvent) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(e) if e == want => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    }

    #[test]
    fn serves_a_card_over_the_vpcd_protocol() -> std::io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let config = VpcdConfig {
            base_port: port,
            ..VpcdConfig::new(0)
        };
        let (tx, rx) = mpsc::channel();
        let card = SimulatedCard::new(default_card(), Faults::none());
        let slot = VpcdSlot::spawn(config, card, Some(tx)).map_err(std::io::Error::other)?;
        assert!(wait_for(&rx, SlotEvent::Ready { slot: 0, port }));
        let mut vpcd = FakeVpcd::accept(&listener)?;
        assert!(wait_for(&rx, SlotEvent::Connected { slot: 0 }));

        vpcd.send(&[0x01])?;
        vpcd.send(&[0x04])?;
        assert_eq!(vpcd.recv()?, crate::simulated_atr(true));
        let select = [
            0, 0xA4, 0x04, 0x0C, 8, 0xF0, 0x53, 0x48, 0x45, 0x4E, 0x41, 0x53, 0x01,
        ];
        assert_eq!(vpcd.exchange(&select)?, [0x90, 0]);
        // 50 round trips, timed: far below the 40 ms of a delayed ACK each.
        vpcd.send(&[0x02])?;
        let start = Instant::now();
        let mut answers = 0;
        for _ in 0..50 {
            if vpcd.exchange(&[0x80, 0xCA, 0x5F, 0x5A, 0])? == [0x6E, 0] {
                answers += 1;
            }
        }
        assert_eq!(answers, 50);
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        drop(slot);
        Ok(())
    }

    #[test]
    fn removal_closes_and_insert_reconnects() -> std::io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let config = VpcdConfig {
            base_port: port,
            ..VpcdConfig::new(0)
        };
        let (tx, rx) = mpsc::channel();
        let faults = Faults {
            remove_after: Some(1),
            ..Faults::none()
        };
        let slot = VpcdSlot::spawn(config, SimulatedCard::new(default_card(), faults), Some(tx))
            .map_err(std::io::Error::other)?;
        let mut vpcd = FakeVpcd::accept(&listener)?;
        assert_eq!(
            vpcd.exchange(&[0, 0xCA, 0x5F, 0x5A, 0])?,
            b"SHSIM001\x90\x00"
        );
        assert!(wait_for(&rx, SlotEvent::Removed { slot: 0 }));
        let mut byte = [0u8; 1];
        assert_eq!(
            vpcd.stream.read(&mut byte)?,
            0,
            "the card closed the connection"
        );
        slot.control().insert();
        let mut vpcd = FakeVpcd::accept(&listener)?;
        assert!(wait_for(&rx, SlotEvent::Connected { slot: 0 }));
        assert_eq!(vpcd.exchange(&[0, 0xCA, 0x00, 0x42, 0])?, b"SHENAS\x90\x00");
        // That APDU was again the last one allowed.
        assert!(wait_for(&rx, SlotEvent::Removed { slot: 0 }));
        drop(vpcd);
        slot.control().remove();
        slot.control().insert();
        let vpcd = FakeVpcd::accept(&listener)?;
        assert!(wait_for(&rx, SlotEvent::Connected { slot: 0 }));
        // vpcd goes away (pcscd stopped): the slot reports it and reconnects.
        drop(vpcd);
        assert!(wait_for(&rx, SlotEvent::Disconnected { slot: 0 }));
        let _again = FakeVpcd::accept(&listener)?;
        assert!(wait_for(&rx, SlotEvent::Connected { slot: 0 }));
        let card = slot.stop();
        assert!(card.is_some());
        Ok(())
    }
}
