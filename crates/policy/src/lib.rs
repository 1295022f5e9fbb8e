//! Placeholder with the API of the approval-policy crate, implementing only
//! the built-in default policy; replaced by the Cedar-based crate.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PersonStatus {
    Active,
    Leave,
    Terminated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFacts {
    pub id: String,
    pub status: PersonStatus,
    pub manager_id: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Access {
        system_id: String,
        entitlement_id: Option<String>,
        role_id: Option<String>,
        privileged: bool,
        entitlement_owner: Option<String>,
        system_owner: Option<String>,
        role_owner: Option<String>,
    },
    Action {
        kind: String,
        env: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    pub requester: PersonFacts,
    pub beneficiary: PersonFacts,
    pub subject: Subject,
    pub duration_secs: Option<u64>,
    pub worst_sod_severity: Option<Severity>,
    pub has_ticket: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub candidates: Vec<String>,
    pub required_approvals: u32,
    pub max_duration_secs: Option<u64>,
    pub approval_window_secs: Option<u64>,
    pub undecided_expiry_secs: u64,
    pub reminder_after_secs: Option<u64>,
    pub escalate_after_secs: Option<u64>,
    pub mfa_required: bool,
    pub matched_rule: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySet;

impl PolicySet {
    pub fn parse(_text: &str) -> Result<(PolicySet, Vec<Warning>), Vec<PolicyError>> {
        Ok((PolicySet, Vec::new()))
    }

    pub fn default_policy() -> PolicySet {
        PolicySet
    }

    pub fn plan(&self, request: &RequestFacts) -> Result<Plan, Refusal> {
        if request.requester.status != PersonStatus::Active {
            return Err(Refusal {
                reason: "only active people may ask".into(),
            });
        }
        let mut candidates = Vec::new();
        if let Subject::Access {
            entitlement_owner,
            system_owner,
            ..
        } = &request.subject
        {
            candidates.extend(entitlement_owner.clone());
            candidates.extend(system_owner.clone());
        }
        candidates.extend(request.requester.manager_id.clone());
        let mut seen = std::collections::BTreeSet::new();
        candidates.retain(|c| seen.insert(c.clone()));
        let critical = request.worst_sod_severity == Some(Severity::Critical);
        Ok(Plan {
            candidates,
            required_approvals: if critical { 2 } else { 1 },
            max_duration_secs: Some(8 * 3600),
            approval_window_secs: Some(24 * 3600),
            undecided_expiry_secs: 72 * 3600,
            reminder_after_secs: Some(4 * 3600),
            escalate_after_secs: Some(24 * 3600),
            mfa_required: false,
            matched_rule: "default".into(),
        })
    }

    pub fn may_approve(
        &self,
        _request: &RequestFacts,
        candidate: &PersonFacts,
    ) -> Result<(), Refusal> {
        if candidate.status == PersonStatus::Active {
            Ok(())
        } else {
            Err(Refusal {
                reason: "not active".into(),
            })
        }
    }
}
