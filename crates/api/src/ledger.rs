//! The ledger: store facts, entries and proofs.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreInfo {
    pub store_id: String,
    /// The log's origin: the checkpoint's first line and the signing key's name.
    pub origin: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub demo: bool,
    /// Entries in the ledger.
    pub ledger_size: u64,
    /// Entries covered by the latest signed checkpoint; null before the first.
    pub latest_checkpoint_size: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct EntriesQuery {
    /// First entry (its `seq`); default 0.
    pub from: Option<u64>,
    /// Entries to return; default 1000, at most 10000 (larger values are capped).
    pub count: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct InclusionQuery {
    /// The entry to prove.
    pub seq: u64,
    /// Tree size to prove against; default the latest checkpoint's size (the head's without one).
    pub size: Option<u64>,
}

/// RFC 9162 inclusion proof; hashes are standard base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    pub leaf_hash: String,
    /// Root of the tree of `size` entries.
    pub root: String,
    pub hashes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ConsistencyQuery {
    /// The older tree size.
    pub from: u64,
    /// The newer tree size; default the latest checkpoint's size (the head's without one).
    pub to: Option<u64>,
}

/// RFC 9162 consistency proof; hashes are standard base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyProof {
    pub size1: u64,
    pub size2: u64,
    pub root1: String,
    pub root2: String,
    pub hashes: Vec<String>,
}
