//! `shenas finger verify-card` and `enroll-card` against the simulated national card (the
//! citizen persona, two enrolled fingers) served by `shenas-sim` behind a real pcscd + vpcd,
//! each test in its own sandbox. Images are synthetic (shenas-fingersim, fixed seeds).

// Test code: a failed step fails the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use shenas_fingersim::{Finger, Tier};
use shenas_test_harness::{ChildGuard, Sandbox, pcscd_test, workspace_bin};

const WAIT: Duration = Duration::from_secs(10);

fn shenas(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shenas"))
        .args(args)
        .env("SHENAS_LOG", "warn")
        .env_remove("SHENAS_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no output: {output:?}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn start_sim(sb: &Sandbox) -> ChildGuard {
    let mut sim = sb.spawn(Command::new(workspace_bin("shenas-sim")));
    sim.wait_for_line("connected slot=0", WAIT).unwrap();
    sb.wait_for_card(&sb.reader_name(0), WAIT).unwrap();
    sim
}

/// Impression `impression` of finger 1 of `seed` as a PNG in `dir`. The citizen persona's
/// right index (position 2) is seed 2002, its left index (7) seed 2007.
fn image(dir: &Path, seed: u64, impression: u32) -> PathBuf {
    let imp = Finger::new(seed, 1)
        .impression(impression, Tier::Standard)
        .unwrap();
    let path = dir.join(format!("{seed}_{impression}.png"));
    std::fs::write(&path, shenas_fingersim::encode_png(&imp.image).unwrap()).unwrap();
    path
}

pcscd_test! {
    fn verify_card_matches_the_enrolled_finger_and_counts_tries(sb: &mut Sandbox) {
        let _sim = start_sim(sb);
        let genuine = image(sb.temp_dir(), 2002, 2);
        let impostor = image(sb.temp_dir(), 2007, 2);
        let out = shenas(&["finger", "verify-card", genuine.to_str().unwrap(), "--json"], "");
        assert!(out.status.success(), "{out:?}");
        let v = json(&out);
        assert_eq!(v["match"], true, "{v}");
        assert_eq!(v["finger"], 2);
        assert!(v["tries_left"].is_null());
        let sent = v["minutiae_sent"].as_u64().unwrap();
        assert!((12..=60).contains(&sent), "{v}");

        let args = ["finger", "verify-card", impostor.to_str().unwrap(), "--finger", "2", "--json"];
        let out = shenas(&args, "");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let v = json(&out);
        assert_eq!(v["match"], false, "{v}");
        assert_eq!(v["tries_left"], 4);

        let out = shenas(&["finger", "verify-card", impostor.to_str().unwrap(), "--finger", "7"], "");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.starts_with("finger 7: match ("), "{text}");

        let out = shenas(&["finger", "verify-card", genuine.to_str().unwrap(), "--finger", "3", "--json"], "");
        assert!(!out.status.success());
        assert_eq!(json(&out)["code"], "no_reference");
    }

    fn enroll_card_needs_the_puk_then_the_finger_verifies(sb: &mut Sandbox) {
        let _sim = start_sim(sb);
        let reference = image(sb.temp_dir(), 3003, 1);
        let probe = image(sb.temp_dir(), 3003, 2);
        let enroll = ["finger", "enroll-card", reference.to_str().unwrap(), "--finger", "3", "--json"];
        let e = json(&shenas(&enroll, "00000000\n"));
        assert_eq!(e["code"], "wrong_pin", "{e}");
        let out = shenas(&enroll, "12345678\n");
        assert!(out.status.success(), "{out:?}");
        let v = json(&out);
        assert_eq!(v["finger"], 3, "{v}");
        assert_eq!(v["tries_left"], 5, "{v}");
        let out = shenas(&["finger", "verify-card", probe.to_str().unwrap(), "--finger", "3", "--json"], "");
        assert!(out.status.success(), "{out:?}");
        assert_eq!(json(&out)["match"], true);
    }
}
