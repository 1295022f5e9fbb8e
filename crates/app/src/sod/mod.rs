//! Segregation of duties as use cases: the violations of a rule set in a
//! store (now, at an instant, over a window), and what a change would
//! create, before it is made.

mod analyze;
pub mod monitor;
mod simulate;

use soxctl_model::document::DocumentKind;
use soxctl_sod::RuleSet;
use soxctl_store::Store;

pub use analyze::{
    Analysis, Found, Period, analyze_dataset, analyze_store, role_conflicts, store_role_conflicts,
};

pub use simulate::{Simulated, SodError, simulate, simulate_with, view};

/// The rule set: `given` (a file's, with no version), else the store's in force.
async fn rules(store: &Store, given: Option<RuleSet>) -> Result<(RuleSet, Option<u64>), SodError> {
    if let Some(rules) = given {
        return Ok((rules, None));
    }
    let doc = store
        .latest_document(DocumentKind::Rules)
        .await?
        .ok_or(SodError::NoRules)?;
    let rules = RuleSet::parse(&doc.content).map_err(|e| SodError::BadRules {
        version: doc.version,
        reason: e.to_string(),
    })?;
    Ok((rules, Some(doc.version)))
}
