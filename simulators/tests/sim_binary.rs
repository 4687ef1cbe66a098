//! The `shenas-sim` binary against a stand-in for vpcd: flags, stdout lines, stdin control.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Kills the child when the test ends, whatever happens.
struct Sim {
    child: Child,
    lines: Receiver<String>,
}

impl Sim {
    fn start(args: &[&str], stdin: Stdio) -> Result<Self, Box<dyn std::error::Error>> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shenas-sim"))
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout: ChildStdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Ok(Self { child, lines })
    }

    fn expect(&self, want: &str) -> Result<(), Box<dyn std::error::Error>> {
        loop {
            let line = self.lines.recv_timeout(Duration::from_secs(10))?;
            if line == want {
                return Ok(());
            }
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(payload.len())
        .unwrap_or(0)
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(payload);
    out
}

fn exchange(stream: &mut TcpStream, apdu: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(&frame(apdu))?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut payload)?;
    Ok(payload)
}

#[test]
fn serves_with_stdin_closed_and_applies_faults() -> TestResult {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port().to_string();
    let args = [
        "--demo-card",
        "--port",
        &port,
        "--force-sw",
        "6982",
        "--force-sw-ins",
        "CA",
        "--chunk",
        "4",
    ];
    let sim = Sim::start(&args, Stdio::null())?;
    sim.expect(&format!("ready slot=0 port={port}"))?;
    let (mut vpcd, _) = listener.accept()?;
    vpcd.set_read_timeout(Some(Duration::from_secs(10)))?;
    sim.expect("connected slot=0")?;
    vpcd.write_all(&frame(&[0x01]))?;
    assert_eq!(
        exchange(&mut vpcd, &[0x04])?,
        shenas_simulators::simulated_atr(true)
    );
    assert_eq!(
        exchange(&mut vpcd, &[0, 0xCA, 0x5F, 0x5A, 0])?,
        [0x69, 0x82]
    );
    assert_eq!(
        exchange(&mut vpcd, &[0, 0xA4, 0, 0x0C, 2, 0x2F, 0])?,
        [0x90, 0]
    );
    let r = exchange(&mut vpcd, &[0, 0xB0, 0, 0, 8])?;
    assert_eq!(
        r,
        [0x61, 0x1D, 0x4F, 0x08, 0x61, 0x04],
        "EF.DIR in 4-byte chunks"
    );
    Ok(())
}

#[test]
fn stdin_controls_insertion_and_quit() -> TestResult {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port().to_string();
    let mut sim = Sim::start(
        &[
            "--demo-card",
            "--port",
            &port,
            "--no-insert",
            "--no-extended-length",
        ],
        Stdio::piped(),
    )?;
    let mut stdin = sim.child.stdin.take().ok_or("no stdin")?;
    sim.expect(&format!("ready slot=0 port={port}"))?;
    writeln!(stdin, "insert")?;
    sim.expect("inserted slot=0")?;
    let (mut vpcd, _) = listener.accept()?;
    vpcd.set_read_timeout(Some(Duration::from_secs(10)))?;
    sim.expect("connected slot=0")?;
    assert_eq!(
        exchange(&mut vpcd, &[0x04])?,
        shenas_simulators::simulated_atr(false)
    );
    assert_eq!(
        exchange(&mut vpcd, &[0, 0xB0, 0, 0, 0, 0x10, 0])?,
        [0x67, 0],
        "no extended length"
    );
    writeln!(stdin, "remove 0")?;
    sim.expect("removed slot=0")?;
    let mut byte = [0u8; 1];
    assert_eq!(vpcd.read(&mut byte)?, 0, "removal closes the connection");
    writeln!(stdin, "frobnicate")?;
    sim.expect("error unknown command: frobnicate")?;
    writeln!(stdin, "quit")?;
    sim.expect("stopped slot=0")?;
    let status = sim.child.wait()?;
    assert!(status.success());
    Ok(())
}
