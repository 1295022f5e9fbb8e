//! Reading and checking a policies document: every problem at once, each
//! with its line, column and key path.

use crate::cedar::{CedarPolicies, CedarProblem, named_groups};
use crate::duration::parse_duration;
use crate::error::{Place, PolicyError, Problem, Warning};
use crate::file::{RawAccess, RawAction, RawDocument, RawRoute, Text};
use crate::glob::is_pattern;
use crate::rules::{Approver, Defaults, Groups, Matcher, Route, Rule, Source};
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// More approvals than this is a typo, not a policy.
pub(crate) const MAX_COUNT: u32 = 20;

/// Kinds of action the platform knows; others are allowed (the list is
/// extensible) but warned about, since a typo would never match.
pub const KNOWN_ACTION_KINDS: [&str; 5] = [
    "deploy",
    "prod-config-change",
    "payment",
    "vendor-contract",
    "data-fix",
];

pub(crate) struct Parsed {
    pub break_glass: Option<crate::BreakGlass>,
    pub gate: crate::GateSettings,
    pub defaults: Defaults,
    pub groups: Groups,
    pub rules: Vec<Rule>,
    pub cedar: Option<CedarPolicies>,
}

struct Checker<'a> {
    text: &'a str,
    errors: Vec<PolicyError>,
    warnings: Vec<Warning>,
    groups: Groups,
    /// Groups some rule routes to, for the unused-group warning.
    routed_groups: BTreeSet<String>,
    group_places: BTreeMap<String, Place>,
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

pub(crate) fn parse(text: &str) -> Result<(Parsed, Vec<Warning>), Vec<PolicyError>> {
    let mut raw: RawDocument = toml::from_str(text).map_err(|e| vec![syntax(text, &e)])?;
    let mut c = Checker {
        text,
        errors: Vec::new(),
        warnings: Vec::new(),
        groups: Groups::new(),
        routed_groups: BTreeSet::new(),
        group_places: BTreeMap::new(),
    };
    c.groups(&raw.groups);
    let defaults = c.defaults(raw.defaults.take());
    let mut rules = Vec::new();
    let mut ids: BTreeMap<(&'static str, String), ()> = BTreeMap::new();
    for (i, access) in std::mem::take(&mut raw.access).into_iter().enumerate() {
        if let Some(rule) = c.access(i, access, &defaults, &mut ids) {
            rules.push(rule);
        }
    }
    for (i, action) in std::mem::take(&mut raw.action).into_iter().enumerate() {
        if let Some(rule) = c.action(i, action, &defaults, &mut ids) {
            rules.push(rule);
        }
    }
    c.shadowing(&rules);
    let break_glass = raw.break_glass.as_ref().and_then(|b| c.break_glass(b));
    let cedar = raw.cedar.as_ref().and_then(|text| c.cedar(text));
    let mut gate = raw.gate.as_ref().map(|g| c.gate(g)).unwrap_or_default();
    gate.pipelines = c.pipelines(&raw.pipeline);
    let unused: Vec<(String, Place)> = c
        .group_places
        .iter()
        .filter(|(name, _)| {
            !c.routed_groups.contains(*name)
                && !raw
                    .cedar
                    .as_ref()
                    .is_some_and(|t| named_groups(t.get_ref()).iter().any(|(_, n)| n == *name))
        })
        .map(|(name, place)| (name.clone(), place.clone()))
        .collect();
    for (name, place) in unused {
        c.warn(
            place,
            format!("group '{name}' is used by no rule and no Cedar policy"),
        );
    }
    // Read top to bottom; problems without a line (none today) last.
    c.errors
        .sort_by_key(|e| (e.place.line == 0, e.place.line, e.place.column));
    c.warnings
        .sort_by_key(|w| (w.place.line == 0, w.place.line, w.place.column));
    if c.errors.is_empty() {
        Ok((
            Parsed {
                break_glass,
                gate,
                defaults,
                groups: c.groups,
                rules,
                cedar,
            },
            c.warnings,
        ))
    } else {
        Err(c.errors)
    }
}

/// Only `[gate]` of a policies document (for the change gate, which asks
/// often and needs nothing else): syntax errors and `[gate]` errors.
pub(crate) fn gate_only(text: &str) -> Result<crate::GateSettings, Vec<PolicyError>> {
    let raw: RawDocument = toml::from_str(text).map_err(|e| vec![syntax(text, &e)])?;
    let mut c = Checker {
        text,
        errors: Vec::new(),
        warnings: Vec::new(),
        groups: Groups::new(),
        routed_groups: BTreeSet::new(),
        group_places: BTreeMap::new(),
    };
    let mut gate = raw.gate.as_ref().map(|g| c.gate(g)).unwrap_or_default();
    gate.pipelines = c.pipelines(&raw.pipeline);
    if c.errors.is_empty() {
        Ok(gate)
    } else {
        Err(c.errors)
    }
}

fn syntax(text: &str, e: &toml::de::Error) -> PolicyError {
    let (line, column) = e
        .span()
        .map(|span| line_column(text, span.start))
        .unwrap_or((0, 0));
    let mut message = e.message().trim_end().replace('\n', "; ");
    if message.contains("unknown field `cedar`") {
        message.push_str(
            "; `cedar = '''...'''` is a top-level key: put it before the first [table] of the document",
        );
    }
    PolicyError {
        place: Place {
            line,
            column,
            path: String::new(),
        },
        problem: Problem::Syntax(message),
    }
}

impl Checker<'_> {
    fn place<T>(&self, spanned: &Spanned<T>, path: impl Into<String>) -> Place {
        let (line, column) = line_column(self.text, spanned.span().start);
        Place {
            line,
            column,
            path: path.into(),
        }
    }

    fn error(&mut self, place: Place, problem: Problem) {
        self.errors.push(PolicyError { place, problem });
    }

    fn warn(&mut self, place: Place, message: String) {
        self.warnings.push(Warning { place, message });
    }

    /// Emergency access: named people, a short maximum (default 2 h, at
    /// most 24 h: break-glass is for an incident, not a shift).
    fn break_glass(
        &mut self,
        raw: &Spanned<crate::file::RawBreakGlass>,
    ) -> Option<crate::BreakGlass> {
        let table = raw.get_ref();
        let mut ok = true;
        if table.people.is_empty() {
            let place = self.place(raw, "break_glass.people");
            self.error(
                place,
                Problem::BreakGlass(
                    "people is empty: name who may break the glass, or remove the table".into(),
                ),
            );
            ok = false;
        }
        let mut people = Vec::new();
        for (i, p) in table.people.iter().enumerate() {
            let id = p.get_ref().trim();
            if id.is_empty() || id.contains(char::is_whitespace) {
                let place = self.place(p, format!("break_glass.people[{i}]"));
                self.error(place, Problem::BadPersonId(p.get_ref().clone()));
                ok = false;
            } else if !people.iter().any(|x: &String| x == id) {
                people.push(id.to_owned());
            }
        }
        let max = match &table.max_duration {
            None => Some(crate::BREAK_GLASS_DEFAULT_SECS),
            Some(d) => match self.duration(Some(d), "break_glass.max_duration") {
                Some(secs) if secs <= crate::BREAK_GLASS_LIMIT_SECS => Some(secs),
                Some(_) => {
                    let place = self.place(d, "break_glass.max_duration");
                    self.error(
                        place,
                        Problem::BreakGlass(
                            "max_duration may be at most 24h: emergency access is for an incident"
                                .into(),
                        ),
                    );
                    None
                }
                None => None,
            },
        };
        match (ok, max) {
            (true, Some(max_duration_secs)) => Some(crate::BreakGlass {
                people,
                max_duration_secs,
            }),
            _ => None,
        }
    }

    /// `[[pipeline]]` entries: each valid on its own, ids unique.
    fn pipelines(
        &mut self,
        raw: &[Spanned<soxctl_model::pipeline::PipelineTrust>],
    ) -> Vec<soxctl_model::pipeline::PipelineTrust> {
        let mut out: Vec<soxctl_model::pipeline::PipelineTrust> = Vec::new();
        for (i, entry) in raw.iter().enumerate() {
            let trust = entry.get_ref();
            let place = self.place(entry, format!("pipeline[{i}]"));
            if let Err(why) = trust.validate() {
                self.error(place, Problem::Pipeline(why));
            } else if out.iter().any(|t| t.id == trust.id) {
                self.error(
                    place,
                    Problem::Pipeline(format!(
                        "pipeline trust id {:?} is used twice: ids must be unique",
                        trust.id
                    )),
                );
            } else {
                out.push(trust.clone());
            }
        }
        out
    }

    /// Environment patterns and the sub-address separator: one character
    /// of `+-=`, or empty for none.
    fn gate(&mut self, raw: &Spanned<crate::file::RawGate>) -> crate::GateSettings {
        let table = raw.get_ref();
        let mut envs = |list: &[Text], key: &str| -> Vec<String> {
            let mut out = Vec::new();
            for (i, env) in list.iter().enumerate() {
                let value = env.get_ref();
                let ok = !value.is_empty()
                    && value.len() <= 64
                    && value.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.*?".contains(&b)
                    });
                if ok {
                    out.push(value.clone());
                } else {
                    let place = self.place(env, format!("gate.{key}[{i}]"));
                    self.error(
                        place,
                        Problem::Gate(format!(
                            "'{value}' is not an environment pattern: 1 to 64 of a-z, 0-9, '-', '_', '.', with * and ? wildcards"
                        )),
                    );
                }
            }
            out
        };
        let author_may_deploy = envs(&table.author_may_deploy, "author_may_deploy");
        let allow_unattributed_authors = envs(
            &table.allow_unattributed_authors,
            "allow_unattributed_authors",
        );
        let subaddress_separator = match &table.subaddress_separator {
            None => crate::GateSettings::default().subaddress_separator,
            Some(text) => match text.get_ref().as_str() {
                "" => None,
                "+" => Some('+'),
                "-" => Some('-'),
                "=" => Some('='),
                other => {
                    let place = self.place(text, "gate.subaddress_separator");
                    self.error(
                        place,
                        Problem::Gate(format!(
                            "subaddress_separator = '{other}': use \"+\" (the default), \"-\", \"=\" or \"\" for none"
                        )),
                    );
                    None
                }
            },
        };
        crate::GateSettings {
            author_may_deploy,
            allow_unattributed_authors,
            subaddress_separator,
            pipelines: Vec::new(),
        }
    }

    fn duration(&mut self, value: Option<&Text>, path: impl Into<String>) -> Option<u64> {
        let value = value?;
        match parse_duration(value.get_ref()) {
            Ok(secs) => Some(secs),
            Err(message) => {
                let place = self.place(value, path);
                self.error(place, Problem::BadDuration(message));
                None
            }
        }
    }

    fn count(
        &mut self,
        value: Option<&Spanned<i64>>,
        what: &'static str,
        path: String,
    ) -> Option<u32> {
        let value = value?;
        match u32::try_from(*value.get_ref()) {
            Ok(n) if (1..=MAX_COUNT).contains(&n) => Some(n),
            _ => {
                let place = self.place(value, path);
                self.error(
                    place,
                    Problem::BadCount {
                        what,
                        value: *value.get_ref(),
                        max: MAX_COUNT,
                    },
                );
                None
            }
        }
    }

    fn groups(&mut self, raw: &BTreeMap<Text, Vec<Text>>) {
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

    fn approvers(&mut self, raw: Option<Spanned<Vec<Text>>>, path: &str) -> Option<Vec<Approver>> {
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
    fn most_people(&self, approvers: &[Approver]) -> usize {
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

    fn defaults(&mut self, raw: Option<Spanned<crate::file::RawDefaults>>) -> Defaults {
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

    fn route(
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

    fn rule_id(
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

    fn patterns(
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

    fn access(
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

    fn action(
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
    fn shadowing(&mut self, rules: &[Rule]) {
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

    fn cedar(&mut self, text: &Text) -> Option<CedarPolicies> {
        let start = content_start(self.text, text);
        let policies = text.get_ref();
        let place = |c: &Self, offset: Option<usize>| -> Place {
            match (offset, start) {
                (Some(o), Some(s)) => {
                    let (line, column) = line_column(c.text, s + o);
                    Place {
                        line,
                        column,
                        path: "cedar".into(),
                    }
                }
                (Some(o), None) => {
                    let (line, column) = line_column(policies, o);
                    Place {
                        path: format!("cedar (its line {line}, column {column})"),
                        ..c.place(text, "")
                    }
                }
                (None, _) => c.place(text, "cedar"),
            }
        };
        for (offset, name) in named_groups(policies) {
            if !self.groups.contains_key(&name) {
                let at = place(self, Some(offset));
                self.error(at, Problem::UnknownGroup(name));
            }
        }
        match CedarPolicies::compile(policies) {
            Ok((compiled, notes)) => {
                for CedarProblem { offset, message } in notes {
                    let at = place(self, offset);
                    self.warn(at, message);
                }
                Some(compiled)
            }
            Err(problems) => {
                for CedarProblem { offset, message } in problems {
                    let at = place(self, offset);
                    self.error(at, Problem::Cedar(message));
                }
                None
            }
        }
    }
}

/// The byte offset in the document where the string value's content
/// starts, when the content is the source verbatim (literal strings, and
/// basic strings without escapes); then Cedar's offsets map to the file.
fn content_start(doc: &str, value: &Text) -> Option<usize> {
    let span = value.span();
    let raw = doc.get(span.clone())?;
    let mut start = span.start;
    let quote = if raw.starts_with("'''") || raw.starts_with("\"\"\"") {
        3
    } else {
        1
    };
    start += quote;
    // A newline right after a multi-line opening is not part of the value.
    if quote == 3 {
        let after = doc.get(start..)?;
        if after.starts_with("\r\n") {
            start += 2;
        } else if after.starts_with('\n') {
            start += 1;
        }
    }
    let content = value.get_ref();
    (doc.get(start..start + content.len()) == Some(content.as_str())).then_some(start)
}

fn is_person_id(id: &str) -> bool {
    !id.is_empty() && !id.chars().any(|c| c.is_whitespace() || c == '|')
}
