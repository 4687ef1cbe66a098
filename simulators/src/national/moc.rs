//! The match-on-card application of the simulated national card (ISO/IEC 7816-11): biometric
//! references (fingers) enrolled at personalisation, the BIT group they announce, biometric
//! VERIFY matched on the card with [`shenas_biometrics::matcher`], retry counters that survive
//! power cycles, and a personalisation-only enrolment command.
//!
//! **No security**: references sit in plain memory and, when the card has a state file, in
//! `<state file>.moc` as hexadecimal. For tests and demos only.
//!
//! # Objects and commands
//!
//! | command | data | answer |
//! |---|---|---|
//! | GET DATA `00 CA 7F 61` | — | the BIT group ([`shenas_cards::moc`]): one `7F60` per enrolled finger with its qualifier `83` = `0x90` + finger position, `A1` { `81 08`, `82` subtype, `87 0101`, `88` compact card, `B1` { `81` 12, 60 · `82 01` (x-y ascending) } } |
//! | VERIFY `00 20 00 <qualifier>` | none | `9000` verified in this session, `63Cx` x tries left, `6983` blocked; spends nothing |
//! | VERIFY `00 20 00 <qualifier>` | `7F2E` { `81` 3n bytes } | `9000` match (counter back to 5, reference verified), `63Cx` no match (one try fewer), `6983` blocked |
//! | VERIFY `00 20 FF <qualifier>` | none | drops the verification, `9000` |
//! | CHANGE REFERENCE DATA `00 24 01 <qualifier>` | `7F2E` { `81` 3n bytes } | enrols or replaces the finger of that qualifier: only right after a successful VERIFY of the PUK (`6982` otherwise), which it consumes; the counter back to 5 |
//!
//! A qualifier `91`–`9A` of a finger that is not enrolled answers `6A88` to VERIFY. A probe
//! that is not a well-formed `7F2E` { `81` } (`6A80`), whose minutiae field is not a multiple
//! of 3 bytes (`6700`), with fewer than 12 or more than 60 minutiae, a reserved minutia type
//! or out of the announced order (`6A80`) spends no try. P1 other than `00`/`FF` (VERIFY) or
//! `01` (CHANGE REFERENCE DATA): `6A86`.
//!
//! # Matching
//!
//! Probe and reference are both compact-card minutiae; the card turns each into features
//! ([`iso19794_2_card::features_from_compact`], 500 ppi) and compares them with
//! [`matcher::score`], deciding at the fixed threshold [`matcher::THRESHOLD_FMR_1E4`] (FMR
//! 10⁻⁴): exactly what [`off_card_decision`] computes on the host for the same bytes.
//!
//! # Enrolment
//!
//! A real card is personalised once by the issuer. This card takes references at
//! personalisation ([`FingerSetup`], from the persona's `[[fingers]]`) and, to let
//! `shenas finger enroll-card` work against a simulator, through CHANGE REFERENCE DATA with
//! P1 `01` ("new reference data only", ISO/IEC 7816-4 11.5.7) gated by the PUK: the holder's
//! PUK stands for the issuer's personalisation credentials.

use std::fmt;
use std::path::{Path, PathBuf};

use shenas_apdu::StatusWord;
use shenas_biometrics::matcher::{self, Decision, FalseMatchRate, MatchTemplate};
use shenas_biometrics::template::iso19794_2_card::{
    self, CardParameters, CompactMinutia, decode_compact, sort_compact,
};
use shenas_cards::moc::{self as moc, BiometricReference};

/// Geometry given to compact-card minutiae before matching (the format carries none; the
/// compact range is 0–255 units of 0.1 mm, about 502 px at 500 ppi).
const MATCH_WIDTH: u16 = 512;
const MATCH_HEIGHT: u16 = 512;
const MATCH_PPI: u16 = 500;

/// One finger as personalised.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerSetup {
    /// ISO/IEC 19794-2 finger position, 1–10 (2: right index, 7: left index).
    pub position: u8,
    /// The reference: compact-card minutiae, 3 bytes each.
    pub template: Vec<u8>,
    /// Tries left at personalisation (at most [`moc::MAX_TRIES`]).
    pub tries_left: u8,
}

impl fmt::Debug for FingerSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The template is biometric data: its size only.
        f.debug_struct("FingerSetup")
            .field("position", &self.position)
            .field("minutiae", &(self.template.len() / 3))
            .field("tries_left", &self.tries_left)
            .finish()
    }
}

/// Why the biometric references could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MocSetupError {
    /// A finger position outside 1–10, or the same finger twice.
    #[error("finger position {0} is not valid or appears twice")]
    Position(u8),
    /// A reference template is not compact-card minutiae within the card's limits.
    #[error("the reference template of finger {position} is not valid: {reason}")]
    Template {
        /// The finger.
        position: u8,
        /// What is wrong (never the template's content).
        reason: &'static str,
    },
    /// The profile has no match-on-card application, yet fingers were given.
    #[error("the card profile has no match-on-card application")]
    NoApplication,
    /// The state file exists but cannot be read or parsed.
    #[error("cannot read the biometric state file {path}")]
    StateFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The card's algorithm parameters (what its BIT announces).
fn parameters() -> Option<CardParameters> {
    CardParameters::from_algorithm_parameters(&moc::ALGORITHM_PARAMETERS).ok()
}

/// Checks compact-card minutiae as the card does: count within the limits, no reserved type,
/// the announced order. `Err` is the status word to answer.
pub fn check_minutiae(bytes: &[u8]) -> Result<Vec<CompactMinutia>, StatusWord> {
    if !bytes.len().is_multiple_of(3) {
        return Err(StatusWord::WRONG_LENGTH);
    }
    let count = bytes.len() / 3;
    if count < usize::from(moc::MIN_MINUTIAE) || count > usize::from(moc::MAX_MINUTIAE) {
        return Err(StatusWord::INCORRECT_DATA);
    }
    let minutiae = decode_compact(bytes).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let params = parameters().ok_or(StatusWord::NO_PRECISE_DIAGNOSIS)?;
    let mut sorted = minutiae.clone();
    // A stable sort leaves an already ordered list as it is.
    sort_compact(&mut sorted, params.direction, params.key);
    if sorted != minutiae {
        return Err(StatusWord::INCORRECT_DATA);
    }
    Ok(minutiae)
}

/// Match template of compact-card minutiae, as the card prepares them.
fn match_template(minutiae: &[CompactMinutia]) -> MatchTemplate {
    MatchTemplate::new(&iso19794_2_card::features_from_compact(
        minutiae,
        MATCH_WIDTH,
        MATCH_HEIGHT,
        MATCH_PPI,
    ))
}

/// The decision the card takes for this probe and reference (compact-card bytes), computed
/// off the card with the same code: for tests and hosts that must agree with the card.
/// `None` when either is not a valid compact-card template.
pub fn off_card_decision(probe: &[u8], reference: &[u8]) -> Option<Decision> {
    let p = decode_compact(probe).ok()?;
    let r = decode_compact(reference).ok()?;
    let s = matcher::score(&match_template(&p), &match_template(&r));
    Some(matcher::decision(s, FalseMatchRate::E4))
}

/// One enrolled finger.
struct Reference {
    position: u8,
    template: Vec<CompactMinutia>,
    prepared: MatchTemplate,
    tries_left: u8,
    verified: bool,
}

impl Reference {
    fn qualifier(&self) -> u8 {
        moc::qualifier_of_position(self.position).unwrap_or(0)
    }
}

/// The biometric references of a card.
pub(crate) struct Biometrics {
    references: Vec<Reference>,
    state_file: Option<PathBuf>,
}

impl fmt::Debug for Biometrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for r in &self.references {
            list.entry(&format_args!(
                "finger {}: {} tries left{}",
                r.position,
                r.tries_left,
                if r.verified { ", verified" } else { "" }
            ));
        }
        list.finish()
    }
}

fn state_path(state_file: Option<&Path>) -> Option<PathBuf> {
    state_file.map(|p| {
        let mut s = p.as_os_str().to_owned();
        s.push(".moc");
        PathBuf::from(s)
    })
}

impl Biometrics {
    /// The references as personalised; when the card's state file has a biometric part
    /// (`<state file>.moc`), its counters and references replace the initial ones.
    pub(crate) fn new(
        fingers: &[FingerSetup],
        state_file: Option<&Path>,
    ) -> Result<Self, MocSetupError> {
        let mut references: Vec<Reference> = Vec::with_capacity(fingers.len());
        for f in fingers {
            if moc::qualifier_of_position(f.position).is_none()
                || references.iter().any(|r| r.position == f.position)
            {
                return Err(MocSetupError::Position(f.position));
            }
            let template = check_minutiae(&f.template).map_err(|sw| MocSetupError::Template {
                position: f.position,
                reason: if sw == StatusWord::WRONG_LENGTH {
                    "length is not a multiple of 3"
                } else {
                    "minutiae count, type or order outside the card's parameters"
                },
            })?;
            references.push(Reference {
                position: f.position,
                prepared: match_template(&template),
                template,
                tries_left: f.tries_left.min(moc::MAX_TRIES),
                verified: false,
            });
        }
        let mut this = Self {
            references,
            state_file: state_path(state_file),
        };
        if let Some(path) = this.state_file.clone() {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let stored = parse_state(&text)
                        .map_err(|source| MocSetupError::StateFile { path, source })?;
                    for (position, tries, template) in stored {
                        this.install(position, template, tries);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => this.save(),
                Err(source) => return Err(MocSetupError::StateFile { path, source }),
            }
        }
        Ok(this)
    }

    /// Puts a reference in place (new or replacing), not verified.
    fn install(&mut self, position: u8, template: Vec<CompactMinutia>, tries_left: u8) {
        let reference = Reference {
            position,
            prepared: match_template(&template),
            template,
            tries_left: tries_left.min(moc::MAX_TRIES),
            verified: false,
        };
        match self.references.iter_mut().find(|r| r.position == position) {
            Some(slot) => *slot = reference,
            None => {
                self.references.push(reference);
                self.references.sort_by_key(|r| r.position);
            }
        }
    }

    fn save(&self) {
        let Some(path) = &self.state_file else {
            return;
        };
        if let Err(e) = write_state(path, &self.references) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the biometric state file");
        }
    }

    /// The BIT group (GET DATA `7F61`).
    pub(crate) fn bit_group(&self) -> Vec<u8> {
        let references: Vec<BiometricReference> = self
            .references
            .iter()
            .filter_map(|r| BiometricReference::shenas(r.position))
            .collect();
        moc::encode_bit_group(&references)
    }

    /// True when `qualifier` is a biometric qualifier of this profile (enrolled or not).
    pub(crate) const fn is_biometric(qualifier: u8) -> bool {
        moc::position_of_qualifier(qualifier).is_some()
    }

    /// Drops every verification (power off, power on, reset).
    pub(crate) fn drop_verification(&mut self) {
        for r in &mut self.references {
            r.verified = false;
        }
    }

    /// Tries left of the finger with this qualifier.
    pub(crate) fn tries_left(&self, qualifier: u8) -> Option<u8> {
        self.find(qualifier).map(|r| r.tries_left)
    }

    /// True when the finger with this qualifier is verified in this session.
    pub(crate) fn is_verified(&self, qualifier: u8) -> bool {
        self.find(qualifier).is_some_and(|r| r.verified)
    }

    fn find(&self, qualifier: u8) -> Option<&Reference> {
        self.references.iter().find(|r| r.qualifier() == qualifier)
    }

    fn find_mut(&mut self, qualifier: u8) -> Option<&mut Reference> {
        self.references
            .iter_mut()
            .find(|r| r.qualifier() == qualifier)
    }

    /// VERIFY of a biometric reference (module docs).
    pub(crate) fn verify(&mut self, p1: u8, qualifier: u8, data: &[u8]) -> StatusWord {
        let Some(reference) = self.find(qualifier) else {
            return StatusWord::REFERENCED_DATA_NOT_FOUND;
        };
        match p1 {
            0x00 => {}
            0xFF if data.is_empty() => {
                if let Some(r) = self.find_mut(qualifier) {
                    r.verified = false;
                }
                return StatusWord::SUCCESS;
            }
            _ => return StatusWord::INCORRECT_P1_P2,
        }
        if data.is_empty() {
            return if reference.verified {
                StatusWord::SUCCESS
            } else if reference.tries_left == 0 {
                StatusWord::AUTHENTICATION_METHOD_BLOCKED
            } else {
                retries(reference.tries_left)
            };
        }
        if reference.tries_left == 0 {
            return StatusWord::AUTHENTICATION_METHOD_BLOCKED;
        }
        let probe = match probe_of(data) {
            Ok(p) => p,
            Err(sw) => return sw,
        };
        let score = matcher::score(&match_template(&probe), &reference.prepared);
        let matched = matcher::decision(score, FalseMatchRate::E4) == Decision::Match;
        let Some(r) = self.find_mut(qualifier) else {
            return StatusWord::REFERENCED_DATA_NOT_FOUND;
        };
        let sw = if matched {
            r.tries_left = moc::MAX_TRIES;
            r.verified = true;
            StatusWord::SUCCESS
        } else {
            r.tries_left = r.tries_left.saturating_sub(1);
            r.verified = false;
            retries(r.tries_left)
        };
        self.save();
        sw
    }

    /// CHANGE REFERENCE DATA of a biometric reference (module docs); `puk_verified` says
    /// whether the PUK was verified (the caller consumes that verification on success).
    pub(crate) fn enroll(
        &mut self,
        p1: u8,
        qualifier: u8,
        data: &[u8],
        puk_verified: bool,
    ) -> StatusWord {
        let Some(position) = moc::position_of_qualifier(qualifier) else {
            return StatusWord::REFERENCED_DATA_NOT_FOUND;
        };
        if p1 != 0x01 {
            return StatusWord::INCORRECT_P1_P2;
        }
        if !puk_verified {
            return StatusWord::SECURITY_STATUS_NOT_SATISFIED;
        }
        let template = match probe_of(data) {
            Ok(t) => t,
            Err(sw) => return sw,
        };
        self.install(position, template, moc::MAX_TRIES);
        self.save();
        StatusWord::SUCCESS
    }
}

/// The minutiae of VERIFY data, or the status word that refuses it.
fn probe_of(data: &[u8]) -> Result<Vec<CompactMinutia>, StatusWord> {
    let bytes = moc::minutiae_of_verify_data(data).ok_or(StatusWord::INCORRECT_DATA)?;
    check_minutiae(bytes)
}

/// `63Cx`: no match, x tries left.
fn retries(left: u8) -> StatusWord {
    StatusWord::from_bytes(0x63, 0xC0 | left.min(0x0F))
}

fn encode(minutiae: &[CompactMinutia]) -> Vec<u8> {
    iso19794_2_card::encode_compact(minutiae).unwrap_or_default()
}

/// State file format (text, one line per finger): `finger <position> <tries> <template hex>`.
fn parse_state(text: &str) -> Result<Vec<(u8, u8, Vec<CompactMinutia>)>, std::io::Error> {
    let bad = |n: usize| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("bad biometric state line {n}"),
        )
    };
    let mut out = Vec::new();
    for (n, line) in text.lines().map(str::trim).enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let ["finger", position, tries, template] = fields.as_slice() else {
            return Err(bad(n + 1));
        };
        let position = position
            .parse::<u8>()
            .ok()
            .filter(|p| moc::qualifier_of_position(*p).is_some())
            .ok_or_else(|| bad(n + 1))?;
        let tries = tries.parse::<u8>().map_err(|_| bad(n + 1))?;
        let template = hex::decode(template)
            .ok()
            .and_then(|b| check_minutiae(&b).ok())
            .ok_or_else(|| bad(n + 1))?;
        out.push((position, tries, template));
    }
    Ok(out)
}

fn write_state(path: &Path, references: &[Reference]) -> std::io::Result<()> {
    let mut text = String::from(
        "# shenas-sim biometric state: retry counters and compact-card references (simulated card, no security)\n",
    );
    for r in references {
        text.push_str(&format!(
            "finger {} {} {}\n",
            r.position,
            r.tries_left,
            hex::encode(encode(&r.template))
        ));
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A synthetic template of `n` random minutiae in x-y order (not a fingerprint).
    fn template(n: u8, seed: u8) -> Vec<u8> {
        let mut state = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        };
        let mut m: Vec<[u8; 3]> = (0..n)
            .map(|_| [20 + next() % 200, 20 + next() % 200, 0x40 | (next() % 64)])
            .collect();
        m.sort_by_key(|c| (c[0], c[1]));
        m.concat()
    }

    fn biometrics(file: Option<&Path>) -> Biometrics {
        let fingers = [FingerSetup {
            position: 2,
            template: template(30, 0),
            tries_left: moc::MAX_TRIES,
        }];
        Biometrics::new(&fingers, file).unwrap_or_else(|_| Biometrics {
            references: Vec::new(),
            state_file: None,
        })
    }

    #[test]
    fn verify_counts_blocks_and_refuses_malformed_probes() {
        let mut b = biometrics(None);
        assert_eq!(b.verify(0, 0x92, &[]).value(), 0x63C5);
        let genuine = moc::verify_data(&template(30, 0));
        assert_eq!(b.verify(0, 0x92, &genuine).value(), 0x9000);
        assert!(b.is_verified(0x92));
        assert_eq!(b.verify(0, 0x92, &[]).value(), 0x9000);
        assert_eq!(b.verify(0xFF, 0x92, &[]).value(), 0x9000);
        assert!(!b.is_verified(0x92));
        for bad in [
            vec![0x7F, 0x2E, 0x02, 0x81],
            moc::verify_data(&template(30, 0)[..89]),
            moc::verify_data(&template(11, 0)),
            moc::verify_data(&template(61, 0)),
            moc::verify_data(&[[1, 2, 0xC0]; 20].concat()),
            vec![0x81, 0x03, 1, 2, 3],
        ] {
            let sw = b.verify(0, 0x92, &bad).value();
            assert!(sw == 0x6A80 || sw == 0x6700, "{sw:04X}");
        }
        let mut reversed = template(30, 0);
        reversed.reverse();
        let unordered: Vec<u8> = reversed
            .chunks(3)
            .flat_map(|c| c.iter().rev().copied().collect::<Vec<_>>())
            .collect();
        assert_eq!(
            b.verify(0, 0x92, &moc::verify_data(&unordered)).value(),
            0x6A80
        );
        assert_eq!(
            b.tries_left(0x92),
            Some(5),
            "malformed probes spend nothing"
        );
        let impostor = moc::verify_data(&template(30, 99));
        for left in (0..5u16).rev() {
            assert_eq!(b.verify(0, 0x92, &impostor).value(), 0x63C0 | left);
        }
        assert_eq!(b.verify(0, 0x92, &genuine).value(), 0x6983);
        assert_eq!(b.verify(0, 0x92, &[]).value(), 0x6983);
        assert_eq!(b.verify(0, 0x97, &genuine).value(), 0x6A88);
        assert_eq!(b.verify(0x01, 0x92, &genuine).value(), 0x6A86);
    }

    #[test]
    fn enrolment_needs_the_puk_and_resets_the_counter() {
        let mut b = biometrics(None);
        let data = moc::verify_data(&template(20, 7));
        assert_eq!(b.enroll(1, 0x97, &data, false).value(), 0x6982);
        assert_eq!(b.enroll(0, 0x97, &data, true).value(), 0x6A86);
        assert_eq!(b.enroll(1, 0x81, &data, true).value(), 0x6A88);
        assert_eq!(b.enroll(1, 0x97, &[0x7F], true).value(), 0x6A80);
        assert_eq!(b.enroll(1, 0x97, &data, true).value(), 0x9000);
        assert_eq!(b.tries_left(0x97), Some(5));
        assert_eq!(b.verify(0, 0x97, &data).value(), 0x9000);
        let group = shenas_cards::moc::parse_bit_group(&b.bit_group()).unwrap_or_default();
        let positions: Vec<_> = group
            .iter()
            .filter_map(BiometricReference::finger_position)
            .collect();
        assert_eq!(positions, vec![2, 7]);
    }

    #[test]
    fn state_file_keeps_counters_and_references() {
        let dir = std::env::temp_dir().join(format!("shenas-moc-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("state");
        let _ = std::fs::remove_file(state_path(Some(&file)).unwrap_or_default());
        let mut b = biometrics(Some(&file));
        let _ = b.verify(0, 0x92, &moc::verify_data(&template(30, 99)));
        assert_eq!(
            b.enroll(1, 0x97, &moc::verify_data(&template(20, 7)), true)
                .value(),
            0x9000
        );
        let again = biometrics(Some(&file));
        assert_eq!(again.tries_left(0x92), Some(4));
        assert_eq!(again.tries_left(0x97), Some(5));
        assert!(parse_state("finger 11 1 00").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_shows_counters_only() {
        let shown = format!("{:?}", biometrics(None));
        assert_eq!(shown, "[finger 2: 5 tries left]");
        let setup = FingerSetup {
            position: 2,
            template: template(30, 0),
            tries_left: 5,
        };
        assert!(!format!("{setup:?}").contains("10"), "{setup:?}");
    }

    proptest! {
        #[test]
        fn commands_never_panic(p1 in any::<u8>(), q in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut b = biometrics(None);
            let _ = b.verify(p1, q, &data);
            let _ = b.enroll(p1, q, &data, true);
            let _ = parse_state(&String::from_utf8_lossy(&data));
        }
    }
}
