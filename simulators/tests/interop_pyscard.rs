//! `shenas-sim` through the real pcscd + vpcd, checked with an independent client: Python's
//! pyscard (`pyscard_client.py` next to this file) sends raw APDUs and reports each answer as a
//! JSON line; the expectations (ISO/IEC 7816-4 status words and contents) live here.
//!
//! Needs root (the test runs in its own sandbox with its own pcscd), `pcscd`, `vsmartcard-vpcd`
//! and a Python with pyscard: `$SHENAS_PYTHON`, else `<workspace>/target/py-venv/bin/python`
//! (made by `ensure_pyscard` in `.ci/lib.sh`, which `.ci/test` runs). Missing pieces fail the
//! test; nothing skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use shenas_simulators::default_card::{APP_AID, SERIAL_NUMBER, SMALL_EF_CONTENT};
use shenas_simulators::simulated_atr;
use shenas_test_harness::{Sandbox, pcscd_test};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const WAIT: Duration = Duration::from_secs(10);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// The Python with pyscard, or an error saying how to make it.
fn python() -> Result<PathBuf, String> {
    let path = match std::env::var_os("SHENAS_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("CARGO_MANIFEST_DIR has no parent")?
            .join("target/py-venv/bin/python"),
    };
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} does not exist: this test needs Python with pyscard; run .ci/test, or \
             `ensure_pyscard` from .ci/lib.sh (python3 -m venv target/py-venv && \
             target/py-venv/bin/pip install pyscard)",
            path.display()
        ))
    }
}

/// Runs a one-shot client to its end (killed after `CLIENT_TIMEOUT`), output captured.
fn run(cmd: Command) -> Result<Output, Box<dyn std::error::Error>> {
    Ok(shenas_test_harness::run_to_end(cmd, CLIENT_TIMEOUT)?)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// One step of the script the Python client runs.
enum Step {
    /// Send `apdu`; the card must answer `data` ‖ `sw`.
    Apdu {
        id: &'static str,
        what: &'static str,
        apdu: Vec<u8>,
        data: Vec<u8>,
        sw: u16,
    },
    /// Warm reset (SCardReconnect with SCARD_RESET_CARD).
    Reset,
}

fn apdu(id: &'static str, what: &'static str, apdu: Vec<u8>, data: &[u8], sw: u16) -> Step {
    Step::Apdu {
        id,
        what,
        apdu,
        data: data.to_vec(),
        sw,
    }
}

fn script() -> Vec<Step> {
    let select_aid = |last: u8| {
        let mut a = vec![0x00, 0xA4, 0x04, 0x0C, 0x08];
        a.extend_from_slice(&APP_AID);
        if let Some(l) = a.last_mut() {
            *l = last;
        }
        a
    };
    let aid_last = APP_AID.last().copied().unwrap_or_default();
    vec![
        apdu(
            "select-aid",
            "SELECT the application by AID",
            select_aid(aid_last),
            &[],
            0x9000,
        ),
        apdu(
            "select-ef",
            "SELECT EF 0101 by FID",
            vec![0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x01],
            &[],
            0x9000,
        ),
        apdu(
            "read-current",
            "READ BINARY of the current EF (0101), Le 20",
            vec![0x00, 0xB0, 0x00, 0x00, 0x20],
            SMALL_EF_CONTENT,
            0x9000,
        ),
        apdu(
            "read-sfi",
            "READ BINARY of EF 0101 by SFI 1, Le 20",
            vec![0x00, 0xB0, 0x81, 0x00, 0x20],
            SMALL_EF_CONTENT,
            0x9000,
        ),
        apdu(
            "read-past-end",
            "READ BINARY by SFI 1 at offset 32 = size of EF 0101: offset beyond the EF",
            vec![0x00, 0xB0, 0x81, 0x20, 0x01],
            &[],
            0x6B00,
        ),
        apdu(
            "get-data-serial",
            "GET DATA 5F5A (serial number)",
            vec![0x00, 0xCA, 0x5F, 0x5A, 0x00],
            SERIAL_NUMBER,
            0x9000,
        ),
        apdu(
            "get-data-unknown",
            "GET DATA 0123: unknown tag",
            vec![0x00, 0xCA, 0x01, 0x23, 0x00],
            &[],
            0x6A88,
        ),
        apdu(
            "unknown-ins",
            "INS 12: unknown instruction",
            vec![0x00, 0x12, 0x00, 0x00, 0x00],
            &[],
            0x6D00,
        ),
        apdu(
            "cla-80",
            "GET DATA 5F5A with CLA 80: unknown class",
            vec![0x80, 0xCA, 0x5F, 0x5A, 0x00],
            &[],
            0x6E00,
        ),
        apdu(
            "unknown-aid",
            "SELECT an AID the card does not have",
            select_aid(aid_last ^ 0x03),
            &[],
            0x6A82,
        ),
        apdu(
            "wrong-lc",
            "SELECT by FID (P1 00) with Lc 1: a FID is 2 bytes",
            vec![0x00, 0xA4, 0x00, 0x0C, 0x01, 0x3F],
            &[],
            0x6700,
        ),
        apdu(
            "read-before-reset",
            "READ BINARY of the current EF (still 0101), Le 1",
            vec![0x00, 0xB0, 0x00, 0x00, 0x01],
            SMALL_EF_CONTENT.get(..1).unwrap_or_default(),
            0x9000,
        ),
        Step::Reset,
        apdu(
            "read-no-ef",
            "READ BINARY without SFI after a reset: no current EF",
            vec![0x00, 0xB0, 0x00, 0x00, 0x01],
            &[],
            0x6986,
        ),
    ]
}

fn field<'a>(line: &'a Value, key: &str) -> Result<&'a str, String> {
    line.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("pyscard client line without string {key:?}: {line}"))
}

pcscd_test! {
    /// pyscard lists both readers, then sends the script: successful SELECT/READ BINARY/GET DATA
    /// and every ISO error answer of the default card.
    fn pyscard_gets_iso_answers(sb: &mut Sandbox) -> TestResult {
        let python = python()?;
        let mut sim_cmd = Command::new(env!("CARGO_BIN_EXE_shenas-sim"));
        sim_cmd.arg("--demo-card");
        let mut sim = sb.spawn(sim_cmd);
        sim.wait_for_line("connected slot=0", WAIT)?;
        let reader = sb.reader_name(0);
        assert_eq!(sb.wait_for_card(&reader, WAIT)?, simulated_atr(true), "ATR");

        let steps = script();
        let mut cmd = Command::new(&python);
        cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pyscard_client.py"))
            .arg(&reader);
        for step in &steps {
            match step {
                Step::Apdu { id, apdu, .. } => cmd.arg(format!("{id}={}", hex(apdu))),
                Step::Reset => cmd.arg("reset"),
            };
        }
        let out = run(cmd)?;
        let stdout = String::from_utf8(out.stdout)?;
        let lines = stdout
            .lines()
            .map(serde_json::from_str::<Value>)
            .collect::<Result<Vec<_>, _>>()?;

        let (first, rest) = lines.split_first().ok_or("the pyscard client printed nothing")?;
        let listed: Vec<&str> = first
            .get("readers")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("first line is not the reader list: {first}"))?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for slot in 0..2 {
            let name = sb.reader_name(slot);
            assert!(listed.contains(&name.as_str()), "pyscard does not list {name:?}: {listed:?}");
        }
        let (last, exchanges) = rest.split_last().ok_or("the pyscard client printed no steps")?;
        assert_eq!(last.get("end"), Some(&Value::Bool(true)), "last line: {last}");
        assert_eq!(
            exchanges.len(),
            steps.len(),
            "the pyscard client reported {} steps, the script has {}",
            exchanges.len(),
            steps.len()
        );

        for (step, line) in steps.iter().zip(exchanges) {
            match step {
                Step::Reset => assert_eq!(field(line, "step")?, "reset", "{line}"),
                Step::Apdu { id, what, apdu, data, sw } => {
                    assert_eq!(field(line, "step")?, *id, "{line}");
                    assert_eq!(field(line, "command")?, hex(apdu), "{what}: command sent");
                    let got_sw = field(line, "sw")?;
                    let got_data = field(line, "data")?;
                    assert_eq!(
                        got_sw,
                        format!("{sw:04X}"),
                        "{what}: status word (sent {}, data {got_data})",
                        hex(apdu)
                    );
                    assert_eq!(got_data, hex(data), "{what}: response data");
                }
            }
        }
        Ok(())
    }
}
