//! Segregation of duties as use cases: what a change would create, before
//! it is made.

mod simulate;

pub use simulate::{Simulated, SodError, simulate, simulate_with, view};
