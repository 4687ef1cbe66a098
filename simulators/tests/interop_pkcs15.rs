//! The simulated national ID card (`shenas-sim` with no arguments: the built-in citizen) through
//! the real pcscd + vpcd, read by OpenSC 0.23's generic PKCS#15 driver: `pkcs15-tool
//! --list-certificates`, `pkcs15-tool --read-certificate <id>` (compared with the certificates
//! the card holds) and `pkcs11-tool --list-objects` with OpenSC's PKCS#11 module.
//!
//! OpenSC binds an unknown card only with its default driver enabled: each test writes
//! `app default { enable_default_driver = true; }` to a temporary file and points `OPENSC_CONF`
//! at it (never /etc/opensc). Needs root (own sandbox and pcscd), `pcscd`, `vsmartcard-vpcd`,
//! `opensc`. Missing pieces fail the test; nothing skips.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use shenas_cards::profile::KeyRole;
use shenas_cards::profile::national::PROFILE;
use shenas_cards::profile::pkcs15::{AUTH_KEY_ID, CA_CERT_ID, SIGN_KEY_ID};
use shenas_simulators::national::NationalCard;
use shenas_test_harness::{ChildGuard, Sandbox, pcscd_test};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const WAIT: Duration = Duration::from_secs(10);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
const PKCS11_MODULE: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

/// The card `shenas-sim` serves by default, built the same way in process (personas are
/// deterministic: same keys, same certificates).
fn citizen_card() -> NationalCard {
    NationalCard::builtin("citizen", true).unwrap()
}

/// Starts `shenas-sim` with no arguments and waits until pcscd sees the card.
fn start_sim(sb: &Sandbox) -> Result<ChildGuard, Box<dyn std::error::Error>> {
    let mut sim = sb.spawn(Command::new(env!("CARGO_BIN_EXE_shenas-sim")));
    sim.wait_for_line("card slot=0 profile=national_id", WAIT)?;
    sim.wait_for_line("connected slot=0", WAIT)?;
    let atr = sb.wait_for_card(&sb.reader_name(0), WAIT)?;
    assert_eq!(atr, PROFILE.atr(true), "pcscd reports another ATR");
    Ok(sim)
}

/// An OpenSC configuration that enables the default (generic PKCS#15) driver.
fn opensc_conf(sb: &Sandbox) -> Result<PathBuf, std::io::Error> {
    let path = sb.temp_dir().join("opensc.conf");
    std::fs::write(
        &path,
        "app default {\n    enable_default_driver = true;\n}\n",
    )?;
    Ok(path)
}

fn run(conf: &Path, program: &str, args: &[&str]) -> Result<Output, Box<dyn std::error::Error>> {
    let mut cmd = Command::new(program);
    cmd.args(args).env("OPENSC_CONF", conf);
    Ok(shenas_test_harness::run_to_end(cmd, CLIENT_TIMEOUT)?)
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DER inside the first PEM block of `text`.
fn pem_der(text: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let start = text.find("-----BEGIN").ok_or("no PEM block")?;
    let end_marker = "-----END CERTIFICATE-----";
    let end = text.find(end_marker).ok_or("no PEM end")? + end_marker.len();
    let (_, der) =
        der::pem::decode_vec(&text.as_bytes()[start..end]).map_err(|e| format!("bad PEM: {e}"))?;
    Ok(der)
}

pcscd_test! {
    /// `pkcs15-tool --list-certificates` lists the authentication, signing and CA certificates
    /// with their PKCS#15 IDs; `--read-certificate` gives back each certificate byte for byte.
    fn pkcs15_tool_lists_and_reads_the_certificates(sb: &mut Sandbox) -> TestResult {
        let card = citizen_card();
        let _sim = start_sim(sb)?;
        let conf = opensc_conf(sb)?;
        let out = run(&conf, "pkcs15-tool", &["--list-certificates"])?;
        let listing = text(&out);
        assert!(!String::from_utf8_lossy(&out.stderr).contains("Card is invalid"), "OpenSC refused the card");
        for (label, id) in [("Authentication", AUTH_KEY_ID), ("Signature", SIGN_KEY_ID), ("Issuing CA", CA_CERT_ID)] {
            assert!(listing.contains(&format!("X.509 Certificate [{label}]")), "{label} not listed:\n{listing}");
            assert!(listing.contains(&format!("ID             : {id:02x}")), "ID {id:02x} not listed:\n{listing}");
        }
        assert_eq!(listing.matches("X.509 Certificate [").count(), 3, "{listing}");
        assert!(listing.contains("Authority      : yes"), "the CA is an authority:\n{listing}");
        for (id, expected) in [
            (AUTH_KEY_ID, card.certificate(KeyRole::Authentication)),
            (SIGN_KEY_ID, card.certificate(KeyRole::Signing)),
            (CA_CERT_ID, card.ca_certificate()),
        ] {
            let out = run(&conf, "pkcs15-tool", &["--read-certificate", &format!("{id:02x}")])?;
            let der = pem_der(&text(&out))?;
            assert_eq!(Some(der.as_slice()), expected, "certificate {id:02x} differs from the card's");
        }
        Ok(())
    }

    /// `pkcs15-tool --list-pins` and `--list-keys`: the PINs with their references and the two
    /// private keys with their usage.
    fn pkcs15_tool_lists_pins_and_keys(sb: &mut Sandbox) -> TestResult {
        let _sim = start_sim(sb)?;
        let conf = opensc_conf(sb)?;
        let pins = text(&run(&conf, "pkcs15-tool", &["--list-pins"])?);
        for (label, reference, min) in [("ID PIN", 0x81, 4), ("SIGN PIN", 0x82, 6), ("PUK", 0x83, 8)] {
            let block = pins
                .split("PIN [")
                .find(|b| b.starts_with(&format!("{label}]")))
                .ok_or_else(|| format!("{label} not listed:\n{pins}"))?;
            assert!(block.contains(&format!("Reference      : {reference} (0x{reference:02x})")), "{label}:\n{block}");
            assert!(block.contains(&format!("min_len:{min}, max_len:8, stored_len:8")), "{label}:\n{block}");
            assert!(block.contains("Pad char       : 0xFF") && block.contains("ascii-numeric"), "{label}:\n{block}");
            assert_eq!(block.contains("unblockingPin"), label == "PUK", "{label}:\n{block}");
        }
        let keys = text(&run(&conf, "pkcs15-tool", &["--list-keys"])?);
        assert!(keys.contains("[Authentication]") && keys.contains("[Signature]"), "{keys}");
        assert!(keys.contains("nonRepudiation"), "the signing key has nonRepudiation:\n{keys}");
        Ok(())
    }

    /// `pkcs11-tool --list-objects` through OpenSC's PKCS#11 module: one slot per PIN; the ID
    /// PIN's slot shows the authentication and CA certificates, the SIGN PIN's the signing
    /// certificate; after `--login` with the ID PIN (a VERIFY through OpenSC) the private key.
    fn pkcs11_tool_lists_the_objects(sb: &mut Sandbox) -> TestResult {
        let _sim = start_sim(sb)?;
        let conf = opensc_conf(sb)?;
        let module = ["--module", PKCS11_MODULE];
        let objects = text(&run(&conf, "pkcs11-tool", &[&module[..], &["--list-objects"]].concat())?);
        assert_eq!(objects.matches("Certificate Object; type = X.509 cert").count(), 2, "{objects}");
        for (label, id) in [("Authentication", AUTH_KEY_ID), ("Issuing CA", CA_CERT_ID)] {
            assert!(objects.contains(&format!("label:      {label}")), "{label}:\n{objects}");
            assert!(objects.contains(&format!("ID:         {id:02x}")), "{label}:\n{objects}");
        }
        assert!(!objects.contains("Private Key Object"), "private keys need a login:\n{objects}");
        let sign_slot = text(&run(&conf, "pkcs11-tool", &[&module[..], &["--slot-index", "1", "--list-objects"]].concat())?);
        assert!(sign_slot.contains("label:      Signature"), "{sign_slot}");
        assert!(sign_slot.contains(&format!("ID:         {SIGN_KEY_ID:02x}")), "{sign_slot}");
        let logged_in = text(&run(&conf, "pkcs11-tool", &[&module[..], &["--login", "--pin", "1234", "--list-objects"]].concat())?);
        assert!(logged_in.contains("Private Key Object; EC"), "{logged_in}");
        assert!(logged_in.contains("label:      Authentication"), "{logged_in}");
        Ok(())
    }
}
