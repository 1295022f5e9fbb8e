//! The change gate: registering, checking and recording deployments; execution tokens.

use serde::{Deserialize, Serialize};
use soxctl_model::ids::RequestId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub request_id: RequestId,
    /// The digest of the action about to run (`sha256:…`), computed from
    /// what will actually be done.
    pub digest: String,
    pub env: String,
    /// At most 900 (15 minutes), and never past the approval's validity.
    pub ttl_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedToken {
    /// Compact JWS (EdDSA); verify offline with the store's verifier key.
    pub token: String,
    pub token_id: String,
    pub expires_at: String,
    pub ledger_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExecutedBody {
    /// The execution token used.
    pub token: String,
    /// What was done (a payment reference, a deployment id…).
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutedView {
    pub request_id: String,
    pub ledger_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CommitBody {
    /// The full commit id.
    pub sha: String,
    /// `Name <email>` after `.mailmap`.
    pub author: String,
    pub committer: String,
    /// The `Co-authored-by` trailers.
    #[serde(default)]
    pub co_authors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    pub env: String,
    /// The commit to deploy (full id).
    pub commit: String,
    /// Every commit the deployment brings, merges included, the deployed
    /// one among them (at most 10,000).
    pub commits: Vec<CommitBody>,
    /// Static gate tokens only: who triggered the run (person id or
    /// email). A CI identity token's claims name them instead.
    pub triggered_by: Option<String>,
    pub justification: Option<String>,
    pub ticket: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CheckQuery {
    /// The full commit id (40 or 64 hex digits).
    pub commit: String,
    pub env: String,
    /// Who deploys: a person id, an email or a git identity `Name <email>`.
    /// Left out with a CI identity token, whose claims name them.
    pub deployer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerdictView {
    pub allowed: bool,
    pub reason: String,
    pub request_id: Option<String>,
    /// The approval's ledger entries (prove them with /api/v1/ledger/proof/inclusion).
    pub evidence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeployedBody {
    pub commit: String,
    pub env: String,
    /// Who deployed (person id, email, `Name <email>`); left out with a CI
    /// identity token, whose claims name them.
    pub deployer: Option<String>,
    pub repo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployedView {
    pub deployment_id: String,
    pub env: String,
    pub commit: String,
    /// The approval consumed; none for an unapproved change.
    pub request_id: Option<String>,
    /// The `unapproved_change` finding, when no approval matched.
    pub finding_id: Option<String>,
    pub reason: String,
    pub ledger_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct LastQuery {
    pub env: String,
    pub repo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LastDeployed {
    /// None: nothing recorded for this environment yet.
    pub commit: Option<String>,
    pub deployed_at: Option<String>,
    pub deployment_id: Option<String>,
}
