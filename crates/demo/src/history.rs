//! A year of the organisation's past as dated snapshots, so that questions
//! about an instant (`who-has --at`, `history`, a finding's first sighting)
//! have something true to answer.
//!
//! The past is derived from the present: people appear on their hire date
//! and leave on their termination date; accounts appear when provisioned,
//! grants when granted, and a leaver's accounts are disabled a day after
//! they go (one leaver's only after weeks). On top of that, access that is
//! gone by now: quarter-end payment runs, a project's database access, and
//! people who moved department and kept their old access for a while. The
//! snapshot at `as_of` is exactly what [`crate::generate`] writes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::access::{Access, AccountKey, Kind};
use crate::org::{Org, Status};
use crate::timegen::{days, fmt_date, fmt_ts, start_of};
use crate::writer::{Table, write_manifest, write_table};
use crate::{DemoConfig, DemoError, DemoSummary};

/// Month ends before `as_of` that get a snapshot of their own.
pub const HISTORY_MONTHS: u32 = 12;

/// One snapshot of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatedSnapshot {
    /// Its `extracted_at`.
    pub as_of: DateTime<Utc>,
    pub dir: PathBuf,
}

/// What [`generate_history`] wrote: the snapshots, oldest first (the last
/// at `as_of`), the present's summary, and the stories the past holds.
#[derive(Clone, Debug)]
pub struct DemoHistory {
    pub snapshots: Vec<DatedSnapshot>,
    pub summary: DemoSummary,
    /// One line per planted episode, for the demo's output and the README.
    pub stories: Vec<String>,
}

/// A grant that existed for a while and is gone by `as_of`.
#[derive(Clone, Debug)]
struct PastGrant {
    account: AccountKey,
    entitlement: &'static str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// Someone who worked in another department until `until`.
#[derive(Clone, Debug)]
struct Move {
    person: usize,
    department: &'static str,
    title: String,
    until: DateTime<Utc>,
}

/// Everything about the past that the present does not show.
#[derive(Default)]
struct Past {
    grants: Vec<PastGrant>,
    moves: Vec<Move>,
    /// Leavers whose accounts stayed enabled this long after they left
    /// (everyone else's: a day).
    slow_leavers: BTreeMap<usize, TimeDelta>,
    stories: Vec<String>,
}

/// Writes the history into `out_dir/YYYY-MM-DD/`, one snapshot directory
/// per month end of the [`HISTORY_MONTHS`] before `as_of` and one at
/// `as_of`. The same configuration always writes the same bytes.
pub fn generate_history(cfg: &DemoConfig, out_dir: &Path) -> Result<DemoHistory, DemoError> {
    let as_of = cfg.as_of;
    let (org, access, sod) = crate::build(cfg)?;
    let summary = crate::summarise(&org, &access, sod, as_of)?;
    let start = month_end_before(as_of, HISTORY_MONTHS);
    let past = plant_past(
        &mut crate::phase_rng(cfg.seed, 10),
        &org,
        &access,
        start,
        as_of,
    );
    let present = crate::tables(&org, &access)?;
    let system_ids: Vec<&str> = crate::systems::SYSTEMS.iter().map(|s| s.id).collect();
    let mut snapshots = Vec::new();
    for back in (0..=HISTORY_MONTHS).rev() {
        let at = if back == 0 {
            as_of
        } else {
            month_end_before(as_of, back)
        };
        let dir = out_dir.join(fmt_date(at.date_naive()));
        std::fs::create_dir_all(&dir).map_err(|source| DemoError::Io {
            path: dir.clone(),
            source,
        })?;
        let tables = if at >= as_of {
            present.clone()
        } else {
            View::new(&org, &access, &past, at, cfg.seed).tables(&present)?
        };
        for table in tables {
            write_table(&dir, table)?;
        }
        write_manifest(&dir, &fmt_ts(at), &system_ids)?;
        snapshots.push(DatedSnapshot { as_of: at, dir });
    }
    Ok(DemoHistory {
        snapshots,
        summary,
        stories: past.stories,
    })
}

/// The last day of the month `back` months before `as_of`'s, at `as_of`'s
/// time of day.
fn month_end_before(as_of: DateTime<Utc>, back: u32) -> DateTime<Utc> {
    let first = NaiveDate::from_ymd_opt(as_of.year(), as_of.month(), 1).unwrap_or_default();
    let first = first - Months::new(back.saturating_sub(1));
    let last = first.pred_opt().unwrap_or(first);
    last.and_time(as_of.time()).and_utc()
}

fn plant_past(
    rng: &mut StdRng,
    org: &Org,
    access: &Access,
    start: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> Past {
    let mut past = Past::default();
    let active_since = |i: usize, since: DateTime<Utc>| {
        org.people
            .get(i)
            .is_some_and(|p| p.status == Status::Active && start_of(p.hire) < since)
    };
    let name = |i: usize| {
        org.people
            .get(i)
            .map(|p| format!("{} ({})", p.name(), p.id))
            .unwrap_or_default()
    };

    // Quarter-end payment runs: someone who prepares payments is given the
    // run itself for the last days of each quarter.
    let payers: Vec<usize> = (0..org.people.len())
        .filter(|&i| active_since(i, start) && access.person_holds(i, ("erp", "PAYMENT_APPROVE")))
        .filter(|&i| access.by_person.contains_key(&(i, "erp")))
        .collect();
    let mut quarters: Vec<DateTime<Utc>> = (1..=HISTORY_MONTHS)
        .rev()
        .map(|back| month_end_before(as_of, back))
        .filter(|end| end.month() % 3 == 0 && *end + days(4) < as_of)
        .collect();
    quarters.dedup();
    if let Some(&payer) = payers.choose(rng)
        && let Some(account) = access.by_person.get(&(payer, "erp"))
    {
        for end in &quarters {
            past.grants.push(PastGrant {
                account: ("erp", account.clone()),
                entitlement: "PAYMENT_RUN",
                from: *end - days(3),
                to: *end + days(3),
            });
        }
        past.stories.push(format!(
            "quarter-end payment runs: {} held erp:PAYMENT_RUN for the last days of each quarter ({})",
            name(payer),
            quarters
                .iter()
                .map(|q| fmt_date(q.date_naive()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    // A project: an engineer was given production database administration
    // for six weeks and gave it back.
    let engineers: Vec<usize> = (0..org.people.len())
        .filter(|&i| active_since(i, start) && access.by_person.contains_key(&(i, "proddb")))
        .filter(|&i| !access.person_holds(i, ("proddb", "db_owner")))
        .collect();
    if let Some(&engineer) = engineers.choose(rng)
        && let Some(account) = access.by_person.get(&(engineer, "proddb"))
    {
        let from = start + days(rng.gen_range(60..150));
        let to = from + days(42);
        past.grants.push(PastGrant {
            account: ("proddb", account.clone()),
            entitlement: "db_owner",
            from,
            to,
        });
        past.stories.push(format!(
            "a project: {} held proddb:db_owner from {} to {}",
            name(engineer),
            fmt_date(from.date_naive()),
            fmt_date(to.date_naive())
        ));
    }

    // Movers: two people worked in another department until a date in the
    // year and kept one of its entitlements three weeks longer.
    let mut movers: Vec<usize> = (0..org.people.len())
        .filter(|&i| active_since(i, start))
        .filter(|&i| org.people.get(i).is_some_and(|p| p.manager.is_some()))
        .collect();
    movers.shuffle(rng);
    for &mover in &movers {
        if past.moves.len() == 2 {
            break;
        }
        let Some(person) = org.people.get(mover) else {
            continue;
        };
        // Someone of another department whose direct grant the mover lacks,
        // in a system where the mover has an account.
        let mut colleagues: Vec<usize> = (0..org.people.len())
            .filter(|&j| {
                org.people
                    .get(j)
                    .is_some_and(|p| p.department != person.department && p.manager.is_some())
            })
            .collect();
        colleagues.shuffle(rng);
        let found = colleagues.iter().find_map(|&j| {
            access
                .grants
                .iter()
                .find_map(|((system, account, entitlement), g)| {
                    let owner = access.accounts.get(&(*system, account.clone()))?.person?;
                    let mine = access.by_person.get(&(mover, *system))?;
                    (owner == j
                        && g.source == "direct"
                        && !access.person_holds(mover, (*system, *entitlement)))
                    .then(|| (j, (*system, mine.clone()), *entitlement))
                })
        });
        let Some((colleague, account, entitlement)) = found else {
            continue;
        };
        let Some(other) = org.people.get(colleague) else {
            continue;
        };
        let until = start + days(rng.gen_range(90..240));
        past.grants.push(PastGrant {
            account: account.clone(),
            entitlement,
            from: start - days(30),
            to: until + days(21),
        });
        past.stories.push(format!(
            "a mover: {} was in {} ({}) until {} and kept {}:{} for three weeks after",
            name(mover),
            other.department,
            other.title,
            fmt_date(until.date_naive()),
            account.0,
            entitlement
        ));
        past.moves.push(Move {
            person: mover,
            department: other.department,
            title: other.title.clone(),
            until,
        });
    }

    // A leaver whose accounts stayed enabled for five weeks after they went
    // (all of them are disabled by now, or planted as still enabled).
    let leavers: Vec<usize> = (0..org.people.len())
        .filter(|&i| {
            org.people.get(i).is_some_and(|p| {
                p.status == Status::Terminated
                    && p.termination.is_some_and(|t| {
                        start_of(t) > start + days(20) && start_of(t) + days(45) < as_of
                    })
            })
        })
        // Every account of theirs is disabled by now (not one of the
        // planted leavers who still have access).
        .filter(|&i| {
            let mut theirs = access.accounts.values().filter(|a| a.person == Some(i));
            theirs.clone().next().is_some() && theirs.all(|a| !a.active)
        })
        .collect();
    if let Some(&leaver) = leavers.choose(rng) {
        let lag = days(35);
        past.slow_leavers.insert(leaver, lag);
        if let Some(t) = org.people.get(leaver).and_then(|p| p.termination) {
            past.stories.push(format!(
                "a slow leaver: {} left on {} and kept working accounts until {}",
                name(leaver),
                fmt_date(t),
                fmt_date((start_of(t) + lag).date_naive())
            ));
        }
    }
    past
}

/// The organisation as it stood at `at`, applied to the present's tables.
struct View<'a> {
    org: &'a Org,
    access: &'a Access,
    past: &'a Past,
    at: DateTime<Utc>,
    seed: u64,
    /// Person ids by index, and indices by id.
    index: BTreeMap<&'a str, usize>,
    /// People present at `at`: hired by then, or owners of something
    /// (systems, roles, entitlements) the catalogue always names.
    present: BTreeSet<usize>,
}

impl<'a> View<'a> {
    fn new(org: &'a Org, access: &'a Access, past: &'a Past, at: DateTime<Utc>, seed: u64) -> Self {
        let index: BTreeMap<&str, usize> = org
            .people
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        let owners: BTreeSet<usize> = crate::systems::SYSTEMS
            .iter()
            .map(|s| s.owner)
            .chain(crate::systems::ROLES.iter().map(|r| r.owner))
            .filter_map(|title| org.holder(title).ok())
            .collect();
        let present = (0..org.people.len())
            .filter(|&i| {
                owners.contains(&i) || org.people.get(i).is_some_and(|p| start_of(p.hire) <= at)
            })
            .collect();
        View {
            org,
            access,
            past,
            at,
            seed,
            index,
            present,
        }
    }

    /// The nearest manager up the chain who was there at `at`.
    fn manager_at(&self, person: usize) -> Option<usize> {
        let mut next = self.org.people.get(person)?.manager;
        for _ in 0..self.org.people.len() {
            let m = next?;
            if self.present.contains(&m) {
                return Some(m);
            }
            next = self.org.people.get(m)?.manager;
        }
        None
    }

    fn terminated_by(&self, person: usize) -> Option<DateTime<Utc>> {
        let p = self.org.people.get(person)?;
        let left = start_of(p.termination?);
        (p.status == Status::Terminated && left <= self.at).then_some(left)
    }

    fn account_active(&self, key: &AccountKey) -> bool {
        let Some(a) = self.access.accounts.get(key) else {
            return false;
        };
        if a.active {
            return true;
        }
        let Some(person) = a.person else {
            return false;
        };
        match self.org.people.get(person).and_then(|p| p.termination) {
            Some(left)
                if self
                    .org
                    .people
                    .get(person)
                    .is_some_and(|p| p.status == Status::Terminated) =>
            {
                let lag = self
                    .past
                    .slow_leavers
                    .get(&person)
                    .copied()
                    .unwrap_or(days(1));
                self.at < start_of(left) + lag
            }
            _ => false,
        }
    }

    /// A login shortly before `at` for an account in use then: the same
    /// seed and instant always give the same one.
    fn recent_login(&self, key: &AccountKey, created: DateTime<Utc>) -> DateTime<Utc> {
        let mut hash = self.seed ^ 0xcbf2_9ce4_8422_2325;
        for byte in key
            .0
            .bytes()
            .chain(key.1.bytes())
            .chain(fmt_ts(self.at).bytes())
        {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        let back = TimeDelta::seconds(i64::try_from(hash % (5 * 86_400)).unwrap_or(0) + 600);
        (self.at - back).max(created)
    }

    fn tables(&self, present: &[Table; 7]) -> Result<[Table; 7], DemoError> {
        let [
            people,
            systems,
            entitlements,
            accounts,
            grants,
            roles,
            role_entitlements,
        ] = present.clone();
        Ok([
            self.people(people)?,
            systems,
            entitlements,
            self.accounts(accounts)?,
            self.grants(grants)?,
            roles,
            role_entitlements,
        ])
    }

    fn column(table: &Table, name: &str) -> Result<usize, DemoError> {
        table
            .header
            .iter()
            .position(|c| *c == name)
            .ok_or_else(|| DemoError::Internal(format!("{} has no column {name}", table.file)))
    }

    fn people(&self, mut table: Table) -> Result<Table, DemoError> {
        let [id, manager, department, title, status, termination] = [
            "person_id",
            "manager_id",
            "department",
            "title",
            "status",
            "termination_date",
        ]
        .map(|c| Self::column(&table, c));
        let (id, manager, department, title, status, termination) =
            (id?, manager?, department?, title?, status?, termination?);
        let mut rows = Vec::with_capacity(table.rows.len());
        for mut row in std::mem::take(&mut table.rows) {
            let Some(&i) = row.get(id).and_then(|p| self.index.get(p.as_str())) else {
                continue;
            };
            if !self.present.contains(&i) {
                continue;
            }
            let Some(p) = self.org.people.get(i) else {
                continue;
            };
            row[manager] = self
                .manager_at(i)
                .and_then(|m| self.org.people.get(m))
                .map(|m| m.id.clone())
                .unwrap_or_default();
            if self.terminated_by(i).is_none() {
                row[termination] = String::new();
                row[status] = match (p.status, p.leave_start) {
                    (Status::Leave, Some(from)) if start_of(from) <= self.at => "leave",
                    _ => "active",
                }
                .to_string();
            }
            if let Some(m) = self
                .past
                .moves
                .iter()
                .find(|m| m.person == i && self.at < m.until)
            {
                row[department] = m.department.to_string();
                row[title] = m.title.clone();
            }
            rows.push(row);
        }
        table.rows = rows;
        Ok(table)
    }

    fn account_key(&self, row: &[String]) -> Option<AccountKey> {
        let system = crate::systems::SYSTEMS
            .iter()
            .find(|s| row.first().is_some_and(|id| id == s.id))?
            .id;
        Some((system, row.get(1)?.clone()))
    }

    fn account_present(&self, key: &AccountKey) -> bool {
        self.access.accounts.get(key).is_some_and(|a| {
            a.created <= self.at && a.person.is_none_or(|p| self.present.contains(&p))
        })
    }

    fn accounts(&self, mut table: Table) -> Result<Table, DemoError> {
        let [status, last_login, owner, rotated] =
            ["status", "last_login", "owner_id", "credential_rotated_at"]
                .map(|c| Self::column(&table, c));
        let (status, last_login, owner, rotated) = (status?, last_login?, owner?, rotated?);
        let mut rows = Vec::with_capacity(table.rows.len());
        for mut row in std::mem::take(&mut table.rows) {
            let Some(key) = self.account_key(&row) else {
                continue;
            };
            if !self.account_present(&key) {
                continue;
            }
            let Some(a) = self.access.accounts.get(&key) else {
                continue;
            };
            let active = self.account_active(&key);
            row[status] = if active { "active" } else { "disabled" }.to_string();
            if let Some(login) = a.last_login
                && login > self.at
            {
                row[last_login] = fmt_ts(self.recent_login(&key, a.created));
            }
            if let Some(at) = a.rotated
                && at > self.at
            {
                row[rotated] = String::new();
            }
            if let Some(o) = a.owner
                && !self.present.contains(&o)
            {
                row[owner] = self
                    .manager_at(o)
                    .and_then(|m| self.org.people.get(m))
                    .map(|m| m.id.clone())
                    .unwrap_or_default();
            }
            rows.push(row);
        }
        table.rows = rows;
        Ok(table)
    }

    fn grants(&self, mut table: Table) -> Result<Table, DemoError> {
        let granted = Self::column(&table, "granted_at")?;
        let at = fmt_ts(self.at);
        let mut rows: Vec<Vec<String>> = std::mem::take(&mut table.rows)
            .into_iter()
            .filter(|row| {
                // The interchange format's instants sort as text.
                row.get(granted).is_some_and(|g| g.as_str() <= at.as_str())
                    && self
                        .account_key(row)
                        .is_some_and(|k| self.account_present(&k))
            })
            .collect();
        for g in &self.past.grants {
            if g.from <= self.at && self.at < g.to && self.account_present(&g.account) {
                let kind = self.access.accounts.get(&g.account).map(|a| a.kind);
                if kind == Some(Kind::Human) {
                    rows.push(vec![
                        g.account.0.to_string(),
                        g.account.1.clone(),
                        g.entitlement.to_string(),
                        fmt_ts(g.from),
                        "direct".to_string(),
                    ]);
                }
            }
        }
        rows.sort();
        rows.dedup_by(|a, b| a.get(..3) == b.get(..3));
        table.rows = rows;
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_ends_keep_the_time_of_day() {
        let as_of = DateTime::parse_from_rfc3339("2026-09-30T18:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(fmt_ts(month_end_before(as_of, 1)), "2026-08-31T18:00:00Z");
        assert_eq!(fmt_ts(month_end_before(as_of, 7)), "2026-02-28T18:00:00Z");
        assert_eq!(fmt_ts(month_end_before(as_of, 12)), "2025-09-30T18:00:00Z");
    }
}
