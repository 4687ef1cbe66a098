//! The `shenas` CLI against `shenas-sim` behind a real pcscd + vpcd, each test in its own
//! sandbox: readers, atr, apdu (text and JSON), typed errors, and `watch` across a pcscd restart.

// Test code: a failed step fails the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};
use std::time::Duration;

use shenas_simulators::{default_card as card, simulated_atr};
use shenas_test_harness::{ChildGuard, Sandbox, pcscd_test, workspace_bin};

const WAIT: Duration = Duration::from_secs(10);

fn shenas(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shenas"))
        .args(args)
        .env_remove("SHENAS_LOG")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn start_sim(sb: &Sandbox, args: &[&str]) -> ChildGuard {
    let mut cmd = Command::new(workspace_bin("shenas-sim"));
    cmd.arg("--demo-card").args(args);
    let mut sim = sb.spawn(cmd);
    sim.wait_for_line("connected slot=0", WAIT).unwrap();
    sb.wait_for_card(&sb.reader_name(0), WAIT).unwrap();
    sim
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pcscd_test! {
    fn readers_and_atr(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &[]);
        let atr = hex::encode_upper(simulated_atr(true));

        let text = shenas(&["readers"]);
        assert!(text.status.success(), "{text:?}");
        let text = stdout(&text);
        assert!(text.contains(&format!("Virtual PCD 00 00\tcard\t{atr}")), "{text}");
        assert!(text.contains("Virtual PCD 00 01\tempty"), "{text}");

        let json = json_lines(&shenas(&["readers", "--json"]));
        let readers = json[0].as_array().unwrap();
        assert_eq!(readers.len(), 2);
        assert_eq!(readers[0]["name"], "Virtual PCD 00 00");
        assert_eq!(readers[0]["card_present"], true);
        assert_eq!(readers[0]["atr"], atr.as_str());
        assert_eq!(readers[1]["card_present"], false);

        let out = shenas(&["atr"]);
        assert!(out.status.success());
        assert_eq!(stdout(&out).trim(), atr);
        let json = json_lines(&shenas(&["atr", "--json"]));
        assert_eq!(json[0]["atr"], atr.as_str());
        assert_eq!(json[0]["protocols"], serde_json::json!(["T=1"]));
        assert_eq!(json[0]["extended_length"], true);
    }

    fn apdu_text_and_json(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &[]);
        let select = format!("00A4040C08{}", hex::encode_upper(card::APP_AID));
        let out = shenas(&["apdu", &select, "00B0810020", "00CA5F5A00", "0012000000"]);
        assert!(out.status.success(), "{out:?}");
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "9000 (normal processing)");
        assert_eq!(lines[1], format!("{} 9000 (normal processing)", hex::encode_upper(card::SMALL_EF_CONTENT)));
        assert_eq!(lines[2], format!("{} 9000 (normal processing)", hex::encode_upper(card::SERIAL_NUMBER)));
        assert_eq!(lines[3], "6D00 (error: instruction code not supported or invalid)");

        // GET RESPONSE is handled by the channel: the card answers in 61XX chunks of 16 bytes.
        drop(_sim);
        sb.wait_for_no_card(&sb.reader_name(0), WAIT).unwrap();
        let _sim = start_sim(sb, &["--chunk", "16"]);
        let json = json_lines(&shenas(&["apdu", "--json", &select, "00B0810020"]));
        assert_eq!(json[1]["data"], hex::encode_upper(card::SMALL_EF_CONTENT).as_str());
        assert_eq!(json[1]["sw"], "9000");
    }

    fn errors_are_typed(sb: &mut Sandbox) {
        // No card anywhere.
        let out = shenas(&["atr", "--json"]);
        assert!(!out.status.success());
        assert_eq!(json_lines(&out)[0]["code"], "no_card");
        let out = shenas(&["atr", "--reader", "No Such Reader", "--json"]);
        assert_eq!(json_lines(&out)[0]["code"], "no_reader");
        // Malformed APDU: refused before any reader is touched.
        let out = shenas(&["apdu", "--json", "00A4"]);
        assert_eq!(json_lines(&out)[0]["code"], "bad_apdu");
        let out = shenas(&["apdu", "zz"]);
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a hexadecimal APDU"));
        // No service at all.
        sb.stop_pcscd();
        let out = shenas(&["readers", "--json"]);
        assert_eq!(json_lines(&out)[0]["code"], "no_service");
    }

    fn watch_survives_pcscd_restart(sb: &mut Sandbox) {
        let mut sim = start_sim(sb, &[]);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shenas"));
        cmd.args(["watch", "--json"]);
        let mut watch = sb.spawn(cmd);
        let reader = sb.reader_name(0);
        let inserted = format!(r#"{{"event":"card_inserted","reader":"{reader}""#);
        watch.wait_for_line(&format!(r#"{{"event":"reader_added","reader":"{reader}"}}"#), WAIT).unwrap();
        watch.wait_for_line(&inserted, WAIT).unwrap();

        sb.restart_pcscd();
        watch.wait_for_line(r#"{"event":"service_lost"}"#, WAIT).unwrap();
        watch.wait_for_line(r#"{"event":"service_restored"}"#, WAIT).unwrap();
        // The simulator reconnects to the new pcscd; watch reports the card again …
        let lines_before = watch.stdout_lines().iter().filter(|l| l.starts_with(&inserted)).count();
        assert_eq!(lines_before, 1);
        sim.wait_for_line("connected slot=0", WAIT).unwrap();
        let deadline = std::time::Instant::now() + WAIT;
        while watch.stdout_lines().iter().filter(|l| l.starts_with(&inserted)).count() < 2 {
            assert!(std::time::Instant::now() < deadline, "no card_inserted after restart: {:?}", watch.stdout_lines());
            std::thread::sleep(Duration::from_millis(50));
        }
        // … and keeps reporting live changes.
        drop(sim);
        watch.wait_for_line(&format!(r#"{{"event":"card_removed","reader":"{reader}"}}"#), WAIT).unwrap();
    }
}
