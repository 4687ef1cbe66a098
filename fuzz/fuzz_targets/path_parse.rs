#![no_main]
//! Paths from bytes and from text: both forms round-trip.

use libfuzzer_sys::fuzz_target;
use shenas_apdu::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = Path::parse(data) {
        assert_eq!(path.to_bytes(), data);
    }
    if let Some(path) = std::str::from_utf8(data)
        .ok()
        .and_then(|t| t.parse::<Path>().ok())
    {
        assert_eq!(path.to_string().parse::<Path>(), Ok(path));
    }
});
