//! The serialised shape of a policies document.
//!
//! Values are read as plain strings and numbers with their spans, and
//! checked afterwards, so that one pass reports every problem with its place
//! (serde stops at the first).

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub(crate) type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDocument {
    /// Top-level, so it must come before the first table.
    pub cedar: Option<Text>,
    #[serde(default)]
    pub defaults: Option<Spanned<RawDefaults>>,
    #[serde(default)]
    pub groups: BTreeMap<Text, Vec<Text>>,
    #[serde(default)]
    pub access: Vec<Spanned<RawAccess>>,
    #[serde(default)]
    pub action: Vec<Spanned<RawAction>>,
    pub break_glass: Option<Spanned<RawBreakGlass>>,
    pub gate: Option<Spanned<RawGate>>,
    /// CI pipelines whose identity tokens the gate trusts.
    #[serde(default)]
    pub pipeline: Vec<Spanned<soxctl_model::pipeline::PipelineTrust>>,
}

/// `[gate]`: the change gate's per-environment opt-outs and how identities
/// are folded.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGate {
    #[serde(default)]
    pub author_may_deploy: Vec<Text>,
    #[serde(default)]
    pub allow_unattributed_authors: Vec<Text>,
    pub subaddress_separator: Option<Text>,
}

/// `[break_glass]`: who may take emergency access without prior approval.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBreakGlass {
    pub people: Vec<Text>,
    pub max_duration: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDefaults {
    pub undecided_expiry: Option<Text>,
    pub approval_window: Option<Text>,
    pub max_duration: Option<Text>,
    pub reminder_after: Option<Text>,
    pub escalate_after: Option<Text>,
    pub critical_approvals: Option<Spanned<i64>>,
    pub approvers: Option<Spanned<Vec<Text>>>,
    pub count: Option<Spanned<i64>>,
    pub mfa: Option<bool>,
}

/// What every rule has besides its matcher and its duration.
#[derive(Debug)]
pub(crate) struct RawRoute {
    pub approvers: Option<Spanned<Vec<Text>>>,
    pub count: Option<Spanned<i64>>,
    pub mfa: Option<bool>,
    pub ticket_required: Option<bool>,
    pub undecided_expiry: Option<Text>,
    pub reminder_after: Option<Text>,
    pub escalate_after: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccess {
    pub id: Text,
    #[serde(default)]
    pub entitlements: Vec<Text>,
    #[serde(default)]
    pub roles: Vec<Text>,
    pub privileged: Option<bool>,
    pub max_duration: Option<Text>,
    pub approvers: Option<Spanned<Vec<Text>>>,
    pub count: Option<Spanned<i64>>,
    pub mfa: Option<bool>,
    pub ticket_required: Option<bool>,
    pub undecided_expiry: Option<Text>,
    pub reminder_after: Option<Text>,
    pub escalate_after: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAction {
    pub id: Text,
    #[serde(default)]
    pub kinds: Vec<Text>,
    #[serde(default)]
    pub envs: Vec<Text>,
    pub window: Option<Text>,
    pub approvers: Option<Spanned<Vec<Text>>>,
    pub count: Option<Spanned<i64>>,
    pub mfa: Option<bool>,
    pub ticket_required: Option<bool>,
    pub undecided_expiry: Option<Text>,
    pub reminder_after: Option<Text>,
    pub escalate_after: Option<Text>,
}

impl RawAccess {
    pub(crate) fn route(&mut self) -> RawRoute {
        RawRoute {
            approvers: self.approvers.take(),
            count: self.count.take(),
            mfa: self.mfa,
            ticket_required: self.ticket_required,
            undecided_expiry: self.undecided_expiry.take(),
            reminder_after: self.reminder_after.take(),
            escalate_after: self.escalate_after.take(),
        }
    }
}

impl RawAction {
    pub(crate) fn route(&mut self) -> RawRoute {
        RawRoute {
            approvers: self.approvers.take(),
            count: self.count.take(),
            mfa: self.mfa,
            ticket_required: self.ticket_required,
            undecided_expiry: self.undecided_expiry.take(),
            reminder_after: self.reminder_after.take(),
            escalate_after: self.escalate_after.take(),
        }
    }
}
