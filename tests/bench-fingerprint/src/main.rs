//! `shenas-bench-fingerprint --tier standard|hard|both --fingers 100 --impressions 8 --seed S
//! [--impostors extended|fvc|first5] [--threads N] [--no-nbis] [--calibrate]`

use std::io::IsTerminal as _;
use std::process::ExitCode;

use shenas_bench_fingerprint::{Config, ImpostorSet, impostor_scores, json, run_tier, table};
use shenas_biometrics::eval::threshold_at_fmr;
use shenas_fingersim::Tier;

fn usage() -> ExitCode {
    eprintln!(
        "usage: shenas-bench-fingerprint [--tier standard|hard|both] [--fingers N] [--impressions N] [--seed S] [--impostors extended|fvc|first5] [--threads N] [--no-nbis] [--calibrate]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut cfg = Config {
        fingers: 100,
        impressions: 8,
        seed: 1,
        impostors: ImpostorSet::Extended,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        nbis: true,
    };
    let mut tiers = vec![Tier::Standard, Tier::Hard];
    let mut calibrate = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next();
        match a.as_str() {
            "--tier" => match value().as_deref() {
                Some("both") => tiers = vec![Tier::Standard, Tier::Hard],
                Some(t) => match Tier::from_name(t) {
                    Some(t) => tiers = vec![t],
                    None => return usage(),
                },
                None => return usage(),
            },
            "--fingers" => match value().and_then(|v| v.parse().ok()) {
                Some(v) => cfg.fingers = v,
                None => return usage(),
            },
            "--impressions" => match value().and_then(|v| v.parse().ok()) {
                Some(v) => cfg.impressions = v,
                None => return usage(),
            },
            "--seed" => match value().and_then(|v| v.parse().ok()) {
                Some(v) => cfg.seed = v,
                None => return usage(),
            },
            "--threads" => match value().and_then(|v| v.parse().ok()) {
                Some(v) => cfg.threads = v,
                None => return usage(),
            },
            "--impostors" => match value().as_deref() {
                Some("extended") => cfg.impostors = ImpostorSet::Extended,
                Some("fvc") => cfg.impostors = ImpostorSet::Fvc,
                Some("first5") => cfg.impostors = ImpostorSet::First5,
                _ => return usage(),
            },
            "--no-nbis" => cfg.nbis = false,
            "--calibrate" => calibrate = true,
            _ => return usage(),
        }
    }
    let tty = std::io::stderr().is_terminal();
    let mut progress = |m: &str| {
        if tty {
            eprint!("\r\x1b[K{m}");
        } else {
            eprintln!("{m}");
        }
    };
    if calibrate {
        let mut all = Vec::new();
        for &t in &tiers {
            all.extend(impostor_scores(&cfg, t));
        }
        println!(
            "impostor pairs {}: threshold at FMR 1e-3 {:?}, at FMR 1e-4 {:?}, max {:?}",
            all.len(),
            threshold_at_fmr(&all, 1e-3),
            threshold_at_fmr(&all, 1e-4),
            all.iter().copied().fold(f64::MIN, f64::max)
        );
        return ExitCode::SUCCESS;
    }
    // BOZORTH3 panics on a few pairs; they are caught and counted, so keep them quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let mut reports = Vec::new();
    for &t in &tiers {
        let r = run_tier(&cfg, t, &mut progress);
        // Each tier's figures as soon as they are known (a long run may be cut short).
        eprint!("{}", table(std::slice::from_ref(&r)));
        eprintln!("{}", json(&cfg, std::slice::from_ref(&r)));
        reports.push(r);
    }
    let _ = std::panic::take_hook();
    if tty {
        eprintln!();
    }
    print!("{}", table(&reports));
    println!("{}", json(&cfg, &reports));
    ExitCode::SUCCESS
}
