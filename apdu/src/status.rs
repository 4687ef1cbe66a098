//! Status words (ISO/IEC 7816-4:2020, clause 5.6).
//!
//! A status word is a value the card returns, not an error: callers decide which
//! status words they accept.

use std::fmt;

/// The two trailer bytes SW1 SW2 of a response APDU (ISO/IEC 7816-4, 5.6).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusWord(u16);

impl StatusWord {
    /// `9000`: normal processing, no further qualification.
    pub const SUCCESS: Self = Self(0x9000);
    /// `6281`: part of returned data may be corrupted.
    pub const DATA_CORRUPTED: Self = Self(0x6281);
    /// `6282`: end of file or record reached before reading Ne bytes.
    pub const END_OF_FILE: Self = Self(0x6282);
    /// `6581`: memory failure.
    pub const MEMORY_FAILURE: Self = Self(0x6581);
    /// `6700`: wrong length; no further indication.
    pub const WRONG_LENGTH: Self = Self(0x6700);
    /// `6881`: logical channel not supported.
    pub const LOGICAL_CHANNEL_NOT_SUPPORTED: Self = Self(0x6881);
    /// `6882`: secure messaging not supported.
    pub const SECURE_MESSAGING_NOT_SUPPORTED: Self = Self(0x6882);
    /// `6883`: last command of the chain expected.
    pub const LAST_COMMAND_EXPECTED: Self = Self(0x6883);
    /// `6884`: command chaining not supported.
    pub const CHAINING_NOT_SUPPORTED: Self = Self(0x6884);
    /// `6981`: command incompatible with file structure.
    pub const INCOMPATIBLE_FILE_STRUCTURE: Self = Self(0x6981);
    /// `6982`: security status not satisfied.
    pub const SECURITY_STATUS_NOT_SATISFIED: Self = Self(0x6982);
    /// `6983`: authentication method blocked.
    pub const AUTHENTICATION_METHOD_BLOCKED: Self = Self(0x6983);
    /// `6984`: reference data not usable.
    pub const REFERENCE_DATA_NOT_USABLE: Self = Self(0x6984);
    /// `6985`: conditions of use not satisfied.
    pub const CONDITIONS_NOT_SATISFIED: Self = Self(0x6985);
    /// `6986`: command not allowed (no current EF).
    pub const NO_CURRENT_EF: Self = Self(0x6986);
    /// `6A80`: incorrect parameters in the command data field.
    pub const INCORRECT_DATA: Self = Self(0x6A80);
    /// `6A81`: function not supported.
    pub const FUNCTION_NOT_SUPPORTED: Self = Self(0x6A81);
    /// `6A82`: file or application not found.
    pub const FILE_NOT_FOUND: Self = Self(0x6A82);
    /// `6A83`: record not found.
    pub const RECORD_NOT_FOUND: Self = Self(0x6A83);
    /// `6A84`: not enough memory space in the file.
    pub const NOT_ENOUGH_MEMORY: Self = Self(0x6A84);
    /// `6A86`: incorrect parameters P1-P2.
    pub const INCORRECT_P1_P2: Self = Self(0x6A86);
    /// `6A88`: referenced data or reference data not found.
    pub const REFERENCED_DATA_NOT_FOUND: Self = Self(0x6A88);
    /// `6B00`: wrong parameters P1-P2 (offset outside the EF).
    pub const WRONG_P1_P2: Self = Self(0x6B00);
    /// `6D00`: instruction code not supported or invalid.
    pub const INS_NOT_SUPPORTED: Self = Self(0x6D00);
    /// `6E00`: class not supported.
    pub const CLA_NOT_SUPPORTED: Self = Self(0x6E00);
    /// `6F00`: no precise diagnosis.
    pub const NO_PRECISE_DIAGNOSIS: Self = Self(0x6F00);

    /// A status word from its 16-bit value.
    pub const fn new(value: u16) -> Self {
        Self(value)
    }

    /// A status word from SW1 and SW2.
    pub const fn from_bytes(sw1: u8, sw2: u8) -> Self {
        Self(u16::from_be_bytes([sw1, sw2]))
    }

    /// The 16-bit value, SW1 in the high byte.
    pub const fn value(self) -> u16 {
        self.0
    }

    /// SW1.
    pub const fn sw1(self) -> u8 {
        self.0.to_be_bytes()[0]
    }

    /// SW2.
    pub const fn sw2(self) -> u8 {
        self.0.to_be_bytes()[1]
    }

    /// SW1 SW2 as they travel on the wire.
    pub const fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// `9000`.
    pub const fn is_success(self) -> bool {
        self.0 == 0x9000
    }

    /// `61XX`: SW2 more bytes are available with GET RESPONSE (`00` means 256 or more).
    pub const fn bytes_available(self) -> Option<usize> {
        if self.sw1() == 0x61 {
            Some(if self.sw2() == 0 {
                256
            } else {
                self.sw2() as usize
            })
        } else {
            None
        }
    }

    /// `6CXX`: wrong Le; SW2 gives the exact number of available bytes (`00` means 256).
    pub const fn exact_length(self) -> Option<usize> {
        if self.sw1() == 0x6C {
            Some(if self.sw2() == 0 {
                256
            } else {
                self.sw2() as usize
            })
        } else {
            None
        }
    }

    /// `63CX`: verification failed, X further tries allowed (ISO/IEC 7816-4, 5.6, table 6).
    pub const fn retries_left(self) -> Option<u8> {
        if self.0 & 0xFFF0 == 0x63C0 {
            Some(self.sw2() & 0x0F)
        } else {
            None
        }
    }

    /// What the status word means, per ISO/IEC 7816-4 tables 5 and 6 (interindustry values).
    pub fn meaning(self) -> &'static str {
        match self.0 {
            0x9000 => "normal processing",
            0x6200 => "warning: state of non-volatile memory unchanged",
            0x6281 => "warning: part of returned data may be corrupted",
            0x6282 => "warning: end of file or record reached before reading Ne bytes",
            0x6283 => "warning: selected file deactivated",
            0x6284 => "warning: file control information not formatted",
            0x6285 => "warning: selected file in termination state",
            0x6286 => "warning: no input data available from a sensor",
            0x6300 => "warning: state of non-volatile memory changed",
            0x6381 => "warning: file filled up by the last write",
            0x6400 => "error: execution error, state of non-volatile memory unchanged",
            0x6401 => "error: immediate response required by the card",
            0x6500 => "error: execution error, state of non-volatile memory changed",
            0x6581 => "error: memory failure",
            0x6700 => "error: wrong length",
            0x6800 => "error: functions in CLA not supported",
            0x6881 => "error: logical channel not supported",
            0x6882 => "error: secure messaging not supported",
            0x6883 => "error: last command of the chain expected",
            0x6884 => "error: command chaining not supported",
            0x6900 => "error: command not allowed",
            0x6981 => "error: command incompatible with file structure",
            0x6982 => "error: security status not satisfied",
            0x6983 => "error: authentication method blocked",
            0x6984 => "error: reference data not usable",
            0x6985 => "error: conditions of use not satisfied",
            0x6986 => "error: command not allowed (no current EF)",
            0x6987 => "error: expected secure messaging data objects missing",
            0x6988 => "error: incorrect secure messaging data objects",
            0x6A00 => "error: wrong parameters P1-P2",
            0x6A80 => "error: incorrect parameters in the command data field",
            0x6A81 => "error: function not supported",
            0x6A82 => "error: file or application not found",
            0x6A83 => "error: record not found",
            0x6A84 => "error: not enough memory space in the file",
            0x6A85 => "error: Nc inconsistent with TLV structure",
            0x6A86 => "error: incorrect parameters P1-P2",
            0x6A87 => "error: Nc inconsistent with parameters P1-P2",
            0x6A88 => "error: referenced data or reference data not found",
            0x6A89 => "error: file already exists",
            0x6A8A => "error: DF name already exists",
            0x6B00 => "error: wrong parameters P1-P2",
            0x6D00 => "error: instruction code not supported or invalid",
            0x6E00 => "error: class not supported",
            0x6F00 => "error: no precise diagnosis",
            _ => match self.sw1() {
                0x61 => "more response bytes available (GET RESPONSE)",
                0x6C => "wrong Le field; SW2 gives the exact length",
                0x63 if self.sw2() & 0xF0 == 0xC0 => "warning: verification failed, counter in SW2",
                0x62 => "warning: state of non-volatile memory unchanged",
                0x63 => "warning: state of non-volatile memory changed",
                0x64 => "error: execution error, state of non-volatile memory unchanged",
                0x65 => "error: execution error, state of non-volatile memory changed",
                0x66 => "error: security-related issue",
                0x67 => "error: wrong length",
                0x68 => "error: functions in CLA not supported",
                0x69 => "error: command not allowed",
                0x6A => "error: wrong parameters P1-P2",
                0x90..=0x9F => "proprietary",
                _ => "unknown status word",
            },
        }
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusWord({:04X})", self.0)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X} ({})", self.0, self.meaning())
    }
}

impl From<u16> for StatusWord {
    fn from(value: u16) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_classes() {
        let sw = StatusWord::from_bytes(0x61, 0x10);
        assert_eq!(sw.bytes_available(), Some(16));
        assert_eq!(StatusWord::new(0x6100).bytes_available(), Some(256));
        assert_eq!(StatusWord::new(0x6C20).exact_length(), Some(32));
        assert_eq!(StatusWord::new(0x63C2).retries_left(), Some(2));
        assert_eq!(StatusWord::new(0x6300).retries_left(), None);
        assert_eq!(StatusWord::SUCCESS.to_bytes(), [0x90, 0x00]);
        assert!(StatusWord::SUCCESS.is_success());
        assert!(!StatusWord::FILE_NOT_FOUND.is_success());
    }

    #[test]
    fn meanings() {
        assert_eq!(
            StatusWord::FILE_NOT_FOUND.meaning(),
            "error: file or application not found"
        );
        assert_eq!(
            StatusWord::new(0x6C05).meaning(),
            "wrong Le field; SW2 gives the exact length"
        );
        assert_eq!(
            StatusWord::new(0x63C1).to_string(),
            "63C1 (warning: verification failed, counter in SW2)"
        );
        assert_eq!(StatusWord::new(0x1234).meaning(), "unknown status word");
    }
}
