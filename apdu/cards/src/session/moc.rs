//! Match-on-card on the host (ISO/IEC 7816-11): the card's biometric information templates
//! (GET DATA `7F61` in the match-on-card application), biometric VERIFY with an already
//! encoded probe (`7F2E` { `81` compact-card minutiae }, see [`crate::moc`]) and the
//! personalisation-time enrolment of the Shenas profile (VERIFY of the PUK, then CHANGE
//! REFERENCE DATA P1 `01` with the new reference).
//!
//! One command each, never retried: a non-match spends one of the card's tries. Probes and
//! references are biometric data: they go to the card and nowhere else (no log, no error).

use shenas_apdu::{Command, Transport};

use super::{
    CardSession, INS_CHANGE_REFERENCE_DATA, INS_VERIFY, PinStatus, Selected, SessionError,
};
use crate::moc::{self, BiometricOutcome, BiometricReference};
use crate::profile::PinKind;
use crate::session::Pin;

impl<T: Transport> CardSession<T> {
    fn select_match_on_card(&mut self) -> Result<(), SessionError> {
        let profile = self.profile;
        let app = profile
            .match_on_card
            .as_ref()
            .ok_or(SessionError::NotInProfile("match-on-card application"))?;
        self.select_aid(app.aid, Selected::MatchOnCard)
    }

    /// The card's biometric references: selects the match-on-card application and reads the
    /// BIT group (GET DATA `7F61`). A card without the group answers an empty list.
    pub fn biometric_references(&mut self) -> Result<Vec<BiometricReference>, SessionError> {
        self.select_match_on_card()?;
        let Some(bytes) = self.get_data(moc::BIT_GROUP_TAG)? else {
            return Ok(Vec::new());
        };
        moc::parse_bit_group(&bytes).map_err(|e| SessionError::CardDefect(e.to_string()))
    }

    /// The state of a biometric reference without spending a try: VERIFY with no data.
    pub fn biometric_status(&mut self, qualifier: u8) -> Result<PinStatus, SessionError> {
        self.select_match_on_card()?;
        let r = self
            .channel
            .transmit(&Command::new(0x00, INS_VERIFY, 0x00, qualifier))?;
        let sw = r.sw();
        match (sw.sw1(), sw.sw2()) {
            (0x90, 0x00) => Ok(PinStatus::Verified),
            (0x63, x) if x & 0xF0 == 0xC0 => Ok(PinStatus::TriesLeft {
                tries_left: x & 0x0F,
            }),
            (0x69, 0x83) => Ok(PinStatus::Blocked),
            _ => Err(SessionError::Status {
                operation: "VERIFY (biometric)",
                sw,
            }),
        }
    }

    /// One biometric VERIFY of reference `qualifier` with `verify_data` (`7F2E` { `81` … },
    /// built for the card's announced parameters). `9000` is a match, `63Cx` a non-match with
    /// x tries left, `6983` blocked; any other status word (`6A88` unknown reference, `6A80` /
    /// `6700` a probe the card refused) is an error. Never retried.
    pub fn verify_biometric(
        &mut self,
        qualifier: u8,
        verify_data: &[u8],
    ) -> Result<BiometricOutcome, SessionError> {
        if verify_data.is_empty() {
            // An empty VERIFY asks the status; it is not a comparison.
            return Err(SessionError::NotInProfile("empty biometric probe"));
        }
        self.select_match_on_card()?;
        let command =
            Command::new(0x00, INS_VERIFY, 0x00, qualifier).with_data(verify_data.to_vec());
        let r = self.channel.transmit(&command)?;
        let sw = r.sw();
        match (sw.sw1(), sw.sw2()) {
            (0x90, 0x00) => Ok(BiometricOutcome::Match),
            (0x63, x) if x & 0xF0 == 0xC0 => Ok(BiometricOutcome::NoMatch {
                tries_left: x & 0x0F,
            }),
            (0x69, 0x83) => Ok(BiometricOutcome::Blocked),
            _ => Err(SessionError::Status {
                operation: "VERIFY (biometric)",
                sw,
            }),
        }
    }

    /// Enrols (or replaces) biometric reference `qualifier` with `reference_data` (`7F2E` {
    /// `81` … }): VERIFY of the PUK, then CHANGE REFERENCE DATA with P1 `01` (new reference
    /// data only). The Shenas profile's card allows it only right after a PUK verification,
    /// and the PUK verification serves one enrolment. The reference's counter goes back to its
    /// maximum.
    pub fn enroll_biometric(
        &mut self,
        qualifier: u8,
        puk: &Pin,
        reference_data: &[u8],
    ) -> Result<(), SessionError> {
        self.verify_pin(PinKind::Puk, puk)?;
        self.select_match_on_card()?;
        let command = Command::new(0x00, INS_CHANGE_REFERENCE_DATA, 0x01, qualifier)
            .with_data(reference_data.to_vec());
        let r = self.channel.transmit(&command)?;
        match r.sw().value() {
            0x9000 => Ok(()),
            0x6982 => Err(SessionError::PinRequired { kind: PinKind::Puk }),
            _ => Err(SessionError::Status {
                operation: "CHANGE REFERENCE DATA (biometric)",
                sw: r.sw(),
            }),
        }
    }
}
