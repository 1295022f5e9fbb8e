//! A synthetic organisation of any size, for timing: people with 1–4
//! accounts over 20 systems, ~10 grants per account over 50,000 entitlements
//! in ten families, a few service accounts, and rules of references,
//! patterns and all-of groups. Deterministic (fixed-seed xorshift).

use soxctl_sod::{AccountKind, AccountSpec, DatasetBuilder, Interval, RuleSet};
use std::fmt::Write;

pub const SYSTEMS: usize = 20;
pub const ENTITLEMENTS: usize = 50_000;
const PER_SYSTEM: usize = ENTITLEMENTS / SYSTEMS;
const FAMILIES: [&str; 10] = [
    "VENDOR", "PAY", "GL", "AP", "AR", "HR", "INV", "USER", "ADMIN", "VIEW",
];

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub fn system(s: usize) -> String {
    format!("sys{s:02}")
}

/// Entitlement `k` of a system: `<FAMILY>_<k>`.
pub fn entitlement(k: usize) -> String {
    format!("{}_{k}", FAMILIES[k % FAMILIES.len()])
}

/// One account of the organisation, as CSV fields.
pub struct Account {
    pub system: usize,
    pub id: String,
    pub person: Option<String>,
    pub kind: AccountKind,
    pub grants: Vec<usize>,
}

/// Calls `f` for every account of an organisation of `people` people.
pub fn organisation(people: usize, grants_per_account: usize, mut f: impl FnMut(&Account)) {
    let mut rng = Rng::new(0x5eed);
    let mut account = Account {
        system: 0,
        id: String::new(),
        person: None,
        kind: AccountKind::Human,
        grants: Vec::new(),
    };
    let fill = |rng: &mut Rng, account: &mut Account| {
        account.grants.clear();
        let n = 1 + rng.below(grants_per_account * 2 - 1);
        for _ in 0..n {
            // Most grants are views; the rest spread over the other families.
            let k = if rng.below(10) < 6 {
                9 + 10 * rng.below(PER_SYSTEM / 10)
            } else {
                rng.below(PER_SYSTEM)
            };
            account.grants.push(k);
        }
    };
    for p in 0..people {
        let person = format!("P{p:07}");
        for j in 0..1 + rng.below(4) {
            account.system = rng.below(SYSTEMS);
            account.id = format!("a{p}_{j}");
            account.person = Some(person.clone());
            account.kind = AccountKind::Human;
            fill(&mut rng, &mut account);
            f(&account);
        }
        if p % 20 == 0 {
            account.system = rng.below(SYSTEMS);
            account.id = format!("svc{p}");
            account.person = None;
            account.kind = AccountKind::Service;
            fill(&mut rng, &mut account);
            f(&account);
        }
    }
}

pub fn builder(people: usize, grants_per_account: usize) -> DatasetBuilder {
    let mut b = DatasetBuilder::new();
    organisation(people, grants_per_account, |a| {
        let system = system(a.system);
        b.account(AccountSpec {
            system: &system,
            account: &a.id,
            person: a.person.as_deref(),
            kind: a.kind,
            active: true,
        })
        .unwrap();
        for &k in &a.grants {
            b.grant(&system, &a.id, &entitlement(k), Interval::ALWAYS)
                .unwrap();
        }
    });
    b
}

/// `(accounts.csv, grants.csv)` of the organisation.
pub fn csv(people: usize, grants_per_account: usize) -> (Vec<u8>, Vec<u8>) {
    let mut accounts = String::from("system_id,account_id,person_id,kind,status,last_login,mfa\n");
    let mut grants = String::from("system_id,account_id,entitlement_id,granted_at,source\n");
    organisation(people, grants_per_account, |a| {
        let system = system(a.system);
        let person = a.person.as_deref().unwrap_or("");
        let _ = writeln!(
            accounts,
            "{system},{},{person},{},active,2026-03-30T08:12:00Z,true",
            a.id, a.kind
        );
        for &k in &a.grants {
            let _ = writeln!(
                grants,
                "{system},{},{},2024-02-01T00:00:00Z,direct",
                a.id,
                entitlement(k)
            );
        }
    });
    (accounts.into_bytes(), grants.into_bytes())
}

/// `risks` risks over `risks / 2` functions of 1–30 items each: mostly
/// references, some patterns (`VENDOR_1*`-like, a few dozen matches each)
/// and all-of groups of 2–3 members.
pub fn rules(risks: usize) -> RuleSet {
    let mut rng = Rng::new(0xfeed);
    let functions = (risks / 2).max(2);
    let mut text = String::new();
    for f in 0..functions {
        let s = system(rng.below(SYSTEMS));
        let mut items = Vec::new();
        for _ in 0..1 + rng.below(30) {
            let k = rng.below(PER_SYSTEM);
            let family = FAMILIES[k % 9];
            match rng.below(20) {
                0 => items.push(format!(
                    "\"{s}:{family}_{}*\"",
                    1 + rng.below(9) * 10 + rng.below(10)
                )),
                1 => {
                    let members: Vec<String> = (0..2 + rng.below(2))
                        .map(|_| {
                            format!(
                                "\"{s}:{}\"",
                                entitlement(rng.below(PER_SYSTEM / 10) * 10 + k % 9)
                            )
                        })
                        .collect();
                    items.push(format!("{{ all = [{}] }}", members.join(", ")));
                }
                _ => items.push(format!("\"{s}:{family}_{}\"", k - k % 10 + k % 9)),
            }
        }
        let _ = writeln!(
            text,
            "[[function]]\nid = \"F{f}\"\nentitlements = [{}]\n",
            items.join(", ")
        );
    }
    for r in 0..risks {
        let a = rng.below(functions);
        let mut b = rng.below(functions);
        while b == a {
            b = rng.below(functions);
        }
        let third = if rng.below(5) == 0 {
            format!(", \"F{}\"", rng.below(functions))
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "[[risk]]\nid = \"R{r:04}\"\nseverity = \"high\"\nfunctions = [\"F{a}\", \"F{b}\"{third}]\n"
        );
    }
    RuleSet::parse(&text).unwrap()
}

/// Peak and current resident memory of this process, in MiB (Linux).
pub fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}
