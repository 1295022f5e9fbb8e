//! What a request asks for: access (items, activation) or an action bound
//! to a digest; and the SoD violations approvers are shown.

#![allow(unused_imports)]
use super::*;

/// How an approved access request starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// When the last approval arrives.
    OnApproval,
    /// When the requester activates it, within the approval's validity.
    Manual,
}

/// One grant an access request asks for: an entitlement on the person's
/// account in its system.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccessItem {
    pub system_id: SystemId,
    pub account_id: AccountId,
    pub entitlement_id: EntitlementId,
}

/// What an access request asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessAsk {
    /// Who would hold the access.
    pub person_id: PersonId,
    /// `system_id:entitlement_id`, as the requester named it (with `role_id`, none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitlement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<RoleId>,
    /// The grants it resolves to (a role's entitlements, each on the
    /// person's account in that system).
    pub items: Vec<AccessItem>,
    pub duration_secs: u64,
    pub activation: Activation,
}

/// What an action request asks for. The digest binds the approval to the
/// exact kind, environment and payload (DESIGN A3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionAsk {
    pub kind: String,
    pub env: String,
    pub payload: serde_json::Value,
    /// `sha256:` + hex of JCS({"env","kind","payload"}).
    pub digest: String,
    /// The authors of the change (for a deployment: its commits' authors,
    /// committers and co-authors), who may not approve it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// Authors no person's email, id or account matched when the change was
    /// registered: nobody can be kept from approving as them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unattributed_authors: Vec<String>,
    /// The people the authors were matched to (by id, email or account id)
    /// when the change was registered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub author_people: Vec<PersonId>,
    /// A deployment's repository, as its pipeline's credential is bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// How many commits the pipeline read for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits: Option<u32>,
    /// The CI run that registered it, when a CI identity token did
    /// (`ci:TRUST run RUN_ID of WORKFLOW@REF`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ask {
    Access(AccessAsk),
    Action(ActionAsk),
}

impl Ask {
    pub fn kind(&self) -> RequestKind {
        match self {
            Self::Access(_) => RequestKind::Access,
            Self::Action(_) => RequestKind::Action,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    Access,
    Action,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Action => "action",
        }
    }
}

impl FromStr for RequestKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "access" => Ok(Self::Access),
            "action" => Ok(Self::Action),
            _ => Err(format!("'{s}' is not a request kind: use access or action")),
        }
    }
}

/// An SoD violation the request would create, as approvers were shown it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SodFlag {
    pub risk_id: String,
    /// low | medium | high | critical.
    pub severity: String,
    /// A mitigation in force covers it.
    pub mitigated: bool,
}
