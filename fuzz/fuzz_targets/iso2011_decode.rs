#![no_main]
//! ISO/IEC 19794-2:2011 records: never panics; whatever decodes converts to features.

use libfuzzer_sys::fuzz_target;
use shenas_biometrics::template::iso19794_2_2011::decode;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = decode(data) {
        for rep in &r.representations {
            assert_eq!(rep.to_features().minutiae.len(), rep.minutiae.len());
        }
    }
});
