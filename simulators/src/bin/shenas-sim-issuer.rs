//! `shenas-sim-issuer`: the simulated issuer as a loopback HTTP service
//! ([`shenas_simulators::issuer`], protocol [`shenas_cards::issuer::wire`]).
//!
//! **No security**: the master key is public; tests and demos only.
//!
//! `shenas-sim-issuer [--listen 127.0.0.1:PORT] [--session-ttl-ms MS]` (default
//! `127.0.0.1:8446`; port 0 picks a free one) listens on loopback only, prints
//! `ready addr=127.0.0.1:PORT` on stdout (flushed) once serving, and serves until killed.
//! Logs go to stderr (`SHENAS_LOG` or `RUST_LOG`, default `info`); no request data is logged.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use shenas_simulators::issuer::{DEFAULT_PORT, SimulatedIssuer};
use tracing_subscriber::EnvFilter;

/// Serves the simulated issuer (no security; tests and demos only) on loopback HTTP.
#[derive(Debug, Parser)]
#[command(name = "shenas-sim-issuer", version)]
struct Args {
    /// Loopback address and port to listen on (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value_t = SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))]
    listen: SocketAddr,
    /// How long an issuer session waits for `finish`, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    session_ttl_ms: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_env("SHENAS_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let issuer = SimulatedIssuer::new().with_ttl(Duration::from_millis(args.session_ttl_ms));
    let server = match issuer.serve_http(args.listen) {
        Ok(server) => server,
        Err(e) => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(": ");
                message.push_str(&s.to_string());
                source = s.source();
            }
            eprintln!("shenas-sim-issuer: {message}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ready addr={}", server.local_addr());
        let _ = out.flush();
    }
    tracing::info!(addr = %server.local_addr(), "simulated issuer serving");
    server.wait();
    ExitCode::SUCCESS
}
