//! Analysis of a store: the violations of a rule set now, at an instant or
//! over a window, from the temporal history, each with the mitigation that
//! covers it, if any.

use super::SodError;
use soxctl_detect::sod::{dataset_history, dataset_now};
use soxctl_model::mitigation::MitigationRow;
use soxctl_model::time::Timestamp;
use soxctl_sod::{Compiled, Dataset, RuleSet, Span, Violation, When};
use soxctl_store::Store;

/// When the rule set is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Now,
    At(Timestamp),
    /// Both ends included.
    Window {
        from: Timestamp,
        to: Timestamp,
    },
}

/// One violation found, with the spans of a window it held during (empty
/// for an instant) and the exception that covers it.
#[derive(Debug, Clone)]
pub struct Found {
    pub violation: Violation,
    pub during: Vec<Span>,
    pub mitigation: Option<MitigationRow>,
}

/// What an analysis found, and what the reader should know about it.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub found: Vec<Found>,
    /// Rules that match no entitlement; systems without history then.
    pub warnings: Vec<String>,
}

/// `rules` (else the store's in force) judged over the store's facts for
/// `period`.
pub async fn analyze_store(
    store: &Store,
    rules: Option<RuleSet>,
    period: Period,
) -> Result<Analysis, SodError> {
    let rules = match rules {
        Some(rules) => rules,
        None => super::rules(store, None).await?.0,
    };
    let mut warnings = Vec::new();
    let dataset = match period {
        Period::Now => dataset_now(&store.inventory().await?).map_err(dataset_error)?,
        Period::At(t) => {
            warnings.extend(unknown_history(store, t).await?);
            let (accounts, grants) = store.intervals(t, t).await?;
            dataset_history(
                &accounts,
                &grants,
                entitlements(store).await?,
                Some(t.micros()),
            )
            .map_err(dataset_error)?
        }
        Period::Window { from, to } => {
            if to < from {
                return Err(SodError::Invalid(
                    "the window ends before it starts; give --from earlier than --to".into(),
                ));
            }
            warnings.extend(unknown_history(store, from).await?);
            let (accounts, grants) = store.intervals(from, to).await?;
            dataset_history(&accounts, &grants, entitlements(store).await?, None)
                .map_err(dataset_error)?
        }
    };
    let at = match period {
        Period::At(t) => t,
        _ => store.context().clock.now(),
    };
    let mitigations: Vec<MitigationRow> = store
        .mitigations()
        .await?
        .into_iter()
        .filter(|m| m.active_at(at))
        .collect();
    let mut analysis = analyze_dataset(&rules, &dataset, period)?;
    analysis.warnings.splice(0..0, warnings);
    for found in &mut analysis.found {
        found.mitigation = mitigations
            .iter()
            .find(|m| {
                m.risk_id == found.violation.risk_id && m.identity == found.violation.identity
            })
            .cloned();
    }
    Ok(analysis)
}

/// `rules` judged over `dataset` (from a store, or snapshot files: no
/// history, no mitigations).
pub fn analyze_dataset(
    rules: &RuleSet,
    dataset: &Dataset,
    period: Period,
) -> Result<Analysis, SodError> {
    let (compiled, unmatched) = Compiled::compile(rules, dataset.catalogue());
    let warnings = unmatched.iter().map(ToString::to_string).collect();
    let found = match period {
        Period::Window { from, to } => soxctl_sod::analyze_window(
            &compiled,
            dataset,
            from.micros(),
            to.micros().saturating_add(1),
        )
        .map_err(|e| SodError::Invalid(format!("SoD window analysis: {e}")))?
        .into_iter()
        .map(|w| Found {
            violation: w.violation,
            during: w.during,
            mitigation: None,
        })
        .collect(),
        Period::Now | Period::At(_) => {
            let when = match period {
                Period::At(t) => When::At(t.micros()),
                _ => When::Now,
            };
            soxctl_sod::analyze(&compiled, dataset, when)
                .map_err(|e| SodError::Invalid(format!("SoD analysis: {e}")))?
                .into_iter()
                .map(|violation| Found {
                    violation,
                    during: Vec::new(),
                    mitigation: None,
                })
                .collect()
        }
    };
    Ok(Analysis { found, warnings })
}

fn dataset_error(e: impl std::fmt::Display) -> SodError {
    SodError::Invalid(format!("the store's SoD facts: {e}"))
}

async fn entitlements(store: &Store) -> Result<Vec<(String, String)>, SodError> {
    Ok(store
        .inventory()
        .await?
        .entitlements
        .keys()
        .map(|(s, e)| (s.to_string(), e.to_string()))
        .collect())
}

/// Systems with no history at `at`: their part is unknown, not empty.
async fn unknown_history(store: &Store, at: Timestamp) -> Result<Vec<String>, SodError> {
    let first = store.first_imports().await?;
    Ok(store
        .inventory()
        .await?
        .systems
        .keys()
        .filter_map(|system| match first.get(system) {
            Some(since) if *since <= at => None,
            since => Some(format!(
                "system '{system}' has no history at {at} (first imported {}): its part is unknown, not empty",
                since.map_or_else(|| "never".to_owned(), |s| s.to_canonical())
            )),
        })
        .collect())
}

/// The risks a single role violates on its own (every function held by
/// the role's entitlements), so bad roles are fixed at the source.
pub fn role_conflicts(
    rules: &RuleSet,
    inventory: &soxctl_model::inventory::Inventory,
) -> Result<Vec<soxctl_sod::roles::RoleConflict>, SodError> {
    let dataset = dataset_now(inventory).map_err(dataset_error)?;
    let (compiled, _) = Compiled::compile(rules, dataset.catalogue());
    let roles = soxctl_detect::sod::roles(inventory);
    soxctl_sod::roles::role_conflicts(&compiled, dataset.catalogue(), &roles)
        .map_err(|e| SodError::Invalid(e.to_string()))
}

/// [`role_conflicts`] of the store's roles under `rules` (else the rule set
/// in force).
pub async fn store_role_conflicts(
    store: &Store,
    rules: Option<RuleSet>,
) -> Result<Vec<soxctl_sod::roles::RoleConflict>, SodError> {
    let rules = match rules {
        Some(rules) => rules,
        None => super::rules(store, None).await?.0,
    };
    role_conflicts(&rules, &store.inventory().await?)
}
