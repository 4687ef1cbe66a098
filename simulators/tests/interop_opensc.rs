//! `shenas-sim` through the real pcscd + vpcd, checked with an independent client: OpenSC's
//! `opensc-tool` (reader list, ATR, raw APDUs).
//!
//! Each test runs in its own sandbox (mount, network and PID namespaces, its own pcscd): needs
//! root, `pcscd`, `vsmartcard-vpcd` and `opensc`. Missing pieces fail the test; nothing skips.
//!
//! OpenSC 0.23 sends raw APDUs (`-s`) to this card with its stock configuration: it probes the
//! card with its drivers' SELECTs and GET DATAs first (about 50 APDUs, all answered 6A82/6D00/…)
//! and, finding no driver, still transmits ours. So no `OPENSC_CONF` is needed, and the test
//! removes any `OPENSC_CONF` from its environment to run against the stock configuration.

use std::process::{Command, Output};
use std::time::Duration;

use shenas_simulators::default_card::{APP_AID, SERIAL_NUMBER, SMALL_EF_CONTENT};
use shenas_simulators::simulated_atr;
use shenas_test_harness::{ChildGuard, Sandbox, pcscd_test};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const WAIT: Duration = Duration::from_secs(10);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts `shenas-sim` (the demo card, slot 0) and waits until pcscd sees its card.
fn start_sim(sb: &Sandbox) -> Result<(ChildGuard, String), Box<dyn std::error::Error>> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shenas-sim"));
    cmd.arg("--demo-card");
    let mut sim = sb.spawn(cmd);
    sim.wait_for_line("connected slot=0", WAIT)?;
    let reader = sb.reader_name(0);
    let atr = sb.wait_for_card(&reader, WAIT)?;
    assert_eq!(
        atr,
        simulated_atr(true),
        "pcscd reports another ATR for the simulated card"
    );
    Ok((sim, reader))
}

/// Runs a one-shot client to its end (killed after `CLIENT_TIMEOUT`), output captured.
fn run(mut cmd: Command) -> Result<Output, Box<dyn std::error::Error>> {
    cmd.env_remove("OPENSC_CONF");
    Ok(shenas_test_harness::run_to_end(cmd, CLIENT_TIMEOUT)?)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// One exchange as `opensc-tool -s` prints it.
#[derive(Debug, Default)]
struct Exchange {
    sent: Vec<u8>,
    data: Vec<u8>,
    sw: Option<u16>,
}

fn parse_hex_bytes(text: &str) -> Option<Vec<u8>> {
    text.split_whitespace()
        .map(|t| u8::from_str_radix(t, 16).ok().filter(|_| t.len() == 2))
        .collect()
}

/// One line of OpenSC's `util_hex_dump_asc`: up to 16 `"XX "` groups, on lines after the first
/// padded to 48 columns, then the bytes as ASCII (`.` for unprintable ones). Returns the bytes
/// when the line is exactly that, the ASCII part agreeing with the hex part.
fn parse_dump_line(line: &str) -> Option<Vec<u8>> {
    (1..=16usize).rev().find_map(|n| {
        let hex_part = line.get(..3 * n)?;
        let groups_ok = hex_part
            .as_bytes()
            .chunks(3)
            .all(|g| matches!(g, [a, b, b' '] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit()));
        if !groups_ok {
            return None;
        }
        let bytes = parse_hex_bytes(hex_part)?;
        let rest = line.get(3 * n..)?;
        let ascii = if rest.len() == n {
            rest
        } else {
            rest.get(rest.len().checked_sub(n)?..)
                .filter(|_| rest.len() == 48 - 3 * n + n)?
        };
        let rendered: String = bytes
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    char::from(b)
                } else {
                    '.'
                }
            })
            .collect();
        (ascii == rendered).then_some(bytes)
    })
}

/// Parses `Sending: …` / `Received (SW1=0x90, SW2=0x00):` / hex dump lines.
fn parse_exchanges(stdout: &str) -> Result<Vec<Exchange>, String> {
    let mut exchanges: Vec<Exchange> = Vec::new();
    for line in stdout.lines() {
        if let Some(sent) = line.strip_prefix("Sending:") {
            let sent = parse_hex_bytes(sent).ok_or_else(|| format!("bad line {line:?}"))?;
            exchanges.push(Exchange {
                sent,
                ..Exchange::default()
            });
        } else if let Some(rest) = line.strip_prefix("Received (SW1=0x") {
            let current = exchanges
                .last_mut()
                .ok_or_else(|| format!("{line:?} before any Sending:"))?;
            let sw = rest
                .split_once(", SW2=0x")
                .and_then(|(sw1, rest)| {
                    let sw2 = rest.strip_suffix("):").or_else(|| rest.strip_suffix(')'))?;
                    let sw1 = u8::from_str_radix(sw1, 16).ok()?;
                    let sw2 = u8::from_str_radix(sw2, 16).ok()?;
                    Some(u16::from_be_bytes([sw1, sw2]))
                })
                .ok_or_else(|| format!("bad line {line:?}"))?;
            current.sw = Some(sw);
        } else if let Some(current) = exchanges.last_mut().filter(|e| e.sw.is_some()) {
            let bytes =
                parse_dump_line(line).ok_or_else(|| format!("unexpected output line {line:?}"))?;
            current.data.extend_from_slice(&bytes);
        } else if !line.trim().is_empty() {
            return Err(format!("unexpected output line {line:?}"));
        }
    }
    Ok(exchanges)
}

/// What we send and what the default card must answer.
struct Expected {
    what: &'static str,
    apdu: Vec<u8>,
    data: Vec<u8>,
    sw: u16,
}

pcscd_test! {
    /// `opensc-tool -l` lists both vpcd readers, a card only in slot 0; `-a` prints our ATR.
    fn opensc_lists_readers_and_prints_the_atr(sb: &mut Sandbox) -> TestResult {
        let (_sim, reader) = start_sim(sb)?;

        let out = run({
            let mut c = Command::new("opensc-tool");
            c.arg("-l");
            c
        })?;
        let listing = String::from_utf8(out.stdout)?;
        for (slot, card) in [(0, "Yes"), (1, "No")] {
            let name = sb.reader_name(slot);
            let row = listing
                .lines()
                .find(|l| l.trim_end().ends_with(&name))
                .ok_or_else(|| format!("opensc-tool -l does not list {name:?}:\n{listing}"))?;
            let card_column = row.split_whitespace().nth(1);
            assert_eq!(
                card_column,
                Some(card),
                "opensc-tool -l: card column of {name:?} (row {row:?})"
            );
        }

        let out = run({
            let mut c = Command::new("opensc-tool");
            c.args(["-r", &reader, "-a"]);
            c
        })?;
        let printed = String::from_utf8(out.stdout)?.trim().to_ascii_lowercase();
        let expected = simulated_atr(true)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(printed, expected, "opensc-tool -a: ATR of the simulated card");
        Ok(())
    }

    /// `opensc-tool -s`: SELECT by AID, READ BINARY by SFI, GET DATA, an unknown INS.
    fn opensc_sends_apdus(sb: &mut Sandbox) -> TestResult {
        let (_sim, reader) = start_sim(sb)?;

        let mut select = vec![0x00, 0xA4, 0x04, 0x0C, 0x08];
        select.extend_from_slice(&APP_AID);
        let expected = [
            Expected {
                what: "SELECT the application by AID (P2 0C: no FCI)",
                apdu: select,
                data: vec![],
                sw: 0x9000,
            },
            Expected {
                what: "READ BINARY of EF 0101 by SFI 1, offset 0, Le 20",
                apdu: vec![0x00, 0xB0, 0x81, 0x00, 0x20],
                data: SMALL_EF_CONTENT.to_vec(),
                sw: 0x9000,
            },
            Expected {
                what: "GET DATA 5F5A (serial number)",
                apdu: vec![0x00, 0xCA, 0x5F, 0x5A, 0x00],
                data: SERIAL_NUMBER.to_vec(),
                sw: 0x9000,
            },
            Expected {
                what: "unknown INS 12",
                apdu: vec![0x00, 0x12, 0x00, 0x00, 0x00],
                data: vec![],
                sw: 0x6D00,
            },
        ];

        let mut cmd = Command::new("opensc-tool");
        cmd.args(["-r", &reader]);
        for e in &expected {
            cmd.arg("-s").arg(hex(&e.apdu));
        }
        let out = run(cmd)?;
        let stdout = String::from_utf8(out.stdout)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("Card is invalid"),
            "OpenSC refused the card: {stderr}"
        );
        let got = parse_exchanges(&stdout)?;
        assert_eq!(
            got.len(),
            expected.len(),
            "opensc-tool printed {} exchanges, we sent {}:\n{stdout}",
            got.len(),
            expected.len()
        );
        for (e, g) in expected.iter().zip(&got) {
            assert_eq!(hex(&g.sent), hex(&e.apdu), "{}: OpenSC sent another APDU", e.what);
            assert_eq!(
                g.sw.map(|sw| format!("{sw:04X}")),
                Some(format!("{:04X}", e.sw)),
                "{}: status word",
                e.what
            );
            assert_eq!(
                hex(&g.data),
                hex(&e.data),
                "{}: response data ({:?})",
                e.what,
                String::from_utf8_lossy(&g.data)
            );
        }
        Ok(())
    }
}

#[test]
fn parses_opensc_tool_output() {
    let text = "Sending: 00 B0 81 00 20 \n\
                Received (SW1=0x90, SW2=0x00):\n\
                53 68 65 6E 61 73 20 73 69 6D 75 6C 61 74 65 64 Shenas simulated\n\
                20 63 61 72 64 3A 20 45 46 20 30 31 30 31 2E 0A  card: EF 0101..\n\
                01 45 46                                        .EF\n\
                Sending: 00 12 00 00 00 \n\
                Received (SW1=0x6D, SW2=0x00)\n\
                Sending: 00 CA 01 00 00 \n\
                Received (SW1=0x90, SW2=0x00):\n\
                45 46 EF\n";
    let got = parse_exchanges(text);
    assert!(got.is_ok(), "{got:?}");
    let got = got.unwrap_or_default();
    assert_eq!(got.len(), 3);
    let mut want = SMALL_EF_CONTENT.to_vec();
    want.extend_from_slice(&[0x01, 0x45, 0x46]);
    assert!(matches!(&got[..], [a, b, c]
        if a.data == want && a.sw == Some(0x9000)
        && b.data.is_empty() && b.sw == Some(0x6D00)
        && c.data == [0x45, 0x46] && c.sw == Some(0x9000)));
    assert!(parse_exchanges("Sending: 00\nReceived (SW1=0x90, SW2=0x00):\n4 EF\n").is_err());
}
