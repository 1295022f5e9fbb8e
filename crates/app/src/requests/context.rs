//! What a step is judged against, read inside its write transaction: the
//! inventory (with the time-bound grants in force, which SoD counts), the
//! policies and SoD rules in force, mitigations and delegations.

use crate::error::{Result, WorkflowError};
use soxctl_model::document::DocumentKind;
use soxctl_model::inventory::Inventory;
use soxctl_model::mitigation::MitigationRow;
use soxctl_model::request::DelegationRow;
use soxctl_model::time::Timestamp;
use soxctl_policy::PolicySet;
use soxctl_store::WriteTx;

pub struct Context {
    pub now: Timestamp,
    /// The inventory, with every time-bound grant in force added as a grant.
    pub inventory: Inventory,
    pub policy: PolicySet,
    /// None: the built-in default policy.
    pub policy_version: Option<u64>,
    pub rules: Option<soxctl_sod::RuleSet>,
    pub mitigations: Vec<MitigationRow>,
    pub delegations: Vec<DelegationRow>,
}

impl Context {
    /// Fails closed: a policies or rules document in force that no longer
    /// parses refuses every step rather than falling back to a default.
    pub async fn load(tx: &mut WriteTx) -> Result<Self> {
        let now = tx.now();
        let mut inventory = tx.inventory().await?;
        let grants = tx.access_grants(None, None).await?;
        soxctl_detect::sod::overlay_time_bound(&mut inventory, &grants, now);
        let (policy, policy_version) = match tx.latest_document(DocumentKind::Policies).await? {
            None => (PolicySet::default_policy(), None),
            Some(doc) => {
                let (policy, _warnings) = PolicySet::parse(&doc.content).map_err(|errors| {
                    WorkflowError::Refused(format!(
                        "the approval policies in force (version {}) do not parse ({} errors, first: {}); \
                         load a corrected file with `soxctl policies load FILE`",
                        doc.version,
                        errors.len(),
                        errors.first().map(ToString::to_string).unwrap_or_default()
                    ))
                })?;
                (policy, Some(doc.version))
            }
        };
        let rules = match tx.latest_document(DocumentKind::Rules).await? {
            None => None,
            Some(doc) => Some(soxctl_sod::RuleSet::parse(&doc.content).map_err(|e| {
                WorkflowError::Refused(format!(
                    "the SoD rules in force (version {}) do not parse: {e}; load a corrected file with \
                     `soxctl rules load FILE`",
                    doc.version
                ))
            })?),
        };
        let mitigations = tx.mitigations().await?;
        let delegations = tx.delegations().await?;
        Ok(Self {
            now,
            inventory,
            policy,
            policy_version,
            rules,
            mitigations,
            delegations,
        })
    }
}
