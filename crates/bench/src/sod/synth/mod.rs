//! A seeded synthetic organisation for benchmarks (feature `synth`): a full
//! snapshot (`people.csv`, `systems.csv`, `entitlements.csv`,
//! `accounts.csv`, `grants.csv`, also readable by `soxctl import`) and a
//! `rules.toml`, written to the caller's writers (this crate still opens no
//! file). Same configuration and seed, same bytes.
//!
//! The shape, chosen to look like a real organisation rather than uniform
//! noise:
//!
//! - **Systems** of very different reach: a directory nearly everybody has
//!   an account in, a few systems most people use, a long tail of small
//!   ones; about 2.5 accounts per person. 1 % of the accounts in a system
//!   come with a second (admin) account of the same person there.
//! - **Entitlements** of a system drawn with Zipf popularity (exponent 1):
//!   its top entitlement is held by about two thirds of the system's accounts, the tail
//!   by a handful. The popular ones are read-only (`VIEW_*`, `USER_*`), the
//!   sensitive families (`VENDOR_`, `PAY_`, `GL_`, …) live in the tail.
//! - **Accounts** that are not one person's: service accounts (half with an
//!   owner in `person_id`, which does not make them the owner's), shared
//!   accounts and uncorrelated human accounts. About 4 % of accounts are
//!   disabled (70 % of a leaver's), and 3 % of people have left.
//! - **Rules**: functions of references, patterns (`erp:VENDOR_01*`,
//!   `erp:PAY_01?3`) and all-of groups, a few items in a second system, a
//!   few references to entitlements that do not exist; risks of two or
//!   three functions.

mod accounts;
mod rules;
mod systems;

use std::io::{self, Write};

use accounts::Org;
use rules::rules;
use systems::systems;

const DEPARTMENTS: [&str; 8] = [
    "Finance",
    "Procurement",
    "Sales",
    "HR",
    "IT",
    "Engineering",
    "Operations",
    "Legal",
];

/// How big an organisation to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub people: usize,
    pub systems: usize,
    pub entitlements: usize,
    /// Grants to aim for (the result is within a percent or two).
    pub grants: usize,
    pub risks: usize,
    pub seed: u64,
}

impl Config {
    /// 10,000 people, ~250,000 grants, 2,000 entitlements, 200 risks.
    pub fn small() -> Self {
        Self {
            people: 10_000,
            systems: 10,
            entitlements: 2_000,
            grants: 250_000,
            risks: 200,
            seed: 2026,
        }
    }

    /// 1,000,000 people, ~25,000,000 grants, 50,000 entitlements, 2,000 risks.
    pub fn full() -> Self {
        Self {
            people: 1_000_000,
            systems: 25,
            entitlements: 50_000,
            grants: 25_000_000,
            risks: 2_000,
            seed: 2026,
        }
    }

    /// A few hundred people, for tests.
    #[cfg(test)]
    pub fn tiny(seed: u64) -> Self {
        Self {
            people: 300,
            systems: 4,
            entitlements: 120,
            grants: 6_000,
            risks: 40,
            seed,
        }
    }
}

/// One writer per output file.
pub struct Files<W> {
    pub people: W,
    pub systems: W,
    pub entitlements: W,
    pub accounts: W,
    pub grants: W,
    pub rules: W,
}

impl<W> Files<W> {
    /// The file names, in the order of the fields.
    pub const NAMES: [&'static str; 6] = [
        "people.csv",
        "systems.csv",
        "entitlements.csv",
        "accounts.csv",
        "grants.csv",
        "rules.toml",
    ];
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub people: usize,
    pub systems: usize,
    pub entitlements: usize,
    pub accounts: usize,
    pub grants: usize,
    pub functions: usize,
    pub risks: usize,
}

/// SplitMix64: small, fast, and good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            ((u128::from(self.next()) * n as u128) >> 64) as usize
        }
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

fn person_id(p: usize) -> String {
    format!("P{p:07}")
}

/// Writes the organisation and its rules.
pub fn generate<W: Write>(
    config: &Config,
    files: &mut Files<W>,
    progress: &mut dyn FnMut(&str),
) -> io::Result<Summary> {
    let mut rng = Rng(config.seed ^ 0x50D_5EED);
    let systems = systems(config, &mut rng);
    let mut summary = Summary {
        people: config.people,
        systems: systems.len(),
        ..Summary::default()
    };

    writeln!(files.systems, "system_id,name,kind,owner_id,sox_in_scope")?;
    for (s, sys) in systems.iter().enumerate() {
        let owner = person_id(s % config.people.max(1));
        let kind = if s == 0 { "directory" } else { "application" };
        writeln!(
            files.systems,
            "{},{},{kind},{owner},true",
            sys.name,
            sys.name.to_uppercase()
        )?;
    }
    writeln!(
        files.entitlements,
        "system_id,entitlement_id,name,privileged,owner_id,description"
    )?;
    for (s, sys) in systems.iter().enumerate() {
        let owner = person_id((s * 7) % config.people.max(1));
        for (i, e) in sys.entitlements.iter().enumerate() {
            let privileged = i % 10 == 8;
            writeln!(
                files.entitlements,
                "{},{e},{e},{privileged},{owner},",
                sys.name
            )?;
            summary.entitlements += 1;
        }
    }
    progress(&format!(
        "systems and entitlements: {} systems, {} entitlements",
        systems.len(),
        summary.entitlements
    ));

    // Grants per account, on average, to land near the target.
    let reach: f64 = systems.iter().map(|s| s.reach).sum::<f64>() * 1.01;
    let others = 0.02 * 2.0 + 0.005 + 0.01;
    let per_account = (config.grants as f64 / (config.people as f64 * (reach + others))).max(1.0);
    let mut org = Org {
        systems: &systems,
        per_account,
        held: Vec::new(),
        line: Vec::with_capacity(128),
    };

    writeln!(
        files.people,
        "person_id,name,email,manager_id,department,title,status,hire_date,termination_date"
    )?;
    writeln!(
        files.accounts,
        "system_id,account_id,person_id,kind,status,last_login,mfa"
    )?;
    writeln!(
        files.grants,
        "system_id,account_id,entitlement_id,granted_at,source"
    )?;
    let step = (config.people / 10).max(1);
    for p in 0..config.people {
        let person = person_id(p);
        let manager = if p == 0 {
            String::new()
        } else {
            person_id((p - 1) / 8)
        };
        let roll = rng.below(100);
        let (status, left) = match roll {
            0..=2 => ("terminated", true),
            3 => ("leave", false),
            _ => ("active", false),
        };
        let hire = format!(
            "{}-{:02}-{:02}",
            2005 + rng.below(20),
            1 + rng.below(12),
            1 + rng.below(28)
        );
        let termination = if left { "2025-12-31" } else { "" };
        writeln!(
            files.people,
            "{person},Person {p},{}@example.com,{manager},{},Staff,{status},{hire},{termination}",
            person.to_lowercase(),
            DEPARTMENTS[p % DEPARTMENTS.len()]
        )?;
        let login = format!("u{p:07}");
        let admin = format!("a{p:07}");
        let mut any = false;
        for (s, sys) in systems.iter().enumerate() {
            let has = rng.chance(sys.reach) || (s + 1 == systems.len() && !any);
            if !has {
                continue;
            }
            any = true;
            let disabled = if left { 0.7 } else { 0.03 };
            org.account(
                files,
                &mut rng,
                &mut summary,
                s,
                &login,
                &person,
                "human",
                disabled,
                1.0,
            )?;
            if rng.chance(0.01) {
                org.account(
                    files,
                    &mut rng,
                    &mut summary,
                    s,
                    &admin,
                    &person,
                    "human",
                    disabled,
                    1.5,
                )?;
            }
        }
        if (p + 1) % step == 0 {
            progress(&format!(
                "people {}/{}: {} accounts, {} grants",
                p + 1,
                config.people,
                summary.accounts,
                summary.grants
            ));
        }
    }
    // Accounts that are nobody's identity but their own.
    let owners = config.people.max(1);
    for n in 0..config.people / 50 {
        let s = rng.below(systems.len());
        let owner = if n % 2 == 0 {
            person_id(rng.below(owners))
        } else {
            String::new()
        };
        let id = format!("svc{n:06}");
        org.account(
            files,
            &mut rng,
            &mut summary,
            s,
            &id,
            &owner,
            "service",
            0.04,
            2.0,
        )?;
    }
    for n in 0..config.people / 200 {
        let s = rng.below(systems.len());
        let id = format!("shr{n:05}");
        org.account(
            files,
            &mut rng,
            &mut summary,
            s,
            &id,
            "",
            "shared",
            0.04,
            1.0,
        )?;
    }
    for n in 0..config.people / 100 {
        let s = rng.below(systems.len());
        let id = format!("x{n:06}");
        org.account(
            files,
            &mut rng,
            &mut summary,
            s,
            &id,
            "",
            "human",
            0.04,
            1.0,
        )?;
    }
    progress(&format!(
        "accounts and grants: {} accounts, {} grants",
        summary.accounts, summary.grants
    ));

    let (rules, functions) = rules(config, &systems, &mut rng);
    files.rules.write_all(rules.as_bytes())?;
    summary.functions = functions;
    summary.risks = config.risks;
    progress(&format!(
        "rules: {functions} functions, {} risks",
        config.risks
    ));
    files.people.flush()?;
    files.systems.flush()?;
    files.entitlements.flush()?;
    files.accounts.flush()?;
    files.grants.flush()?;
    files.rules.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use soxctl_sod::RuleSet;

    fn tiny(seed: u64) -> (Summary, Vec<Vec<u8>>) {
        let mut files = Files {
            people: Vec::new(),
            systems: Vec::new(),
            entitlements: Vec::new(),
            accounts: Vec::new(),
            grants: Vec::new(),
            rules: Vec::new(),
        };
        let summary = generate(&Config::tiny(seed), &mut files, &mut |_| {}).unwrap();
        let Files {
            people,
            systems,
            entitlements,
            accounts,
            grants,
            rules,
        } = files;
        (
            summary,
            vec![people, systems, entitlements, accounts, grants, rules],
        )
    }

    #[test]
    fn same_seed_same_bytes_and_valid_rules() {
        let (a, files_a) = tiny(7);
        let (b, files_b) = tiny(7);
        assert_eq!((a.clone(), &files_a), (b, &files_b));
        let (_, other) = tiny(8);
        assert_ne!(files_a, other);
        let rules = RuleSet::parse(std::str::from_utf8(&files_a[5]).unwrap()).unwrap();
        assert_eq!(rules.risks.len(), a.risks);
        let grants = files_a[4].iter().filter(|&&b| b == b'\n').count() - 1;
        assert_eq!(grants, a.grants);
        let dataset = soxctl_sod::input::load_csv(soxctl_sod::input::SnapshotFiles {
            accounts: &files_a[3],
            grants: &files_a[4],
            entitlements: Some(&files_a[2]),
        })
        .unwrap();
        assert_eq!(dataset.account_count(), a.accounts);
    }
}
