#![no_main]
//! BER-TLV: whatever parses re-encodes (shortest lengths, no padding) to the same objects.

use libfuzzer_sys::fuzz_target;
use shenas_apdu::Tlv;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = Tlv::parse_all(data) {
        let again: Vec<u8> = list.iter().flat_map(Tlv::to_bytes).collect();
        assert_eq!(Tlv::parse_all(&again), Ok(list));
    }
});
