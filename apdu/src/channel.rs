//! The channel: ISO/IEC 7816-4 transmission rules above a raw [`Transport`].
//!
//! - `61XX` answers are completed with GET RESPONSE (clause 5.3.4, 11.7.1);
//! - `6CXX` answers are re-sent with the exact Le the card gave (clause 5.6);
//! - command data longer than one command carries is sent with command chaining (clause 5.3.3);
//! - files longer than one response are read with a READ BINARY loop, with extended length when
//!   the card offers it (ATR card capabilities or EF.ATR, clause 12.7), and odd-INS `B1` with an
//!   offset data object beyond offset 32767 (clause 11.3.3).
//!
//! Nothing here logs command or response data: at TRACE level only headers, lengths and
//! status words appear.

use tracing::trace;

use crate::{
    Atr, Command, CommandError, ExtendedLengthInfo, FileError, FileId, Path, Response,
    ResponseError, StatusWord, Tag, Tlv, TlvError, Transport, TransportError,
};

/// Class bit b5: more commands of a chain follow (ISO/IEC 7816-4, 5.4.1).
const CLA_CHAINING: u8 = 0x10;
/// GET RESPONSE instruction.
const INS_GET_RESPONSE: u8 = 0xC0;
/// How many `61XX`/`6CXX` round trips one command may cause before the card is deemed broken.
const MAX_FOLLOW_UPS: usize = 1024;
/// The highest offset READ BINARY `B0` can address in P1-P2.
const MAX_EVEN_OFFSET: usize = 0x7FFF;

/// Whether to use extended-length APDUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExtendedLength {
    /// Use them when the card declares them (ATR or EF.ATR) and the reader does not refuse them.
    #[default]
    Auto,
    /// Per-reader override: always (a reader known to pass them, a card that does not declare them).
    Always,
    /// Per-reader override: never (a reader known to break on them).
    Never,
}

/// Channel settings; [`ChannelConfig::default`] suits almost every card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelConfig {
    /// Extended-length policy (the per-reader override).
    pub extended_length: ExtendedLength,
    /// Read EF.ATR (`3F00/2F01`) when the ATR does not tell whether extended length is supported,
    /// or says that EF.ATR holds the limits. This selects the MF: do it before selecting an
    /// application.
    pub read_ef_atr: bool,
    /// Largest response (in bytes, all GET RESPONSE parts joined) the channel accepts.
    pub max_response_len: usize,
    /// Largest file [`Channel::read_file`] reads.
    pub max_file_len: usize,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        Self {
            extended_length: ExtendedLength::Auto,
            read_ef_atr: true,
            max_response_len: 1 << 20,
            max_file_len: 16 << 20,
        }
    }
}

/// Failures of a channel operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The transport failed (card removed, service gone, timeout, …).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The command cannot be encoded.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The card answered with fewer than two bytes.
    #[error("malformed response from the card: {0}")]
    Response(#[from] ResponseError),
    /// The card answered an operation with an unexpected status word.
    #[error("{operation} failed: {sw}")]
    Status {
        /// The operation, in the specification's words.
        operation: &'static str,
        /// What the card answered.
        sw: StatusWord,
    },
    /// The card sent data that breaks the rules of ISO/IEC 7816-4.
    #[error("the card broke protocol: {reason}")]
    CardProtocol {
        /// What was wrong.
        reason: &'static str,
    },
    /// The card sent a malformed BER-TLV structure where one was required.
    #[error("malformed data object from the card")]
    Tlv(#[from] TlvError),
    /// A file path or identifier that cannot be used.
    #[error(transparent)]
    File(#[from] FileError),
    /// More data than the configured limit.
    #[error("response longer than the limit of {limit} bytes")]
    TooLong {
        /// The limit that was reached.
        limit: usize,
    },
}

/// What the channel learnt about the card and reader.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Extended-length APDUs are used.
    pub extended_length: bool,
    /// Largest command data field per APDU (before chaining).
    pub max_command_data: usize,
    /// Largest Ne per APDU.
    pub max_response_data: usize,
}

impl Capabilities {
    const SHORT: Self = Self {
        extended_length: false,
        max_command_data: 255,
        max_response_data: 256,
    };

    fn extended(info: Option<ExtendedLengthInfo>) -> Self {
        // EF.ATR counts whole APDUs: a command header with extended Lc and Le takes 4 + 3 + 2
        // bytes, a response trailer 2.
        let max_command_data = info
            .map_or(crate::EXTENDED_MAX_DATA, |i| {
                usize::try_from(i.max_command_bytes())
                    .unwrap_or(usize::MAX)
                    .saturating_sub(9)
            })
            .max(255);
        let max_response_data = info
            .map_or(crate::EXTENDED_MAX_LE, |i| {
                usize::try_from(i.max_response_bytes())
                    .unwrap_or(usize::MAX)
                    .saturating_sub(2)
            })
            .max(256);
        Self {
            extended_length: true,
            max_command_data,
            max_response_data,
        }
    }
}

/// A card conversation over a [`Transport`], following ISO/IEC 7816-4's transmission rules.
pub struct Channel<T: Transport> {
    transport: T,
    config: ChannelConfig,
    caps: Capabilities,
}

impl<T: Transport> Channel<T> {
    /// A channel with short APDUs only, until [`Channel::negotiate`] learns more.
    pub fn new(transport: T, config: ChannelConfig) -> Self {
        let caps = match config.extended_length {
            ExtendedLength::Always => Capabilities::extended(None),
            ExtendedLength::Auto | ExtendedLength::Never => Capabilities::SHORT,
        };
        Self {
            transport,
            config,
            caps,
        }
    }

    /// Opens a channel and decides on extended length from the override, the reader, the ATR and,
    /// when the ATR does not tell, EF.ATR (which leaves the MF selected).
    pub fn open(transport: T, config: ChannelConfig) -> Result<Self, ChannelError> {
        let mut channel = Self::new(transport, config);
        channel.negotiate()?;
        Ok(channel)
    }

    /// Decides on extended length (see [`Channel::open`]).
    pub fn negotiate(&mut self) -> Result<Capabilities, ChannelError> {
        self.caps = match self.config.extended_length {
            ExtendedLength::Always => Capabilities::extended(None),
            ExtendedLength::Never => Capabilities::SHORT,
            ExtendedLength::Auto if self.transport.limits().extended_length == Some(false) => {
                Capabilities::SHORT
            }
            ExtendedLength::Auto => self.card_capabilities()?,
        };
        trace!(caps = ?self.caps, "channel capabilities");
        Ok(self.caps)
    }

    fn card_capabilities(&mut self) -> Result<Capabilities, ChannelError> {
        let atr = self.transport.atr()?;
        // A malformed ATR is not fatal to a conversation: it merely tells nothing.
        let capabilities = Atr::parse(&atr)
            .ok()
            .and_then(|atr| atr.historical().ok())
            .and_then(|historical| historical.card_capabilities());
        let from_atr = capabilities.and_then(|c| c.extended_lc_le());
        match from_atr {
            Some(false) => Ok(Capabilities::SHORT),
            // The ATR says yes; EF.ATR bounds the sizes only where the ATR says it holds them,
            // so a card that does not say so costs no APDU here.
            Some(true) => {
                let in_ef_atr = capabilities.and_then(|c| c.extended_length_info_in_ef_atr());
                let info = if in_ef_atr == Some(true) && self.config.read_ef_atr {
                    self.ef_atr_info()?
                } else {
                    None
                };
                Ok(Capabilities::extended(info))
            }
            // The ATR does not tell: EF.ATR's extended length information, if any, decides.
            None if self.config.read_ef_atr => Ok(match self.ef_atr_info()? {
                Some(info) => Capabilities::extended(Some(info)),
                None => Capabilities::SHORT,
            }),
            None => Ok(Capabilities::SHORT),
        }
    }

    /// Reads the extended length information (`7F66`) from EF.ATR, if the card has one.
    fn ef_atr_info(&mut self) -> Result<Option<ExtendedLengthInfo>, ChannelError> {
        let path = Path::new([FileId::MF, FileId::EF_ATR])?;
        let content = match self.read_file(&path) {
            Ok(content) => content,
            Err(ChannelError::Status { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(ExtendedLengthInfo::parse(&content).ok())
    }

    /// What the channel uses.
    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    /// The transport underneath.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// Sends a command and returns the card's complete answer: GET RESPONSE for `61XX`,
    /// re-send for `6CXX`, command chaining when the data does not fit one APDU. The status
    /// word is returned as it is, successful or not.
    pub fn transmit(&mut self, command: &Command) -> Result<Response, ChannelError> {
        let chunk = self.caps.max_command_data;
        if command.data().len() <= chunk {
            return self.transmit_one(command);
        }
        let mut parts = command.data().chunks(chunk).peekable();
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            let mut link = Command::new(command.cla(), command.ins(), command.p1(), command.p2())
                .with_data(part);
            if last {
                if let Some(ne) = command.le() {
                    link = link.with_le(ne);
                }
            } else {
                link = link.with_cla(command.cla() | CLA_CHAINING);
            }
            let response = self.transmit_one(&link)?;
            if last || !response.is_success() {
                return Ok(response);
            }
        }
        // Unreachable in practice: the data is non-empty, so the loop returned on its last part.
        Err(ChannelError::CardProtocol {
            reason: "empty command chain",
        })
    }

    fn encode(&self, command: &Command) -> Result<Vec<u8>, ChannelError> {
        let command = match command.le() {
            // Without extended length, ask for what one short response carries; the rest comes
            // with GET RESPONSE or another READ BINARY.
            Some(ne) if ne > self.caps.max_response_data => {
                command.clone().with_le(self.caps.max_response_data)
            }
            _ => command.clone(),
        };
        Ok(if self.caps.extended_length {
            command.to_bytes()?
        } else {
            command.to_short_bytes()?
        })
    }

    fn send(&mut self, command: &Command) -> Result<Response, ChannelError> {
        let bytes = self.encode(command)?;
        trace!(
            cla = command.cla(),
            ins = command.ins(),
            p1 = command.p1(),
            p2 = command.p2(),
            nc = command.data().len(),
            ne = command.le(),
            "command"
        );
        let response = Response::parse(&self.transport.transmit(&bytes)?)?;
        trace!(len = response.data().len(), sw = %response.sw(), "response");
        Ok(response)
    }

    fn transmit_one(&mut self, command: &Command) -> Result<Response, ChannelError> {
        let mut response = self.send(command)?;
        let mut follow_ups = 0;
        // 6CXX: the card tells the exact Le; send the same command again with it. A card that
        // asks again for the Le it was just given is broken.
        let mut le_sent = command.le();
        while let Some(exact) = response.sw().exact_length() {
            if le_sent == Some(exact) {
                return Err(ChannelError::CardProtocol {
                    reason: "6CXX repeated",
                });
            }
            le_sent = Some(exact);
            response = self.send(&command.clone().with_le(exact))?;
        }
        // 61XX: more data waits; fetch it with GET RESPONSE on the same logical channel.
        let mut data = Vec::new();
        while let Some(available) = response.sw().bytes_available() {
            follow_ups += 1;
            if follow_ups > MAX_FOLLOW_UPS {
                return Err(ChannelError::CardProtocol {
                    reason: "61XX without end",
                });
            }
            data.extend_from_slice(response.data());
            if data.len() > self.config.max_response_len {
                return Err(ChannelError::TooLong {
                    limit: self.config.max_response_len,
                });
            }
            let mut get_response =
                Command::new(command.cla() & 0x03, INS_GET_RESPONSE, 0, 0).with_le(available);
            response = self.send(&get_response)?;
            if let Some(exact) = response.sw().exact_length() {
                get_response = get_response.with_le(exact);
                response = self.send(&get_response)?;
            }
        }
        if !data.is_empty() {
            response.prepend(data);
        }
        Ok(response)
    }

    /// Sends a command and requires `9000`, returning the response data.
    pub fn transmit_ok(
        &mut self,
        command: &Command,
        operation: &'static str,
    ) -> Result<Vec<u8>, ChannelError> {
        let response = self.transmit(command)?;
        if response.is_success() {
            Ok(response.into_data())
        } else {
            Err(ChannelError::Status {
                operation,
                sw: response.sw(),
            })
        }
    }

    /// SELECT by DF name (application identifier), P1 `04`, returning the FCI the card sent.
    pub fn select_aid(&mut self, aid: &crate::Aid) -> Result<Vec<u8>, ChannelError> {
        let command = Command::new(0x00, 0xA4, 0x04, 0x00)
            .with_data(aid.as_bytes())
            .with_le(256);
        self.transmit_ok(&command, "SELECT")
    }

    /// SELECT by path (P1 `08` from the MF for absolute paths, `09` from the current DF
    /// otherwise), asking for the FCP (P2 `04`) and returning it.
    pub fn select_path(&mut self, path: &Path) -> Result<Vec<u8>, ChannelError> {
        let ids = path.ids();
        let (p1, ids) = match ids {
            [FileId::MF] => (0x00, ids),
            [FileId::MF, rest @ ..] => (0x08, rest),
            _ => (0x09, ids),
        };
        let data: Vec<u8> = ids.iter().flat_map(|id| id.to_bytes()).collect();
        let command = Command::new(0x00, 0xA4, p1, 0x04)
            .with_data(data)
            .with_le(256);
        self.transmit_ok(&command, "SELECT")
    }

    /// SELECT a file by its identifier under the current DF (P1 `00`), returning the FCP.
    pub fn select_file(&mut self, id: FileId) -> Result<Vec<u8>, ChannelError> {
        let command = Command::new(0x00, 0xA4, 0x00, 0x04)
            .with_data(id.to_bytes())
            .with_le(256);
        self.transmit_ok(&command, "SELECT")
    }

    /// One READ BINARY of the current EF at `offset`, asking for up to `ne` bytes of the file: `B0` up to
    /// offset 32767, odd-INS `B1` with an offset data object `54` beyond. Returns the card's
    /// answer with the data unwrapped from the `53` object for `B1`.
    pub fn read_binary(&mut self, offset: usize, ne: usize) -> Result<Response, ChannelError> {
        if offset <= MAX_EVEN_OFFSET {
            // offset <= 0x7FFF: the two bytes are the offset's big-endian encoding.
            let [_, _, hi, lo] = u32::try_from(offset).unwrap_or(0).to_be_bytes();
            return self.transmit(&Command::new(0x00, 0xB0, hi, lo).with_le(ne));
        }
        let offset = u32::try_from(offset).map_err(|_| CommandError::DataTooLong(offset))?;
        let offset_do = Tlv::new(Tag::known(0x54), minimal_be(offset)).to_bytes();
        // The answer carries the data inside a `53` object: leave room for its header (tag and
        // up to three length bytes), within what one response may carry.
        let ne = ne.saturating_add(4).min(self.caps.max_response_data);
        let command = Command::new(0x00, 0xB1, 0x00, 0x00)
            .with_data(offset_do)
            .with_le(ne);
        let response = self.transmit(&command)?;
        if response.data().is_empty() {
            return Ok(response);
        }
        let sw = response.sw();
        let (object, _) = Tlv::parse_one(response.data())?;
        if object.tag() != Tag::known(0x53) {
            return Err(ChannelError::CardProtocol {
                reason: "READ BINARY B1 answer is not a 53 object",
            });
        }
        Ok(Response::new(object.into_value(), sw))
    }

    /// Reads the whole EF at `path`: SELECT with FCP, then READ BINARY until the size the FCP
    /// gives, or until the card signals the end of the file when the FCP gives none.
    pub fn read_file(&mut self, path: &Path) -> Result<Vec<u8>, ChannelError> {
        let fcp = self.select_path(path)?;
        let size = file_size(&fcp)?;
        self.read_selected(size)
    }

    /// Reads the current EF from offset 0 to `size`, or to its end when `size` is `None`.
    pub fn read_selected(&mut self, size: Option<usize>) -> Result<Vec<u8>, ChannelError> {
        let limit = self.config.max_file_len;
        if size.is_some_and(|size| size > limit) {
            return Err(ChannelError::TooLong { limit });
        }
        let mut content = Vec::with_capacity(size.unwrap_or(0).min(limit));
        loop {
            let want = match size {
                Some(size) if content.len() >= size => break,
                Some(size) => (size - content.len()).min(self.caps.max_response_data),
                None => self.caps.max_response_data,
            };
            let response = self.read_binary(content.len(), want)?;
            let got = response.data().len();
            match response.sw() {
                StatusWord::SUCCESS => {}
                // End of file reached before Ne bytes: what came is the rest.
                StatusWord::END_OF_FILE => {
                    content.extend_from_slice(response.data());
                    break;
                }
                // Offset at or beyond the end: the previous read ended the file exactly.
                StatusWord::WRONG_P1_P2 | StatusWord::INCORRECT_P1_P2
                    if size.is_none() && !content.is_empty() =>
                {
                    break;
                }
                sw => {
                    return Err(ChannelError::Status {
                        operation: "READ BINARY",
                        sw,
                    });
                }
            }
            if got == 0 {
                return Err(ChannelError::CardProtocol {
                    reason: "READ BINARY returned no data",
                });
            }
            content.extend_from_slice(response.data());
            if content.len() > limit {
                return Err(ChannelError::TooLong { limit });
            }
            if size.is_none() && got < want {
                break;
            }
        }
        if let Some(size) = size {
            content.truncate(size);
        }
        Ok(content)
    }
}

/// The file size from an FCP or FCI (`80`: data bytes, or `81`), if it has one.
pub fn file_size(fci: &[u8]) -> Result<Option<usize>, ChannelError> {
    if fci.is_empty() {
        return Ok(None);
    }
    let (template, _) = Tlv::parse_one(fci)?;
    if !matches!(template.tag().to_u32(), 0x62 | 0x6F | 0x64) {
        return Err(ChannelError::CardProtocol {
            reason: "SELECT answer is not an FCP/FCI template",
        });
    }
    let children = template.children()?;
    let size = children
        .iter()
        .find(|tlv| matches!(tlv.tag().to_u32(), 0x80 | 0x81))
        .map(|tlv| {
            tlv.value()
                .iter()
                .take(8)
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        });
    Ok(size)
}

fn minimal_be(value: u32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|b| **b == 0).count();
    bytes.get(skip..).unwrap_or_default().to_vec()
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// A transport that checks each command against a script and answers from it.
    struct Scripted {
        atr: Vec<u8>,
        script: VecDeque<(Vec<u8>, Vec<u8>)>,
    }

    impl Scripted {
        fn new(steps: &[(&str, &str)]) -> Self {
            let decode = |s: &str| hex::decode(s.replace(' ', "")).unwrap_or_default();
            Self {
                // No historical bytes: declares nothing.
                atr: vec![0x3B, 0x00],
                script: steps.iter().map(|(c, r)| (decode(c), decode(r))).collect(),
            }
        }
    }

    impl Transport for Scripted {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            let Some((expected, response)) = self.script.pop_front() else {
                return Err(TransportError::CardRemoved);
            };
            assert_eq!(
                hex::encode_upper(command),
                hex::encode_upper(&expected),
                "unexpected command"
            );
            Ok(response)
        }
        fn atr(&mut self) -> Result<Vec<u8>, TransportError> {
            Ok(self.atr.clone())
        }
        fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
            Ok(self.atr.clone())
        }
    }

    fn short(transport: Scripted) -> Channel<Scripted> {
        Channel::new(
            transport,
            ChannelConfig {
                read_ef_atr: false,
                ..ChannelConfig::default()
            },
        )
    }

    #[test]
    fn joins_get_response_parts() -> Result<(), ChannelError> {
        let mut channel = short(Scripted::new(&[
            ("00CA010000", "0102 6102"),
            ("00C0000002", "0304 6101"),
            ("00C0000001", "05 9000"),
        ]));
        let response = channel.transmit(&Command::new(0, 0xCA, 1, 0).with_le(256))?;
        assert_eq!(response.data(), [1, 2, 3, 4, 5]);
        assert!(response.is_success());
        assert!(channel.transport_mut().script.is_empty());
        Ok(())
    }

    #[test]
    fn resends_with_exact_le() -> Result<(), ChannelError> {
        let mut channel = short(Scripted::new(&[
            ("00B0000000", "6C03"),
            ("00B0000003", "AABBCC 9000"),
        ]));
        let response = channel.transmit(&Command::new(0, 0xB0, 0, 0).with_le(256))?;
        assert_eq!(response.data(), [0xAA, 0xBB, 0xCC]);
        Ok(())
    }

    #[test]
    fn a_card_repeating_6cxx_is_a_protocol_error() {
        let mut channel = short(Scripted::new(&[
            ("00B0000000", "6C03"),
            ("00B0000003", "6C03"),
        ]));
        let result = channel.transmit(&Command::new(0, 0xB0, 0, 0).with_le(256));
        assert!(
            matches!(result, Err(ChannelError::CardProtocol { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn endless_61xx_is_cut_off() {
        let steps: Vec<(&str, &str)> = std::iter::once(("00CA010000", "00 6101"))
            .chain(std::iter::repeat_n(("00C0000001", "00 6101"), 2000))
            .collect();
        let mut channel = short(Scripted::new(&steps));
        let result = channel.transmit(&Command::new(0, 0xCA, 1, 0).with_le(256));
        assert!(
            matches!(result, Err(ChannelError::CardProtocol { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn chains_long_data_in_short_mode() -> Result<(), ChannelError> {
        let data = vec![0x5A; 300];
        let first = format!("10D60000FF{}", "5A".repeat(255));
        let last = format!("00D600002D{}", "5A".repeat(45));
        let mut channel = short(Scripted::new(&[(&first, "9000"), (&last, "9000")]));
        let response = channel.transmit(&Command::new(0, 0xD6, 0, 0).with_data(data))?;
        assert!(response.is_success());
        Ok(())
    }

    #[test]
    fn chain_stops_at_first_refusal() -> Result<(), ChannelError> {
        let first = format!("10D60000FF{}", "00".repeat(255));
        let mut channel = short(Scripted::new(&[(&first, "6884")]));
        let response = channel.transmit(&Command::new(0, 0xD6, 0, 0).with_data(vec![0; 300]))?;
        assert_eq!(response.sw(), StatusWord::CHAINING_NOT_SUPPORTED);
        Ok(())
    }

    #[test]
    fn reads_a_file_with_fcp_size_across_b1() -> Result<(), ChannelError> {
        // FCP: size 0x8002 (32770 bytes). Reads of 256 up to 32767, then B1 at 0x8000.
        let mut steps: Vec<(String, String)> = vec![(
            "00A4080404 0102 0304 00".into(),
            "620B8002800282010183020304 9000".into(),
        )];
        let mut offset = 0usize;
        while offset <= MAX_EVEN_OFFSET {
            let want = (32770 - offset).min(256);
            steps.push((
                format!("00B0{offset:04X}{:02X}", want % 256),
                format!("{} 9000", "11".repeat(want.min(0x8000 - offset))),
            ));
            offset += want.min(0x8000 - offset);
        }
        steps.push(("00B10000 04 54028000 06".into(), "5302 2222 9000".into()));
        let steps: Vec<(&str, &str)> = steps
            .iter()
            .map(|(c, r)| (c.as_str(), r.as_str()))
            .collect();
        let mut channel = short(Scripted::new(&steps));
        let path: Path = "3F00/0102/0304"
            .parse()
            .map_err(|_| ChannelError::CardProtocol { reason: "path" })?;
        let content = channel.read_file(&path)?;
        assert_eq!(content.len(), 32770);
        assert_eq!(content.get(32768..), Some(&[0x22, 0x22][..]));
        Ok(())
    }

    #[test]
    fn reads_to_end_of_file_without_size() -> Result<(), ChannelError> {
        let mut channel = short(Scripted::new(&[
            ("00B0000000", &format!("{} 9000", "AB".repeat(256))),
            ("00B0010000", "ABAB 6282"),
        ]));
        let content = channel.read_selected(None)?;
        assert_eq!(content.len(), 258);
        Ok(())
    }

    #[test]
    fn zero_length_success_does_not_loop() {
        let mut channel = short(Scripted::new(&[("00B0000000", "9000")]));
        assert!(matches!(
            channel.read_selected(None),
            Err(ChannelError::CardProtocol { .. })
        ));
    }

    #[test]
    fn extended_length_from_the_atr() -> Result<(), ChannelError> {
        // Five historical bytes: category 80, card capabilities 73 (3 bytes), third byte 0x40
        // (extended Lc/Le).
        let mut transport =
            Scripted::new(&[("00B00000000400", &format!("{} 9000", "00".repeat(1024)))]);
        transport.atr = vec![0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0x40];
        // EF.ATR reading is on, but the ATR does not point there: no APDU is spent on it.
        let mut channel = Channel::open(transport, ChannelConfig::default())?;
        assert!(channel.capabilities().extended_length);
        let response = channel.read_binary(0, 1024)?;
        assert_eq!(response.data().len(), 1024);
        Ok(())
    }

    #[test]
    fn ef_atr_bounds_extended_length_when_the_atr_points_there() -> Result<(), ChannelError> {
        // Third software function byte 0x60: extended Lc/Le, and their limits in EF.ATR/INFO.
        let mut transport = Scripted::new(&[
            ("00A4080402 2F01 00", "62048002000B 9000"),
            ("00B000000B", "7F66 08 0202 0409 0202 0802 9000"),
        ]);
        transport.atr = vec![0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0x60];
        let channel = Channel::open(transport, ChannelConfig::default())?;
        let caps = channel.capabilities();
        assert!(caps.extended_length);
        assert_eq!(caps.max_command_data, 0x0409 - 9);
        assert_eq!(caps.max_response_data, 0x0802 - 2);
        Ok(())
    }
}
