//! `shenasd` through the real pcscd + vpcd with `shenas-sim`, each test in its own sandbox:
//! identify over HTTP, every card operation on the simulated citizen's national card (identity
//! with passive authentication, certificates, PINs, signing, authentication), a card pulled
//! mid-operation, pcscd restarted, and 50 concurrent clients on two cards with no answer lost or
//! given to the wrong client.

// Test code: a failed step fails the test at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use shenas_simulators::simulated_atr;
use shenas_test_harness::{ChildGuard, Sandbox, pcscd_test, workspace_bin};

const WAIT: Duration = Duration::from_secs(10);
const PORT: u16 = 24780;

/// The plain ISO/IEC 7816-4 demo card (no national-card profile): the tests of the daemon's
/// machinery (removal, restarts, concurrency) use it, as its answers are the simplest.
fn start_sim(sb: &Sandbox, args: &[&str], slot: u8) -> ChildGuard {
    let mut all = vec!["--demo-card"];
    all.extend_from_slice(args);
    start_card(sb, &all, slot)
}

/// `shenas-sim` with these arguments (none: the citizen's national card).
fn start_card(sb: &Sandbox, args: &[&str], slot: u8) -> ChildGuard {
    let mut cmd = Command::new(workspace_bin("shenas-sim"));
    cmd.args(args);
    let mut sim = sb.spawn(cmd);
    sim.wait_for_line(&format!("connected slot={slot}"), WAIT)
        .unwrap();
    sb.wait_for_card(&sb.reader_name(slot), WAIT).unwrap();
    sim
}

struct Shenasd {
    _child: ChildGuard,
    token: String,
}

fn start_shenasd(sb: &Sandbox) -> Shenasd {
    let dir = sb.temp_dir();
    let token_file = dir.join("token");
    // 50 concurrent clients: the rate limit is not what these tests measure.
    let config = dir.join("shenasd.toml");
    std::fs::write(&config, "requests_per_second = 100000\nburst = 100000\n").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shenasd"));
    cmd.arg("--config").arg(&config);
    cmd.args([
        "--listen",
        &format!("127.0.0.1:{PORT}"),
        "--bus",
        "none",
        "--kiosk",
    ])
    .arg("--token-file")
    .arg(&token_file)
    .arg("--audit-log")
    .arg(dir.join("audit.jsonl"))
    .env("SHENAS_LOG", "shenas=debug,info");
    let mut child = sb.spawn(cmd);
    let line = child.wait_for_line("ready http=", WAIT).unwrap();
    assert!(line.contains("bus=none"), "{line}");
    let token = std::fs::read_to_string(Path::new(&token_file)).unwrap();
    Shenasd {
        _child: child,
        token,
    }
}

fn http(token: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", PORT)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn encode(reader: &str) -> String {
    reader.replace(' ', "%20")
}

/// Retries `identify` until it succeeds (the monitor may not have seen the card yet).
fn identify_eventually(d: &Shenasd, reader: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = http(
            &d.token,
            "GET",
            &format!("/v1/readers/{}/card", encode(reader)),
            "",
        );
        if status == 200 {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "identify never succeeded: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pcscd_test! {
    fn readers_and_identify_through_pcscd(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &[], 0);
        let d = start_shenasd(sb);
        let reader = sb.reader_name(0);
        let (status, list) = http(&d.token, "GET", "/v1/readers", "");
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["service_available"], true);
        let readers = list["readers"].as_array().unwrap();
        assert_eq!(readers.len(), 2, "{list}");
        assert_eq!(readers[0]["name"], reader.as_str());
        assert_eq!(readers[0]["card_present"], true);
        assert_eq!(readers[0]["atr"], hex::encode_upper(simulated_atr(true)).as_str());
        assert_eq!(readers[1]["card_present"], false);

        let id = identify_eventually(&d, &reader);
        assert_eq!(id["reader"], reader.as_str());
        assert_eq!(id["serial"], "SHSIM001");
        // `_` is the first reader holding a card.
        let (status, any) = http(&d.token, "GET", "/v1/readers/_/card", "");
        assert_eq!(status, 200);
        assert_eq!(any["reader"], reader.as_str());
        // The empty reader: a typed error.
        let (status, empty) = http(&d.token, "GET", &format!("/v1/readers/{}/card", encode(&sb.reader_name(1))), "");
        assert_eq!(status, 409, "{empty}");
        assert_eq!(empty["code"], "no_card");
        // A card of no known profile is identified, but has no PINs to ask about.
        let (status, pin) = http(&d.token, "GET", "/v1/readers/_/pins/id", "");
        assert_eq!(status, 502, "{pin}");
        assert_eq!(pin["code"], "card_error");
        assert!(pin["reason"].as_str().unwrap().starts_with("unknown_card"), "{pin}");
        // The audit log names the card serial.
        std::thread::sleep(Duration::from_millis(200));
        let audit = std::fs::read_to_string(sb.temp_dir().join("audit.jsonl")).unwrap();
        assert!(audit.lines().any(|l| l.contains("\"operation\":\"identify\"") && l.contains("SHSIM001") && l.contains("\"outcome\":\"ok\"")), "{audit}");
    }

    fn the_citizens_card_through_the_daemon(sb: &mut Sandbox) {
        let _sim = start_card(sb, &[], 0);
        let d = start_shenasd(sb);
        let reader = sb.reader_name(0);
        let id = identify_eventually(&d, &reader);
        assert_eq!(id["profile"], "national_id", "{id}");
        assert_eq!(id["serial"], "N000000001", "{id}");
        let r = encode(&reader);

        // Identity with passive authentication (kiosk mode: no consent step).
        let (status, doc) = http(&d.token, "POST", &format!("/v1/readers/{r}/identity"), "{}");
        assert_eq!(status, 200, "{doc}");
        assert_eq!(doc["fields"]["national_code"], "0012345679", "{doc}");
        assert_eq!(doc["fields"]["given_name_latin"], "Maryam");
        assert_eq!(doc["passive_authentication"]["valid"], true, "{doc}");
        assert_eq!(doc["passive_authentication"]["trust"], "simulated");
        assert!(doc.get("portrait").is_none());

        // Certificates, validated on the host.
        let (status, certs) = http(&d.token, "GET", &format!("/v1/readers/{r}/certificates"), "");
        assert_eq!(status, 200, "{certs}");
        let list = certs.as_array().or_else(|| certs["certificates"].as_array()).unwrap();
        assert_eq!(list.len(), 2, "{certs}");
        assert!(list.iter().all(|c| c["valid"] == true), "{certs}");

        // PINs: status without spending a try, a wrong PIN spends exactly one.
        let (status, pin) = http(&d.token, "GET", &format!("/v1/readers/{r}/pins/sign"), "");
        assert_eq!(status, 200, "{pin}");
        let tries = pin["tries_left"].as_u64().unwrap();
        let (status, wrong) = http(&d.token, "POST", &format!("/v1/readers/{r}/pins/sign/verify"), r#"{"pin":"000000"}"#);
        assert_eq!(status, 422, "{wrong}");
        assert_eq!(wrong["code"], "wrong_pin");
        assert_eq!(wrong["tries_left"].as_u64(), Some(tries - 1));
        let (_, pin) = http(&d.token, "GET", &format!("/v1/readers/{r}/pins/sign"), "");
        assert_eq!(pin["tries_left"].as_u64(), Some(tries - 1), "{pin}");

        // Signing a hash with the SIGN PIN in the same request; the signature verifies.
        let hash = "5d5b09f6dcb2d53a5fffc60c4ac0d55fabdf556069d6631545f42aa6e3500f2e";
        let body = format!(r#"{{"hash_algorithm":"sha256","hash":"{hash}","pin":"123456"}}"#);
        let (status, sig) = http(&d.token, "POST", &format!("/v1/readers/{r}/sign"), &body);
        assert_eq!(status, 200, "{sig}");
        let cert = hex::decode(sig["certificate"].as_str().unwrap()).unwrap();
        let key = shenas_cards::pki::CertificateInfo::parse(&cert).unwrap().public_key().unwrap();
        let signature = hex::decode(sig["signature"].as_str().unwrap()).unwrap();
        key.verify_prehash(shenas_cards::pki::HashAlgorithm::Sha256, &hex::decode(hash).unwrap(), &signature)
            .unwrap();
        // The right PIN reset the counter.
        let (_, pin) = http(&d.token, "GET", &format!("/v1/readers/{r}/pins/sign"), "");
        assert_eq!(pin["tries_left"].as_u64(), Some(tries), "{pin}");
        // Without a PIN: the card refuses, typed.
        let body = format!(r#"{{"hash_algorithm":"sha256","hash":"{hash}"}}"#);
        let (status, refused) = http(&d.token, "POST", &format!("/v1/readers/{r}/sign"), &body);
        assert_eq!(status, 422, "{refused}");
        assert_eq!(refused["code"], "pin_required");

        // Authentication over a challenge with the ID PIN.
        let (status, auth) = http(&d.token, "POST", &format!("/v1/readers/{r}/authenticate"), r#"{"challenge":"0011223344556677","pin":"1234"}"#);
        assert_eq!(status, 200, "{auth}");
        assert!(!auth["signature"].as_str().unwrap().is_empty());

        // The audit log names operations, the card serial and outcomes, never the data or PINs.
        std::thread::sleep(Duration::from_millis(200));
        let audit = std::fs::read_to_string(sb.temp_dir().join("audit.jsonl")).unwrap();
        assert!(audit.lines().any(|l| l.contains("\"operation\":\"read_identity\"") && l.contains("N000000001")), "{audit}");
        assert!(audit.lines().any(|l| l.contains("\"operation\":\"sign\"") && l.contains("\"outcome\":\"ok\"")), "{audit}");
        for secret in ["0012345679", "Maryam", "Ahmadi", "\"123456\"", "\"000000\""] {
            assert!(!audit.contains(secret), "the audit log holds {secret}: {audit}");
        }
    }

    fn the_citizens_card_over_dbus(sb: &mut Sandbox) {
        // A private session bus (a real dbus-daemon), the daemon on it, the SDK's D-Bus client.
        let mut bus = sb.spawn({
            let mut cmd = Command::new("dbus-daemon");
            cmd.args(["--session", "--nofork", "--print-address=1"]);
            cmd
        });
        let address = bus.wait_for_line("unix:", WAIT).unwrap().trim().to_owned();
        let _sim = start_card(sb, &[], 0);
        let dir = sb.temp_dir();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shenasd"));
        cmd.args(["--listen", &format!("127.0.0.1:{PORT}"), "--bus", "session"])
            .arg("--token-file")
            .arg(dir.join("token"))
            .arg("--audit-log")
            .arg(dir.join("audit.jsonl"))
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("SHENAS_LOG", "info");
        let mut daemon = sb.spawn(cmd);
        let line = daemon.wait_for_line("ready http=", WAIT).unwrap();
        assert!(line.contains("bus=session"), "{line}");
        let reader = sb.reader_name(0);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            use shenas_sdk::bus::BusClient;
            use shenas_sdk::{ErrorCode, PinKind, ReadIdentityRequest, Secret, SignRequest};
            let client = BusClient::connect_address(&address).await.unwrap();
            let deadline = Instant::now() + WAIT;
            let id = loop {
                match client.identify(&reader).await {
                    Ok(id) => break id,
                    Err(e) => assert!(Instant::now() < deadline, "{e:?}"),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            assert_eq!(id.profile, "national_id");
            assert_eq!(id.serial.as_deref(), Some("N000000001"));
            // Same uid on the session bus: privileged methods are authorised.
            let doc = client.read_identity(&reader, &ReadIdentityRequest::default()).await.unwrap();
            assert_eq!(doc.fields["national_code"], "0012345679");
            assert!(doc.passive_authentication.unwrap().valid);
            let certs = client.certificates(&reader).await.unwrap();
            assert_eq!(certs.len(), 2);
            assert!(certs.iter().all(|c| c.valid));
            // A wrong PIN is a typed D-Bus error with the tries left; nothing is retried.
            let before = client.pin_status(&reader, PinKind::Id).await.unwrap().tries_left.unwrap();
            let e = client.verify_pin(&reader, PinKind::Id, &Secret::new("9999")).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::WrongPin), "{e:?}");
            let after = client.pin_status(&reader, PinKind::Id).await.unwrap().tries_left.unwrap();
            assert_eq!(after, before - 1);
            let ok = client.verify_pin(&reader, PinKind::Id, &Secret::new("1234")).await.unwrap();
            assert!(ok.verified);
            // A signature over a SHA-384 hash, verified here against the certificate.
            let hash = vec![0x42u8; 48];
            let request = SignRequest {
                hash_algorithm: shenas_sdk::HashAlgorithm::Sha384,
                hash: hex::encode(&hash),
                pin: Some(Secret::new("123456")),
                consent: None,
            };
            let sig = client.sign(&reader, &request).await.unwrap();
            let cert = hex::decode(&sig.certificate).unwrap();
            let key = shenas_cards::pki::CertificateInfo::parse(&cert).unwrap().public_key().unwrap();
            key.verify_prehash(shenas_cards::pki::HashAlgorithm::Sha384, &hash, &hex::decode(&sig.signature).unwrap())
                .unwrap();
        });
        drop(daemon);
        bus.kill();
    }

    fn polkit_decides_privileged_methods_on_a_private_system_bus(sb: &mut Sandbox) {
        // The real polkitd on a private system bus (a real dbus-daemon), in this sandbox's own
        // mount namespace: our action file and a rules file are bind-mounted over polkit's
        // directories. The rules let `nobody` read identities and refuse every other action;
        // the D-Bus calls come from `nobody` (root callers are trusted without asking).
        let base = std::path::PathBuf::from(format!("/tmp/shenas-polkit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        for d in ["actions", "rules", "bus"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        let run = |cmd: &mut Command| {
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "{cmd:?}: {out:?}");
        };
        run(Command::new("chmod").args(["0755"]).arg(&base).arg(base.join("bus")));
        for entry in std::fs::read_dir("/usr/share/polkit-1/actions").unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, base.join("actions").join(path.file_name().unwrap())).unwrap();
        }
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/ir.shenas.policy"),
            base.join("actions/ir.shenas.policy"),
        )
        .unwrap();
        std::fs::write(
            base.join("rules/50-shenas-test.rules"),
            "polkit.addRule(function(action, subject) {\n  if (action.id == \"ir.shenas.read-identity\" && subject.user == \"nobody\") { return polkit.Result.YES; }\n  if (action.id.indexOf(\"ir.shenas.\") == 0) { return polkit.Result.NO; }\n});\n",
        )
        .unwrap();
        run(Command::new("mount").arg("--bind").arg(base.join("actions")).arg("/usr/share/polkit-1/actions"));
        run(Command::new("mount").arg("--bind").arg(base.join("rules")).arg("/etc/polkit-1/rules.d"));
        let socket = base.join("bus/system_bus_socket");
        std::fs::write(
            base.join("system.conf"),
            format!(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig><type>system</type><listen>unix:path={}</listen><auth>EXTERNAL</auth><policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/><allow send_destination=\"*\"/><allow receive_sender=\"*\"/></policy></busconfig>\n",
                socket.display()
            ),
        )
        .unwrap();
        let address = format!("unix:path={}", socket.display());
        let mut bus = sb.spawn({
            let mut cmd = Command::new("dbus-daemon");
            cmd.arg(format!("--config-file={}", base.join("system.conf").display()))
                .args(["--nofork", "--print-address=1"]);
            cmd
        });
        bus.wait_for_line("unix:", WAIT).unwrap();
        let mut polkitd = sb.spawn({
            let mut cmd = Command::new("/usr/lib/polkit-1/polkitd");
            cmd.arg("--no-debug").env("DBUS_SYSTEM_BUS_ADDRESS", &address);
            cmd
        });
        let _sim = start_card(sb, &[], 0);
        let dir = sb.temp_dir();
        let mut daemon = sb.spawn({
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_shenasd"));
            cmd.args(["--listen", &format!("127.0.0.1:{PORT}"), "--bus", "system"])
                .arg("--token-file")
                .arg(dir.join("token"))
                .arg("--audit-log")
                .arg(dir.join("audit.jsonl"))
                .env("DBUS_SYSTEM_BUS_ADDRESS", &address)
                .env("SHENAS_LOG", "info");
            cmd
        });
        let line = daemon.wait_for_line("ready http=", WAIT).unwrap();
        assert!(line.contains("bus=system"), "{line}");
        let reader = sb.reader_name(0);
        // A D-Bus call as `nobody`, with dbus-send (an independent client).
        let call = |method: &str, args: &[String]| -> std::process::Output {
            let mut cmd = Command::new("setpriv");
            cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "dbus-send"])
                .arg(format!("--bus={address}"))
                .args(["--print-reply", "--dest=ir.shenas.Daemon1", "/ir/shenas/Daemon1"])
                .arg(format!("ir.shenas.Manager1.{method}"))
                .args(args);
            cmd.output().unwrap()
        };
        let reader_arg = format!("string:{reader}");
        // Wait until polkitd owns its name and the card is identified.
        let deadline = Instant::now() + WAIT;
        loop {
            let out = call("Identify", std::slice::from_ref(&reader_arg));
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let owned = Command::new("dbus-send")
                .arg(format!("--bus={address}"))
                .args(["--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.PolicyKit1"])
                .output()
                .unwrap();
            if out.status.success() && text.contains("N000000001") && String::from_utf8_lossy(&owned.stdout).contains("true") {
                break;
            }
            assert!(Instant::now() < deadline, "{out:?} {owned:?} {:?}", polkitd.try_wait());
            std::thread::sleep(Duration::from_millis(100));
        }
        // Allowed by the rules: the identity is read.
        let out = call("ReadIdentity", &[reader_arg.clone(), "string:{}".into()]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{out:?}");
        assert!(text.contains("0012345679"), "{text}");
        // Refused by the rules: a typed Forbidden error, and the card was never asked.
        let body = r#"string:{"hash_algorithm":"sha256","hash":"5d5b09f6dcb2d53a5fffc60c4ac0d55fabdf556069d6631545f42aa6e3500f2e","pin":"123456"}"#;
        let out = call("SignHash", &[reader_arg.clone(), body.into()]);
        assert!(!out.status.success(), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ir.shenas.Error.Forbidden"), "{err}");
        assert!(err.contains("ir.shenas.sign"), "{err}");
        // Verifying a PIN is privileged too (under the sign action): no tries spent.
        let out = call("VerifyPin", &[reader_arg.clone(), "string:id".into(), "string:0000".into()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ir.shenas.Error.Forbidden"), "{err}");
        assert!(err.contains("ir.shenas.sign"), "{err}");
        let out = call("ChangePin", &[reader_arg.clone(), "string:id".into(), "string:0000".into(), "string:4321".into()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ir.shenas.Error.Forbidden"), "{err}");
        assert!(err.contains("ir.shenas.manage-pin"), "{err}");
        // The refused (and wrong) PIN was never sent: the card still has all its tries.
        let out = call("PinStatus", &[reader_arg, "string:id".into()]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("\"tries_left\":3"), "{out:?}");
        drop(daemon);
        polkitd.kill();
        bus.kill();
        let _ = std::fs::remove_dir_all(&base);
    }

    fn card_pulled_mid_operation_keeps_the_daemon_serving(sb: &mut Sandbox) {
        // Every answer takes 1.5 s: the card is pulled while identify waits for one.
        let mut sim = start_sim(sb, &["--delay-ms", "1500"], 0);
        let d = start_shenasd(sb);
        let reader = sb.reader_name(0);
        let token = d.token.clone();
        let path = format!("/v1/readers/{}/card", encode(&reader));
        // Wait until the daemon's table has the card.
        let deadline = Instant::now() + WAIT;
        while http(&d.token, "GET", "/v1/readers", "").1["readers"][0]["card_present"] != true {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(50));
        }
        let pending = std::thread::spawn(move || http(&token, "GET", &path, ""));
        std::thread::sleep(Duration::from_millis(700));
        sim.kill();
        let (status, body) = pending.join().unwrap();
        assert!(status >= 400, "{status} {body}");
        let code = body["code"].as_str().unwrap().to_owned();
        assert!(
            matches!(code.as_str(), "card_removed" | "no_card" | "timeout" | "card_unresponsive" | "transport" | "card_reset"),
            "{code}"
        );
        // The daemon still serves, sees the card gone, and serves a new card.
        let (status, _) = http(&d.token, "GET", "/v1/status", "");
        assert_eq!(status, 200);
        sb.wait_for_no_card(&reader, WAIT).unwrap();
        let _sim = start_sim(sb, &[], 0);
        let id = identify_eventually(&d, &reader);
        assert_eq!(id["serial"], "SHSIM001");
        // Nobody holds the card: another PC/SC client can take a transaction at once.
        let ctx = shenas_test_harness::pcsc::Context::establish(shenas_test_harness::pcsc::Scope::User).unwrap();
        let name = std::ffi::CString::new(reader.clone()).unwrap();
        let mut card = ctx
            .connect(&name, shenas_test_harness::pcsc::ShareMode::Shared, shenas_test_harness::pcsc::Protocols::ANY)
            .unwrap();
        let tx = card.transaction().unwrap();
        drop(tx);
    }

    fn pcscd_restart_is_recovered(sb: &mut Sandbox) {
        let _sim = start_sim(sb, &[], 0);
        let d = start_shenasd(sb);
        let reader = sb.reader_name(0);
        identify_eventually(&d, &reader);
        sb.restart_pcscd();
        // The service comes back; the simulator reconnects; identify works again.
        sb.wait_for_card(&reader, WAIT).unwrap();
        let id = identify_eventually(&d, &reader);
        assert_eq!(id["reader"], reader.as_str());
        let deadline = Instant::now() + WAIT;
        loop {
            let (_, status) = http(&d.token, "GET", "/v1/status", "");
            if status["service_available"] == true {
                break;
            }
            assert!(Instant::now() < deadline, "{status}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn fifty_clients_on_two_cards_get_their_own_answers(sb: &mut Sandbox) {
        // Two cards told apart by their ATRs (extended length declared or not).
        let _sim0 = start_sim(sb, &["--slot", "0"], 0);
        let _sim1 = start_sim(sb, &["--slot", "1", "--no-extended-length"], 1);
        let d = start_shenasd(sb);
        let readers = [sb.reader_name(0), sb.reader_name(1)];
        let atrs = [hex::encode_upper(simulated_atr(true)), hex::encode_upper(simulated_atr(false))];
        for r in &readers {
            identify_eventually(&d, r);
        }
        let started = Instant::now();
        let clients: Vec<_> = (0..50)
            .map(|i| {
                let token = d.token.clone();
                let reader = readers[i % 2].clone();
                let atr = atrs[i % 2].clone();
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        let (status, id) = http(&token, "GET", &format!("/v1/readers/{}/card", encode(&reader)), "");
                        assert_eq!(status, 200, "{id}");
                        assert_eq!(id["reader"], reader.as_str(), "{id}");
                        assert_eq!(id["atr"], atr.as_str(), "{id}");
                        assert_eq!(id["serial"], "SHSIM001", "{id}");
                    }
                    10
                })
            })
            .collect();
        let answered: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
        assert_eq!(answered, 500);
        eprintln!("500 identifies by 50 clients on 2 cards in {:?}", started.elapsed());
    }
}
