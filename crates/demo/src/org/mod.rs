//! The people of the demo company: departments, a management tree, titles,
//! hire dates and the few leavers and people on leave every real HR extract has.

mod chart;
mod staffing;

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::DemoError;

pub(crate) use chart::SECURITY_HEAD;
pub(crate) use staffing::build;

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

/// Fewer people than this cannot staff every department with a head and one
/// report, and the planted findings would crowd out the normal population.
pub(crate) const MIN_PEOPLE: usize = 50;
/// Person ids are five digits so that they sort numerically as strings.
pub(crate) const MAX_PEOPLE: usize = 99_999;

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

#[cfg(test)]
mod tests {
    use super::chart::CEO;
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

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
