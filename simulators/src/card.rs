//! The virtual card engine: ISO/IEC 7816-4 commands over the [`crate::fs`] file system.
//!
//! | INS | Command | Clause |
//! |-----|---------|--------|
//! | `A4` | SELECT (P1 `00` `01` `02` `04` `08` `09`; P2 `00`/`04` FCP, `0C` no data) | 11.2.2 |
//! | `B0` `B1` | READ BINARY (offset in P1-P2 or SFI in P1; odd INS: offset DO `54`, answer in DO `53`) | 11.3.3 |
//! | `D6` `D7` | UPDATE BINARY (also chained with CLA `10`) | 11.3.5 |
//! | `CA` | GET DATA (data objects configured with [`VirtualCard::with_data_object`]) | 11.5.1 |
//! | `84` | GET CHALLENGE (Ne random bytes, 1 to 256) | 11.6.3 |
//! | `C0` | GET RESPONSE (after `61XX`) | 11.7.1 |
//!
//! Classes: `00` and `10` (chaining) are served; secure messaging (`04`, `08`, `0C`) answers
//! `6882`, other logical channels `6881`, anything else (proprietary `8X`, PC/SC `FF`) `6E00`.
//! Unknown instructions answer `6D00`, unparsable APDUs `6700`.
//!
//! Answers longer than Ne (or than the chunk size set with [`VirtualCard::set_response_chunk`])
//! are cut and end with `61XX`; GET RESPONSE serves the rest. A case 3 command whose answer has
//! data (SELECT with P2 `00` and no Le) answers `61XX` at once, as a T=0 card would.

use std::collections::BTreeMap;
use std::fmt;

use shenas_apdu::{Command, EXTENDED_MAX_DATA, SHORT_MAX_LE, StatusWord, Tag, Tlv, TlvRef};

use crate::fs::{Access, Df, Ef, FileId, FileSystem, Kind, MF};

/// The FID of EF.ATR/INFO under the MF (ISO/IEC 7816-4, 8.2.1.1).
pub const EF_ATR_FID: u16 = 0x2F01;

/// Short EF identifier given to a generated EF.ATR.
pub const EF_ATR_SFI: u8 = 0x1D;

/// Card issuer's data in the historical bytes: ASCII "SHENAS".
pub const HISTORICAL_NAME: &[u8; 6] = b"SHENAS";

/// The first byte of the card capabilities (ISO/IEC 7816-4, 12.1.1.7, table 118): selection by
/// full DF name (`80`), by path (`20`), by FID (`10`), short EF identifiers supported (`04`).
const SELECTION_METHODS: u8 = 0xB4;
/// Data coding byte (table 119): proprietary write behaviour, data unit of one byte.
const DATA_CODING: u8 = 0x21;
/// Third capability byte (table 120): command chaining.
const CAPS_CHAINING: u8 = 0x80;
/// Third capability byte (table 120): extended Lc and Le fields.
const CAPS_EXTENDED: u8 = 0x40;

/// The most command data a chain may gather before the card answers `6700`.
const MAX_CHAIN_DATA: usize = EXTENDED_MAX_DATA;

/// The ATR of a simulated card: `3B 8C 01`, 12 historical bytes, TCK.
///
/// T0 `8C` announces TD1 and 12 historical bytes; TD1 `01` offers T=1 only, so TCK follows
/// (ISO/IEC 7816-3, 8.2.5). The historical bytes are compact-TLV (category `80`): card issuer's
/// data `56` "SHENAS", then card capabilities `73 B4 21 xx` where `xx` is `C0` with extended
/// length and `80` without.
pub fn simulated_atr(extended_length: bool) -> Vec<u8> {
    let mut atr = vec![0x3B, 0x8C, 0x01, 0x80, 0x56];
    atr.extend_from_slice(HISTORICAL_NAME);
    atr.extend_from_slice(&[
        0x73,
        SELECTION_METHODS,
        DATA_CODING,
        capabilities(extended_length),
    ]);
    let tck = atr.iter().skip(1).fold(0u8, |acc, b| acc ^ b);
    atr.push(tck);
    atr
}

const fn capabilities(extended_length: bool) -> u8 {
    if extended_length {
        CAPS_CHAINING | CAPS_EXTENDED
    } else {
        CAPS_CHAINING
    }
}

/// The content of the generated EF.ATR/INFO: card capabilities `47 03 B4 21 xx` and extended
/// length information `7F66 08 02 02 cc cc 02 02 rr rr` (maximum bytes in a command and in a
/// response APDU). With extended length both are `FFFF` (the most two bytes can say); without,
/// `0105` (261) and `0102` (258).
pub fn ef_atr_content(extended_length: bool) -> Vec<u8> {
    let (command, response): (u16, u16) = if extended_length {
        (0xFFFF, 0xFFFF)
    } else {
        (261, 258)
    };
    let mut out = vec![
        0x47,
        0x03,
        SELECTION_METHODS,
        DATA_CODING,
        capabilities(extended_length),
    ];
    out.extend_from_slice(&[0x7F, 0x66, 0x08, 0x02, 0x02]);
    out.extend_from_slice(&command.to_be_bytes());
    out.extend_from_slice(&[0x02, 0x02]);
    out.extend_from_slice(&response.to_be_bytes());
    out
}

/// A simulated card as the transports drive it: [`crate::SimulatedCard`] (faults),
/// [`crate::SimulatedTransport`] (in process) and [`crate::VpcdSlot`] (through pcscd) serve any
/// implementation. [`VirtualCard`] is the plain ISO/IEC 7816-4 card;
/// [`crate::national::NationalCard`] the national ID and foreign-nationals cards.
///
/// Implementations never panic, whatever the command bytes, and drop their volatile state
/// (selection, verified PINs, secure-messaging session) on power off, power on and reset.
pub trait SimCard: Send + fmt::Debug {
    /// Processes one command APDU and returns the response APDU (data ‖ SW1 SW2). A command sent
    /// to an unpowered card powers it on first, as a reader would.
    fn process(&mut self, command: &[u8]) -> Vec<u8>;
    /// The answer-to-reset.
    fn atr(&self) -> &[u8];
    /// Powers the card on: volatile state starts afresh.
    fn power_on(&mut self);
    /// Powers the card off: volatile state is lost, persistent state (files, PIN counters)
    /// survives.
    fn power_off(&mut self);
    /// Warm reset: volatile state is lost.
    fn reset(&mut self);
    /// Splits answers longer than `chunk` bytes into `61XX` parts (a fault; `None`: no split).
    fn set_response_chunk(&mut self, chunk: Option<usize>);
}

impl SimCard for VirtualCard {
    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        Self::process(self, command)
    }
    fn atr(&self) -> &[u8] {
        Self::atr(self)
    }
    fn power_on(&mut self) {
        Self::power_on(self);
    }
    fn power_off(&mut self) {
        Self::power_off(self);
    }
    fn reset(&mut self) {
        Self::reset(self);
    }
    fn set_response_chunk(&mut self, chunk: Option<usize>) {
        Self::set_response_chunk(self, chunk);
    }
}

impl<C: SimCard + ?Sized> SimCard for Box<C> {
    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        (**self).process(command)
    }
    fn atr(&self) -> &[u8] {
        (**self).atr()
    }
    fn power_on(&mut self) {
        (**self).power_on();
    }
    fn power_off(&mut self) {
        (**self).power_off();
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn set_response_chunk(&mut self, chunk: Option<usize>) {
        (**self).set_response_chunk(chunk);
    }
}

/// What is currently selected besides the current DF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Selected {
    /// Nothing since power-on: READ BINARY answers `6986`.
    Nothing,
    /// A DF was selected last: READ BINARY answers `6981`.
    Df,
    /// The current EF.
    Ef(FileId),
}

/// The rest of an answer, served by GET RESPONSE.
struct Pending {
    data: Vec<u8>,
    sw: StatusWord,
}

/// A command chain being gathered (CLA bit `10`).
struct Chain {
    ins: u8,
    p1: u8,
    p2: u8,
    data: Vec<u8>,
}

/// An answer before Ne and chunking are applied.
struct Reply {
    data: Vec<u8>,
    sw: StatusWord,
}

impl From<StatusWord> for Reply {
    fn from(sw: StatusWord) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }
}

type Outcome = Result<Reply, StatusWord>;

/// A simulated ISO/IEC 7816-4 card. **It provides no security**: no access conditions, no
/// secure messaging, file contents in plain memory. For tests and demos only.
///
/// [`VirtualCard::process`] takes command APDU bytes and returns response bytes (data ‖ SW1 SW2);
/// it never panics, whatever the input.
pub struct VirtualCard {
    fs: FileSystem,
    atr: Vec<u8>,
    custom_atr: bool,
    extended_length: bool,
    ef_atr: Option<FileId>,
    data_objects: BTreeMap<u16, Vec<u8>>,
    response_chunk: Option<usize>,
    powered: bool,
    // Volatile state, dropped on power off, power on and reset.
    current_df: FileId,
    selected: Selected,
    chain: Option<Chain>,
    pending: Option<Pending>,
    challenge: Option<Vec<u8>>,
    /// True while a command unwrapped from secure messaging is processed.
    secured: bool,
}

impl fmt::Debug for VirtualCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // File contents, data objects and the challenge stay out of Debug.
        f.debug_struct("VirtualCard")
            .field("extended_length", &self.extended_length)
            .field("powered", &self.powered)
            .field("selected", &self.selected)
            .field("data_objects", &self.data_objects.len())
            .field("response_chunk", &self.response_chunk)
            .finish_non_exhaustive()
    }
}

impl VirtualCard {
    /// A card with this file tree, extended length on, powered on.
    ///
    /// Unless the MF already has a child `2F01`, an EF.ATR/INFO `2F01` (SFI `1D`) is added whose
    /// content ([`ef_atr_content`]) follows the extended-length setting.
    pub fn new(mf: Df) -> Self {
        let generate_ef_atr = !mf.has_child(EF_ATR_FID);
        let mut fs = FileSystem::new(mf);
        let ef_atr = if generate_ef_atr {
            fs.add_ef(
                MF,
                Ef::new(EF_ATR_FID, ef_atr_content(true)).with_sfi(EF_ATR_SFI),
            )
        } else {
            None
        };
        Self {
            fs,
            atr: simulated_atr(true),
            custom_atr: false,
            extended_length: true,
            ef_atr,
            data_objects: BTreeMap::new(),
            response_chunk: None,
            powered: true,
            current_df: MF,
            selected: Selected::Nothing,
            chain: None,
            pending: None,
            challenge: None,
            secured: false,
        }
    }

    /// Turns extended length on or off. Off, the card answers any extended-length APDU with
    /// `6700`; the ATR and a generated EF.ATR say so.
    #[must_use]
    pub fn with_extended_length(mut self, on: bool) -> Self {
        self.extended_length = on;
        if !self.custom_atr {
            self.atr = simulated_atr(on);
        }
        if let Some(id) = self.ef_atr {
            self.fs.replace_data(id, ef_atr_content(on));
        }
        self
    }

    /// Replaces the ATR (use one of your own, never another vendor's).
    #[must_use]
    pub fn with_atr(mut self, atr: impl Into<Vec<u8>>) -> Self {
        self.atr = atr.into();
        self.custom_atr = true;
        self
    }

    /// Adds a data object served by GET DATA with P1-P2 = `tag` (e.g. `5F5A`, or `0042` for the
    /// one-byte tag `42`). The value is returned as given.
    #[must_use]
    pub fn with_data_object(mut self, tag: u16, value: impl Into<Vec<u8>>) -> Self {
        self.data_objects.insert(tag, value.into());
        self
    }

    /// Splits every answer longer than `chunk` bytes into `61XX` parts of at most `chunk` bytes,
    /// served by GET RESPONSE (a fault for testing the host's handling). `None` or `Some(0)`:
    /// answers are only cut by Ne.
    pub fn set_response_chunk(&mut self, chunk: Option<usize>) {
        self.response_chunk = chunk.filter(|&k| k > 0);
    }

    /// The chunk size set by [`VirtualCard::set_response_chunk`].
    pub const fn response_chunk(&self) -> Option<usize> {
        self.response_chunk
    }

    /// The answer-to-reset (fixed per card).
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// True when the card accepts extended-length APDUs.
    pub const fn extended_length(&self) -> bool {
        self.extended_length
    }

    /// True between power on and power off.
    pub const fn is_powered(&self) -> bool {
        self.powered
    }

    /// The content of the EF at this path of FIDs from the MF (without `3F00`), for tests.
    pub fn ef_content(&self, path: &[u16]) -> Option<&[u8]> {
        self.fs
            .resolve_path(MF, path)
            .and_then(|id| self.fs.data(id))
    }

    /// The last challenge returned by GET CHALLENGE since power-on, for tests.
    pub fn last_challenge(&self) -> Option<&[u8]> {
        self.challenge.as_deref()
    }

    /// Powers the card on: volatile state starts afresh.
    pub fn power_on(&mut self) {
        self.powered = true;
        self.drop_volatile_state();
    }

    /// Powers the card off: volatile state is lost; file contents survive.
    pub fn power_off(&mut self) {
        self.powered = false;
        self.drop_volatile_state();
    }

    /// Warm reset: volatile state is lost; returns the ATR.
    pub fn reset(&mut self) -> &[u8] {
        self.powered = true;
        self.drop_volatile_state();
        &self.atr
    }

    fn drop_volatile_state(&mut self) {
        self.current_df = MF;
        self.selected = Selected::Nothing;
        self.chain = None;
        self.pending = None;
        self.challenge = None;
    }

    /// Processes one command APDU and returns the response APDU (data ‖ SW1 SW2).
    ///
    /// A command sent to an unpowered card powers it on first, as a reader would.
    pub fn process(&mut self, command: &[u8]) -> Vec<u8> {
        if !self.powered {
            self.power_on();
        }
        let Ok(cmd) = Command::parse(command) else {
            self.pending = None;
            return StatusWord::WRONG_LENGTH.to_bytes().to_vec();
        };
        if cmd.ins() != 0xC0 {
            self.pending = None;
        }
        let ne = cmd.le();
        match self.dispatch(cmd, is_extended_form(command)) {
            Ok(reply) => self.finish(reply.data, reply.sw, ne),
            Err(sw) => sw.to_bytes().to_vec(),
        }
    }

    /// Processes a command that arrived inside secure messaging (already unwrapped, class
    /// `00`): EFs readable only with secure messaging are readable, and the whole answer comes
    /// back at once (no `61XX` chunks: the caller wraps it and chunks the wrapped answer).
    pub(crate) fn process_secured(&mut self, command: &[u8]) -> Vec<u8> {
        let chunk = self.response_chunk.take();
        self.secured = true;
        let response = self.process(command);
        self.secured = false;
        self.response_chunk = chunk;
        response
    }

    /// Answers a command another layer handled (the card applications of
    /// [`crate::national`]): drops a pending answer and a command chain, then applies Ne and
    /// the chunk size like the engine's own answers.
    pub(crate) fn respond(&mut self, data: Vec<u8>, sw: StatusWord, ne: Option<usize>) -> Vec<u8> {
        if !self.powered {
            self.power_on();
        }
        self.pending = None;
        self.chain = None;
        self.finish(data, sw, ne)
    }

    /// The FIDs from the MF (excluded) to the current DF: empty when the MF is current.
    pub(crate) fn current_df_path(&self) -> Vec<u16> {
        self.fs.path_of(self.current_df)
    }

    /// Applies Ne and the chunk size: what does not fit waits for GET RESPONSE behind `61XX`.
    fn finish(&mut self, mut data: Vec<u8>, sw: StatusWord, ne: Option<usize>) -> Vec<u8> {
        if data.is_empty() {
            return sw.to_bytes().to_vec();
        }
        let limit = ne
            .unwrap_or(0)
            .min(self.response_chunk.unwrap_or(usize::MAX));
        if data.len() <= limit {
            data.extend_from_slice(&sw.to_bytes());
            return data;
        }
        let rest = data.split_off(limit);
        let sw2 = u8::try_from(rest.len().min(SHORT_MAX_LE) % SHORT_MAX_LE).unwrap_or(0);
        self.pending = Some(Pending { data: rest, sw });
        data.extend_from_slice(&[0x61, sw2]);
        data
    }

    fn dispatch(&mut self, cmd: Command, extended: bool) -> Outcome {
        let chained = check_class(cmd.cla())?;
        if extended && !self.extended_length {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let cmd = match self.chain.take() {
            Some(chain) if (chain.ins, chain.p1, chain.p2) != (cmd.ins(), cmd.p1(), cmd.p2()) => {
                return Err(StatusWord::LAST_COMMAND_EXPECTED);
            }
            Some(mut chain) => {
                if chain.data.len().saturating_add(cmd.data().len()) > MAX_CHAIN_DATA {
                    return Err(StatusWord::WRONG_LENGTH);
                }
                chain.data.extend_from_slice(cmd.data());
                if chained {
                    self.chain = Some(chain);
                    return Ok(StatusWord::SUCCESS.into());
                }
                cmd.with_data(chain.data)
            }
            None if chained => {
                if !matches!(cmd.ins(), 0xD6 | 0xD7) {
                    return Err(StatusWord::CHAINING_NOT_SUPPORTED);
                }
                self.chain = Some(Chain {
                    ins: cmd.ins(),
                    p1: cmd.p1(),
                    p2: cmd.p2(),
                    data: cmd.data().to_vec(),
                });
                return Ok(StatusWord::SUCCESS.into());
            }
            None => cmd,
        };
        match cmd.ins() {
            0xA4 => self.select(&cmd),
            0xB0 => self.read_binary(&cmd),
            0xB1 => self.read_binary_odd(&cmd),
            0xD6 => self.update_binary(&cmd),
            0xD7 => self.update_binary_odd(&cmd),
            0xCA => self.get_data(&cmd),
            0x84 => self.get_challenge(&cmd),
            0xC0 => self.get_response(&cmd),
            _ => Err(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    // ---- SELECT (ISO/IEC 7816-4, 11.2.2) ----

    fn select(&mut self, cmd: &Command) -> Outcome {
        let want_fcp = match cmd.p2() {
            0x00 | 0x04 => true,
            0x0C => false,
            _ => return Err(StatusWord::INCORRECT_P1_P2),
        };
        let data = cmd.data();
        let target = match cmd.p1() {
            0x00 => match data {
                [] => Some(MF),
                [a, b] => self.find_by_fid(u16::from_be_bytes([*a, *b])),
                _ => return Err(StatusWord::WRONG_LENGTH),
            },
            0x01 | 0x02 => {
                let [a, b] = data else {
                    return Err(StatusWord::WRONG_LENGTH);
                };
                let want_df = cmd.p1() == 0x01;
                self.fs
                    .child(self.current_df, u16::from_be_bytes([*a, *b]))
                    .filter(|&id| self.fs.is_df(id) == want_df)
            }
            0x04 => {
                if data.is_empty() || data.len() > 16 {
                    return Err(StatusWord::WRONG_LENGTH);
                }
                self.fs.df_by_name(data)
            }
            0x08 | 0x09 => {
                if data.is_empty() || !data.len().is_multiple_of(2) {
                    return Err(StatusWord::WRONG_LENGTH);
                }
                let fids: Vec<u16> = data
                    .chunks_exact(2)
                    .map(|c| c.iter().fold(0u16, |acc, b| acc << 8 | u16::from(*b)))
                    .collect();
                if cmd.p1() == 0x08 {
                    // The path starts below the MF; a leading 3F00 is tolerated.
                    let path = fids.strip_prefix(&[crate::fs::MF_FID]).unwrap_or(&fids);
                    self.fs.resolve_path(MF, path)
                } else {
                    self.fs.resolve_path(self.current_df, &fids)
                }
            }
            _ => return Err(StatusWord::INCORRECT_P1_P2),
        };
        let id = target.ok_or(StatusWord::FILE_NOT_FOUND)?;
        if self.fs.is_df(id) {
            self.current_df = id;
            self.selected = Selected::Df;
        } else {
            self.current_df = self.fs.parent(id).unwrap_or(MF);
            self.selected = Selected::Ef(id);
        }
        if want_fcp {
            Ok(Reply {
                data: self.fcp(id),
                sw: StatusWord::SUCCESS,
            })
        } else {
            Ok(StatusWord::SUCCESS.into())
        }
    }

    /// SELECT by FID (P1 `00`): the MF, a child of the current DF, the current DF itself, its
    /// parent, or a child of its parent (ISO/IEC 7816-4, 7.2.2).
    fn find_by_fid(&self, fid: u16) -> Option<FileId> {
        if fid == crate::fs::MF_FID {
            return Some(MF);
        }
        let current = self.current_df;
        let fid_of = |id: FileId| self.fs.get(id).map(|f| f.fid);
        self.fs
            .child(current, fid)
            .or_else(|| (fid_of(current) == Some(fid)).then_some(current))
            .or_else(|| {
                let parent = self.fs.parent(current)?;
                if fid_of(parent) == Some(fid) {
                    Some(parent)
                } else {
                    self.fs.child(parent, fid)
                }
            })
    }

    /// The file control parameters template `62` (ISO/IEC 7816-4, 7.4.3).
    fn fcp(&self, id: FileId) -> Vec<u8> {
        let mut body = Vec::new();
        let Some(file) = self.fs.get(id) else {
            return body;
        };
        match &file.kind {
            Kind::Ef { sfi, data, .. } => {
                push_tlv(&mut body, 0x80, &size_bytes(data.len()));
                push_tlv(&mut body, 0x82, &[0x01]);
                push_tlv(&mut body, 0x83, &file.fid.to_be_bytes());
                if let Some(sfi) = sfi {
                    push_tlv(&mut body, 0x88, &[sfi << 3]);
                }
            }
            Kind::Df { name, .. } => {
                push_tlv(&mut body, 0x81, &size_bytes(self.fs.total_size(id)));
                push_tlv(&mut body, 0x82, &[0x38]);
                push_tlv(&mut body, 0x83, &file.fid.to_be_bytes());
                if let Some(name) = name {
                    push_tlv(&mut body, 0x84, name);
                }
            }
        }
        // Life cycle status: operational, activated.
        push_tlv(&mut body, 0x8A, &[0x05]);
        let mut fcp = Vec::with_capacity(body.len() + 4);
        push_tlv(&mut fcp, 0x62, &body);
        fcp
    }

    // ---- READ BINARY / UPDATE BINARY (ISO/IEC 7816-4, 11.3) ----

    /// The current EF, or why there is none.
    fn current_ef(&self) -> Result<FileId, StatusWord> {
        match self.selected {
            Selected::Ef(id) => Ok(id),
            Selected::Df => Err(StatusWord::INCOMPATIBLE_FILE_STRUCTURE),
            Selected::Nothing => Err(StatusWord::NO_CURRENT_EF),
        }
    }

    /// Makes an EF found by SFI or FID the current EF.
    fn make_current(&mut self, id: FileId) {
        self.current_df = self.fs.parent(id).unwrap_or(MF);
        self.selected = Selected::Ef(id);
    }

    /// Even INS: P1 b8 set → SFI in P1 b5-b1 and offset in P2; else a 15-bit offset in P1-P2.
    fn even_target(&mut self, p1: u8, p2: u8) -> Result<(FileId, usize), StatusWord> {
        if p1 & 0x80 == 0 {
            return Ok((
                self.current_ef()?,
                usize::from(u16::from_be_bytes([p1, p2])),
            ));
        }
        let sfi = p1 & 0x1F;
        if p1 & 0x60 != 0 || sfi == 0 || sfi == 0x1F {
            return Err(StatusWord::INCORRECT_P1_P2);
        }
        let id = self
            .fs
            .child_by_sfi(self.current_df, sfi)
            .ok_or(StatusWord::FILE_NOT_FOUND)?;
        self.make_current(id);
        Ok((id, usize::from(p2)))
    }

    /// Odd INS: P1-P2 `0000` → current EF; `00` + SFI in P2 → that EF; else a FID.
    fn odd_target(&mut self, p1: u8, p2: u8) -> Result<FileId, StatusWord> {
        let id = match (p1, p2) {
            (0, 0) => return self.current_ef(),
            (0, sfi @ 1..=0x1E) => self.fs.child_by_sfi(self.current_df, sfi),
            (0, _) => return Err(StatusWord::INCORRECT_P1_P2),
            _ => self.find_by_fid(u16::from_be_bytes([p1, p2])),
        }
        .ok_or(StatusWord::FILE_NOT_FOUND)?;
        if self.fs.is_df(id) {
            return Err(StatusWord::INCOMPATIBLE_FILE_STRUCTURE);
        }
        self.make_current(id);
        Ok(id)
    }

    fn read_binary(&mut self, cmd: &Command) -> Outcome {
        if !cmd.data().is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let ne = cmd.le().ok_or(StatusWord::WRONG_LENGTH)?;
        let (id, offset) = self.even_target(cmd.p1(), cmd.p2())?;
        self.check_access(id, false)?;
        let content = self.fs.data(id).unwrap_or_default();
        let rest = content
            .get(offset..)
            .filter(|r| !r.is_empty())
            .ok_or(StatusWord::WRONG_P1_P2)?;
        let n = ne.min(rest.len());
        let sw = if n < ne {
            StatusWord::END_OF_FILE
        } else {
            StatusWord::SUCCESS
        };
        Ok(Reply {
            data: rest.get(..n).unwrap_or_default().to_vec(),
            sw,
        })
    }

    fn read_binary_odd(&mut self, cmd: &Command) -> Outcome {
        let ne = cmd.le().ok_or(StatusWord::WRONG_LENGTH)?;
        if cmd.data().is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let (offset, tail) = offset_do(cmd.data())?;
        if !tail.is_empty() {
            return Err(StatusWord::INCORRECT_DATA);
        }
        let id = self.odd_target(cmd.p1(), cmd.p2())?;
        self.check_access(id, false)?;
        let content = self.fs.data(id).unwrap_or_default();
        let rest = content
            .get(offset..)
            .filter(|r| !r.is_empty())
            .ok_or(StatusWord::WRONG_P1_P2)?;
        // The largest n whose DO 53 (tag, length, n bytes) fits in Ne.
        let mut n = rest.len().min(ne.saturating_sub(2));
        while n > 0 && 1 + Tlv::length_field_len(n) + n > ne {
            n -= 1;
        }
        if n == 0 {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let mut data = Vec::with_capacity(n + 5);
        push_tlv(&mut data, 0x53, rest.get(..n).unwrap_or_default());
        let sw = if n == rest.len() && data.len() < ne {
            StatusWord::END_OF_FILE
        } else {
            StatusWord::SUCCESS
        };
        Ok(Reply { data, sw })
    }

    /// Checks the EF's read (or update) condition against the current command.
    fn check_access(&self, id: FileId, update: bool) -> Result<(), StatusWord> {
        let (read, write) = self.fs.access(id).unwrap_or_default();
        let allowed = match if update { write } else { read } {
            Access::Always => true,
            Access::SecureMessaging => self.secured,
            Access::Never => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
        }
    }

    fn write(&mut self, id: FileId, offset: usize, bytes: &[u8]) -> Outcome {
        self.check_access(id, true)?;
        let content = self
            .fs
            .data_mut(id)
            .ok_or(StatusWord::INCOMPATIBLE_FILE_STRUCTURE)?;
        if offset > content.len() {
            return Err(StatusWord::WRONG_P1_P2);
        }
        let end = offset
            .checked_add(bytes.len())
            .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?;
        let target = content
            .get_mut(offset..end)
            .ok_or(StatusWord::NOT_ENOUGH_MEMORY)?;
        target.copy_from_slice(bytes);
        Ok(StatusWord::SUCCESS.into())
    }

    fn update_binary(&mut self, cmd: &Command) -> Outcome {
        if cmd.data().is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let (id, offset) = self.even_target(cmd.p1(), cmd.p2())?;
        self.write(id, offset, cmd.data())
    }

    fn update_binary_odd(&mut self, cmd: &Command) -> Outcome {
        if cmd.data().is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let (offset, tail) = offset_do(cmd.data())?;
        let (tag, value, tail) = parse_tlv(tail)?;
        if !matches!(tag, 0x53 | 0x73) || !tail.is_empty() || value.is_empty() {
            return Err(StatusWord::INCORRECT_DATA);
        }
        let id = self.odd_target(cmd.p1(), cmd.p2())?;
        self.write(id, offset, value)
    }

    // ---- GET DATA, GET CHALLENGE, GET RESPONSE ----

    fn get_data(&mut self, cmd: &Command) -> Outcome {
        let tag = u16::from_be_bytes([cmd.p1(), cmd.p2()]);
        let value = self
            .data_objects
            .get(&tag)
            .ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
        if value.is_empty() {
            return Ok(StatusWord::SUCCESS.into());
        }
        Ok(Reply {
            data: value.clone(),
            sw: StatusWord::SUCCESS,
        })
    }

    fn get_challenge(&mut self, cmd: &Command) -> Outcome {
        if cmd.p1() != 0 || cmd.p2() != 0 {
            return Err(StatusWord::INCORRECT_P1_P2);
        }
        if !cmd.data().is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let ne = cmd
            .le()
            .filter(|&ne| ne <= SHORT_MAX_LE)
            .ok_or(StatusWord::WRONG_LENGTH)?;
        let mut challenge = vec![0u8; ne];
        rand::fill(challenge.as_mut_slice());
        self.challenge = Some(challenge.clone());
        Ok(Reply {
            data: challenge,
            sw: StatusWord::SUCCESS,
        })
    }

    fn get_response(&mut self, cmd: &Command) -> Outcome {
        if cmd.p1() != 0 || cmd.p2() != 0 {
            return Err(StatusWord::INCORRECT_P1_P2);
        }
        if cmd.le().is_none() || !cmd.data().is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let pending = self
            .pending
            .take()
            .ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
        Ok(Reply {
            data: pending.data,
            sw: pending.sw,
        })
    }
}

/// Checks the class byte (ISO/IEC 7816-4, 5.4.1); returns whether the chaining bit is set.
fn check_class(cla: u8) -> Result<bool, StatusWord> {
    match cla {
        0x00..=0x1F => {
            if cla & 0x03 != 0 {
                Err(StatusWord::LOGICAL_CHANNEL_NOT_SUPPORTED)
            } else if cla & 0x0C != 0 {
                Err(StatusWord::SECURE_MESSAGING_NOT_SUPPORTED)
            } else {
                Ok(cla & 0x10 != 0)
            }
        }
        // Further interindustry class: logical channels 4 to 19.
        0x40..=0x7F => Err(StatusWord::LOGICAL_CHANNEL_NOT_SUPPORTED),
        _ => Err(StatusWord::CLA_NOT_SUPPORTED),
    }
}

/// True when the APDU uses extended length fields (a zero byte after the header and a body of
/// at least three bytes; short forms never start their body with zero then continue).
fn is_extended_form(bytes: &[u8]) -> bool {
    bytes.len() >= 7 && bytes.get(4) == Some(&0)
}

/// Appends a data object with a one-byte tag, encoded by [`Tlv`].
fn push_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    match Tag::from_byte(tag) {
        Some(tag) => Tlv::new(tag, value).write_to(out),
        // Every caller passes a one-byte tag constant; the unit tests encode each of them.
        None => debug_assert!(false, "{tag:02X} is not a one-byte tag"),
    }
}

/// A size as at least two big-endian bytes (tags `80`, `81`).
fn size_bytes(size: usize) -> Vec<u8> {
    let be = size.to_be_bytes();
    let start = be
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(be.len())
        .min(be.len() - 2);
    be.get(start..).unwrap_or_default().to_vec()
}

/// Parses one data object of command data; returns its tag, value and what follows.
fn parse_tlv(bytes: &[u8]) -> Result<(u32, &[u8], &[u8]), StatusWord> {
    let (object, rest) = TlvRef::parse_one(bytes).map_err(|_| StatusWord::INCORRECT_DATA)?;
    Ok((object.tag().to_u32(), object.value(), rest))
}

/// The offset data object `54` (1 to 4 bytes, big-endian) at the start of odd-INS data.
fn offset_do(bytes: &[u8]) -> Result<(usize, &[u8]), StatusWord> {
    match parse_tlv(bytes)? {
        (0x54, value, rest) if (1..=4).contains(&value.len()) => Ok((
            value
                .iter()
                .fold(0usize, |acc, b| acc << 8 | usize::from(*b)),
            rest,
        )),
        _ => Err(StatusWord::INCORRECT_DATA),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn card() -> VirtualCard {
        VirtualCard::new(
            Df::mf().with_df(
                Df::new(0x5000)
                    .with_name([0xF0, 1, 2, 3, 4, 5])
                    .with_ef(Ef::new(0x0101, (0u8..=99).collect::<Vec<_>>()).with_sfi(1)),
            ),
        )
        .with_data_object(0x5F5A, [1, 2, 3])
    }

    fn sw(resp: &[u8]) -> u16 {
        match resp {
            [.., a, b] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        }
    }

    #[test]
    fn atr_has_a_correct_tck_and_our_name() {
        for ext in [true, false] {
            let atr = simulated_atr(ext);
            assert_eq!(
                atr.iter().skip(1).fold(0u8, |a, b| a ^ b),
                0,
                "TCK makes the XOR zero"
            );
            assert!(atr.windows(6).any(|w| w == HISTORICAL_NAME));
            assert_eq!(atr.len(), 4 + 12);
        }
        assert_eq!(simulated_atr(true).get(14), Some(&0xC0));
        assert_eq!(simulated_atr(false).get(14), Some(&0x80));
    }

    #[test]
    fn tlv_helpers() {
        for tag in [0x53, 0x62, 0x80, 0x81, 0x82, 0x83, 0x84, 0x88, 0x8A] {
            let mut out = Vec::new();
            push_tlv(&mut out, tag, &[1; 200]);
            assert_eq!(out.get(..3), Some(&[tag, 0x81, 200][..]));
        }
        assert_eq!(size_bytes(32), [0, 32]);
        assert_eq!(size_bytes(70_000), [1, 0x11, 0x70]);
        assert_eq!(
            parse_tlv(&[0x54, 0x82, 0, 1, 7, 9]),
            Ok((0x54, &[7u8][..], &[9u8][..]))
        );
        assert_eq!(parse_tlv(&[0x54, 0x02, 1]), Err(StatusWord::INCORRECT_DATA));
        assert_eq!(offset_do(&[0x54, 0x03, 1, 0, 0]), Ok((65_536, &[][..])));
        assert_eq!(offset_do(&[0x54, 0x00]), Err(StatusWord::INCORRECT_DATA));
    }

    #[test]
    fn fcp_of_an_ef_and_a_df() {
        let mut c = card();
        let r = c.process(&[0, 0xA4, 0x08, 0x04, 4, 0x50, 0x00, 0x01, 0x01, 0]);
        assert_eq!(
            r,
            [
                0x62, 0x11, 0x80, 2, 0, 100, 0x82, 1, 1, 0x83, 2, 1, 1, 0x88, 1, 8, 0x8A, 1, 5,
                0x90, 0
            ]
        );
        let r = c.process(&[0, 0xA4, 0x04, 0x00, 6, 0xF0, 1, 2, 3, 4, 5, 0]);
        assert_eq!(
            r,
            [
                0x62, 0x16, 0x81, 2, 0, 100, 0x82, 1, 0x38, 0x83, 2, 0x50, 0, 0x84, 6, 0xF0, 1, 2,
                3, 4, 5, 0x8A, 1, 5, 0x90, 0
            ]
        );
    }

    #[test]
    fn class_checks() {
        let mut c = card();
        assert_eq!(sw(&c.process(&[0x80, 0xCA, 0x5F, 0x5A, 0])), 0x6E00);
        assert_eq!(sw(&c.process(&[0xFF, 0xCA, 0x00, 0x00, 0])), 0x6E00);
        assert_eq!(sw(&c.process(&[0x0C, 0xCA, 0x5F, 0x5A, 0])), 0x6882);
        assert_eq!(sw(&c.process(&[0x01, 0xCA, 0x5F, 0x5A, 0])), 0x6881);
        assert_eq!(sw(&c.process(&[0x10, 0xCA, 0x5F, 0x5A, 0])), 0x6884);
        assert_eq!(c.process(&[0x00, 0xCA, 0x5F, 0x5A, 0]), [1, 2, 3, 0x90, 0]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn never_panics_and_always_answers_a_status_word(
            commands in proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..12),
                    (prop_oneof![Just(0u8), Just(0x10), any::<u8>()],
                     prop_oneof![Just(0xA4u8), Just(0xB0), Just(0xB1), Just(0xD6), Just(0xD7),
                                 Just(0xC0), Just(0x84), Just(0xCA), any::<u8>()],
                     any::<[u8; 2]>(),
                     proptest::collection::vec(any::<u8>(), 0..300))
                        .prop_map(|(cla, ins, [p1, p2], body)| {
                            let mut v = vec![cla, ins, p1, p2];
                            v.extend(body);
                            v
                        }),
                ],
                1..20,
            ),
            chunk in proptest::option::of(0usize..300),
        ) {
            let mut c = card();
            c.set_response_chunk(chunk);
            for command in commands {
                let r = c.process(&command);
                prop_assert!(r.len() >= 2);
            }
        }
    }
}
