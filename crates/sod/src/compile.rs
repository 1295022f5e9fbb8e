//! Rules compiled against a catalogue: dense ids and inverted indexes.
//!
//! Every entitlement id maps to the *postings* it contributes to: "holding
//! this gives function f" or "holding this satisfies member m of all-of group
//! g". Every function maps to the risks that need it. An identity is then
//! checked by walking its own grants only, touching just the candidate risks.
//!
//! Each reference or pattern in the rules is a *site*. Sites that matched
//! nothing stay indexed (exact references by text, patterns by system), so
//! when the catalogue grows, [`Compiled::refresh`] resolves only the new
//! entitlements against them: no recompilation.

mod warning;

pub use warning::{Warning, WarningKind};

use crate::catalogue::{Catalogue, EntitlementId};
use crate::hash::{FastMap, dense_id};
use crate::rules::{Glob, Item, Member, RuleSet, Severity};

/// What holding one entitlement contributes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Posting {
    Function(u32),
    Member { group: u32, bit: u32 },
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledFunction {
    pub id: String,
    /// The all-of groups of this function.
    pub groups: Vec<u32>,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledRisk {
    pub id: String,
    pub name: Option<String>,
    pub process: Option<String>,
    pub severity: Severity,
    /// Distinct function indexes.
    pub functions: Vec<u32>,
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub function: u32,
    pub members: u32,
    /// Offset of this group's member bitmask in the evaluator's scratch words.
    pub word: u32,
}

#[derive(Debug, Clone)]
enum Pattern {
    Exact,
    Wild(Glob),
}

#[derive(Debug, Clone)]
struct Site {
    function: u32,
    text: String,
    in_group: bool,
    pattern: Pattern,
    target: Posting,
    matched: u32,
}

/// A [`RuleSet`] resolved against a [`Catalogue`].
#[derive(Debug, Clone)]
pub struct Compiled {
    pub(crate) functions: Vec<CompiledFunction>,
    pub(crate) risks: Vec<CompiledRisk>,
    pub(crate) fn_risks: Vec<Vec<u32>>,
    pub(crate) groups: Vec<Group>,
    pub(crate) words: usize,
    postings: Vec<Vec<Posting>>,
    sites: Vec<Site>,
    /// Exact references not (yet) in the catalogue, by text → sites.
    pending: FastMap<String, Vec<u32>>,
    /// Pattern sites by system.
    globs: FastMap<String, Vec<u32>>,
    resolved: usize,
}

impl Compiled {
    /// Compiles `rules` against `catalogue`, with a warning for every
    /// reference or pattern that matches nothing.
    pub fn compile(rules: &RuleSet, catalogue: &Catalogue) -> (Self, Vec<Warning>) {
        let mut c = Self::index(rules);
        c.refresh(catalogue);
        let warnings = c.warnings();
        (c, warnings)
    }

    fn index(rules: &RuleSet) -> Self {
        let mut c = Self {
            functions: Vec::with_capacity(rules.functions.len()),
            risks: Vec::with_capacity(rules.risks.len()),
            fn_risks: vec![Vec::new(); rules.functions.len()],
            groups: Vec::new(),
            words: 0,
            postings: Vec::new(),
            sites: Vec::new(),
            pending: FastMap::default(),
            globs: FastMap::default(),
            resolved: 0,
        };
        let mut by_id = FastMap::default();
        for (index, function) in rules.functions.iter().enumerate() {
            let f = dense_id(index);
            by_id.insert(function.id.as_str(), f);
            c.functions.push(CompiledFunction {
                id: function.id.clone(),
                groups: Vec::new(),
            });
            for item in &function.items {
                match item {
                    Item::Ref(r) => c.site(f, &Member::Ref(r.clone()), false, Posting::Function(f)),
                    Item::Glob(g) => {
                        c.site(f, &Member::Glob(g.clone()), false, Posting::Function(f))
                    }
                    Item::AllOf(members) => c.group(f, members),
                }
            }
        }
        for (index, risk) in rules.risks.iter().enumerate() {
            // Distinct, in the order the risk lists them: evidence follows it.
            let mut functions: Vec<u32> = Vec::with_capacity(risk.functions.len());
            for f in risk
                .functions
                .iter()
                .filter_map(|id| by_id.get(id.as_str()))
            {
                if !functions.contains(f) {
                    functions.push(*f);
                }
            }
            for &f in &functions {
                if let Some(list) = c.fn_risks.get_mut(f as usize) {
                    list.push(dense_id(index));
                }
            }
            c.risks.push(CompiledRisk {
                id: risk.id.clone(),
                name: risk.name.clone(),
                process: risk.process.clone(),
                severity: risk.severity,
                functions,
            });
        }
        c
    }

    fn group(&mut self, function: u32, members: &[Member]) {
        let group = dense_id(self.groups.len());
        self.groups.push(Group {
            function,
            members: dense_id(members.len()),
            word: dense_id(self.words),
        });
        self.words += members.len().div_ceil(64);
        if let Some(f) = self.functions.get_mut(function as usize) {
            f.groups.push(group);
        }
        for (bit, member) in members.iter().enumerate() {
            let target = Posting::Member {
                group,
                bit: dense_id(bit),
            };
            self.site(function, member, true, target);
        }
    }

    fn site(&mut self, function: u32, member: &Member, in_group: bool, target: Posting) {
        let id = dense_id(self.sites.len());
        let pattern = match member {
            Member::Ref(r) => {
                self.pending.entry(r.to_string()).or_default().push(id);
                Pattern::Exact
            }
            Member::Glob(g) => {
                self.globs
                    .entry(g.system().to_owned())
                    .or_default()
                    .push(id);
                Pattern::Wild(g.clone())
            }
        };
        self.sites.push(Site {
            function,
            text: member.to_string(),
            in_group,
            pattern,
            target,
            matched: 0,
        });
    }

    /// Resolves the entitlements added to `catalogue` since the last
    /// compile or refresh (ids are append-only), re-resolving patterns.
    /// Returns the warnings that still apply.
    pub fn refresh(&mut self, catalogue: &Catalogue) -> Vec<Warning> {
        for id in self.resolved..catalogue.len() {
            let (system, entitlement) = (
                catalogue.system_of(dense_id(id)),
                catalogue.entitlement_of(dense_id(id)),
            );
            let sites = self.matching_sites(system, entitlement);
            let mut postings = Vec::with_capacity(sites.len());
            for site in sites {
                if let Some(s) = self.sites.get_mut(site as usize) {
                    s.matched += 1;
                    postings.push(s.target);
                }
            }
            postings.sort_unstable();
            postings.dedup();
            self.pending.remove(&format!("{system}:{entitlement}"));
            self.postings.push(postings);
        }
        self.resolved = catalogue.len().max(self.resolved);
        self.warnings()
    }

    /// The sites that an entitlement with these ids would match.
    fn matching_sites(&self, system: &str, entitlement: &str) -> Vec<u32> {
        let mut sites = Vec::new();
        if let Some(exact) = self.pending.get(&format!("{system}:{entitlement}")) {
            sites.extend_from_slice(exact);
        }
        for &site in self.globs.get(system).map_or(&[][..], Vec::as_slice) {
            if let Some(Site {
                pattern: Pattern::Wild(glob),
                ..
            }) = self.sites.get(site as usize)
                && glob.matches(entitlement)
            {
                sites.push(site);
            }
        }
        sites
    }

    /// What an entitlement not in the catalogue would contribute, without
    /// changing anything (what-if checks of new entitlements).
    pub(crate) fn postings_for_new(&self, system: &str, entitlement: &str) -> Vec<Posting> {
        let mut postings: Vec<Posting> = self
            .matching_sites(system, entitlement)
            .into_iter()
            .filter_map(|site| self.sites.get(site as usize).map(|s| s.target))
            .collect();
        postings.sort_unstable();
        postings.dedup();
        postings
    }

    #[inline]
    pub(crate) fn postings(&self, id: EntitlementId) -> &[Posting] {
        self.postings.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// Every reference or pattern that currently matches nothing.
    pub fn warnings(&self) -> Vec<Warning> {
        self.sites
            .iter()
            .filter(|s| s.matched == 0)
            .map(|s| Warning {
                function_id: self
                    .functions
                    .get(s.function as usize)
                    .map_or_else(String::new, |f| f.id.clone()),
                item: s.text.clone(),
                in_group: s.in_group,
                kind: match s.pattern {
                    Pattern::Exact => WarningKind::UnknownEntitlement,
                    Pattern::Wild(_) => WarningKind::PatternMatchesNothing,
                },
            })
            .collect()
    }

    /// How many catalogue entitlements this compilation has resolved; the
    /// analyses refuse a dataset whose catalogue is larger.
    pub fn catalogue_len(&self) -> usize {
        self.resolved
    }

    pub fn risk_count(&self) -> usize {
        self.risks.len()
    }

    pub fn function_count(&self) -> usize {
        self.functions.len()
    }
}

#[cfg(test)]
mod tests;
