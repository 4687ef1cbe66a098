//! The PC/SC transport (pcsc-lite through the `pcsc` crate): reader listing, card connections
//! with transactions and per-transmit timeouts, recovery when pcscd restarts, and a monitor of
//! reader and card changes.
//!
//! PC/SC calls block. A [`PcscCard`] owns one worker thread that owns the `pcsc::Card`; each
//! transmit is handed to it and waited for with a deadline, because `SCardCancel` interrupts
//! `SCardGetStatusChange` but not a pending `SCardTransmit`.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::Duration;

use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};
use tracing::{debug, trace, warn};

use crate::{Transport, TransportError};

/// Maps a PC/SC failure to what a caller acts on.
pub fn map_error(error: pcsc::Error) -> TransportError {
    use pcsc::Error as E;
    match error {
        E::NoService | E::ServiceStopped => TransportError::NoService,
        E::InvalidHandle => TransportError::Closed,
        E::UnknownReader | E::NoReadersAvailable => TransportError::NoReader,
        E::ReaderUnavailable => TransportError::ReaderUnavailable,
        E::NoSmartcard => TransportError::NoCard,
        E::RemovedCard => TransportError::CardRemoved,
        E::ResetCard => TransportError::CardReset,
        E::SharingViolation => TransportError::SharingViolation,
        E::Timeout => TransportError::Timeout(Duration::ZERO),
        E::NotTransacted => TransportError::CommunicationFailed,
        E::UnresponsiveCard | E::UnpoweredCard | E::UnsupportedCard => TransportError::Unresponsive,
        other => TransportError::Other {
            message: "PC/SC call failed",
            source: Some(Box::new(other)),
        },
    }
}

fn is_service_error(error: pcsc::Error) -> bool {
    matches!(
        error,
        pcsc::Error::NoService
            | pcsc::Error::ServiceStopped
            | pcsc::Error::InvalidHandle
            | pcsc::Error::CommError
    )
}

/// A reader and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderStatus {
    /// The reader's PC/SC name.
    pub name: String,
    /// A card is present.
    pub card_present: bool,
    /// Another application holds the card exclusively.
    pub exclusive: bool,
    /// The card's ATR, when a card is present.
    pub atr: Option<Vec<u8>>,
}

/// Options for connecting to a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Share the card with other applications (the default) or take it exclusively.
    pub exclusive: bool,
    /// How long one transmit may take before [`TransportError::Timeout`].
    pub timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        // Long enough for on-card key generation; short enough that a mute card does not
        // hold a worker for ever.
        Self {
            exclusive: false,
            timeout: Duration::from_secs(60),
        }
    }
}

/// A PC/SC context that re-establishes itself when pcscd went away and came back.
pub struct PcscContext {
    context: Option<Context>,
}

impl PcscContext {
    /// Connects to the PC/SC service.
    pub fn establish() -> Result<Self, TransportError> {
        let context = Context::establish(Scope::User).map_err(map_error)?;
        Ok(Self {
            context: Some(context),
        })
    }

    /// Runs `f` on the context; on a service failure establishes a fresh context and tries
    /// once more (pcscd restarted: the old context is dead for good).
    fn with_context<R>(
        &mut self,
        mut f: impl FnMut(&Context) -> Result<R, pcsc::Error>,
    ) -> Result<R, TransportError> {
        if let Some(context) = &self.context {
            match f(context) {
                Err(e) if is_service_error(e) => {
                    debug!(error = %e, "PC/SC context lost; establishing a new one");
                }
                other => return other.map_err(map_error),
            }
        }
        self.context = None;
        let context = Context::establish(Scope::User).map_err(map_error)?;
        let result = f(&context).map_err(map_error);
        self.context = Some(context);
        result
    }

    /// The readers PC/SC knows, with their cards.
    pub fn readers(&mut self) -> Result<Vec<ReaderStatus>, TransportError> {
        let names = match self.with_context(Context::list_readers_owned) {
            Ok(names) => names,
            Err(TransportError::NoReader) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut states: Vec<ReaderState> = names
            .into_iter()
            .map(|name| ReaderState::new(name, State::UNAWARE))
            .collect();
        if states.is_empty() {
            return Ok(Vec::new());
        }
        self.with_context(|ctx| ctx.get_status_change(Duration::ZERO, &mut states))?;
        Ok(states.iter().map(reader_status).collect())
    }

    /// Connects to the card in `reader`.
    pub fn connect(
        &mut self,
        reader: &str,
        options: ConnectOptions,
    ) -> Result<PcscCard, TransportError> {
        let name = CString::new(reader).map_err(|_| TransportError::NoReader)?;
        let share = if options.exclusive {
            ShareMode::Exclusive
        } else {
            ShareMode::Shared
        };
        let card = self.with_context(|ctx| ctx.connect(&name, share, Protocols::ANY))?;
        PcscCard::start(card, reader.to_owned(), share, options.timeout)
    }

    /// The first reader holding a card, or the one named.
    pub fn pick_reader(&mut self, named: Option<&str>) -> Result<ReaderStatus, TransportError> {
        let readers = self.readers()?;
        if readers.is_empty() {
            return Err(TransportError::NoReader);
        }
        let found = match named {
            Some(name) => readers
                .into_iter()
                .find(|r| r.name == name)
                .ok_or(TransportError::NoReader)?,
            None => readers
                .into_iter()
                .find(|r| r.card_present)
                .ok_or(TransportError::NoCard)?,
        };
        if found.card_present {
            Ok(found)
        } else {
            Err(TransportError::NoCard)
        }
    }
}

fn reader_status(state: &ReaderState) -> ReaderStatus {
    let event = state.event_state();
    let card_present = event.contains(State::PRESENT) && !event.contains(State::MUTE);
    ReaderStatus {
        name: state.name().to_string_lossy().into_owned(),
        card_present,
        exclusive: event.contains(State::EXCLUSIVE),
        atr: card_present.then(|| state.atr().to_vec()),
    }
}

type Reply<T> = mpsc::SyncSender<Result<T, TransportError>>;

enum Job {
    Transmit(Vec<u8>, Reply<Vec<u8>>),
    Atr(Reply<Vec<u8>>),
    Reset(Reply<Vec<u8>>),
    BeginTransaction(Reply<()>),
    EndTransaction(Reply<()>),
}

/// A connection to one card through PC/SC. Implements [`Transport`]; each transmit has a
/// deadline. Dropping it disconnects, leaving the card as it is (no reset).
pub struct PcscCard {
    jobs: mpsc::Sender<Job>,
    reader: String,
    timeout: Duration,
}

impl PcscCard {
    fn start(
        card: pcsc::Card,
        reader: String,
        share: ShareMode,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        let (jobs, queue) = mpsc::channel();
        thread::Builder::new()
            .name(format!("pcsc-card {reader}"))
            .spawn(move || card_worker(card, share, &queue))
            .map_err(|e| TransportError::Other {
                message: "cannot start the card thread",
                source: Some(Box::new(e)),
            })?;
        Ok(Self {
            jobs,
            reader,
            timeout,
        })
    }

    /// The reader this card sits in.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// Changes the per-transmit deadline.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    fn call<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, TransportError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.jobs
            .send(job(reply))
            .map_err(|_| TransportError::Closed)?;
        match answer.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(TransportError::Timeout(self.timeout)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(TransportError::Closed),
        }
    }

    /// Starts a PC/SC transaction: other applications cannot talk to the card until the
    /// returned guard is dropped. One card conversation belongs in one transaction.
    pub fn transaction(&mut self) -> Result<PcscTransaction<'_>, TransportError> {
        self.call(Job::BeginTransaction)?;
        Ok(PcscTransaction { card: self })
    }
}

impl Transport for PcscCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.call(|reply| Job::Transmit(command.to_vec(), reply))
    }

    fn atr(&mut self) -> Result<Vec<u8>, TransportError> {
        self.call(Job::Atr)
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.call(Job::Reset)
    }
}

/// An open PC/SC transaction on a [`PcscCard`]; ends (leaving the card) when dropped.
pub struct PcscTransaction<'card> {
    card: &'card mut PcscCard,
}

impl Transport for PcscTransaction<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.card.transmit(command)
    }
    fn atr(&mut self) -> Result<Vec<u8>, TransportError> {
        self.card.atr()
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.card.reset()
    }
}

impl Drop for PcscTransaction<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.card.call(Job::EndTransaction) {
            debug!(error = %e, "ending the PC/SC transaction failed");
        }
    }
}

/// A card handle jobs can run on: the card itself, or the card inside a transaction.
trait CardHandle: std::ops::Deref<Target = pcsc::Card> {
    fn reset(&mut self, share: ShareMode) -> Result<(), pcsc::Error>;
}

impl CardHandle for pcsc::Transaction<'_> {
    fn reset(&mut self, share: ShareMode) -> Result<(), pcsc::Error> {
        self.reconnect(share, Protocols::ANY, Disposition::ResetCard)
    }
}

/// `pcsc::Card` seen through the same interface as a transaction.
struct Direct<'card>(&'card mut pcsc::Card);

impl std::ops::Deref for Direct<'_> {
    type Target = pcsc::Card;
    fn deref(&self) -> &pcsc::Card {
        self.0
    }
}

impl CardHandle for Direct<'_> {
    fn reset(&mut self, share: ShareMode) -> Result<(), pcsc::Error> {
        self.0
            .reconnect(share, Protocols::ANY, Disposition::ResetCard)
    }
}

/// Answers a card job on `handle`; hands transaction jobs back to the caller.
fn serve(
    handle: &mut impl CardHandle,
    share: ShareMode,
    job: Job,
    buffer: &mut [u8],
) -> Option<Job> {
    match job {
        Job::Transmit(command, reply) => {
            let _ = reply.send(transmit(handle, &command, buffer));
        }
        Job::Atr(reply) => {
            let _ = reply.send(atr(handle));
        }
        Job::Reset(reply) => {
            let result = handle
                .reset(share)
                .map_err(map_error)
                .and_then(|()| atr(handle));
            let _ = reply.send(result);
        }
        other @ (Job::BeginTransaction(_) | Job::EndTransaction(_)) => return Some(other),
    }
    None
}

/// Owns the card; runs jobs in order. Inside a transaction the jobs run on the transaction.
fn card_worker(mut card: pcsc::Card, share: ShareMode, queue: &mpsc::Receiver<Job>) {
    let mut buffer = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
    while let Ok(job) = queue.recv() {
        match serve(&mut Direct(&mut card), share, job, &mut buffer) {
            None => {}
            // Nothing to end outside a transaction.
            Some(Job::EndTransaction(reply)) => {
                let _ = reply.send(Ok(()));
            }
            Some(Job::BeginTransaction(reply)) => {
                let mut transaction = match card.transaction() {
                    Ok(transaction) => transaction,
                    Err(e) => {
                        let _ = reply.send(Err(map_error(e)));
                        continue;
                    }
                };
                if reply.send(Ok(())).is_err() {
                    // The caller gave up waiting: do not hold the card.
                    continue;
                }
                while let Ok(job) = queue.recv() {
                    match serve(&mut transaction, share, job, &mut buffer) {
                        None => {}
                        Some(Job::EndTransaction(reply)) => {
                            let result = transaction
                                .end(Disposition::LeaveCard)
                                .map_err(|(_, e)| map_error(e));
                            let _ = reply.send(result);
                            break;
                        }
                        Some(Job::BeginTransaction(reply)) => {
                            let _ = reply.send(Err(TransportError::Other {
                                message: "transaction already open",
                                source: None,
                            }));
                        }
                        // `serve` answers every other job.
                        Some(_) => {}
                    }
                }
            }
            Some(_) => {}
        }
    }
    // Disconnect leaving the card as it is: dropping a `pcsc::Card` would reset it
    // (SCARD_RESET_CARD), and every other application's handle would then see the reset.
    if let Err((_, e)) = card.disconnect(Disposition::LeaveCard) {
        debug!(error = %e, "disconnecting from the card failed");
    }
}

fn transmit(
    card: &pcsc::Card,
    command: &[u8],
    buffer: &mut [u8],
) -> Result<Vec<u8>, TransportError> {
    let response = card.transmit(command, buffer).map_err(map_error)?;
    trace!(
        sent = command.len(),
        received = response.len(),
        "pcsc transmit"
    );
    Ok(response.to_vec())
}

fn atr(card: &pcsc::Card) -> Result<Vec<u8>, TransportError> {
    Ok(card.status2_owned().map_err(map_error)?.atr().to_vec())
}

/// A change the monitor saw.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReaderEvent {
    /// A reader appeared (also reported for each reader present when the monitor starts).
    ReaderAdded {
        /// Reader name.
        reader: String,
    },
    /// A reader disappeared.
    ReaderRemoved {
        /// Reader name.
        reader: String,
    },
    /// A card was inserted (also reported for each card present when the monitor starts).
    CardInserted {
        /// Reader name.
        reader: String,
        /// The card's ATR.
        atr: Vec<u8>,
    },
    /// A card was removed.
    CardRemoved {
        /// Reader name.
        reader: String,
    },
    /// The PC/SC service went away; the monitor keeps trying to reconnect.
    ServiceLost,
    /// The PC/SC service is reachable again.
    ServiceRestored,
}

/// How often the monitor retries a lost PC/SC service, and its longest wait between checks.
const MONITOR_POLL: Duration = Duration::from_millis(250);
const MONITOR_WAIT: Duration = Duration::from_secs(1);

/// Watches readers and cards on a thread of its own and reports [`ReaderEvent`]s. Survives
/// pcscd restarts. Stops when dropped or when the receiver is dropped.
pub struct ReaderMonitor {
    stop: Arc<AtomicBool>,
    context: Arc<Mutex<Option<Arc<Context>>>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl ReaderMonitor {
    /// Starts the monitor. The first events describe the readers and cards present now.
    pub fn spawn() -> Result<(Self, mpsc::Receiver<ReaderEvent>), TransportError> {
        let (events, receiver) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let context = Arc::new(Mutex::new(None));
        let worker = MonitorWorker {
            stop: Arc::clone(&stop),
            context: Arc::clone(&context),
            events,
            known: BTreeMap::new(),
            service_up: None,
        };
        let thread = thread::Builder::new()
            .name("pcsc-monitor".into())
            .spawn(move || worker.run())
            .map_err(|e| TransportError::Other {
                message: "cannot start the monitor thread",
                source: Some(Box::new(e)),
            })?;
        Ok((
            Self {
                stop,
                context,
                thread: Some(thread),
            },
            receiver,
        ))
    }
}

impl Drop for ReaderMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(context) = self
            .context
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            // Wakes SCardGetStatusChange; an error only means there was nothing to cancel.
            let _ = context.cancel();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct MonitorWorker {
    stop: Arc<AtomicBool>,
    context: Arc<Mutex<Option<Arc<Context>>>>,
    events: mpsc::Sender<ReaderEvent>,
    /// Reader name → ATR of the card in it and pcsc-lite's event count, if a card is there.
    known: BTreeMap<String, Option<(Vec<u8>, u32)>>,
    service_up: Option<bool>,
}

/// The receiver is gone: stop.
struct Hangup;

impl MonitorWorker {
    fn emit(&self, event: ReaderEvent) -> Result<(), Hangup> {
        debug!(?event, "reader event");
        self.events.send(event).map_err(|_| Hangup)
    }

    fn run(mut self) {
        while !self.stop.load(Ordering::SeqCst) {
            let context = match Context::establish(Scope::User) {
                Ok(context) => Arc::new(context),
                Err(e) => {
                    if self.service_lost(e).is_err() {
                        return;
                    }
                    thread::sleep(MONITOR_POLL);
                    continue;
                }
            };
            *self.context.lock().unwrap_or_else(PoisonError::into_inner) =
                Some(Arc::clone(&context));
            if self.service_up == Some(false) && self.emit(ReaderEvent::ServiceRestored).is_err() {
                return;
            }
            self.service_up = Some(true);
            match self.watch(&context) {
                Ok(()) => {}
                Err(None) => return,
                Err(Some(e)) => {
                    if self.service_lost(e).is_err() {
                        return;
                    }
                    thread::sleep(MONITOR_POLL);
                }
            }
            *self.context.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
    }

    /// The service is unreachable: forget every reader (reporting it) once.
    fn service_lost(&mut self, error: pcsc::Error) -> Result<(), Hangup> {
        if self.service_up == Some(false) {
            return Ok(());
        }
        warn!(%error, "PC/SC service lost");
        for reader in std::mem::take(&mut self.known)
            .into_keys()
            .collect::<Vec<_>>()
        {
            self.reader_gone(reader)?;
        }
        self.service_up = Some(false);
        self.emit(ReaderEvent::ServiceLost)
    }

    fn reader_gone(&mut self, reader: String) -> Result<(), Hangup> {
        // `known` no longer holds it; report its card first.
        self.emit(ReaderEvent::CardRemoved {
            reader: reader.clone(),
        })
        .ok();
        self.emit(ReaderEvent::ReaderRemoved { reader })
    }

    /// Watches until the service fails (`Err(Some)`), the receiver hangs up (`Err(None)`) or
    /// the monitor is stopped (`Ok`).
    fn watch(&mut self, context: &Context) -> Result<(), Option<pcsc::Error>> {
        let hangup = |_: Hangup| None;
        let pnp = pcsc::PNP_NOTIFICATION();
        let mut states = vec![ReaderState::new(pnp, State::UNAWARE)];
        while !self.stop.load(Ordering::SeqCst) {
            // pcsc-lite 1.9.9 can miss a reader added between two waits: list after every wake-up.
            let names = match context.list_readers_owned() {
                Ok(names) => names,
                Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
                Err(e) => return Err(Some(e)),
            };
            self.sync_readers(&names, &mut states).map_err(hangup)?;
            match context.get_status_change(MONITOR_WAIT, &mut states) {
                Ok(()) => {}
                Err(pcsc::Error::Timeout | pcsc::Error::Cancelled) => continue,
                Err(pcsc::Error::UnknownReader) => continue,
                Err(e) => return Err(Some(e)),
            }
            for state in states.iter_mut().skip(1) {
                if !state.event_state().contains(State::CHANGED) {
                    continue;
                }
                self.card_change(state).map_err(hangup)?;
                state.sync_current_state();
            }
            if let Some(pnp) = states.first_mut() {
                pnp.sync_current_state();
            }
        }
        Ok(())
    }

    fn sync_readers(
        &mut self,
        names: &[CString],
        states: &mut Vec<ReaderState>,
    ) -> Result<(), Hangup> {
        let listed: Vec<String> = names
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        let gone: Vec<String> = self
            .known
            .keys()
            .filter(|k| !listed.contains(k))
            .cloned()
            .collect();
        for reader in gone {
            let had_card = self.known.remove(&reader).flatten().is_some();
            states.retain(|s| s.name().to_string_lossy() != reader);
            if had_card {
                self.emit(ReaderEvent::CardRemoved {
                    reader: reader.clone(),
                })?;
            }
            self.emit(ReaderEvent::ReaderRemoved { reader })?;
        }
        for (name, text) in names.iter().zip(listed) {
            if !self.known.contains_key(&text) {
                self.known.insert(text.clone(), None);
                states.push(ReaderState::new(name.clone(), State::UNAWARE));
                self.emit(ReaderEvent::ReaderAdded { reader: text })?;
            }
        }
        Ok(())
    }

    fn card_change(&mut self, state: &ReaderState) -> Result<(), Hangup> {
        let status = reader_status(state);
        let count = state.event_count();
        let Some(slot) = self.known.get_mut(&status.name) else {
            return Ok(());
        };
        let before = slot.take();
        *slot = status.atr.clone().map(|atr| (atr, count));
        match (before, status.atr) {
            (None, Some(atr)) => self.emit(ReaderEvent::CardInserted {
                reader: status.name,
                atr,
            }),
            (Some(_), None) => self.emit(ReaderEvent::CardRemoved {
                reader: status.name,
            }),
            // pcsc-lite counts card events: present before and after with two or more events in
            // between (or another ATR) means the card was swapped between two waits.
            (Some((old_atr, old_count)), Some(atr))
                if old_atr != atr || count.wrapping_sub(old_count) >= 2 =>
            {
                self.emit(ReaderEvent::CardRemoved {
                    reader: status.name.clone(),
                })?;
                self.emit(ReaderEvent::CardInserted {
                    reader: status.name,
                    atr,
                })
            }
            _ => Ok(()),
        }
    }
}
