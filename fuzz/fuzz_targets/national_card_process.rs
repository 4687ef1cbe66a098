#![no_main]
//! Arbitrary command APDUs to the simulated national card (`NationalCard::process`, with its
//! match-on-card application): never panics, always answers a status word. The input is a
//! sequence of APDUs, each preceded by its length byte. One card serves every input (its
//! personalisation is expensive); each input starts after a reset, so only the persistent
//! state (PIN and biometric counters, references) carries over.

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use shenas_simulators::SimCard;
use shenas_simulators::national::NationalCard;

static CARD: OnceLock<Option<Mutex<NationalCard>>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some(card) = CARD
        .get_or_init(|| NationalCard::builtin("citizen", true).ok().map(Mutex::new))
        .as_ref()
    else {
        return;
    };
    let Ok(mut card) = card.lock() else { return };
    card.reset();
    let mut rest = data;
    while let Some((&len, after)) = rest.split_first() {
        let len = usize::from(len).min(after.len());
        let (apdu, next) = after.split_at(len);
        let response = card.process(apdu);
        assert!(response.len() >= 2, "every answer ends with a status word");
        rest = next;
    }
});
