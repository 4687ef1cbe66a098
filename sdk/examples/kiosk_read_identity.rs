//! A kiosk's flow against `shenasd` (in kiosk mode) on simulated cards: find the card, identify
//! it, read the identity with passive authentication.
//!
//!     SHENAS_URL=127.0.0.1:24780 SHENAS_TOKEN_FILE=/var/lib/shenas/api-token \
//!         cargo run -p shenas-sdk --example kiosk_read_identity
//!
//! Exit status 0 when the identity was read, 1 with the daemon's error code otherwise.

use std::process::ExitCode;

use shenas_sdk::{ReadIdentityRequest, SdkError, blocking::Client};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match &e {
                SdkError::Api(api) => eprintln!(
                    "kiosk_read_identity: {} — {} — {}",
                    api.code, api.message, api.message_fa
                ),
                other => eprintln!("kiosk_read_identity: {other}"),
            }
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), SdkError> {
    let client = Client::connect_default()?;
    let status = client.status()?;
    println!(
        "shenasd {} (kiosk mode: {}, bus: {})",
        status.version, status.kiosk, status.bus
    );
    let readers = client.readers()?;
    for reader in &readers.readers {
        println!(
            "reader\t{}\t{}",
            reader.name,
            if reader.card_present { "card" } else { "empty" }
        );
    }
    let card = client.identify("_")?;
    println!(
        "card\t{}\tprofile={}\tserial={}",
        card.reader,
        card.profile,
        card.serial.as_deref().unwrap_or("-")
    );
    let document = client.read_identity(&card.reader, &ReadIdentityRequest::default())?;
    // A kiosk shows the data to the person at the counter; this example prints only which
    // fields were read and the passive-authentication verdict, never the data itself.
    let fields: Vec<&str> = document.fields.keys().map(String::as_str).collect();
    println!("identity\tfields={}", fields.join(","));
    if let Some(pa) = &document.passive_authentication {
        println!(
            "passive_authentication\tvalid={}\ttrust={}",
            pa.valid, pa.trust
        );
    }
    Ok(())
}
