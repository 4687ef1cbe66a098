//! Fingerprint accuracy and speed: ours beside NIST NBIS (the pure-Rust ports of MINDTCT and
//! BOZORTH3) on the same synthetic FVC-style databases, following the protocol of
//! `shared/fingerprint.md` (see [`shenas_biometrics::eval`]).
//!
//! The binary `shenas-bench-fingerprint` prints one table and one final JSON line; the test in
//! `tests/` runs the same code on a small seeded set.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use shenas_biometrics::eval::{self, ErrorRates, ImageId};
use shenas_biometrics::extract::{self, Minutia};
use shenas_biometrics::matcher::{self, MatchTemplate};
use shenas_fingersim::{DatabaseSpec, Impression, Tier};

/// Which impostor pairs to score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImpostorSet {
    /// Every pair of images of different fingers (the set fingerprint.md quotes FNMR at 10⁻⁴ on).
    Extended,
    /// Impression 1 of every pair of fingers (FVC).
    Fvc,
    /// Impressions 1–5 of every pair of fingers (the set of fingerprint.md's NBIS baseline).
    First5,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Number of fingers per database.
    pub fingers: u32,
    /// Impressions per finger.
    pub impressions: u32,
    /// Generator seed.
    pub seed: u64,
    /// Impostor pairs.
    pub impostors: ImpostorSet,
    /// Worker threads (timings are reported per core).
    pub threads: usize,
    /// Whether to run NBIS as well.
    pub nbis: bool,
}

/// Figures of one system on one database.
#[derive(Clone, Debug)]
pub struct SystemReport {
    /// `ours` or `nbis`.
    pub name: &'static str,
    /// Error rates.
    pub rates: ErrorRates,
    /// Mean extraction time per image, milliseconds (one core).
    pub extract_ms_mean: f64,
    /// Comparisons per second per core.
    pub comparisons_per_s: f64,
    /// Mean comparison time, microseconds.
    pub match_us_mean: f64,
    /// Minutiae precision against ground truth at 12 px.
    pub precision: f64,
    /// Minutiae recall against ground truth at 12 px.
    pub recall: f64,
    /// Mean minutiae per image.
    pub minutiae_mean: f64,
    /// Comparisons that panicked (scored 0).
    pub panics: usize,
}

/// Both systems on one tier.
#[derive(Clone, Debug)]
pub struct TierReport {
    /// The tier.
    pub tier: Tier,
    /// Ours.
    pub ours: SystemReport,
    /// NBIS, when run.
    pub nbis: Option<SystemReport>,
    /// Our thresholds at FMR 10⁻³ and 10⁻⁴ on this database's impostor scores.
    pub thresholds: (Option<f64>, Option<f64>),
}

struct Entry {
    template: MatchTemplate,
    nbis: Vec<fprint_bozorth3::Minutia>,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    detected: usize,
    truth: usize,
    matched: usize,
    nanos: u128,
    images: usize,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.detected += o.detected;
        self.truth += o.truth;
        self.matched += o.matched;
        self.nanos += o.nanos;
        self.images += o.images;
    }
}

/// One-to-one matches between detected and true positions within `tol` pixels (greedy by
/// distance).
#[must_use]
pub fn matched_minutiae(detected: &[(f32, f32)], truth: &[(f32, f32)], tol: f32) -> usize {
    let mut cands: Vec<(f32, usize, usize)> = Vec::new();
    for (i, d) in detected.iter().enumerate() {
        for (j, t) in truth.iter().enumerate() {
            let dist = (d.0 - t.0).hypot(d.1 - t.1);
            if dist <= tol {
                cands.push((dist, i, j));
            }
        }
    }
    cands.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ud = vec![false; detected.len()];
    let mut ut = vec![false; truth.len()];
    let mut n = 0;
    for (_, i, j) in cands {
        if !ud.get(i).copied().unwrap_or(true) && !ut.get(j).copied().unwrap_or(true) {
            if let Some(v) = ud.get_mut(i) {
                *v = true;
            }
            if let Some(v) = ut.get_mut(j) {
                *v = true;
            }
            n += 1;
        }
    }
    n
}

fn positions(ms: &[Minutia]) -> Vec<(f32, f32)> {
    ms.iter()
        .map(|m| (f32::from(m.x), f32::from(m.y)))
        .collect()
}

fn process(imp: &Impression, nbis: bool) -> (Entry, Counts, Counts) {
    let truth = positions(&imp.ground_truth);
    let t = Instant::now();
    let features = extract::extract(&imp.image).unwrap_or(extract::FingerprintFeatures {
        width: 0,
        height: 0,
        resolution_ppi: 500,
        minutiae: Vec::new(),
    });
    let template = MatchTemplate::new(&features);
    let ours_ns = t.elapsed().as_nanos();
    let det = positions(&features.minutiae);
    let ours = Counts {
        detected: det.len(),
        truth: truth.len(),
        matched: matched_minutiae(&det, &truth, 12.0),
        nanos: ours_ns,
        images: 1,
    };
    let mut nb = Counts::default();
    let mut list = Vec::new();
    if nbis {
        let t = Instant::now();
        let (w, h) = (imp.image.width(), imp.image.height());
        let found = fprint_mindtct::GrayImage::new(imp.image.pixels(), w, h, imp.image.ppi())
            .map(fprint_mindtct::detect_minutiae)
            .unwrap_or_default();
        list = found
            .iter()
            .map(|m| fprint_bozorth3::Minutia::from_xyt(m.x, m.y, m.theta))
            .collect();
        // BOZORTH3 expects its input sorted by x, then y.
        list.sort_by_key(|m| (m.x, m.y));
        let ns = t.elapsed().as_nanos();
        // MINDTCT reports y from the bottom edge.
        let hh = f32::from(u16::try_from(h).unwrap_or(u16::MAX));
        #[allow(clippy::cast_precision_loss)]
        let det: Vec<(f32, f32)> = found
            .iter()
            .map(|m| (m.x as f32, hh - 1.0 - m.y as f32))
            .collect();
        nb = Counts {
            detected: det.len(),
            truth: truth.len(),
            matched: matched_minutiae(&det, &truth, 12.0),
            nanos: ns,
            images: 1,
        };
    }
    (
        Entry {
            template,
            nbis: list,
        },
        ours,
        nb,
    )
}

/// Runs ours (and NBIS) on one generated database of `tier`; `progress` is told about each
/// stage.
pub fn run_tier(cfg: &Config, tier: Tier, progress: &mut dyn FnMut(&str)) -> TierReport {
    let spec = DatabaseSpec {
        fingers: cfg.fingers,
        impressions: cfg.impressions,
        tier,
        seed: cfg.seed,
    };
    let threads = cfg.threads.max(1);
    let mut entries: HashMap<ImageId, Entry> = HashMap::new();
    let (mut ours_c, mut nbis_c) = (Counts::default(), Counts::default());
    let mut batch: Vec<Impression> = Vec::new();
    let mut flush = |batch: &mut Vec<Impression>, entries: &mut HashMap<ImageId, Entry>| {
        let chunk = batch.len().div_ceil(threads).max(1);
        let results: Vec<Vec<(ImageId, Entry, Counts, Counts)>> = std::thread::scope(|s| {
            let hs: Vec<_> = batch
                .chunks(chunk)
                .map(|c| {
                    s.spawn(move || {
                        c.iter()
                            .map(|imp| {
                                let (e, o, n) = process(imp, cfg.nbis);
                                ((imp.finger, imp.impression), e, o, n)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for (id, e, o, n) in results.into_iter().flatten() {
            ours_c.add(o);
            nbis_c.add(n);
            entries.insert(id, e);
        }
        batch.clear();
    };
    for imp in shenas_fingersim::generate_database(&spec) {
        batch.push(imp);
        if batch.len() >= 8 * threads {
            flush(&mut batch, &mut entries);
            progress(&format!("{}: {} images", tier.name(), entries.len()));
        }
    }
    flush(&mut batch, &mut entries);
    let genuine = eval::genuine_pairs(cfg.fingers, cfg.impressions);
    let impostor = match cfg.impostors {
        ImpostorSet::Extended => eval::extended_impostor_pairs(cfg.fingers, cfg.impressions),
        ImpostorSet::Fvc => eval::fvc_impostor_pairs(cfg.fingers),
        ImpostorSet::First5 => eval::impostor_pairs_first(cfg.fingers, cfg.impressions.min(5)),
    };
    progress(&format!(
        "{}: scoring {} genuine and {} impostor pairs (ours)",
        tier.name(),
        genuine.len(),
        impostor.len()
    ));
    let ours_scores = score_pairs(&entries, &genuine, &impostor, threads, &|a, b| {
        (f64::from(matcher::score(&a.template, &b.template)), false)
    });
    let ours = report("ours", &ours_scores, ours_c);
    let thresholds = (
        eval::threshold_at_fmr(&ours_scores.impostor, 1e-3),
        eval::threshold_at_fmr(&ours_scores.impostor, 1e-4),
    );
    let nbis = cfg.nbis.then(|| {
        progress(&format!("{}: scoring pairs (NBIS)", tier.name()));
        let s = score_pairs(
            &entries,
            &genuine,
            &impostor,
            threads,
            &|a, b| match catch_unwind(AssertUnwindSafe(|| {
                fprint_bozorth3::match_score(&a.nbis, &b.nbis)
            })) {
                Ok(v) => (f64::from(v), false),
                Err(_) => (0.0, true),
            },
        );
        report("nbis", &s, nbis_c)
    });
    TierReport {
        tier,
        ours,
        nbis,
        thresholds,
    }
}

struct Scores {
    genuine: Vec<f64>,
    impostor: Vec<f64>,
    nanos: u128,
    panics: usize,
}

type Scorer = dyn Fn(&Entry, &Entry) -> (f64, bool) + Sync;

fn score_pairs(
    entries: &HashMap<ImageId, Entry>,
    genuine: &[(ImageId, ImageId)],
    impostor: &[(ImageId, ImageId)],
    threads: usize,
    scorer: &Scorer,
) -> Scores {
    let run = |pairs: &[(ImageId, ImageId)]| -> (Vec<f64>, u128, usize) {
        let chunk = pairs.len().div_ceil(threads).max(1);
        let parts: Vec<(Vec<f64>, u128, usize)> = std::thread::scope(|s| {
            let hs: Vec<_> = pairs
                .chunks(chunk)
                .map(|c| {
                    s.spawn(move || {
                        let t = Instant::now();
                        let mut panics = 0;
                        let v: Vec<f64> = c
                            .iter()
                            .map(|(a, b)| match (entries.get(a), entries.get(b)) {
                                (Some(x), Some(y)) => {
                                    let (s, p) = scorer(x, y);
                                    panics += usize::from(p);
                                    s
                                }
                                _ => 0.0,
                            })
                            .collect();
                        (v, t.elapsed().as_nanos(), panics)
                    })
                })
                .collect();
            hs.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let mut all = Vec::with_capacity(pairs.len());
        let (mut ns, mut p) = (0, 0);
        for (v, n, pp) in parts {
            all.extend(v);
            ns += n;
            p += pp;
        }
        (all, ns, p)
    };
    let (g, gn, gp) = run(genuine);
    let (i, inn, ip) = run(impostor);
    Scores {
        genuine: g,
        impostor: i,
        nanos: gn + inn,
        panics: gp + ip,
    }
}

#[allow(clippy::cast_precision_loss)]
fn report(name: &'static str, s: &Scores, c: Counts) -> SystemReport {
    let empty = ErrorRates {
        genuine_pairs: 0,
        impostor_pairs: 0,
        eer: 1.0,
        eer_threshold: 0.0,
        fnmr_at_fmr_1e2: 1.0,
        fnmr_at_fmr_1e3: 1.0,
        fnmr_at_fmr_1e4: 1.0,
        fnmr_at_zero_fmr: 1.0,
    };
    let rates = eval::error_rates(&s.genuine, &s.impostor).unwrap_or(empty);
    let pairs = (s.genuine.len() + s.impostor.len()).max(1) as f64;
    let secs = (s.nanos as f64 / 1e9).max(1e-9);
    SystemReport {
        name,
        rates,
        extract_ms_mean: c.nanos as f64 / 1e6 / c.images.max(1) as f64,
        comparisons_per_s: pairs / secs,
        match_us_mean: secs * 1e6 / pairs,
        precision: c.matched as f64 / c.detected.max(1) as f64,
        recall: c.matched as f64 / c.truth.max(1) as f64,
        minutiae_mean: c.detected as f64 / c.images.max(1) as f64,
        panics: s.panics,
    }
}

/// The impostor scores of ours on a database, for calibrating the decision thresholds.
pub fn impostor_scores(cfg: &Config, tier: Tier) -> Vec<f64> {
    let spec = DatabaseSpec {
        fingers: cfg.fingers,
        impressions: cfg.impressions,
        tier,
        seed: cfg.seed,
    };
    let mut entries: HashMap<ImageId, MatchTemplate> = HashMap::new();
    for imp in shenas_fingersim::generate_database(&spec) {
        if let Ok(f) = extract::extract(&imp.image) {
            entries.insert((imp.finger, imp.impression), MatchTemplate::new(&f));
        }
    }
    eval::extended_impostor_pairs(cfg.fingers, cfg.impressions)
        .iter()
        .filter_map(|(a, b)| Some(f64::from(matcher::score(entries.get(a)?, entries.get(b)?))))
        .collect()
}

/// The table of all reports, one row per system and tier.
#[must_use]
pub fn table(reports: &[TierReport]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<9} {:<5} {:>8} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9} {:>9} {:>11} {:>6} {:>6} {:>6}",
        "tier",
        "sys",
        "EER",
        "FNMR@1e-2",
        "FNMR@1e-3",
        "FNMR@1e-4",
        "FNMR@0",
        "genuine",
        "impostor",
        "extr ms",
        "cmp/s/core",
        "prec",
        "recall",
        "min/img"
    );
    for r in reports {
        for sys in std::iter::once(&r.ours).chain(r.nbis.as_ref()) {
            let q = &sys.rates;
            let _ = writeln!(
                s,
                "{:<9} {:<5} {:>8.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>8} {:>9} {:>9.2} {:>11.0} {:>6.3} {:>6.3} {:>6.1}",
                r.tier.name(),
                sys.name,
                q.eer,
                q.fnmr_at_fmr_1e2,
                q.fnmr_at_fmr_1e3,
                q.fnmr_at_fmr_1e4,
                q.fnmr_at_zero_fmr,
                q.genuine_pairs,
                q.impostor_pairs,
                sys.extract_ms_mean,
                sys.comparisons_per_s,
                sys.precision,
                sys.recall,
                sys.minutiae_mean
            );
        }
    }
    s
}

fn json_system(s: &SystemReport) -> String {
    let q = &s.rates;
    format!(
        "{{\"eer\":{},\"fnmr_at_fmr_1e-2\":{},\"fnmr_at_fmr_1e-3\":{},\"fnmr_at_fmr_1e-4\":{},\"fnmr_at_zero_fmr\":{},\"genuine_pairs\":{},\"impostor_pairs\":{},\"extract_ms_mean\":{:.3},\"match_us_mean\":{:.3},\"comparisons_per_s\":{:.0},\"precision\":{:.4},\"recall\":{:.4},\"minutiae_mean\":{:.2},\"panics\":{}}}",
        q.eer,
        q.fnmr_at_fmr_1e2,
        q.fnmr_at_fmr_1e3,
        q.fnmr_at_fmr_1e4,
        q.fnmr_at_zero_fmr,
        q.genuine_pairs,
        q.impostor_pairs,
        s.extract_ms_mean,
        s.match_us_mean,
        s.comparisons_per_s,
        s.precision,
        s.recall,
        s.minutiae_mean,
        s.panics
    )
}

/// All figures as one JSON line: `{"<tier>": {"ours": {...}, "nbis": {...}}, ...}`.
#[must_use]
pub fn json(cfg: &Config, reports: &[TierReport]) -> String {
    let mut s = format!(
        "{{\"fingers\":{},\"impressions\":{},\"seed\":{}",
        cfg.fingers, cfg.impressions, cfg.seed
    );
    for r in reports {
        let num = |v: Option<f64>| v.map_or_else(|| "null".to_owned(), |x| x.to_string());
        let _ = write!(
            s,
            ",\"{}\":{{\"threshold_fmr_1e-3\":{},\"threshold_fmr_1e-4\":{},\"ours\":{}",
            r.tier.name(),
            num(r.thresholds.0),
            num(r.thresholds.1),
            json_system(&r.ours)
        );
        if let Some(n) = &r.nbis {
            let _ = write!(s, ",\"nbis\":{}", json_system(n));
        }
        s.push('}');
    }
    s.push('}');
    s
}
