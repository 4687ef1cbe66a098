//! The generator: deterministic by seed, FVC-style numbering, ground truth inside the image,
//! tiers that differ, timing, and the simulated scanner through the `Scanner` trait.

use std::time::{Duration, Instant};

use shenas_biometrics::capture::{Scanner, ScannerError, ScannerEvent};
use shenas_fingersim::scanner::{Condition, SimulatedScanner};
use shenas_fingersim::{DatabaseSpec, Finger, Impression, Tier, generate_database};

fn spec(fingers: u32, impressions: u32, tier: Tier, seed: u64) -> DatabaseSpec {
    DatabaseSpec {
        fingers,
        impressions,
        tier,
        seed,
    }
}

fn mean_abs_diff(a: &Impression, b: &Impression) -> f64 {
    let (pa, pb) = (a.image.pixels(), b.image.pixels());
    let sum: u64 = pa
        .iter()
        .zip(pb)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / pa.len() as f64
}

#[test]
fn database_is_deterministic_and_numbered_from_one() {
    let a: Vec<Impression> = generate_database(&spec(2, 2, Tier::Standard, 7)).collect();
    let b: Vec<Impression> = generate_database(&spec(2, 2, Tier::Standard, 7)).collect();
    let ids: Vec<(u32, u32)> = a.iter().map(|i| (i.finger, i.impression)).collect();
    assert_eq!(ids, vec![(1, 1), (1, 2), (2, 1), (2, 2)]);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.image.pixels(), y.image.pixels());
        assert_eq!(x.ground_truth, y.ground_truth);
    }
    let other: Vec<Impression> = generate_database(&spec(1, 1, Tier::Standard, 8)).collect();
    assert!(mean_abs_diff(&a[0], &other[0]) > 20.0);
    // Two impressions of one finger differ, but less than two fingers do... in pixels they
    // are both far apart after rotation; the ground truth tells them apart instead.
    assert!(mean_abs_diff(&a[0], &a[1]) > 5.0);
}

#[test]
fn images_and_ground_truth_are_plausible() {
    for imp in generate_database(&spec(2, 3, Tier::Standard, 11)) {
        assert_eq!(
            (imp.image.width(), imp.image.height(), imp.image.ppi()),
            (416, 480, 500)
        );
        let px = imp.image.pixels();
        // Contrast: the 5th percentile (ridges) well below the 95th (valleys, background),
        // with a real share of ridge pixels; dry impressions are the faintest.
        let mut sorted = px.to_vec();
        sorted.sort_unstable();
        let (p5, p95) = (sorted[px.len() / 20], sorted[px.len() * 95 / 100]);
        let dark = px.iter().filter(|&&p| p < 140).count() as f64 / px.len() as f64;
        assert!(
            p95 - p5 >= 80 && dark > 0.05,
            "percentiles {p5}..{p95}, ridges {dark:.2}"
        );
        let mid = (p5 / 2 + p95 / 2).max(140);
        let n = imp.ground_truth.len();
        assert!(
            (12..=130).contains(&n),
            "{n} minutiae in {}_{}",
            imp.finger,
            imp.impression
        );
        for m in &imp.ground_truth {
            assert!(m.x >= 8 && m.x < 408 && m.y >= 8 && m.y < 472);
            assert!((0.0..core::f32::consts::TAU).contains(&m.angle));
            // A ground-truth minutia sits on or next to a ridge (ridge ends recede a little
            // under pressure and dryness): the image is darker than the middle of its gray
            // range within 5 px.
            let (mx, my) = (usize::from(m.x), usize::from(m.y));
            let dark_near =
                (my - 5..=my + 5).any(|y| (mx - 5..=mx + 5).any(|x| px[y * 416 + x] < mid));
            assert!(
                dark_near,
                "minutia off the ridges in {}_{}",
                imp.finger, imp.impression
            );
        }
    }
}

#[test]
fn ground_truth_follows_the_impression_transform() {
    // Impressions of one finger share most minutiae once aligned: for each pair of
    // impressions, find the rigid alignment from the ground truth of both and count matches.
    let finger = Finger::new(5, 1);
    let a = finger.impression(1, Tier::Standard).unwrap();
    let b = finger.impression(2, Tier::Standard).unwrap();
    let best = best_rigid_overlap(&a, &b);
    let min = a.ground_truth.len().min(b.ground_truth.len());
    assert!(best * 2 >= min, "only {best} of {min} minutiae align");
    let other = Finger::new(5, 2).impression(1, Tier::Standard).unwrap();
    let chance = best_rigid_overlap(&a, &other);
    assert!(chance < best, "impostor overlap {chance} ≥ genuine {best}");
}

/// Largest number of minutiae of `b` within 10 px (and 30°) of a minutia of `a` under a
/// rigid transform defined by one pair of minutiae (brute force over pairs).
fn best_rigid_overlap(a: &Impression, b: &Impression) -> usize {
    let mut best = 0;
    for p in &a.ground_truth {
        for q in &b.ground_truth {
            if p.kind != q.kind {
                continue;
            }
            let rot = q.angle - p.angle;
            let (c, s) = (rot.cos(), rot.sin());
            let mut count = 0;
            for m in &a.ground_truth {
                let (dx, dy) = (
                    f32::from(m.x) - f32::from(p.x),
                    f32::from(m.y) - f32::from(p.y),
                );
                // Counter-clockwise with y down on screen.
                let x = f32::from(q.x) + c * dx + s * dy;
                let y = f32::from(q.y) - s * dx + c * dy;
                let ang = m.angle + rot;
                if b.ground_truth.iter().any(|n| {
                    let d = (ang - n.angle).rem_euclid(core::f32::consts::TAU);
                    (f32::from(n.x) - x).hypot(f32::from(n.y) - y) < 10.0
                        && d.min(core::f32::consts::TAU - d) < 0.5
                }) {
                    count += 1;
                }
            }
            best = best.max(count);
        }
    }
    best
}

#[test]
fn hard_tier_is_harder() {
    let std: Vec<Impression> = generate_database(&spec(2, 4, Tier::Standard, 21)).collect();
    let hard: Vec<Impression> = generate_database(&spec(2, 4, Tier::Hard, 21)).collect();
    // Same fingers (same masters), but hard impressions lose more of the finger and more
    // ground truth to partial contact and rotation.
    let gt = |v: &[Impression]| v.iter().map(|i| i.ground_truth.len()).sum::<usize>();
    assert!(
        gt(&hard) < gt(&std),
        "hard {} vs standard {}",
        gt(&hard),
        gt(&std)
    );
    let noise = |v: &[Impression]| {
        v.iter()
            .map(|i| {
                // Background noise: mean absolute horizontal gradient in the top-left corner
                // (outside most fingers).
                let p = i.image.pixels();
                (0..20usize)
                    .flat_map(|y| (0..20usize).map(move |x| (x, y)))
                    .map(|(x, y)| u32::from(p[y * 416 + x].abs_diff(p[y * 416 + x + 1])))
                    .sum::<u32>()
            })
            .sum::<u32>()
    };
    assert!(noise(&hard) > noise(&std));
}

#[test]
fn generation_speed() {
    let started = Instant::now();
    let n = generate_database(&spec(2, 4, Tier::Standard, 3)).count();
    let per = started.elapsed().as_secs_f64() * 1000.0 / n as f64;
    println!("{n} images, {per:.1} ms per image (masters amortised over 4 impressions, all cores)");
    let f = Finger::new(3, 9);
    let t = Instant::now();
    let imp = f.impression(1, Tier::Hard).unwrap();
    println!(
        "one impression from a ready master: {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(imp.image.width(), 416);
    assert_eq!(n, 8);
}

#[test]
fn simulated_scanner_events_and_conditions() {
    let mut s = SimulatedScanner::new(9, Tier::Standard);
    assert_eq!(s.info().width, 416);
    assert_eq!(s.wait_event(Duration::ZERO).unwrap(), None);
    assert!(matches!(
        s.capture(Duration::ZERO),
        Err(ScannerError::Timeout)
    ));
    s.place(1, Condition::Normal);
    assert_eq!(
        s.wait_event(Duration::ZERO).unwrap(),
        Some(ScannerEvent::FingerPlaced)
    );
    let normal = s.capture(Duration::ZERO).unwrap();
    let again = s.capture(Duration::ZERO).unwrap();
    assert_ne!(
        normal.image.pixels(),
        again.image.pixels(),
        "each capture is a new impression"
    );
    s.lift();
    assert_eq!(
        s.wait_event(Duration::ZERO).unwrap(),
        Some(ScannerEvent::FingerLifted)
    );

    let darkness = |p: &[u8]| p.iter().filter(|&&v| v < 110).count();
    s.place(1, Condition::Dry);
    let dry = s.capture(Duration::ZERO).unwrap();
    s.place(1, Condition::Wet);
    let wet = s.capture(Duration::ZERO).unwrap();
    s.place(1, Condition::Partial);
    let partial = s.capture(Duration::ZERO).unwrap();
    let (d, w, n, p) = (
        darkness(dry.image.pixels()),
        darkness(wet.image.pixels()),
        darkness(normal.image.pixels()),
        darkness(partial.image.pixels()),
    );
    assert!(d < n && n < w, "dry {d}, normal {n}, wet {w}");
    assert!(p < n, "partial {p} vs normal {n}");

    s.place(2, Condition::FastLift);
    let events: Vec<_> = std::iter::from_fn(|| s.wait_event(Duration::ZERO).unwrap()).collect();
    assert_eq!(events.last(), Some(&ScannerEvent::FingerPlaced));
    assert!(matches!(
        s.capture(Duration::ZERO),
        Err(ScannerError::FingerLifted)
    ));
    assert_eq!(
        s.wait_event(Duration::ZERO).unwrap(),
        Some(ScannerEvent::FingerLifted)
    );

    s.unplug();
    assert_eq!(
        s.wait_event(Duration::ZERO).unwrap(),
        Some(ScannerEvent::Disconnected)
    );
    assert!(matches!(
        s.capture(Duration::ZERO),
        Err(ScannerError::Disconnected)
    ));
    assert!(matches!(
        s.wait_event(Duration::ZERO),
        Err(ScannerError::Disconnected)
    ));
}
