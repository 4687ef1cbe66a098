//! A simulated fingerprint scanner built on the generator, implementing
//! [`shenas_biometrics::capture::Scanner`]. For tests and demos only: it provides no security.
//!
//! The test (or demo) drives the "user": [`SimulatedScanner::place`] puts finger *n* on the
//! sensor in a [`Condition`] and queues [`ScannerEvent::FingerPlaced`]; [`SimulatedScanner::lift`]
//! queues [`ScannerEvent::FingerLifted`]; [`SimulatedScanner::unplug`] disconnects. Each capture
//! renders a fresh impression of the finger's master (impression numbers count up per finger),
//! so successive captures differ like real ones.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use shenas_biometrics::capture::{
    Capture, Scanner, ScannerError, ScannerEvent, ScannerInfo, SensorKind, SensorTechnology,
};

use crate::impression::{ImpressionParams, Skin};
use crate::{Finger, FingersimError, HEIGHT, PPI, Tier, WIDTH, noise};

/// How the finger touches the sensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Condition {
    /// As the tier draws it.
    Normal,
    /// Dry skin: thin, broken ridges.
    Dry,
    /// Wet skin: thick, merged ridges.
    Wet,
    /// Only part of the finger touches (tip or side).
    Partial,
    /// The finger leaves before the image is complete: the capture fails with
    /// [`ScannerError::FingerLifted`] and a [`ScannerEvent::FingerLifted`] follows.
    FastLift,
}

/// The simulated scanner.
pub struct SimulatedScanner {
    seed: u64,
    tier: Tier,
    fingers: HashMap<u32, Finger>,
    counts: HashMap<u32, u32>,
    on_sensor: Option<(u32, Condition)>,
    events: VecDeque<ScannerEvent>,
    connected: bool,
}

impl std::fmt::Debug for SimulatedScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedScanner")
            .field("tier", &self.tier)
            .field("connected", &self.connected)
            .field("finger_on_sensor", &self.on_sensor.is_some())
            .finish_non_exhaustive()
    }
}

impl SimulatedScanner {
    /// A connected scanner with no finger on it; fingers are those of the database `seed`.
    pub fn new(seed: u64, tier: Tier) -> Self {
        Self {
            seed,
            tier,
            fingers: HashMap::new(),
            counts: HashMap::new(),
            on_sensor: None,
            events: VecDeque::new(),
            connected: true,
        }
    }

    /// Puts finger `finger` (from 1) on the sensor.
    pub fn place(&mut self, finger: u32, condition: Condition) {
        if self.on_sensor.is_some() {
            self.lift();
        }
        self.on_sensor = Some((finger, condition));
        self.events.push_back(ScannerEvent::FingerPlaced);
    }

    /// Lifts the finger (no effect without one).
    pub fn lift(&mut self) {
        if self.on_sensor.take().is_some() {
            self.events.push_back(ScannerEvent::FingerLifted);
        }
    }

    /// Unplugs the scanner: a [`ScannerEvent::Disconnected`], then every call fails with
    /// [`ScannerError::Disconnected`].
    pub fn unplug(&mut self) {
        if self.connected {
            self.connected = false;
            self.on_sensor = None;
            self.events.push_back(ScannerEvent::Disconnected);
        }
    }

    fn render(&mut self, finger: u32, condition: Condition) -> Result<Capture, FingersimError> {
        let n = self.counts.entry(finger).or_insert(0);
        *n += 1;
        let impression = *n;
        let seed = self.seed;
        let f = self
            .fingers
            .entry(finger)
            .or_insert_with(|| Finger::new(seed, finger));
        let mut rng = noise::stream(seed, finger, impression, 100);
        let mut params = ImpressionParams::draw(self.tier, &mut rng);
        match condition {
            Condition::Dry => params.skin = Skin::Dry(0.75),
            Condition::Wet => params.skin = Skin::Wet(0.65),
            Condition::Partial => {
                let a = f32::from(u8::try_from(impression % 8).unwrap_or(0))
                    * core::f32::consts::FRAC_PI_4;
                params.area_scale = 0.62;
                params.area_offset = (90.0 * a.cos(), 110.0 * a.sin());
            }
            Condition::Normal | Condition::FastLift => {}
        }
        let started = std::time::Instant::now();
        let imp = f.render(impression, &params, &mut rng)?;
        Ok(Capture {
            image: imp.image,
            duration: Some(started.elapsed()),
        })
    }
}

impl Scanner for SimulatedScanner {
    fn info(&self) -> ScannerInfo {
        ScannerInfo {
            vendor: "Shenas".into(),
            model: format!("simulated scanner ({})", self.tier.name()),
            usb_id: None,
            width: u16::try_from(WIDTH).unwrap_or(u16::MAX),
            height: u16::try_from(HEIGHT).unwrap_or(u16::MAX),
            resolution_ppi: PPI,
            technology: SensorTechnology::Simulated,
            kind: SensorKind::Area,
            finger_detection: true,
        }
    }

    /// Returns the next queued event at once (simulated time does not pass).
    fn wait_event(&mut self, _timeout: Duration) -> Result<Option<ScannerEvent>, ScannerError> {
        match self.events.pop_front() {
            Some(e) => Ok(Some(e)),
            None if !self.connected => Err(ScannerError::Disconnected),
            None => Ok(None),
        }
    }

    /// Renders an impression of the finger on the sensor; [`ScannerError::Timeout`] when there
    /// is none (at once: the simulated user does not act during the wait).
    fn capture(&mut self, _timeout: Duration) -> Result<Capture, ScannerError> {
        if !self.connected {
            return Err(ScannerError::Disconnected);
        }
        let Some((finger, condition)) = self.on_sensor else {
            return Err(ScannerError::Timeout);
        };
        if condition == Condition::FastLift {
            self.lift();
            return Err(ScannerError::FingerLifted);
        }
        self.render(finger, condition).map_err(|e| match e {
            FingersimError::Image(i) => ScannerError::Image(i),
            other => ScannerError::Transport(Box::new(other)),
        })
    }
}
