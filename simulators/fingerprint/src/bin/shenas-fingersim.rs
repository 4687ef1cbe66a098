//! `shenas-fingersim --out DIR --fingers N --impressions M --tier standard|hard --seed S`:
//! writes a synthetic FVC-style database (`<finger>_<impression>.png` and `.gt.json`).
//! Synthetic data for tests and benchmarks only.

use std::path::PathBuf;
use std::process::ExitCode;

use shenas_fingersim::{DatabaseSpec, Tier, write_database};

const USAGE: &str = "usage: shenas-fingersim --out DIR [--fingers N] [--impressions M] [--tier standard|hard] [--seed S]";

fn parse(args: &[String]) -> Result<(PathBuf, DatabaseSpec), String> {
    let mut out = None;
    let mut spec = DatabaseSpec {
        fingers: 10,
        impressions: 8,
        tier: Tier::Standard,
        seed: 1,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => out = Some(PathBuf::from(value()?)),
            "--fingers" => spec.fingers = value()?.parse().map_err(|_| "bad --fingers")?,
            "--impressions" => {
                spec.impressions = value()?.parse().map_err(|_| "bad --impressions")?;
            }
            "--seed" => spec.seed = value()?.parse().map_err(|_| "bad --seed")?,
            "--tier" => {
                spec.tier = Tier::from_name(value()?).ok_or("--tier is standard or hard")?;
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let out = out.ok_or_else(|| format!("--out is required\n{USAGE}"))?;
    Ok((out, spec))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, spec) = match parse(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    match write_database(&out, &spec) {
        Ok(n) => {
            eprintln!(
                "wrote {n} images ({} tier, seed {}) to {} in {:.1} s",
                spec.tier.name(),
                spec.seed,
                out.display(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            eprintln!("shenas-fingersim: {msg}");
            ExitCode::FAILURE
        }
    }
}
