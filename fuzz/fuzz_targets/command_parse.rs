#![no_main]
//! Command APDUs: whatever parses re-encodes to the same bytes, in short or extended form.

use libfuzzer_sys::fuzz_target;
use shenas_apdu::Command;

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = Command::parse(data) {
        assert!(
            cmd.to_bytes().as_deref() == Ok(data) || cmd.to_extended_bytes().as_deref() == Ok(data)
        );
    }
});
