//! Versioned documents (DESIGN A8): SoD rule sets and approval policies.
//! A load checks the text first, records it as the next version unless it
//! is the version in force, and — for rules, which decide which violations
//! exist — judges the findings again in the same transaction.

use crate::findings::FindingChanges;
use soxctl_detect::hygiene::Policy;
use soxctl_model::document::DocumentKind;
use soxctl_model::principal::Principal;
use soxctl_sod::{Compiled, RuleSet};
use soxctl_store::documents::Loaded;
use soxctl_store::{StoreError, WriteTx};

/// Why a document was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The text is not a document of its kind; every error, with its place.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What loading a rule set did.
#[derive(Debug, Clone)]
pub struct RulesLoaded {
    pub loaded: Loaded,
    pub functions: usize,
    pub risks: usize,
    /// References and patterns that match no entitlement of the store.
    pub warnings: Vec<String>,
    /// The findings judged again (nothing when the text was in force).
    pub findings: FindingChanges,
}

/// What loading approval policies did.
#[derive(Debug, Clone)]
pub struct PoliciesLoaded {
    pub loaded: Loaded,
    pub warnings: Vec<String>,
}

/// Loads the SoD rule set `text` (from a file called `name`) in `tx`.
pub async fn load_rules(
    tx: &mut WriteTx,
    actor: &Principal,
    name: &str,
    text: &str,
    hygiene: &Policy,
) -> Result<RulesLoaded, DocumentError> {
    let rules = RuleSet::parse(text).map_err(|e| DocumentError::Invalid(e.to_string()))?;
    let inventory = tx.inventory().await?;
    let dataset = soxctl_detect::sod::dataset_now(&inventory)
        .map_err(|e| StoreError::Invalid(format!("the store's SoD facts: {e}")))?;
    let (_, unmatched) = Compiled::compile(&rules, dataset.catalogue());
    let loaded = tx
        .load_document(actor, DocumentKind::Rules, name, text)
        .await?;
    let findings = match loaded {
        Loaded::Recorded { .. } => {
            let now = tx.now();
            crate::findings::evaluate(tx, now, hygiene).await?
        }
        Loaded::Unchanged { .. } => FindingChanges::default(),
    };
    Ok(RulesLoaded {
        loaded,
        functions: rules.functions.len(),
        risks: rules.risks.len(),
        warnings: unmatched.iter().map(ToString::to_string).collect(),
        findings,
    })
}

/// Loads the approval policies `text` (from a file called `name`) in `tx`.
pub async fn load_policies(
    tx: &mut WriteTx,
    actor: &Principal,
    name: &str,
    text: &str,
) -> Result<PoliciesLoaded, DocumentError> {
    let (_, warnings) = soxctl_policy::PolicySet::parse(text)
        .map_err(|errors| DocumentError::Invalid(soxctl_policy::render_errors(&errors)))?;
    let loaded = tx
        .load_document(actor, DocumentKind::Policies, name, text)
        .await?;
    Ok(PoliciesLoaded {
        loaded,
        warnings: warnings.iter().map(ToString::to_string).collect(),
    })
}
