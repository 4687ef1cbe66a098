//! Application identifiers, file identifiers and paths (ISO/IEC 7816-4:2020, clauses 7.2 and
//! 12.2.3; ISO/IEC 7816-5).
//!
//! Text forms are hex: upper case when written, either case when read. A path is written with
//! `/` between file identifiers (`3F00/5015/4401`) and read with or without them.

use std::fmt;
use std::str::FromStr;

/// Why bytes or text are not an AID, a file identifier or a path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// An AID of other than 5 to 16 bytes.
    #[error("an AID has 5 to 16 bytes, not {0}")]
    AidLength(usize),
    /// `3FFF` (reserved for the current DF in paths) or `FFFF` (reserved) as a file identifier.
    #[error("file identifier {0:04X} is reserved")]
    ReservedFileId(u16),
    /// A path with no file identifier.
    #[error("empty path")]
    EmptyPath,
    /// A path of an odd number of bytes.
    #[error("a path is a sequence of 2-byte file identifiers, not {0} bytes")]
    OddPathLength(usize),
    /// The MF identifier `3F00` after the start of a path.
    #[error("3F00 (MF) at position {position} of a path; it may only come first")]
    MfNotFirst {
        /// Index of the file identifier in the path.
        position: usize,
    },
    /// Text that is not the expected hex.
    #[error("invalid hex text at character {position}")]
    InvalidText {
        /// Byte offset in the text.
        position: usize,
    },
}

/// Decodes hex text with an even number of digits, either case.
fn decode_hex(text: &str) -> Result<Vec<u8>, FileError> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for (n, pair) in bytes.chunks(2).enumerate() {
        let position = 2 * n;
        match pair {
            [high, low] => {
                let high = digit(*high).ok_or(FileError::InvalidText { position })?;
                let low = digit(*low).ok_or(FileError::InvalidText {
                    position: position + 1,
                })?;
                out.push(high << 4 | low);
            }
            _ => return Err(FileError::InvalidText { position }),
        }
    }
    Ok(out)
}

/// An application identifier (ISO/IEC 7816-4, 12.2.3; ISO/IEC 7816-5): 5 to 16 bytes, a
/// registered application provider identifier (RID) of 5 bytes and a proprietary application
/// identifier extension (PIX) of up to 11 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aid {
    // Bytes past `len` are zero, so derived comparisons see the AID bytes only.
    bytes: [u8; Aid::MAX_LEN],
    len: u8,
}

impl Aid {
    /// The shortest AID: a RID alone.
    pub const MIN_LEN: usize = 5;
    /// The longest AID.
    pub const MAX_LEN: usize = 16;

    /// An AID from its bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, FileError> {
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&bytes.len()) {
            return Err(FileError::AidLength(bytes.len()));
        }
        let mut out = Self {
            bytes: [0; Self::MAX_LEN],
            len: 0,
        };
        for (slot, b) in out.bytes.iter_mut().zip(bytes) {
            *slot = *b;
        }
        out.len = u8::try_from(bytes.len()).map_err(|_| FileError::AidLength(bytes.len()))?;
        Ok(out)
    }

    /// The AID bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The registered application provider identifier, the first 5 bytes.
    pub fn rid(&self) -> [u8; 5] {
        let [a, b, c, d, e, ..] = self.bytes;
        [a, b, c, d, e]
    }

    /// The proprietary application identifier extension, the bytes after the RID.
    pub fn pix(&self) -> &[u8] {
        self.as_bytes().get(Self::MIN_LEN..).unwrap_or_default()
    }
}

impl TryFrom<&[u8]> for Aid {
    type Error = FileError;
    fn try_from(bytes: &[u8]) -> Result<Self, FileError> {
        Self::new(bytes)
    }
}

impl AsRef<[u8]> for Aid {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl FromStr for Aid {
    type Err = FileError;
    fn from_str(text: &str) -> Result<Self, FileError> {
        Self::new(&decode_hex(text)?)
    }
}

impl fmt::Display for Aid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_bytes()
            .iter()
            .try_for_each(|b| write!(f, "{b:02X}"))
    }
}

impl fmt::Debug for Aid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aid({self})")
    }
}

/// A file identifier (ISO/IEC 7816-4, 7.2.1): two bytes, neither `3FFF` (reserved for the
/// current DF in paths) nor `FFFF` (reserved).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(u16);

impl FileId {
    /// `3F00`, the master file.
    pub const MF: Self = Self(0x3F00);
    /// `2F00`, EF.DIR, the application directory under the MF (ISO/IEC 7816-4, 12.2.2).
    pub const EF_DIR: Self = Self(0x2F00);
    /// `2F01`, EF.ATR/INFO under the MF (ISO/IEC 7816-4, 12.2.2).
    pub const EF_ATR: Self = Self(0x2F01);

    /// A file identifier from its value.
    pub const fn new(value: u16) -> Result<Self, FileError> {
        match value {
            0x3FFF | 0xFFFF => Err(FileError::ReservedFileId(value)),
            _ => Ok(Self(value)),
        }
    }

    /// A file identifier from its two bytes.
    pub const fn from_bytes(bytes: [u8; 2]) -> Result<Self, FileError> {
        Self::new(u16::from_be_bytes(bytes))
    }

    /// The 16-bit value.
    pub const fn value(self) -> u16 {
        self.0
    }

    /// The two bytes as they travel on the wire.
    pub const fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// True for `3F00`.
    pub const fn is_mf(self) -> bool {
        self.0 == Self::MF.0
    }
}

impl TryFrom<u16> for FileId {
    type Error = FileError;
    fn try_from(value: u16) -> Result<Self, FileError> {
        Self::new(value)
    }
}

impl FromStr for FileId {
    type Err = FileError;
    fn from_str(text: &str) -> Result<Self, FileError> {
        match decode_hex(text)?.as_slice() {
            [high, low] => Self::from_bytes([*high, *low]),
            _ => Err(FileError::InvalidText {
                position: text.len().min(4),
            }),
        }
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

impl fmt::Debug for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileId({self})")
    }
}

/// A path (ISO/IEC 7816-4, 7.2.2): a non-empty sequence of file identifiers, absolute when it
/// starts with the MF `3F00`, otherwise relative to the current DF. `3F00` appears at the start
/// only.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path(Vec<FileId>);

impl Path {
    /// A path from its file identifiers.
    pub fn new(ids: impl Into<Vec<FileId>>) -> Result<Self, FileError> {
        let ids = ids.into();
        if ids.is_empty() {
            return Err(FileError::EmptyPath);
        }
        if let Some(position) = ids.iter().skip(1).position(|id| id.is_mf()) {
            return Err(FileError::MfNotFirst {
                position: position + 1,
            });
        }
        Ok(Self(ids))
    }

    /// A path from the concatenated file identifiers, as in SELECT by path or EF.DIR.
    pub fn parse(bytes: &[u8]) -> Result<Self, FileError> {
        if !bytes.len().is_multiple_of(2) {
            return Err(FileError::OddPathLength(bytes.len()));
        }
        let ids = bytes
            .chunks(2)
            .map(|pair| match pair {
                [high, low] => FileId::from_bytes([*high, *low]),
                // chunks(2) of an even-length slice yields pairs only.
                _ => Err(FileError::OddPathLength(bytes.len())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(ids)
    }

    /// The file identifiers.
    pub fn ids(&self) -> &[FileId] {
        &self.0
    }

    /// True when the path starts with the MF `3F00`.
    pub fn is_absolute(&self) -> bool {
        self.0.first().is_some_and(|id| id.is_mf())
    }

    /// The file identifiers after a leading `3F00`, as SELECT with P1 `08` (path from the MF)
    /// expects them; all of them for a relative path.
    pub fn without_mf(&self) -> &[FileId] {
        match self.0.split_first() {
            Some((first, rest)) if first.is_mf() => rest,
            _ => &self.0,
        }
    }

    /// The concatenated file identifiers.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|id| id.to_bytes()).collect()
    }
}

impl FromStr for Path {
    type Err = FileError;

    /// Reads `3F00/5015/4401` (four hex digits between slashes) or `3F0050154401`.
    fn from_str(text: &str) -> Result<Self, FileError> {
        if !text.contains('/') {
            if !text.len().is_multiple_of(4) {
                return Err(FileError::InvalidText {
                    position: text.len(),
                });
            }
            return Self::parse(&decode_hex(text)?);
        }
        let mut ids = Vec::new();
        let mut position = 0;
        for part in text.split('/') {
            let id = if part.len() == 4 {
                part.parse::<FileId>().map_err(|e| match e {
                    FileError::InvalidText { position: p } => FileError::InvalidText {
                        position: position + p,
                    },
                    other => other,
                })?
            } else {
                return Err(FileError::InvalidText {
                    position: position + part.len().min(4),
                });
            };
            ids.push(id);
            position += part.len() + 1;
        }
        Self::new(ids)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, id) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str("/")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({self})")
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
    fn aids() -> Result<(), FileError> {
        // PIV (NIST SP 800-73-4): RID A000000308, PIX 00001000 0100.
        let piv: Aid = "a000000308000010000100".parse()?;
        assert_eq!(piv.rid(), [0xA0, 0, 0, 0x03, 0x08]);
        assert_eq!(piv.pix(), &hex("000010000100")[..]);
        assert_eq!(piv.to_string(), "A000000308000010000100");
        assert_eq!(format!("{piv:?}"), "Aid(A000000308000010000100)");
        let rid_only = Aid::new(&hex("D276000124"))?;
        assert_eq!((rid_only.pix(), rid_only.as_bytes().len()), (&[][..], 5));
        assert!(rid_only < Aid::new(&hex("D27600012401"))?);
        assert_eq!(Aid::new(&hex("A0000003")), Err(FileError::AidLength(4)));
        assert_eq!(Aid::new(&[0; 17]), Err(FileError::AidLength(17)));
        assert_eq!(
            "A00000030".parse::<Aid>(),
            Err(FileError::InvalidText { position: 8 })
        );
        assert_eq!(
            "A0000003G8".parse::<Aid>(),
            Err(FileError::InvalidText { position: 8 })
        );
        Ok(())
    }

    #[test]
    fn file_ids() -> Result<(), FileError> {
        assert_eq!(FileId::new(0x3FFF), Err(FileError::ReservedFileId(0x3FFF)));
        assert_eq!(FileId::new(0xFFFF), Err(FileError::ReservedFileId(0xFFFF)));
        assert_eq!("3f00".parse::<FileId>()?, FileId::MF);
        assert_eq!(FileId::from_bytes([0x50, 0x15])?.to_string(), "5015");
        assert_eq!(format!("{:?}", FileId::new(0x2F00)?), "FileId(2F00)");
        assert_eq!(
            "3FFF".parse::<FileId>(),
            Err(FileError::ReservedFileId(0x3FFF))
        );
        assert!("3F0".parse::<FileId>().is_err() && "3F0000".parse::<FileId>().is_err());
        Ok(())
    }

    #[test]
    fn paths() -> Result<(), FileError> {
        let p: Path = "3F00/5015/4401".parse()?;
        assert_eq!(p, "3f0050154401".parse()?);
        assert_eq!(p, Path::parse(&hex("3F00 5015 4401"))?);
        assert!(p.is_absolute());
        assert_eq!(p.to_bytes(), hex("3F0050154401"));
        assert_eq!(p.to_string(), "3F00/5015/4401");
        assert_eq!(format!("{p:?}"), "Path(3F00/5015/4401)");
        assert_eq!(
            p.without_mf(),
            &[FileId::new(0x5015)?, FileId::new(0x4401)?][..]
        );
        let relative = Path::parse(&hex("5015 4401"))?;
        assert!(!relative.is_absolute());
        assert_eq!(relative.without_mf().len(), 2);
        assert_eq!(Path::parse(&[]), Err(FileError::EmptyPath));
        assert_eq!(
            Path::parse(&hex("3F0050")),
            Err(FileError::OddPathLength(3))
        );
        assert_eq!(
            Path::parse(&hex("3F00 3FFF")),
            Err(FileError::ReservedFileId(0x3FFF))
        );
        assert_eq!(
            Path::parse(&hex("5015 3F00")),
            Err(FileError::MfNotFirst { position: 1 })
        );
        assert_eq!(
            "3F00/501".parse::<Path>(),
            Err(FileError::InvalidText { position: 8 })
        );
        assert_eq!(
            "3F00/50X5".parse::<Path>(),
            Err(FileError::InvalidText { position: 7 })
        );
        assert_eq!(
            "3F00//5015".parse::<Path>(),
            Err(FileError::InvalidText { position: 5 })
        );
        assert_eq!(
            "3F005".parse::<Path>(),
            Err(FileError::InvalidText { position: 5 })
        );
        assert_eq!("".parse::<Path>(), Err(FileError::EmptyPath));
        Ok(())
    }

    fn file_id() -> impl Strategy<Value = FileId> {
        any::<u16>().prop_filter_map("reserved", |v| FileId::new(v).ok().filter(|id| !id.is_mf()))
    }

    fn path() -> impl Strategy<Value = Path> {
        (any::<bool>(), proptest::collection::vec(file_id(), 1..6)).prop_filter_map(
            "non-empty",
            |(absolute, mut ids)| {
                if absolute {
                    ids.insert(0, FileId::MF);
                }
                Path::new(ids).ok()
            },
        )
    }

    proptest! {
        #[test]
        fn path_round_trips(p in path()) {
            prop_assert_eq!(Path::parse(&p.to_bytes()), Ok(p.clone()));
            prop_assert_eq!(p.to_string().parse::<Path>(), Ok(p.clone()));
            prop_assert_eq!(p.to_string().replace('/', "").parse::<Path>(), Ok(p.clone()));
            prop_assert_eq!(p.is_absolute(), p.ids().first() == Some(&FileId::MF));
        }

        #[test]
        fn aid_round_trips(bytes in proptest::collection::vec(any::<u8>(), 5..=16)) {
            let aid = Aid::new(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(aid.as_bytes(), &bytes[..]);
            prop_assert_eq!(aid.to_string().parse::<Aid>(), Ok(aid));
            prop_assert_eq!([&aid.rid()[..], aid.pix()].concat(), bytes);
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40), text in "[0-9A-Fa-f/xX]{0,24}") {
            if let Ok(p) = Path::parse(&bytes) {
                prop_assert_eq!(p.to_bytes(), bytes.clone());
            }
            if let Ok(p) = text.parse::<Path>() {
                prop_assert_eq!(p.to_string().parse::<Path>(), Ok(p));
            }
            if let Ok(aid) = text.parse::<Aid>() {
                prop_assert_eq!(aid.to_string(), text.to_uppercase());
            }
            let _ = (Aid::new(&bytes), text.parse::<FileId>());
        }
    }
}
