//! The `shenas` command-line tool: human-readable output by default, `--json` on every command.
//!
//! A command acts on the first reader holding a card unless `--reader` names one.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use shenas_apdu::pcsc::{ConnectOptions, PcscContext, ReaderEvent, ReaderMonitor};
use shenas_apdu::{
    Atr, Channel, ChannelConfig, ChannelError, Command, ExtendedLength, TransportError,
};
use shenas_dbus::{ApduExchange, AtrInfo, ErrorReply, ReaderInfo};

/// Smart-card readers and cards from the command line.
#[derive(Debug, Parser)]
#[command(name = "shenas", version, about)]
pub struct Cli {
    /// Print JSON instead of text (one object per line for `watch`).
    #[arg(long, global = true)]
    json: bool,
    /// The reader to use (default: the first reader holding a card).
    #[arg(long, short, global = true)]
    reader: Option<String>,
    /// Extended-length APDUs: as the card declares them, always, or never (per-reader override).
    #[arg(long, global = true, value_enum, default_value_t = ExtendedArg::Auto)]
    extended_length: ExtendedArg,
    /// Seconds one APDU may take.
    #[arg(long, global = true, default_value_t = 30)]
    timeout: u64,
    /// Configuration file (issuer service, trust anchors); default `$SHENAS_CONFIG`, then
    /// `/etc/shenas/shenas.toml` when it exists, else the simulated issuer and anchors.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// List readers and the cards in them.
    Readers,
    /// Report reader and card changes until interrupted.
    Watch,
    /// Print the card's answer-to-reset as hexadecimal.
    Atr,
    /// Send raw command APDUs (hexadecimal, one per argument) in one transaction.
    Apdu {
        /// Command APDUs, e.g. `00A4040008F05348454E415301`.
        #[arg(required = true)]
        apdus: Vec<String>,
    },
    /// Identify the card: profile, serial number, chip and profile version.
    Identify,
    /// Read the identity (card authentication through the issuer) with the passive
    /// authentication verdict.
    Read,
    /// List the card's certificates (no PIN needed) and validate them.
    Certs,
    /// PIN operations (PINs from a prompt or stdin, never from the command line).
    Pin {
        #[command(subcommand)]
        action: PinCommand,
    },
    /// Fingerprints: extract minutiae, quality, match, convert templates, evaluate a database.
    Finger {
        #[command(subcommand)]
        command: crate::finger::FingerCommand,
    },
    /// Sign a file on the card: writes a detached CAdES-BES signature to FILE.p7s.
    Sign {
        /// The document to sign.
        #[arg(long)]
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum PinCommand {
    /// Tries left, without spending one.
    Status(PinArgs),
    /// Verify the PIN.
    Verify(PinArgs),
    /// Change the PIN (current PIN, then the new one).
    Change(PinArgs),
    /// Unblock the PIN with the PUK and set a new one (PUK, then the new PIN).
    Unblock(PinArgs),
}

#[derive(Debug, clap::Args)]
struct PinArgs {
    /// Which PIN: `id` (ID PIN), `sign` (SIGN PIN), `puk`.
    #[arg(long, default_value = "id", value_parser = ["id", "sign", "puk"])]
    pin: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ExtendedArg {
    Auto,
    Always,
    Never,
}

/// What went wrong, with a stable code for `--json` and scripts.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error("not a hexadecimal APDU: {0}")]
    BadHex(String),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Card(#[from] crate::card_cli::CardCliError),
    #[error(transparent)]
    FingerCard(#[from] crate::finger::moc::FingerCardError),
}

impl CliError {
    fn code(&self) -> &'static str {
        let transport = match self {
            Self::Transport(e) | Self::Channel(ChannelError::Transport(e)) => e,
            Self::Channel(ChannelError::Command(_)) | Self::BadHex(_) => return "bad_apdu",
            Self::Channel(_) => return "card_error",
            Self::Output(_) => return "output",
            Self::Card(e) => return e.code(),
            Self::FingerCard(e) => return e.code(),
        };
        transport.code()
    }
}

/// Parses arguments, runs the command and returns the exit status: 0 success, 1 failure,
/// 2 usage error.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging();
    let cli = match cli {
        Cli {
            command: Commands::Finger { command },
            json,
            ..
        } if !command.uses_card() => return crate::finger::run(command, json),
        cli => cli,
    };
    let mut out = std::io::stdout().lock();
    let result = match &cli.command {
        Commands::Finger { command } => finger_card_command(&cli, command, &mut out),
        _ => run(&cli, &mut out).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if cli.json {
                let reply = ErrorReply {
                    code: e.code().into(),
                    message: e.to_string(),
                };
                let _ = writeln!(out, "{}", json(&reply));
            } else {
                eprintln!("shenas: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = std::env::var("SHENAS_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .try_init();
}

fn json<T: serde::Serialize>(value: &T) -> String {
    // Serialising our own plain structs cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

fn run(cli: &Cli, out: &mut impl Write) -> Result<(), CliError> {
    match &cli.command {
        Commands::Readers => readers(cli, out),
        Commands::Watch => watch(cli, out),
        Commands::Atr => atr(cli, out),
        Commands::Apdu { apdus } => apdu(cli, apdus, out),
        Commands::Identify
        | Commands::Read
        | Commands::Certs
        | Commands::Pin { .. }
        | Commands::Sign { .. } => card_command(cli, out),
        // Handled in `main` (image commands before any reader is touched, card commands by
        // `finger_card_command`).
        Commands::Finger { .. } => Ok(()),
    }
}

/// Runs a card command in one transaction on the chosen reader.
fn card_command(cli: &Cli, out: &mut impl Write) -> Result<(), CliError> {
    use crate::card_cli;
    let config = card_cli::load_config(cli.config.as_deref())?;
    let (reader, mut card) = connect(cli)?;
    let mut transaction = card.transaction()?;
    let channel_config = ChannelConfig {
        extended_length: extended_policy(cli.extended_length),
        ..ChannelConfig::default()
    };
    let mut session = shenas_cards::session::CardSession::open(&mut transaction, channel_config)
        .map_err(card_cli::CardCliError::from)?;
    // A command that may leave a PIN verified resets the card when it ends, whatever happened:
    // the next program to use the card (this tool again, or another) finds no PIN verified.
    let leaves_pin_verified = matches!(
        &cli.command,
        Commands::Sign { .. }
            | Commands::Pin {
                action: PinCommand::Verify(_) | PinCommand::Change(_) | PinCommand::Unblock(_)
            }
    );
    let result = run_card_command(cli, &config, &reader, &mut session, out);
    drop(session);
    if leaves_pin_verified && let Err(e) = shenas_apdu::Transport::reset(&mut transaction) {
        tracing::debug!(error = %e, "resetting the card after the command failed");
    }
    result
}

fn run_card_command<T: shenas_apdu::Transport>(
    cli: &Cli,
    config: &crate::card_cli::Config,
    reader: &str,
    session: &mut shenas_cards::session::CardSession<T>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    use crate::card_cli::{self, PinAction};
    match &cli.command {
        Commands::Identify => card_cli::identify(session, reader, cli.json, out)?,
        Commands::Read => {
            let ctx = card_cli::context(config)?;
            card_cli::read(session, &ctx, cli.json, out)?;
        }
        Commands::Certs => {
            let ctx = card_cli::context(config)?;
            card_cli::certs(session, &ctx, cli.json, out)?;
        }
        Commands::Pin { action } => {
            let (action, args) = match action {
                PinCommand::Status(a) => (PinAction::Status, a),
                PinCommand::Verify(a) => (PinAction::Verify, a),
                PinCommand::Change(a) => (PinAction::Change, a),
                PinCommand::Unblock(a) => (PinAction::Unblock, a),
            };
            let kind =
                card_cli::pin_kind(&args.pin).unwrap_or(shenas_cards::profile::PinKind::IdPin);
            card_cli::pin(session, action, kind, cli.json, out)?;
        }
        Commands::Sign { file } => {
            let ctx = card_cli::context(config)?;
            card_cli::sign(session, file, &ctx, cli.json, out)?;
        }
        _ => {}
    }
    Ok(())
}

/// Runs `finger enroll-card|verify-card` in one transaction on the chosen reader.
fn finger_card_command(
    cli: &Cli,
    command: &crate::finger::FingerCommand,
    out: &mut impl Write,
) -> Result<ExitCode, CliError> {
    let (_, mut card) = connect(cli)?;
    let mut transaction = card.transaction()?;
    let channel_config = ChannelConfig {
        extended_length: extended_policy(cli.extended_length),
        ..ChannelConfig::default()
    };
    let mut session = shenas_cards::session::CardSession::open(&mut transaction, channel_config)
        .map_err(crate::card_cli::CardCliError::from)?;
    Ok(crate::finger::moc::run(
        &mut session,
        command,
        cli.json,
        out,
    )?)
}

fn extended_policy(arg: ExtendedArg) -> ExtendedLength {
    match arg {
        ExtendedArg::Auto => ExtendedLength::Auto,
        ExtendedArg::Always => ExtendedLength::Always,
        ExtendedArg::Never => ExtendedLength::Never,
    }
}

fn readers(cli: &Cli, out: &mut impl Write) -> Result<(), CliError> {
    let mut context = PcscContext::establish()?;
    let readers: Vec<ReaderInfo> = context
        .readers()?
        .into_iter()
        .map(|r| ReaderInfo {
            name: r.name,
            card_present: r.card_present,
            exclusive: r.exclusive,
            atr: r.atr.map(hex::encode_upper),
        })
        .collect();
    if cli.json {
        writeln!(out, "{}", json(&readers))?;
        return Ok(());
    }
    if readers.is_empty() {
        writeln!(out, "no readers")?;
    }
    for reader in &readers {
        match &reader.atr {
            Some(atr) => writeln!(out, "{}\tcard\t{atr}", reader.name)?,
            None => writeln!(out, "{}\tempty", reader.name)?,
        }
    }
    Ok(())
}

fn watch(cli: &Cli, out: &mut impl Write) -> Result<(), CliError> {
    let (_monitor, events) = ReaderMonitor::spawn()?;
    for event in events {
        let Some(wire) = wire_event(event) else {
            continue;
        };
        if cli.json {
            writeln!(out, "{}", json(&wire))?;
        } else {
            writeln!(out, "{}", describe(&wire))?;
        }
        out.flush()?;
    }
    Ok(())
}

fn wire_event(event: ReaderEvent) -> Option<shenas_dbus::ReaderEvent> {
    use shenas_dbus::ReaderEvent as W;
    Some(match event {
        ReaderEvent::ReaderAdded { reader } => W::ReaderAdded { reader },
        ReaderEvent::ReaderRemoved { reader } => W::ReaderRemoved { reader },
        ReaderEvent::CardInserted { reader, atr } => W::CardInserted {
            reader,
            atr: hex::encode_upper(atr),
        },
        ReaderEvent::CardRemoved { reader } => W::CardRemoved { reader },
        ReaderEvent::ServiceLost => W::ServiceLost,
        ReaderEvent::ServiceRestored => W::ServiceRestored,
        _ => return None,
    })
}

fn describe(event: &shenas_dbus::ReaderEvent) -> String {
    use shenas_dbus::ReaderEvent as W;
    match event {
        W::ReaderAdded { reader } => format!("reader added\t{reader}"),
        W::ReaderRemoved { reader } => format!("reader removed\t{reader}"),
        W::CardInserted { reader, atr } => format!("card inserted\t{reader}\t{atr}"),
        W::CardRemoved { reader } => format!("card removed\t{reader}"),
        W::ServiceLost => "service lost (pcscd unreachable; retrying)".into(),
        W::ServiceRestored => "service restored".into(),
        _ => format!("{event:?}"),
    }
}

fn connect(cli: &Cli) -> Result<(String, shenas_apdu::pcsc::PcscCard), CliError> {
    let mut context = PcscContext::establish()?;
    let reader = context.pick_reader(cli.reader.as_deref())?;
    let options = ConnectOptions {
        timeout: Duration::from_secs(cli.timeout),
        ..ConnectOptions::default()
    };
    let card = context.connect(&reader.name, options)?;
    Ok((reader.name, card))
}

fn atr(cli: &Cli, out: &mut impl Write) -> Result<(), CliError> {
    use shenas_apdu::Transport;
    let (reader, mut card) = connect(cli)?;
    let bytes = card.atr()?;
    if !cli.json {
        writeln!(out, "{}", hex::encode_upper(&bytes))?;
        return Ok(());
    }
    let parsed = Atr::parse(&bytes).ok();
    let info = AtrInfo {
        reader,
        atr: hex::encode_upper(&bytes),
        protocols: parsed
            .as_ref()
            .map(|a| a.protocols().iter().map(|p| format!("T={p}")).collect())
            .unwrap_or_default(),
        historical_bytes: parsed
            .as_ref()
            .map(|a| hex::encode_upper(a.historical_bytes()))
            .unwrap_or_default(),
        extended_length: parsed.as_ref().and_then(Atr::extended_length),
    };
    writeln!(out, "{}", json(&info))?;
    Ok(())
}

fn apdu(cli: &Cli, apdus: &[String], out: &mut impl Write) -> Result<(), CliError> {
    let commands = apdus
        .iter()
        .map(|text| {
            let clean: String = text
                .chars()
                .filter(|c| !c.is_whitespace() && *c != ':')
                .collect();
            let bytes = hex::decode(&clean).map_err(|_| CliError::BadHex(text.clone()))?;
            Command::parse(&bytes).map_err(|e| CliError::Channel(e.into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (_, mut card) = connect(cli)?;
    let mut transaction = card.transaction()?;
    let config = ChannelConfig {
        extended_length: extended_policy(cli.extended_length),
        // Raw mode: do not touch the card's selection state before the user's commands.
        read_ef_atr: false,
        ..ChannelConfig::default()
    };
    let mut channel = Channel::open(&mut transaction, config)?;
    for (text, command) in apdus.iter().zip(&commands) {
        let response = channel.transmit(command)?;
        let exchange = ApduExchange {
            command: text.to_uppercase(),
            data: hex::encode_upper(response.data()),
            sw: format!("{:04X}", response.sw().value()),
            meaning: response.sw().meaning().into(),
        };
        if cli.json {
            writeln!(out, "{}", json(&exchange))?;
        } else if exchange.data.is_empty() {
            writeln!(out, "{} ({})", exchange.sw, exchange.meaning)?;
        } else {
            writeln!(
                out,
                "{} {} ({})",
                exchange.data, exchange.sw, exchange.meaning
            )?;
        }
    }
    Ok(())
}
