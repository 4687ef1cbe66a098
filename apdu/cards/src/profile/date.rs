//! Calendar dates: Gregorian and Solar Hijri (Jalali), and the conversion between them.
//!
//! The Jalali calendar is the official calendar of Iran (Solar Hijri, 12 months: six of 31
//! days, five of 30, Esfand of 29 or 30). Leap years follow the astronomical vernal equinox;
//! the conversion here is the arithmetic of Kazimierz Borkowski's algorithm ("The Persian
//! calendar for 3000 years", Earth, Moon and Planets 74, 1996) as used by the jalaali-js
//! library, with its table of 33-year-cycle break years, which agrees with the astronomical
//! calendar for the years −61 to 3177 AP. Outside [`JalaliDate::MIN_YEAR`] to
//! [`JalaliDate::MAX_YEAR`] dates are rejected rather than guessed.
//!
//! Dates travel on cards as 8 ASCII digits `YYYYMMDD` and in JSON as `YYYY-MM-DD`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a date is not valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// Not `YYYYMMDD` (card) or `YYYY-MM-DD` (text).
    #[error("a date is written YYYY-MM-DD (or YYYYMMDD on a card)")]
    Format,
    /// A month outside 1 to 12, a day outside the month, or a year outside the supported range.
    #[error("no such day in the calendar")]
    OutOfRange,
}

/// A day of the Gregorian calendar, year 1 to 9999.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GregorianDate {
    year: u16,
    month: u8,
    day: u8,
}

/// A day of the Solar Hijri (Jalali) calendar, years [`JalaliDate::MIN_YEAR`] to
/// [`JalaliDate::MAX_YEAR`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JalaliDate {
    year: u16,
    month: u8,
    day: u8,
}

const fn is_gregorian_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn gregorian_month_len(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_gregorian_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Julian day number of a proleptic Gregorian date (Fliegel and Van Flandern, 1968).
fn gregorian_to_jdn(year: i64, month: i64, day: i64) -> i64 {
    let a = (month - 14) / 12;
    (1461 * (year + 4800 + a)) / 4 + (367 * (month - 2 - 12 * a)) / 12
        - (3 * ((year + 4900 + a) / 100)) / 4
        + day
        - 32075
}

/// Julian day numbers of 0001-01-01 and 9999-12-31 (Gregorian): the range the arithmetic below
/// is used on, far from any overflow.
const JDN_RANGE: std::ops::RangeInclusive<i64> = 1_721_426..=5_373_484;

fn check_jdn(jdn: i64) -> Result<(), DateError> {
    JDN_RANGE
        .contains(&jdn)
        .then_some(())
        .ok_or(DateError::OutOfRange)
}

/// The proleptic Gregorian date of a Julian day number (Fliegel and Van Flandern, 1968).
fn jdn_to_gregorian(jdn: i64) -> (i64, i64, i64) {
    let l = jdn + 68569;
    let n = (4 * l) / 146_097;
    let l = l - (146_097 * n + 3) / 4;
    let i = (4000 * (l + 1)) / 1_461_001;
    let l = l - (1461 * i) / 4 + 31;
    let j = (80 * l) / 2447;
    let day = l - (2447 * j) / 80;
    let l = j / 11;
    let month = j + 2 - 12 * l;
    let year = 100 * (n - 49) + i + l;
    (year, month, day)
}

impl GregorianDate {
    /// A date, checked.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, DateError> {
        if !(1..=9999).contains(&year)
            || day == 0
            || day > gregorian_month_len(i64::from(year), month)
        {
            return Err(DateError::OutOfRange);
        }
        Ok(Self { year, month, day })
    }

    /// The year.
    pub const fn year(self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub const fn month(self) -> u8 {
        self.month
    }

    /// The day of the month.
    pub const fn day(self) -> u8 {
        self.day
    }

    /// The Julian day number (days since 1 January 4713 BC, Julian calendar).
    pub fn julian_day(self) -> i64 {
        gregorian_to_jdn(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        )
    }

    /// The date of a Julian day number.
    pub fn from_julian_day(jdn: i64) -> Result<Self, DateError> {
        check_jdn(jdn)?;
        let (y, m, d) = jdn_to_gregorian(jdn);
        Self::new(
            u16::try_from(y).map_err(|_| DateError::OutOfRange)?,
            u8::try_from(m).map_err(|_| DateError::OutOfRange)?,
            u8::try_from(d).map_err(|_| DateError::OutOfRange)?,
        )
    }

    /// The same day in the Jalali calendar.
    pub fn to_jalali(self) -> Result<JalaliDate, DateError> {
        JalaliDate::from_julian_day(self.julian_day())
    }

    /// The date `days` days later (earlier when negative).
    pub fn add_days(self, days: i64) -> Result<Self, DateError> {
        Self::from_julian_day(self.julian_day().saturating_add(days))
    }

    /// The date `years` years later, 28 February for 29 February in a common year.
    pub fn add_years(self, years: i32) -> Result<Self, DateError> {
        let year = i32::from(self.year)
            .checked_add(years)
            .and_then(|y| u16::try_from(y).ok())
            .ok_or(DateError::OutOfRange)?;
        let day = self
            .day
            .min(gregorian_month_len(i64::from(year), self.month));
        Self::new(year, self.month, day)
    }

    /// Today in UTC, from the system clock.
    pub fn today_utc() -> Result<Self, DateError> {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| DateError::OutOfRange)?
            .as_secs();
        let days = i64::try_from(secs / 86_400).map_err(|_| DateError::OutOfRange)?;
        // 1970-01-01 is Julian day 2 440 588.
        Self::from_julian_day(2_440_588 + days)
    }

    /// Parses `YYYYMMDD` (8 ASCII digits), the card format.
    pub fn from_card(bytes: &[u8]) -> Result<Self, DateError> {
        let (y, m, d) = parse_compact(bytes)?;
        Self::new(y, m, d)
    }

    /// `YYYYMMDD`, the card format.
    pub fn to_card(self) -> [u8; 8] {
        to_compact(self.year, self.month, self.day)
    }
}

fn parse_compact(bytes: &[u8]) -> Result<(u16, u8, u8), DateError> {
    if bytes.len() != 8 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(DateError::Format);
    }
    let num = |range: std::ops::Range<usize>| -> u16 {
        bytes
            .get(range)
            .unwrap_or_default()
            .iter()
            .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'))
    };
    let month = u8::try_from(num(4..6)).map_err(|_| DateError::Format)?;
    let day = u8::try_from(num(6..8)).map_err(|_| DateError::Format)?;
    Ok((num(0..4), month, day))
}

fn to_compact(year: u16, month: u8, day: u8) -> [u8; 8] {
    let mut out = [b'0'; 8];
    let text = format!("{year:04}{month:02}{day:02}");
    for (slot, b) in out.iter_mut().zip(text.bytes()) {
        *slot = b;
    }
    out
}

fn parse_text(text: &str) -> Result<(u16, u8, u8), DateError> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return Err(DateError::Format);
    }
    let compact: Vec<u8> = bytes.iter().copied().filter(|b| *b != b'-').collect();
    parse_compact(&compact)
}

/// The break years of the Jalali 33-year cycles (Borkowski; jalaali-js `breaks`).
const BREAKS: [i64; 20] = [
    -61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210, 1635, 2060, 2097, 2192, 2262, 2324,
    2394, 2456, 3178,
];

/// For Jalali year `jy`: whether it is leap, the Gregorian year of its start, and the day of
/// March of that Gregorian year on which Farvardin 1 falls (jalaali-js `jalCal`).
fn jal_cal(jy: i64) -> Option<(bool, i64, i64)> {
    let first = *BREAKS.first()?;
    let last = *BREAKS.last()?;
    if jy < first || jy >= last {
        return None;
    }
    let gy = jy + 621;
    let mut leap_j: i64 = -14;
    let mut jp = first;
    let mut jump = 0;
    let mut found = false;
    for &jm in BREAKS.iter().skip(1) {
        jump = jm - jp;
        if jy < jm {
            found = true;
            break;
        }
        leap_j += (jump / 33) * 8 + (jump % 33) / 4;
        jp = jm;
    }
    if !found {
        return None;
    }
    let mut n = jy - jp;
    leap_j += (n / 33) * 8 + ((n % 33) + 3) / 4;
    if jump % 33 == 4 && jump - n == 4 {
        leap_j += 1;
    }
    let leap_g = gy / 4 - ((gy / 100 + 1) * 3) / 4 - 150;
    let march = 20 + leap_j - leap_g;
    if jump - n < 6 {
        n = n - jump + ((jump + 4) / 33) * 33;
    }
    let mut leap = (((n + 1) % 33) - 1) % 4;
    if leap == -1 {
        leap = 4;
    }
    Some((leap == 0, gy, march))
}

impl JalaliDate {
    /// The first supported year (Borkowski's table starts at −61; we stop at 1 AP).
    pub const MIN_YEAR: u16 = 1;
    /// The last supported year.
    pub const MAX_YEAR: u16 = 3177;

    /// A date, checked.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, DateError> {
        if !(Self::MIN_YEAR..=Self::MAX_YEAR).contains(&year) {
            return Err(DateError::OutOfRange);
        }
        let len = Self::month_len(year, month).ok_or(DateError::OutOfRange)?;
        if day == 0 || day > len {
            return Err(DateError::OutOfRange);
        }
        Ok(Self { year, month, day })
    }

    /// True when Esfand has 30 days in `year`; `None` outside the supported range.
    pub fn is_leap_year(year: u16) -> Option<bool> {
        jal_cal(i64::from(year)).map(|(leap, _, _)| leap)
    }

    /// The number of days of `month` in `year`; `None` for a month outside 1 to 12 or a year
    /// outside the supported range.
    pub fn month_len(year: u16, month: u8) -> Option<u8> {
        match month {
            1..=6 => Some(31),
            7..=11 => Some(30),
            12 => Some(if Self::is_leap_year(year)? { 30 } else { 29 }),
            _ => None,
        }
    }

    /// The year.
    pub const fn year(self) -> u16 {
        self.year
    }

    /// The month, 1 (Farvardin) to 12 (Esfand).
    pub const fn month(self) -> u8 {
        self.month
    }

    /// The day of the month.
    pub const fn day(self) -> u8 {
        self.day
    }

    /// The Julian day number.
    pub fn julian_day(self) -> Result<i64, DateError> {
        let (_, gy, march) = jal_cal(i64::from(self.year)).ok_or(DateError::OutOfRange)?;
        let month = i64::from(self.month);
        let before = if month <= 7 {
            (month - 1) * 31
        } else {
            (month - 7) * 30 + 186
        };
        Ok(gregorian_to_jdn(gy, 3, march) + before + i64::from(self.day) - 1)
    }

    /// The date of a Julian day number.
    pub fn from_julian_day(jdn: i64) -> Result<Self, DateError> {
        check_jdn(jdn)?;
        let (gy, _, _) = jdn_to_gregorian(jdn);
        let mut jy = gy - 621;
        let (_, _, march) = jal_cal(jy).ok_or(DateError::OutOfRange)?;
        let start = gregorian_to_jdn(gy, 3, march);
        let mut k = jdn - start;
        if k >= 0 {
            if k <= 185 {
                return Self::from_parts(jy, 1 + k / 31, k % 31 + 1);
            }
            k -= 186;
        } else {
            // Before Farvardin 1: in the second half of the previous year, whose Esfand has
            // 30 days when that year is leap.
            jy -= 1;
            k += 179;
            if jal_cal(jy).ok_or(DateError::OutOfRange)?.0 {
                k += 1;
            }
        }
        Self::from_parts(jy, 7 + k / 30, k % 30 + 1)
    }

    fn from_parts(year: i64, month: i64, day: i64) -> Result<Self, DateError> {
        Self::new(
            u16::try_from(year).map_err(|_| DateError::OutOfRange)?,
            u8::try_from(month).map_err(|_| DateError::OutOfRange)?,
            u8::try_from(day).map_err(|_| DateError::OutOfRange)?,
        )
    }

    /// The same day in the Gregorian calendar.
    pub fn to_gregorian(self) -> Result<GregorianDate, DateError> {
        GregorianDate::from_julian_day(self.julian_day()?)
    }

    /// Parses `YYYYMMDD` (8 ASCII digits), the card format.
    pub fn from_card(bytes: &[u8]) -> Result<Self, DateError> {
        let (y, m, d) = parse_compact(bytes)?;
        Self::new(y, m, d)
    }

    /// `YYYYMMDD`, the card format.
    pub fn to_card(self) -> [u8; 8] {
        to_compact(self.year, self.month, self.day)
    }
}

macro_rules! text_impls {
    ($ty:ty) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = DateError;
            fn from_str(text: &str) -> Result<Self, DateError> {
                let (y, m, d) = parse_text(text)?;
                Self::new(y, m, d)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

text_impls!(GregorianDate);
text_impls!(JalaliDate);

// Dates are personal data when they are someone's birth date: Debug shows nothing of them.
impl fmt::Debug for GregorianDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GregorianDate(..)")
    }
}

impl fmt::Debug for JalaliDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JalaliDate(..)")
    }
}

/// One day written in both calendars; the two always name the same day.
///
/// JSON: `{"gregorian": "2024-03-20", "jalali": "1403-01-01"}`; on reading, the two must agree
/// (either alone is accepted too).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    gregorian: GregorianDate,
    jalali: JalaliDate,
}

impl Date {
    /// From a Gregorian date; fails outside the Jalali range.
    pub fn from_gregorian(gregorian: GregorianDate) -> Result<Self, DateError> {
        Ok(Self {
            gregorian,
            jalali: gregorian.to_jalali()?,
        })
    }

    /// From a Jalali date.
    pub fn from_jalali(jalali: JalaliDate) -> Result<Self, DateError> {
        Ok(Self {
            gregorian: jalali.to_gregorian()?,
            jalali,
        })
    }

    /// From a Gregorian year, month, day.
    pub fn gregorian_ymd(year: u16, month: u8, day: u8) -> Result<Self, DateError> {
        Self::from_gregorian(GregorianDate::new(year, month, day)?)
    }

    /// The Gregorian date.
    pub const fn gregorian(self) -> GregorianDate {
        self.gregorian
    }

    /// The Jalali date.
    pub const fn jalali(self) -> JalaliDate {
        self.jalali
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Date(..)")
    }
}

#[derive(Serialize, Deserialize)]
struct DateRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gregorian: Option<GregorianDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jalali: Option<JalaliDate>,
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DateRepr {
            gregorian: Some(self.gregorian),
            jalali: Some(self.jalali),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let repr = DateRepr::deserialize(d)?;
        let date = match (repr.gregorian, repr.jalali) {
            (Some(g), jalali) => {
                let date = Self::from_gregorian(g).map_err(D::Error::custom)?;
                if jalali.is_some_and(|j| j != date.jalali) {
                    return Err(D::Error::custom(
                        "the Gregorian and Jalali dates name different days",
                    ));
                }
                date
            }
            (None, Some(j)) => Self::from_jalali(j).map_err(D::Error::custom)?,
            (None, None) => return Err(D::Error::custom("a date needs gregorian or jalali")),
        };
        Ok(date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn g(y: u16, m: u8, d: u8) -> GregorianDate {
        GregorianDate::new(y, m, d).expect("valid Gregorian date")
    }

    fn j(y: u16, m: u8, d: u8) -> JalaliDate {
        JalaliDate::new(y, m, d).expect("valid Jalali date")
    }

    #[test]
    fn known_pairs() {
        // Nowruz dates and other well-known conversions.
        let pairs = [
            (j(1403, 1, 1), g(2024, 3, 20)),
            (j(1402, 1, 1), g(2023, 3, 21)),
            (j(1399, 1, 1), g(2020, 3, 20)),
            (j(1357, 11, 22), g(1979, 2, 11)),
            (j(1348, 10, 11), g(1970, 1, 1)),
            (j(1403, 12, 30), g(2025, 3, 20)),
            (j(1404, 1, 1), g(2025, 3, 21)),
            (j(1395, 12, 30), g(2017, 3, 20)),
            (j(1, 1, 1), g(622, 3, 22)),
            (j(1300, 1, 1), g(1921, 3, 21)),
        ];
        for (jalali, gregorian) in pairs {
            assert_eq!(jalali.to_gregorian(), Ok(gregorian), "{jalali}");
            assert_eq!(gregorian.to_jalali(), Ok(jalali), "{gregorian}");
        }
    }

    #[test]
    fn leap_years_and_month_lengths() {
        // 1399 and 1403 are leap years (Esfand has 30 days); 1400, 1401, 1402 are not.
        for (year, leap) in [
            (1399, true),
            (1400, false),
            (1401, false),
            (1402, false),
            (1403, true),
        ] {
            assert_eq!(JalaliDate::is_leap_year(year), Some(leap), "{year}");
        }
        assert!(JalaliDate::new(1402, 12, 30).is_err());
        assert!(JalaliDate::new(1402, 7, 31).is_err());
        assert!(JalaliDate::new(1402, 6, 31).is_ok());
        assert!(JalaliDate::new(1402, 13, 1).is_err());
        assert!(JalaliDate::new(0, 1, 1).is_err());
        assert!(GregorianDate::new(2023, 2, 29).is_err());
        assert!(GregorianDate::new(2024, 2, 29).is_ok());
        assert!(GregorianDate::new(1900, 2, 29).is_err());
        assert!(GregorianDate::new(2000, 2, 29).is_ok());
    }

    #[test]
    fn formats() {
        assert_eq!(GregorianDate::from_card(b"20240320"), Ok(g(2024, 3, 20)));
        assert_eq!(&g(2024, 3, 20).to_card(), b"20240320");
        assert_eq!(GregorianDate::from_card(b"2024032"), Err(DateError::Format));
        assert_eq!(
            GregorianDate::from_card(b"2024-3-2"),
            Err(DateError::Format)
        );
        assert_eq!(
            GregorianDate::from_card(b"20241320"),
            Err(DateError::OutOfRange)
        );
        assert_eq!("1403-01-01".parse::<JalaliDate>(), Ok(j(1403, 1, 1)));
        assert_eq!(j(1403, 1, 1).to_string(), "1403-01-01");
        assert!("1403/01/01".parse::<JalaliDate>().is_err());
        let date = Date::gregorian_ymd(2024, 3, 20).expect("valid");
        let json = serde_json::to_string(&date).expect("serialises");
        assert_eq!(json, r#"{"gregorian":"2024-03-20","jalali":"1403-01-01"}"#);
        assert_eq!(serde_json::from_str::<Date>(&json).ok(), Some(date));
        assert!(
            serde_json::from_str::<Date>(r#"{"gregorian":"2024-03-20","jalali":"1403-01-02"}"#)
                .is_err()
        );
        assert_eq!(
            serde_json::from_str::<Date>(r#"{"jalali":"1403-01-01"}"#).ok(),
            Some(date)
        );
        assert_eq!(format!("{date:?}"), "Date(..)");
        assert_eq!(g(2024, 2, 29).add_years(1), Ok(g(2025, 2, 28)));
        assert_eq!(g(2024, 12, 31).add_days(1), Ok(g(2025, 1, 1)));
        assert_eq!(
            g(2024, 12, 31).add_days(i64::MAX),
            Err(DateError::OutOfRange)
        );
        assert_eq!(
            g(2024, 12, 31).add_days(i64::MIN),
            Err(DateError::OutOfRange)
        );
        assert_eq!(g(1, 1, 1).julian_day(), 1_721_426);
        assert_eq!(g(9999, 12, 31).julian_day(), 5_373_484);
        assert_eq!(
            JalaliDate::from_julian_day(i64::MIN),
            Err(DateError::OutOfRange)
        );
    }

    proptest! {
        #[test]
        fn conversion_round_trips(jdn in 1_948_321i64..3_000_000) {
            // Julian day 1 948 321 is 1 Farvardin 1 AP.
            let gregorian = GregorianDate::from_julian_day(jdn).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(gregorian.julian_day(), jdn);
            if let Ok(jalali) = gregorian.to_jalali() {
                prop_assert_eq!(jalali.julian_day(), Ok(jdn));
                prop_assert_eq!(jalali.to_gregorian(), Ok(gregorian));
                // Consecutive days stay consecutive.
                if let Ok(next) = JalaliDate::from_julian_day(jdn + 1) {
                    prop_assert!(next > jalali);
                }
            }
        }

        #[test]
        fn card_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            if let Ok(d) = GregorianDate::from_card(&bytes) {
                prop_assert_eq!(&d.to_card()[..], &bytes[..]);
            }
            if let Ok(d) = JalaliDate::from_card(&bytes) {
                prop_assert_eq!(&d.to_card()[..], &bytes[..]);
            }
        }
    }
}
