//! Gives each test its own `pcscd` (with Debian's vpcd virtual readers) in its own mount, network
//! and PID namespaces, so tests that go through the real PC/SC stack run in parallel.
//!
//! Write such a test with [`pcscd_test!`]:
//!
//! ```no_run
//! use shenas_test_harness::{Sandbox, pcscd_test};
//! use std::time::Duration;
//!
//! pcscd_test! {
//!     fn sees_both_vpcd_readers(sb: &mut Sandbox) {
//!         let readers = sb.readers().unwrap();
//!         assert!(readers.contains(&sb.reader_name(0)));
//!     }
//! }
//! ```
//!
//! How it works: the `#[test]` the macro writes re-executes its own test binary as
//! `unshare --mount --net --pid --fork --kill-child --mount-proc -- <exe> --exact <name>
//! --nocapture --test-threads=1 --include-ignored`, with an environment variable marking the
//! child. The child mounts a tmpfs on `/run/pcscd`, brings `lo` up, starts `pcscd --foreground
//! --debug --apdu`, waits until it serves, runs the body, and stops pcscd by PID. The child is
//! PID 1 of its PID namespace, so when it ends, for any reason, the kernel kills every process it
//! started there (pcscd, simulators). The parent waits with a timeout, echoes the child's output
//! and fails with the child's exit status and the tail of the pcscd log.
//!
//! Needs root (namespaces and mounts) and `unshare` (util-linux), `mount`, `ip` (iproute2),
//! `kill` and `pcscd` with vsmartcard-vpcd. Without them a test fails; it never skips.

// Test-support crate: a set-up step that fails must fail the test that asked for it, loudly and
// at once, so unwrap/expect/panic are the intended way of reporting here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::CString;
use std::fmt::{self, Debug};
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

pub use pcsc;

/// Environment variable that marks the re-executed child; its value is the test's libtest name.
const CHILD_ENV: &str = "SHENAS_HARNESS_CHILD";
/// Environment variable that carries the per-test scratch directory to the child.
const DIR_ENV: &str = "SHENAS_HARNESS_DIR";
/// Environment variable that overrides the parent's timeout, in seconds.
pub const TIMEOUT_ENV: &str = "SHENAS_HARNESS_TIMEOUT_SECS";
/// Line the child prints when the body returned successfully; the parent requires it, so a test
/// whose name did not match (zero tests run, exit 0) cannot pass.
const PASSED_MARKER: &str = "shenas-test-harness: body passed:";

/// Default time the parent gives the whole child test, set-up included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Time `start_pcscd` gives pcscd to serve.
pub const PCSCD_START_TIMEOUT: Duration = Duration::from_secs(10);
/// TCP port of vpcd slot 0; slot 1 is the next one.
pub const VPCD_BASE_PORT: u16 = 35963;
/// Number of slots Debian's vpcd configuration offers.
pub const VPCD_SLOTS: u8 = 2;
const PCSCD_DIR: &str = "/run/pcscd";
const PCSCD_COMM: &str = "/run/pcscd/pcscd.comm";
const PCSCD_PIDFILE: &str = "/run/pcscd/pcscd.pid";

/// Declares tests that each run in their own sandbox with their own pcscd.
///
/// Each `fn name(sb: &mut Sandbox) { ... }` (optionally `-> Result<(), E>` with `E: Debug`)
/// becomes a `#[test] fn name()`; attributes and doc comments are kept. The libtest name the
/// child is re-executed with comes from `module_path!()` and `stringify!(name)`, so it cannot be
/// mistyped.
#[macro_export]
macro_rules! pcscd_test {
    ($(
        $(#[$meta:meta])*
        fn $name:ident($sb:ident : $ty:ty) $(-> $ret:ty)? $body:block
    )+) => {$(
        $(#[$meta])*
        #[test]
        fn $name() {
            $crate::run_sandboxed(
                ::core::module_path!(),
                ::core::stringify!($name),
                |$sb: $ty| $(-> $ret)? { $body },
            );
        }
    )+};
}

/// What a test body may return: `()` or `Result<(), E>`.
pub trait TestOutcome {
    /// `Err` with a printable reason when the body failed.
    fn into_result(self) -> Result<(), String>;
}

impl TestOutcome for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Debug> TestOutcome for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|e| format!("{e:?}"))
    }
}

/// What the sandbox's waiting helpers report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// The awaited event did not happen in time.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the wait lasted.
        after: Duration,
    },
    /// A spawned process closed its output before printing the awaited line.
    #[error("{name} closed its output before printing a line containing {needle:?}")]
    OutputClosed {
        /// The process.
        name: String,
        /// The awaited text.
        needle: String,
    },
    /// A PC/SC call failed.
    #[error("PC/SC call failed")]
    Pcsc(#[from] pcsc::Error),
}

/// The test's libtest name: the module path without the crate name, then the function name.
fn libtest_name(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_crate, rest)) => format!("{rest}::{name}"),
        None => name.to_owned(),
    }
}

/// Runs `body` in a sandbox with its own pcscd. Called by [`pcscd_test!`]; `module_path` and
/// `name` must be `module_path!()` and the test function's name.
pub fn run_sandboxed<T: TestOutcome>(
    module_path: &str,
    name: &str,
    body: impl FnOnce(&mut Sandbox) -> T,
) {
    let full = libtest_name(module_path, name);
    match std::env::var(CHILD_ENV) {
        Ok(marked) if marked == full => run_child(&full, body),
        Ok(marked) => panic!(
            "{CHILD_ENV}={marked:?} but this test is {full:?}: a sandboxed test ran inside \
             another one's sandbox"
        ),
        Err(_) => run_parent(&full),
    }
}

fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn preflight(full: &str) {
    match effective_uid() {
        Some(0) => {}
        uid => panic!(
            "{full}: this test needs root, for the mount, network and PID namespaces that give it \
             its own pcscd (effective uid: {uid:?}); run it as root, e.g. through .ci/test"
        ),
    }
    if let Err(e) = Command::new("unshare")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
    {
        panic!(
            "{full}: this test needs root and `unshare` (util-linux) for its namespaces, and \
             `unshare` cannot be run: {e}"
        );
    }
}

fn scratch_dir(full: &str) -> PathBuf {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let safe: String = full
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let dir = std::env::temp_dir().join(format!(
        "shenas-harness-{}-{}-{safe}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Reads a pipe to its end on a thread; the receiver gets the whole text.
fn collect(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    rx
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all.get(all.len().saturating_sub(lines)..)
        .unwrap_or_default()
        .join("\n")
}

fn timeout_from_env() -> Duration {
    std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

fn run_parent(full: &str) {
    preflight(full);
    let dir = scratch_dir(full);
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new("unshare")
        .args([
            "--mount",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
        ])
        .args(["--propagation", "private", "--"])
        .arg(&exe)
        .args([
            "--exact",
            full,
            "--nocapture",
            "--test-threads=1",
            "--include-ignored",
        ])
        .env(CHILD_ENV, full)
        .env(DIR_ENV, &dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{full}: cannot start `unshare` (needs root): {e}"));
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));

    let timeout = timeout_from_env();
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                // Kills unshare by PID; --kill-child then kills the test (PID 1 of its
                // namespace), and with it everything it started.
                let _ = child.kill();
                break child.wait().expect("wait for unshare");
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("{full}: cannot wait for the sandboxed child: {e}"),
        }
    };
    let out = stdout
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_default();
    let err = stderr
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_default();
    print!("{out}");
    eprint!("{err}");

    let marker = format!("{PASSED_MARKER} {full}");
    let passed = out.lines().any(|l| l.trim_end() == marker);
    if status.success() && passed && !timed_out {
        let _ = fs::remove_dir_all(&dir);
        return;
    }
    let log = fs::read(dir.join("pcscd.log")).unwrap_or_default();
    let log = String::from_utf8_lossy(&log);
    let why = if timed_out {
        format!("timed out after {timeout:?} ({TIMEOUT_ENV} changes it) and was killed")
    } else if status.success() {
        format!(
            "exited successfully without running the body: libtest found no test named {full:?}"
        )
    } else {
        format!("failed: {status}")
    };
    panic!(
        "{full}: sandboxed test {why}\n--- last lines of the pcscd log ({}) ---\n{}\n---",
        dir.join("pcscd.log").display(),
        tail(&log, 40)
    );
}

fn run_child<T: TestOutcome>(full: &str, body: impl FnOnce(&mut Sandbox) -> T) {
    let dir = PathBuf::from(std::env::var_os(DIR_ENV).expect("the parent sets the scratch dir"));
    let mut sandbox = Sandbox::enter(full, dir);
    let outcome = body(&mut sandbox).into_result();
    drop(sandbox);
    match outcome {
        // libtest printed "test NAME ... " without a newline: start a line of our own.
        Ok(()) => println!("\n{PASSED_MARKER} {full}"),
        Err(e) => panic!("{full}: the test returned an error: {e}"),
    }
}

/// Runs a set-up command to completion; panics with its output when it fails.
fn run_checked(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether something listens on TCP `port` in this network namespace (read from /proc, so no
/// connection is made: a connection to vpcd would insert a phantom card).
fn tcp_listening(port: u16) -> bool {
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|line| {
                let mut fields = line.split_whitespace();
                let local = fields.nth(1);
                let state = fields.nth(1);
                let local_port = local
                    .and_then(|l| l.rsplit_once(':'))
                    .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
                local_port == Some(port) && state == Some("0A")
            })
    })
}

/// One test's world: its own `/run/pcscd`, loopback and pcscd. Dropping it stops pcscd.
pub struct Sandbox {
    test_name: String,
    dir: PathBuf,
    log_path: PathBuf,
    pcscd: Option<Child>,
    starts: usize,
}

impl Sandbox {
    fn enter(full: &str, dir: PathBuf) -> Sandbox {
        // The harness made this process PID 1 of a new PID namespace, with new mount and network
        // namespaces; anywhere else, mounting over /run/pcscd would hide the host's pcscd.
        assert_eq!(
            std::process::id(),
            1,
            "{full}: refusing to mount over {PCSCD_DIR}: not inside the harness's namespaces"
        );
        fs::create_dir_all(PCSCD_DIR).expect("create /run/pcscd");
        run_checked(
            "mount",
            &["-t", "tmpfs", "-o", "mode=0755", "tmpfs", PCSCD_DIR],
        );
        run_checked("ip", &["link", "set", "lo", "up"]);
        let log_path = dir.join("pcscd.log");
        let mut sandbox = Sandbox {
            test_name: full.to_owned(),
            dir,
            log_path,
            pcscd: None,
            starts: 0,
        };
        sandbox.start_pcscd();
        sandbox
    }

    /// The libtest name of the test that owns this sandbox.
    pub fn test_name(&self) -> &str {
        &self.test_name
    }

    /// A scratch directory for this test on the host's file system; removed when the test passes.
    pub fn temp_dir(&self) -> &Path {
        &self.dir
    }

    /// Starts pcscd and waits (up to [`PCSCD_START_TIMEOUT`]) until its socket exists and vpcd
    /// listens on both slots. Panics, with the log tail, when it does not.
    pub fn start_pcscd(&mut self) {
        assert!(
            self.pcscd.is_none(),
            "start_pcscd: pcscd is already running"
        );
        // A killed pcscd leaves its socket behind; it must not pass for the new one.
        let _ = fs::remove_file(PCSCD_COMM);
        let _ = fs::remove_file(PCSCD_PIDFILE);
        self.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.log_path.display()));
        let _ = writeln!(
            log,
            "=== shenas-test-harness: pcscd start #{} ===",
            self.starts
        );
        let child = Command::new("pcscd")
            .args(["--foreground", "--debug", "--apdu"])
            .env_remove(CHILD_ENV)
            .env_remove(DIR_ENV)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start pcscd (apt-get install pcscd): {e}"));
        let pid = child.id();
        self.pcscd = Some(child);
        let deadline = Instant::now() + PCSCD_START_TIMEOUT;
        loop {
            let serving = Path::new(PCSCD_COMM).exists()
                && (0..VPCD_SLOTS).all(|slot| tcp_listening(self.vpcd_port(slot)));
            if serving {
                return;
            }
            if let Some(status) = self
                .pcscd
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.pcscd = None;
                panic!(
                    "pcscd (pid {pid}) exited at start: {status}\n{}",
                    tail(&self.pcscd_log(), 30)
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "pcscd (pid {pid}) did not serve within {PCSCD_START_TIMEOUT:?} ({PCSCD_COMM} \
                     and vpcd ports {}..={}; is vsmartcard-vpcd installed?)\n{}",
                    VPCD_BASE_PORT,
                    self.vpcd_port(VPCD_SLOTS - 1),
                    tail(&self.pcscd_log(), 30)
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops pcscd by PID: SIGTERM, then SIGKILL after 3 s. No-op when it is not running.
    pub fn stop_pcscd(&mut self) {
        let Some(mut child) = self.pcscd.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = fs::remove_file(PCSCD_COMM);
    }

    /// Stops pcscd and starts a new one: clients' old contexts then fail with
    /// `SCARD_E_NO_SERVICE` and connected virtual cards are dropped.
    pub fn restart_pcscd(&mut self) {
        self.stop_pcscd();
        self.start_pcscd();
    }

    /// PID of the running pcscd (as seen inside the sandbox), if any.
    pub fn pcscd_pid(&self) -> Option<u32> {
        self.pcscd.as_ref().map(Child::id)
    }

    /// The pcscd log so far (`--debug --apdu`), across restarts.
    pub fn pcscd_log(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log_path).unwrap_or_default()).into_owned()
    }

    /// Reader name pcscd gives vpcd `slot` ("Virtual PCD 00 00", "Virtual PCD 00 01").
    pub fn reader_name(&self, slot: u8) -> String {
        assert!(slot < VPCD_SLOTS, "vpcd has slots 0 and 1, not {slot}");
        format!("Virtual PCD 00 {slot:02}")
    }

    /// TCP port on 127.0.0.1 where a virtual card for `slot` connects (35963, 35964).
    pub fn vpcd_port(&self, slot: u8) -> u16 {
        assert!(slot < VPCD_SLOTS, "vpcd has slots 0 and 1, not {slot}");
        VPCD_BASE_PORT + u16::from(slot)
    }

    /// Starts `cmd` inside the sandbox with stdout and stderr captured line by line (and echoed
    /// to this test's stderr). The process is killed by PID when the guard drops.
    pub fn spawn(&self, mut cmd: Command) -> ChildGuard {
        let name = Path::new(cmd.get_program())
            .file_name()
            .map_or_else(|| "child".to_owned(), |n| n.to_string_lossy().into_owned());
        let mut child = cmd
            .env_remove(CHILD_ENV)
            .env_remove(DIR_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = Lines::follow(
            child.stdout.take().expect("piped stdout"),
            format!("{name} out"),
        );
        let stderr = Lines::follow(
            child.stderr.take().expect("piped stderr"),
            format!("{name} err"),
        );
        ChildGuard {
            name,
            child,
            stdout,
            stderr,
            cursor: 0,
        }
    }

    /// Reader names pcscd lists now, through a fresh PC/SC context.
    pub fn readers(&self) -> Result<Vec<String>, HarnessError> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User)?;
        Ok(ctx
            .list_readers_owned()?
            .into_iter()
            .map(|r| r.to_string_lossy().into_owned())
            .collect())
    }

    /// Waits until pcscd reports a card in `reader`; returns its ATR. Polls through the `pcsc`
    /// crate with fresh contexts, so it also works right after a pcscd restart.
    pub fn wait_for_card(&self, reader: &str, timeout: Duration) -> Result<Vec<u8>, HarnessError> {
        self.wait_for_state(reader, timeout, "a card in", |state, atr| {
            state.contains(pcsc::State::PRESENT).then(|| atr.to_vec())
        })
    }

    /// Waits until pcscd reports `reader` empty.
    pub fn wait_for_no_card(&self, reader: &str, timeout: Duration) -> Result<(), HarnessError> {
        self.wait_for_state(reader, timeout, "no card in", |state, _| {
            state.contains(pcsc::State::EMPTY).then_some(())
        })
    }

    fn wait_for_state<R>(
        &self,
        reader: &str,
        timeout: Duration,
        what: &str,
        mut done: impl FnMut(pcsc::State, &[u8]) -> Option<R>,
    ) -> Result<R, HarnessError> {
        let name = CString::new(reader).expect("reader names have no NUL");
        let deadline = Instant::now() + timeout;
        let mut ctx: Option<pcsc::Context> = None;
        loop {
            if ctx.is_none() {
                ctx = pcsc::Context::establish(pcsc::Scope::User).ok();
            }
            if let Some(c) = &ctx {
                let mut states = [pcsc::ReaderState::new(name.clone(), pcsc::State::UNAWARE)];
                match c.get_status_change(Duration::ZERO, &mut states) {
                    Ok(()) => {
                        let [state] = &states;
                        if let Some(found) = done(state.event_state(), state.atr()) {
                            return Ok(found);
                        }
                    }
                    Err(
                        pcsc::Error::NoService
                        | pcsc::Error::ServiceStopped
                        | pcsc::Error::InvalidHandle,
                    ) => ctx = None,
                    Err(_) => {}
                }
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::Timeout {
                    what: format!("{what} {reader}"),
                    after: timeout,
                });
            }
            thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_pcscd();
    }
}

impl Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("test_name", &self.test_name)
            .field("pcscd_pid", &self.pcscd_pid())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct LineBuf {
    lines: Vec<String>,
    closed: bool,
}

/// Lines read from one pipe by a background thread.
struct Lines {
    buf: Mutex<LineBuf>,
    changed: Condvar,
}

impl Lines {
    fn follow(pipe: impl Read + Send + 'static, label: String) -> Arc<Lines> {
        let lines = Arc::new(Lines {
            buf: Mutex::default(),
            changed: Condvar::new(),
        });
        let shared = Arc::clone(&lines);
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                eprintln!("[{label}] {line}");
                shared.buf.lock().unwrap().lines.push(line);
                shared.changed.notify_all();
            }
            shared.buf.lock().unwrap().closed = true;
            shared.changed.notify_all();
        });
        lines
    }

    fn snapshot(&self) -> Vec<String> {
        self.buf.lock().unwrap().lines.clone()
    }
}

/// A process started by [`Sandbox::spawn`]; killed by PID when dropped.
pub struct ChildGuard {
    name: String,
    child: Child,
    stdout: Arc<Lines>,
    stderr: Arc<Lines>,
    cursor: usize,
}

impl ChildGuard {
    /// The process ID (inside the sandbox).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stdout line containing `needle`, after the line the previous successful call
    /// matched; returns the line.
    pub fn wait_for_line(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> Result<String, HarnessError> {
        let deadline = Instant::now() + timeout;
        let mut buf = self.stdout.buf.lock().unwrap();
        loop {
            let found = buf
                .lines
                .iter()
                .enumerate()
                .skip(self.cursor)
                .find(|(_, l)| l.contains(needle));
            if let Some((index, line)) = found {
                self.cursor = index + 1;
                return Ok(line.clone());
            }
            if buf.closed {
                return Err(HarnessError::OutputClosed {
                    name: self.name.clone(),
                    needle: needle.to_owned(),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(HarnessError::Timeout {
                    what: format!("{:?} from {}", needle, self.name),
                    after: timeout,
                });
            }
            buf = self
                .stdout
                .changed
                .wait_timeout(buf, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Every stdout line so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.snapshot()
    }

    /// Every stderr line so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.snapshot()
    }

    /// The exit status, if the process has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the process to end.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the process (SIGKILL, by PID) and reaps it.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.try_wait().is_none() {
            self.kill();
        }
    }
}

impl Debug for ChildGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildGuard")
            .field("name", &self.name)
            .field("pid", &self.pid())
            .finish()
    }
}

/// Path of a binary the workspace built in the same profile as the running test binary
/// (`target/<profile>/<name>`). Build it first (`cargo build --workspace --bins`, which
/// `.ci/test` does).
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // Test binaries live in target/<profile>/deps/.
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<exe>");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} does not exist: build it first (cargo build --workspace --bins)",
        path.display()
    );
    path
}

/// Runs a one-shot client to its end with stdin closed and its output captured, killing it
/// after `timeout`. Echoes what it printed to stderr (libtest shows it for failed tests).
/// Returns an error when it cannot start, overruns or exits unsuccessfully.
pub fn run_to_end(mut cmd: Command, timeout: Duration) -> Result<std::process::Output, String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let mut out_pipe = child.stdout.take().ok_or("no stdout pipe")?;
    let mut err_pipe = child.stderr.take().ok_or("no stderr pipe")?;
    let out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{shown} did not end within {timeout:?}"));
        }
        thread::sleep(Duration::from_millis(10));
    };
    let output = std::process::Output {
        status,
        stdout: out.join().map_err(|_| "stdout reader panicked")?,
        stderr: err.join().map_err(|_| "stderr reader panicked")?,
    };
    eprintln!(
        "--- {shown}: {}\n{}{}---",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        return Err(format!("{shown} failed: {}", output.status));
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_name_drops_the_crate() {
        assert_eq!(libtest_name("sandbox", "a"), "a");
        assert_eq!(
            libtest_name("sandbox::inner::deeper", "a"),
            "inner::deeper::a"
        );
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("1\n2\n3\n", 2), "2\n3");
        assert_eq!(tail("1", 5), "1");
    }
}
