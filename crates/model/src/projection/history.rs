//! Temporal history: each grant and each account version is an interval
//! [valid_from, valid_to) on the source's clock (`as_of`, the snapshot's
//! `extracted_at`, else the entry's time), opened by one entry and closed by
//! a later one. Point-in-time questions ("who could post journals on the
//! 31st of March?") read these rows, never the ledger.

use super::{EntryContext, Row, RowChange, RowKey};
use crate::event::{AccountFact, GrantFact};
use crate::ids::{AccountId, EntitlementId, PersonId, SystemId};
use crate::inventory::{AccountKind, AccountStatus, GrantSource};
use crate::time::Timestamp;

/// One interval during which an account held an entitlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantIntervalRow {
    pub system_id: SystemId,
    pub account_id: AccountId,
    pub entitlement_id: EntitlementId,
    /// The ledger entry that opened the interval (part of the key: a grant
    /// removed and given again has two intervals).
    pub opened_seq: u64,
    pub valid_from: Timestamp,
    pub valid_to: Option<Timestamp>,
    pub closed_seq: Option<u64>,
    pub source: GrantSource,
    /// Who recorded the grant (`system:import`, a token, a person).
    pub opened_by: String,
    pub closed_by: Option<String>,
    /// The import that observed it first, when an import did.
    pub import_id: Option<String>,
}

/// One version of an account: who it belonged to, its kind and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountIntervalRow {
    pub system_id: SystemId,
    pub account_id: AccountId,
    pub opened_seq: u64,
    pub valid_from: Timestamp,
    pub valid_to: Option<Timestamp>,
    pub closed_seq: Option<u64>,
    pub person_id: Option<PersonId>,
    pub kind: AccountKind,
    pub status: AccountStatus,
    pub opened_by: String,
    pub closed_by: Option<String>,
}

/// Closes the open interval of a grant or an account. An interval never
/// ends before it starts: a snapshot older than the one that opened it
/// closes it at its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    pub at: Timestamp,
    pub seq: u64,
    pub by: String,
}

impl Close {
    pub fn end_for(&self, valid_from: Timestamp) -> Timestamp {
        self.at.max(valid_from)
    }
}

fn effective(ctx: &EntryContext<'_>, as_of: Option<Timestamp>) -> Timestamp {
    as_of.unwrap_or(ctx.time)
}

fn close(ctx: &EntryContext<'_>, as_of: Option<Timestamp>) -> Close {
    Close {
        at: effective(ctx, as_of),
        seq: ctx.seq,
        by: ctx.actor.to_string(),
    }
}

pub(super) fn grant_opened(ctx: &EntryContext<'_>, f: &GrantFact) -> RowChange {
    let g = &f.grant;
    RowChange::Upsert(Row::GrantInterval(GrantIntervalRow {
        system_id: g.system_id.clone(),
        account_id: g.account_id.clone(),
        entitlement_id: g.entitlement_id.clone(),
        opened_seq: ctx.seq,
        valid_from: effective(ctx, f.origin.as_of),
        valid_to: None,
        closed_seq: None,
        source: g.source.clone(),
        opened_by: ctx.actor.to_string(),
        closed_by: None,
        import_id: f.origin.import_id.clone(),
    }))
}

pub(super) fn grant_closed(ctx: &EntryContext<'_>, f: &GrantFact) -> RowChange {
    let g = &f.grant;
    RowChange::CloseGrantInterval {
        system_id: g.system_id.clone(),
        account_id: g.account_id.clone(),
        entitlement_id: g.entitlement_id.clone(),
        close: close(ctx, f.origin.as_of),
    }
}

pub(super) fn account_opened(ctx: &EntryContext<'_>, f: &AccountFact) -> RowChange {
    let a = &f.account;
    RowChange::Upsert(Row::AccountInterval(AccountIntervalRow {
        system_id: a.system_id.clone(),
        account_id: a.account_id.clone(),
        opened_seq: ctx.seq,
        valid_from: effective(ctx, f.origin.as_of),
        valid_to: None,
        closed_seq: None,
        person_id: a.person_id.clone(),
        kind: a.kind,
        status: a.status,
        opened_by: ctx.actor.to_string(),
        closed_by: None,
    }))
}

pub(super) fn account_closed(ctx: &EntryContext<'_>, f: &AccountFact) -> RowChange {
    RowChange::CloseAccountInterval {
        system_id: f.account.system_id.clone(),
        account_id: f.account.account_id.clone(),
        close: close(ctx, f.origin.as_of),
    }
}

/// Whether an `account.changed` starts a new version: only who owns the
/// account, its kind and its status matter to history; a new last login
/// does not. A change that does not list its fields counts.
pub(super) fn account_version_changes(f: &AccountFact) -> bool {
    f.changed.as_ref().is_none_or(|fields| {
        fields
            .iter()
            .any(|c| matches!(c.as_str(), "person_id" | "kind" | "status"))
    })
}

/// In-memory closing for replay: the open interval with this key prefix.
pub(super) fn close_open<'a>(
    rows: impl DoubleEndedIterator<Item = (&'a RowKey, &'a mut Row)>,
    close: &Close,
) -> bool {
    for (_, row) in rows.rev() {
        match row {
            Row::GrantInterval(g) if g.valid_to.is_none() => {
                g.valid_to = Some(close.end_for(g.valid_from));
                g.closed_seq = Some(close.seq);
                g.closed_by = Some(close.by.clone());
                return true;
            }
            Row::AccountInterval(a) if a.valid_to.is_none() => {
                a.valid_to = Some(close.end_for(a.valid_from));
                a.closed_seq = Some(close.seq);
                a.closed_by = Some(close.by.clone());
                return true;
            }
            _ => {}
        }
    }
    false
}
