//! USB fingerprint scanner drivers (being written).
