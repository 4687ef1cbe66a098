//! Lists the genuine pairs scoring below 20 on a small hard-tier set, with template sizes.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use shenas_biometrics::extract::extract;
use shenas_biometrics::matcher::{MatchTemplate, score};
use shenas_fingersim::{DatabaseSpec, Tier, generate_database};

fn main() {
    let spec = DatabaseSpec {
        fingers: 10,
        impressions: 8,
        tier: Tier::Hard,
        seed: 2026,
    };
    let imps: Vec<_> = generate_database(&spec).collect();
    let tpl: Vec<_> = imps
        .iter()
        .map(|i| MatchTemplate::new(&extract(&i.image).unwrap()))
        .collect();
    let mut low = 0;
    for (a, ia) in imps.iter().enumerate() {
        for (b, ib) in imps.iter().enumerate().skip(a + 1) {
            if ia.finger != ib.finger {
                continue;
            }
            let s = score(&tpl[a], &tpl[b]);
            if s < 20.0 {
                low += 1;
                println!(
                    "{}_{} vs {}_{}: {s:.1}  ours {}/{}  truth {}/{}",
                    ia.finger,
                    ia.impression,
                    ib.finger,
                    ib.impression,
                    tpl[a].len(),
                    tpl[b].len(),
                    ia.ground_truth.len(),
                    ib.ground_truth.len()
                );
            }
        }
    }
    println!("{low} low genuine pairs");
}
