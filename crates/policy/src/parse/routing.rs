//! Who may ask and who approves: groups, approvers, defaults, routes and
//! their rules, and rules that shadow others.

#![allow(unused_imports)]
use super::*;

impl Checker<'_> {
    pub(super) fn groups(&mut self, raw: &BTreeMap<Text, Vec<Text>>) {
        for (name, members) in raw {
            let path = format!("groups.{}", name.get_ref());
            let name_place = self.place(name, path.clone());
            self.group_places.insert(name.get_ref().clone(), name_place);
            let good_name = !name.get_ref().is_empty()
                && name
                    .get_ref()
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !good_name {
                let place = self.place(name, path.clone());
                self.error(place, Problem::BadGroupName(name.get_ref().clone()));
            }
            let mut ids: Vec<String> = Vec::with_capacity(members.len());
            for (i, member) in members.iter().enumerate() {
                let id = member.get_ref();
                let place = self.place(member, format!("{path}[{i}]"));
                if !is_person_id(id) {
                    self.error(place, Problem::BadPersonId(id.clone()));
                } else if ids.contains(id) {
                    self.warn(
                        place,
                        format!("{id} is listed twice in group '{}'", name.get_ref()),
                    );
                } else {
                    ids.push(id.clone());
                }
            }
            if members.is_empty() {
                let place = self.place(name, path);
                self.warn(place, format!("group '{}' has no members", name.get_ref()));
            }
            self.groups.insert(name.get_ref().clone(), ids);
        }
    }

    pub(super) fn approvers(
        &mut self,
        raw: Option<Spanned<Vec<Text>>>,
        path: &str,
    ) -> Option<Vec<Approver>> {
        let raw = raw?;
        if raw.get_ref().is_empty() {
            let place = self.place(&raw, format!("{path}.approvers"));
            self.error(place, Problem::NoApprovers);
            return None;
        }
        let before = self.errors.len();
        let mut approvers = Vec::new();
        for (i, entry) in raw.get_ref().iter().enumerate() {
            let place = self.place(entry, format!("{path}.approvers[{i}]"));
            let mut alternatives = Vec::new();
            for text in entry.get_ref().split('|').map(str::trim) {
                match Source::parse(text) {
                    Some(Source::Group(name)) if !self.groups.contains_key(&name) => {
                        self.error(place.clone(), Problem::UnknownGroup(name));
                    }
                    Some(Source::Person(id)) if !is_person_id(&id) => {
                        self.error(place.clone(), Problem::BadPersonId(id));
                    }
                    Some(source) => {
                        if let Source::Group(name) = &source {
                            self.routed_groups.insert(name.clone());
                        }
                        alternatives.push(source);
                    }
                    None => self.error(place.clone(), Problem::UnknownApprover(text.to_owned())),
                }
            }
            approvers.push(Approver { alternatives });
        }
        (self.errors.len() == before).then_some(approvers)
    }

    /// The most distinct people some request could be routed to: every
    /// alternative may be drawn when approvals are short; an owner or a
    /// manager is one person, a group its members.
    pub(super) fn most_people(&self, approvers: &[Approver]) -> usize {
        let mut fixed: BTreeSet<&str> = BTreeSet::new();
        let mut dynamic: BTreeSet<String> = BTreeSet::new();
        for source in approvers.iter().flat_map(|a| &a.alternatives) {
            match source {
                Source::Group(name) => {
                    fixed.extend(
                        self.groups
                            .get(name)
                            .into_iter()
                            .flatten()
                            .map(String::as_str),
                    );
                }
                Source::Person(id) => {
                    fixed.insert(id);
                }
                other => {
                    dynamic.insert(other.label());
                }
            }
        }
        fixed.len() + dynamic.len()
    }

    pub(super) fn defaults(&mut self, raw: Option<Spanned<crate::file::RawDefaults>>) -> Defaults {
        let mut d = Defaults::builtin();
        let Some(raw) = raw else { return d };
        let table = self.place(&raw, "defaults");
        let raw = raw.into_inner();
        let p = |key: &str| format!("defaults.{key}");
        if let Some(v) = self.duration(raw.undecided_expiry.as_ref(), p("undecided_expiry")) {
            d.undecided_expiry = v;
        }
        if let Some(v) = self.duration(raw.approval_window.as_ref(), p("approval_window")) {
            d.approval_window = v;
        }
        if let Some(v) = self.duration(raw.max_duration.as_ref(), p("max_duration")) {
            d.max_duration = v;
        }
        d.reminder_after = self.duration(raw.reminder_after.as_ref(), p("reminder_after"));
        d.escalate_after = self.duration(raw.escalate_after.as_ref(), p("escalate_after"));
        if let Some(v) = self.count(
            raw.critical_approvals.as_ref(),
            "critical_approvals",
            p("critical_approvals"),
        ) {
            d.critical_approvals = v;
        }
        if let Some(v) = self.count(raw.count.as_ref(), "count", p("count")) {
            d.count = v;
        }
        if let Some(v) = self.approvers(raw.approvers, "defaults") {
            d.approvers = v;
        }
        if let Some(mfa) = raw.mfa {
            d.mfa = mfa;
        }
        let most = self.most_people(&d.approvers);
        if (d.count as usize) > most {
            self.error(
                table.clone(),
                Problem::TooFewApprovers {
                    count: d.count,
                    most,
                },
            );
        }
        for (key, after) in [
            ("reminder_after", d.reminder_after),
            ("escalate_after", d.escalate_after),
        ] {
            if after.is_some_and(|a| a >= d.undecided_expiry) {
                self.warn(
                    Place {
                        path: p(key),
                        ..table.clone()
                    },
                    format!(
                        "{key} is not shorter than undecided_expiry ({}): requests expire first, so it never happens",
                        crate::duration::format_duration(d.undecided_expiry)
                    ),
                );
            }
        }
        d
    }

    pub(super) fn route(
        &mut self,
        raw: RawRoute,
        path: &str,
        table: &Place,
        defaults: &Defaults,
    ) -> Option<Route> {
        // SoD severities come with access requests; actions have none.
        let access = path.starts_with("access");
        let before = self.errors.len();
        let approvers = self.approvers(raw.approvers, path);
        let count = self.count(raw.count.as_ref(), "count", format!("{path}.count"));
        let undecided_expiry = self.duration(
            raw.undecided_expiry.as_ref(),
            format!("{path}.undecided_expiry"),
        );
        let reminder_after = self.duration(
            raw.reminder_after.as_ref(),
            format!("{path}.reminder_after"),
        );
        let escalate_after = self.duration(
            raw.escalate_after.as_ref(),
            format!("{path}.escalate_after"),
        );
        if self.errors.len() != before {
            return None;
        }
        let expiry = undecided_expiry.unwrap_or(defaults.undecided_expiry);
        for (key, after, raw) in [
            (
                "reminder_after",
                reminder_after,
                raw.reminder_after.as_ref(),
            ),
            (
                "escalate_after",
                escalate_after,
                raw.escalate_after.as_ref(),
            ),
        ] {
            if let (Some(after), Some(raw)) = (after, raw)
                && after >= expiry
            {
                let place = self.place(raw, format!("{path}.{key}"));
                self.warn(
                    place,
                    format!(
                        "{key} is not shorter than undecided_expiry ({}): requests expire first, so it never happens",
                        crate::duration::format_duration(expiry)
                    ),
                );
            }
        }
        let effective = approvers.as_deref().unwrap_or(&defaults.approvers);
        let needed = count.unwrap_or(defaults.count);
        let most = self.most_people(effective);
        if needed as usize > most {
            self.error(
                table.clone(),
                Problem::TooFewApprovers {
                    count: needed,
                    most,
                },
            );
            return None;
        }
        if access && (defaults.critical_approvals.max(needed) as usize) > most {
            self.warn(
                table.clone(),
                format!(
                    "a request with a critical SoD conflict needs {} approvals, but these approvers name at most {}; such requests will be refused",
                    defaults.critical_approvals,
                    crate::people(most)
                ),
            );
        }
        Some(Route {
            approvers,
            count,
            mfa: raw.mfa,
            ticket_required: raw.ticket_required.unwrap_or(false),
            undecided_expiry,
            reminder_after,
            escalate_after,
        })
    }

    pub(super) fn rule_id(
        &mut self,
        section: &'static str,
        id: &Text,
        path: &str,
        ids: &mut BTreeMap<(&'static str, String), ()>,
    ) -> bool {
        let place = self.place(id, format!("{path}.id"));
        if id.get_ref().trim().is_empty() {
            self.error(place, Problem::EmptyId { section });
            false
        } else if ids.insert((section, id.get_ref().clone()), ()).is_some() {
            self.error(
                place,
                Problem::DuplicateRule {
                    section,
                    id: id.get_ref().clone(),
                },
            );
            false
        } else {
            true
        }
    }

    pub(super) fn patterns(
        &mut self,
        raw: &[Text],
        path: &str,
        check: impl Fn(&str) -> Option<String>,
    ) -> Vec<String> {
        let mut out = Vec::with_capacity(raw.len());
        for (i, p) in raw.iter().enumerate() {
            match check(p.get_ref()) {
                None => out.push(p.get_ref().clone()),
                Some(message) => {
                    let place = self.place(p, format!("{path}[{i}]"));
                    self.error(place, Problem::BadMatcher(message));
                }
            }
        }
        out
    }

    pub(super) fn access(
        &mut self,
        i: usize,
        raw: Spanned<RawAccess>,
        defaults: &Defaults,
        ids: &mut BTreeMap<(&'static str, String), ()>,
    ) -> Option<Rule> {
        let path = format!("access[{i}]");
        let table = self.place(&raw, path.clone());
        let mut raw = raw.into_inner();
        let before = self.errors.len();
        let id_ok = self.rule_id("access", &raw.id, &path, ids);
        let entitlements = self.patterns(&raw.entitlements, &format!("{path}.entitlements"), |p| {
            match p.split_once(':') {
                Some((system, entitlement)) if !system.is_empty() && !entitlement.is_empty() => None,
                _ => Some(format!(
                    "'{p}' is not an entitlement pattern; write \"system:entitlement\", with * and ? as wildcards (\"erp:VENDOR_*\", \"aws:*\")"
                )),
            }
        });
        let roles = self.patterns(&raw.roles, &format!("{path}.roles"), |p| {
            p.is_empty().then(|| {
                "an empty role pattern; write a role id or a pattern like \"TREASURY_*\"".to_owned()
            })
        });
        if raw.entitlements.is_empty() && raw.roles.is_empty() {
            self.error(
                table.clone(),
                Problem::BadMatcher(format!(
                    "access rule '{}' matches nothing: give entitlements = [\"system:entitlement\", ...] or roles = [...] (\"*:*\" matches every entitlement)",
                    raw.id.get_ref()
                )),
            );
        }
        let duration = self.duration(raw.max_duration.as_ref(), format!("{path}.max_duration"));
        let route = self.route(raw.route(), &path, &table, defaults);
        match route {
            Some(route) if id_ok && self.errors.len() == before => Some(Rule {
                id: raw.id.into_inner(),
                matcher: Matcher::Access {
                    entitlements,
                    roles,
                    privileged: raw.privileged,
                },
                duration,
                route,
            }),
            _ => None,
        }
    }

    pub(super) fn action(
        &mut self,
        i: usize,
        raw: Spanned<RawAction>,
        defaults: &Defaults,
        ids: &mut BTreeMap<(&'static str, String), ()>,
    ) -> Option<Rule> {
        let path = format!("action[{i}]");
        let table = self.place(&raw, path.clone());
        let mut raw = raw.into_inner();
        let before = self.errors.len();
        let id_ok = self.rule_id("action", &raw.id, &path, ids);
        let kinds = self.patterns(&raw.kinds, &format!("{path}.kinds"), |p| {
            p.is_empty()
                .then(|| "an empty action kind; write a kind like \"deploy\"".to_owned())
        });
        for (k, kind) in raw.kinds.iter().enumerate() {
            let name = kind.get_ref();
            if !name.is_empty() && !is_pattern(name) && !KNOWN_ACTION_KINDS.contains(&name.as_str())
            {
                let place = self.place(kind, format!("{path}.kinds[{k}]"));
                self.warn(
                    place,
                    format!(
                        "'{name}' is not one of the built-in action kinds ({}); fine for a kind of your own, but check the spelling",
                        KNOWN_ACTION_KINDS.join(", ")
                    ),
                );
            }
        }
        if raw.kinds.is_empty() {
            self.error(
                table.clone(),
                Problem::BadMatcher(format!(
                    "action rule '{}' matches nothing: give kinds = [\"deploy\", ...] (\"*\" matches every kind)",
                    raw.id.get_ref()
                )),
            );
        }
        let envs = self.patterns(&raw.envs, &format!("{path}.envs"), |p| {
            p.is_empty()
                .then(|| "an empty environment; write one like \"prod\" or \"prod-*\"".to_owned())
        });
        let duration = self.duration(raw.window.as_ref(), format!("{path}.window"));
        let route = self.route(raw.route(), &path, &table, defaults);
        match route {
            Some(route) if id_ok && self.errors.len() == before => Some(Rule {
                id: raw.id.into_inner(),
                matcher: Matcher::Action { kinds, envs },
                duration,
                route,
            }),
            _ => None,
        }
    }

    /// First match wins, so a rule after a catch-all of its section never
    /// applies.
    pub(super) fn shadowing(&mut self, rules: &[Rule]) {
        let mut catch_all: BTreeMap<&'static str, String> = BTreeMap::new();
        for rule in rules {
            if let Some(earlier) = catch_all.get(rule.section()) {
                let message = format!(
                    "{} never applies: {} before it matches every request of its kind (the first matching rule wins)",
                    rule.name(),
                    earlier
                );
                self.warn(
                    Place {
                        path: rule.section().to_owned(),
                        ..Place::default()
                    },
                    message,
                );
                continue;
            }
            let all = match &rule.matcher {
                Matcher::Access {
                    entitlements,
                    roles,
                    privileged: None,
                } => entitlements.iter().any(|e| e == "*:*") && roles.iter().any(|r| r == "*"),
                Matcher::Action { kinds, envs } => {
                    kinds.iter().any(|k| k == "*") && envs.is_empty()
                }
                Matcher::Access { .. } => false,
            };
            if all {
                catch_all.insert(rule.section(), rule.name());
            }
        }
    }
}
