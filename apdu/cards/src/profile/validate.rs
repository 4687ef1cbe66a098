//! Identifiers and their validation: the national code (کد ملی), the FIDA foreign-national
//! identifier, the card serial number, ISO 3166-1 alpha-3 codes.
//!
//! All of these are personal data (or link to a person): their `Debug` is redacted; `Display`
//! and [`NationalCode::as_str`] give the value to code that means to show it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a national code is not valid. Carries no digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NationalCodeError {
    /// Not 8 to 10 characters (10 on a card).
    #[error("a national code has 10 digits (8 or 9 are left-padded with zeros)")]
    Length,
    /// A character other than the ASCII digits.
    #[error("a national code has digits only")]
    NotDigits,
    /// Ten identical digits, which the check digit alone would accept.
    #[error("a national code of identical digits is not issued")]
    AllIdentical,
    /// The tenth digit is not the check digit of the first nine.
    #[error("the national code's check digit is wrong")]
    CheckDigit,
}

/// The check digit of nine digits (values 0–9): `s = Σ dᵢ·(11−i)` for i = 1..9, `r = s mod 11`,
/// check digit `r` if `r < 2`, else `11 − r`.
pub fn national_code_check_digit(first_nine: &[u8; 9]) -> u8 {
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10u32).rev())
        .map(|(d, weight)| u32::from(*d) * weight)
        .sum();
    let r = u8::try_from(sum % 11).unwrap_or(0);
    if r < 2 { r } else { 11 - r }
}

/// A valid national code: 10 ASCII digits with a correct check digit, not all identical.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NationalCode(String);

impl NationalCode {
    /// Parses user input: 8 to 10 digits, left-padded with zeros to 10.
    pub fn parse(input: &str) -> Result<Self, NationalCodeError> {
        let input = input.trim();
        if !(8..=10).contains(&input.len()) {
            return Err(NationalCodeError::Length);
        }
        let padded = format!("{input:0>10}");
        Self::from_card(padded.as_bytes())
    }

    /// Parses the card's encoding: exactly 10 ASCII digits.
    pub fn from_card(bytes: &[u8]) -> Result<Self, NationalCodeError> {
        let digits: [u8; 10] = bytes.try_into().map_err(|_| NationalCodeError::Length)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(NationalCodeError::NotDigits);
        }
        let values = digits.map(|b| b - b'0');
        if values.iter().all(|d| Some(d) == values.first()) {
            return Err(NationalCodeError::AllIdentical);
        }
        let [a, b, c, d, e, f, g, h, i, check] = values;
        if national_code_check_digit(&[a, b, c, d, e, f, g, h, i]) != check {
            return Err(NationalCodeError::CheckDigit);
        }
        // Only ASCII digits: valid UTF-8.
        Ok(Self(String::from_utf8_lossy(&digits).into_owned()))
    }

    /// Completes nine digits (values 0–9) with their check digit; fails for nine identical
    /// digits whose completion would be all identical, or a value above 9.
    pub fn from_first_nine(first_nine: [u8; 9]) -> Result<Self, NationalCodeError> {
        if first_nine.iter().any(|d| *d > 9) {
            return Err(NationalCodeError::NotDigits);
        }
        let check = national_code_check_digit(&first_nine);
        let mut bytes: Vec<u8> = first_nine.iter().map(|d| d + b'0').collect();
        bytes.push(check + b'0');
        Self::from_card(&bytes)
    }

    /// The 10 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a FIDA is not valid. Carries no digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FidaError {
    /// Not 12 characters.
    #[error("a FIDA has 12 digits")]
    Length,
    /// A character other than the ASCII digits.
    #[error("a FIDA has digits only")]
    NotDigits,
}

/// A FIDA, the foreign-national identifier: 12 ASCII digits. No check-digit algorithm is
/// public, so only the format is validated.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fida(String);

impl Fida {
    /// Parses 12 ASCII digits (user input, trimmed).
    pub fn parse(input: &str) -> Result<Self, FidaError> {
        Self::from_card(input.trim().as_bytes())
    }

    /// Parses the card's encoding: exactly 12 ASCII digits.
    pub fn from_card(bytes: &[u8]) -> Result<Self, FidaError> {
        if bytes.len() != 12 {
            return Err(FidaError::Length);
        }
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(FidaError::NotDigits);
        }
        Ok(Self(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a card serial number is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardSerialError {
    /// Not 4 to 16 characters.
    #[error("a card serial number has 4 to 16 characters")]
    Length,
    /// A character other than ASCII digits and upper-case letters.
    #[error("a card serial number has ASCII digits and upper-case letters only")]
    Characters,
}

/// A card serial number: 4 to 16 ASCII digits and upper-case letters (the reference profiles
/// issue a profile letter and 9 digits, e.g. `N000000001`). Not redacted: the host sends it to
/// the issuer and shows it to identify the card.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardSerial(String);

impl CardSerial {
    /// Parses user input or the card's encoding.
    pub fn from_card(bytes: &[u8]) -> Result<Self, CardSerialError> {
        if !(4..=16).contains(&bytes.len()) {
            return Err(CardSerialError::Length);
        }
        if !bytes
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            return Err(CardSerialError::Characters);
        }
        Ok(Self(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// Parses text.
    pub fn parse(input: &str) -> Result<Self, CardSerialError> {
        Self::from_card(input.as_bytes())
    }

    /// The serial number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A country code of ISO 3166-1 alpha-3 form: three ASCII upper-case letters (`AFG`, `IRQ`).
/// Only the form is checked, not the list of assigned codes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 3]);

impl CountryCode {
    /// Parses three ASCII upper-case letters.
    pub fn from_card(bytes: &[u8]) -> Option<Self> {
        let code: [u8; 3] = bytes.try_into().ok()?;
        code.iter()
            .all(u8::is_ascii_uppercase)
            .then_some(Self(code))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

macro_rules! text_type {
    ($ty:ident, $parse:expr, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                let parse: fn(&str) -> Option<$ty> = $parse;
                parse(&text).ok_or_else(|| serde::de::Error::custom(concat!("invalid ", $what)))
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                let parse: fn(&str) -> Option<$ty> = $parse;
                parse(text).ok_or_else(|| concat!("invalid ", $what).to_owned())
            }
        }
    };
}

text_type!(
    NationalCode,
    |t| NationalCode::parse(t).ok(),
    "national code"
);
text_type!(Fida, |t| Fida::parse(t).ok(), "FIDA");
text_type!(
    CardSerial,
    |t| CardSerial::parse(t).ok(),
    "card serial number"
);
text_type!(
    CountryCode,
    |t| CountryCode::from_card(t.as_bytes()),
    "ISO 3166-1 alpha-3 code"
);

impl fmt::Debug for NationalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NationalCode(..)")
    }
}

impl fmt::Debug for Fida {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fida(..)")
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CountryCode(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn national_code_vectors() {
        for valid in ["0076229645", "1583250689", "0018465986"] {
            assert_eq!(
                NationalCode::parse(valid).map(|c| c.to_string()),
                Ok(valid.to_owned())
            );
        }
        assert_eq!(
            NationalCode::parse("1234567890"),
            Err(NationalCodeError::CheckDigit)
        );
        for d in 0..=9u8 {
            let same = d.to_string().repeat(10);
            assert_eq!(
                NationalCode::parse(&same),
                Err(NationalCodeError::AllIdentical)
            );
        }
        // 8 and 9 digits are left-padded.
        assert_eq!(
            NationalCode::parse("76229645").map(|c| c.to_string()),
            Ok("0076229645".to_owned())
        );
        assert_eq!(
            NationalCode::parse("18465986").map(|c| c.to_string()),
            Ok("0018465986".to_owned())
        );
        assert_eq!(
            NationalCode::parse("7622964"),
            Err(NationalCodeError::Length)
        );
        assert_eq!(
            NationalCode::parse("00762296450"),
            Err(NationalCodeError::Length)
        );
        assert_eq!(
            NationalCode::parse("00762a9645"),
            Err(NationalCodeError::NotDigits)
        );
        // Cards carry exactly 10 digits.
        assert_eq!(
            NationalCode::from_card(b"76229645"),
            Err(NationalCodeError::Length)
        );
        assert_eq!(
            format!("{:?}", NationalCode::parse("0076229645")),
            "Ok(NationalCode(..))"
        );
        assert_eq!(
            NationalCode::from_first_nine([0, 0, 7, 6, 2, 2, 9, 6, 4]).map(|c| c.to_string()),
            Ok("0076229645".to_owned())
        );
    }

    #[test]
    fn fida_and_serial_formats() {
        assert!(Fida::parse("123456789012").is_ok());
        assert_eq!(Fida::parse("12345678901"), Err(FidaError::Length));
        assert_eq!(Fida::parse("12345678901x"), Err(FidaError::NotDigits));
        assert!(CardSerial::parse("N000000001").is_ok());
        assert_eq!(CardSerial::parse("n0001"), Err(CardSerialError::Characters));
        assert_eq!(CardSerial::parse("N01"), Err(CardSerialError::Length));
        assert!(CountryCode::from_card(b"AFG").is_some());
        assert!(CountryCode::from_card(b"AF").is_none());
        assert!(CountryCode::from_card(b"afg").is_none());
    }

    proptest! {
        #[test]
        fn every_completed_code_is_valid(nine in proptest::array::uniform9(0u8..10)) {
            match NationalCode::from_first_nine(nine) {
                Ok(code) => {
                    prop_assert_eq!(NationalCode::parse(code.as_str()), Ok(code.clone()));
                    // A wrong tenth digit is rejected.
                    let mut bytes = code.as_str().as_bytes().to_vec();
                    if let Some(last) = bytes.last_mut() {
                        *last = b'0' + (*last - b'0' + 1) % 10;
                    }
                    prop_assert!(NationalCode::from_card(&bytes).is_err());
                }
                Err(e) => prop_assert_eq!(e, NationalCodeError::AllIdentical),
            }
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,14}") {
            let _ = NationalCode::parse(&text);
            let _ = Fida::parse(&text);
            let _ = CardSerial::parse(&text);
        }
    }
}
