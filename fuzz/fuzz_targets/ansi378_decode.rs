#![no_main]
//! ANSI/INCITS 378-2004 records: never panics; whatever decodes re-encodes and decodes equal.

use libfuzzer_sys::fuzz_target;
use shenas_biometrics::template::ansi378_2004::decode;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = decode(data) {
        assert_eq!(r.encode().ok().and_then(|b| decode(&b).ok()), Some(r));
    }
});
