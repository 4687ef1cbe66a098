//! Writes `/tmp/overlay_<f>_<i>.png`: a synthetic impression with ground truth (gray squares)
//! and our minutiae (black crosses), for eyeballing the extractor.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::indexing_slicing
)]

use shenas_biometrics::extract::extract;
use shenas_biometrics::image::GrayImage;
use shenas_fingersim::{DatabaseSpec, Tier, encode_png, generate_database};

fn main() {
    let tier = std::env::args()
        .nth(1)
        .and_then(|t| Tier::from_name(&t))
        .unwrap_or(Tier::Hard);
    let seed = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_201);
    let spec = DatabaseSpec {
        fingers: 9,
        impressions: 3,
        tier,
        seed,
    };
    for imp in generate_database(&spec) {
        let f = extract(&imp.image).unwrap();
        std::fs::write(
            format!("/tmp/raw_{}_{}.png", imp.finger, imp.impression),
            encode_png(&imp.image).unwrap(),
        )
        .unwrap();
        let (w, h) = (imp.image.width(), imp.image.height());
        let mut px = imp.image.pixels().to_vec();
        let mut put = |x: i32, y: i32, v: u8| {
            if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
                px[y as usize * w + x as usize] = v;
            }
        };
        for m in &imp.ground_truth {
            let (x, y) = (i32::from(m.x), i32::from(m.y));
            for d in -5..=5 {
                put(x + d, y - 5, 255);
                put(x + d, y + 5, 255);
                put(x - 5, y + d, 255);
                put(x + 5, y + d, 255);
            }
        }
        for m in &f.minutiae {
            let (x, y) = (i32::from(m.x), i32::from(m.y));
            for d in -4..=4 {
                put(x + d, y, 0);
                put(x, y + d, 0);
            }
            for t in 0..10 {
                let tx = x + (f32::from(t as u8) * m.angle.cos()) as i32;
                let ty = y - (f32::from(t as u8) * m.angle.sin()) as i32;
                put(tx, ty, 0);
            }
        }
        let out = GrayImage::from_raw(w, h, 500, px).unwrap();
        std::fs::write(
            format!("/tmp/overlay_{}_{}.png", imp.finger, imp.impression),
            encode_png(&out).unwrap(),
        )
        .unwrap();
        println!(
            "{} {}: truth {} ours {}",
            imp.finger,
            imp.impression,
            imp.ground_truth.len(),
            f.minutiae.len()
        );
    }
}
