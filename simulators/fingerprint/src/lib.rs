//! Synthetic fingerprints (being written).
