//! Findings of the detectors.
