//! The national and foreign-nationals cards through the real pcscd + vpcd, checked with an
//! independent client, Python's pyscard (`pyscard_client.py`): raw VERIFY without data (tries
//! left, nothing spent), a wrong PIN (one try fewer), the right PIN, the ID PIN of the
//! blocked-PIN persona, and secure-messaging-only files refused in plain.
//!
//! `shenas-sim --persona-builtin citizen --persona-builtin foreign-national` serves slots 0
//! and 1. Needs root, `pcscd`, `vsmartcard-vpcd` and a Python with pyscard (see
//! `interop_pyscard.rs`). Missing pieces fail the test; nothing skips.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use shenas_cards::profile::{foreign, national};
use shenas_test_harness::{Sandbox, pcscd_test};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const WAIT: Duration = Duration::from_secs(10);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

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
            "{} does not exist: this test needs Python with pyscard (run .ci/test)",
            path.display()
        ))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Runs the pyscard client with `steps` (label, APDU) on `reader`; returns label → SW.
fn pyscard(
    reader: &str,
    steps: &[(&str, Vec<u8>)],
) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    let mut cmd = Command::new(python()?);
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pyscard_client.py"))
        .arg(reader);
    for (label, apdu) in steps {
        cmd.arg(format!("{label}={}", hex(apdu)));
    }
    let out = shenas_test_harness::run_to_end(cmd, CLIENT_TIMEOUT)?;
    let mut got = Vec::new();
    for line in String::from_utf8(out.stdout)?.lines() {
        let v: Value = serde_json::from_str(line)?;
        if let (Some(step), Some(sw)) = (
            v.get("step").and_then(Value::as_str),
            v.get("sw").and_then(Value::as_str),
        ) {
            got.push((step.to_owned(), sw.to_owned()));
        }
    }
    Ok(got)
}

fn verify(reference: u8, digits: Option<&[u8]>) -> Vec<u8> {
    match digits {
        None => vec![0x00, 0x20, 0x00, reference],
        Some(d) => {
            let mut block = d.to_vec();
            block.resize(8, 0xFF);
            [vec![0x00, 0x20, 0x00, reference, 8], block].concat()
        }
    }
}

fn select(aid: &[u8]) -> Vec<u8> {
    [
        vec![0x00, 0xA4, 0x04, 0x0C, u8::try_from(aid.len()).unwrap()],
        aid.to_vec(),
    ]
    .concat()
}

pcscd_test! {
    /// Both cards, two slots: VERIFY tries, wrong and right PIN, plain read of DG1 refused.
    fn pyscard_verifies_pins_on_both_cards(sb: &mut Sandbox) -> TestResult {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shenas-sim"));
        cmd.args(["--persona-builtin", "citizen", "--persona-builtin", "foreign-national"]);
        let mut sim = sb.spawn(cmd);
        sim.wait_for_line("card slot=0 profile=national_id", WAIT)?;
        sim.wait_for_line("card slot=1 profile=foreign_national", WAIT)?;
        for (slot, profile) in [(0u8, &national::PROFILE), (1, &foreign::PROFILE)] {
            let reader = sb.reader_name(slot);
            assert_eq!(sb.wait_for_card(&reader, WAIT)?, profile.atr(true), "slot {slot} ATR");
            let dg1 = profile.data_group(1).unwrap();
            let steps = [
                ("tries", verify(0x81, None)),
                ("wrong", verify(0x81, Some(b"0000"))),
                ("tries-after-wrong", verify(0x81, None)),
                ("right", verify(0x81, Some(b"1234"))),
                ("verified", verify(0x81, None)),
                ("sign-pin-tries", verify(0x82, None)),
                ("select-identity", select(profile.identity.aid)),
                ("plain-dg1", vec![0x00, 0xB0, 0x80 | dg1.sfi, 0x00, 0x00]),
                ("unknown-pin", verify(0x99, None)),
            ];
            let got = pyscard(&reader, &steps)?;
            let want = [
                ("tries", "63C3"),
                ("wrong", "63C2"),
                ("tries-after-wrong", "63C2"),
                ("right", "9000"),
                ("verified", "9000"),
                ("sign-pin-tries", "63C3"),
                ("select-identity", "9000"),
                ("plain-dg1", "6982"),
                ("unknown-pin", "6A88"),
            ];
            let want: Vec<(String, String)> = want.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
            assert_eq!(got, want, "slot {slot}");
        }
        Ok(())
    }

    /// The blocked-PIN persona answers 6983 to VERIFY of the ID PIN, with or without data.
    fn pyscard_sees_a_blocked_pin(sb: &mut Sandbox) -> TestResult {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shenas-sim"));
        cmd.args(["--persona-builtin", "citizen-blocked-pin"]);
        let mut sim = sb.spawn(cmd);
        sim.wait_for_line("connected slot=0", WAIT)?;
        let reader = sb.reader_name(0);
        sb.wait_for_card(&reader, WAIT)?;
        let got = pyscard(&reader, &[("tries", verify(0x81, None)), ("right", verify(0x81, Some(b"1234")))])?;
        assert_eq!(got, vec![("tries".to_owned(), "6983".to_owned()), ("right".to_owned(), "6983".to_owned())]);
        Ok(())
    }
}
