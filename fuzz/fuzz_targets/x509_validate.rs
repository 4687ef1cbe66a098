#![no_main]
//! X.509 validation never panics on arbitrary certificates and intermediates.

use libfuzzer_sys::fuzz_target;
use shenas_cards::pki::{Purpose, TrustAnchors, validate};

fuzz_target!(|data: &[u8]| {
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
    let half = data.len() / 2;
    let (a, b) = data.split_at(half);
    let _ = validate(
        data,
        &[a, b],
        &TrustAnchors::simulated(),
        Purpose::Authentication,
        now,
    );
    let _ = validate(
        a,
        &[b],
        &TrustAnchors::simulated(),
        Purpose::NonRepudiation,
        now,
    );
});
