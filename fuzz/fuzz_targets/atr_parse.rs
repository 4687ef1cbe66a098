#![no_main]
//! Answer-to-reset and its historical bytes: parsing never panics and keeps the bytes.

use libfuzzer_sys::fuzz_target;
use shenas_apdu::Atr;

fuzz_target!(|data: &[u8]| {
    if let Ok(atr) = Atr::parse(data) {
        assert_eq!(atr.as_bytes(), data);
        let _ = (
            atr.historical(),
            atr.protocols(),
            atr.extended_length(),
            atr.to_string(),
        );
    }
});
