//! Prints reader, card and service events from `shenasd` until interrupted (or until `N`
//! events when `SHENAS_EVENTS=N` is set), one JSON object per line.
//!
//!     cargo run -p shenas-sdk --example watch_events

use std::process::ExitCode;

use shenas_sdk::{Client, SdkError};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("watch_events: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), SdkError> {
    let limit: Option<usize> = std::env::var("SHENAS_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok());
    let client = Client::connect_default().await?;
    let mut events = client.events().await?;
    // The stream reports changes from now on; print the present state first.
    for reader in client.readers().await?.readers {
        println!("{}", serde_json::json!({"present": reader}));
    }
    let mut seen = 0usize;
    while let Some(event) = events.next().await {
        println!("{}", serde_json::to_string(&event?)?);
        seen += 1;
        if limit.is_some_and(|n| seen >= n) {
            break;
        }
    }
    Ok(())
}
