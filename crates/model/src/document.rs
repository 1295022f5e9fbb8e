//! Versioned documents in the ledger (DESIGN A8): SoD rules, approval
//! policies and the control matrix. Each load records the whole text, so an
//! auditor reads exactly what was in force, and when.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentKind {
    Rules,
    Policies,
    Controls,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rules => "rules",
            Self::Policies => "policies",
            Self::Controls => "controls",
        }
    }
}

impl FromStr for DocumentKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rules" => Ok(Self::Rules),
            "policies" => Ok(Self::Policies),
            "controls" => Ok(Self::Controls),
            _ => Err(format!(
                "'{s}' is not a document kind: use rules, policies or controls"
            )),
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `document.loaded`: a new version of a document, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentLoaded {
    pub kind: DocumentKind,
    /// 1 for the first version of its kind, then one more each load.
    pub version: u64,
    /// The file it was loaded from (its name only), for the reader.
    pub name: String,
    /// `sha256:` + hex of the content's UTF-8 bytes.
    pub sha256: String,
    pub content: String,
}

/// A version as the `documents` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentRow {
    pub kind: DocumentKind,
    pub version: u64,
    pub name: String,
    pub sha256: String,
    pub content: String,
    pub loaded_at: crate::time::Timestamp,
    pub loaded_by: String,
}

/// The digest recorded with a document.
pub fn content_digest(content: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(content.as_bytes())))
}
