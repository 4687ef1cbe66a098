//! Fault injection: any simulated card ([`SimCard`]: a [`VirtualCard`], a
//! [`crate::national::NationalCard`]) behind [`Faults`], as [`SimulatedCard`].
//!
//! [`SimulatedCard`] is what both the in-process [`crate::SimulatedTransport`] and the vpcd client
//! ([`crate::VpcdSlot`]) drive, so a fault behaves the same in process and through pcscd:
//!
//! | Fault | Effect |
//! |-------|--------|
//! | `remove_after: Some(n)` | the first `n` APDUs are answered, then the card is removed: every later transmit fails (vpcd: the connection closes) until [`SimulatedCard::insert`] |
//! | `delay` | each answer waits this long |
//! | `force_sw` | the card is not asked: the answer is only this status word, for every command or for one INS |
//! | `chunk: Some(k)` | answers longer than `k` bytes come in `61XX` parts of `k` bytes, served by GET RESPONSE |

use std::fmt::Write as _;
use std::time::Duration;

use shenas_apdu::StatusWord;

use crate::{SimCard, SimulatorError, VirtualCard};

/// A status word answered instead of the card's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForcedStatus {
    /// The status word to answer.
    pub sw: StatusWord,
    /// Only commands with this INS; `None`: every command.
    pub ins: Option<u8>,
}

/// Faults to inject; the default injects none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Remove the card after this many APDUs (counted from insertion).
    pub remove_after: Option<u64>,
    /// Delay every answer by this much.
    pub delay: Duration,
    /// Answer this status word instead of processing the command.
    pub force_sw: Option<ForcedStatus>,
    /// Split answers into `61XX` parts of this many bytes (0 or `None`: no split).
    pub chunk: Option<usize>,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// True when no fault is set.
    pub fn is_none(&self) -> bool {
        *self == Self::default()
    }
}

/// A simulated card (by default a [`VirtualCard`]) with injected [`Faults`] and a presence flag.
/// No security: for tests and demos only.
#[derive(Debug)]
pub struct SimulatedCard<C: SimCard = VirtualCard> {
    card: C,
    faults: Faults,
    apdus: u64,
    present: bool,
}

impl<C: SimCard> SimulatedCard<C> {
    /// A present card with these faults.
    pub fn new(mut card: C, faults: Faults) -> Self {
        card.set_response_chunk(faults.chunk);
        Self {
            card,
            faults,
            apdus: 0,
            present: true,
        }
    }

    /// Sends one command APDU; the answer is data ‖ SW1 SW2.
    ///
    /// Fails with [`SimulatorError::CardRemoved`] once the card is removed (by
    /// [`SimulatedCard::remove`] or by the `remove_after` fault).
    pub fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, SimulatorError> {
        if self.faults.remove_after.is_some_and(|n| self.apdus >= n) {
            self.remove();
        }
        if !self.present {
            return Err(SimulatorError::CardRemoved);
        }
        log_command(command);
        let ins = command.get(1).copied();
        let response = match self.faults.force_sw {
            Some(forced) if forced.ins.is_none() || forced.ins == ins => {
                forced.sw.to_bytes().to_vec()
            }
            _ => self.card.process(command),
        };
        self.apdus = self.apdus.saturating_add(1);
        if self.faults.remove_after.is_some_and(|n| self.apdus >= n) {
            tracing::info!(
                apdus = self.apdus,
                "fault: card removed after its last allowed APDU"
            );
            self.remove();
        }
        if !self.faults.delay.is_zero() {
            std::thread::sleep(self.faults.delay);
        }
        log_response(&response);
        Ok(response)
    }

    /// True until removed.
    pub const fn is_present(&self) -> bool {
        self.present
    }

    /// Removes the card: it powers off and every later transmit fails.
    pub fn remove(&mut self) {
        self.present = false;
        self.card.power_off();
    }

    /// Inserts the card again (unpowered; the APDU count for `remove_after` starts over).
    pub fn insert(&mut self) {
        self.present = true;
        self.apdus = 0;
        self.card.power_off();
    }

    /// Powers the card on (volatile state dropped).
    pub fn power_on(&mut self) {
        self.card.power_on();
    }

    /// Powers the card off (volatile state dropped).
    pub fn power_off(&mut self) {
        self.card.power_off();
    }

    /// Warm reset; returns the ATR.
    pub fn reset(&mut self) -> Vec<u8> {
        self.card.reset();
        self.card.atr().to_vec()
    }

    /// The ATR.
    pub fn atr(&self) -> &[u8] {
        self.card.atr()
    }

    /// The card, to inspect what was written.
    pub const fn card(&self) -> &C {
        &self.card
    }

    /// The card, mutably.
    pub const fn card_mut(&mut self) -> &mut C {
        &mut self.card
    }

    /// Gives the card back.
    pub fn into_card(self) -> C {
        self.card
    }

    /// The same card and faults behind a `Box<dyn SimCard>`, so that cards of different types
    /// can be served side by side (one vpcd slot each).
    pub fn boxed(self) -> SimulatedCard<Box<dyn SimCard>>
    where
        C: 'static,
    {
        SimulatedCard {
            card: Box::new(self.card),
            faults: self.faults,
            apdus: self.apdus,
            present: self.present,
        }
    }

    /// The faults in force.
    pub const fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Changes the faults (the APDU count is kept).
    pub fn set_faults(&mut self, faults: Faults) {
        self.card.set_response_chunk(faults.chunk);
        self.faults = faults;
    }

    /// APDUs transmitted since insertion.
    pub const fn apdu_count(&self) -> u64 {
        self.apdus
    }
}

/// Logs the header at DEBUG, the whole command only at TRACE (it may carry a PIN).
fn log_command(command: &[u8]) {
    match command {
        [cla, ins, p1, p2, ..] => tracing::debug!(
            cla = format_args!("{cla:02X}"),
            ins = format_args!("{ins:02X}"),
            p1 = format_args!("{p1:02X}"),
            p2 = format_args!("{p2:02X}"),
            len = command.len(),
            "command"
        ),
        _ => tracing::debug!(len = command.len(), "short command"),
    }
    // PIN-bearing commands (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER) show their
    // header only, even at TRACE: a PIN never reaches a log.
    match command {
        [_, 0x20 | 0x21 | 0x24 | 0x2C, ..] => {
            let header = command.get(..4).unwrap_or_default();
            tracing::trace!(header = %hex(header), "command bytes (PIN data withheld)");
        }
        _ => tracing::trace!(bytes = %hex(command), "command bytes"),
    }
}

/// Logs the status word at DEBUG, the whole response only at TRACE.
fn log_response(response: &[u8]) {
    if let [.., sw1, sw2] = response {
        tracing::debug!(
            sw = format_args!("{sw1:02X}{sw2:02X}"),
            len = response.len(),
            "response"
        );
    }
    tracing::trace!(bytes = %hex(response), "response bytes");
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{Df, Ef};

    fn sim(faults: Faults) -> SimulatedCard {
        SimulatedCard::new(
            VirtualCard::new(Df::mf().with_ef(Ef::new(0x0101, vec![7; 600]))),
            faults,
        )
    }

    #[test]
    fn removal_after_n_apdus() {
        let mut s = sim(Faults {
            remove_after: Some(2),
            ..Faults::none()
        });
        assert!(s.transmit(&[0, 0xA4, 0, 0, 2, 1, 1]).is_ok());
        assert!(s.transmit(&[0, 0xB0, 0, 0, 1]).is_ok());
        assert!(!s.is_present());
        assert!(matches!(
            s.transmit(&[0, 0xB0, 0, 0, 1]),
            Err(SimulatorError::CardRemoved)
        ));
        s.insert();
        assert_eq!(
            s.transmit(&[0, 0xB0, 0, 0, 1]).ok(),
            Some(vec![0x69, 0x86]),
            "selection lost"
        );
    }

    #[test]
    fn removal_after_zero_apdus() {
        let mut s = sim(Faults {
            remove_after: Some(0),
            ..Faults::none()
        });
        assert!(matches!(
            s.transmit(&[0, 0xB0, 0, 0, 1]),
            Err(SimulatorError::CardRemoved)
        ));
    }

    #[test]
    fn forced_status_for_one_ins() {
        let forced = ForcedStatus {
            sw: StatusWord::new(0x6F00),
            ins: Some(0xB0),
        };
        let mut s = sim(Faults {
            force_sw: Some(forced),
            ..Faults::none()
        });
        assert_eq!(
            s.transmit(&[0, 0xA4, 0, 0x0C, 2, 1, 1]).ok(),
            Some(vec![0x90, 0])
        );
        assert_eq!(s.transmit(&[0, 0xB0, 0, 0, 1]).ok(), Some(vec![0x6F, 0]));
        s.set_faults(Faults {
            force_sw: Some(ForcedStatus {
                ins: None,
                ..forced
            }),
            ..Faults::none()
        });
        assert_eq!(
            s.transmit(&[0, 0xA4, 0, 0x0C, 2, 1, 1]).ok(),
            Some(vec![0x6F, 0])
        );
    }

    #[test]
    fn delay_and_chunks() {
        let mut s = sim(Faults {
            delay: Duration::from_millis(20),
            chunk: Some(100),
            ..Faults::none()
        });
        assert!(!s.faults().is_none());
        let start = std::time::Instant::now();
        assert_eq!(
            s.transmit(&[0, 0xA4, 0, 0x0C, 2, 1, 1]).ok(),
            Some(vec![0x90, 0])
        );
        assert!(start.elapsed() >= Duration::from_millis(20));
        let first = s.transmit(&[0, 0xB0, 0, 0, 0]).unwrap_or_default();
        assert_eq!(first.len(), 102);
        assert_eq!(first.get(100..), Some(&[0x61, 156][..]));
        assert_eq!(s.apdu_count(), 2);
    }

    /// A writer into a shared buffer, for capturing logs.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn debug_logs_show_headers_not_data() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let mut s = sim(Faults::none());
        tracing::subscriber::with_default(subscriber, || {
            // A VERIFY with a PIN-like payload, and a read of the EF's content.
            let _ = s.transmit(&[0, 0x20, 0, 0x81, 6, 0x31, 0x39, 0x37, 0x33, 0x35, 0x37]);
            let _ = s.transmit(&[0, 0xA4, 0, 0x0C, 2, 1, 1]);
            let _ = s.transmit(&[0, 0xB0, 0, 0, 4]);
        });
        let logs = captured
            .0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        assert!(
            logs.contains("ins=20") && logs.contains("sw=6D00"),
            "{logs}"
        );
        assert!(
            !logs.contains("313937333537") && !logs.contains("07070707"),
            "{logs}"
        );
    }

    #[test]
    fn trace_logs_withhold_pins() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let mut s = sim(Faults::none());
        tracing::subscriber::with_default(subscriber, || {
            let _ = s.transmit(&[0, 0x20, 0, 0x81, 6, 0x31, 0x39, 0x37, 0x33, 0x35, 0x37]);
            let _ = s.transmit(&[0, 0xA4, 0, 0x0C, 2, 1, 1]);
        });
        let logs = captured
            .0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        assert!(
            logs.contains("PIN data withheld") && logs.contains("00A4000C020101"),
            "{logs}"
        );
        assert!(!logs.contains("313937333537"), "{logs}");
    }

    #[test]
    fn hex_is_upper_case() {
        assert_eq!(hex(&[0x0A, 0xFF]), "0AFF");
    }
}
