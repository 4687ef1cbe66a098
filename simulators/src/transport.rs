//! [`SimulatedTransport`]: a [`SimulatedCard`] behind [`shenas_apdu::Transport`], in process.

use shenas_apdu::{Transport, TransportError, TransportLimits};

use crate::{Faults, SimCard, SimulatedCard, SimulatorError, VirtualCard};

/// The in-process transport: the real channel and application code run against a simulated
/// card ([`SimCard`]: by default a [`VirtualCard`]) with injected [`Faults`]. **No security**:
/// for tests and demos only.
///
/// [`Transport::limits`] says `extended_length: None` by default (like vpcd, it declares
/// nothing); [`SimulatedTransport::with_limits`] changes that.
#[derive(Debug)]
pub struct SimulatedTransport<C: SimCard = VirtualCard> {
    card: SimulatedCard<C>,
    limits: TransportLimits,
}

impl<C: SimCard> SimulatedTransport<C> {
    /// A transport to this card, without faults.
    pub fn new(card: C) -> Self {
        Self::with_faults(card, Faults::none())
    }

    /// A transport to this card with these faults.
    pub fn with_faults(card: C, faults: Faults) -> Self {
        Self {
            card: SimulatedCard::new(card, faults),
            limits: TransportLimits::default(),
        }
    }

    /// Declares other limits.
    #[must_use]
    pub const fn with_limits(mut self, limits: TransportLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The simulated card (faults, presence).
    pub const fn simulated_card(&self) -> &SimulatedCard<C> {
        &self.card
    }

    /// The simulated card, mutably (remove, insert, change faults).
    pub const fn simulated_card_mut(&mut self) -> &mut SimulatedCard<C> {
        &mut self.card
    }

    /// The card, to inspect what was written.
    pub const fn card(&self) -> &C {
        self.card.card()
    }

    /// The card, mutably (e.g. to power-cycle it between sessions).
    pub const fn card_mut(&mut self) -> &mut C {
        self.card.card_mut()
    }

    /// Removes the card: every later call fails with [`TransportError::CardRemoved`].
    pub fn remove(&mut self) {
        self.card.remove();
    }

    /// Inserts the card again.
    pub fn insert(&mut self) {
        self.card.insert();
    }

    fn check_present(&self) -> Result<(), TransportError> {
        if self.card.is_present() {
            Ok(())
        } else {
            Err(TransportError::CardRemoved)
        }
    }
}

impl<C: SimCard> From<SimulatedCard<C>> for SimulatedTransport<C> {
    fn from(card: SimulatedCard<C>) -> Self {
        Self {
            card,
            limits: TransportLimits::default(),
        }
    }
}

impl<C: SimCard> Transport for SimulatedTransport<C> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.card.transmit(command).map_err(|e| match e {
            SimulatorError::CardRemoved => TransportError::CardRemoved,
            other => TransportError::Other {
                message: "simulated card failure",
                source: Some(Box::new(other)),
            },
        })
    }

    fn atr(&mut self) -> Result<Vec<u8>, TransportError> {
        self.check_present()?;
        Ok(self.card.atr().to_vec())
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.check_present()?;
        Ok(self.card.reset())
    }

    fn limits(&self) -> TransportLimits {
        self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{Df, Ef};

    #[test]
    fn transmits_resets_and_fails_after_removal() -> Result<(), TransportError> {
        let card = VirtualCard::new(Df::mf().with_ef(Ef::new(0x0101, vec![1, 2, 3])));
        let mut t = SimulatedTransport::new(card);
        assert_eq!(t.limits().extended_length, None);
        assert_eq!(t.transmit(&[0, 0xA4, 0, 0x0C, 2, 1, 1])?, [0x90, 0]);
        assert_eq!(t.transmit(&[0, 0xB0, 0, 0, 0])?, [1, 2, 3, 0x62, 0x82]);
        let atr = t.atr()?;
        assert_eq!(t.reset()?, atr);
        assert_eq!(
            t.transmit(&[0, 0xB0, 0, 0, 0])?,
            [0x69, 0x86],
            "reset drops the selection"
        );
        t.remove();
        assert!(matches!(
            t.transmit(&[0, 0xB0, 0, 0, 0]),
            Err(TransportError::CardRemoved)
        ));
        assert!(matches!(t.atr(), Err(TransportError::CardRemoved)));
        assert!(matches!(t.reset(), Err(TransportError::CardRemoved)));
        t.insert();
        assert_eq!(t.atr()?, atr);
        let t = t.with_limits(TransportLimits {
            extended_length: Some(true),
        });
        assert_eq!(t.limits().extended_length, Some(true));
        Ok(())
    }
}
