#![no_main]
//! EF.ATR/INFO extended length information: whatever parses round-trips through `7F66`.

use libfuzzer_sys::fuzz_target;
use shenas_apdu::ExtendedLengthInfo;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = ExtendedLengthInfo::parse(data) {
        assert_eq!(ExtendedLengthInfo::parse(&info.to_bytes()), Ok(info));
    }
});
