//! The conformance suite against every transport: the in-process simulator, the simulator
//! behind a real pcscd + vpcd (each test in its own sandbox), and real hardware when
//! `SHENAS_TEST_READER` names a reader (ignored otherwise).

// Test code: a failed step fails the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::mpsc;
use std::time::Duration;

use shenas_apdu::pcsc::{ConnectOptions, PcscContext};
use shenas_apdu::{Transport, TransportError};
use shenas_simulators::{
    Faults, SimulatedCard, SimulatedTransport, SlotEvent, VpcdConfig, VpcdSlot, default_card,
};
use shenas_test_harness::{Sandbox, pcscd_test};
use shenas_tests::conformance;

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn in_process_simulator_conforms() {
    let mut transport = SimulatedTransport::new(default_card());
    conformance::assert_passes(&mut transport, &conformance::generic());
    conformance::assert_passes(&mut transport, &conformance::default_card());
}

#[test]
fn in_process_card_removed_mid_read_is_typed() {
    // SELECT by path, then the card goes after 20 READ BINARY commands of the 40 000-byte EF.
    let faults = Faults {
        remove_after: Some(21),
        ..Faults::none()
    };
    let mut transport = SimulatedTransport::with_faults(default_card(), faults);
    let error = conformance::read_until_removed(&mut transport).unwrap();
    assert!(matches!(error, TransportError::CardRemoved), "{error:?}");
}

/// Serves `card` on vpcd slot 0 of the sandbox's pcscd and connects to it through PC/SC.
fn serve(sb: &Sandbox, card: SimulatedCard) -> (VpcdSlot, shenas_apdu::pcsc::PcscCard) {
    let (events, connected) = mpsc::channel();
    let slot = VpcdSlot::spawn(VpcdConfig::new(0), card, Some(events)).unwrap();
    loop {
        match connected
            .recv_timeout(WAIT)
            .expect("the simulator did not connect to vpcd")
        {
            SlotEvent::Connected { .. } => break,
            _ => continue,
        }
    }
    let reader = sb.reader_name(0);
    sb.wait_for_card(&reader, WAIT).unwrap();
    let mut context = PcscContext::establish().unwrap();
    let options = ConnectOptions {
        timeout: WAIT,
        ..ConnectOptions::default()
    };
    let card = context.connect(&reader, options).unwrap();
    (slot, card)
}

pcscd_test! {
    fn simulator_behind_pcscd_conforms(sb: &mut Sandbox) {
        let (_slot, mut card) = serve(sb, SimulatedCard::new(default_card(), Faults::none()));
        let mut transaction = card.transaction().unwrap();
        conformance::assert_passes(&mut transaction, &conformance::generic());
        conformance::assert_passes(&mut transaction, &conformance::default_card());
    }

    fn card_removed_mid_read_behind_pcscd_is_typed(sb: &mut Sandbox) {
        let faults = Faults { remove_after: Some(21), ..Faults::none() };
        let (_slot, mut card) = serve(sb, SimulatedCard::new(default_card(), faults));
        // Connecting (and pcscd's own probing) cost no APDUs; the read below hits the removal.
        let error = conformance::read_until_removed(&mut card).unwrap();
        assert!(error.is_card_gone() || matches!(error, TransportError::Unresponsive), "{error:?}");
        // The next conversation sees a removed card too, promptly.
        let next = card.transmit(&[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00]).unwrap_err();
        assert!(next.is_card_gone() || matches!(next, TransportError::Unresponsive | TransportError::CardReset), "{next:?}");
    }
}

/// Real hardware: `SHENAS_TEST_READER="<reader name>" cargo test -p shenas-tests -- --ignored real_reader`.
#[test]
#[ignore = "needs a real reader named by SHENAS_TEST_READER"]
fn real_reader_conforms() {
    let reader = std::env::var("SHENAS_TEST_READER").expect("SHENAS_TEST_READER names the reader");
    let mut context = PcscContext::establish().unwrap();
    let mut card = context.connect(&reader, ConnectOptions::default()).unwrap();
    let mut transaction = card.transaction().unwrap();
    conformance::assert_passes(&mut transaction, &conformance::generic());
}
