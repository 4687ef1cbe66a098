//! Extraction and comparison speed on one core: `cargo run --release --example speed`.

use std::time::Instant;

use shenas_biometrics::extract::extract;
use shenas_biometrics::matcher::{MatchTemplate, score};
use shenas_fingersim::{DatabaseSpec, Tier, generate_database};

fn main() {
    let spec = DatabaseSpec {
        fingers: 4,
        impressions: 4,
        tier: Tier::Standard,
        seed: 3,
    };
    let images: Vec<_> = generate_database(&spec).collect();
    let t = Instant::now();
    let mut feats = Vec::new();
    for _ in 0..3 {
        feats = images
            .iter()
            .filter_map(|i| extract(&i.image).ok())
            .collect();
    }
    let ex = t.elapsed().as_secs_f64() * 1e3 / (3.0 * images.len() as f64);
    let tpl: Vec<MatchTemplate> = feats.iter().map(MatchTemplate::new).collect();
    let t = Instant::now();
    let mut n = 0u32;
    let mut acc = 0f32;
    while t.elapsed().as_secs_f64() < 3.0 {
        for a in &tpl {
            for b in &tpl {
                acc += score(a, b);
                n += 1;
            }
        }
    }
    let per = t.elapsed().as_secs_f64() / f64::from(n);
    println!(
        "extraction {ex:.2} ms/image; {:.1} µs/comparison ({:.0}/s); checksum {acc:.1}",
        per * 1e6,
        1.0 / per
    );
}
