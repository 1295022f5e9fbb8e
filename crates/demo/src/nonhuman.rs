//! Accounts that belong to no one person: service accounts, shared logins and
//! orphans left behind by someone nobody remembers. Each carries one
//! deliberate flaw at most, so every finding has an obvious cause.

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::DemoError;
use crate::access::{Access, Account, Kind};
use crate::names::{EMAIL_DOMAIN, FIRST_NAMES, LAST_NAMES, email_local, short_login};
use crate::org::{Org, SECURITY_HEAD, Status};
use crate::systems::{self, LoginStyle};
use crate::timegen::{between, days};

enum Owner {
    /// First active holder of the title, else the named head.
    Title(&'static str, &'static str),
    /// Someone who has since left the company.
    Leaver,
    Nobody,
}

struct NonHuman {
    system: &'static str,
    id: &'static str,
    kind: Kind,
    owner: Owner,
    grants: &'static [&'static str],
    rotated_days_ago: i64,
    active: bool,
    /// Days since last use; `None` where the system keeps no login records.
    idle_days: Option<i64>,
}

const IT_HEAD: &str = "Director of IT Operations";

const NON_HUMAN: &[NonHuman] = &[
    NonHuman {
        system: "erp",
        id: "svc-erp-integration",
        kind: Kind::Service,
        owner: Owner::Title("Systems Administrator", IT_HEAD),
        grants: &["GL_POST", "INVOICE_POST"],
        rotated_days_ago: 34,
        active: true,
        idle_days: Some(0),
    },
    NonHuman {
        system: "erp",
        id: "svc-erp-batch",
        kind: Kind::Service,
        owner: Owner::Leaver,
        grants: &["DISPLAY", "PAYMENT_RUN"],
        rotated_days_ago: 71,
        active: true,
        idle_days: Some(0),
    },
    NonHuman {
        system: "bank",
        id: "api-h2h-payments",
        kind: Kind::Service,
        owner: Owner::Title("Treasury Manager", "Treasurer"),
        grants: &["PAYMENT_INITIATE"],
        rotated_days_ago: 22,
        active: true,
        idle_days: Some(0),
    },
    NonHuman {
        system: "payroll",
        id: "svc-workday-sync",
        kind: Kind::Service,
        owner: Owner::Title("HRIS Analyst", "HR Director"),
        grants: &["EMPLOYEE_EDIT"],
        rotated_days_ago: 48,
        active: true,
        idle_days: Some(0),
    },
    NonHuman {
        system: "billing",
        id: "svc-billing-sync",
        kind: Kind::Service,
        owner: Owner::Title("Billing Supervisor", "Accounts Receivable Manager"),
        grants: &["cash.apply", "invoice.create"],
        rotated_days_ago: 63,
        active: true,
        idle_days: Some(0),
    },
    NonHuman {
        system: "proddb",
        id: "app_finance",
        kind: Kind::Service,
        owner: Owner::Title("Engineering Manager", "VP Engineering"),
        grants: &["read_write"],
        rotated_days_ago: 29,
        active: true,
        idle_days: None,
    },
    NonHuman {
        system: "proddb",
        id: "etl_reporting",
        kind: Kind::Service,
        owner: Owner::Nobody,
        grants: &["read_only"],
        rotated_days_ago: 57,
        active: true,
        idle_days: None,
    },
    NonHuman {
        system: "github",
        id: "finance-app-bot",
        kind: Kind::Service,
        owner: Owner::Title("Staff Engineer", "VP Engineering"),
        grants: &["finance-app:push"],
        rotated_days_ago: 12,
        active: true,
        idle_days: Some(0),
    },
    NonHuman {
        system: "cicd",
        id: "ci-deployer",
        kind: Kind::Service,
        owner: Owner::Title("Site Reliability Engineer", "VP Engineering"),
        grants: &["deploy-prod"],
        rotated_days_ago: 26,
        active: true,
        idle_days: Some(0),
    },
    NonHuman {
        system: "aws",
        id: "terraform-ci",
        kind: Kind::Service,
        owner: Owner::Title("Site Reliability Engineer", IT_HEAD),
        grants: &["AdministratorAccess"],
        // The one key nobody has rotated in over half a year.
        rotated_days_ago: 213,
        active: true,
        idle_days: Some(0),
    },
    NonHuman {
        system: "okta",
        id: "svc-scim-provisioner",
        kind: Kind::Service,
        owner: Owner::Title("IAM Engineer", SECURITY_HEAD),
        grants: &["app_admin"],
        rotated_days_ago: 15,
        active: true,
        idle_days: Some(0),
    },
    NonHuman {
        system: "bank",
        id: "treasury-shared",
        kind: Kind::Shared,
        owner: Owner::Title("Treasurer", "Treasurer"),
        grants: &["PAYMENT_RELEASE", "VIEW"],
        rotated_days_ago: 44,
        active: true,
        idle_days: Some(1),
    },
    NonHuman {
        system: "erp",
        id: "firefighter01",
        kind: Kind::Shared,
        owner: Owner::Title(IT_HEAD, IT_HEAD),
        grants: &["SAP_ALL"],
        rotated_days_ago: 31,
        // Emergency access stays locked until someone checks it out.
        active: false,
        idle_days: Some(38),
    },
];

fn resolve_owner(org: &Org, owner: &Owner) -> Result<Option<usize>, DemoError> {
    match owner {
        Owner::Title(title, fallback) => org.active_holder(title, fallback).map(Some),
        Owner::Nobody => Ok(None),
        // Prefer a technical leaver: that is who typically owned batch jobs.
        Owner::Leaver => {
            let leaver = |tech: bool| {
                org.people.iter().position(|p| {
                    p.status == Status::Terminated
                        && (!tech || matches!(p.department, "IT Operations" | "Engineering"))
                })
            };
            Ok(leaver(true).or_else(|| leaver(false)))
        }
    }
}

pub(crate) fn service_and_shared(
    rng: &mut StdRng,
    org: &Org,
    access: &mut Access,
    as_of: DateTime<Utc>,
) -> Result<(), DemoError> {
    for nh in NON_HUMAN {
        let created = as_of - days(rng.gen_range(400..1_500));
        let rotated =
            as_of - days(nh.rotated_days_ago) - TimeDelta::seconds(rng.gen_range(0..86_400));
        let last_login = nh
            .idle_days
            .map(|d| as_of - days(d) - TimeDelta::seconds(rng.gen_range(60..86_400)));
        let account = Account {
            person: None,
            kind: nh.kind,
            active: nh.active,
            last_login,
            // Non-interactive credentials cannot do MFA; shared ones simply don't.
            mfa: Some(false),
            owner: resolve_owner(org, &nh.owner)?,
            rotated: Some(rotated),
            created,
        };
        access.insert_account(nh.system, nh.id.to_string(), account)?;
        for ent in nh.grants {
            let at = created + TimeDelta::seconds(rng.gen_range(0..2 * 86_400));
            access.grant(nh.system, nh.id, ent, at, "direct")?;
        }
    }
    Ok(())
}

/// Orphans get access typical of the systems they linger in.
const ORPHAN_SPOTS: &[(&str, &[&str])] = &[
    ("erp", &["DISPLAY", "INVOICE_POST"]),
    ("aws", &["PowerUserAccess"]),
    ("github", &["finance-app:push"]),
    ("billing", &["invoice.create", "view"]),
    ("proddb", &["read_write"]),
    ("bank", &["PAYMENT_INITIATE", "VIEW"]),
];

/// Human accounts whose login matches no current or former employee:
/// contractors and test users provisioned outside HR. Returns how many.
pub(crate) fn orphans(
    rng: &mut StdRng,
    org: &Org,
    access: &mut Access,
    as_of: DateTime<Utc>,
    count: usize,
) -> Result<usize, DemoError> {
    let mut made = 0;
    for n in 0..count {
        let Some(&(system, ents)) = ORPHAN_SPOTS.get(n % ORPHAN_SPOTS.len()) else {
            break;
        };
        let spec = systems::system(system)
            .ok_or_else(|| DemoError::Internal(format!("unknown system {system}")))?;
        let Some(id) = invent_login(rng, org, access, system, spec.login) else {
            continue;
        };
        let created = as_of - days(rng.gen_range(300..1_500));
        // Half still in use (someone shares the password), half long idle.
        let last_login = spec.records_logins.then(|| {
            if rng.gen_bool(0.5) {
                between(rng, as_of - days(20), as_of)
            } else {
                between(rng, created.max(as_of - days(500)), as_of - days(120))
            }
        });
        let account = Account {
            person: None,
            kind: Kind::Human,
            active: true,
            last_login,
            mfa: Some(rng.gen_bool(0.5)),
            owner: None,
            rotated: None,
            created,
        };
        access.insert_account(spec.id, id.clone(), account)?;
        for ent in ents {
            let at = created + TimeDelta::seconds(rng.gen_range(0..3_600));
            access.grant(spec.id, &id, ent, at, "direct")?;
        }
        made += 1;
    }
    Ok(made)
}

/// A plausible login for a person who never existed here.
fn invent_login(
    rng: &mut StdRng,
    org: &Org,
    access: &Access,
    system: &'static str,
    style: LoginStyle,
) -> Option<String> {
    for attempt in 0..256 {
        let first = FIRST_NAMES.choose(rng)?;
        let last = LAST_NAMES.choose(rng)?;
        // Big companies use up the plain forms; a numbered one still
        // matches nobody, exactly like a real leftover `jsmith7`.
        let suffix = if attempt < 64 {
            String::new()
        } else {
            rng.gen_range(2..1_000).to_string()
        };
        let login = short_login(first, last) + &suffix;
        let local = email_local(first, last) + &suffix;
        if org.taken_logins.contains(&login) || org.taken_emails.contains(&local) {
            continue;
        }
        let id = match style {
            LoginStyle::Short => login,
            LoginStyle::Upper => login.to_ascii_uppercase(),
            LoginStyle::Email => format!("{local}@{EMAIL_DOMAIN}"),
            LoginStyle::Handle => format!("{login}-exco"),
        };
        if !access.accounts.contains_key(&(system, id.clone())) {
            return Some(id);
        }
    }
    None
}
