//! Response APDUs (ISO/IEC 7816-4:2020, clause 5.1).

use std::fmt;

use crate::StatusWord;

/// A response APDU: response data and the status word.
///
/// `Debug` shows the status word and the data length only: response data may be personal.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    data: Vec<u8>,
    sw: StatusWord,
}

/// Why bytes are not a response APDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// Fewer than the two status bytes.
    #[error("response APDU of {0} bytes has no status word")]
    TooShort(usize),
}

impl Response {
    /// A response from its parts.
    pub fn new(data: impl Into<Vec<u8>>, sw: StatusWord) -> Self {
        Self {
            data: data.into(),
            sw,
        }
    }

    /// A response carrying only a status word.
    pub const fn status(sw: StatusWord) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }

    /// Splits `data ‖ SW1 SW2`.
    pub fn parse(bytes: &[u8]) -> Result<Self, ResponseError> {
        match bytes {
            [data @ .., sw1, sw2] => Ok(Self::new(data, StatusWord::from_bytes(*sw1, *sw2))),
            _ => Err(ResponseError::TooShort(bytes.len())),
        }
    }

    /// `data ‖ SW1 SW2`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }

    /// Response data (may be personal: never log it).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Takes the response data.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The status word.
    pub const fn sw(&self) -> StatusWord {
        self.sw
    }

    /// True when the status word is `9000`.
    pub const fn is_success(&self) -> bool {
        self.sw.is_success()
    }

    /// Adds data in front of what this response carries (used when joining GET RESPONSE parts).
    pub(crate) fn prepend(&mut self, mut head: Vec<u8>) {
        head.append(&mut self.data);
        self.data = head;
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("len", &self.data.len())
            .field("sw", &self.sw)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_trailer() {
        let r = Response::parse(&[1, 2, 0x90, 0]);
        assert_eq!(r, Ok(Response::new(vec![1, 2], StatusWord::SUCCESS)));
        assert_eq!(Response::parse(&[0x90]), Err(ResponseError::TooShort(1)));
        assert!(!format!("{:?}", Response::new(vec![0x42; 3], StatusWord::SUCCESS)).contains("42"));
    }

    proptest! {
        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            match Response::parse(&bytes) {
                Ok(r) => prop_assert_eq!(r.to_bytes(), bytes),
                Err(_) => prop_assert!(bytes.len() < 2),
            }
        }
    }
}
