//! The card commands of the `shenas` CLI (identify, read, certs, pin, sign) against simulated
//! national and foreign-nationals cards served by `shenas-sim` behind a real pcscd + vpcd, each
//! test in its own sandbox. Signatures are checked by `openssl cms -verify`; TRACE logs of a PIN
//! verification and a signature are searched for the PIN and the holder's data.

// Test code: a failed step fails the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use shenas_test_harness::{ChildGuard, Sandbox, pcscd_test, workspace_bin};

const WAIT: Duration = Duration::from_secs(10);

/// Runs `shenas ARGS` with `stdin` fed in, logs at `log` level.
fn shenas_with(args: &[&str], stdin: &str, log: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shenas"))
        .args(args)
        .env("SHENAS_LOG", log)
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

fn shenas(args: &[&str], stdin: &str) -> Output {
    shenas_with(args, stdin, "warn")
}

fn json(output: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no output: {output:?}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn start_sim(sb: &Sandbox, args: &[&str]) -> ChildGuard {
    let mut cmd = Command::new(workspace_bin("shenas-sim"));
    cmd.args(args);
    let mut sim = sb.spawn(cmd);
    sim.wait_for_line("connected slot=0", WAIT).unwrap();
    sb.wait_for_card(&sb.reader_name(0), WAIT).unwrap();
    sim
}

/// `openssl cms -verify` of a detached signature against the simulated national root CA.
fn openssl_cms_verify(p7s: impl AsRef<std::ffi::OsStr>, doc: &Path) -> std::process::Output {
    Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(p7s)
        .arg("-content")
        .arg(doc)
        .arg("-CAfile")
        .arg(root_pem())
        .args(["-purpose", "any", "-out", "/dev/null"])
        .output()
        .unwrap()
}

/// The built-in citizen persona with extra lines appended to its sections.
fn citizen_variant(sb: &Sandbox, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../simulators/personas/citizen.toml"),
    )
    .unwrap();
    let path = sb.temp_dir().join(format!("{name}.toml"));
    std::fs::write(&path, edit(text)).unwrap();
    path
}

/// The simulated national root CA in PEM, for `openssl -CAfile`.
fn root_pem() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../apdu/cards/fixtures/shenas-simulated-national-root-ca.pem")
}

pcscd_test! {
    fn identify_and_read_the_national_card(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &[]);
        let out = shenas(&["identify", "--json"], "");
        assert!(out.status.success(), "{out:?}");
        let id = json(&out);
        assert_eq!(id["profile"], "national_id");
        assert_eq!(id["card_serial"], "N000000001");
        assert_eq!(id["profile_version"]["major"], 1);

        let out = shenas(&["read", "--json"], "");
        assert!(out.status.success(), "{out:?}");
        let r = json(&out);
        assert_eq!(r["passive_authentication"]["valid"], true, "{r}");
        assert_eq!(r["trust"], "simulated");
        assert_eq!(r["issuer"], "simulated");
        assert_eq!(r["issuer_mode"], "session_keys_only");
        let identity = r["identity"].to_string();
        assert!(identity.contains("0012345679"), "{identity}");
        assert!(identity.contains("Maryam"), "{identity}");

        let text = String::from_utf8_lossy(&shenas(&["read"], "").stdout).into_owned();
        assert!(text.contains("passive authentication\tvalid"), "{text}");
        assert!(text.contains("trust\tsimulated"), "{text}");
    }

    fn read_the_foreign_nationals_card(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &["--persona-builtin", "foreign-national"]);
        let id = json(&shenas(&["identify", "--json"], ""));
        assert_eq!(id["profile"], "foreign_national");
        let out = shenas(&["read", "--json"], "");
        assert!(out.status.success(), "{out:?}");
        let r = json(&out);
        assert_eq!(r["passive_authentication"]["valid"], true, "{r}");
        let fida = r["identity"]["fida"].as_str().unwrap_or_default().to_owned();
        assert_eq!(fida.len(), 12, "{r}");
        assert!(fida.bytes().all(|b| b.is_ascii_digit()));
    }

    fn tampered_identity_fails_passive_authentication(sb: &mut Sandbox) {
        let persona = citizen_variant(sb, "tampered", |t| {
            t.replace("[faults]", "[faults]\ntamper_data_group = 1")
        });
        let _sim = start_sim(sb, &["--persona", persona.to_str().unwrap()]);
        let out = shenas(&["read", "--json"], "");
        assert!(out.status.success(), "a PA failure is a verdict, not an error: {out:?}");
        let r = json(&out);
        assert_eq!(r["passive_authentication"]["valid"], false, "{r}");
        let reason = r["passive_authentication"]["reason"].as_str().unwrap().to_owned();
        assert!(reason.contains("hash") || reason.contains("data group"), "{reason}");
    }

    fn wrong_pin_blocked_pin_and_puk_unblock(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &[]);
        let status = json(&shenas(&["pin", "status", "--json"], ""));
        assert_eq!(status["status"]["tries_left"], 3, "{status}");
        // Asking the tries again spends none.
        let status = json(&shenas(&["pin", "status", "--json"], ""));
        assert_eq!(status["status"]["tries_left"], 3, "{status}");

        let out = shenas(&["pin", "verify", "--json"], "9999\n");
        assert!(!out.status.success());
        let e = json(&out);
        assert_eq!(e["code"], "wrong_pin", "{e}");
        assert!(e["message"].as_str().unwrap().contains("2 tries left"), "{e}");

        let out = shenas(&["pin", "verify", "--json"], "1234\n");
        assert!(out.status.success(), "{out:?}");
        // A correct entry restores the counter.
        let status = json(&shenas(&["pin", "status", "--json"], ""));
        assert_eq!(status["status"]["tries_left"], 3, "{status}");

        for left in ["2", "1", "0"] {
            let e = json(&shenas(&["pin", "verify", "--json"], "0000\n"));
            assert!(e["message"].as_str().unwrap().contains(&format!("{left} tries left")), "{e}");
        }
        let status = json(&shenas(&["pin", "status", "--json"], ""));
        assert_eq!(status["status"]["state"], "blocked", "{status}");
        // Blocked: even the right PIN is refused, and nothing is retried.
        let e = json(&shenas(&["pin", "verify", "--json"], "1234\n"));
        assert_eq!(e["code"], "pin_blocked", "{e}");

        let out = shenas(&["pin", "unblock", "--json"], "12345678\n4321\n");
        assert!(out.status.success(), "{out:?}");
        let out = shenas(&["pin", "verify", "--json"], "4321\n");
        assert!(out.status.success(), "{out:?}");
        let out = shenas(&["pin", "change", "--json"], "4321\n5678\n");
        assert!(out.status.success(), "{out:?}");
        let out = shenas(&["pin", "verify", "--json"], "5678\n");
        assert!(out.status.success(), "{out:?}");
    }

    fn blocked_pin_persona(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &["--persona-builtin", "citizen-blocked-pin"]);
        let status = json(&shenas(&["pin", "status", "--json"], ""));
        assert_eq!(status["status"]["state"], "blocked", "{status}");
        let e = json(&shenas(&["pin", "verify", "--json"], "1234\n"));
        assert_eq!(e["code"], "pin_blocked", "{e}");
    }

    fn sign_a_file_that_openssl_verifies(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &[]);
        let doc = sb.temp_dir().join("power-of-attorney.txt");
        std::fs::write(&doc, "وکالتنامه — a power of attorney to sign\n").unwrap();
        let out = shenas(&["sign", "--json", "--file", doc.to_str().unwrap()], "123456\n");
        assert!(out.status.success(), "{out:?}");
        let p7s = PathBuf::from(format!("{}.p7s", doc.display()));
        assert!(p7s.exists());
        let verify = openssl_cms_verify(&p7s, &doc);
        assert!(verify.status.success(), "openssl: {verify:?}");
        assert!(String::from_utf8_lossy(&verify.stderr).contains("Verification successful"));

        // The document changed: openssl refuses the signature.
        std::fs::write(&doc, "a different document\n").unwrap();
        let verify = openssl_cms_verify(&p7s, &doc);
        assert!(!verify.status.success());

        // A wrong SIGN PIN: no signature, the tries shown.
        let out = shenas(&["sign", "--json", "--file", doc.to_str().unwrap()], "000000\n");
        let e = json(&out);
        assert_eq!(e["code"], "wrong_pin", "{e}");
    }

    fn foreign_card_certificates_pins_and_a_signature_openssl_verifies(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &["--persona-builtin", "foreign-national"]);
        let c = json(&shenas(&["certs", "--json"], ""));
        let certs = c["certificates"].as_array().unwrap();
        assert_eq!(certs.len(), 2, "{c}");
        assert!(certs.iter().all(|x| x["valid"] == true), "{c}");

        let status = json(&shenas(&["pin", "status", "--json"], ""));
        let tries = status["status"]["tries_left"].as_u64().unwrap();
        let e = json(&shenas(&["pin", "verify", "--json"], "9999\n"));
        assert_eq!(e["code"], "wrong_pin", "{e}");
        let status = json(&shenas(&["pin", "status", "--json"], ""));
        assert_eq!(status["status"]["tries_left"].as_u64(), Some(tries - 1), "{status}");
        let out = shenas(&["pin", "verify", "--json"], "1234\n");
        assert!(out.status.success(), "{out:?}");

        let doc = sb.temp_dir().join("request.txt");
        std::fs::write(&doc, "a residence request\n").unwrap();
        let out = shenas(&["sign", "--json", "--file", doc.to_str().unwrap()], "123456\n");
        assert!(out.status.success(), "{out:?}");
        let verify = openssl_cms_verify(format!("{}.p7s", doc.display()), &doc);
        assert!(verify.status.success(), "openssl: {verify:?}");
    }

    fn certificates_valid(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &[]);
        let c = json(&shenas(&["certs", "--json"], ""));
        let certs = c["certificates"].as_array().unwrap();
        assert_eq!(certs.len(), 2, "{c}");
        assert!(certs.iter().all(|x| x["valid"] == true), "{c}");
    }

    fn certificates_expired(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &["--persona-builtin", "expired-card"]);
        let c = json(&shenas(&["certs", "--json"], ""));
        for cert in c["certificates"].as_array().unwrap() {
            assert_eq!(cert["valid"], false, "{c}");
            assert!(cert["reason"].as_str().unwrap().starts_with("expired"), "{c}");
        }
    }

    fn certificates_from_another_root(sb: &mut Sandbox) {
        let persona = citizen_variant(sb, "other-root", |t| {
            t.replace("other_root = false", "other_root = true")
        });
        let _sim = start_sim(sb, &["--persona", persona.to_str().unwrap()]);
        let c = json(&shenas(&["certs", "--json"], ""));
        for cert in c["certificates"].as_array().unwrap() {
            assert_eq!(cert["valid"], false, "{c}");
            assert!(cert["reason"].as_str().unwrap().starts_with("unknown_issuer"), "{c}");
        }
    }

    fn card_removed_between_authentication_and_reading(sb: &mut Sandbox) {
        // SELECT, 3 GET DATA, GET CHALLENGE, MUTUAL AUTHENTICATE: the card goes after those six.
        let mut sim = start_sim(sb, &["--remove-after", "6"]);
        let out = shenas(&["read", "--json"], "");
        assert!(!out.status.success());
        let e = json(&out);
        assert!(
            ["card_removed", "no_card", "card_reset", "communication_failed"]
                .contains(&e["code"].as_str().unwrap()),
            "{e}"
        );
        assert!(out.stdout.len() < 200, "no identity was printed: {out:?}");
        sim.wait_for_line("removed slot=0", WAIT).unwrap();
        // Not tested here: the card coming back. A new simulator on the same vpcd slot after a
        // removal in the middle of a transmit is seen by pcscd only some of the time (about 1 in
        // 5 runs it is not within 10 s: pcscd's vpcd driver, not investigated); the daemon's
        // test `card_pulled_mid_operation_keeps_the_daemon_serving` covers a card that returns.
    }

    fn trace_logs_hold_no_pin_and_no_personal_data(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &[]);
        let pin = shenas_with(&["pin", "verify"], "1234\n", "trace");
        assert!(pin.status.success(), "{pin:?}");
        let doc = sb.temp_dir().join("doc.txt");
        std::fs::write(&doc, "request\n").unwrap();
        let sign = shenas_with(&["sign", "--file", doc.to_str().unwrap()], "123456\n", "trace");
        assert!(sign.status.success(), "{sign:?}");
        let read = shenas_with(&["read", "--json"], "", "trace");
        assert!(read.status.success(), "{read:?}");
        for out in [&pin, &sign, &read] {
            let logs = String::from_utf8_lossy(&out.stderr);
            assert!(logs.contains("TRACE"), "TRACE logging was not on: {logs}");
            for secret in [
                "1234", "31323334", "123456", "313233343536", // PINs, as typed and on the wire
                "0012345679", "Maryam", "Ahmadi", "مریم", "احمدی", // the holder
            ] {
                assert!(!logs.contains(secret), "the logs hold {secret:?}");
            }
        }
    }
}
