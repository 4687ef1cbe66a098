//! Readers and their workers: one OS thread per reader owns its PC/SC context and card, and runs
//! whole card conversations, one at a time, each inside one PC/SC transaction. Requests arrive
//! over a channel and are answered over a oneshot, so operations on one card are serialised and
//! different readers work in parallel. One monitor thread (`ReaderMonitor`) keeps the reader
//! table current and feeds the event stream.
//!
//! A client that goes away never leaves a card locked: the worker runs the conversation to its
//! end on its own thread and drops the transaction guard (`SCardEndTransaction`) whatever the
//! client does; a request whose client left before it started is skipped.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::Duration;

use shenas_apdu::TransportError;
use shenas_apdu::pcsc::{ConnectOptions, PcscCard, PcscContext, ReaderEvent, ReaderMonitor};
use shenas_dbus::api::{
    AuthenticateRequest, CardIdentity, CertificateInfo, IdentityDocument, PinKind, PinStatus,
    ReadIdentityRequest, ReaderList, Secret, SignRequest, SignatureReply,
};
use shenas_dbus::{ApiError, ErrorCode, ReaderInfo};
use tokio::sync::{broadcast, oneshot};
use tracing::{debug, info, warn};

use super::conversations::{CardConversations, transport_error};

/// A reader name that stands for "the first reader holding a card".
pub const ANY_READER: &str = "_";

/// One card operation, as a worker runs it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Operation {
    /// Identify the card.
    Identify,
    /// Read the identity.
    ReadIdentity(ReadIdentityRequest),
    /// Read the certificates.
    Certificates,
    /// Tries left on a PIN.
    PinStatus(PinKind),
    /// Verify a PIN.
    VerifyPin(PinKind, Secret),
    /// Change a PIN (old, new).
    ChangePin(PinKind, Secret, Secret),
    /// Unblock a PIN (PUK, new).
    UnblockPin(PinKind, Secret, Secret),
    /// Sign a hash.
    Sign(SignRequest),
    /// Authenticate over a challenge.
    Authenticate(AuthenticateRequest),
}

impl Operation {
    /// The operation's name in the audit log and the API.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Identify => "identify",
            Self::ReadIdentity(_) => "read_identity",
            Self::Certificates => "certificates",
            Self::PinStatus(_) => "pin_status",
            Self::VerifyPin(..) => "verify_pin",
            Self::ChangePin(..) => "change_pin",
            Self::UnblockPin(..) => "unblock_pin",
            Self::Sign(_) => "sign",
            Self::Authenticate(_) => "authenticate",
        }
    }
}

/// What a successful operation returns.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// From [`Operation::Identify`].
    Identity(CardIdentity),
    /// From [`Operation::ReadIdentity`].
    Document(Box<IdentityDocument>),
    /// From [`Operation::Certificates`].
    Certificates(Vec<CertificateInfo>),
    /// From the PIN operations.
    Pin(PinStatus),
    /// From [`Operation::Sign`] and [`Operation::Authenticate`].
    Signature(SignatureReply),
}

impl Outcome {
    /// The JSON document the API returns.
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            Self::Identity(v) => serde_json::to_value(v),
            Self::Document(v) => serde_json::to_value(v),
            Self::Certificates(v) => serde_json::to_value(v),
            Self::Pin(v) => serde_json::to_value(v),
            Self::Signature(v) => serde_json::to_value(v),
        };
        // Our plain wire structs always serialise.
        value.unwrap_or(serde_json::Value::Null)
    }
}

/// The answer of a worker: the result, the reader it ran on and the serial of the card it
/// talked to (for the audit log).
#[derive(Debug)]
pub struct Answer {
    /// The reader.
    pub reader: String,
    /// The card's serial, when known.
    pub card_serial: Option<String>,
    /// The result.
    pub result: Result<Outcome, ApiError>,
}

struct Job {
    operation: Operation,
    reply: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct Entry {
    atr: Option<Vec<u8>>,
    worker: Option<mpsc::Sender<Job>>,
}

struct Table {
    service_available: bool,
    readers: BTreeMap<String, Entry>,
}

/// The reader table, the workers and the event stream.
pub struct Readers {
    table: Mutex<Table>,
    events: broadcast::Sender<shenas_dbus::ReaderEvent>,
    conversations: Arc<dyn CardConversations>,
    card_timeout: Duration,
    stop: Arc<AtomicBool>,
    monitor: Mutex<Option<thread::JoinHandle<()>>>,
}

impl Readers {
    /// Reads the readers present now and starts the monitor thread.
    pub fn start(
        conversations: Arc<dyn CardConversations>,
        card_timeout: Duration,
    ) -> Result<Arc<Self>, std::io::Error> {
        let (events, _) = broadcast::channel(256);
        let mut table = Table {
            service_available: false,
            readers: BTreeMap::new(),
        };
        match PcscContext::establish().and_then(|mut c| c.readers()) {
            Ok(present) => {
                table.service_available = true;
                for reader in present {
                    table.readers.insert(
                        reader.name,
                        Entry {
                            atr: reader.atr,
                            worker: None,
                        },
                    );
                }
            }
            Err(e) => info!(error = %e, "no smart-card service yet; waiting for it"),
        }
        let readers = Arc::new(Self {
            table: Mutex::new(table),
            events,
            conversations,
            card_timeout,
            stop: Arc::new(AtomicBool::new(false)),
            monitor: Mutex::new(None),
        });
        let weak = Arc::downgrade(&readers);
        let stop = Arc::clone(&readers.stop);
        let handle = thread::Builder::new()
            .name("shenasd-monitor".into())
            .spawn(move || {
                let (monitor, events) = match ReaderMonitor::spawn() {
                    Ok(pair) => pair,
                    Err(e) => {
                        warn!(error = %e, "cannot start the reader monitor");
                        return;
                    }
                };
                while !stop.load(Ordering::SeqCst) {
                    match events.recv_timeout(Duration::from_millis(100)) {
                        Ok(event) => match weak.upgrade() {
                            Some(readers) => readers.apply(event),
                            None => break,
                        },
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
                drop(monitor);
            })?;
        *readers
            .monitor
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(handle);
        Ok(readers)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies a monitor event to the table and publishes it.
    fn apply(&self, event: ReaderEvent) {
        use shenas_dbus::ReaderEvent as W;
        let wire = {
            let mut table = self.lock();
            match event {
                ReaderEvent::ReaderAdded { reader } => {
                    table.service_available = true;
                    table.readers.entry(reader.clone()).or_default();
                    W::ReaderAdded { reader }
                }
                ReaderEvent::ReaderRemoved { reader } => {
                    // Dropping the entry drops the worker's queue: it ends after its job.
                    table.readers.remove(&reader);
                    W::ReaderRemoved { reader }
                }
                ReaderEvent::CardInserted { reader, atr } => {
                    let hex = hex::encode_upper(&atr);
                    table.readers.entry(reader.clone()).or_default().atr = Some(atr);
                    W::CardInserted { reader, atr: hex }
                }
                ReaderEvent::CardRemoved { reader } => {
                    if let Some(entry) = table.readers.get_mut(&reader) {
                        entry.atr = None;
                    }
                    W::CardRemoved { reader }
                }
                ReaderEvent::ServiceLost => {
                    table.service_available = false;
                    W::ServiceLost
                }
                ReaderEvent::ServiceRestored => {
                    table.service_available = true;
                    W::ServiceRestored
                }
                _ => return,
            }
        };
        debug!(?wire, "reader event");
        // No subscriber is not an error.
        let _ = self.events.send(wire);
    }

    /// A receiver of every later event.
    pub fn subscribe(&self) -> broadcast::Receiver<shenas_dbus::ReaderEvent> {
        self.events.subscribe()
    }

    /// The readers as last seen (no PC/SC call).
    pub fn list(&self) -> ReaderList {
        let table = self.lock();
        ReaderList {
            service_available: table.service_available,
            readers: table
                .readers
                .iter()
                .map(|(name, entry)| ReaderInfo {
                    name: name.clone(),
                    card_present: entry.atr.is_some(),
                    exclusive: false,
                    atr: entry.atr.as_deref().map(hex::encode_upper),
                })
                .collect(),
        }
    }

    /// Whether the smart-card service is reachable.
    pub fn service_available(&self) -> bool {
        self.lock().service_available
    }

    /// Runs `operation` on the card in `reader` ([`ANY_READER`]: the first holding a card).
    pub async fn run(&self, reader: &str, operation: Operation) -> Answer {
        let (reply, answer) = oneshot::channel();
        let (name, sent) = {
            let mut table = self.lock();
            let name = if reader == ANY_READER {
                table
                    .readers
                    .iter()
                    .find(|(_, e)| e.atr.is_some())
                    .map(|(n, _)| n.clone())
            } else {
                table
                    .readers
                    .contains_key(reader)
                    .then(|| reader.to_owned())
            };
            let fail = |code, name: &str| Answer {
                reader: name.to_owned(),
                card_serial: None,
                result: Err(ApiError::new(code)),
            };
            let Some(name) = name else {
                let code = if !table.service_available {
                    ErrorCode::NoService
                } else if reader == ANY_READER {
                    ErrorCode::NoCard
                } else {
                    ErrorCode::NoReader
                };
                return fail(code, reader);
            };
            let Some(entry) = table.readers.get_mut(&name) else {
                return fail(ErrorCode::NoReader, &name);
            };
            if entry.atr.is_none() {
                return fail(ErrorCode::NoCard, &name);
            }
            let job = Job { operation, reply };
            let job = match &entry.worker {
                Some(worker) => match worker.send(job) {
                    Ok(()) => None,
                    // The worker ended (it never does on its own; a panic would): start anew.
                    Err(mpsc::SendError(job)) => Some(job),
                },
                None => Some(job),
            };
            let sent = match job {
                None => Ok(()),
                Some(job) => match self.spawn_worker(&name) {
                    Ok(worker) => {
                        let sent = worker.send(job).map_err(|_| ());
                        entry.worker = Some(worker);
                        sent
                    }
                    Err(e) => {
                        warn!(error = %e, "cannot start a reader worker");
                        Err(())
                    }
                },
            };
            (name, sent)
        };
        if sent.is_err() {
            return Answer {
                reader: name,
                card_serial: None,
                result: Err(ApiError::new(ErrorCode::Unavailable)),
            };
        }
        answer.await.unwrap_or(Answer {
            reader: name,
            card_serial: None,
            result: Err(ApiError::new(ErrorCode::Internal)),
        })
    }

    fn spawn_worker(&self, reader: &str) -> std::io::Result<mpsc::Sender<Job>> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let mut worker = Worker {
            reader: reader.to_owned(),
            conversations: Arc::clone(&self.conversations),
            timeout: self.card_timeout,
            context: None,
            card: None,
        };
        thread::Builder::new()
            .name(format!("shenasd-reader {reader}"))
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    if job.reply.is_closed() {
                        debug!(reader = %worker.reader, "client left before its operation started");
                        continue;
                    }
                    let answer = worker.run(job.operation);
                    // The client may have left meanwhile; the card is released either way.
                    let _ = job.reply.send(answer);
                }
                debug!(reader = %worker.reader, "reader worker ends");
            })?;
        Ok(jobs)
    }

    /// Stops the monitor and lets every worker end after its current job.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let handle = self
            .monitor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
        for entry in self.lock().readers.values_mut() {
            entry.worker = None;
        }
    }
}

struct Connected {
    card: PcscCard,
    atr: Vec<u8>,
    serial: Option<String>,
}

/// The state a reader worker thread owns.
struct Worker {
    reader: String,
    conversations: Arc<dyn CardConversations>,
    timeout: Duration,
    context: Option<PcscContext>,
    card: Option<Connected>,
}

/// Failures after which the card handle (or the context) is not worth keeping.
fn handle_is_stale(error: &TransportError) -> bool {
    matches!(
        error,
        TransportError::CardRemoved
            | TransportError::CardReset
            | TransportError::Closed
            | TransportError::NoService
            | TransportError::CommunicationFailed
            | TransportError::Timeout(_)
            | TransportError::Unresponsive
    )
}

impl Worker {
    fn connect(&mut self) -> Result<&mut Connected, TransportError> {
        if self.card.is_none() {
            if self.context.is_none() {
                self.context = Some(PcscContext::establish()?);
            }
            let context = self.context.as_mut().ok_or(TransportError::Closed)?;
            let options = ConnectOptions {
                timeout: self.timeout,
                ..ConnectOptions::default()
            };
            let mut card = context.connect(&self.reader, options)?;
            let atr = shenas_apdu::Transport::atr(&mut card)?;
            let serial = {
                let mut transaction = card.transaction()?;
                self.conversations
                    .identify(&mut transaction, &self.reader, &atr)
                    .ok()
                    .and_then(|id| id.serial)
            };
            debug!(reader = %self.reader, "connected to the card");
            self.card = Some(Connected { card, atr, serial });
        }
        // Set just above when it was empty.
        self.card.as_mut().ok_or(TransportError::Closed)
    }

    fn run(&mut self, operation: Operation) -> Answer {
        let mut retried = false;
        let conversations = Arc::clone(&self.conversations);
        let reader = self.reader.clone();
        loop {
            let connected = match self.connect() {
                Ok(connected) => connected,
                Err(e) => {
                    if matches!(e, TransportError::NoService | TransportError::Closed) {
                        self.context = None;
                    }
                    if !retried && handle_is_stale(&e) {
                        retried = true;
                        continue;
                    }
                    return self.answer(Err(transport_error(&e)));
                }
            };
            let atr = connected.atr.clone();
            let began = match connected.card.transaction() {
                Ok(mut transaction) => {
                    let mut card = shenas_cards::session::Counting::new(&mut transaction);
                    let result =
                        converse(conversations.as_ref(), &mut card, &reader, &atr, &operation);
                    Ok((result, card.answered()))
                    // `transaction` drops here: SCardEndTransaction, whatever happened.
                }
                Err(e) => Err(e),
            };
            // pcscd refuses a transmit on a handle that predates a reset of the card (its own
            // power-off after the grace period, or another application's reset) before sending
            // anything. When not one command of this conversation reached the card, connecting
            // afresh and running it once more sends nothing twice: no PIN is presented again.
            let began = match began {
                Ok((Err(e), 0)) if !retried && e.code == ErrorCode::CardReset => {
                    self.card = None;
                    retried = true;
                    continue;
                }
                Ok((result, _)) => Ok(result),
                Err(e) => Err(e),
            };
            let result = match began {
                Ok(result) => result,
                Err(e) => {
                    self.card = None;
                    if matches!(e, TransportError::NoService | TransportError::Closed) {
                        self.context = None;
                    }
                    if !retried && handle_is_stale(&e) {
                        // The old handle belonged to a card since removed or reset, or to a
                        // pcscd since restarted: connect afresh once.
                        retried = true;
                        continue;
                    }
                    Err(transport_error(&e))
                }
            };
            if let (Ok(Outcome::Identity(id)), Some(connected)) = (&result, self.card.as_mut()) {
                connected.serial.clone_from(&id.serial);
            }
            if let Err(e) = &result
                && matches!(
                    e.code,
                    ErrorCode::CardRemoved
                        | ErrorCode::CardReset
                        | ErrorCode::NoService
                        | ErrorCode::Timeout
                        | ErrorCode::CardUnresponsive
                )
            {
                let serial = self.card.take().and_then(|c| c.serial);
                return Answer {
                    reader: self.reader.clone(),
                    card_serial: serial,
                    result,
                };
            }
            return self.answer(result);
        }
    }

    fn answer(&self, result: Result<Outcome, ApiError>) -> Answer {
        Answer {
            reader: self.reader.clone(),
            card_serial: self.card.as_ref().and_then(|c| c.serial.clone()),
            result,
        }
    }
}

fn converse(
    conversations: &dyn CardConversations,
    card: &mut dyn shenas_apdu::Transport,
    reader: &str,
    atr: &[u8],
    operation: &Operation,
) -> Result<Outcome, ApiError> {
    Ok(match operation {
        Operation::Identify => Outcome::Identity(conversations.identify(card, reader, atr)?),
        Operation::ReadIdentity(request) => {
            Outcome::Document(Box::new(conversations.read_identity(card, request)?))
        }
        Operation::Certificates => Outcome::Certificates(conversations.certificates(card)?),
        Operation::PinStatus(pin) => Outcome::Pin(conversations.pin_status(card, *pin)?),
        Operation::VerifyPin(pin, value) => {
            Outcome::Pin(conversations.verify_pin(card, *pin, value)?)
        }
        Operation::ChangePin(pin, old, new) => {
            Outcome::Pin(conversations.change_pin(card, *pin, old, new)?)
        }
        Operation::UnblockPin(pin, puk, new) => {
            Outcome::Pin(conversations.unblock_pin(card, *pin, puk, new)?)
        }
        Operation::Sign(request) => Outcome::Signature(conversations.sign_hash(card, request)?),
        Operation::Authenticate(request) => {
            Outcome::Signature(conversations.authenticate(card, request)?)
        }
    })
}
