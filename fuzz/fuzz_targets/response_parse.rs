#![no_main]
//! Response APDUs: whatever parses re-encodes to the same bytes.

use libfuzzer_sys::fuzz_target;
use shenas_apdu::Response;

fuzz_target!(|data: &[u8]| {
    if let Ok(response) = Response::parse(data) {
        assert_eq!(response.to_bytes(), data);
    }
});
