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

mod cedar;
mod gate;
mod routing;

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
    pub(super) fn place<T>(&self, spanned: &Spanned<T>, path: impl Into<String>) -> Place {
        let (line, column) = line_column(self.text, spanned.span().start);
        Place {
            line,
            column,
            path: path.into(),
        }
    }

    pub(super) fn error(&mut self, place: Place, problem: Problem) {
        self.errors.push(PolicyError { place, problem });
    }

    pub(super) fn warn(&mut self, place: Place, message: String) {
        self.warnings.push(Warning { place, message });
    }
    pub(super) fn duration(
        &mut self,
        value: Option<&Text>,
        path: impl Into<String>,
    ) -> Option<u64> {
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

    pub(super) fn count(
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
