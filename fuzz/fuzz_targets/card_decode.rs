#![no_main]
//! Compact-card and normal-card minutiae and BIT algorithm parameters: never panic; card data
//! that decodes re-encodes to the same bytes.

use libfuzzer_sys::fuzz_target;
use shenas_biometrics::template::iso19794_2_card as card;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = card::decode_compact(data) {
        assert_eq!(card::encode_compact(&m).ok().as_deref(), Some(data));
    }
    if let Ok(m) = card::decode_normal(data) {
        assert_eq!(card::encode_normal(&m).ok().as_deref(), Some(data));
    }
    let _ = card::CardParameters::from_algorithm_parameters(data);
});
