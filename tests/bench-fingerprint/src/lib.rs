//! Fingerprint benchmark beside NBIS (being written).
