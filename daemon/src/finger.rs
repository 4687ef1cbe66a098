//! The fingerprint commands of the `shenas` CLI: `finger extract|quality|match|convert|eval`,
//! and `finger enroll-card|verify-card` ([`moc`]: match-on-card on the card in a reader).
//!
//! All computation is [`shenas_biometrics`]'s; this module reads files, prints results and
//! maps errors to exit codes (0 success, 1 a comparison that did not match, 2 bad input).
//! Images and templates are personal data: they are read from and written to the files the
//! user names, never printed or logged (only counts, scores and timings are).
//!
//! `finger eval <folder>` runs the FVC protocol of `shared/fingerprint.md` on a folder of
//! `<finger>_<impression>.png|bmp` images: genuine pairs are every pair of impressions of one
//! finger, impostor pairs every pair of images of different fingers (the extended set), each
//! scored once with the symmetric score of [`shenas_biometrics::matcher::score`].

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Subcommand, ValueEnum};
use shenas_biometrics::eval::{self, ImageId};
use shenas_biometrics::extract::{self, FingerprintFeatures};
use shenas_biometrics::image::GrayImage;
use shenas_biometrics::matcher::{self, Decision, FalseMatchRate, MatchTemplate};
use shenas_biometrics::quality;
use shenas_biometrics::template::{ansi378_2004, iso19794_2_2005};

pub mod moc;

/// Template formats the CLI reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TemplateFormat {
    /// ISO/IEC 19794-2:2005 finger minutiae record.
    Iso2005,
    /// ANSI/INCITS 378-2004 finger minutiae record.
    Ansi378,
}

/// The false-match rate a decision is taken at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Fmr {
    /// 10⁻³.
    #[value(name = "1e-3")]
    E3,
    /// 10⁻⁴.
    #[value(name = "1e-4")]
    E4,
}

/// `shenas finger …`
#[derive(Debug, Subcommand)]
pub enum FingerCommand {
    /// Extract minutiae from an image (PNG or BMP) and write a template.
    Extract {
        /// The image.
        image: PathBuf,
        /// Where to write the template.
        #[arg(long, short)]
        out: PathBuf,
        /// Template format.
        #[arg(long, value_enum, default_value = "iso2005")]
        format: TemplateFormat,
        /// Resolution of the image when the file does not state it (or states it wrongly).
        #[arg(long)]
        ppi: Option<u16>,
    },
    /// Quality score (0–100, NFIQ 2 scale) and feedback for an image.
    Quality {
        /// The image.
        image: PathBuf,
        /// Resolution override.
        #[arg(long)]
        ppi: Option<u16>,
    },
    /// Compare two fingerprints (images or ISO 19794-2:2005 / ANSI 378-2004 templates).
    Match {
        /// First image or template.
        a: PathBuf,
        /// Second image or template.
        b: PathBuf,
        /// The false-match rate of the decision.
        #[arg(long, value_enum, default_value = "1e-4")]
        fmr: Fmr,
        /// Resolution override for images.
        #[arg(long)]
        ppi: Option<u16>,
    },
    /// Convert a template between ISO/IEC 19794-2:2005 and ANSI/INCITS 378-2004.
    Convert {
        /// The input template (format detected).
        input: PathBuf,
        /// Where to write the converted template.
        #[arg(long, short)]
        out: PathBuf,
        /// Output format.
        #[arg(long, value_enum)]
        to: TemplateFormat,
    },
    /// Run the FVC evaluation protocol on a folder of `<finger>_<impression>.png` images.
    Eval {
        /// The folder.
        folder: PathBuf,
        /// Resolution of the images when the files do not state it.
        #[arg(long)]
        ppi: Option<u16>,
    },
    /// Enrol a finger on the card (match-on-card reference; asks for the PUK).
    EnrollCard {
        /// The image.
        image: PathBuf,
        /// ISO/IEC 19794-2 finger position, 1–10 (2: right index, 7: left index).
        #[arg(long)]
        finger: u8,
        /// Resolution override.
        #[arg(long)]
        ppi: Option<u16>,
    },
    /// Verify a finger on the card: the card matches (one try spent on a non-match).
    VerifyCard {
        /// The image.
        image: PathBuf,
        /// ISO/IEC 19794-2 finger position (default: the first finger the card announces).
        #[arg(long)]
        finger: Option<u8>,
        /// Resolution override.
        #[arg(long)]
        ppi: Option<u16>,
    },
}

impl FingerCommand {
    /// True for the commands that act on a card in a reader (`enroll-card`, `verify-card`).
    pub fn uses_card(&self) -> bool {
        matches!(self, Self::EnrollCard { .. } | Self::VerifyCard { .. })
    }
}

/// A failure of a finger command, printed on stderr.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FingerError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a usable image")]
    Image {
        path: String,
        #[source]
        source: shenas_biometrics::image::ImageError,
    },
    #[error("{path}: extraction failed")]
    Extract {
        path: String,
        #[source]
        source: extract::ExtractError,
    },
    #[error("{path}: not a PNG/BMP image nor an ISO 19794-2:2005 / ANSI 378-2004 template")]
    Unrecognised { path: String },
    #[error("template encoding failed")]
    Template(#[source] shenas_biometrics::template::TemplateError),
    #[error("{0}: no <finger>_<impression>.png|bmp images with two or more fingers")]
    EmptyFolder(String),
    #[error("this command acts on a card: run it through the `shenas` CLI")]
    NeedsCard,
}

fn read(path: &Path) -> Result<Vec<u8>, FingerError> {
    std::fs::read(path).map_err(|source| FingerError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn load_image(path: &Path, ppi: Option<u16>) -> Result<GrayImage, FingerError> {
    let bytes = read(path)?;
    GrayImage::decode(&bytes, ppi).map_err(|source| FingerError::Image {
        path: path.display().to_string(),
        source,
    })
}

fn features_of_image(path: &Path, img: &GrayImage) -> Result<FingerprintFeatures, FingerError> {
    extract::extract(img).map_err(|source| FingerError::Extract {
        path: path.display().to_string(),
        source,
    })
}

/// Features from an image or a template file.
fn load_features(path: &Path, ppi: Option<u16>) -> Result<FingerprintFeatures, FingerError> {
    let bytes = read(path)?;
    if bytes.starts_with(b"FMR\0") {
        if let Some(f) = iso19794_2_2005::decode(&bytes)
            .ok()
            .and_then(|r| r.to_features(0))
        {
            return Ok(f);
        }
        if let Some(f) = ansi378_2004::decode(&bytes)
            .ok()
            .and_then(|r| r.to_features(0))
        {
            return Ok(f);
        }
        return Err(FingerError::Unrecognised {
            path: path.display().to_string(),
        });
    }
    let img = GrayImage::decode(&bytes, ppi).map_err(|source| FingerError::Image {
        path: path.display().to_string(),
        source,
    })?;
    features_of_image(path, &img)
}

fn encode(features: &FingerprintFeatures, format: TemplateFormat) -> Result<Vec<u8>, FingerError> {
    match format {
        TemplateFormat::Iso2005 => iso19794_2_2005::Record::from_features(features, 0)
            .and_then(|r| r.encode())
            .map_err(FingerError::Template),
        TemplateFormat::Ansi378 => ansi378_2004::Record::from_features(features, 0, 0)
            .and_then(|r| r.encode())
            .map_err(FingerError::Template),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), FingerError> {
    std::fs::write(path, bytes).map_err(|source| FingerError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// Runs one finger command; `json` selects one JSON object on stdout instead of text.
pub fn run(cmd: FingerCommand, json: bool) -> ExitCode {
    match run_inner(cmd, json) {
        Ok(code) => code,
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            if json {
                println!("{}", serde_json::json!({ "error": msg }));
            } else {
                eprintln!("shenas finger: {msg}");
            }
            ExitCode::from(2)
        }
    }
}

fn run_inner(cmd: FingerCommand, json: bool) -> Result<ExitCode, FingerError> {
    match cmd {
        FingerCommand::Extract {
            image,
            out,
            format,
            ppi,
        } => {
            let img = load_image(&image, ppi)?;
            let t = Instant::now();
            let f = features_of_image(&image, &img)?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            let bytes = encode(&f, format)?;
            write(&out, &bytes)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "minutiae": f.minutiae.len(), "bytes": bytes.len(), "extract_ms": ms })
                );
            } else {
                println!(
                    "{} minutiae, {} bytes written to {} ({ms:.1} ms)",
                    f.minutiae.len(),
                    bytes.len(),
                    out.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        FingerCommand::Quality { image, ppi } => {
            let img = load_image(&image, ppi)?;
            let q = quality::assess(&img).map_err(|source| FingerError::Extract {
                path: image.display().to_string(),
                source,
            })?;
            let feedback: Vec<String> = q.feedback.iter().map(|f| format!("{f:?}")).collect();
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "score": q.score, "feedback": feedback, "minutiae": q.features.minutiae, "foreground_mm2": q.features.foreground_mm2 })
                );
            } else if feedback.is_empty() {
                println!("quality {} (good)", q.score);
            } else {
                println!("quality {} — {}", q.score, feedback.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        FingerCommand::Match { a, b, fmr, ppi } => {
            let fa = load_features(&a, ppi)?;
            let fb = load_features(&b, ppi)?;
            let s = matcher::score(&MatchTemplate::new(&fa), &MatchTemplate::new(&fb));
            let rate = match fmr {
                Fmr::E3 => FalseMatchRate::E3,
                Fmr::E4 => FalseMatchRate::E4,
            };
            let d = matcher::decision(s, rate);
            let matched = d == Decision::Match;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "score": s, "threshold": matcher::threshold(rate), "match": matched })
                );
            } else {
                println!(
                    "score {s:.2} (threshold {:.2}): {}",
                    matcher::threshold(rate),
                    if matched { "match" } else { "no match" }
                );
            }
            Ok(if matched {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        FingerCommand::Convert { input, out, to } => {
            let f = load_features(&input, None)?;
            let bytes = encode(&f, to)?;
            write(&out, &bytes)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "minutiae": f.minutiae.len(), "bytes": bytes.len() })
                );
            } else {
                println!("{} minutiae, {} bytes", f.minutiae.len(), bytes.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        FingerCommand::Eval { folder, ppi } => eval_folder(&folder, ppi, json),
        FingerCommand::EnrollCard { .. } | FingerCommand::VerifyCard { .. } => {
            Err(FingerError::NeedsCard)
        }
    }
}

/// `<finger>_<impression>` of a file name, both from 1.
fn parse_name(name: &str) -> Option<ImageId> {
    let stem = name
        .strip_suffix(".png")
        .or_else(|| name.strip_suffix(".bmp"))?;
    let (f, i) = stem.split_once('_')?;
    let f: u32 = f.parse().ok()?;
    let i: u32 = i.parse().ok()?;
    (f > 0 && i > 0).then_some((f, i))
}

struct Progress {
    tty: bool,
    total: usize,
    done: usize,
    label: &'static str,
}

impl Progress {
    fn new(label: &'static str, total: usize) -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            total,
            done: 0,
            label,
        }
    }

    fn step(&mut self, n: usize) {
        self.done += n;
        if !self.tty || self.total == 0 {
            return;
        }
        let width = 30;
        let filled = (self.done * width / self.total).min(width);
        eprint!(
            "\r{:<9} [{}{}] {}/{}",
            self.label,
            "#".repeat(filled),
            " ".repeat(width - filled),
            self.done,
            self.total
        );
        if self.done >= self.total {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
    }
}

fn eval_folder(folder: &Path, ppi: Option<u16>, json: bool) -> Result<ExitCode, FingerError> {
    let entries = std::fs::read_dir(folder).map_err(|source| FingerError::Read {
        path: folder.display().to_string(),
        source,
    })?;
    let mut files: BTreeMap<ImageId, PathBuf> = BTreeMap::new();
    for e in entries.flatten() {
        let name = e.file_name();
        if let Some(id) = name.to_str().and_then(parse_name) {
            files.insert(id, e.path());
        }
    }
    let fingers: std::collections::BTreeSet<u32> = files.keys().map(|k| k.0).collect();
    if fingers.len() < 2 {
        return Err(FingerError::EmptyFolder(folder.display().to_string()));
    }
    let mut progress = Progress::new("extract", files.len());
    let mut templates: BTreeMap<ImageId, MatchTemplate> = BTreeMap::new();
    let mut extract_ns = 0u128;
    for (id, path) in &files {
        let img = load_image(path, ppi)?;
        let t = Instant::now();
        let f = features_of_image(path, &img)?;
        let tpl = MatchTemplate::new(&f);
        extract_ns += t.elapsed().as_nanos();
        templates.insert(*id, tpl);
        progress.step(1);
    }
    let max_f = fingers.iter().copied().max().unwrap_or(0);
    let max_i = files.keys().map(|k| k.1).max().unwrap_or(0);
    let present =
        |p: &(ImageId, ImageId)| templates.contains_key(&p.0) && templates.contains_key(&p.1);
    let genuine: Vec<_> = eval::genuine_pairs(max_f, max_i)
        .into_iter()
        .filter(present)
        .collect();
    let impostor: Vec<_> = eval::extended_impostor_pairs(max_f, max_i)
        .into_iter()
        .filter(present)
        .collect();
    let mut progress = Progress::new("match", genuine.len() + impostor.len());
    let mut match_ns = 0u128;
    let mut score_all = |pairs: &[(ImageId, ImageId)], progress: &mut Progress| -> Vec<f64> {
        let mut out = Vec::with_capacity(pairs.len());
        for chunk in pairs.chunks(1000) {
            let t = Instant::now();
            for (a, b) in chunk {
                let s = match (templates.get(a), templates.get(b)) {
                    (Some(x), Some(y)) => f64::from(matcher::score(x, y)),
                    _ => 0.0,
                };
                out.push(s);
            }
            match_ns += t.elapsed().as_nanos();
            progress.step(chunk.len());
        }
        out
    };
    let g = score_all(&genuine, &mut progress);
    let i = score_all(&impostor, &mut progress);
    let Some(r) = eval::error_rates(&g, &i) else {
        return Err(FingerError::EmptyFolder(folder.display().to_string()));
    };
    #[allow(clippy::cast_precision_loss)]
    let extract_ms_mean = extract_ns as f64 / 1e6 / templates.len().max(1) as f64;
    #[allow(clippy::cast_precision_loss)]
    let match_us_mean = match_ns as f64 / 1e3 / (g.len() + i.len()).max(1) as f64;
    println!("images           {}", templates.len());
    println!("genuine pairs    {}", r.genuine_pairs);
    println!("impostor pairs   {}", r.impostor_pairs);
    println!("EER              {:.5}", r.eer);
    println!("FNMR @ FMR 1e-2  {:.5}", r.fnmr_at_fmr_1e2);
    println!("FNMR @ FMR 1e-3  {:.5}", r.fnmr_at_fmr_1e3);
    println!("FNMR @ FMR 1e-4  {:.5}", r.fnmr_at_fmr_1e4);
    println!("FNMR @ FMR 0     {:.5}", r.fnmr_at_zero_fmr);
    println!("extraction       {extract_ms_mean:.2} ms per image");
    println!("comparison       {match_us_mean:.2} µs per pair");
    if json {
        println!(
            "{}",
            serde_json::json!({
                "eer": r.eer,
                "fnmr_at_fmr_1e-2": r.fnmr_at_fmr_1e2,
                "fnmr_at_fmr_1e-3": r.fnmr_at_fmr_1e3,
                "fnmr_at_fmr_1e-4": r.fnmr_at_fmr_1e4,
                "fnmr_at_zero_fmr": r.fnmr_at_zero_fmr,
                "genuine_pairs": r.genuine_pairs,
                "impostor_pairs": r.impostor_pairs,
                "extract_ms_mean": extract_ms_mean,
                "match_us_mean": match_us_mean,
            })
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fvc_names() {
        assert_eq!(parse_name("12_3.png"), Some((12, 3)));
        assert_eq!(parse_name("1_1.bmp"), Some((1, 1)));
        assert_eq!(parse_name("0_1.png"), None);
        assert_eq!(parse_name("1_1.gt.json"), None);
        assert_eq!(parse_name("a_1.png"), None);
    }
}
