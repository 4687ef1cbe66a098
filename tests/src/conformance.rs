//! The transport conformance suite.
//!
//! [`generic`] holds checks any ISO/IEC 7816-4 card must pass (run on real hardware too);
//! [`default_card`] holds checks of the default simulated card's contents and behaviour, which
//! every simulated transport must deliver byte for byte. Each check takes the object-safe
//! `&mut dyn Transport`, so the same code runs over every backend.

use shenas_apdu::{
    Aid, Atr, Channel, ChannelConfig, ChannelError, Command, ExtendedLength, FileId, Path,
    StatusWord, Transport,
};
use shenas_simulators::default_card as card;

/// A named check.
pub type Check = (&'static str, fn(&mut dyn Transport) -> Result<(), String>);

/// Runs `checks` in order and returns the names and reasons of those that failed.
pub fn run(transport: &mut dyn Transport, checks: &[Check]) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, check) in checks {
        // Each check starts from a freshly reset card, as a new conversation would.
        if let Err(e) = transport.reset() {
            failures.push(format!("{name}: reset failed: {e}"));
            continue;
        }
        if let Err(reason) = check(transport) {
            failures.push(format!("{name}: {reason}"));
        }
    }
    failures
}

/// Runs `checks` and panics listing every failure.
pub fn assert_passes(transport: &mut dyn Transport, checks: &[Check]) {
    let failures = run(transport, checks);
    assert!(
        failures.is_empty(),
        "{} conformance check(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn sw(transport: &mut dyn Transport, apdu: &[u8]) -> Result<StatusWord, String> {
    let response = transport.transmit(apdu).map_err(err)?;
    let [.., sw1, sw2] = response[..] else {
        return Err(format!("response of {} bytes", response.len()));
    };
    Ok(StatusWord::from_bytes(sw1, sw2))
}

fn expect_sw(transport: &mut dyn Transport, apdu: &[u8], want: StatusWord) -> Result<(), String> {
    let got = sw(transport, apdu)?;
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{} answered {got}, expected {want}",
            hex::encode_upper(apdu)
        ))
    }
}

fn channel(
    transport: &mut dyn Transport,
    extended: ExtendedLength,
) -> Result<Channel<&mut dyn Transport>, String> {
    let config = ChannelConfig {
        extended_length: extended,
        ..ChannelConfig::default()
    };
    Channel::open(transport, config).map_err(err)
}

/// Checks any ISO/IEC 7816-4 card passes.
pub fn generic() -> Vec<Check> {
    vec![
        ("atr parses", |t| {
            let atr = t.atr().map_err(err)?;
            Atr::parse(&atr).map(|_| ()).map_err(err)
        }),
        ("unknown AID is 6A82", |t| {
            expect_sw(
                t,
                &[
                    0x00, 0xA4, 0x04, 0x00, 0x07, 0xF0, 0xFF, 0xEE, 0xDD, 0xCC, 0xBB, 0xAA, 0x00,
                ],
                StatusWord::FILE_NOT_FOUND,
            )
        }),
        ("unknown INS is 6D00", |t| {
            expect_sw(t, &[0x00, 0x02, 0x00, 0x00], StatusWord::INS_NOT_SUPPORTED)
        }),
        ("get challenge is fresh", |t| {
            let first = t.transmit(&[0x00, 0x84, 0x00, 0x00, 0x08]).map_err(err)?;
            let second = t.transmit(&[0x00, 0x84, 0x00, 0x00, 0x08]).map_err(err)?;
            if first.len() != 10 || !first.ends_with(&[0x90, 0x00]) {
                return Err(format!("GET CHALLENGE answered {} bytes", first.len()));
            }
            if first == second {
                Err("two challenges were equal".into())
            } else {
                Ok(())
            }
        }),
    ]
}

fn path(ids: &[u16]) -> Result<Path, String> {
    let bytes: Vec<u8> = ids.iter().flat_map(|id| id.to_be_bytes()).collect();
    Path::parse(&bytes).map_err(err)
}

fn app_path(fid: u16) -> Result<Path, String> {
    path(&[FileId::MF.value(), card::APP_DF_FID, fid])
}

fn select_app(t: &mut dyn Transport) -> Result<(), String> {
    let mut select = vec![0x00, 0xA4, 0x04, 0x0C, 0x08];
    select.extend_from_slice(&card::APP_AID);
    expect_sw(t, &select, StatusWord::SUCCESS)
}

fn read_with(
    t: &mut dyn Transport,
    extended: ExtendedLength,
    fid: u16,
    want: &[u8],
) -> Result<(), String> {
    let mut channel = channel(t, extended)?;
    let content = channel.read_file(&app_path(fid)?).map_err(err)?;
    if content == want {
        Ok(())
    } else {
        Err(format!(
            "EF {fid:04X}: read {} bytes, differing from the card's {}",
            content.len(),
            want.len()
        ))
    }
}

/// Checks of the default simulated card ([`mod@shenas_simulators::default_card`]).
pub fn default_card() -> Vec<Check> {
    vec![
        ("atr declares extended length", |t| {
            let atr = Atr::parse(&t.atr().map_err(err)?).map_err(err)?;
            if atr.extended_length() == Some(true) {
                Ok(())
            } else {
                Err("ATR does not declare extended length".into())
            }
        }),
        ("channel negotiates extended length", |t| {
            let channel = channel(t, ExtendedLength::Auto)?;
            if channel.capabilities().extended_length {
                Ok(())
            } else {
                Err("not negotiated".into())
            }
        }),
        ("select application by AID", |t| {
            let mut channel = channel(t, ExtendedLength::Auto)?;
            let aid = Aid::new(&card::APP_AID).map_err(err)?;
            channel.select_aid(&aid).map(|_| ()).map_err(err)
        }),
        ("read EF.DIR by path", |t| {
            let mut channel = channel(t, ExtendedLength::Never)?;
            let content = channel
                .read_file(&path(&[FileId::MF.value(), card::EF_DIR_FID])?)
                .map_err(err)?;
            if content == card::ef_dir_content() {
                Ok(())
            } else {
                Err("EF.DIR differs".into())
            }
        }),
        ("read small EF", |t| {
            read_with(
                t,
                ExtendedLength::Auto,
                card::SMALL_EF_FID,
                card::SMALL_EF_CONTENT,
            )
        }),
        ("read medium EF, extended length", |t| {
            read_with(
                t,
                ExtendedLength::Auto,
                card::MEDIUM_EF_FID,
                &card::medium_ef_content(),
            )
        }),
        ("read medium EF, short APDUs", |t| {
            read_with(
                t,
                ExtendedLength::Never,
                card::MEDIUM_EF_FID,
                &card::medium_ef_content(),
            )
        }),
        ("read big EF beyond 32767 (B1), extended", |t| {
            read_with(
                t,
                ExtendedLength::Auto,
                card::BIG_EF_FID,
                &card::big_ef_content(),
            )
        }),
        ("read big EF beyond 32767 (B1), short", |t| {
            read_with(
                t,
                ExtendedLength::Never,
                card::BIG_EF_FID,
                &card::big_ef_content(),
            )
        }),
        ("get data serial number", |t| {
            let mut channel = channel(t, ExtendedLength::Auto)?;
            let data = channel
                .transmit_ok(
                    &Command::new(0x00, 0xCA, 0x5F, 0x5A).with_le(256),
                    "GET DATA",
                )
                .map_err(err)?;
            if data == card::SERIAL_NUMBER {
                Ok(())
            } else {
                Err("serial differs".into())
            }
        }),
        ("get data unknown tag is 6A88", |t| {
            expect_sw(
                t,
                &[0x00, 0xCA, 0x01, 0x23, 0x00],
                StatusWord::REFERENCED_DATA_NOT_FOUND,
            )
        }),
        ("unknown CLA is 6E00", |t| {
            expect_sw(
                t,
                &[0x80, 0xB0, 0x00, 0x00, 0x10],
                StatusWord::CLA_NOT_SUPPORTED,
            )
        }),
        ("select with wrong Lc is 6700", |t| {
            expect_sw(
                t,
                &[0x00, 0xA4, 0x00, 0x0C, 0x01, 0x3F],
                StatusWord::WRONG_LENGTH,
            )
        }),
        ("read binary without current EF is 6986", |t| {
            expect_sw(
                t,
                &[0x00, 0xB0, 0x00, 0x00, 0x10],
                StatusWord::NO_CURRENT_EF,
            )
        }),
        ("read binary at end of file is 6B00", |t| {
            select_app(t)?;
            // READ BINARY with SFI 1 (32 bytes) at offset 32.
            expect_sw(t, &[0x00, 0xB0, 0x81, 0x20, 0x01], StatusWord::WRONG_P1_P2)
        }),
        ("read binary past the end gives the rest with 6282", |t| {
            select_app(t)?;
            let r = t.transmit(&[0x00, 0xB0, 0x81, 0x10, 0x40]).map_err(err)?;
            if r.len() == 18 && r.ends_with(&[0x62, 0x82]) {
                Ok(())
            } else {
                Err(format!(
                    "got {} bytes ending {:02X?}",
                    r.len(),
                    r.get(r.len().saturating_sub(2)..)
                ))
            }
        }),
        ("update binary with chaining, read back", |t| {
            let data: Vec<u8> = (0..600u16).map(|i| (i % 251) as u8).collect();
            let mut channel = channel(t, ExtendedLength::Never)?;
            channel
                .select_path(&app_path(card::MEDIUM_EF_FID)?)
                .map_err(err)?;
            channel
                .transmit_ok(
                    &Command::new(0x00, 0xD6, 0x00, 0x00).with_data(data.clone()),
                    "UPDATE BINARY",
                )
                .map_err(err)?;
            let back = channel.read_selected(Some(600)).map_err(err)?;
            // Put the original back so later checks read what the card defines.
            let original = card::medium_ef_content();
            channel
                .transmit_ok(
                    &Command::new(0x00, 0xD6, 0x00, 0x00)
                        .with_data(original.get(..600).unwrap_or_default()),
                    "UPDATE BINARY",
                )
                .map_err(err)?;
            if back == data {
                Ok(())
            } else {
                Err("read back differs".into())
            }
        }),
        ("reset drops the selection", |t| {
            select_app(t)?;
            expect_sw(t, &[0x00, 0xB0, 0x81, 0x00, 0x04], StatusWord::SUCCESS)?;
            t.reset().map_err(err)?;
            // SFI 1 is only known inside the application: after reset the MF is current.
            let got = sw(t, &[0x00, 0xB0, 0x81, 0x00, 0x04])?;
            if got.is_success() {
                Err("file still reachable after reset".into())
            } else {
                Ok(())
            }
        }),
    ]
}

/// Reads the big EF and expects the transport to fail as the card goes away mid-read.
pub fn read_until_removed(t: &mut dyn Transport) -> Result<shenas_apdu::TransportError, String> {
    let mut channel = channel(t, ExtendedLength::Never)?;
    match channel.read_file(&app_path(card::BIG_EF_FID)?) {
        Ok(_) => Err("the read succeeded although the card was removed".into()),
        Err(ChannelError::Transport(e)) => Ok(e),
        Err(e) => Err(format!("expected a transport error, got {e}")),
    }
}
