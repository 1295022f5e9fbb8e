//! The demo's finance-app repository: a tiny git history written by the
//! company's engineers, for the change gate (`soxctl gate request` reads its
//! commits, the server names their authors).
//!
//! The history is made with the `git` command, never a git library, and is
//! reproducible: every author, committer, date and file comes from the
//! organisation (itself from the seed and the headcount) or from this file,
//! and git runs without any user or system configuration, so the same seed
//! and headcount give the same commit ids on every machine.
//!
//! Who is who, chosen by rules that hold for any seed:
//! - the **team**: the first manager (by person id) with the most active
//!   developers (up to three) who hold an active GitHub account with push
//!   access to finance-app;
//! - the **authors**: the three longest-serving of those developers. The
//!   first is the maintainer (starts the repository, merges the branch and
//!   so triggers the pipeline), the second writes the feature branch (partly
//!   under a laptop identity that `.mailmap` maps to the work address), the
//!   third co-authors it (a `Co-authored-by` trailer);
//! - the **approver**: the team's manager, whom the shipped approval policy
//!   (`deploy-other`: `approvers = ["manager"]`) asks for a non-production
//!   deployment the maintainer triggered;
//! - the **deployer**: an active site reliability engineer who is neither,
//!   of the same team when it has one (in a small organisation without one,
//!   the newest active engineer, or person, who is neither).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::access::Access;
use crate::org::{Org, Person, Status};
use crate::{DemoConfig, DemoError};

/// The repository's name in deployment records (`soxctl gate request` names
/// a repository by its `origin` remote as `host/path`).
pub const REPO_NAME: &str = "github.com/acme-demo/finance-app";

/// The `origin` remote: it names the repository and is never fetched.
pub const REPO_ORIGIN: &str = "https://github.com/acme-demo/finance-app.git";

/// The directory `soxctl demo` writes the repository to, beside `demo-snapshot`.
pub const REPO_DIR: &str = "finance-app";

const BRANCH: &str = "main";
const FEATURE: &str = "feature/payment-export";
const DEVELOPER_ROLE: &str = "DEVELOPER";
const PUSH: (&str, &str) = ("github", "finance-app:push");
const SRE_TITLE: &str = "Site Reliability Engineer";

/// A person of the demo organisation who takes part in the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoPerson {
    pub person_id: String,
    pub name: String,
    /// Their work email, as people.csv has it and their commits carry it.
    pub email: String,
}

/// What [`generate_repo`] wrote, and the people of the gate's tour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoRepo {
    pub dir: PathBuf,
    /// [`REPO_NAME`].
    pub name: String,
    /// The full commit id of `main`: a `--no-ff` merge of the feature branch.
    pub head: String,
    /// Commits in the history, the merge included.
    pub commits: usize,
    /// The people who wrote the change `main` brings by itself (the merged
    /// branch and the merge), by person id; every author of the history.
    pub authors: Vec<RepoPerson>,
    /// Who merged the branch, and so triggered the pipeline: the requester.
    pub triggered_by: RepoPerson,
    /// The requester's manager, whom the shipped policy asks for staging.
    pub approver: RepoPerson,
    /// A known person who is neither an author nor the approver.
    pub deployer: RepoPerson,
}

/// The people of the tour, as indexes into `org.people`.
struct Cast {
    maintainer: usize,
    feature: usize,
    co_author: usize,
    authors: Vec<usize>,
    manager: usize,
    deployer: usize,
}

/// Writes the finance-app repository of the organisation `cfg` describes
/// into `dir`, which must be missing or empty (created if missing, with the
/// caller's umask; `soxctl demo` creates it private first).
pub fn generate_repo(cfg: &DemoConfig, dir: &Path) -> Result<DemoRepo, DemoError> {
    let (org, access, _) = crate::build(cfg)?;
    let cast = cast(&org, &access)?;
    prepare(dir)?;
    let person = |i: usize| {
        org.people
            .get(i)
            .ok_or_else(|| DemoError::Internal(format!("no person #{i}")))
    };
    let (maintainer, feature, co_author) = (
        person(cast.maintainer)?,
        person(cast.feature)?,
        person(cast.co_author)?,
    );
    let git = Git { dir };
    let commits = write_history(&git, maintainer, feature, co_author)?;
    let head = git.run(None, &["rev-parse", "HEAD"])?.trim().to_owned();
    let shown = |i: usize| person(i).map(repo_person);
    Ok(DemoRepo {
        dir: dir.to_path_buf(),
        name: REPO_NAME.to_owned(),
        head,
        commits,
        authors: cast
            .authors
            .iter()
            .map(|&i| shown(i))
            .collect::<Result<_, _>>()?,
        triggered_by: shown(cast.maintainer)?,
        approver: shown(cast.manager)?,
        deployer: shown(cast.deployer)?,
    })
}

fn repo_person(p: &Person) -> RepoPerson {
    RepoPerson {
        person_id: p.id.clone(),
        name: p.name(),
        email: p.email.clone(),
    }
}

/// Active developers with push access to finance-app on an active GitHub account.
fn is_developer(org: &Org, access: &Access, i: usize) -> bool {
    let Some(p) = org.people.get(i) else {
        return false;
    };
    p.status == Status::Active
        && p.roles.contains(&DEVELOPER_ROLE)
        && access.person_holds(i, PUSH)
        && access
            .by_person
            .get(&(i, PUSH.0))
            .and_then(|id| access.accounts.get(&(PUSH.0, id.clone())))
            .is_some_and(|a| a.active)
}

fn cast(org: &Org, access: &Access) -> Result<Cast, DemoError> {
    // People are ordered by id, which follows hire date: the first manager
    // with the most developers (up to three), and their longest-serving ones.
    let mut best: Option<(usize, Vec<usize>)> = None;
    for (m, p) in org.people.iter().enumerate() {
        if p.status != Status::Active {
            continue;
        }
        let team: Vec<usize> = (0..org.people.len())
            .filter(|&i| {
                org.people.get(i).and_then(|r| r.manager) == Some(m) && is_developer(org, access, i)
            })
            .take(3)
            .collect();
        if team.len() > best.as_ref().map_or(0, |(_, t)| t.len()) {
            let full = team.len() == 3;
            best = Some((m, team));
            if full {
                break;
            }
        }
    }
    let Some((manager, team)) = best else {
        return Err(DemoError::Internal(
            "no active developer with push access to finance-app".into(),
        ));
    };
    // A team of one or two plays every part it has.
    let at = |k: usize| {
        team.get(k % team.len().max(1))
            .copied()
            .ok_or_else(|| DemoError::Internal("an empty team".into()))
    };
    let (maintainer, feature, co_author) = (at(0)?, at(1)?, at(2)?);
    let outsider = |i: usize| !team.contains(&i) && i != manager;
    let active = |i: usize, p: &Person| p.status == Status::Active && outsider(i);
    let sre = |i: usize, p: &Person| active(i, p) && p.title == SRE_TITLE;
    let people = || org.people.iter().enumerate();
    let deployer = people()
        .find(|&(i, p)| sre(i, p) && p.manager == Some(manager))
        .or_else(|| people().rev().find(|&(i, p)| sre(i, p)))
        .or_else(|| {
            people()
                .rev()
                .find(|&(i, p)| active(i, p) && p.department == "Engineering")
        })
        .or_else(|| people().rev().find(|&(i, p)| active(i, p)))
        .map(|(i, _)| i)
        .ok_or_else(|| DemoError::Internal("nobody to deploy the change".into()))?;
    let mut authors = team.clone();
    authors.sort_unstable();
    Ok(Cast {
        maintainer,
        feature,
        co_author,
        authors,
        manager,
        deployer,
    })
}

fn prepare(dir: &Path) -> Result<(), DemoError> {
    let io = |source| DemoError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    if std::fs::read_dir(dir).map_err(io)?.next().is_some() {
        return Err(DemoError::NotEmpty {
            path: dir.to_path_buf(),
        });
    }
    Ok(())
}

/// A commit's author and committer, and when.
struct Who<'a> {
    name: &'a str,
    email: &'a str,
    date: &'a str,
}

struct Git<'a> {
    dir: &'a Path,
}

impl Git<'_> {
    /// `git -C DIR ARGS` with no configuration but the repository's own, in
    /// the C locale, as `who` when given.
    fn run(&self, who: Option<&Who<'_>>, args: &[&str]) -> Result<String, DemoError> {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(self.dir).args(args).env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        #[cfg(windows)]
        if let Some(root) = std::env::var_os("SYSTEMROOT") {
            cmd.env("SYSTEMROOT", root);
        }
        let no_file = if cfg!(windows) { "NUL" } else { "/dev/null" };
        cmd.env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", no_file)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_MERGE_AUTOEDIT", "no")
            .env("LC_ALL", "C");
        if let Some(who) = who {
            cmd.env("GIT_AUTHOR_NAME", who.name)
                .env("GIT_AUTHOR_EMAIL", who.email)
                .env("GIT_AUTHOR_DATE", who.date)
                .env("GIT_COMMITTER_NAME", who.name)
                .env("GIT_COMMITTER_EMAIL", who.email)
                .env("GIT_COMMITTER_DATE", who.date);
        }
        let output = cmd
            .output()
            .map_err(|source| DemoError::GitMissing { source })?;
        if !output.status.success() {
            return Err(DemoError::Git {
                dir: self.dir.to_path_buf(),
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn write(&self, file: &str, content: &str) -> Result<(), DemoError> {
        let path = self.dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| DemoError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, content).map_err(|source| DemoError::Io { path, source })
    }

    /// Writes `files`, stages everything and commits as `who`.
    fn commit(
        &self,
        who: &Who<'_>,
        files: &[(&str, &str)],
        message: &[&str],
    ) -> Result<(), DemoError> {
        for (file, content) in files {
            self.write(file, content)?;
        }
        self.run(None, &["add", "-A"])?;
        let mut args = vec!["commit", "-q", "--no-verify", "--no-gpg-sign"];
        for paragraph in message {
            args.extend(["-m", paragraph]);
        }
        self.run(Some(who), &args)?;
        Ok(())
    }
}

/// `zoe.kumar@example.com` as a laptop's git config may spell it:
/// `Zoe.Kumar@example.com` (the same mailbox; emails fold to lower case).
fn capitalised(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let local: Vec<String> = local
        .split('.')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("{}@{domain}", local.join("."))
}

/// The history; returns how many commits it has.
fn write_history(
    git: &Git<'_>,
    maintainer: &Person,
    feature: &Person,
    co_author: &Person,
) -> Result<usize, DemoError> {
    let (m_name, f_name, c_name) = (maintainer.name(), feature.name(), co_author.name());
    let as_maintainer = |date: &'static str| Who {
        name: &m_name,
        email: &maintainer.email,
        date,
    };
    let as_feature = |date: &'static str| Who {
        name: &f_name,
        email: &feature.email,
        date,
    };
    // A laptop's default identity: the login as the name, the address capitalised.
    let laptop_email = capitalised(&feature.email);
    let on_laptop = |date: &'static str| Who {
        name: &feature.login,
        email: &laptop_email,
        date,
    };
    let as_co_author = |date: &'static str| Who {
        name: &c_name,
        email: &co_author.email,
        date,
    };

    git.run(None, &["init", "-q", "--object-format=sha1"])?;
    git.run(
        None,
        &["symbolic-ref", "HEAD", &format!("refs/heads/{BRANCH}")],
    )?;
    git.run(None, &["remote", "add", "origin", REPO_ORIGIN])?;

    git.commit(
        &as_maintainer("2026-01-05 09:14:00 +0100"),
        &[
            ("README.md", README),
            ("finance_app/__init__.py", INIT),
            ("finance_app/invoices.py", INVOICES_V1),
        ],
        &["Start finance-app: invoices and their totals"],
    )?;
    git.commit(
        &as_co_author("2026-01-06 14:02:00 +0100"),
        &[("tests/test_invoices.py", TEST_INVOICES)],
        &["Test invoice totals, rounding included"],
    )?;
    git.commit(
        &on_laptop("2026-01-07 10:31:00 +0100"),
        &[("finance_app/invoices.py", INVOICES_V2)],
        &[
            "Round invoice totals half to even",
            "Banker's rounding, as the ERP does: totals no longer drift by a cent.",
        ],
    )?;
    let mailmap = format!(
        "# One person, one identity: commits made under a laptop's default\n\
         # identity are shown, and attributed, as their author's work address.\n\
         {f_name} <{}> <{laptop_email}>\n",
        feature.email
    );
    git.commit(
        &as_maintainer("2026-01-07 16:45:00 +0100"),
        &[(".mailmap", &mailmap)],
        &[&format!("Map {f_name}'s laptop identity in .mailmap")],
    )?;

    git.run(None, &["checkout", "-q", "-b", FEATURE])?;
    git.commit(
        &on_laptop("2026-01-08 11:20:00 +0100"),
        &[("finance_app/payments.py", PAYMENTS_V1)],
        &["Export approved payments as CSV"],
    )?;
    let trailer = format!("Co-authored-by: {c_name} <{}>", co_author.email);
    git.commit(
        &as_feature("2026-01-09 15:05:00 +0100"),
        &[
            ("finance_app/payments.py", PAYMENTS_V2),
            ("tests/test_payments.py", TEST_PAYMENTS),
        ],
        &[
            "Refuse payments to invalid IBANs in the export",
            "The bank rejects the whole file for one bad IBAN; check them first.",
            &trailer,
        ],
    )?;

    git.run(None, &["checkout", "-q", BRANCH])?;
    git.run(
        Some(&as_maintainer("2026-01-12 09:30:00 +0100")),
        &[
            "merge",
            "-q",
            "--no-ff",
            "--no-verify",
            "--no-gpg-sign",
            "-m",
            &format!("Merge branch '{FEATURE}'"),
            FEATURE,
        ],
    )?;
    Ok(7)
}

const README: &str = "# finance-app

Invoices and payment runs for the Acme demo company.

This repository is generated by `soxctl demo`: its history is the change the
tour takes through the soxctl change gate (README of soxctl, step 12).
";

const INIT: &str = "\"\"\"Invoices and payment runs.\"\"\"
";

const INVOICES_V1: &str = "from decimal import Decimal


def total(lines):
    \"\"\"The invoice total: quantity times unit price, summed.\"\"\"
    return sum((Decimal(q) * Decimal(p) for q, p in lines), Decimal(\"0\"))
";

const INVOICES_V2: &str = "from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal(\"0.01\")


def total(lines):
    \"\"\"The invoice total: quantity times unit price, summed, to the cent.\"\"\"
    raw = sum((Decimal(q) * Decimal(p) for q, p in lines), Decimal(\"0\"))
    return raw.quantize(CENT, rounding=ROUND_HALF_EVEN)
";

const TEST_INVOICES: &str = "from decimal import Decimal

from finance_app.invoices import total


def test_total_sums_lines():
    assert total([(\"2\", \"10.00\"), (\"1\", \"0.50\")]) == Decimal(\"20.50\")


def test_empty_invoice_is_zero():
    assert total([]) == Decimal(\"0\")
";

const PAYMENTS_V1: &str = "import csv


def export(payments, out):
    \"\"\"Writes approved payments as the bank's CSV upload.\"\"\"
    writer = csv.writer(out)
    writer.writerow([\"iban\", \"amount\", \"currency\", \"reference\"])
    for p in payments:
        if p[\"status\"] == \"approved\":
            writer.writerow([p[\"iban\"], p[\"amount\"], p[\"currency\"], p[\"reference\"]])
";

const PAYMENTS_V2: &str = "import csv


def valid_iban(iban):
    \"\"\"ISO 13616: the check digits make the number 1 modulo 97.\"\"\"
    iban = iban.replace(\" \", \"\").upper()
    if len(iban) < 15 or not iban.isalnum():
        return False
    digits = \"\".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def export(payments, out):
    \"\"\"Writes approved payments as the bank's CSV upload.\"\"\"
    approved = [p for p in payments if p[\"status\"] == \"approved\"]
    bad = [p[\"reference\"] for p in approved if not valid_iban(p[\"iban\"])]
    if bad:
        raise ValueError(\"invalid IBAN in payments \" + \", \".join(bad))
    writer = csv.writer(out)
    writer.writerow([\"iban\", \"amount\", \"currency\", \"reference\"])
    for p in approved:
        writer.writerow([p[\"iban\"], p[\"amount\"], p[\"currency\"], p[\"reference\"]])
";

const TEST_PAYMENTS: &str = "from finance_app.payments import valid_iban


def test_valid_iban():
    assert valid_iban(\"GB82 WEST 1234 5698 7654 32\")


def test_invalid_iban():
    assert not valid_iban(\"GB82 WEST 1234 5698 7654 33\")
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laptop_spelling_capitalises_each_part() {
        assert_eq!(
            capitalised("zoe.kumar@example.com"),
            "Zoe.Kumar@example.com"
        );
        assert_eq!(capitalised("x@example.com"), "X@example.com");
    }
}
