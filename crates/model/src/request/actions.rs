//! Execution tokens and deployments, as their tables hold them.

#![allow(unused_imports)]
use super::*;

/// An execution token, as the `execution_tokens` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionTokenRow {
    pub token_id: ExecutionTokenId,
    pub request_id: RequestId,
    pub executor: String,
    pub env: String,
    pub digest: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// A deployment, as the `deployments` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentRow {
    pub deployment_id: String,
    pub env: String,
    pub commit: String,
    pub repo: Option<String>,
    pub deployer: String,
    pub request_id: Option<RequestId>,
    pub deployed_at: Timestamp,
    pub seq: u64,
}
