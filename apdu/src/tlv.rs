//! BER-TLV data objects (ISO/IEC 7816-4:2020, clause 6.3).
//!
//! The subset of ASN.1 BER (ISO/IEC 8825-1) that ISO/IEC 7816-4 uses:
//!
//! - tag fields of one to three bytes, in their minimal encoding (clause 6.3, table 7);
//! - length fields in short form (`00` to `7F`) or long form `81` to `84`; the indefinite form
//!   `80` is not allowed (clause 6.3, table 8). Parsing accepts a long form where the short form
//!   would do; encoding always uses the shortest form;
//! - `00` and `FF` bytes before, between and after data objects carry no meaning and are skipped
//!   (clause 6.3). `00` and `FF` are invalid as the first byte of a tag field.
//!
//! Parsing checks constructed data objects recursively, down to [`Tlv::MAX_DEPTH`] levels.
//! Values may hold personal data, so `Debug` shows tags and lengths only.

use std::fmt;
use std::iter::FusedIterator;

/// The class of a tag, bits 8 and 7 of its first byte (ISO/IEC 7816-4, 6.3, table 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TagClass {
    /// `00`: universal class (ASN.1 types such as INTEGER `02`).
    Universal,
    /// `01`: application class (interindustry data objects such as `5F2D`, `7F66`).
    Application,
    /// `10`: context-specific class.
    ContextSpecific,
    /// `11`: private class.
    Private,
}

impl TagClass {
    const fn bits(self) -> u8 {
        match self {
            Self::Universal => 0x00,
            Self::Application => 0x40,
            Self::ContextSpecific => 0x80,
            Self::Private => 0xC0,
        }
    }
}

/// A BER-TLV tag field of one to three bytes (ISO/IEC 7816-4, 6.3).
///
/// Always valid: the first byte is neither `00` nor `FF`, and multi-byte tags are minimal
/// (a two-byte tag encodes a number from 31 to 127, a three-byte tag a number from 128 to 16 383).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(u32);

/// The largest tag number a three-byte tag field can carry.
const MAX_TAG_NUMBER: u32 = 0x3FFF;

impl Tag {
    /// A tag from its bytes read as a big-endian number, e.g. `0x7F66`.
    ///
    /// The caller guarantees the value is a valid tag; unit tests check every use.
    pub(crate) const fn known(value: u32) -> Self {
        Self(value)
    }

    /// A tag from its bytes read as a big-endian number, e.g. `0x5F2D` or `0x5FC102`.
    pub fn from_u32(value: u32) -> Result<Self, TlvError> {
        let bytes: Vec<u8> = value
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        match read_tag(&bytes, 0) {
            Ok((tag, used)) if used == bytes.len() => Ok(tag),
            _ => Err(TlvError::InvalidTagValue(value)),
        }
    }

    /// A one-byte tag (`53`, `62`, `80`, …); `None` when the byte starts a longer tag or is
    /// `00`/`FF`.
    pub fn from_byte(byte: u8) -> Option<Self> {
        Self::from_u32(u32::from(byte)).ok()
    }

    /// A tag from its class, its constructed bit and its tag number (0 to 16 383), in the
    /// shortest encoding.
    pub fn from_parts(class: TagClass, constructed: bool, number: u32) -> Result<Self, TlvError> {
        let first = class.bits() | if constructed { 0x20 } else { 0 };
        let bytes: Vec<u8> = match number {
            0..=30 => vec![first | low_byte(number)],
            31..=127 => vec![first | 0x1F, low_byte(number)],
            128..=MAX_TAG_NUMBER => {
                vec![
                    first | 0x1F,
                    0x80 | low_byte(number >> 7),
                    low_byte(number) & 0x7F,
                ]
            }
            _ => return Err(TlvError::TagNumberOutOfRange(number)),
        };
        read_tag(&bytes, 0).map(|(tag, _)| tag)
    }

    /// Reads one tag field from the start of `bytes`; returns it and the bytes after it.
    pub fn parse(bytes: &[u8]) -> Result<(Self, &[u8]), TlvError> {
        let (tag, used) = read_tag(bytes, 0)?;
        Ok((tag, bytes.get(used..).unwrap_or_default()))
    }

    /// The tag bytes read as a big-endian number, e.g. `0x7F66`.
    pub const fn to_u32(self) -> u32 {
        self.0
    }

    /// The number of bytes of the tag field (1 to 3).
    pub const fn encoded_len(self) -> usize {
        if self.0 <= 0xFF {
            1
        } else if self.0 <= 0xFFFF {
            2
        } else {
            3
        }
    }

    /// The tag field as it travels on the wire.
    pub fn to_bytes(self) -> Vec<u8> {
        // The first byte of a tag is never `00`, so only leading padding is skipped.
        self.0
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect()
    }

    fn first_byte(self) -> u8 {
        self.to_bytes().first().copied().unwrap_or_default()
    }

    /// The class, bits 8 and 7 of the first byte.
    pub fn class(self) -> TagClass {
        match self.first_byte() & 0xC0 {
            0x00 => TagClass::Universal,
            0x40 => TagClass::Application,
            0x80 => TagClass::ContextSpecific,
            _ => TagClass::Private,
        }
    }

    /// True when bit 6 of the first byte is set: the value is a sequence of BER-TLV objects.
    pub fn is_constructed(self) -> bool {
        self.first_byte() & 0x20 != 0
    }

    /// The tag number (0 to 16 383).
    pub fn number(self) -> u32 {
        match self.to_bytes().as_slice() {
            [first] => u32::from(first & 0x1F),
            [_, second] => u32::from(second & 0x7F),
            [_, second, third] => (u32::from(second & 0x7F) << 7) | u32::from(third & 0x7F),
            // A tag has one to three bytes.
            _ => 0,
        }
    }
}

/// The low byte of a value known to fit (callers mask or range-check first).
fn low_byte(value: u32) -> u8 {
    value.to_be_bytes().last().copied().unwrap_or_default()
}

impl TryFrom<u32> for Tag {
    type Error = TlvError;
    fn try_from(value: u32) -> Result<Self, TlvError> {
        Self::from_u32(value)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.encoded_len() {
            1 => write!(f, "{:02X}", self.0),
            2 => write!(f, "{:04X}", self.0),
            _ => write!(f, "{:06X}", self.0),
        }
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

/// Why bytes are not well-formed BER-TLV, or a tag cannot be built.
///
/// Offsets count bytes from the start of the input given to the parser.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlvError {
    /// The input ends inside a tag field.
    #[error("BER-TLV tag field truncated at offset {offset}")]
    TagTruncated {
        /// Offset of the tag field.
        offset: usize,
    },
    /// `00` or `FF` as the first byte of a tag field (ISO/IEC 7816-4, 6.3).
    #[error("invalid first tag byte {byte:02X} at offset {offset}")]
    InvalidTag {
        /// Offset of the tag field.
        offset: usize,
        /// The offending byte.
        byte: u8,
    },
    /// A tag field longer than the three bytes ISO/IEC 7816-4 allows.
    #[error("BER-TLV tag field at offset {offset} is longer than 3 bytes")]
    TagTooLong {
        /// Offset of the tag field.
        offset: usize,
    },
    /// A multi-byte tag field that a shorter one could encode (e.g. `9F02`, `5F8001`).
    #[error("BER-TLV tag field at offset {offset} is not minimally encoded")]
    NonMinimalTag {
        /// Offset of the tag field.
        offset: usize,
    },
    /// A number that is not a valid tag encoding.
    #[error("{0:X} is not a valid BER-TLV tag")]
    InvalidTagValue(u32),
    /// A tag number above 16 383, the most a three-byte tag field carries.
    #[error("tag number {0} does not fit a three-byte tag field")]
    TagNumberOutOfRange(u32),
    /// The input ends inside a length field.
    #[error("BER-TLV length field truncated at offset {offset}")]
    LengthTruncated {
        /// Offset of the length field.
        offset: usize,
    },
    /// Length byte `80`: the indefinite form, which ISO/IEC 7816-4 does not allow.
    #[error("indefinite length at offset {offset}")]
    IndefiniteLength {
        /// Offset of the length field.
        offset: usize,
    },
    /// A length field starting `85` to `FF`.
    #[error("unsupported length form {byte:02X} at offset {offset}")]
    UnsupportedLengthForm {
        /// Offset of the length field.
        offset: usize,
        /// The first byte of the length field.
        byte: u8,
    },
    /// The length field announces more value bytes than the input holds.
    #[error("value at offset {offset} announces {length} bytes, {available} available")]
    ValueTruncated {
        /// Offset of the value field.
        offset: usize,
        /// The announced length.
        length: usize,
        /// The bytes left in the input.
        available: usize,
    },
    /// Constructed data objects nested deeper than [`Tlv::MAX_DEPTH`].
    #[error("BER-TLV data object at offset {offset} nested deeper than {limit} levels")]
    TooDeep {
        /// Offset of the data object that is too deep.
        offset: usize,
        /// The nesting limit.
        limit: usize,
    },
    /// Children were asked of a primitive data object.
    #[error("data object {tag} is primitive")]
    NotConstructed {
        /// The tag of the primitive data object.
        tag: Tag,
    },
}

/// Reads a tag field at the start of `input`, which starts at `offset` of the whole input.
fn read_tag(input: &[u8], offset: usize) -> Result<(Tag, usize), TlvError> {
    let truncated = TlvError::TagTruncated { offset };
    match input {
        [] => Err(truncated),
        [byte @ (0x00 | 0xFF), ..] => Err(TlvError::InvalidTag {
            offset,
            byte: *byte,
        }),
        [first, ..] if first & 0x1F != 0x1F => Ok((Tag(u32::from(*first)), 1)),
        [_] => Err(truncated),
        // Two-byte tag: the second byte encodes a number from 31 to 127.
        [_, second, ..] if second & 0x80 == 0 && *second < 0x1F => {
            Err(TlvError::NonMinimalTag { offset })
        }
        [first, second, ..] if second & 0x80 == 0 => {
            Ok((Tag(u32::from_be_bytes([0, 0, *first, *second])), 2))
        }
        // Three-byte tag: bits 7 to 1 of the second byte are not all zero.
        [_, 0x80, ..] => Err(TlvError::NonMinimalTag { offset }),
        [_, _] => Err(truncated),
        [_, _, third, ..] if third & 0x80 != 0 => Err(TlvError::TagTooLong { offset }),
        [first, second, third, ..] => {
            Ok((Tag(u32::from_be_bytes([0, *first, *second, *third])), 3))
        }
    }
}

/// Reads a length field at the start of `input`; returns the length and the field's size.
fn read_length(input: &[u8], offset: usize) -> Result<(usize, usize), TlvError> {
    let (&first, rest) = input
        .split_first()
        .ok_or(TlvError::LengthTruncated { offset })?;
    match first {
        0x00..=0x7F => Ok((usize::from(first), 1)),
        0x80 => Err(TlvError::IndefiniteLength { offset }),
        0x81..=0x84 => {
            let count = usize::from(first & 0x0F);
            let bytes = rest
                .get(..count)
                .ok_or(TlvError::LengthTruncated { offset })?;
            // At most four bytes: the value fits a u32.
            let value = bytes.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
            // A length that does not fit usize cannot fit the input either.
            Ok((usize::try_from(value).unwrap_or(usize::MAX), 1 + count))
        }
        _ => Err(TlvError::UnsupportedLengthForm {
            offset,
            byte: first,
        }),
    }
}

/// Appends the shortest length field for `len` (ISO/IEC 7816-4, 6.3, table 8).
///
/// Lengths above 2³² − 1 use the BER long form with eight length bytes, which ISO/IEC 7816-4
/// does not define; no smart card value comes near that size.
fn write_length(len: usize, out: &mut Vec<u8>) {
    match u32::try_from(len) {
        Ok(value @ 0..=0x7F) => out.push(low_byte(value)),
        Ok(value) => {
            let bytes = value.to_be_bytes();
            let significant: Vec<u8> = bytes.into_iter().skip_while(|b| *b == 0).collect();
            out.push(match significant.len() {
                1 => 0x81,
                2 => 0x82,
                3 => 0x83,
                _ => 0x84,
            });
            out.extend_from_slice(&significant);
        }
        Err(_) => {
            out.push(0x88);
            out.extend_from_slice(&u64::try_from(len).unwrap_or(u64::MAX).to_be_bytes());
        }
    }
}

/// The size of the shortest length field for `len`.
fn length_len(len: usize) -> usize {
    match len {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        0x100..=0xFFFF => 3,
        0x1_0000..=0xFF_FFFF => 4,
        _ if u32::try_from(len).is_ok() => 5,
        _ => 9,
    }
}

/// True for the bytes that may pad BER-TLV data (ISO/IEC 7816-4, 6.3).
const fn is_padding(byte: u8) -> bool {
    byte == 0x00 || byte == 0xFF
}

/// Parses one data object at the start of `input` (no padding skipped), checking constructed
/// values down to [`Tlv::MAX_DEPTH`]. `offset` is where `input` starts in the whole input.
fn parse_ref(input: &[u8], offset: usize, depth: usize) -> Result<(TlvRef<'_>, &[u8]), TlvError> {
    if depth > Tlv::MAX_DEPTH {
        return Err(TlvError::TooDeep {
            offset,
            limit: Tlv::MAX_DEPTH,
        });
    }
    let (tag, tag_len) = read_tag(input, offset)?;
    let after_tag = input.get(tag_len..).unwrap_or_default();
    let (len, len_len) = read_length(after_tag, offset + tag_len)?;
    let start = tag_len + len_len;
    let region = input.get(start..).unwrap_or_default();
    let value = region.get(..len).ok_or(TlvError::ValueTruncated {
        offset: offset + start,
        length: len,
        available: region.len(),
    })?;
    if tag.is_constructed() {
        check_all(value, offset + start, depth + 1)?;
    }
    Ok((TlvRef { tag, value }, region.get(len..).unwrap_or_default()))
}

/// Checks a sequence of data objects and padding, as found in a constructed value.
fn check_all(mut input: &[u8], mut offset: usize, depth: usize) -> Result<(), TlvError> {
    loop {
        let padding = input.iter().take_while(|b| is_padding(**b)).count();
        input = input.get(padding..).unwrap_or_default();
        offset += padding;
        if input.is_empty() {
            return Ok(());
        }
        let (_, rest) = parse_ref(input, offset, depth)?;
        offset += input.len() - rest.len();
        input = rest;
    }
}

/// An owned BER-TLV data object: a tag and its value bytes (ISO/IEC 7816-4, 6.3).
///
/// The value of a constructed data object is the encoding of its children; read them with
/// [`Tlv::children`], [`Tlv::find`] or [`Tlv::find_path`].
/// `Debug` shows the tag and the length only: values may be personal data.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tlv {
    tag: Tag,
    value: Vec<u8>,
}

impl Tlv {
    /// How many levels of constructed data objects parsing follows; a top-level data object is
    /// at level 1. Deeper nesting is rejected with [`TlvError::TooDeep`].
    pub const MAX_DEPTH: usize = 16;

    /// A data object from its tag and value.
    pub fn new(tag: Tag, value: impl Into<Vec<u8>>) -> Self {
        Self {
            tag,
            value: value.into(),
        }
    }

    /// A constructed data object whose value is the encoding of `children`.
    ///
    /// The caller picks a tag with the constructed bit set; it is not forced.
    pub fn constructed(tag: Tag, children: &[Tlv]) -> Self {
        let mut value = Vec::with_capacity(children.iter().map(Tlv::encoded_len).sum());
        for child in children {
            child.write_to(&mut value);
        }
        Self { tag, value }
    }

    /// Parses the data object at the start of `bytes` (a leading padding byte is an error);
    /// returns it and the bytes after it.
    pub fn parse_one(bytes: &[u8]) -> Result<(Self, &[u8]), TlvError> {
        TlvRef::parse_one(bytes).map(|(tlv, rest)| (tlv.to_tlv(), rest))
    }

    /// Parses a sequence of data objects, skipping `00` and `FF` padding around them.
    pub fn parse_all(bytes: &[u8]) -> Result<Vec<Self>, TlvError> {
        TlvRef::iter(bytes)
            .map(|tlv| tlv.map(TlvRef::to_tlv))
            .collect()
    }

    /// The tag.
    pub const fn tag(&self) -> Tag {
        self.tag
    }

    /// The value bytes (may be personal data: never log them).
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// Takes the value bytes.
    pub fn into_value(self) -> Vec<u8> {
        self.value
    }

    /// True when the tag marks a constructed data object.
    pub fn is_constructed(&self) -> bool {
        self.tag.is_constructed()
    }

    /// A borrowed view of this data object.
    pub fn view(&self) -> TlvRef<'_> {
        TlvRef {
            tag: self.tag,
            value: &self.value,
        }
    }

    /// The data objects in the value of a constructed data object.
    pub fn children(&self) -> Result<Vec<Self>, TlvError> {
        self.view()
            .children()?
            .map(|tlv| tlv.map(TlvRef::to_tlv))
            .collect()
    }

    /// The first child with `tag`; `None` when there is none, this data object is primitive, or
    /// the value is malformed before such a child.
    pub fn find(&self, tag: Tag) -> Option<TlvRef<'_>> {
        self.view().find(tag)
    }

    /// Follows `path` down through the children: `path[0]` is a child of this data object,
    /// `path[1]` a child of that one, and so on. An empty path gives this data object.
    pub fn find_path(&self, path: &[Tag]) -> Option<TlvRef<'_>> {
        self.view().find_path(path)
    }

    /// The size of the shortest length field for a value of `value_len` bytes.
    pub fn length_field_len(value_len: usize) -> usize {
        length_len(value_len)
    }

    /// The size of the encoding.
    pub fn encoded_len(&self) -> usize {
        self.tag.encoded_len() + length_len(self.value.len()) + self.value.len()
    }

    /// Appends the encoding, with the shortest length field, to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        self.view().write_to(out);
    }

    /// The encoding, with the shortest length field.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut out);
        out
    }
}

impl fmt::Debug for Tlv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tlv")
            .field("tag", &self.tag)
            .field("len", &self.value.len())
            .finish()
    }
}

impl From<TlvRef<'_>> for Tlv {
    fn from(tlv: TlvRef<'_>) -> Self {
        tlv.to_tlv()
    }
}

/// A BER-TLV data object borrowed from the bytes it was parsed from.
///
/// `Debug` shows the tag and the length only: values may be personal data.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlvRef<'a> {
    tag: Tag,
    value: &'a [u8],
}

impl<'a> TlvRef<'a> {
    /// Parses the data object at the start of `bytes` (a leading padding byte is an error);
    /// returns it and the bytes after it.
    pub fn parse_one(bytes: &'a [u8]) -> Result<(Self, &'a [u8]), TlvError> {
        parse_ref(bytes, 0, 1)
    }

    /// Iterates over a sequence of data objects, skipping `00` and `FF` padding around them.
    /// The iterator yields the first error and then stops.
    pub fn iter(bytes: &'a [u8]) -> TlvIter<'a> {
        TlvIter {
            rest: bytes,
            offset: 0,
            done: false,
        }
    }

    /// The tag.
    pub const fn tag(&self) -> Tag {
        self.tag
    }

    /// The value bytes (may be personal data: never log them).
    pub const fn value(&self) -> &'a [u8] {
        self.value
    }

    /// True when the tag marks a constructed data object.
    pub fn is_constructed(&self) -> bool {
        self.tag.is_constructed()
    }

    /// An iterator over the data objects in the value of a constructed data object.
    pub fn children(&self) -> Result<TlvIter<'a>, TlvError> {
        if self.is_constructed() {
            Ok(Self::iter(self.value))
        } else {
            Err(TlvError::NotConstructed { tag: self.tag })
        }
    }

    /// The first child with `tag`; `None` when there is none, this data object is primitive, or
    /// the value is malformed before such a child.
    pub fn find(&self, tag: Tag) -> Option<Self> {
        self.children()
            .ok()?
            .map_while(Result::ok)
            .find(|child| child.tag == tag)
    }

    /// Follows `path` down through the children: `path[0]` is a child of this data object,
    /// `path[1]` a child of that one, and so on. An empty path gives this data object.
    pub fn find_path(&self, path: &[Tag]) -> Option<Self> {
        path.iter()
            .try_fold(*self, |current, tag| current.find(*tag))
    }

    /// An owned copy.
    pub fn to_tlv(self) -> Tlv {
        Tlv {
            tag: self.tag,
            value: self.value.to_vec(),
        }
    }

    /// Appends the encoding, with the shortest length field, to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend(self.tag.to_bytes());
        write_length(self.value.len(), out);
        out.extend_from_slice(self.value);
    }
}

impl fmt::Debug for TlvRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlvRef")
            .field("tag", &self.tag)
            .field("len", &self.value.len())
            .finish()
    }
}

/// An iterator over a sequence of BER-TLV data objects; see [`TlvRef::iter`].
#[derive(Clone)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<TlvRef<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let padding = self.rest.iter().take_while(|b| is_padding(**b)).count();
        self.rest = self.rest.get(padding..).unwrap_or_default();
        self.offset += padding;
        if self.rest.is_empty() {
            self.done = true;
            return None;
        }
        match parse_ref(self.rest, self.offset, 1) {
            Ok((tlv, rest)) => {
                self.offset += self.rest.len() - rest.len();
                self.rest = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl FusedIterator for TlvIter<'_> {}

impl fmt::Debug for TlvIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlvIter")
            .field("offset", &self.offset)
            .field("left", &self.rest.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_tags() {
        assert_eq!(Tag::from_byte(0x53).map(Tag::to_u32), Some(0x53));
        assert_eq!(Tag::from_byte(0x62).map(Tag::is_constructed), Some(true));
        // 5F starts a two-byte tag; 00 and FF are padding.
        assert_eq!(Tag::from_byte(0x5F), None);
        assert_eq!(Tag::from_byte(0x00), None);
        assert_eq!(Tag::from_byte(0xFF), None);
        assert_eq!(Tlv::length_field_len(127), 1);
        assert_eq!(Tlv::length_field_len(128), 2);
        assert_eq!(Tlv::length_field_len(40_000), 3);
    }
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap_or_default()
    }

    fn tag(value: u32) -> Tag {
        Tag::from_u32(value).unwrap_or(Tag(0x01))
    }

    #[test]
    fn tags_of_one_two_and_three_bytes() -> Result<(), TlvError> {
        let bytes = hex("5A 01");
        let (t, rest) = Tag::parse(&bytes)?;
        assert_eq!(
            (t.class(), t.is_constructed(), t.number(), rest),
            (TagClass::Application, false, 26, &[1][..])
        );
        let (t, _) = Tag::parse(&hex("5F2D"))?;
        assert_eq!(
            (t.class(), t.number(), t.encoded_len()),
            (TagClass::Application, 0x2D, 2)
        );
        let (t, _) = Tag::parse(&hex("7F66"))?;
        assert_eq!(
            (t.is_constructed(), t.number(), t.to_string()),
            (true, 0x66, "7F66".to_owned())
        );
        let (t, _) = Tag::parse(&hex("5FC102"))?;
        assert_eq!(
            (t.number(), t.encoded_len(), t.to_bytes()),
            ((0x41 << 7) | 2, 3, hex("5FC102"))
        );
        assert_eq!(
            Tag::parse(&hex("BF1F"))?.0.class(),
            TagClass::ContextSpecific
        );
        assert_eq!(
            Tag::from_parts(TagClass::Application, true, 0x66)?,
            tag(0x7F66)
        );
        assert_eq!(Tag::from_parts(TagClass::Universal, false, 2)?, tag(0x02));
        assert_eq!(
            Tag::from_parts(TagClass::Private, false, 200)?.to_bytes(),
            hex("DF8148")
        );
        assert_eq!(format!("{:?}", tag(0x5F2D)), "Tag(5F2D)");
        Ok(())
    }

    #[test]
    fn rejects_bad_tags() {
        assert_eq!(
            Tag::parse(&hex("9F02")),
            Err(TlvError::NonMinimalTag { offset: 0 })
        );
        assert_eq!(
            Tag::parse(&hex("5F80 01")),
            Err(TlvError::NonMinimalTag { offset: 0 })
        );
        assert_eq!(
            Tag::parse(&hex("5F81 81 01")),
            Err(TlvError::TagTooLong { offset: 0 })
        );
        assert_eq!(
            Tag::parse(&hex("00")),
            Err(TlvError::InvalidTag { offset: 0, byte: 0 })
        );
        assert_eq!(
            Tag::parse(&hex("FF")),
            Err(TlvError::InvalidTag {
                offset: 0,
                byte: 0xFF
            })
        );
        assert_eq!(
            Tag::parse(&hex("5F")),
            Err(TlvError::TagTruncated { offset: 0 })
        );
        assert_eq!(
            Tag::parse(&hex("5F81")),
            Err(TlvError::TagTruncated { offset: 0 })
        );
        assert_eq!(Tag::parse(&[]), Err(TlvError::TagTruncated { offset: 0 }));
        assert_eq!(
            Tag::from_u32(0x9F02),
            Err(TlvError::InvalidTagValue(0x9F02))
        );
        assert_eq!(
            Tag::from_u32(0x0101),
            Err(TlvError::InvalidTagValue(0x0101))
        );
        assert_eq!(Tag::from_u32(0), Err(TlvError::InvalidTagValue(0)));
        assert_eq!(
            Tag::from_parts(TagClass::Universal, false, 0),
            Err(TlvError::InvalidTag { offset: 0, byte: 0 })
        );
        assert_eq!(
            Tag::from_parts(TagClass::Private, true, 31),
            Err(TlvError::InvalidTag {
                offset: 0,
                byte: 0xFF
            })
        );
        assert_eq!(
            Tag::from_parts(TagClass::Private, false, 0x4000),
            Err(TlvError::TagNumberOutOfRange(0x4000))
        );
    }

    #[test]
    fn crate_constants_are_valid_tags() {
        for t in [
            crate::atr::EXTENDED_LENGTH_INFO_TAG,
            crate::atr::INTEGER_TAG,
        ] {
            assert_eq!(Tag::from_u32(t.to_u32()), Ok(t));
        }
    }

    #[test]
    fn lengths_short_and_long() -> Result<(), TlvError> {
        let bytes = hex("5A 03 010203 99");
        let (t, rest) = Tlv::parse_one(&bytes)?;
        assert_eq!(
            (t.tag(), t.value(), rest),
            (tag(0x5A), &hex("010203")[..], &[0x99][..])
        );
        let long = [hex("5A 81 80"), vec![7; 128]].concat();
        assert_eq!(Tlv::parse_one(&long)?.0.value().len(), 128);
        let long = [hex("5A 82 0100"), vec![7; 256]].concat();
        assert_eq!(Tlv::parse_one(&long)?.0.value().len(), 256);
        let long = [hex("5A 83 010000"), vec![7; 65_536]].concat();
        assert_eq!(Tlv::parse_one(&long)?.0.value().len(), 65_536);
        let long = [hex("5A 84 00010001"), vec![7; 65_537]].concat();
        assert_eq!(
            Tlv::parse_one(&long)?.0.to_bytes().get(..5),
            Some(&hex("5A 83 010001")[..])
        );
        // A long form where the short form would do is accepted, and re-encoded short.
        let (t, _) = Tlv::parse_one(&hex("5A 81 01 42"))?;
        assert_eq!(t.to_bytes(), hex("5A 01 42"));
        assert_eq!(
            Tlv::new(tag(0x5A), vec![0; 127]).to_bytes().get(..2),
            Some(&hex("5A 7F")[..])
        );
        assert_eq!(
            Tlv::new(tag(0x5A), vec![0; 255]).to_bytes().get(..3),
            Some(&hex("5A 81 FF")[..])
        );
        Ok(())
    }

    #[test]
    fn rejects_bad_lengths() {
        assert_eq!(
            Tlv::parse_one(&hex("5A 80 00 00")),
            Err(TlvError::IndefiniteLength { offset: 1 })
        );
        assert_eq!(
            Tlv::parse_one(&hex("5A 85 0000000001 00")),
            Err(TlvError::UnsupportedLengthForm {
                offset: 1,
                byte: 0x85
            })
        );
        assert_eq!(
            Tlv::parse_one(&hex("5A 82 01")),
            Err(TlvError::LengthTruncated { offset: 1 })
        );
        assert_eq!(
            Tlv::parse_one(&hex("5A")),
            Err(TlvError::LengthTruncated { offset: 1 })
        );
        assert_eq!(
            Tlv::parse_one(&hex("5F2D 03 6465")),
            Err(TlvError::ValueTruncated {
                offset: 3,
                length: 3,
                available: 2
            })
        );
        assert_eq!(
            Tlv::parse_one(&hex("5A 84 FFFFFFFF 00")),
            Err(TlvError::ValueTruncated {
                offset: 6,
                length: 0xFFFF_FFFF,
                available: 1
            })
        );
    }

    #[test]
    fn nested_objects_and_lookups() -> Result<(), TlvError> {
        // An FCI template: 6F { 84 DF name, A5 { 50 label "AB" } }.
        let bytes = hex("6F 0C 84 02 A000 A5 06 FF 50 02 4142 00");
        let all = Tlv::parse_all(&bytes)?;
        assert_eq!(all.len(), 1, "{all:?}");
        let fci = all.first().ok_or(TlvError::TagTruncated { offset: 0 })?;
        assert_eq!(fci.children()?.len(), 2);
        assert_eq!(
            fci.find(tag(0x84)).map(|t| t.value()),
            Some(&hex("A000")[..])
        );
        assert_eq!(
            fci.find_path(&[tag(0xA5), tag(0x50)]).map(|t| t.value()),
            Some(&b"AB"[..])
        );
        assert_eq!(fci.find_path(&[tag(0xA5), tag(0x51)]), None);
        assert_eq!(fci.find_path(&[]).map(TlvRef::to_tlv).as_ref(), Some(fci));
        let label = fci.find_path(&[tag(0xA5), tag(0x50)]).map(TlvRef::to_tlv);
        assert_eq!(
            label.map(|l| l.children()),
            Some(Err(TlvError::NotConstructed { tag: tag(0x50) }))
        );
        // Errors inside a constructed value carry offsets into the whole input.
        assert_eq!(
            Tlv::parse_all(&hex("00 6F 04 A5 02 50 05")),
            Err(TlvError::ValueTruncated {
                offset: 7,
                length: 5,
                available: 0
            })
        );
        Ok(())
    }

    #[test]
    fn builds_constructed_objects() {
        let fci = Tlv::constructed(
            tag(0x6F),
            &[
                Tlv::new(tag(0x84), hex("A000000308")),
                Tlv::constructed(tag(0xA5), &[Tlv::new(tag(0x50), *b"PIV")]),
            ],
        );
        assert_eq!(
            fci.to_bytes(),
            hex("6F 0E 84 05 A000000308 A5 05 50 03 504956")
        );
        assert_eq!(fci.encoded_len(), fci.to_bytes().len());
    }

    #[test]
    fn skips_padding_between_objects() -> Result<(), TlvError> {
        let all = Tlv::parse_all(&hex("00 FF 5A 01 42 FF FF 5F20 00 00"))?;
        assert_eq!(
            all,
            vec![Tlv::new(tag(0x5A), [0x42]), Tlv::new(tag(0x5F20), [])]
        );
        assert_eq!(Tlv::parse_all(&hex("FF FF 00"))?, vec![]);
        assert_eq!(
            Tlv::parse_one(&hex("00 5A 00")),
            Err(TlvError::InvalidTag { offset: 0, byte: 0 })
        );
        Ok(())
    }

    #[test]
    fn depth_is_limited() -> Result<(), TlvError> {
        fn nest(levels: usize) -> Tlv {
            (1..levels).fold(Tlv::new(tag(0x5A), [1]), |inner, _| {
                Tlv::constructed(tag(0x70), &[inner])
            })
        }
        let ok = nest(Tlv::MAX_DEPTH).to_bytes();
        assert_eq!(Tlv::parse_all(&ok)?.len(), 1);
        let deep = nest(Tlv::MAX_DEPTH + 1).to_bytes();
        assert_eq!(
            Tlv::parse_all(&deep),
            Err(TlvError::TooDeep {
                offset: 2 * Tlv::MAX_DEPTH,
                limit: Tlv::MAX_DEPTH
            })
        );
        // A constructed object at the last level may be empty.
        let empty = (1..Tlv::MAX_DEPTH).fold(Tlv::new(tag(0x70), []), |inner, _| {
            Tlv::constructed(tag(0x70), &[inner])
        });
        assert!(Tlv::parse_one(&empty.to_bytes()).is_ok());
        // A long run of nested headers is rejected without exhausting the stack.
        let bomb = [0x70, 0x80].repeat(100_000);
        assert!(Tlv::parse_all(&bomb).is_err());
        let bomb: Vec<u8> = std::iter::repeat_n([0x70u8, 0x02], 10_000)
            .flatten()
            .collect();
        assert!(Tlv::parse_all(&bomb).is_err());
        Ok(())
    }

    #[test]
    fn debug_hides_values() {
        let tlv = Tlv::new(tag(0x5F20), *b"SECRET NAME");
        let shown = format!("{tlv:?} {:?}", tlv.view());
        assert_eq!(
            shown,
            "Tlv { tag: Tag(5F20), len: 11 } TlvRef { tag: Tag(5F20), len: 11 }"
        );
    }

    fn any_tag(constructed: bool) -> impl Strategy<Value = Tag> {
        let class = prop_oneof![
            Just(TagClass::Universal),
            Just(TagClass::Application),
            Just(TagClass::ContextSpecific),
            Just(TagClass::Private)
        ];
        let number = prop_oneof![0u32..=30, 31u32..=127, 128u32..=MAX_TAG_NUMBER];
        (class, number).prop_filter_map("00 and FF first bytes are invalid", move |(c, n)| {
            Tag::from_parts(c, constructed, n).ok()
        })
    }

    fn any_tlv() -> impl Strategy<Value = Tlv> {
        let leaf = (
            any_tag(false),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(t, v)| Tlv::new(t, v));
        leaf.prop_recursive(4, 32, 4, |inner| {
            (any_tag(true), proptest::collection::vec(inner, 0..4))
                .prop_map(|(t, children)| Tlv::constructed(t, &children))
        })
    }

    proptest! {
        #[test]
        fn tag_round_trips(t in any_tag(false), c in any::<bool>()) {
            // A private constructed tag above 30 would start with FF, which is invalid.
            let built = Tag::from_parts(t.class(), c, t.number());
            prop_assert!(built.is_ok() || (t.class() == TagClass::Private && c && t.number() > 30));
            let Ok(t) = built else { return Ok(()) };
            let bytes = t.to_bytes();
            prop_assert_eq!(bytes.len(), t.encoded_len());
            prop_assert_eq!(Tag::parse(&bytes), Ok((t, &[][..])));
            prop_assert_eq!(Tag::from_u32(t.to_u32()), Ok(t));
            prop_assert_eq!(t.is_constructed(), c);
        }

        #[test]
        fn round_trips(list in proptest::collection::vec(any_tlv(), 0..4), pad in 0usize..3) {
            let mut bytes = Vec::new();
            for tlv in &list {
                bytes.extend(std::iter::repeat_n(0xFF, pad));
                prop_assert_eq!(tlv.encoded_len(), tlv.to_bytes().len());
                tlv.write_to(&mut bytes);
            }
            bytes.extend(std::iter::repeat_n(0x00, pad));
            prop_assert_eq!(Tlv::parse_all(&bytes), Ok(list.clone()));
            if let Some(first) = list.first() {
                let encoded = first.to_bytes();
                prop_assert_eq!(Tlv::parse_one(&encoded), Ok((first.clone(), &[][..])));
                if first.is_constructed() {
                    let children = first.children().map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(Tlv::constructed(first.tag(), &children), first.clone());
                }
            }
        }

        #[test]
        fn length_round_trips(len in prop_oneof![0usize..300, 60_000usize..70_000]) {
            let mut field = Vec::new();
            write_length(len, &mut field);
            prop_assert_eq!(field.len(), length_len(len));
            prop_assert_eq!(read_length(&field, 0), Ok((len, field.len())));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(list) = Tlv::parse_all(&bytes) {
                let again: Vec<u8> = list.iter().flat_map(Tlv::to_bytes).collect();
                prop_assert_eq!(Tlv::parse_all(&again), Ok(list.clone()));
                for tlv in &list {
                    if tlv.is_constructed() {
                        prop_assert!(tlv.children().is_ok());
                    }
                }
            }
            let _ = Tlv::parse_one(&bytes);
            let _ = Tag::parse(&bytes);
        }

        #[test]
        fn structured_noise_never_panics(
            bytes in proptest::collection::vec(
                prop_oneof![Just(0x70u8), Just(0x5A), Just(0x81), Just(0x00), Just(0xFF), Just(0x02), any::<u8>()],
                0..200,
            )
        ) {
            let _ = Tlv::parse_all(&bytes);
        }
    }
}
