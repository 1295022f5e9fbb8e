//! Seeded, deterministic generator of a realistic demo organisation.
//!
//! [`generate`] writes a snapshot directory in the soxctl interchange format
//! (`manifest.toml` plus `people.csv`, `systems.csv`, `entitlements.csv`,
//! `accounts.csv`, `grants.csv`, `roles.csv`, `role_entitlements.csv`). The
//! same [`DemoConfig`] always yields byte-identical files: all randomness comes
//! from the seed, all time from `as_of`, and every output is sorted.
//!
//! The company is clean by construction (roles never combine conflicting
//! duties) with a known, counted set of findings planted on top; see
//! [`DemoSummary`].
//!
//! [`generate_repo`] writes a small git history of the company's
//! finance-app, committed by its engineers under their work emails at fixed
//! dates, so the same seed and headcount give the same commit ids; it is the
//! change the tour takes through the CI/CD gate (README, step 12).

mod access;
mod history;
mod names;
mod nonhuman;
mod org;
mod plant;
mod repo;
mod systems;
mod timegen;
mod writer;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use crate::access::{Access, Kind};
use crate::org::{Org, Status};
use crate::timegen::{fmt_date, fmt_ts};
use crate::writer::{Table, flag, opt};

pub use crate::history::{DatedSnapshot, DemoHistory, HISTORY_MONTHS, generate_history};
pub use crate::repo::{DemoRepo, REPO_DIR, REPO_NAME, REPO_ORIGIN, RepoPerson, generate_repo};

/// Headcount used when the caller has no preference.
pub const DEFAULT_PEOPLE: usize = 300;

/// Inputs to [`generate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    pub seed: u64,
    /// Number of people in the company (50..=99_999); default 300.
    pub people: usize,
    /// The snapshot's extraction time; every generated instant lies before it.
    pub as_of: DateTime<Utc>,
}

impl DemoConfig {
    /// Default-sized company; `as_of` stays a parameter because the crate
    /// never reads the clock.
    pub fn new(seed: u64, as_of: DateTime<Utc>) -> Self {
        DemoConfig {
            seed,
            people: DEFAULT_PEOPLE,
            as_of,
        }
    }
}

/// What was written, including how many of each planted finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DemoSummary {
    pub people: usize,
    pub systems: usize,
    pub entitlements: usize,
    pub accounts: usize,
    pub grants: usize,
    pub roles: usize,
    pub role_entitlements: usize,
    pub service_accounts: usize,
    pub shared_accounts: usize,
    /// Human accounts linked to no person.
    pub orphans: usize,
    pub terminated: usize,
    pub on_leave: usize,
    /// Terminated people who still have at least one active account.
    pub terminated_with_access: usize,
    /// People holding both sides of one of [`PLANTED_SOD_PAIRS`].
    pub sod_conflicts_planted: usize,
    /// Active accounts not used in more than 90 days.
    pub stale_accounts: usize,
    /// Active human accounts (orphans included) holding a privileged
    /// entitlement with MFA off.
    pub privileged_without_mfa: usize,
    /// An active person in IT security, meant to receive the demo admin
    /// credential.
    pub admin_person_id: String,
}

/// A segregation-of-duties pair: `(system_id, entitlement_id)` on each side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SodPair {
    pub left: (&'static str, &'static str),
    pub right: (&'static str, &'static str),
    pub description: &'static str,
}

/// The conflicts the generator plants. No role grants both sides of a pair,
/// so every person found holding one was planted and counted; a demo SoD
/// ruleset built from these finds exactly `sod_conflicts_planted` people.
pub const PLANTED_SOD_PAIRS: &[SodPair] = &[
    SodPair {
        left: ("erp", "VENDOR_CREATE"),
        right: ("erp", "PAYMENT_APPROVE"),
        description: "can create a vendor and approve paying it",
    },
    SodPair {
        left: ("erp", "PO_CREATE"),
        right: ("erp", "PO_APPROVE"),
        description: "can raise and approve the same purchase order",
    },
    SodPair {
        left: ("erp", "GL_POST"),
        right: ("erp", "GL_JOURNAL_APPROVE"),
        description: "can post and approve their own journal entries",
    },
    SodPair {
        left: ("bank", "PAYMENT_INITIATE"),
        right: ("bank", "PAYMENT_RELEASE"),
        description: "can initiate and release the same wire",
    },
    SodPair {
        left: ("payroll", "EMPLOYEE_EDIT"),
        right: ("payroll", "PAYRUN_APPROVE"),
        description: "can add a ghost employee and approve the pay run",
    },
    SodPair {
        left: ("github", "finance-app:push"),
        right: ("cicd", "deploy-prod"),
        description: "can push code and deploy it to production unreviewed",
    },
];

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    #[error("invalid demo configuration: {0}")]
    InvalidConfig(String),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("cannot encode manifest: {0}")]
    Manifest(#[from] toml::ser::Error),
    #[error("{} is not empty: the demo repository is written into a new directory only", path.display())]
    NotEmpty { path: PathBuf },
    #[error("cannot run git ({source}): the demo repository is made with the git command")]
    GitMissing {
        #[source]
        source: std::io::Error,
    },
    #[error("git {args} in {} failed: {stderr}", dir.display())]
    Git {
        dir: PathBuf,
        args: String,
        stderr: String,
    },
    /// A bug in the generator's built-in tables; never caused by input.
    #[error("demo generator bug: {0}")]
    Internal(String),
}

/// Generates the demo organisation described by `cfg` into `out_dir`
/// (created if missing; existing snapshot files are overwritten).
pub fn generate(cfg: &DemoConfig, out_dir: &Path) -> Result<DemoSummary, DemoError> {
    let as_of = cfg.as_of;
    let (org, access, sod) = build(cfg)?;

    std::fs::create_dir_all(out_dir).map_err(|source| DemoError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    for table in tables(&org, &access)? {
        writer::write_table(out_dir, table)?;
    }
    let system_ids: Vec<&str> = systems::SYSTEMS.iter().map(|s| s.id).collect();
    writer::write_manifest(out_dir, &fmt_ts(as_of), &system_ids)?;
    summarise(&org, &access, sod, as_of)
}

/// The counts of the present: the tables' rows and the planted findings.
fn summarise(
    org: &Org,
    access: &Access,
    sod: usize,
    as_of: DateTime<Utc>,
) -> Result<DemoSummary, DemoError> {
    let [
        people,
        systems,
        entitlements,
        accounts,
        grants,
        roles,
        role_entitlements,
    ] = tables(org, access)?.map(|t| t.rows.len());
    Ok(DemoSummary {
        people,
        systems,
        entitlements,
        accounts,
        grants,
        roles,
        role_entitlements,
        sod_conflicts_planted: sod,
        admin_person_id: admin(org)?,
        ..findings(org, access, as_of)
    })
}

/// The random stream of one generation phase: tuning one phase does not
/// reshuffle the others.
fn phase_rng(seed: u64, phase: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ phase.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The organisation and its access, with the findings planted; also the
/// number of planted SoD conflicts. Every output of the crate starts here,
/// so the snapshot and the demo repository name the same people.
fn build(cfg: &DemoConfig) -> Result<(Org, Access, usize), DemoError> {
    validate(cfg)?;
    let as_of = cfg.as_of;
    let n = cfg.people;

    let rng = |phase: u64| phase_rng(cfg.seed, phase);

    let org = org::build(&mut rng(1), n, as_of.date_naive())?;
    let mut access = access::provision(&mut rng(2), &org, as_of)?;
    let sod = plant::sod_conflicts(&mut rng(3), &org, &mut access, as_of, (n / 40).clamp(5, 10))?;
    access::settle_humans(&mut rng(4), &org, &mut access, as_of);
    plant::terminated_with_access(&mut rng(5), &org, &mut access);
    plant::stale_logins(&mut rng(6), &org, &mut access, as_of, (n / 60).clamp(3, 30));
    plant::mfa_gaps(&mut rng(7), &org, &mut access, (n / 100).clamp(2, 8));
    nonhuman::service_and_shared(&mut rng(8), &org, &mut access, as_of)?;
    nonhuman::orphans(&mut rng(9), &org, &mut access, as_of, (n / 75).clamp(3, 30))?;
    Ok((org, access, sod))
}

fn validate(cfg: &DemoConfig) -> Result<(), DemoError> {
    if !(org::MIN_PEOPLE..=org::MAX_PEOPLE).contains(&cfg.people) {
        return Err(DemoError::InvalidConfig(format!(
            "people must be between {} and {}, got {}",
            org::MIN_PEOPLE,
            org::MAX_PEOPLE,
            cfg.people
        )));
    }
    // Histories reach about twelve years back; keep date arithmetic far from
    // chrono's limits.
    if !(2000..=9000).contains(&cfg.as_of.year()) {
        return Err(DemoError::InvalidConfig(format!(
            "as_of must be between years 2000 and 9000, got {}",
            fmt_ts(cfg.as_of)
        )));
    }
    Ok(())
}

fn admin(org: &Org) -> Result<String, DemoError> {
    let idx = org.holder(org::SECURITY_HEAD)?;
    org.people
        .get(idx)
        .map(|p| p.id.clone())
        .ok_or_else(|| DemoError::Internal("security head vanished".into()))
}

/// Counts derived from the final data rather than from what the planting
/// code intended, so the summary cannot drift from the files.
fn findings(org: &Org, access: &Access, as_of: DateTime<Utc>) -> DemoSummary {
    let person = |i: Option<usize>| i.and_then(|i| org.people.get(i));
    let stale_before = as_of - TimeDelta::days(90);
    let mut leavers_with_access = BTreeSet::new();
    let mut s = DemoSummary {
        people: 0,
        systems: 0,
        entitlements: 0,
        accounts: 0,
        grants: 0,
        roles: 0,
        role_entitlements: 0,
        service_accounts: 0,
        shared_accounts: 0,
        orphans: 0,
        terminated: org
            .people
            .iter()
            .filter(|p| p.status == Status::Terminated)
            .count(),
        on_leave: org
            .people
            .iter()
            .filter(|p| p.status == Status::Leave)
            .count(),
        terminated_with_access: 0,
        sod_conflicts_planted: 0,
        stale_accounts: 0,
        privileged_without_mfa: 0,
        admin_person_id: String::new(),
    };
    for (key, a) in &access.accounts {
        match a.kind {
            Kind::Service => s.service_accounts += 1,
            Kind::Shared => s.shared_accounts += 1,
            Kind::Human if a.person.is_none() => s.orphans += 1,
            Kind::Human => {}
        }
        if !a.active {
            continue;
        }
        if person(a.person).is_some_and(|p| p.status == Status::Terminated) {
            leavers_with_access.insert(a.person);
        }
        if a.last_login.is_some_and(|t| t < stale_before) {
            s.stale_accounts += 1;
        }
        if a.kind == Kind::Human && a.mfa == Some(false) && access.holds_privileged(key) {
            s.privileged_without_mfa += 1;
        }
    }
    s.terminated_with_access = leavers_with_access.len();
    s
}

const PEOPLE_HEADER: &[&str] = &[
    "person_id",
    "name",
    "email",
    "manager_id",
    "department",
    "title",
    "status",
    "hire_date",
    "termination_date",
];
const ACCOUNTS_HEADER: &[&str] = &[
    "system_id",
    "account_id",
    "person_id",
    "kind",
    "status",
    "last_login",
    "mfa",
    "owner_id",
    "credential_rotated_at",
];

/// All seven CSV tables, in the order `generate` unpacks their counts.
fn tables(org: &Org, access: &Access) -> Result<[Table; 7], DemoError> {
    let id_of = |i: usize| -> Result<String, DemoError> {
        org.people
            .get(i)
            .map(|p| p.id.clone())
            .ok_or_else(|| DemoError::Internal(format!("no person #{i}")))
    };
    let opt_id = |i: Option<usize>| i.map(id_of).transpose().map(opt);

    let mut people = Vec::with_capacity(org.people.len());
    for p in &org.people {
        people.push(vec![
            p.id.clone(),
            p.name(),
            p.email.clone(),
            opt_id(p.manager)?,
            p.department.to_string(),
            p.title.clone(),
            p.status.as_str().to_string(),
            fmt_date(p.hire),
            opt(p.termination.map(fmt_date)),
        ]);
    }

    let mut systems_rows = Vec::new();
    let mut ents = Vec::new();
    for s in systems::SYSTEMS {
        let owner = id_of(org.holder(s.owner)?)?;
        systems_rows.push(vec![
            s.id.to_string(),
            s.name.to_string(),
            s.kind.to_string(),
            owner.clone(),
            flag(s.sox_in_scope),
        ]);
        for e in s.entitlements {
            ents.push(vec![
                s.id.to_string(),
                e.id.to_string(),
                e.name.to_string(),
                flag(e.privileged),
                owner.clone(),
                e.description.to_string(),
            ]);
        }
    }

    let mut accounts = Vec::with_capacity(access.accounts.len());
    for ((system, id), a) in &access.accounts {
        accounts.push(vec![
            system.to_string(),
            id.clone(),
            opt_id(a.person)?,
            a.kind.as_str().to_string(),
            if a.active { "active" } else { "disabled" }.to_string(),
            opt(a.last_login.map(fmt_ts)),
            opt(a.mfa.map(flag)),
            opt_id(a.owner)?,
            opt(a.rotated.map(fmt_ts)),
        ]);
    }

    let grants = access
        .grants
        .iter()
        .map(|((system, account, ent), g)| {
            vec![
                system.to_string(),
                account.clone(),
                ent.to_string(),
                fmt_ts(g.granted_at),
                g.source.clone(),
            ]
        })
        .collect();

    let mut roles = Vec::new();
    let mut role_ents = Vec::new();
    for r in systems::ROLES {
        roles.push(vec![
            r.id.to_string(),
            r.name.to_string(),
            id_of(org.holder(r.owner)?)?,
        ]);
        for (s, e) in r.grants {
            role_ents.push(vec![r.id.to_string(), s.to_string(), e.to_string()]);
        }
    }

    Ok([
        Table {
            file: "people.csv",
            header: PEOPLE_HEADER,
            rows: people,
        },
        Table {
            file: "systems.csv",
            header: &["system_id", "name", "kind", "owner_id", "sox_in_scope"],
            rows: systems_rows,
        },
        Table {
            file: "entitlements.csv",
            header: &[
                "system_id",
                "entitlement_id",
                "name",
                "privileged",
                "owner_id",
                "description",
            ],
            rows: ents,
        },
        Table {
            file: "accounts.csv",
            header: ACCOUNTS_HEADER,
            rows: accounts,
        },
        Table {
            file: "grants.csv",
            header: &[
                "system_id",
                "account_id",
                "entitlement_id",
                "granted_at",
                "source",
            ],
            rows: grants,
        },
        Table {
            file: "roles.csv",
            header: &["role_id", "name", "owner_id"],
            rows: roles,
        },
        Table {
            file: "role_entitlements.csv",
            header: &["role_id", "system_id", "entitlement_id"],
            rows: role_ents,
        },
    ])
}
