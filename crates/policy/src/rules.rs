//! The validated form of a policies document.

use std::collections::BTreeMap;

/// Where one approver comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    EntitlementOwner,
    SystemOwner,
    RoleOwner,
    /// The requester's manager.
    Manager,
    BeneficiaryManager,
    Group(String),
    Person(String),
}

impl Source {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "entitlement_owner" => Self::EntitlementOwner,
            "system_owner" => Self::SystemOwner,
            "role_owner" => Self::RoleOwner,
            "manager" => Self::Manager,
            "beneficiary_manager" => Self::BeneficiaryManager,
            _ => {
                if let Some(name) = text.strip_prefix("group:") {
                    Self::Group(name.to_owned())
                } else if let Some(id) = text.strip_prefix("person:") {
                    Self::Person(id.to_owned())
                } else {
                    return None;
                }
            }
        })
    }

    pub(crate) fn label(&self) -> String {
        match self {
            Self::EntitlementOwner => "entitlement_owner".into(),
            Self::SystemOwner => "system_owner".into(),
            Self::RoleOwner => "role_owner".into(),
            Self::Manager => "manager".into(),
            Self::BeneficiaryManager => "beneficiary_manager".into(),
            Self::Group(name) => format!("group:{name}"),
            Self::Person(id) => format!("person:{id}"),
        }
    }
}

/// One entry of `approvers`: its alternatives, of which the first that adds
/// someone is used (`"entitlement_owner|system_owner|manager"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Approver {
    pub alternatives: Vec<Source>,
}

/// What every rule (and `[defaults]`) decides about routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub approvers: Option<Vec<Approver>>,
    pub count: Option<u32>,
    pub mfa: Option<bool>,
    pub ticket_required: bool,
    pub undecided_expiry: Option<u64>,
    pub reminder_after: Option<u64>,
    pub escalate_after: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Matcher {
    /// Patterns over `system:entitlement` and over role ids; an optional
    /// condition on the privileged flag.
    Access {
        entitlements: Vec<String>,
        roles: Vec<String>,
        privileged: Option<bool>,
    },
    /// Patterns over action kinds and environments; no environments means any.
    Action {
        kinds: Vec<String>,
        envs: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub id: String,
    pub matcher: Matcher,
    /// `max_duration` of an access rule, `window` of an action rule.
    pub duration: Option<u64>,
    pub route: Route,
}

impl Rule {
    pub(crate) fn section(&self) -> &'static str {
        match self.matcher {
            Matcher::Access { .. } => "access",
            Matcher::Action { .. } => "action",
        }
    }

    pub(crate) fn name(&self) -> String {
        format!("{} \"{}\"", self.section(), self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Defaults {
    pub undecided_expiry: u64,
    pub approval_window: u64,
    pub max_duration: u64,
    pub reminder_after: Option<u64>,
    pub escalate_after: Option<u64>,
    pub critical_approvals: u32,
    pub approvers: Vec<Approver>,
    pub count: u32,
    pub mfa: bool,
}

pub(crate) const HOUR: u64 = 3600;

impl Defaults {
    /// The values of the built-in default policy, and of every key a
    /// document's `[defaults]` leaves out.
    pub(crate) fn builtin() -> Self {
        Self {
            undecided_expiry: 72 * HOUR,
            approval_window: 24 * HOUR,
            max_duration: 8 * HOUR,
            reminder_after: None,
            escalate_after: None,
            critical_approvals: 2,
            approvers: vec![Approver {
                alternatives: vec![
                    Source::EntitlementOwner,
                    Source::RoleOwner,
                    Source::SystemOwner,
                    Source::Manager,
                ],
            }],
            count: 1,
            mfa: false,
        }
    }
}

/// Groups by name, members in document order without repeats.
pub(crate) type Groups = BTreeMap<String, Vec<String>>;
