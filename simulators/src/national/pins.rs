//! The card's PINs and PUK (ISO/IEC 7816-4, 11.5.6 VERIFY, 11.5.7 CHANGE REFERENCE DATA,
//! 11.5.10 RESET RETRY COUNTER), with retry counters that survive power cycles.
//!
//! The card keeps a SHA-256 digest of each PIN, never the digits; the verified flags are
//! volatile (dropped on power off and reset), the counters and digests persistent: in memory
//! for the life of the [`super::NationalCard`], and in a state file when one is given.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use shenas_apdu::StatusWord;
use shenas_cards::profile::{PinKind, PinSpec};

/// A SHA-256 digest of a PIN's digits.
type PinDigest = [u8; 32];

fn digest(spec: &PinSpec, digits: &[u8]) -> PinDigest {
    let mut h = Sha256::new();
    h.update(b"shenas-sim pin\0");
    h.update([spec.reference]);
    h.update(digits);
    h.finalize().into()
}

/// One PIN: its format, digest, counter and (volatile) verified flag.
struct PinState {
    spec: &'static PinSpec,
    digest: PinDigest,
    tries_left: u8,
    verified: bool,
}

/// The persistent part of a PIN, as written to the state file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredPin {
    pub(crate) reference: u8,
    pub(crate) tries_left: u8,
    digest: PinDigest,
}

/// The PINs of a card.
pub(crate) struct Pins {
    pins: Vec<PinState>,
    state_file: Option<PathBuf>,
}

impl fmt::Debug for Pins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counters and flags only; digests stay out.
        let mut list = f.debug_list();
        for p in &self.pins {
            list.entry(&format_args!(
                "{}: {} tries left{}",
                p.spec.kind.as_str(),
                p.tries_left,
                if p.verified { ", verified" } else { "" }
            ));
        }
        list.finish()
    }
}

/// What [`Pins::new`] is given for one PIN.
pub(crate) struct InitialPin<'a> {
    pub(crate) spec: &'static PinSpec,
    pub(crate) digits: &'a [u8],
    pub(crate) tries_left: u8,
}

/// Why the PINs could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PinSetupError {
    /// A PIN does not fit its profile's format (the digits are not shown).
    #[error("the {0} does not fit the profile's PIN format")]
    Format(&'static str),
    /// The state file exists but cannot be read or parsed.
    #[error("cannot read the card state file {path}")]
    StateFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Pins {
    /// The PINs with their initial values; when `state_file` exists, its counters and PIN
    /// digests replace the initial ones (the card was used before).
    pub(crate) fn new(
        initial: &[InitialPin<'_>],
        state_file: Option<PathBuf>,
    ) -> Result<Self, PinSetupError> {
        let mut pins = Vec::with_capacity(initial.len());
        for pin in initial {
            let well_formed = pin.digits.iter().all(u8::is_ascii_digit)
                && (pin.spec.min_digits..=pin.spec.max_digits).contains(&pin.digits.len());
            if !well_formed {
                return Err(PinSetupError::Format(pin.spec.kind.as_str()));
            }
            pins.push(PinState {
                spec: pin.spec,
                digest: digest(pin.spec, pin.digits),
                tries_left: pin.tries_left.min(pin.spec.max_tries),
                verified: false,
            });
        }
        let mut this = Self { pins, state_file };
        if let Some(path) = this.state_file.clone() {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let stored = parse_state(&text).map_err(|source| PinSetupError::StateFile {
                        path: path.clone(),
                        source,
                    })?;
                    this.restore(&stored);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => this.save(),
                Err(source) => return Err(PinSetupError::StateFile { path, source }),
            }
        }
        Ok(this)
    }

    fn restore(&mut self, stored: &[StoredPin]) {
        for s in stored {
            if let Some(p) = self
                .pins
                .iter_mut()
                .find(|p| p.spec.reference == s.reference)
            {
                p.tries_left = s.tries_left.min(p.spec.max_tries);
                p.digest = s.digest;
            }
        }
    }

    /// The persistent state of every PIN.
    pub(crate) fn stored(&self) -> Vec<StoredPin> {
        self.pins
            .iter()
            .map(|p| StoredPin {
                reference: p.spec.reference,
                tries_left: p.tries_left,
                digest: p.digest,
            })
            .collect()
    }

    /// Writes the state file (atomically: a temporary file renamed over it). A simulator
    /// that cannot write its state goes on with the state in memory, and says so in the log.
    fn save(&self) {
        let Some(path) = &self.state_file else {
            return;
        };
        if let Err(e) = write_state(path, &self.stored()) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the card state file");
        }
    }

    /// Drops every verified flag (power off, power on, reset).
    pub(crate) fn drop_verification(&mut self) {
        for p in &mut self.pins {
            p.verified = false;
        }
    }

    fn find(&self, reference: u8) -> Option<&PinState> {
        self.pins.iter().find(|p| p.spec.reference == reference)
    }

    fn find_mut(&mut self, reference: u8) -> Option<&mut PinState> {
        self.pins.iter_mut().find(|p| p.spec.reference == reference)
    }

    /// True when the PIN of this kind is verified in this session.
    pub(crate) fn is_verified(&self, kind: PinKind) -> bool {
        self.pins.iter().any(|p| p.spec.kind == kind && p.verified)
    }

    /// Consumes the verification of a PIN (a signature per SIGN PIN entry).
    pub(crate) fn consume(&mut self, kind: PinKind) {
        for p in self.pins.iter_mut().filter(|p| p.spec.kind == kind) {
            p.verified = false;
        }
    }

    /// Tries left of the PIN of this kind (for tests and the state file).
    pub(crate) fn tries_left(&self, kind: PinKind) -> Option<u8> {
        self.pins
            .iter()
            .find(|p| p.spec.kind == kind)
            .map(|p| p.tries_left)
    }

    /// VERIFY (ISO/IEC 7816-4, 11.5.6) with P1 `00`: no data asks the status without spending
    /// a try (`9000` verified, `63Cx` x tries left, `6983` blocked); data is a PIN block
    /// compared with the PIN: `9000` and the counter back to its maximum, or `63Cx` one try
    /// fewer (`63C0` on the last), `6983` once blocked. A block that is no well-formed PIN of
    /// the format answers `6A80` and spends nothing. P1 `FF` drops the verification (`9000`).
    pub(crate) fn verify(&mut self, p1: u8, reference: u8, data: &[u8]) -> StatusWord {
        let Some(pin) = self.find(reference) else {
            return StatusWord::REFERENCED_DATA_NOT_FOUND;
        };
        match p1 {
            0x00 => {}
            0xFF if data.is_empty() => {
                if let Some(p) = self.find_mut(reference) {
                    p.verified = false;
                }
                return StatusWord::SUCCESS;
            }
            _ => return StatusWord::INCORRECT_P1_P2,
        }
        if data.is_empty() {
            return if pin.verified {
                StatusWord::SUCCESS
            } else if pin.tries_left == 0 {
                StatusWord::AUTHENTICATION_METHOD_BLOCKED
            } else {
                retries(pin.tries_left)
            };
        }
        if pin.tries_left == 0 {
            return StatusWord::AUTHENTICATION_METHOD_BLOCKED;
        }
        let Some(digits) = pin.spec.digits(data) else {
            return StatusWord::INCORRECT_DATA;
        };
        let ok = digest(pin.spec, digits) == pin.digest;
        self.record(reference, ok)
    }

    /// Counts one comparison: success resets the counter and sets the verified flag.
    fn record(&mut self, reference: u8, ok: bool) -> StatusWord {
        let Some(p) = self.find_mut(reference) else {
            return StatusWord::REFERENCED_DATA_NOT_FOUND;
        };
        let sw = if ok {
            p.tries_left = p.spec.max_tries;
            p.verified = true;
            StatusWord::SUCCESS
        } else {
            p.tries_left = p.tries_left.saturating_sub(1);
            p.verified = false;
            retries(p.tries_left)
        };
        self.save();
        sw
    }

    /// Splits `data` into PIN blocks of `first` then `second`'s padded lengths.
    fn two_blocks<'d>(
        data: &'d [u8],
        first: &PinSpec,
        second: &PinSpec,
    ) -> Option<(&'d [u8], &'d [u8])> {
        (data.len() == first.padded_len + second.padded_len)
            .then(|| data.split_at(first.padded_len))
    }

    /// CHANGE REFERENCE DATA (ISO/IEC 7816-4, 11.5.7): P1 `00`, data = current PIN block ‖
    /// new PIN block. A wrong current PIN counts as a wrong VERIFY (`63Cx`); a blocked PIN
    /// answers `6983`; a malformed block `6A80`. The PUK cannot be changed (`6985`).
    pub(crate) fn change(&mut self, p1: u8, reference: u8, data: &[u8]) -> StatusWord {
        let Some(pin) = self.find(reference) else {
            return StatusWord::REFERENCED_DATA_NOT_FOUND;
        };
        if p1 != 0x00 {
            return StatusWord::INCORRECT_P1_P2;
        }
        let spec = pin.spec;
        if spec.kind == PinKind::Puk {
            return StatusWord::CONDITIONS_NOT_SATISFIED;
        }
        if pin.tries_left == 0 {
            return StatusWord::AUTHENTICATION_METHOD_BLOCKED;
        }
        let Some((old, new)) = Self::two_blocks(data, spec, spec) else {
            return StatusWord::WRONG_LENGTH;
        };
        let (Some(old), Some(new)) = (spec.digits(old), spec.digits(new)) else {
            return StatusWord::INCORRECT_DATA;
        };
        let ok = digest(spec, old) == pin.digest;
        let new_digest = digest(spec, new);
        let sw = self.record(reference, ok);
        if ok {
            if let Some(p) = self.find_mut(reference) {
                p.digest = new_digest;
            }
            self.save();
        }
        sw
    }

    /// RESET RETRY COUNTER (ISO/IEC 7816-4, 11.5.10) of the ID PIN or the SIGN PIN with the
    /// PUK: P1 `00`, data = PUK block ‖ new PIN block (the PIN gets the new value); P1 `01`,
    /// data = PUK block (the PIN keeps its value). The PUK's own counter goes down on a wrong
    /// PUK (`63Cx`) and blocks at zero (`6983`); the PIN's counter goes back to its maximum
    /// and its verification is dropped.
    pub(crate) fn reset_retry_counter(&mut self, p1: u8, reference: u8, data: &[u8]) -> StatusWord {
        let Some(pin) = self.find(reference) else {
            return StatusWord::REFERENCED_DATA_NOT_FOUND;
        };
        let spec = pin.spec;
        if spec.kind == PinKind::Puk {
            return StatusWord::CONDITIONS_NOT_SATISFIED;
        }
        let Some(puk) = self.pins.iter().find(|p| p.spec.kind == PinKind::Puk) else {
            return StatusWord::CONDITIONS_NOT_SATISFIED;
        };
        let puk_spec = puk.spec;
        let (puk_block, new) = match p1 {
            0x00 => match Self::two_blocks(data, puk_spec, spec) {
                Some((a, b)) => (a, Some(b)),
                None => return StatusWord::WRONG_LENGTH,
            },
            0x01 if data.len() == puk_spec.padded_len => (data, None),
            0x01 => return StatusWord::WRONG_LENGTH,
            _ => return StatusWord::INCORRECT_P1_P2,
        };
        if puk.tries_left == 0 {
            return StatusWord::AUTHENTICATION_METHOD_BLOCKED;
        }
        let Some(puk_digits) = puk_spec.digits(puk_block) else {
            return StatusWord::INCORRECT_DATA;
        };
        let new_digest = match new.map(|n| spec.digits(n)) {
            Some(Some(digits)) => Some(digest(spec, digits)),
            Some(None) => return StatusWord::INCORRECT_DATA,
            None => None,
        };
        let ok = digest(puk_spec, puk_digits) == puk.digest;
        let puk_reference = puk_spec.reference;
        let sw = self.record(puk_reference, ok);
        if !ok {
            return sw;
        }
        // The PUK served its purpose; it does not stay verified.
        if let Some(p) = self.find_mut(puk_reference) {
            p.verified = false;
        }
        if let Some(p) = self.find_mut(reference) {
            p.tries_left = p.spec.max_tries;
            p.verified = false;
            if let Some(d) = new_digest {
                p.digest = d;
            }
        }
        self.save();
        StatusWord::SUCCESS
    }
}

/// `63Cx`: verification failed, x tries left (ISO/IEC 7816-4, 5.6, table 6).
fn retries(left: u8) -> StatusWord {
    StatusWord::from_bytes(0x63, 0xC0 | left.min(0x0F))
}

/// State file format (text, one line per PIN): `pin <ref hex> <tries> <digest hex>`; `#` starts
/// a comment line.
fn parse_state(text: &str) -> Result<Vec<StoredPin>, std::io::Error> {
    let bad = |line: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "bad state line {:?}",
                line.chars().take(20).collect::<String>()
            ),
        )
    };
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [kind, reference, tries, hex_digest] = fields.as_slice() else {
            return Err(bad(line));
        };
        if *kind != "pin" {
            return Err(bad(line));
        }
        let reference = u8::from_str_radix(reference, 16).map_err(|_| bad(line))?;
        let tries_left = tries.parse::<u8>().map_err(|_| bad(line))?;
        let digest: PinDigest = hex::decode(hex_digest)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad(line))?;
        out.push(StoredPin {
            reference,
            tries_left,
            digest,
        });
    }
    Ok(out)
}

fn render_state(stored: &[StoredPin]) -> String {
    let mut text = String::from(
        "# shenas-sim card state: PIN retry counters and PIN digests (simulated card, no security)\n",
    );
    for s in stored {
        text.push_str(&format!(
            "pin {:02X} {} {}\n",
            s.reference,
            s.tries_left,
            hex::encode(s.digest)
        ));
    }
    text
}

fn write_state(path: &Path, stored: &[StoredPin]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, render_state(stored))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use shenas_cards::profile::pkcs15::PINS;

    fn spec(kind: PinKind) -> &'static PinSpec {
        PINS.iter().find(|p| p.kind == kind).unwrap_or(&PINS[0])
    }

    fn pins(file: Option<PathBuf>) -> Pins {
        let init = [
            InitialPin {
                spec: spec(PinKind::IdPin),
                digits: b"1234",
                tries_left: 3,
            },
            InitialPin {
                spec: spec(PinKind::SignPin),
                digits: b"123456",
                tries_left: 3,
            },
            InitialPin {
                spec: spec(PinKind::Puk),
                digits: b"12345678",
                tries_left: 10,
            },
        ];
        Pins::new(&init, file).unwrap_or_else(|_| Pins {
            pins: Vec::new(),
            state_file: None,
        })
    }

    fn block(kind: PinKind, digits: &[u8]) -> Vec<u8> {
        spec(kind)
            .format(digits)
            .map(|b| b.to_vec())
            .unwrap_or_default()
    }

    #[test]
    fn verify_counts_and_blocks() {
        let mut p = pins(None);
        let id = spec(PinKind::IdPin).reference;
        assert_eq!(p.verify(0, id, &[]).value(), 0x63C3);
        assert_eq!(
            p.verify(0, id, &block(PinKind::IdPin, b"0000")).value(),
            0x63C2
        );
        assert_eq!(
            p.verify(0, id, &[]).value(),
            0x63C2,
            "asking spends nothing"
        );
        assert_eq!(
            p.verify(0, id, &block(PinKind::IdPin, b"1234")).value(),
            0x9000
        );
        assert_eq!(p.verify(0, id, &[]).value(), 0x9000);
        assert!(p.is_verified(PinKind::IdPin));
        assert_eq!(p.verify(0xFF, id, &[]).value(), 0x9000);
        assert!(!p.is_verified(PinKind::IdPin));
        assert_eq!(p.verify(0, id, b"12").value(), 0x6A80);
        for left in [2u16, 1, 0] {
            assert_eq!(
                p.verify(0, id, &block(PinKind::IdPin, b"9999")).value(),
                0x63C0 | left
            );
        }
        assert_eq!(
            p.verify(0, id, &block(PinKind::IdPin, b"1234")).value(),
            0x6983
        );
        assert_eq!(p.verify(0, id, &[]).value(), 0x6983);
        assert_eq!(p.verify(0, 0x99, &[]).value(), 0x6A88);
    }

    #[test]
    fn change_and_unblock() {
        let mut p = pins(None);
        let sign = spec(PinKind::SignPin).reference;
        let mut data = block(PinKind::SignPin, b"123456");
        data.extend(block(PinKind::SignPin, b"654321"));
        assert_eq!(p.change(0, sign, &data).value(), 0x9000);
        assert_eq!(p.change(0, sign, &data).value(), 0x63C2, "old PIN is gone");
        for _ in 0..2 {
            let _ = p.verify(0, sign, &block(PinKind::SignPin, b"000000"));
        }
        assert_eq!(p.tries_left(PinKind::SignPin), Some(0));
        let mut reset = block(PinKind::Puk, b"00000000");
        reset.extend(block(PinKind::SignPin, b"111111"));
        assert_eq!(p.reset_retry_counter(0, sign, &reset).value(), 0x63C9);
        let mut reset = block(PinKind::Puk, b"12345678");
        reset.extend(block(PinKind::SignPin, b"111111"));
        assert_eq!(p.reset_retry_counter(0, sign, &reset).value(), 0x9000);
        assert_eq!(p.tries_left(PinKind::Puk), Some(10));
        assert_eq!(
            p.verify(0, sign, &block(PinKind::SignPin, b"111111"))
                .value(),
            0x9000
        );
        let puk = spec(PinKind::Puk).reference;
        assert_eq!(p.reset_retry_counter(1, puk, &reset).value(), 0x6985);
        assert_eq!(
            p.reset_retry_counter(1, sign, &block(PinKind::Puk, b"12345678"))
                .value(),
            0x9000
        );
    }

    #[test]
    fn state_file_round_trips_and_restores() {
        let dir = std::env::temp_dir().join(format!("shenas-pins-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("state");
        let _ = std::fs::remove_file(&file);
        let mut p = pins(Some(file.clone()));
        let id = spec(PinKind::IdPin).reference;
        let _ = p.verify(0, id, &block(PinKind::IdPin, b"0000"));
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(text.contains("pin 81 2 "), "{text}");
        assert!(!text.contains("1234"), "{text}");
        let again = pins(Some(file.clone()));
        assert_eq!(again.tries_left(PinKind::IdPin), Some(2));
        assert!(parse_state("pin zz 1 00").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_shows_counters_only() {
        let shown = format!("{:?}", pins(None));
        assert!(shown.contains("id_pin: 3 tries left"), "{shown}");
    }

    proptest! {
        #[test]
        fn state_parser_never_panics_and_round_trips(text in ".{0,200}", tries in 0u8..=15, r in any::<u8>()) {
            let _ = parse_state(&text);
            let stored = vec![StoredPin { reference: r, tries_left: tries, digest: [7; 32] }];
            let parsed = parse_state(&render_state(&stored));
            prop_assert!(parsed.is_ok_and(|p| p == stored));
        }

        #[test]
        fn commands_never_panic(p1 in any::<u8>(), r in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut p = pins(None);
            let _ = p.verify(p1, r, &data);
            let _ = p.change(p1, r, &data);
            let _ = p.reset_retry_counter(p1, r, &data);
        }
    }
}
