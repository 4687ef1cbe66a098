//! Names of the D-Bus API (well-known bus name, versioned interfaces, object paths, error
//! prefix, polkit actions) and the localhost API's defaults.
//!
//! Interface names carry their major version (`…Manager1`): an incompatible change adds
//! `…Manager2` beside the old one instead of changing it (freedesktop D-Bus API design
//! guidelines, "API versioning").

/// The daemon's well-known bus name.
pub const BUS_NAME: &str = "ir.shenas.Daemon1";
/// The manager interface: readers, cards, events.
pub const MANAGER_INTERFACE: &str = "ir.shenas.Manager1";
/// The manager object's path.
pub const MANAGER_PATH: &str = "/ir/shenas/Daemon1";
/// The per-reader interface: operations on the card in that reader.
pub const READER_INTERFACE: &str = "ir.shenas.Reader1";
/// Parent path of the per-reader objects (`/ir/shenas/Daemon1/reader/<escaped name>`).
pub const READER_PATH_PREFIX: &str = "/ir/shenas/Daemon1/reader/";
/// Prefix of the typed D-Bus error names (`ir.shenas.Error.NoCard`).
pub const ERROR_PREFIX: &str = "ir.shenas.Error.";

/// polkit action for reading personal data from a card.
pub const POLKIT_READ_IDENTITY: &str = "ir.shenas.read-identity";
/// polkit action for creating a signature or an authentication with a card key.
pub const POLKIT_SIGN: &str = "ir.shenas.sign";
/// polkit action for changing or unblocking a PIN.
pub const POLKIT_MANAGE_PIN: &str = "ir.shenas.manage-pin";

/// Default TCP port of the localhost API (on 127.0.0.1).
pub const DEFAULT_PORT: u16 = 24780;
/// Prefix of the localhost API's versioned routes.
pub const HTTP_PREFIX: &str = "/v1";

/// The object path of the per-reader object for `reader`: every byte outside `[A-Za-z0-9]` is
/// written `_XX` (hexadecimal), as systemd escapes unit names in object paths, so any PC/SC
/// reader name maps to a valid, reversible element.
pub fn reader_path(reader: &str) -> String {
    let mut path = String::from(READER_PATH_PREFIX);
    for byte in reader.bytes() {
        if byte.is_ascii_alphanumeric() {
            path.push(char::from(byte));
        } else {
            path.push_str(&format!("_{byte:02x}"));
        }
    }
    if reader.is_empty() {
        path.push('_');
    }
    path
}

/// The reader name an object path of [`reader_path`] stands for.
pub fn reader_from_path(path: &str) -> Option<String> {
    let escaped = path.strip_prefix(READER_PATH_PREFIX)?;
    if escaped == "_" {
        return Some(String::new());
    }
    let mut bytes = Vec::with_capacity(escaped.len());
    let mut rest = escaped.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'_' {
            let hex = tail.get(..2)?;
            let text = std::str::from_utf8(hex).ok()?;
            bytes.push(u8::from_str_radix(text, 16).ok()?);
            rest = tail.get(2..)?;
        } else if first.is_ascii_alphanumeric() {
            bytes.push(first);
            rest = tail;
        } else {
            return None;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn reader_paths_round_trip() {
        let name = "Virtual PCD 00 01";
        let path = reader_path(name);
        assert_eq!(path, "/ir/shenas/Daemon1/reader/Virtual_20PCD_2000_2001");
        assert_eq!(reader_from_path(&path).as_deref(), Some(name));
        assert_eq!(reader_from_path(&reader_path("")).as_deref(), Some(""));
        assert_eq!(reader_from_path("/ir/shenas/Daemon1/reader/a_z"), None);
        assert_eq!(reader_from_path("/other"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_reader_name_round_trips(name in ".*") {
            let path = reader_path(&name);
            proptest::prop_assert!(path.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'/'));
            proptest::prop_assert_eq!(reader_from_path(&path), Some(name));
        }

        #[test]
        fn parsing_never_panics(path in ".*") {
            let _ = reader_from_path(&path);
        }
    }
}
