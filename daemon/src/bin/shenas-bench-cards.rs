//! `shenas-bench-cards`: card operations over PC/SC (pcscd + vpcd with `shenas-sim`, or a real
//! reader), with the APDU count beside the floor the profile allows and the wall time split into
//! card transmit, issuer round trips, host cryptography and the rest.
//!
//! Run it through `.ci/bench-cards`, which starts its own pcscd and simulator in private
//! namespaces. Flags: `--reader NAME` (default: the first reader holding a card),
//! `--iterations N` (default 200), `--issuer-url URL` (default: the simulated issuer in
//! process). The SIGN PIN of the card is read from `SHENAS_BENCH_SIGN_PIN` (default: the
//! built-in citizen persona's). Ends with one JSON line of all figures.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use shenas_apdu::pcsc::{ConnectOptions, PcscContext};
use shenas_apdu::{ChannelConfig, Command, Transport};
use shenas_cards::issuer::IssuerAuthority;
use shenas_cards::pki::TrustAnchors;
use shenas_cards::profile::{KeyRole, PinKind};
use shenas_cards::session::{CardSession, Counting, Pin};

/// The citizen persona's SIGN PIN (simulators/personas/citizen.toml).
const DEFAULT_SIGN_PIN: &str = "123456";

struct Args {
    reader: Option<String>,
    iterations: usize,
    issuer_url: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        reader: None,
        iterations: 200,
        issuer_url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--reader" => args.reader = it.next(),
            "--iterations" => {
                args.iterations = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--iterations needs a number")?;
            }
            "--issuer-url" => args.issuer_url = it.next(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

#[derive(Default)]
struct Split {
    total: Vec<Duration>,
    transmit: Duration,
    issuer: Duration,
    crypto: Duration,
    apdus: usize,
}

impl Split {
    fn p50(&self) -> Duration {
        percentile(&self.total, 0.5)
    }
    fn sum(&self) -> Duration {
        self.total.iter().sum()
    }
    fn rest(&self) -> Duration {
        self.sum()
            .saturating_sub(self.transmit)
            .saturating_sub(self.issuer)
            .saturating_sub(self.crypto)
    }
    fn json(&self, floor: usize) -> serde_json::Value {
        let n = u32::try_from(self.total.len().max(1)).unwrap_or(u32::MAX);
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        serde_json::json!({
            "iterations": self.total.len(),
            "apdus": self.apdus / self.total.len().max(1),
            "apdu_floor": floor,
            "p50_us": us(self.p50()),
            "p99_us": us(percentile(&self.total, 0.99)),
            "mean_transmit_us": us(self.transmit / n),
            "mean_issuer_us": us(self.issuer / n),
            "mean_host_crypto_us": us(self.crypto / n),
            "mean_rest_us": us(self.rest() / n),
            "rest_over_transmit": self.rest().as_secs_f64() / self.transmit.as_secs_f64().max(1e-12),
        })
    }
}

fn percentile(values: &[Duration], q: f64) -> Duration {
    let mut v = values.to_vec();
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    let last = v.len() - 1;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let i = ((last as f64) * q).round() as usize;
    v.get(i.min(last)).copied().unwrap_or_default()
}

fn issuer(url: Option<&str>) -> Result<Box<dyn IssuerAuthority>, String> {
    match url {
        Some(url) => shenas_cards::issuer::http::HttpIssuer::new(url)
            .map(|i| Box::new(i) as Box<dyn IssuerAuthority>)
            .map_err(|e| e.to_string()),
        None => Ok(Box::new(shenas_simulators::issuer::SimulatedIssuer::new())),
    }
}

fn run(args: &Args) -> Result<serde_json::Value, String> {
    let mut context = PcscContext::establish().map_err(|e| e.to_string())?;
    let reader = context
        .pick_reader(args.reader.as_deref())
        .map_err(|e| e.to_string())?;
    let mut card = context
        .connect(&reader.name, ConnectOptions::default())
        .map_err(|e| e.to_string())?;
    let issuer = issuer(args.issuer_url.as_deref())?;
    let anchors = TrustAnchors::simulated();
    let pin_text =
        std::env::var("SHENAS_BENCH_SIGN_PIN").unwrap_or_else(|_| DEFAULT_SIGN_PIN.into());

    // The PC/SC floor: one GET DATA of the card serial, raw.
    let mut floor = Vec::with_capacity(args.iterations);
    {
        let mut tx = card.transaction().map_err(|e| e.to_string())?;
        let apdu = Command::new(0x00, 0xCA, 0x00, 0x45)
            .with_le(256)
            .to_bytes()
            .map_err(|e| e.to_string())?;
        for _ in 0..args.iterations {
            let started = Instant::now();
            tx.transmit(&apdu).map_err(|e| e.to_string())?;
            floor.push(started.elapsed());
        }
    }

    let mut read = Split::default();
    let mut sign = Split::default();
    let mut read_floor = 0;
    let mut sign_floor = 0;
    for _ in 0..args.iterations {
        // identify + read identity with passive authentication
        let mut tx = card.transaction().map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut session = CardSession::open(Counting::new(&mut tx), ChannelConfig::default())
            .map_err(|e| e.to_string())?;
        session.identify().map_err(|e| e.to_string())?;
        let reading = session
            .read_identity(issuer.as_ref(), &anchors, SystemTime::now())
            .map_err(|e| e.to_string())?;
        read.total.push(started.elapsed());
        if !reading.passive_authentication.valid {
            return Err(format!(
                "passive authentication failed: {:?}",
                reading.passive_authentication.reason
            ));
        }
        read.issuer += reading.issuer_time;
        read.crypto += reading.host_crypto_time;
        let profile = session.profile();
        // SELECT, 3 GET DATA, GET CHALLENGE, MUTUAL AUTHENTICATE, one READ BINARY per file.
        read_floor = 6 + profile.data_groups.len() + 1;
        let counting = session.into_channel().into_transport();
        read.apdus += counting.apdus();
        read.transmit += counting.transmit_time();
        drop(tx);

        // verify PIN + sign a hash
        let hash = [0x5Au8; 32];
        let mut tx = card.transaction().map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut session = CardSession::open(Counting::new(&mut tx), ChannelConfig::default())
            .map_err(|e| e.to_string())?;
        session
            .verify_pin(PinKind::SignPin, &Pin::new(&pin_text))
            .map_err(|e| e.to_string())?;
        let crypto_started = Instant::now();
        let signature = session
            .sign_hash(KeyRole::Signing, &hash)
            .map_err(|e| e.to_string())?;
        let sign_and_verify = crypto_started.elapsed();
        sign.total.push(started.elapsed());
        // The host's share of sign_hash: verifying the card's signature (timed apart).
        let verify_started = Instant::now();
        let key = shenas_cards::pki::CertificateInfo::parse(&signature.certificate)
            .map_err(|e| e.to_string())?
            .public_key()
            .map_err(|e| e.to_string())?;
        key.verify_prehash(signature.scheme.hash(), &hash, &signature.signature)
            .map_err(|e| e.to_string())?;
        sign.crypto += verify_started.elapsed().min(sign_and_verify);
        // SELECT PKI, VERIFY, SELECT + READ BINARY of the certificate, MSE SET, PSO.
        sign_floor = 6;
        let counting = session.into_channel().into_transport();
        sign.apdus += counting.apdus();
        sign.transmit += counting.transmit_time();
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    Ok(serde_json::json!({
        "bench": "cards",
        "reader": reader.name,
        "issuer": if args.issuer_url.is_some() { "http" } else { "simulated_in_process" },
        "pcsc_floor_p50_us": us(percentile(&floor, 0.5)),
        "pcsc_floor_p99_us": us(percentile(&floor, 0.99)),
        "identify_read_pa": read.json(read_floor),
        "verify_pin_sign": sign.json(sign_floor),
    }))
}

fn print_table(v: &serde_json::Value) {
    println!(
        "PC/SC floor (raw GET DATA): p50 {:.0} µs, p99 {:.0} µs  [{}]",
        v["pcsc_floor_p50_us"].as_f64().unwrap_or(0.0),
        v["pcsc_floor_p99_us"].as_f64().unwrap_or(0.0),
        v["issuer"].as_str().unwrap_or("")
    );
    println!(
        "{:<28} {:>6} {:>6} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "operation",
        "APDUs",
        "floor",
        "p50 µs",
        "p99 µs",
        "transmit",
        "issuer",
        "crypto",
        "rest",
        "rest/tx"
    );
    for (name, key) in [
        ("identify + read + PA", "identify_read_pa"),
        ("verify PIN + sign hash", "verify_pin_sign"),
    ] {
        let o = &v[key];
        let f = |k: &str| o[k].as_f64().unwrap_or(0.0);
        println!(
            "{:<28} {:>6} {:>6} {:>9.0} {:>9.0} {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>8.3}",
            name,
            o["apdus"],
            o["apdu_floor"],
            f("p50_us"),
            f("p99_us"),
            f("mean_transmit_us"),
            f("mean_issuer_us"),
            f("mean_host_crypto_us"),
            f("mean_rest_us"),
            f("rest_over_transmit"),
        );
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("shenas-bench-cards: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(v) => {
            print_table(&v);
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("shenas-bench-cards: {e}");
            ExitCode::FAILURE
        }
    }
}
