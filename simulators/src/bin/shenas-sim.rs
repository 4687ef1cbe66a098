//! `shenas-sim`: serves simulated cards to pcscd through vpcd.
//!
//! **No security**: for tests and demos only (see the `shenas-simulators` crate documentation).
//!
//! With no arguments it serves the built-in `citizen` persona's national ID card
//! ([`shenas_simulators::national::NationalCard`]) in vpcd slot 0 on 127.0.0.1:35963 until
//! killed (SIGTERM, SIGINT) or told `quit`. The end of stdin is no reason to stop.
//!
//! Cards: `--persona FILE` (repeatable) and `--persona-builtin NAME` (repeatable) serve one card
//! per persona, in slots 0, 1, … (every `--persona` first, then every `--persona-builtin`, each
//! in command-line order); `--demo-card` serves the plain demo card
//! ([`shenas_simulators::default_card()`]) instead, in the slots of `--slot`. `--state-dir DIR`
//! keeps each card's PIN counters across runs in `DIR/<persona>.state`.
//!
//! Stdout carries one line per event, flushed, for test harnesses to wait on:
//! `card slot=N profile=P persona=NAME serial=S` (for each national or foreign card, before the
//! slot starts), `ready slot=N port=P`, `inserted slot=N`, `connected slot=N`, `disconnected slot=N`,
//! `removed slot=N`, `reset slot=N`, `stopped slot=N`, and `error <message>` for a bad control
//! line. Control lines on stdin: `insert [slot]`, `remove [slot]`, `reset [slot]`, `quit`
//! (the slot defaults to the first one served). Logs go to stderr (`SHENAS_LOG` or `RUST_LOG`,
//! default `info`); APDU bytes appear at TRACE only.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use clap::Parser;
use shenas_apdu::StatusWord;
use shenas_simulators::national::NationalCard;
use shenas_simulators::persona::Persona;
use shenas_simulators::{
    Faults, ForcedStatus, SimCard, SimulatedCard, SlotControl, VpcdConfig, VpcdSlot, default_card,
};
use tracing_subscriber::EnvFilter;

/// Serves a simulated smart card (no security; tests and demos only) to pcscd through vpcd.
#[derive(Debug, Parser)]
#[command(name = "shenas-sim", version)]
struct Args {
    /// Serve the card of this persona file (TOML or JSON); repeat for one card per slot.
    #[arg(long = "persona", value_name = "FILE", conflicts_with = "demo_card")]
    personas: Vec<std::path::PathBuf>,
    /// Serve the card of this built-in persona (citizen, citizen-blocked-pin, expired-card,
    /// foreign-national; `_` works as `-`); repeat for one card per slot, after the --persona
    /// cards.
    #[arg(
        long = "persona-builtin",
        value_name = "NAME",
        conflicts_with = "demo_card"
    )]
    builtins: Vec<String>,
    /// Keep each national card's PIN counters and PIN values across runs in
    /// `DIR/<persona>.state` (created when missing).
    #[arg(long, value_name = "DIR", conflicts_with = "demo_card")]
    state_dir: Option<std::path::PathBuf>,
    /// Serve the plain demo card (an ISO 7816-4 file system, no card applications) instead of
    /// a national card, in the slots given by --slot.
    #[arg(long)]
    demo_card: bool,
    /// vpcd slot of the demo card (0 or 1); repeat for both. Default: 0.
    #[arg(long = "slot", value_name = "N", value_parser = clap::value_parser!(u8).range(0..=1), requires = "demo_card")]
    slots: Vec<u8>,
    /// vpcd host.
    #[arg(long, default_value = shenas_simulators::vpcd::VPCD_DEFAULT_HOST)]
    host: String,
    /// vpcd port of slot 0 (slot N uses PORT + N).
    #[arg(long, default_value_t = shenas_simulators::vpcd::VPCD_BASE_PORT)]
    port: u16,
    /// The card refuses extended-length APDUs (6700) and says so in its ATR and EF.ATR.
    #[arg(long)]
    no_extended_length: bool,
    /// Remove the card after N APDUs (until `insert`).
    #[arg(long, value_name = "N")]
    remove_after: Option<u64>,
    /// Delay every answer by D milliseconds.
    #[arg(long, value_name = "D", default_value_t = 0)]
    delay_ms: u64,
    /// Answer this status word (4 hex digits) instead of processing commands.
    #[arg(long, value_name = "XXXX", value_parser = parse_sw)]
    force_sw: Option<StatusWord>,
    /// Only force the status word for this INS (2 hex digits).
    #[arg(long, value_name = "II", value_parser = parse_ins, requires = "force_sw")]
    force_sw_ins: Option<u8>,
    /// Split answers longer than K bytes into 61XX chunks of K bytes (GET RESPONSE).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=65_536))]
    chunk: Option<u64>,
    /// Start with the card removed (send `insert` on stdin).
    #[arg(long)]
    no_insert: bool,
}

fn parse_sw(s: &str) -> Result<StatusWord, String> {
    if s.len() != 4 {
        return Err("a status word is 4 hex digits, e.g. 6982".to_owned());
    }
    u16::from_str_radix(s, 16)
        .map(StatusWord::new)
        .map_err(|e| e.to_string())
}

fn parse_ins(s: &str) -> Result<u8, String> {
    if s.len() != 2 {
        return Err("an INS is 2 hex digits, e.g. B0".to_owned());
    }
    u8::from_str_radix(s, 16).map_err(|e| e.to_string())
}

fn init_tracing() {
    let filter = EnvFilter::try_from_env("SHENAS_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Reads control lines from stdin until `quit` or its end.
fn control_loop(controls: &[SlotControl]) {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        let mut words = line.split_whitespace();
        let Some(verb) = words.next() else { continue };
        if verb == "quit" {
            controls.iter().for_each(SlotControl::stop);
            return;
        }
        let target = match words.next() {
            None => controls.first(),
            Some(w) => w
                .parse::<u8>()
                .ok()
                .and_then(|n| controls.iter().find(|c| c.slot() == n)),
        };
        let Some(target) = target else {
            say(&format!("error no such slot: {line}"));
            continue;
        };
        match verb {
            "insert" => target.insert(),
            "remove" => target.remove(),
            "reset" => target.reset(),
            _ => say(&format!("error unknown command: {line}")),
        }
    }
    tracing::debug!("stdin closed; serving until killed");
}

/// The built-in persona served when no card is named.
const DEFAULT_PERSONA: &str = "citizen";

/// Builds the national or foreign card of a persona (file or built-in).
fn national_card(
    source: &PersonaSource,
    extended_length: bool,
    state_dir: Option<&std::path::Path>,
) -> Result<(NationalCard, String), String> {
    let persona = match source {
        PersonaSource::File(path) => Persona::from_file(path).map_err(|e| {
            format!(
                "cannot load persona {}: {}",
                path.display(),
                error_chain(&e)
            )
        })?,
        PersonaSource::Builtin(name) => Persona::builtin(&name.replace('_', "-"))
            .ok_or_else(|| format!("no built-in persona {name:?}"))?
            .map_err(|e| format!("built-in persona {name:?}: {}", error_chain(&e)))?,
    };
    let state_file = state_dir.map(|d| d.join(format!("{}.state", persona.name)));
    let card = NationalCard::from_persona(&persona, extended_length, state_file).map_err(|e| {
        format!(
            "cannot personalise the card of {}: {}",
            persona.name,
            error_chain(&e)
        )
    })?;
    Ok((card, persona.name.clone()))
}

/// An error and its sources on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Where a slot's persona comes from.
enum PersonaSource {
    File(std::path::PathBuf),
    Builtin(String),
}

/// A card and the vpcd slot that serves it.
type SlotCard = (u8, Box<dyn SimCard>);

/// The cards to serve, with their slots.
fn cards(args: &Args) -> Result<Vec<SlotCard>, String> {
    let extended = !args.no_extended_length;
    if args.demo_card {
        let mut slots = args.slots.clone();
        slots.sort_unstable();
        slots.dedup();
        if slots.is_empty() {
            slots.push(0);
        }
        return Ok(slots
            .into_iter()
            .map(|slot| {
                let card: Box<dyn SimCard> =
                    Box::new(default_card().with_extended_length(extended));
                (slot, card)
            })
            .collect());
    }
    let mut sources: Vec<PersonaSource> = args
        .personas
        .iter()
        .cloned()
        .map(PersonaSource::File)
        .chain(args.builtins.iter().cloned().map(PersonaSource::Builtin))
        .collect();
    if sources.is_empty() {
        sources.push(PersonaSource::Builtin(DEFAULT_PERSONA.to_owned()));
    }
    if sources.len() > 2 {
        return Err(format!(
            "vpcd has two slots; {} personas were given",
            sources.len()
        ));
    }
    if let Some(dir) = &args.state_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the state directory {}: {e}", dir.display()))?;
    }
    let mut out = Vec::with_capacity(sources.len());
    for (slot, source) in (0u8..).zip(&sources) {
        let (card, name) = national_card(source, extended, args.state_dir.as_deref())?;
        say(&format!(
            "card slot={slot} profile={} persona={name} serial={}",
            card.profile().id,
            card.serial()
        ));
        out.push((slot, Box::new(card) as Box<dyn SimCard>));
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_tracing();
    let faults = Faults {
        remove_after: args.remove_after,
        delay: Duration::from_millis(args.delay_ms),
        force_sw: args.force_sw.map(|sw| ForcedStatus {
            sw,
            ins: args.force_sw_ins,
        }),
        chunk: args.chunk.and_then(|k| usize::try_from(k).ok()),
    };
    let cards = match cards(&args) {
        Ok(cards) => cards,
        Err(e) => {
            say(&format!("error {e}"));
            tracing::error!(error = %e, "no card to serve");
            return ExitCode::FAILURE;
        }
    };
    let slots: Vec<u8> = cards.iter().map(|(slot, _)| *slot).collect();
    tracing::info!(?slots, host = %args.host, port = args.port, ?faults, "shenas-sim: simulated card, no security");

    let (tx, rx) = mpsc::channel();
    let mut served = Vec::new();
    for (slot, card) in cards {
        let mut card = SimulatedCard::new(card, faults.clone());
        if args.no_insert {
            card.remove();
        }
        let config = VpcdConfig {
            host: args.host.clone(),
            base_port: args.port,
            ..VpcdConfig::new(slot)
        };
        match VpcdSlot::spawn(config, card, Some(tx.clone())) {
            Ok(s) => served.push(s),
            Err(e) => {
                tracing::error!(error = %e, slot, "cannot serve slot");
                return ExitCode::FAILURE;
            }
        }
    }
    drop(tx);
    let controls: Vec<SlotControl> = served.iter().map(VpcdSlot::control).collect();
    // Not joined: it may sit in a blocking stdin read; the process ends without it.
    let _stdin = std::thread::Builder::new()
        .name("stdin".to_owned())
        .spawn(move || control_loop(&controls));

    // Ends when every slot thread has stopped (after `quit`).
    for event in rx {
        say(&event.to_string());
    }
    for slot in served {
        let _ = slot.stop();
    }
    ExitCode::SUCCESS
}
