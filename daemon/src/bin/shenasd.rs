//! `shenasd`: the Shenas daemon. Parses arguments and the configuration, sets up logging and
//! signals, and runs [`shenas_daemon::daemon::run`]. Prints one `ready …` line on stdout when the
//! localhost API accepts and the bus name is owned (or no bus is reachable).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use shenas_daemon::card_cli;
use shenas_daemon::daemon::config::{BusChoice, Config};
use shenas_daemon::daemon::{self, cards::SessionConversations};
use tokio_util::sync::CancellationToken;

/// The Shenas daemon: smart ID cards over a localhost API and D-Bus.
#[derive(Debug, Parser)]
#[command(name = "shenasd", version, about)]
struct Args {
    /// TOML configuration file (every key has a default).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Listen address of the localhost API (overrides the file; loopback only).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// The API token file (overrides the file).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// The audit log (overrides the file).
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// A Unix socket for peer-credential clients (overrides the file).
    #[arg(long)]
    unix_socket: Option<PathBuf>,
    /// Kiosk mode: the authenticated client needs no per-operation consent.
    #[arg(long)]
    kiosk: bool,
    /// Which D-Bus bus to serve on.
    #[arg(long, value_enum)]
    bus: Option<BusArg>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BusArg {
    Auto,
    System,
    Session,
    None,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = std::env::var("SHENAS_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .try_init();
    let mut config = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(config) => config,
            Err(e) => {
                eprintln!("shenasd: {e}: {}", error_chain(&e));
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(path) = args.token_file {
        config.token_file = path;
    }
    if let Some(path) = args.audit_log {
        config.audit_log = path;
    }
    if let Some(path) = args.unix_socket {
        config.unix_socket = Some(path);
    }
    if args.kiosk {
        config.kiosk = true;
    }
    if let Some(bus) = args.bus {
        config.bus = match bus {
            BusArg::Auto => BusChoice::Auto,
            BusArg::System => BusChoice::System,
            BusArg::Session => BusChoice::Session,
            BusArg::None => BusChoice::None,
        };
    }
    let conversations = match card_context(&config) {
        Ok(ctx) => {
            tracing::info!(
                issuer = ctx.issuer_kind,
                trust = ctx.trust(),
                "card applications: issuer and trust anchors"
            );
            SessionConversations::new(ctx.issuer, ctx.anchors)
        }
        Err(e) => {
            eprintln!("shenasd: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("shenasd")
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("shenasd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    let result = runtime.block_on(async {
        let stop = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            stop.cancel();
        });
        daemon::run(config, Arc::new(conversations), shutdown, |ready| {
            println!("{ready}");
        })
        .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shenasd: {e}: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The issuer and trust anchors the configuration names, or the simulated ones.
fn card_context(config: &Config) -> Result<card_cli::Context, card_cli::CardCliError> {
    card_cli::context(&card_cli::Config {
        issuer: card_cli::IssuerConfig {
            url: config.issuer_url.clone(),
        },
        trust: card_cli::TrustConfig {
            anchors: config.trust_anchors.clone(),
        },
    })
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut source = error.source();
    while let Some(e) = source {
        parts.push(e.to_string());
        source = e.source();
    }
    parts.join(": ")
}

/// SIGTERM or ctrl-c (SIGINT).
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
