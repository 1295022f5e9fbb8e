//! Segregation of duties as use cases: the violations of a rule set in a
//! store (now, at an instant, over a window), and what a change would
//! create, before it is made.

mod analyze;
pub mod monitor;
mod simulate;

pub use analyze::{
    Analysis, Found, Period, analyze_dataset, analyze_store, role_conflicts, store_role_conflicts,
};

pub use simulate::{Simulated, SodError, simulate, simulate_with, view};
