//! The audit log: one JSON object per line for every operation that touches a card — who asked,
//! what, on which reader and card serial, and the outcome. Never a PIN, a key or personal data:
//! the record type has no field that could hold them.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tracing::warn;

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Milliseconds since the Unix epoch.
    pub ts_ms: u128,
    /// Who: `token`, `uid:1000` (Unix socket), `dbus:uid:1000`, `kiosk:token`.
    pub client: String,
    /// The interface: `http`, `ws`, `dbus`.
    pub via: &'static str,
    /// The operation (`identify`, `read_identity`, `sign`, …).
    pub operation: &'static str,
    /// The reader.
    pub reader: String,
    /// The card serial, when known.
    pub card_serial: Option<String>,
    /// `ok`, or the error code.
    pub outcome: String,
    /// How consent was given: `kiosk`, `confirmed`, or absent when none was needed.
    pub consent: Option<&'static str>,
}

/// Writes records on a thread of its own, so a slow disk never stalls a request.
#[derive(Clone)]
pub struct AuditLog {
    records: mpsc::Sender<AuditRecord>,
}

impl AuditLog {
    /// Opens (creating 0600) `path` for appending.
    pub fn open(path: &Path) -> io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        let (records, queue) = mpsc::channel::<AuditRecord>();
        thread::Builder::new()
            .name("shenasd-audit".into())
            .spawn(move || {
                while let Ok(record) = queue.recv() {
                    let Ok(mut line) = serde_json::to_vec(&record) else {
                        continue;
                    };
                    line.push(b'\n');
                    if let Err(e) = file.write_all(&line).and_then(|()| file.flush()) {
                        warn!(error = %e, "cannot write the audit log");
                    }
                }
            })?;
        Ok(Self { records })
    }

    /// Records an operation.
    pub fn record(&self, mut record: AuditRecord) {
        if record.ts_ms == 0 {
            record.ts_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
        }
        if self.records.send(record).is_err() {
            warn!("the audit log writer has stopped");
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn records_are_json_lines() -> io::Result<()> {
        let path = std::env::temp_dir().join(format!("shenasd-audit-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let log = AuditLog::open(&path)?;
        for outcome in ["ok", "wrong_pin"] {
            log.record(AuditRecord {
                ts_ms: 0,
                client: "token".into(),
                via: "http",
                operation: "verify_pin",
                reader: "R".into(),
                card_serial: Some("S1".into()),
                outcome: outcome.into(),
                consent: None,
            });
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let text = loop {
            let text = std::fs::read_to_string(&path)?;
            if text.lines().count() == 2 || Instant::now() > deadline {
                break text;
            }
            thread::sleep(Duration::from_millis(10));
        };
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["operation"], "verify_pin");
        assert_eq!(lines[1]["outcome"], "wrong_pin");
        assert!(lines[0]["ts_ms"].as_u64().is_some_and(|t| t > 0));
        std::fs::remove_file(&path)?;
        Ok(())
    }
}
