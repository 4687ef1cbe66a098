//! The virtual card against ISO/IEC 7816-4, through its public API and the in-process transport.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use shenas_apdu::{Command, Response, StatusWord, Transport, TransportError};
use shenas_simulators::default_card::{
    APP_AID, APP_DF_FID, BIG_EF_FID, BIG_EF_LEN, BIG_EF_SFI, EF_DIR_FID, ISSUER_ID, ISSUER_ID_TAG,
    MEDIUM_EF_FID, MEDIUM_EF_LEN, SERIAL_NUMBER, SERIAL_NUMBER_TAG, SMALL_EF_CONTENT, SMALL_EF_FID,
    SMALL_EF_SFI, big_ef_content, ef_dir_content, medium_ef_content,
};
use shenas_simulators::{
    EF_ATR_FID, Faults, ForcedStatus, SimulatedTransport, VirtualCard, default_card,
    ef_atr_content, simulated_atr,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Sends a command (short or extended as needed) and parses the answer.
fn send(card: &mut VirtualCard, cmd: &Command) -> Result<Response, Box<dyn std::error::Error>> {
    Ok(Response::parse(&card.process(&cmd.to_bytes()?))?)
}

fn sw(card: &mut VirtualCard, cmd: &Command) -> Result<StatusWord, Box<dyn std::error::Error>> {
    Ok(send(card, cmd)?.sw())
}

fn select_aid() -> Command {
    Command::new(0, 0xA4, 0x04, 0x0C).with_data(APP_AID)
}

fn select_fid(p1: u8, fid: u16) -> Command {
    Command::new(0, 0xA4, p1, 0x0C).with_data(fid.to_be_bytes())
}

fn read(offset: u16, ne: usize) -> Command {
    let [p1, p2] = offset.to_be_bytes();
    Command::new(0, 0xB0, p1, p2).with_le(ne)
}

fn read_odd(offset: u32, ne: usize) -> Command {
    let bytes = offset.to_be_bytes();
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(3);
    let value = bytes.get(start..).unwrap_or_default();
    let mut data = vec![0x54, u8::try_from(value.len()).unwrap_or(0)];
    data.extend_from_slice(value);
    Command::new(0, 0xB1, 0, 0).with_data(data).with_le(ne)
}

/// Tag 53, BER length, value.
fn unwrap_53(data: &[u8]) -> Option<&[u8]> {
    match data {
        [0x53, 0x82, h, l, rest @ ..]
            if usize::from(u16::from_be_bytes([*h, *l])) == rest.len() =>
        {
            Some(rest)
        }
        [0x53, 0x81, l, rest @ ..] if usize::from(*l) == rest.len() => Some(rest),
        [0x53, l, rest @ ..] if usize::from(*l) == rest.len() && *l < 0x80 => Some(rest),
        _ => None,
    }
}

// ---- ATR, EF.ATR, EF.DIR ----

#[test]
fn atr_and_ef_atr_advertise_extended_length() -> TestResult {
    let mut card = default_card();
    assert_eq!(card.atr(), simulated_atr(true));
    assert!(card.atr().windows(6).any(|w| w == b"SHENAS"));
    // Compact-TLV category 80, card capabilities 73 with extended Lc/Le (40) and chaining (80).
    assert!(card.atr().windows(4).any(|w| w == [0x73, 0xB4, 0x21, 0xC0]));
    let r = send(
        &mut card,
        &Command::new(0, 0xB0, 0x80 | 0x1D, 0).with_le(256),
    )?;
    assert_eq!(r.sw(), StatusWord::END_OF_FILE);
    assert_eq!(r.data(), ef_atr_content(true));
    assert!(
        r.data()
            .windows(11)
            .any(|w| w == [0x7F, 0x66, 8, 2, 2, 0xFF, 0xFF, 2, 2, 0xFF, 0xFF])
    );

    let mut short = default_card().with_extended_length(false);
    assert!(
        short
            .atr()
            .windows(4)
            .any(|w| w == [0x73, 0xB4, 0x21, 0x80])
    );
    assert_eq!(
        short.ef_content(&[EF_ATR_FID]),
        Some(&ef_atr_content(false)[..])
    );
    let r = send(
        &mut short,
        &select_fid(0x02, EF_ATR_FID).with_p1_p2(0x00, 0x0C),
    )?;
    assert!(r.is_success());
    Ok(())
}

#[test]
fn ef_dir_lists_the_application() -> TestResult {
    let mut card = default_card();
    let r = send(
        &mut card,
        &Command::new(0, 0xA4, 0x08, 0x00)
            .with_data([0x2F, 0x00])
            .with_le(256),
    )?;
    assert!(r.is_success());
    assert_eq!(r.data().get(..2), Some(&[0x62, 0x11][..]));
    let r = send(&mut card, &read(0, 256))?;
    assert_eq!(r.sw(), StatusWord::END_OF_FILE);
    assert_eq!(r.data(), ef_dir_content());
    assert!(r.data().windows(8).any(|w| w == APP_AID));
    Ok(())
}

// ---- SELECT ----

#[test]
fn select_variants() -> TestResult {
    let mut card = default_card();
    // P1 00: MF by 3F00, then a DF by FID, then an EF in it by FID.
    assert!(sw(&mut card, &select_fid(0x00, 0x3F00))?.is_success());
    assert!(sw(&mut card, &select_fid(0x00, APP_DF_FID))?.is_success());
    assert!(sw(&mut card, &select_fid(0x00, SMALL_EF_FID))?.is_success());
    assert_eq!(send(&mut card, &read(0, 32))?.data(), SMALL_EF_CONTENT);
    // P1 00 also finds a sibling of the current EF and the parent DF.
    assert!(sw(&mut card, &select_fid(0x00, MEDIUM_EF_FID))?.is_success());
    assert!(sw(&mut card, &select_fid(0x00, APP_DF_FID))?.is_success());
    // P1 01 (child DF) and 02 (EF): the wrong kind is not found.
    assert!(sw(&mut card, &select_fid(0x00, 0x3F00))?.is_success());
    assert!(sw(&mut card, &select_fid(0x01, APP_DF_FID))?.is_success());
    assert_eq!(
        sw(&mut card, &select_fid(0x01, SMALL_EF_FID))?,
        StatusWord::FILE_NOT_FOUND
    );
    assert!(sw(&mut card, &select_fid(0x02, SMALL_EF_FID))?.is_success());
    assert_eq!(send(&mut card, &read(0, 4))?.data(), b"Shen");
    assert!(sw(&mut card, &select_fid(0x00, 0x3F00))?.is_success());
    assert_eq!(
        sw(&mut card, &select_fid(0x02, APP_DF_FID))?,
        StatusWord::FILE_NOT_FOUND
    );
    // P1 04: full AID, and a partial one (RID and more).
    assert!(sw(&mut card, &select_aid())?.is_success());
    assert!(
        sw(
            &mut card,
            &Command::new(0, 0xA4, 4, 0x0C).with_data(&APP_AID[..7])
        )?
        .is_success()
    );
    // P1 08: path from the MF, with or without 3F00.
    let path = [0x53, 0x48, 0x01, 0x03];
    assert!(sw(&mut card, &Command::new(0, 0xA4, 8, 0x0C).with_data(path))?.is_success());
    let r = send(
        &mut card,
        &Command::new(0, 0xA4, 8, 0x0C).with_data([0x3F, 0, 0x53, 0x48, 1, 1]),
    )?;
    assert!(r.is_success());
    assert_eq!(send(&mut card, &read(0, 6))?.data(), b"Shenas");
    // P1 09: path from the current DF (the application, after selecting an EF in it).
    assert!(sw(&mut card, &Command::new(0, 0xA4, 9, 0x0C).with_data([1, 2]))?.is_success());
    assert_eq!(
        send(&mut card, &read(0, 3))?.data(),
        medium_ef_content().get(..3).unwrap_or_default()
    );
    assert!(sw(&mut card, &select_fid(0x00, 0x3F00))?.is_success());
    let r = send(
        &mut card,
        &Command::new(0, 0xA4, 9, 0x0C).with_data([0x53, 0x48, 1, 1]),
    )?;
    assert!(r.is_success());
    Ok(())
}

#[test]
fn select_returns_fcp_unless_p2_0c() -> TestResult {
    let mut card = default_card();
    let r = send(
        &mut card,
        &Command::new(0, 0xA4, 4, 0).with_data(APP_AID).with_le(256),
    )?;
    assert!(r.is_success());
    let fcp = r.data();
    assert_eq!(fcp.first(), Some(&0x62));
    assert!(
        fcp.windows(3).any(|w| w == [0x82, 1, 0x38]),
        "DF descriptor"
    );
    assert!(fcp.windows(4).any(|w| w == [0x83, 2, 0x53, 0x48]));
    assert!(
        fcp.windows(10)
            .any(|w| w.get(..2) == Some(&[0x84, 8]) && w.get(2..) == Some(&APP_AID))
    );
    assert!(fcp.windows(2).any(|w| w == [0x81, 2]), "DF size");
    // An EF: size 80, descriptor 01, FID 83.
    let r = send(
        &mut card,
        &Command::new(0, 0xA4, 2, 4).with_data([1, 3]).with_le(256),
    )?;
    assert!(r.is_success());
    assert!(
        r.data().windows(4).any(|w| w == [0x80, 2, 0x9C, 0x40]),
        "40000 bytes"
    );
    assert!(r.data().windows(3).any(|w| w == [0x82, 1, 1]));
    assert!(r.data().windows(4).any(|w| w == [0x83, 2, 1, 3]));
    // P2 0C: no data.
    let r = send(&mut card, &select_aid().with_le(256))?;
    assert!(r.is_success() && r.data().is_empty());
    // Case 3 with P2 00: the FCP waits behind 61XX for GET RESPONSE.
    let r = send(&mut card, &Command::new(0, 0xA4, 4, 0).with_data(APP_AID))?;
    let n = r.sw().bytes_available().unwrap_or(0);
    assert!(r.data().is_empty() && n > 0, "{:?}", r.sw());
    let r = send(&mut card, &Command::new(0, 0xC0, 0, 0).with_le(n))?;
    assert!(r.is_success());
    assert_eq!(r.data().first(), Some(&0x62));
    Ok(())
}

#[test]
fn select_errors() -> TestResult {
    let mut card = default_card();
    assert_eq!(
        sw(&mut card, &select_fid(0, 0x1234))?,
        StatusWord::FILE_NOT_FOUND
    );
    let unknown_aid = Command::new(0, 0xA4, 4, 0)
        .with_data([0xA0, 0, 0, 3, 8])
        .with_le(256);
    assert_eq!(sw(&mut card, &unknown_aid)?, StatusWord::FILE_NOT_FOUND);
    let bad_path = Command::new(0, 0xA4, 8, 0x0C).with_data([0x53, 0x48, 9, 9]);
    assert_eq!(sw(&mut card, &bad_path)?, StatusWord::FILE_NOT_FOUND);
    // Bad P1, bad P2.
    assert_eq!(
        sw(&mut card, &select_fid(0x05, 0x3F00))?,
        StatusWord::INCORRECT_P1_P2
    );
    let bad_p2 = Command::new(0, 0xA4, 0, 0x02).with_data([0x3F, 0]);
    assert_eq!(sw(&mut card, &bad_p2)?, StatusWord::INCORRECT_P1_P2);
    // Wrong Lc: 3 bytes of FID, an odd path, an empty AID, a 17-byte AID.
    let wrong = [
        Command::new(0, 0xA4, 0, 0x0C).with_data([0x3F, 0, 1]),
        Command::new(0, 0xA4, 2, 0x0C).with_data([1]),
        Command::new(0, 0xA4, 8, 0x0C).with_data([0x53, 0x48, 1]),
        Command::new(0, 0xA4, 4, 0x0C),
        Command::new(0, 0xA4, 4, 0x0C).with_data([0xF0; 17]),
    ];
    for cmd in &wrong {
        assert_eq!(sw(&mut card, cmd)?, StatusWord::WRONG_LENGTH, "{cmd:?}");
    }
    // A failed SELECT keeps the current file.
    assert!(sw(&mut card, &select_aid())?.is_success());
    assert!(sw(&mut card, &select_fid(2, SMALL_EF_FID))?.is_success());
    assert_eq!(
        sw(&mut card, &select_fid(2, 0x7777))?,
        StatusWord::FILE_NOT_FOUND
    );
    assert_eq!(send(&mut card, &read(0, 1))?.data(), b"S");
    Ok(())
}

// ---- READ BINARY ----

#[test]
fn read_binary_edges() -> TestResult {
    let mut card = default_card();
    // No current EF after power-on.
    assert_eq!(sw(&mut card, &read(0, 1))?, StatusWord::NO_CURRENT_EF);
    // A DF selected instead of an EF.
    assert!(sw(&mut card, &select_aid())?.is_success());
    assert_eq!(
        sw(&mut card, &read(0, 1))?,
        StatusWord::INCOMPATIBLE_FILE_STRUCTURE
    );
    assert!(sw(&mut card, &select_fid(2, SMALL_EF_FID))?.is_success());
    // Le longer than the rest: the rest and 6282.
    let r = send(&mut card, &read(30, 10))?;
    assert_eq!(r.sw(), StatusWord::END_OF_FILE);
    assert_eq!(r.data(), b".\n");
    // Exactly to the end: 9000.
    let r = send(&mut card, &read(30, 2))?;
    assert_eq!((r.sw(), r.data()), (StatusWord::SUCCESS, &b".\n"[..]));
    // Offset == size and beyond: 6B00.
    assert_eq!(sw(&mut card, &read(32, 1))?, StatusWord::WRONG_P1_P2);
    assert_eq!(sw(&mut card, &read(1000, 1))?, StatusWord::WRONG_P1_P2);
    // No Le, or command data: 6700.
    assert_eq!(
        sw(&mut card, &Command::new(0, 0xB0, 0, 0))?,
        StatusWord::WRONG_LENGTH
    );
    let with_data = Command::new(0, 0xB0, 0, 0).with_data([1]).with_le(1);
    assert_eq!(sw(&mut card, &with_data)?, StatusWord::WRONG_LENGTH);
    // SFI in P1: reads another EF of the current DF and makes it current.
    let r = send(
        &mut card,
        &Command::new(0, 0xB0, 0x80 | BIG_EF_SFI, 0x10).with_le(16),
    )?;
    assert_eq!(
        r.data(),
        big_ef_content().get(0x10..0x20).unwrap_or_default()
    );
    assert_eq!(
        send(&mut card, &read(0, 2))?.data(),
        big_ef_content().get(..2).unwrap_or_default()
    );
    // Unknown SFI, malformed SFI byte.
    assert_eq!(
        sw(&mut card, &Command::new(0, 0xB0, 0x80 | 9, 0).with_le(1))?,
        StatusWord::FILE_NOT_FOUND
    );
    assert_eq!(
        sw(&mut card, &Command::new(0, 0xB0, 0xC1, 0).with_le(1))?,
        StatusWord::INCORRECT_P1_P2
    );
    Ok(())
}

#[test]
fn reads_a_whole_ef_in_short_and_extended_apdus() -> TestResult {
    let mut card = default_card();
    assert!(
        sw(
            &mut card,
            &Command::new(0, 0xA4, 8, 0x0C).with_data([0x53, 0x48, 1, 2])
        )?
        .is_success()
    );
    let mut got = Vec::new();
    while got.len() < MEDIUM_EF_LEN {
        let r = send(&mut card, &read(u16::try_from(got.len())?, 256))?;
        assert!(matches!(
            r.sw(),
            StatusWord::SUCCESS | StatusWord::END_OF_FILE
        ));
        got.extend_from_slice(r.data());
    }
    assert_eq!(got, medium_ef_content());
    // One extended READ BINARY with Le 0000 (65536): the whole file and 6282.
    let bytes = read(0, 65_536).to_extended_bytes()?;
    let r = Response::parse(&card.process(&bytes))?;
    assert_eq!(r.sw(), StatusWord::END_OF_FILE);
    assert_eq!(r.data(), medium_ef_content());
    // Without extended length the same APDU is refused.
    let mut short = default_card().with_extended_length(false);
    assert!(
        sw(
            &mut short,
            &Command::new(0, 0xA4, 8, 0x0C).with_data([0x53, 0x48, 1, 2])
        )?
        .is_success()
    );
    assert_eq!(
        Response::parse(&short.process(&bytes))?.sw(),
        StatusWord::WRONG_LENGTH
    );
    // Even an extended encoding of a short command.
    let small = read(0, 16).to_extended_bytes()?;
    assert_eq!(
        Response::parse(&short.process(&small))?.sw(),
        StatusWord::WRONG_LENGTH
    );
    assert!(Response::parse(&card.process(&small))?.is_success());
    Ok(())
}

#[test]
fn odd_read_binary_goes_beyond_32767() -> TestResult {
    let mut card = default_card();
    let big = big_ef_content();
    assert!(
        sw(
            &mut card,
            &Command::new(0, 0xA4, 8, 0x0C).with_data([0x53, 0x48, 1, 3])
        )?
        .is_success()
    );
    // B0 cannot say an offset above 32767 (P1 b8 means SFI).
    let r = send(&mut card, &read(32_767, 1))?;
    assert_eq!(r.data(), big.get(32_767..32_768).unwrap_or_default());
    // B1 with offset DO 54: data in DO 53, Ne counting the DO header.
    let r = send(&mut card, &read_odd(39_000, 256))?;
    assert!(r.is_success());
    assert_eq!(r.data().len(), 256);
    assert_eq!(unwrap_53(r.data()), big.get(39_000..39_253));
    // Near the end: the rest and 6282.
    let r = send(&mut card, &read_odd(39_990, 256))?;
    assert_eq!(r.sw(), StatusWord::END_OF_FILE);
    assert_eq!(unwrap_53(r.data()), big.get(39_990..));
    // Extended: everything from 32768 in one answer.
    let r = send(&mut card, &read_odd(32_768, 65_536))?;
    assert_eq!(r.sw(), StatusWord::END_OF_FILE);
    assert_eq!(unwrap_53(r.data()), big.get(32_768..));
    // Offset == size: 6B00. Bad offset DO: 6A80. No data: 6700.
    assert_eq!(
        sw(&mut card, &read_odd(u32::try_from(BIG_EF_LEN)?, 16))?,
        StatusWord::WRONG_P1_P2
    );
    let bad = Command::new(0, 0xB1, 0, 0)
        .with_data([0x55, 1, 0])
        .with_le(16);
    assert_eq!(sw(&mut card, &bad)?, StatusWord::INCORRECT_DATA);
    assert_eq!(
        sw(&mut card, &Command::new(0, 0xB1, 0, 0).with_le(16))?,
        StatusWord::WRONG_LENGTH
    );
    // P1-P2 as a FID, and as an SFI.
    assert!(sw(&mut card, &select_aid())?.is_success());
    let by_fid = read_odd(2, 10).with_p1_p2(0x01, 0x01);
    assert_eq!(
        unwrap_53(send(&mut card, &by_fid)?.data()),
        SMALL_EF_CONTENT.get(2..10)
    );
    let by_sfi = read_odd(0, 6).with_p1_p2(0, SMALL_EF_SFI);
    assert_eq!(
        unwrap_53(send(&mut card, &by_sfi)?.data()),
        SMALL_EF_CONTENT.get(..4)
    );
    Ok(())
}

// ---- UPDATE BINARY and chaining ----

#[test]
fn update_binary_plain_chained_and_odd() -> TestResult {
    let mut card = default_card();
    assert!(sw(&mut card, &select_aid())?.is_success());
    assert!(sw(&mut card, &select_fid(2, MEDIUM_EF_FID))?.is_success());
    assert!(sw(&mut card, &Command::new(0, 0xD6, 0, 4).with_data(*b"WXYZ"))?.is_success());
    assert_eq!(
        send(&mut card, &read(2, 6))?.data().get(2..),
        Some(&b"WXYZ"[..])
    );
    // Chained: CLA 10 for all but the last part.
    let parts: [&[u8]; 3] = [&[1; 200], &[2; 200], &[3; 100]];
    for (i, part) in parts.iter().enumerate() {
        let cla = if i + 1 < parts.len() { 0x10 } else { 0x00 };
        let r = send(
            &mut card,
            &Command::new(cla, 0xD6, 0x03, 0xE8).with_data(*part),
        )?;
        assert!(r.is_success(), "part {i}: {:?}", r.sw());
    }
    let mut expected = vec![1u8; 200];
    expected.extend([2; 200]);
    expected.extend([3; 100]);
    let written = card
        .ef_content(&[APP_DF_FID, MEDIUM_EF_FID])
        .and_then(|c| c.get(1000..1500));
    assert_eq!(written, Some(&expected[..]));
    // Writing past the end: 6A84; starting past the end: 6B00.
    let past = Command::new(0, 0xD6, 0x17, 0x6C).with_data([0; 8]); // offset 5996
    assert_eq!(sw(&mut card, &past)?, StatusWord::NOT_ENOUGH_MEMORY);
    let beyond = Command::new(0, 0xD6, 0x17, 0x71).with_data([0; 1]); // offset 6001
    assert_eq!(sw(&mut card, &beyond)?, StatusWord::WRONG_P1_P2);
    // A chain broken by another command: 6883, and the chain is dropped.
    assert!(sw(&mut card, &Command::new(0x10, 0xD6, 0, 0).with_data([9]))?.is_success());
    assert_eq!(
        sw(&mut card, &read(0, 1))?,
        StatusWord::LAST_COMMAND_EXPECTED
    );
    assert_eq!(
        send(&mut card, &read(0, 1))?.data(),
        medium_ef_content().get(..1).unwrap_or_default()
    );
    // Chaining an instruction that does not chain: 6884.
    assert_eq!(
        sw(&mut card, &read(0, 1).with_cla(0x10))?,
        StatusWord::CHAINING_NOT_SUPPORTED
    );
    // Odd UPDATE BINARY beyond 32767 in the big EF.
    assert!(sw(&mut card, &select_fid(2, BIG_EF_FID))?.is_success());
    let d7 = Command::new(0, 0xD7, 0, 0).with_data([0x54, 2, 0x9C, 0x3C, 0x53, 4, 1, 2, 3, 4]);
    assert!(sw(&mut card, &d7)?.is_success());
    let tail = card
        .ef_content(&[APP_DF_FID, BIG_EF_FID])
        .and_then(|c| c.get(39_996..));
    assert_eq!(tail, Some(&[1u8, 2, 3, 4][..]));
    // Content survives a power cycle.
    card.power_off();
    card.power_on();
    assert_eq!(
        card.ef_content(&[APP_DF_FID, MEDIUM_EF_FID])
            .and_then(|c| c.get(1000..1500)),
        Some(&expected[..])
    );
    Ok(())
}

// ---- GET DATA, GET CHALLENGE, GET RESPONSE ----

#[test]
fn get_data() -> TestResult {
    let mut card = default_card();
    let [p1, p2] = SERIAL_NUMBER_TAG.to_be_bytes();
    let r = send(&mut card, &Command::new(0, 0xCA, p1, p2).with_le(256))?;
    assert_eq!(
        (r.sw(), r.data()),
        (StatusWord::SUCCESS, &SERIAL_NUMBER[..])
    );
    let [p1, p2] = ISSUER_ID_TAG.to_be_bytes();
    assert_eq!(
        send(&mut card, &Command::new(0, 0xCA, p1, p2).with_le(256))?.data(),
        ISSUER_ID
    );
    let unknown = Command::new(0, 0xCA, 0x01, 0x23).with_le(256);
    assert_eq!(
        sw(&mut card, &unknown)?,
        StatusWord::REFERENCED_DATA_NOT_FOUND
    );
    Ok(())
}

#[test]
fn get_challenge_is_fresh_and_checks_its_length() -> TestResult {
    let mut card = default_card();
    let a = send(&mut card, &Command::new(0, 0x84, 0, 0).with_le(8))?;
    let b = send(&mut card, &Command::new(0, 0x84, 0, 0).with_le(8))?;
    assert!(a.is_success() && b.is_success());
    assert_eq!(a.data().len(), 8);
    assert_ne!(a.data(), b.data());
    assert_eq!(card.last_challenge(), Some(b.data()));
    assert_eq!(
        send(&mut card, &Command::new(0, 0x84, 0, 0).with_le(256))?
            .data()
            .len(),
        256
    );
    assert_eq!(
        sw(&mut card, &Command::new(0, 0x84, 0, 0))?,
        StatusWord::WRONG_LENGTH
    );
    assert_eq!(
        sw(&mut card, &Command::new(0, 0x84, 0, 0).with_le(257))?,
        StatusWord::WRONG_LENGTH
    );
    assert_eq!(
        sw(&mut card, &Command::new(0, 0x84, 1, 0).with_le(8))?,
        StatusWord::INCORRECT_P1_P2
    );
    card.reset();
    assert_eq!(card.last_challenge(), None, "reset drops the challenge");
    Ok(())
}

#[test]
fn get_response_serves_what_ne_cut() -> TestResult {
    let mut card = default_card();
    assert_eq!(
        sw(&mut card, &Command::new(0, 0xC0, 0, 0).with_le(16))?,
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
    // FCP of the application with Ne 4: 4 bytes and 61XX.
    let r = send(
        &mut card,
        &Command::new(0, 0xA4, 4, 0).with_data(APP_AID).with_le(4),
    )?;
    let left = r.sw().bytes_available().unwrap_or(0);
    assert_eq!(r.data().len(), 4);
    let mut fcp = r.data().to_vec();
    // GET RESPONSE shorter than what is left: another 61XX.
    let r = send(&mut card, &Command::new(0, 0xC0, 0, 0).with_le(3))?;
    assert_eq!(r.sw().bytes_available(), Some(left - 3));
    fcp.extend_from_slice(r.data());
    let r = send(&mut card, &Command::new(0, 0xC0, 0, 0).with_le(256))?;
    assert!(r.is_success());
    fcp.extend_from_slice(r.data());
    assert_eq!(fcp.get(1).map(|l| usize::from(*l) + 2), Some(fcp.len()));
    // Another command in between drops the pending data.
    let _ = send(
        &mut card,
        &Command::new(0, 0xA4, 4, 0).with_data(APP_AID).with_le(4),
    )?;
    let _ = send(&mut card, &Command::new(0, 0xCA, 0x5F, 0x5A).with_le(256))?;
    assert_eq!(
        sw(&mut card, &Command::new(0, 0xC0, 0, 0).with_le(16))?,
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
    Ok(())
}

// ---- Class, instruction, malformed ----

#[test]
fn unknown_class_instruction_and_malformed_apdus() -> TestResult {
    let mut card = default_card();
    assert_eq!(
        sw(&mut card, &Command::new(0, 0x44, 0, 0))?,
        StatusWord::INS_NOT_SUPPORTED
    );
    assert_eq!(
        sw(
            &mut card,
            &Command::new(0, 0x20, 0, 0x81).with_data(*b"1234")
        )?,
        StatusWord::INS_NOT_SUPPORTED
    );
    // Proprietary class and the PC/SC pseudo-APDU class.
    assert_eq!(
        sw(
            &mut card,
            &Command::new(0x80, 0xCA, 0x5F, 0x5A).with_le(256)
        )?,
        StatusWord::CLA_NOT_SUPPORTED
    );
    assert_eq!(
        sw(&mut card, &Command::new(0xFF, 0xCA, 0, 0).with_le(256))?,
        StatusWord::CLA_NOT_SUPPORTED
    );
    assert_eq!(
        sw(
            &mut card,
            &Command::new(0xA0, 0xA4, 0, 0).with_data([0x3F, 0])
        )?,
        StatusWord::CLA_NOT_SUPPORTED
    );
    // Secure messaging and logical channels.
    assert_eq!(
        sw(&mut card, &select_aid().with_cla(0x0C))?,
        StatusWord::SECURE_MESSAGING_NOT_SUPPORTED
    );
    assert_eq!(
        sw(&mut card, &select_aid().with_cla(0x01))?,
        StatusWord::LOGICAL_CHANNEL_NOT_SUPPORTED
    );
    // Malformed: too short, Lc disagreeing with the body.
    for bytes in [
        &[0u8][..],
        &[0, 0xA4],
        &[0, 0xA4, 4],
        &[0, 0xA4, 4, 0, 5, 1, 2],
        &[0, 0xB0, 0, 0, 1, 2, 3, 4],
    ] {
        assert_eq!(card.process(bytes), [0x67, 0x00], "{bytes:02X?}");
    }
    Ok(())
}

// ---- Power ----

#[test]
fn power_off_and_reset_drop_the_selection() -> TestResult {
    let mut card = default_card();
    let atr = card.atr().to_vec();
    for drop_state in [
        VirtualCard::power_off as fn(&mut VirtualCard),
        |c| c.power_on(),
        |c| {
            c.reset();
        },
    ] {
        assert!(sw(&mut card, &select_aid())?.is_success());
        assert!(sw(&mut card, &select_fid(2, SMALL_EF_FID))?.is_success());
        assert!(send(&mut card, &read(0, 1))?.is_success());
        drop_state(&mut card);
        // A command to an unpowered card powers it on (state already dropped).
        assert_eq!(sw(&mut card, &read(0, 1))?, StatusWord::NO_CURRENT_EF);
        assert!(card.is_powered());
    }
    assert_eq!(card.reset(), atr, "the ATR is fixed");
    // A chain and pending GET RESPONSE data do not survive a reset either.
    assert!(sw(&mut card, &select_fid(0, EF_DIR_FID))?.is_success());
    assert!(sw(&mut card, &Command::new(0x10, 0xD6, 0, 0).with_data([1]))?.is_success());
    card.reset();
    assert!(sw(&mut card, &select_fid(0, EF_DIR_FID))?.is_success());
    assert!(send(&mut card, &read(0, 2))?.is_success());
    let _ = send(
        &mut card,
        &Command::new(0, 0xA4, 4, 0).with_data(APP_AID).with_le(2),
    )?;
    card.reset();
    assert_eq!(
        sw(&mut card, &Command::new(0, 0xC0, 0, 0).with_le(16))?,
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
    Ok(())
}

// ---- Faults through the in-process transport ----

#[test]
fn transport_chunks_answers_into_61xx() -> TestResult {
    let faults = Faults {
        chunk: Some(100),
        ..Faults::none()
    };
    let mut t = SimulatedTransport::with_faults(default_card(), faults);
    assert_eq!(
        t.transmit(
            &Command::new(0, 0xA4, 8, 0x0C)
                .with_data([0x53, 0x48, 1, 2])
                .to_bytes()?
        )?,
        [0x90, 0]
    );
    let mut got = Vec::new();
    let r = Response::parse(&t.transmit(&read(0, 256).to_bytes()?)?)?;
    got.extend_from_slice(r.data());
    let mut sw = r.sw();
    assert_eq!(got.len(), 100);
    while let Some(n) = sw.bytes_available() {
        let r = Response::parse(&t.transmit(&Command::new(0, 0xC0, 0, 0).with_le(n).to_bytes()?)?)?;
        assert!(r.data().len() <= 100);
        got.extend_from_slice(r.data());
        sw = r.sw();
    }
    assert!(sw.is_success());
    assert_eq!(got, medium_ef_content().get(..256).unwrap_or_default());
    Ok(())
}

#[test]
fn transport_forces_status_words_delays_and_removes() -> TestResult {
    let forced = ForcedStatus {
        sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED,
        ins: Some(0xCA),
    };
    let faults = Faults {
        force_sw: Some(forced),
        remove_after: Some(3),
        delay: Duration::from_millis(10),
        ..Faults::none()
    };
    let mut t = SimulatedTransport::with_faults(default_card(), faults);
    let start = Instant::now();
    assert_eq!(t.transmit(&select_aid().to_bytes()?)?, [0x90, 0]);
    assert_eq!(
        t.transmit(&Command::new(0, 0xCA, 0x5F, 0x5A).with_le(256).to_bytes()?)?,
        [0x69, 0x82]
    );
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert_eq!(
        t.transmit(&select_aid().to_bytes()?)?,
        [0x90, 0],
        "the third APDU is answered"
    );
    assert!(matches!(
        t.transmit(&select_aid().to_bytes()?),
        Err(TransportError::CardRemoved)
    ));
    assert!(matches!(t.reset(), Err(TransportError::CardRemoved)));
    assert!(t.transmit(&[0]).is_err_and(|e| e.is_card_gone()));
    t.insert();
    assert_eq!(t.reset()?, simulated_atr(true));
    Ok(())
}

// ---- Never panics ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn any_bytes_get_a_status_word(
        apdus in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..16),
        extended in any::<bool>(),
    ) {
        let mut card = default_card().with_extended_length(extended);
        for apdu in apdus {
            prop_assert!(card.process(&apdu).len() >= 2);
        }
    }

    #[test]
    fn well_formed_random_commands_get_a_status_word(
        cla in prop_oneof![Just(0u8), Just(0x10), any::<u8>()],
        ins in prop_oneof![Just(0xA4u8), Just(0xB0), Just(0xB1), Just(0xD6), Just(0xD7), Just(0xCA), Just(0x84), Just(0xC0)],
        p1 in any::<u8>(),
        p2 in any::<u8>(),
        data in proptest::collection::vec(any::<u8>(), 0..64),
        ne in proptest::option::of(1usize..=65_536),
    ) {
        let mut card = default_card();
        let _ = card.process(&[0, 0xA4, 8, 0x0C, 4, 0x53, 0x48, 1, 3]);
        let mut cmd = Command::new(cla, ins, p1, p2).with_data(data);
        if let Some(ne) = ne {
            cmd = cmd.with_le(ne);
        }
        let bytes = cmd.to_bytes().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let r = card.process(&bytes);
        prop_assert!(r.len() >= 2);
        prop_assert!(r.len() <= 65_536 + 2);
    }
}
