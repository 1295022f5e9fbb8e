//! Rules that match nothing: not errors (the entitlement may appear later),
//! but worth telling the rule author.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// A reference to an entitlement that is in neither the entitlements
    /// list nor any grant.
    UnknownEntitlement,
    /// A pattern that matches no known entitlement of its system.
    PatternMatchesNothing,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Warning {
    pub function_id: String,
    /// The reference or pattern as written.
    pub item: String,
    /// Whether it is a member of an all-of group, which then cannot be held.
    pub in_group: bool,
    pub kind: WarningKind,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            function_id, item, ..
        } = self;
        match self.kind {
            WarningKind::UnknownEntitlement => write!(
                f,
                "function '{function_id}': entitlement '{item}' is unknown (in no entitlements list or grant), so it matches nothing; check the spelling (ids are case-sensitive)"
            )?,
            WarningKind::PatternMatchesNothing => write!(
                f,
                "function '{function_id}': pattern '{item}' matches no known entitlement, so it matches nothing; check the system and the pattern (case-sensitive)"
            )?,
        }
        if self.in_group {
            f.write_str("; the all-of group containing it cannot be held")?;
        }
        Ok(())
    }
}
