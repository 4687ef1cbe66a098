#![no_main]
//! ISO/IEC 19794-2:2005 records: never panics; whatever decodes re-encodes and decodes equal.

use libfuzzer_sys::fuzz_target;
use shenas_biometrics::template::iso19794_2_2005::decode;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = decode(data) {
        assert_eq!(r.encode().ok().and_then(|b| decode(&b).ok()), Some(r));
    }
});
