//! The people of the demo company: departments, a management tree, titles,
//! hire dates and the few leavers and people on leave every real HR extract has.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::DemoError;
use crate::names::{EMAIL_DOMAIN, FIRST_NAMES, LAST_NAMES, email_local, short_login};
use crate::timegen::days;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Exec,
    Head,
    Director,
    Manager,
    Ic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Active,
    Leave,
    Terminated,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Leave => "leave",
            Status::Terminated => "terminated",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Person {
    pub id: String,
    pub first: &'static str,
    pub last: &'static str,
    pub email: String,
    pub login: String,
    pub manager: Option<usize>,
    pub department: &'static str,
    pub title: String,
    pub level: Level,
    pub roles: &'static [&'static str],
    pub status: Status,
    pub hire: NaiveDate,
    pub termination: Option<NaiveDate>,
    /// Drives last-login dates: nobody logs in while on leave.
    pub leave_start: Option<NaiveDate>,
    /// Leavers from finance and engineering make the interesting findings.
    pub sensitive: bool,
}

impl Person {
    pub(crate) fn name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

/// A title and the roles that come with it.
#[derive(Clone, Copy)]
pub(crate) struct Job {
    pub title: &'static str,
    pub roles: &'static [&'static str],
}

const fn job(title: &'static str, roles: &'static [&'static str]) -> Job {
    Job { title, roles }
}

struct DeptSpec {
    name: &'static str,
    weight: u32,
    /// Title of the executive or department head this department reports to.
    reports_to: &'static str,
    head: Job,
    manager: Job,
    ics: &'static [(Job, u32)],
    sensitive: bool,
}

pub(crate) const CEO: &str = "Chief Executive Officer";
pub(crate) const SECURITY_HEAD: &str = "Director of Security Operations";

const EXECS: &[Job] = &[
    job(CEO, &[]),
    job("Chief Financial Officer", &["FINANCE_VIEWER"]),
    job("Chief Technology Officer", &["ENG_MANAGER"]),
    job("Chief Information Officer", &[]),
    job("Chief Information Security Officer", &["SECURITY_ANALYST"]),
    job("Chief People Officer", &["HR_PARTNER"]),
    job("Chief Revenue Officer", &["SALES_REP"]),
    job("General Counsel", &[]),
];

const DEPARTMENTS: &[DeptSpec] = &[
    DeptSpec {
        name: "General Accounting",
        weight: 4,
        reports_to: "Chief Financial Officer",
        head: job("Corporate Controller", &["CONTROLLER"]),
        manager: job("Accounting Manager", &["CONTROLLER"]),
        ics: &[
            (job("Senior Accountant", &["GL_ACCOUNTANT"]), 3),
            (job("Staff Accountant", &["GL_ACCOUNTANT"]), 4),
            (job("Financial Analyst", &["FINANCE_VIEWER"]), 2),
            (job("GL Accountant", &["GL_ACCOUNTANT"]), 2),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Accounts Payable",
        weight: 4,
        reports_to: "Corporate Controller",
        head: job("Accounts Payable Manager", &["AP_MANAGER"]),
        manager: job("AP Supervisor", &["AP_MANAGER"]),
        ics: &[
            (job("Accounts Payable Clerk", &["AP_CLERK"]), 3),
            (job("Accounts Payable Specialist", &["AP_CLERK"]), 2),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Accounts Receivable",
        weight: 3,
        reports_to: "Corporate Controller",
        head: job("Accounts Receivable Manager", &["AR_MANAGER"]),
        manager: job("Billing Supervisor", &["AR_MANAGER"]),
        ics: &[
            (job("Billing Specialist", &["AR_SPECIALIST"]), 3),
            (job("Collections Analyst", &["AR_SPECIALIST"]), 2),
            (
                job("Revenue Accountant", &["AR_SPECIALIST", "FINANCE_VIEWER"]),
                1,
            ),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Treasury",
        weight: 2,
        reports_to: "Chief Financial Officer",
        head: job("Treasurer", &["TREASURY_MANAGER"]),
        manager: job("Treasury Manager", &["TREASURY_MANAGER"]),
        ics: &[
            (job("Treasury Analyst", &["TREASURY_ANALYST"]), 3),
            (job("Cash Management Analyst", &["TREASURY_ANALYST"]), 1),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Procurement",
        weight: 3,
        reports_to: "Chief Financial Officer",
        head: job("Director of Procurement", &["PROCUREMENT_MANAGER"]),
        manager: job("Purchasing Manager", &["PROCUREMENT_MANAGER"]),
        ics: &[
            (job("Buyer", &["PROCUREMENT_BUYER"]), 3),
            (job("Vendor Master Data Specialist", &["VENDOR_MASTER"]), 1),
            (job("Procurement Specialist", &["PROCUREMENT_BUYER"]), 2),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Internal Audit",
        weight: 1,
        reports_to: "Chief Financial Officer",
        head: job("Director of Internal Audit", &["AUDITOR"]),
        manager: job("Audit Manager", &["AUDITOR"]),
        ics: &[(job("Internal Auditor", &["AUDITOR"]), 1)],
        sensitive: false,
    },
    DeptSpec {
        name: "Human Resources",
        weight: 4,
        reports_to: "Chief People Officer",
        head: job("HR Director", &["HR_ADMIN"]),
        manager: job("HR Manager", &["HR_PARTNER"]),
        ics: &[
            (job("HR Business Partner", &["HR_PARTNER"]), 2),
            (job("Recruiter", &[]), 3),
            (job("HR Generalist", &["HR_PARTNER"]), 2),
            (job("HRIS Analyst", &["HR_ADMIN"]), 1),
        ],
        sensitive: false,
    },
    DeptSpec {
        name: "Payroll",
        weight: 2,
        reports_to: "Chief People Officer",
        head: job("Payroll Manager", &["PAYROLL_MANAGER"]),
        manager: job("Payroll Supervisor", &["PAYROLL_MANAGER"]),
        ics: &[
            (job("Payroll Specialist", &["PAYROLL_ADMIN"]), 3),
            (job("Payroll Analyst", &["PAYROLL_ADMIN"]), 1),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Sales",
        weight: 22,
        reports_to: "Chief Revenue Officer",
        head: job("VP Sales", &["SALES_REP"]),
        manager: job("Sales Manager", &["SALES_REP"]),
        ics: &[
            (job("Account Executive", &["SALES_REP"]), 5),
            (job("Sales Development Representative", &[]), 4),
            (job("Solutions Engineer", &["SALES_REP"]), 2),
            (job("Sales Operations Analyst", &["SALES_OPS"]), 1),
        ],
        sensitive: false,
    },
    DeptSpec {
        name: "Customer Success",
        weight: 7,
        reports_to: "Chief Revenue Officer",
        head: job("VP Customer Success", &["SALES_REP"]),
        manager: job("Support Manager", &["SALES_REP"]),
        ics: &[
            (job("Customer Success Manager", &["SALES_REP"]), 3),
            (job("Support Engineer", &["SALES_REP"]), 4),
        ],
        sensitive: false,
    },
    DeptSpec {
        name: "Marketing",
        weight: 6,
        reports_to: CEO,
        head: job("VP Marketing", &[]),
        manager: job("Marketing Manager", &[]),
        ics: &[
            (job("Marketing Specialist", &[]), 3),
            (job("Product Marketing Manager", &[]), 2),
            (job("Content Strategist", &[]), 2),
            (job("Demand Generation Manager", &[]), 1),
        ],
        sensitive: false,
    },
    DeptSpec {
        name: "Engineering",
        weight: 26,
        reports_to: "Chief Technology Officer",
        head: job("VP Engineering", &["ENG_MANAGER"]),
        manager: job("Engineering Manager", &["ENG_MANAGER"]),
        ics: &[
            (job("Software Engineer", &["DEVELOPER"]), 6),
            (job("Site Reliability Engineer", &["SRE"]), 2),
            (job("Senior Software Engineer", &["DEVELOPER"]), 5),
            (job("QA Engineer", &["DEVELOPER"]), 2),
            (job("Staff Engineer", &["DEVELOPER"]), 1),
            (job("Product Manager", &[]), 2),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "IT Operations",
        weight: 5,
        reports_to: "Chief Information Officer",
        head: job("Director of IT Operations", &["IT_ADMIN"]),
        manager: job("IT Manager", &["IT_ADMIN"]),
        ics: &[
            (job("Systems Administrator", &["IT_ADMIN"]), 3),
            (job("IT Support Specialist", &["HELPDESK"]), 4),
            (job("Database Administrator", &["DBA"]), 1),
            (job("Network Engineer", &["IT_ADMIN"]), 1),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Security",
        weight: 3,
        reports_to: "Chief Information Security Officer",
        head: job(SECURITY_HEAD, &["IAM_ADMIN", "SECURITY_ANALYST"]),
        manager: job("Security Manager", &["SECURITY_ANALYST"]),
        ics: &[
            (job("IAM Engineer", &["IAM_ADMIN"]), 2),
            (job("Security Engineer", &["SECURITY_ANALYST"]), 3),
            (job("Security Analyst", &["SECURITY_ANALYST"]), 2),
            (job("GRC Analyst", &["SECURITY_ANALYST"]), 1),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Legal",
        weight: 2,
        reports_to: "General Counsel",
        head: job("Deputy General Counsel", &[]),
        manager: job("Legal Operations Manager", &[]),
        ics: &[
            (job("Corporate Counsel", &[]), 2),
            (job("Paralegal", &[]), 2),
            (job("Contracts Manager", &["FINANCE_VIEWER"]), 1),
        ],
        sensitive: false,
    },
];

/// Fewer people than this cannot staff every department with a head and one
/// report, and the planted findings would crowd out the normal population.
pub(crate) const MIN_PEOPLE: usize = 50;
/// Person ids are five digits so that they sort numerically as strings.
pub(crate) const MAX_PEOPLE: usize = 99_999;
const SPAN_OF_CONTROL: usize = 8;

pub(crate) struct Org {
    /// Ordered by person id (which follows hire date, as HR systems do).
    pub people: Vec<Person>,
    /// Every login and email local part in use, so invented accounts
    /// (orphans) are guaranteed to match nobody.
    pub taken_logins: BTreeSet<String>,
    pub taken_emails: BTreeSet<String>,
}

impl Org {
    /// The first person (by id) holding `title`; heads and executives are
    /// unique, so this is how catalog owners are resolved.
    pub(crate) fn holder(&self, title: &str) -> Result<usize, DemoError> {
        self.people
            .iter()
            .position(|p| p.title == title)
            .ok_or_else(|| DemoError::Internal(format!("nobody holds title {title:?}")))
    }

    /// An active holder of `title`, falling back to the head `fallback` in
    /// small organisations where the title was never staffed.
    pub(crate) fn active_holder(&self, title: &str, fallback: &str) -> Result<usize, DemoError> {
        match self
            .people
            .iter()
            .position(|p| p.title == title && p.status == Status::Active)
        {
            Some(i) => Ok(i),
            None => self.holder(fallback),
        }
    }
}

struct NameGen {
    pairs: BTreeSet<(&'static str, &'static str)>,
    emails: BTreeSet<String>,
    logins: BTreeSet<String>,
}

impl NameGen {
    fn pick(&mut self, rng: &mut StdRng) -> (&'static str, &'static str, String, String) {
        let mut first = "";
        let mut last = "";
        // Duplicate full names happen in real companies but confuse a first
        // look at the demo, so only accept one when the lists run dry.
        for _ in 0..64 {
            first = FIRST_NAMES.choose(rng).copied().unwrap_or("Alex");
            last = LAST_NAMES.choose(rng).copied().unwrap_or("Smith");
            if !self.pairs.contains(&(first, last)) {
                break;
            }
        }
        self.pairs.insert((first, last));
        let email = unique(&mut self.emails, &email_local(first, last));
        let login = unique(&mut self.logins, &short_login(first, last));
        (first, last, format!("{email}@{EMAIL_DOMAIN}"), login)
    }
}

/// `base`, or `base2`, `base3`… whichever is free; records the choice.
pub(crate) fn unique(taken: &mut BTreeSet<String>, base: &str) -> String {
    let mut candidate = base.to_string();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{base}{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

/// Headcount per department: at least two each (a head and one report),
/// the rest split by weight with largest remainders, so no randomness.
fn headcounts(total: usize) -> Vec<usize> {
    let floor = 2;
    let spare = total.saturating_sub(floor * DEPARTMENTS.len());
    let weight_sum: usize = DEPARTMENTS.iter().map(|d| d.weight as usize).sum();
    let mut counts: Vec<usize> = DEPARTMENTS
        .iter()
        .map(|d| floor + spare * d.weight as usize / weight_sum)
        .collect();
    let mut order: Vec<(usize, usize)> = DEPARTMENTS
        .iter()
        .enumerate()
        .map(|(i, d)| (spare * d.weight as usize % weight_sum, i))
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let assigned: usize = counts.iter().sum();
    for &(_, i) in order.iter().take(total.saturating_sub(assigned)) {
        if let Some(c) = counts.get_mut(i) {
            *c += 1;
        }
    }
    counts
}

fn weighted<'a>(rng: &mut StdRng, items: &'a [(Job, u32)]) -> Option<&'a Job> {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    if total == 0 {
        return items.first().map(|(j, _)| j);
    }
    let mut roll = rng.gen_range(0..total);
    for (j, w) in items {
        if roll < *w {
            return Some(j);
        }
        roll -= *w;
    }
    items.last().map(|(j, _)| j)
}

/// Where a new hire sits.
#[derive(Clone, Copy)]
struct Team {
    department: &'static str,
    sensitive: bool,
}

struct Draft {
    people: Vec<Person>,
    names: NameGen,
    /// Days before `as_of` each person was hired, finalised into dates later.
    hired_days_ago: Vec<i64>,
    /// Days before `as_of` of the termination or start of leave.
    event_days_ago: Vec<Option<i64>>,
}

impl Draft {
    fn add(
        &mut self,
        rng: &mut StdRng,
        team: Team,
        title: String,
        roles: &'static [&'static str],
        level: Level,
        manager: Option<usize>,
    ) -> usize {
        let Team {
            department,
            sensitive,
        } = team;
        let (first, last, email, login) = self.names.pick(rng);
        let hired = match level {
            Level::Exec if manager.is_none() => rng.gen_range(2_900..4_200),
            Level::Exec => rng.gen_range(500..3_600),
            Level::Head | Level::Director => rng.gen_range(300..3_300),
            Level::Manager => rng.gen_range(150..2_800),
            // A growing company: most people joined in the last few years.
            // Integer-only (min of two draws) so output is identical on every
            // platform, unlike a float power curve.
            Level::Ic => 14 + rng.gen_range(0..3_000).min(rng.gen_range(0..3_000)),
        };
        self.people.push(Person {
            id: String::new(),
            first,
            last,
            email,
            login,
            manager,
            department,
            title,
            level,
            roles,
            status: Status::Active,
            hire: NaiveDate::MIN,
            termination: None,
            leave_start: None,
            sensitive,
        });
        self.hired_days_ago.push(hired);
        self.event_days_ago.push(None);
        self.people.len() - 1
    }
}

pub(crate) fn build(rng: &mut StdRng, total: usize, as_of: NaiveDate) -> Result<Org, DemoError> {
    let mut draft = Draft {
        people: Vec::with_capacity(total),
        names: NameGen {
            pairs: BTreeSet::new(),
            emails: BTreeSet::new(),
            logins: BTreeSet::new(),
        },
        hired_days_ago: Vec::with_capacity(total),
        event_days_ago: Vec::with_capacity(total),
    };
    let mut by_title: BTreeMap<&'static str, usize> = BTreeMap::new();

    let mut ceo = None;
    for exec in EXECS {
        let idx = draft.add(
            rng,
            Team {
                department: "Executive",
                sensitive: false,
            },
            exec.title.to_string(),
            exec.roles,
            Level::Exec,
            ceo,
        );
        ceo.get_or_insert(idx);
        by_title.insert(exec.title, idx);
    }

    let counts = headcounts(total.saturating_sub(EXECS.len()));
    for (spec, &count) in DEPARTMENTS.iter().zip(&counts) {
        let boss = by_title.get(spec.reports_to).copied().ok_or_else(|| {
            DemoError::Internal(format!(
                "{} reports to unknown {}",
                spec.name, spec.reports_to
            ))
        })?;
        staff_department(rng, &mut draft, spec, count, boss, &mut by_title);
    }

    assign_statuses(rng, &mut draft);
    finalise(draft, as_of)
}

fn staff_department(
    rng: &mut StdRng,
    draft: &mut Draft,
    spec: &DeptSpec,
    count: usize,
    boss: usize,
    by_title: &mut BTreeMap<&'static str, usize>,
) {
    let team = Team {
        department: spec.name,
        sensitive: spec.sensitive,
    };
    let head = draft.add(
        rng,
        team,
        spec.head.title.to_string(),
        spec.head.roles,
        Level::Head,
        Some(boss),
    );
    by_title.insert(spec.head.title, head);

    // Keep every manager's span near eight, adding a director layer only when
    // the head would otherwise have more than eight managers.
    let below = count.saturating_sub(1);
    let (n_dir, n_mgr) = if below <= SPAN_OF_CONTROL {
        (0, 0)
    } else {
        let mgr = below.div_ceil(SPAN_OF_CONTROL);
        let dir = if mgr > SPAN_OF_CONTROL {
            mgr.div_ceil(SPAN_OF_CONTROL)
        } else {
            0
        };
        (dir, mgr - dir)
    };
    let n_ic = below - n_dir - n_mgr;

    let mut directors = Vec::with_capacity(n_dir);
    for _ in 0..n_dir {
        let title = format!("Senior {}", spec.manager.title);
        directors.push(draft.add(
            rng,
            team,
            title,
            spec.manager.roles,
            Level::Director,
            Some(head),
        ));
    }
    let mut managers = Vec::with_capacity(n_mgr);
    for i in 0..n_mgr {
        let up = directors
            .get(i % directors.len().max(1))
            .copied()
            .unwrap_or(head);
        let title = spec.manager.title.to_string();
        managers.push(draft.add(
            rng,
            team,
            title,
            spec.manager.roles,
            Level::Manager,
            Some(up),
        ));
    }
    for i in 0..n_ic {
        let up = managers
            .get(i % managers.len().max(1))
            .copied()
            .unwrap_or(head);
        // Staff every listed title once before weighting, so even a small
        // company has its DBA, SRE and IAM engineer.
        let job = match spec.ics.get(i) {
            Some((j, _)) => Some(j),
            None => weighted(rng, spec.ics),
        };
        let (title, roles) = job.map_or(("Analyst", &[][..]), |j| (j.title, j.roles));
        draft.add(rng, team, title.to_string(), roles, Level::Ic, Some(up));
    }
}

/// ~3% leavers and ~2% on leave, drawn from individual contributors only so
/// that the management tree stays intact; half the leavers come from
/// finance/engineering, where leftover access actually matters.
fn assign_statuses(rng: &mut StdRng, draft: &mut Draft) {
    let total = draft.people.len();
    let n_term = (total * 3).div_ceil(100);
    let n_leave = (total * 2).div_ceil(100);

    let mut ics: Vec<usize> = (0..total)
        .filter(|&i| draft.people.get(i).is_some_and(|p| p.level == Level::Ic))
        .collect();
    ics.shuffle(rng);
    let mut leavers: Vec<usize> = ics
        .iter()
        .copied()
        .filter(|&i| draft.people.get(i).is_some_and(|p| p.sensitive))
        .take(n_term.div_ceil(2))
        .collect();
    let mut pool: Vec<usize> = ics.into_iter().filter(|i| !leavers.contains(i)).collect();
    let more = n_term.saturating_sub(leavers.len()).min(pool.len());
    leavers.extend(pool.drain(..more));
    let on_leave: Vec<usize> = pool.into_iter().take(n_leave).collect();

    for (group, status, range) in [
        (leavers, Status::Terminated, 3..240),
        (on_leave, Status::Leave, 10..75),
    ] {
        for i in group {
            let ago: i64 = rng.gen_range(range.clone());
            let bump = rng.gen_range(0..600);
            if let (Some(p), Some(h), Some(e)) = (
                draft.people.get_mut(i),
                draft.hired_days_ago.get_mut(i),
                draft.event_days_ago.get_mut(i),
            ) {
                p.status = status;
                // Nobody leaves or goes on leave within two months of joining.
                if *h < ago + 60 {
                    *h = ago + 60 + bump;
                }
                *e = Some(ago);
            }
        }
    }
}

/// Turns relative day counts into dates and numbers people by hire date.
fn finalise(draft: Draft, as_of: NaiveDate) -> Result<Org, DemoError> {
    let Draft {
        mut people,
        names,
        hired_days_ago,
        event_days_ago,
    } = draft;
    for ((p, h), e) in people.iter_mut().zip(&hired_days_ago).zip(&event_days_ago) {
        p.hire = as_of - days(*h);
        let event = e.map(|d| as_of - days(d));
        match p.status {
            Status::Terminated => p.termination = event,
            Status::Leave => p.leave_start = event,
            Status::Active => {}
        }
    }

    let mut order: Vec<usize> = (0..people.len()).collect();
    order.sort_by_key(|&i| (people.get(i).map(|p| p.hire), i));
    let mut new_index = vec![0usize; people.len()];
    for (new, &old) in order.iter().enumerate() {
        if let Some(slot) = new_index.get_mut(old) {
            *slot = new;
        }
    }
    let mut slots: Vec<Option<Person>> = people.drain(..).map(Some).collect();
    let mut sorted = Vec::with_capacity(slots.len());
    for (new, &old) in order.iter().enumerate() {
        let mut p = slots
            .get_mut(old)
            .and_then(Option::take)
            .ok_or_else(|| DemoError::Internal("person index out of range".into()))?;
        p.id = format!("E{:05}", new + 1);
        p.manager = p.manager.and_then(|m| new_index.get(m).copied());
        sorted.push(p);
    }

    Ok(Org {
        people: sorted,
        taken_logins: names.logins,
        taken_emails: names.emails,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn headcounts_add_up() {
        for total in [42, 100, 292, 1992, 5000] {
            let counts = headcounts(total);
            assert_eq!(counts.iter().sum::<usize>(), total);
            assert!(counts.iter().all(|&c| c >= 2));
        }
    }

    #[test]
    fn tree_has_single_root_and_no_cycles() {
        let mut rng = StdRng::seed_from_u64(7);
        let as_of = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
        let org = build(&mut rng, 300, as_of).unwrap();
        assert_eq!(org.people.len(), 300);
        let roots: Vec<_> = org.people.iter().filter(|p| p.manager.is_none()).collect();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].title, CEO);
        for start in 0..org.people.len() {
            let mut cur = Some(start);
            let mut steps = 0;
            while let Some(i) = cur {
                cur = org.people[i].manager;
                steps += 1;
                assert!(steps < 10, "management chain too deep or cyclic");
            }
        }
        // Managers are never leavers, so nobody reports to a terminated person.
        for p in &org.people {
            if let Some(m) = p.manager {
                assert_eq!(org.people[m].status, Status::Active);
            }
        }
    }
}
