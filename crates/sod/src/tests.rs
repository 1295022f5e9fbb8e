//! Cross-module tests: the brute-force reference and the properties that
//! hold the engine to it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod generate;
mod incremental;
mod props;
mod reference;
mod scenarios;
