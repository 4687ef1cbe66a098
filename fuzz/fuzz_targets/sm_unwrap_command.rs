#![no_main]
//! Secure messaging, card side: no forged or malformed protected command is ever accepted.

use libfuzzer_sys::fuzz_target;
use shenas_apdu::Command;
use shenas_cards::sm::{CardSm, SessionKeys};

fuzz_target!(|data: &[u8]| {
    let keys = SessionKeys::new([0x11; 16], [0x22; 16], [0x33; 16]);
    let mut card = CardSm::new(keys);
    if let Ok(command) = Command::parse(data) {
        assert!(card.unwrap_command(&command).is_err());
        assert!(!card.is_open());
    }
});
