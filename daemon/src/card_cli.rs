//! The card commands of the `shenas` CLI: `identify`, `read`, `certs`, `pin`, `sign`.
//!
//! Each runs one [`CardSession`] inside one PC/SC transaction on the chosen reader.
//! Configuration (`--config FILE`, else `$SHENAS_CONFIG`, else `/etc/shenas/shenas.toml` when
//! it exists) names the issuer service and the trust anchors:
//!
//! ```toml
//! [issuer]
//! url = "http://127.0.0.1:24790"   # the issuer authority's service
//! [trust]
//! anchors = ["/etc/shenas/anchors/national-root.pem"]
//! ```
//!
//! With no configuration the simulated issuer (in process) and the simulated national root CA
//! are used, and the output says so (`"trust": "simulated"`, `"issuer": "simulated"`). A
//! configuration naming real anchors disables the simulated ones.
//!
//! PINs come from a prompt (no echo) when stdin is a terminal, else one per line on stdin —
//! never from the command line.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use shenas_cards::issuer::IssuerAuthority;
use shenas_cards::pki::TrustAnchors;
use shenas_cards::profile::{KeyRole, PinKind};
use shenas_cards::session::{CardSession, Pin, PinStatus, SessionError};

/// The CLI's configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The issuer authority.
    #[serde(default)]
    pub issuer: IssuerConfig,
    /// The trust anchors.
    #[serde(default)]
    pub trust: TrustConfig,
}

/// `[issuer]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The issuer service's base URL; absent: the simulated issuer.
    pub url: Option<String>,
}

/// `[trust]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// Files of trust anchors (PEM or DER); empty: the simulated national root CA.
    #[serde(default)]
    pub anchors: Vec<PathBuf>,
}

/// What went wrong in a card command.
#[derive(Debug, thiserror::Error)]
pub enum CardCliError {
    /// The card session failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// No PIN could be read.
    #[error("cannot read the PIN: {0}")]
    PinInput(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The signature container could not be made.
    #[error("cannot make the signature: {0}")]
    Signature(String),
}

impl CardCliError {
    /// A stable code for `--json`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Session(e) => e.code(),
            Self::Config(_) => "config",
            Self::PinInput(_) => "pin_input",
            Self::File { .. } => "file",
            Self::Signature(_) => "signature",
        }
    }
}

/// Where the issuer and the anchors came from.
pub struct Context {
    /// The issuer authority.
    pub issuer: Box<dyn IssuerAuthority>,
    /// `simulated` or `configured`.
    pub issuer_kind: &'static str,
    /// The trust anchors.
    pub anchors: TrustAnchors,
}

impl Context {
    /// `simulated` when the anchors are the simulated ones, else `configured`.
    pub fn trust(&self) -> &'static str {
        if self.anchors.is_simulated() {
            "simulated"
        } else {
            "configured"
        }
    }
}

/// Loads the configuration: the named file, else `$SHENAS_CONFIG`, else the system file when it
/// exists, else defaults.
pub fn load_config(named: Option<&Path>) -> Result<Config, CardCliError> {
    let path = named
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("SHENAS_CONFIG").map(PathBuf::from))
        .or_else(|| {
            let system = PathBuf::from("/etc/shenas/shenas.toml");
            system.exists().then_some(system)
        });
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(&path).map_err(|source| CardCliError::File {
        path: path.clone(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| CardCliError::Config(format!("{}: {e}", path.display())))
}

/// The issuer and the anchors the configuration names (or the simulated ones).
pub fn context(config: &Config) -> Result<Context, CardCliError> {
    let anchors = if config.trust.anchors.is_empty() {
        simulated_anchors()?
    } else {
        TrustAnchors::from_files(&config.trust.anchors)
            .map_err(|e| CardCliError::Config(format!("trust anchors: {e}")))?
    };
    let (issuer, issuer_kind): (Box<dyn IssuerAuthority>, _) = match &config.issuer.url {
        Some(url) => (
            Box::new(
                shenas_cards::issuer::http::HttpIssuer::new(url)
                    .map_err(|e| CardCliError::Config(format!("issuer: {e}")))?,
            ),
            "configured",
        ),
        None => (simulated_issuer()?, "simulated"),
    };
    Ok(Context {
        issuer,
        issuer_kind,
        anchors,
    })
}

#[cfg(feature = "simulated")]
fn simulated_anchors() -> Result<TrustAnchors, CardCliError> {
    Ok(TrustAnchors::simulated())
}

#[cfg(not(feature = "simulated"))]
fn simulated_anchors() -> Result<TrustAnchors, CardCliError> {
    Err(CardCliError::Config(
        "no trust anchors configured, and this build has no simulated ones".into(),
    ))
}

#[cfg(feature = "simulated")]
fn simulated_issuer() -> Result<Box<dyn IssuerAuthority>, CardCliError> {
    Ok(Box::new(shenas_simulators::issuer::SimulatedIssuer::new()))
}

#[cfg(not(feature = "simulated"))]
fn simulated_issuer() -> Result<Box<dyn IssuerAuthority>, CardCliError> {
    Err(CardCliError::Config(
        "no issuer configured, and this build has no simulated one".into(),
    ))
}

/// Reads one PIN per prompt: prompts without echo on a terminal, else one line each from stdin.
pub fn read_pins<const N: usize>(prompts: [&str; N]) -> Result<[Pin; N], CardCliError> {
    let stdin = std::io::stdin();
    let mut pins = Vec::with_capacity(prompts.len());
    if stdin.is_terminal() {
        for prompt in prompts {
            let typed = rpassword::prompt_password(format!("{prompt}: "))
                .map_err(|e| CardCliError::PinInput(e.to_string()))?;
            let pin = Pin::new(&typed);
            drop(zeroize::Zeroizing::new(typed));
            pins.push(pin);
        }
        return into_array(pins);
    }
    let mut lock = stdin.lock();
    for prompt in prompts {
        let mut line = zeroize::Zeroizing::new(String::new());
        let n = lock
            .read_line(&mut line)
            .map_err(|e| CardCliError::PinInput(e.to_string()))?;
        if n == 0 {
            return Err(CardCliError::PinInput(format!(
                "stdin ended before the {}",
                prompt.to_lowercase()
            )));
        }
        pins.push(Pin::new(&line));
    }
    into_array(pins)
}

fn into_array<const N: usize>(pins: Vec<Pin>) -> Result<[Pin; N], CardCliError> {
    // One PIN was pushed per prompt above.
    pins.try_into()
        .map_err(|_| CardCliError::PinInput("a PIN is missing".into()))
}

/// The `pin` subcommands' PIN names.
pub fn pin_kind(name: &str) -> Option<PinKind> {
    match name {
        "id" | "id-pin" | "id_pin" => Some(PinKind::IdPin),
        "sign" | "sign-pin" | "sign_pin" => Some(PinKind::SignPin),
        "puk" => Some(PinKind::Puk),
        _ => None,
    }
}

/// JSON of `shenas identify`.
#[derive(Debug, Serialize)]
pub struct IdentifyOutput {
    /// The reader.
    pub reader: String,
    /// The identification.
    #[serde(flatten)]
    pub identification: shenas_cards::session::Identification,
}

/// Runs `identify`.
pub fn identify<T: shenas_apdu::Transport>(
    session: &mut CardSession<T>,
    reader: &str,
    json: bool,
    out: &mut impl Write,
) -> Result<(), CardCliError> {
    let identification = session.identify()?;
    if json {
        let o = IdentifyOutput {
            reader: reader.into(),
            identification,
        };
        writeln!(out, "{}", to_json(&o)).map_err(output_error)?;
    } else {
        let i = &identification;
        writeln!(
            out,
            "reader\t{reader}\nprofile\t{} ({})\ncard serial\t{}\nchip version\t{}\nprofile version\t{}",
            i.profile_name,
            i.profile,
            i.card_serial,
            i.chip_version.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
            i.profile_version.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
        )
        .map_err(output_error)?;
    }
    Ok(())
}

/// Runs `read`.
pub fn read<T: shenas_apdu::Transport>(
    session: &mut CardSession<T>,
    ctx: &Context,
    json: bool,
    out: &mut impl Write,
) -> Result<(), CardCliError> {
    let identification = session.identify()?;
    let reading = session.read_identity(ctx.issuer.as_ref(), &ctx.anchors, SystemTime::now())?;
    let (identity, defect) = match &reading.identity {
        Ok(identity) => (serde_json::to_value(identity).ok(), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let value = serde_json::json!({
        "card": identification,
        "identity": identity,
        "card_defect": defect,
        "passive_authentication": reading.passive_authentication,
        "trust": ctx.trust(),
        "issuer": ctx.issuer_kind,
        "issuer_mode": reading.issuer_mode,
    });
    if json {
        writeln!(out, "{value}").map_err(output_error)?;
        return Ok(());
    }
    let pa = &reading.passive_authentication;
    writeln!(
        out,
        "profile\t{}\ncard serial\t{}\npassive authentication\t{}\ntrust\t{}\nissuer\t{} ({:?})",
        identification.profile_name,
        identification.card_serial,
        if pa.valid {
            "valid".to_owned()
        } else {
            format!("INVALID: {}", pa.reason.as_deref().unwrap_or("unknown"))
        },
        ctx.trust(),
        ctx.issuer_kind,
        reading.issuer_mode,
    )
    .map_err(output_error)?;
    if let Some(defect) = defect {
        writeln!(out, "card defect\t{defect}").map_err(output_error)?;
    }
    if let Some(identity) = identity.as_ref().and_then(serde_json::Value::as_object) {
        for (key, value) in identity {
            if key == "portrait" {
                continue;
            }
            writeln!(out, "{key}\t{}", plain(value)).map_err(output_error)?;
        }
    }
    Ok(())
}

fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Runs `certs`.
pub fn certs<T: shenas_apdu::Transport>(
    session: &mut CardSession<T>,
    ctx: &Context,
    json: bool,
    out: &mut impl Write,
) -> Result<(), CardCliError> {
    let certs = session.certificates(&ctx.anchors, SystemTime::now())?;
    let mut list = Vec::new();
    for c in &certs {
        let info = shenas_cards::pki::CertificateInfo::parse(&c.der).ok();
        let (valid, reason) = match &c.validation {
            Ok(_) => (true, None),
            Err(e) => (false, Some(format!("{}: {e}", e.code()))),
        };
        list.push(serde_json::json!({
            "role": c.role,
            "subject": info.as_ref().map(|i| i.subject.clone()),
            "issuer": info.as_ref().map(|i| i.issuer.clone()),
            "serial": info.as_ref().map(|i| i.serial.clone()),
            "valid": valid,
            "reason": reason,
            "der": hex::encode_upper(&c.der),
        }));
    }
    if json {
        let value = serde_json::json!({ "certificates": list, "trust": ctx.trust() });
        writeln!(out, "{value}").map_err(output_error)?;
        return Ok(());
    }
    for c in &list {
        writeln!(
            out,
            "{}\t{}\tissuer {}\t{}",
            plain(&c["role"]),
            plain(&c["subject"]),
            plain(&c["issuer"]),
            if c["valid"] == serde_json::Value::Bool(true) {
                "valid".to_owned()
            } else {
                format!("INVALID ({})", plain(&c["reason"]))
            }
        )
        .map_err(output_error)?;
    }
    Ok(())
}

/// The PIN operations.
#[derive(Clone, Copy, Debug)]
pub enum PinAction {
    /// Tries left, without spending one.
    Status,
    /// VERIFY.
    Verify,
    /// CHANGE REFERENCE DATA.
    Change,
    /// RESET RETRY COUNTER with the PUK.
    Unblock,
}

/// Runs `pin status|verify|change|unblock`.
pub fn pin<T: shenas_apdu::Transport>(
    session: &mut CardSession<T>,
    action: PinAction,
    kind: PinKind,
    json: bool,
    out: &mut impl Write,
) -> Result<(), CardCliError> {
    let name = kind.as_str();
    let result = match action {
        PinAction::Status => Ok(()),
        PinAction::Verify => {
            let [pin] = read_pins([format!("PIN ({name})").as_str()])?;
            session.verify_pin(kind, &pin)
        }
        PinAction::Change => {
            let [old, new] = read_pins(["Current PIN", "New PIN"])?;
            session.change_pin(kind, &old, &new)
        }
        PinAction::Unblock => {
            let [puk, new] = read_pins(["PUK", "New PIN"])?;
            session.unblock_pin(kind, &puk, &new)
        }
    };
    result?;
    let status = session.pin_status(kind)?;
    if json {
        let value = serde_json::json!({ "pin": name, "ok": true, "status": status });
        writeln!(out, "{value}").map_err(output_error)?;
    } else {
        let text = match status {
            PinStatus::Verified => "verified".to_owned(),
            PinStatus::TriesLeft { tries_left } => format!("{tries_left} tries left"),
            PinStatus::Blocked => "blocked".to_owned(),
        };
        writeln!(out, "{name}\t{text}").map_err(output_error)?;
    }
    Ok(())
}

/// Runs `sign --file F`: a detached CAdES-BES signature of F written to `F.p7s`.
pub fn sign<T: shenas_apdu::Transport>(
    session: &mut CardSession<T>,
    file: &Path,
    ctx: &Context,
    json: bool,
    out: &mut impl Write,
) -> Result<(), CardCliError> {
    let document = std::fs::read(file).map_err(|source| CardCliError::File {
        path: file.to_path_buf(),
        source,
    })?;
    let cert = session.certificate(KeyRole::Signing)?;
    let chain = session.ca_certificates()?;
    let validation = shenas_cards::pki::validate(
        &cert,
        &chain.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        &ctx.anchors,
        shenas_cards::session::purpose_of(KeyRole::Signing),
        SystemTime::now(),
    );
    if let Err(e) = validation {
        return Err(SessionError::Certificate(e).into());
    }
    let [pin] = read_pins(["SIGN PIN"])?;
    session.verify_pin(PinKind::SignPin, &pin)?;
    let mut card_error = None;
    let chain_refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    let p7s = shenas_cards::pki::cades::sign_detached(
        &document,
        &cert,
        &chain_refs,
        shenas_cards::pki::HashAlgorithm::Sha256,
        SystemTime::now(),
        |hash| match session.sign_hash(KeyRole::Signing, hash) {
            Ok(s) => Ok(s.signature),
            Err(e) => {
                let message = std::io::Error::other(e.to_string());
                card_error = Some(e);
                Err(message)
            }
        },
    );
    if let Some(e) = card_error {
        return Err(e.into());
    }
    let p7s = p7s.map_err(|e| CardCliError::Signature(e.to_string()))?;
    let mut target = file.as_os_str().to_owned();
    target.push(".p7s");
    let target = PathBuf::from(target);
    std::fs::write(&target, &p7s).map_err(|source| CardCliError::File {
        path: target.clone(),
        source,
    })?;
    if json {
        let value = serde_json::json!({
            "signature": target.display().to_string(),
            "format": "cades-bes-detached",
            "bytes": p7s.len(),
            "trust": ctx.trust(),
        });
        writeln!(out, "{value}").map_err(output_error)?;
    } else {
        writeln!(out, "wrote {}", target.display()).map_err(output_error)?;
    }
    Ok(())
}

fn output_error(source: std::io::Error) -> CardCliError {
    CardCliError::File {
        path: PathBuf::from("<stdout>"),
        source,
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serialising our own plain structs cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}
