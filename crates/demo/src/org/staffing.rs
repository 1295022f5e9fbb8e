//! Staffing the chart with people: headcounts, names, the management tree,
//! leavers and hire dates. Every random draw of the org is made here, and
//! their order is what fixes the generated people for a seed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::chart::{DEPARTMENTS, DeptSpec, EXECS, Job};
use super::{Level, Org, Person, Status};
use crate::DemoError;
use crate::names::{EMAIL_DOMAIN, FIRST_NAMES, LAST_NAMES, email_local, short_login};
use crate::timegen::days;

const SPAN_OF_CONTROL: usize = 8;

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

    #[test]
    fn headcounts_add_up() {
        for total in [42, 100, 292, 1992, 5000] {
            let counts = headcounts(total);
            assert_eq!(counts.iter().sum::<usize>(), total);
            assert!(counts.iter().all(|&c| c >= 2));
        }
    }
}
