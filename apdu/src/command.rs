//! Command APDUs (ISO/IEC 7816-4:2020, clause 5.1 and 5.2).

use std::fmt;

/// The largest Nc of a short command (ISO/IEC 7816-4, 5.2).
pub const SHORT_MAX_DATA: usize = 255;
/// The largest Ne of a short command (Le `00` means 256).
pub const SHORT_MAX_LE: usize = 256;
/// The largest Nc of an extended command.
pub const EXTENDED_MAX_DATA: usize = 65_535;
/// The largest Ne of an extended command (Le `0000` means 65 536).
pub const EXTENDED_MAX_LE: usize = 65_536;

/// A command APDU as a value: header, command data, and the expected response length Ne.
///
/// `Debug` shows the header and the data length only: command data may carry a PIN or a key.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: Vec<u8>,
    ne: Option<usize>,
}

/// The four cases of ISO/IEC 7816-4, 5.2, table 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Case {
    /// No command data, no response data.
    One,
    /// No command data, response data expected.
    Two,
    /// Command data, no response data.
    Three,
    /// Command data and response data.
    Four,
}

/// Why bytes are not a well-formed command APDU, or a command cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Fewer than the four header bytes.
    #[error("command APDU shorter than its 4-byte header ({0} bytes)")]
    TooShort(usize),
    /// The body matches none of the cases of ISO/IEC 7816-4, 5.2.
    #[error("command APDU body of {0} bytes matches no case of ISO/IEC 7816-4 5.2")]
    MalformedBody(usize),
    /// Nc above 65 535.
    #[error("command data of {0} bytes exceeds 65535")]
    DataTooLong(usize),
    /// Ne of 0 or above 65 536.
    #[error("expected length {0} is outside 1..=65536")]
    InvalidLe(usize),
    /// The command needs extended length but short encoding was demanded.
    #[error("command needs extended length (Nc {nc}, Ne {ne:?}) but short encoding was required")]
    NeedsExtended {
        /// Length of the command data.
        nc: usize,
        /// Expected response length.
        ne: Option<usize>,
    },
}

impl Command {
    /// A case 1 command: header only.
    pub const fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            ne: None,
        }
    }

    /// Sets the command data (Nc = its length).
    #[must_use]
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets Ne, the maximum number of response data bytes expected (1..=65 536).
    /// `256` is encoded as short Le `00`, `65536` as extended Le `0000`.
    #[must_use]
    pub fn with_le(mut self, ne: usize) -> Self {
        self.ne = Some(ne);
        self
    }

    /// Removes the Le field.
    #[must_use]
    pub fn without_le(mut self) -> Self {
        self.ne = None;
        self
    }

    /// Class byte.
    pub const fn cla(&self) -> u8 {
        self.cla
    }
    /// Instruction byte.
    pub const fn ins(&self) -> u8 {
        self.ins
    }
    /// Parameter 1.
    pub const fn p1(&self) -> u8 {
        self.p1
    }
    /// Parameter 2.
    pub const fn p2(&self) -> u8 {
        self.p2
    }
    /// Command data (may be secret: never log it).
    pub fn data(&self) -> &[u8] {
        &self.data
    }
    /// Ne, if the command expects response data.
    pub const fn le(&self) -> Option<usize> {
        self.ne
    }

    /// Returns the same command with another class byte (chaining bit, logical channel).
    #[must_use]
    pub fn with_cla(mut self, cla: u8) -> Self {
        self.cla = cla;
        self
    }

    /// Returns the same command with other P1 and P2.
    #[must_use]
    pub fn with_p1_p2(mut self, p1: u8, p2: u8) -> Self {
        self.p1 = p1;
        self.p2 = p2;
        self
    }

    /// The case of this command.
    pub fn case(&self) -> Case {
        match (self.data.is_empty(), self.ne.is_some()) {
            (true, false) => Case::One,
            (true, true) => Case::Two,
            (false, false) => Case::Three,
            (false, true) => Case::Four,
        }
    }

    /// True when the command cannot be encoded in short form.
    pub fn needs_extended(&self) -> bool {
        self.data.len() > SHORT_MAX_DATA || self.ne.is_some_and(|ne| ne > SHORT_MAX_LE)
    }

    fn check(&self) -> Result<(), CommandError> {
        if self.data.len() > EXTENDED_MAX_DATA {
            return Err(CommandError::DataTooLong(self.data.len()));
        }
        if let Some(ne) = self.ne
            && (ne == 0 || ne > EXTENDED_MAX_LE)
        {
            return Err(CommandError::InvalidLe(ne));
        }
        Ok(())
    }

    /// Encodes the command: short form when it fits, extended form otherwise.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CommandError> {
        self.encode(self.needs_extended())
    }

    /// Encodes the command in short form, failing if it does not fit.
    pub fn to_short_bytes(&self) -> Result<Vec<u8>, CommandError> {
        if self.needs_extended() {
            return Err(CommandError::NeedsExtended {
                nc: self.data.len(),
                ne: self.ne,
            });
        }
        self.encode(false)
    }

    /// Encodes the command in extended form (even when short form would fit).
    pub fn to_extended_bytes(&self) -> Result<Vec<u8>, CommandError> {
        self.encode(true)
    }

    fn encode(&self, extended: bool) -> Result<Vec<u8>, CommandError> {
        self.check()?;
        let mut out = Vec::with_capacity(4 + 3 + self.data.len() + 3);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        // Lengths were checked above: Nc <= 65535 and 1 <= Ne <= 65536, so the
        // truncating casts below take exactly the low bytes the encoding wants.
        #[allow(clippy::cast_possible_truncation)]
        if extended {
            if !self.data.is_empty() {
                let nc = self.data.len() as u16;
                out.push(0);
                out.extend_from_slice(&nc.to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(ne) = self.ne {
                let le = (ne % EXTENDED_MAX_LE) as u16;
                if self.data.is_empty() {
                    out.push(0);
                }
                out.extend_from_slice(&le.to_be_bytes());
            }
        } else {
            if !self.data.is_empty() {
                out.push(self.data.len() as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(ne) = self.ne {
                out.push((ne % SHORT_MAX_LE) as u8);
            }
        }
        Ok(out)
    }

    /// Parses a command APDU in short or extended form (ISO/IEC 7816-4, 5.2).
    pub fn parse(bytes: &[u8]) -> Result<Self, CommandError> {
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(CommandError::TooShort(bytes.len()));
        };
        let mut cmd = Self::new(*cla, *ins, *p1, *p2);
        let malformed = || CommandError::MalformedBody(body.len());
        match body {
            // Case 1.
            [] => {}
            // Case 2 short.
            [le] => {
                cmd.ne = Some(if *le == 0 {
                    SHORT_MAX_LE
                } else {
                    usize::from(*le)
                })
            }
            // Extended forms start with a zero byte and are at least 3 bytes long.
            [0, b1, b2, rest @ ..] => {
                let n = usize::from(u16::from_be_bytes([*b1, *b2]));
                match rest {
                    // Case 2 extended.
                    [] => cmd.ne = Some(if n == 0 { EXTENDED_MAX_LE } else { n }),
                    // Case 3/4 extended.
                    _ if n == 0 => return Err(malformed()),
                    _ => {
                        let data = rest.get(..n).ok_or_else(malformed)?;
                        cmd.data = data.to_vec();
                        match rest.get(n..).unwrap_or_default() {
                            [] => {}
                            [l1, l2] => {
                                let le = usize::from(u16::from_be_bytes([*l1, *l2]));
                                cmd.ne = Some(if le == 0 { EXTENDED_MAX_LE } else { le });
                            }
                            _ => return Err(malformed()),
                        }
                    }
                }
            }
            // Case 3/4 short.
            [lc, rest @ ..] => {
                let n = usize::from(*lc);
                if n == 0 {
                    return Err(malformed());
                }
                let data = rest.get(..n).ok_or_else(malformed)?;
                cmd.data = data.to_vec();
                match rest.get(n..).unwrap_or_default() {
                    [] => {}
                    [le] => {
                        cmd.ne = Some(if *le == 0 {
                            SHORT_MAX_LE
                        } else {
                            usize::from(*le)
                        });
                    }
                    _ => return Err(malformed()),
                }
            }
        }
        Ok(cmd)
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("cla", &format_args!("{:02X}", self.cla))
            .field("ins", &format_args!("{:02X}", self.ins))
            .field("p1", &format_args!("{:02X}", self.p1))
            .field("p2", &format_args!("{:02X}", self.p2))
            .field("nc", &self.data.len())
            .field("ne", &self.ne)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap_or_default()
    }

    #[test]
    fn encodes_the_four_cases_short() -> Result<(), CommandError> {
        assert_eq!(Command::new(0, 0xA4, 0, 0).to_bytes()?, hex("00A40000"));
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_le(256).to_bytes()?,
            hex("00B0000000")
        );
        assert_eq!(
            Command::new(0, 0xA4, 4, 0).with_data([1, 2]).to_bytes()?,
            hex("00A40400 02 0102")
        );
        assert_eq!(
            Command::new(0, 0xA4, 4, 0)
                .with_data([1, 2])
                .with_le(16)
                .to_bytes()?,
            hex("00A40400 02 0102 10")
        );
        Ok(())
    }

    #[test]
    fn encodes_extended_when_needed() -> Result<(), CommandError> {
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_le(65536).to_bytes()?,
            hex("00B00000 000000")
        );
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_le(4096).to_bytes()?,
            hex("00B00000 001000")
        );
        let big = vec![0xAB; 300];
        let bytes = Command::new(0, 0xDA, 0, 0)
            .with_data(big.clone())
            .with_le(257)
            .to_bytes()?;
        assert_eq!(bytes.get(..7), Some(&hex("00DA0000 00012C")[..]));
        assert_eq!(bytes.get(bytes.len() - 2..), Some(&hex("0101")[..]));
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_le(300).to_short_bytes(),
            Err(CommandError::NeedsExtended {
                nc: 0,
                ne: Some(300)
            })
        );
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_le(0).to_bytes(),
            Err(CommandError::InvalidLe(0))
        );
        Ok(())
    }

    #[test]
    fn rejects_malformed_bodies() {
        assert_eq!(Command::parse(&[0, 0xA4]), Err(CommandError::TooShort(2)));
        // Lc says 3, 2 bytes follow.
        assert!(Command::parse(&hex("00A40400 03 0102")).is_err());
        // Lc 0 in short form.
        assert!(Command::parse(&hex("00A40400 00 01")).is_err());
        // Two trailing bytes after short data.
        assert!(Command::parse(&hex("00A40400 01 01 0000")).is_err());
    }

    #[test]
    fn debug_hides_data() {
        let cmd = Command::new(0, 0x20, 0, 0x81).with_data(*b"123456");
        let shown = format!("{cmd:?}");
        assert!(
            !shown.contains("49") && !shown.contains("123456"),
            "{shown}"
        );
        assert!(shown.contains("nc: 6"), "{shown}");
    }

    fn command() -> impl Strategy<Value = Command> {
        (
            any::<[u8; 4]>(),
            prop_oneof![
                Just(Vec::new()),
                proptest::collection::vec(any::<u8>(), 1..300),
                proptest::collection::vec(any::<u8>(), 60_000..65_536)
            ],
            proptest::option::of(prop_oneof![1usize..=256, 1usize..=65_536]),
        )
            .prop_map(|(h, data, ne)| {
                let c = Command::new(h[0], h[1], h[2], h[3]).with_data(data);
                match ne {
                    Some(ne) => c.with_le(ne),
                    None => c,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn round_trips(cmd in command()) {
            let bytes = cmd.to_bytes().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(Command::parse(&bytes), Ok(cmd.clone()));
            let ext = cmd.to_extended_bytes().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(Command::parse(&ext), Ok(cmd));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(cmd) = Command::parse(&bytes) {
                // Whatever parses re-encodes to the same bytes, unless the
                // sender used extended form where short would do.
                let again = cmd.to_bytes().map_err(|e| TestCaseError::fail(e.to_string()))?;
                let ext = cmd.to_extended_bytes().map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(again == bytes || ext == bytes);
            }
        }
    }
}
