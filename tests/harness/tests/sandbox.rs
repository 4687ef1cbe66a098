//! Self-test of the harness: sandboxes are isolated from each other, and pcscd can be stopped,
//! started and restarted inside one.

// Test code: a failed step should fail the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::CString;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use shenas_test_harness::{HarnessError, Sandbox, pcsc, pcscd_test};

const WAIT: Duration = Duration::from_secs(10);
/// Valid minimal ATRs (T=0, two historical bytes) that tell the two isolation tests apart.
const ATR_A: &[u8] = &[0x3B, 0x02, b'A', b'A'];
const ATR_B: &[u8] = &[0x3B, 0x02, b'B', b'B'];

/// The smallest vpcd card: answers "get ATR" with `atr` and every APDU with 6D00.
struct FakeCard {
    stream: TcpStream,
    thread: Option<JoinHandle<()>>,
}

impl FakeCard {
    fn insert(port: u16, atr: &'static [u8]) -> FakeCard {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to vpcd");
        stream.set_nodelay(true).unwrap();
        let mut conn = stream.try_clone().unwrap();
        let thread = thread::spawn(move || {
            loop {
                let mut len = [0u8; 2];
                if conn.read_exact(&mut len).is_err() {
                    return;
                }
                let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if conn.read_exact(&mut payload).is_err() {
                    return;
                }
                let reply: &[u8] = match payload.as_slice() {
                    [0x04] => atr,
                    [_] => continue, // power off / on / reset: no reply
                    _ => &[0x6D, 0x00],
                };
                let mut frame = u16::try_from(reply.len()).unwrap().to_be_bytes().to_vec();
                frame.extend_from_slice(reply);
                if conn.write_all(&frame).is_err() {
                    return;
                }
            }
        });
        FakeCard {
            stream,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeCard {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn pidfile_pid() -> u32 {
    // pcscd 1.9.9 writes "PID\n\0".
    let text = fs::read_to_string("/run/pcscd/pcscd.pid").unwrap();
    text.trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .parse()
        .unwrap()
}

/// Sends one APDU to the card in `reader` and returns the response.
fn transmit(reader: &str, apdu: &[u8]) -> Vec<u8> {
    let ctx = pcsc::Context::establish(pcsc::Scope::User).unwrap();
    let reader = CString::new(reader).unwrap();
    let card = ctx
        .connect(&reader, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
        .unwrap();
    let mut buf = [0u8; 258];
    card.transmit(apdu, &mut buf).unwrap().to_vec()
}

/// A rendezvous folder shared by the two isolation tests of one nextest run (nextest runs each
/// test in its own process, in parallel; the host's /tmp is visible from every sandbox).
fn rendezvous_dir() -> Option<PathBuf> {
    let run = std::env::var("NEXTEST_RUN_ID").ok()?;
    let dir = std::env::temp_dir().join(format!("shenas-harness-selftest-{run}"));
    fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

fn isolation_check(sb: &mut Sandbox, me: &str, other: &str, atr: &'static [u8]) {
    // Our own pcscd, in our own /run/pcscd: the PID file is the process the harness started.
    assert_eq!(Some(pidfile_pid()), sb.pcscd_pid());
    let mut entries: Vec<String> = fs::read_dir("/run/pcscd")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["pcscd.comm", "pcscd.pid"]);
    assert_eq!(
        sb.readers().unwrap(),
        [sb.reader_name(0), sb.reader_name(1)]
    );

    // Our own vpcd port: our card, with our ATR, answers through our pcscd.
    let reader = sb.reader_name(0);
    sb.wait_for_no_card(&reader, WAIT).unwrap();
    let card = FakeCard::insert(sb.vpcd_port(0), atr);
    assert_eq!(sb.wait_for_card(&reader, WAIT).unwrap(), atr);
    assert_eq!(
        transmit(&reader, &[0x00, 0xCA, 0x01, 0x01, 0x00]),
        [0x6D, 0x00]
    );

    // When the other test runs at the same time, its card is in at the same moment as ours in
    // the same-named reader on the same port number, and we still see only ours.
    if let Some(dir) = rendezvous_dir() {
        fs::write(dir.join(me), b"card inserted").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !dir.join(other).exists() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let overlapped = dir.join(other).exists();
        assert_eq!(sb.wait_for_card(&reader, WAIT).unwrap(), atr);
        assert_eq!(sb.readers().unwrap().len(), 2);
        println!("isolation: {me} overlapped with {other}: {overlapped}");
        // Keep our card in until the other test has checked too.
        thread::sleep(Duration::from_millis(300));
        let _ = fs::remove_file(dir.join(me));
        let _ = fs::remove_dir(&dir); // the last one out removes it
    } else {
        println!("isolation: not under nextest, no rendezvous with {other}");
    }

    drop(card);
    sb.wait_for_no_card(&reader, WAIT).unwrap();
    assert!(sb.pcscd_log().contains("pcscd start #1"));
}

pcscd_test! {
    /// Runs in parallel with `isolated_sandbox_b` under nextest.
    fn isolated_sandbox_a(sb: &mut Sandbox) {
        isolation_check(sb, "a", "b", ATR_A);
    }

    /// Runs in parallel with `isolated_sandbox_a` under nextest.
    fn isolated_sandbox_b(sb: &mut Sandbox) {
        isolation_check(sb, "b", "a", ATR_B);
    }

    fn stop_start_and_restart_pcscd(sb: &mut Sandbox) -> Result<(), HarnessError> {
        let reader = sb.reader_name(1);
        let first = sb.pcscd_pid().unwrap();
        let old_ctx = pcsc::Context::establish(pcsc::Scope::User)?;
        assert_eq!(old_ctx.list_readers_owned()?.len(), 2);
        let card = FakeCard::insert(sb.vpcd_port(1), ATR_A);
        assert_eq!(sb.wait_for_card(&reader, WAIT)?, ATR_A);

        sb.restart_pcscd();
        let second = sb.pcscd_pid().unwrap();
        assert_ne!(first, second);
        assert_eq!(pidfile_pid(), second);
        // The old context belongs to the old pcscd; the old card connection died with it.
        assert!(old_ctx.list_readers_owned().is_err());
        drop(card);
        sb.wait_for_no_card(&reader, WAIT)?;
        // vpcd binds its port again although a card was connected when pcscd stopped.
        let card = FakeCard::insert(sb.vpcd_port(1), ATR_B);
        assert_eq!(sb.wait_for_card(&reader, WAIT)?, ATR_B);
        drop(card);

        sb.stop_pcscd();
        assert_eq!(sb.pcscd_pid(), None);
        assert!(matches!(sb.readers(), Err(HarnessError::Pcsc(pcsc::Error::NoService))));
        sb.start_pcscd();
        assert_eq!(sb.readers()?.len(), 2);
        let log = sb.pcscd_log();
        assert!(log.contains("pcscd start #3"), "log:\n{log}");
        Ok(())
    }

    fn spawned_process_lines_and_kill(sb: &mut Sandbox) -> Result<(), HarnessError> {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo ready slot=0; sleep 0.2; echo connected slot=0; exec sleep 60"]);
        let mut child = sb.spawn(cmd);
        assert_eq!(child.wait_for_line("ready slot=0", WAIT)?, "ready slot=0");
        child.wait_for_line("connected slot=0", WAIT)?;
        // The cursor moved past both lines: nothing else comes.
        assert!(matches!(
            child.wait_for_line("slot=0", Duration::from_millis(100)),
            Err(HarnessError::Timeout { .. })
        ));
        assert!(child.try_wait().is_none());
        let status = child.kill().unwrap();
        assert!(!status.success());
        assert!(matches!(
            child.wait_for_line("anything", WAIT),
            Err(HarnessError::OutputClosed { .. })
        ));
        Ok(())
    }
}
