//! `[gate]`: what the change gate relaxes per environment, and how it folds
//! identities. Kept in the policies document so that every change to it is
//! a ledger event an auditor sees.

use crate::glob::matches;
use soxctl_model::pipeline::PipelineTrust;

/// The change gate's settings. The default is the strict one: in every
/// environment, every author must be a known person and no author deploys
/// their own change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateSettings {
    /// Environment patterns where an author may deploy their own approved
    /// change (approval by others is still required).
    pub author_may_deploy: Vec<String>,
    /// Environment patterns whose changes may have authors nobody is known
    /// as (and deployers nobody is known as).
    pub allow_unattributed_authors: Vec<String>,
    /// `liam+ci@x` is `liam@x` when this is `Some('+')`; none: no folding.
    pub subaddress_separator: Option<char>,
    /// `[[pipeline]]`: CI pipelines whose OIDC identity tokens are trusted
    /// as gate credentials for one repository and some environments.
    pub pipelines: Vec<PipelineTrust>,
}

impl Default for GateSettings {
    fn default() -> Self {
        Self {
            author_may_deploy: Vec::new(),
            allow_unattributed_authors: Vec::new(),
            subaddress_separator: Some('+'),
            pipelines: Vec::new(),
        }
    }
}

impl GateSettings {
    /// `[gate]` of a policies document, without reading the rest (the
    /// whole document was validated when it was loaded).
    pub fn from_document(text: &str) -> Result<Self, Vec<crate::PolicyError>> {
        crate::parse::gate_only(text)
    }

    /// May an author deploy their own approved change to `env`?
    pub fn author_may_deploy(&self, env: &str) -> bool {
        self.author_may_deploy.iter().any(|p| matches(p, env))
    }

    /// May a change to `env` have authors (or a deployer) nobody is known as?
    pub fn allows_unattributed(&self, env: &str) -> bool {
        self.allow_unattributed_authors
            .iter()
            .any(|p| matches(p, env))
    }
}
