#![no_main]
//! Secure messaging, host side: no forged or malformed protected response is ever accepted.

use libfuzzer_sys::fuzz_target;
use shenas_apdu::Response;
use shenas_cards::issuer::IssuerMode;
use shenas_cards::sm::{SecureChannel, SessionKeys};

fuzz_target!(|data: &[u8]| {
    let keys = SessionKeys::new([0x11; 16], [0x22; 16], [0x33; 16]);
    let mut host = SecureChannel::new(keys, IssuerMode::SessionKeysOnly);
    if let Ok(response) = Response::parse(data) {
        assert!(host.unwrap(&response).is_err());
        assert!(!host.is_open());
    }
});
