#![no_main]
//! EF.SOD: parsing and passive authentication never panic, and arbitrary bytes never pass.

use libfuzzer_sys::fuzz_target;
use shenas_cards::pki::{TrustAnchors, passive_authentication, sod::parse_sod};

fuzz_target!(|data: &[u8]| {
    let _ = parse_sod(data);
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
    let pa = passive_authentication(data, &[(1, data)], &TrustAnchors::simulated(), now);
    assert!(!pa.valid);
});
