//! The check of one identity: which risks it violates at an instant, over a
//! window, and the evidence for a violation.
//!
//! Every analysis (full, window, incremental, what-if, roles) reduces to
//! these functions over a list of [`AccountView`]s, so they all agree.

use crate::catalogue::EntitlementId;
use crate::compile::{Compiled, Posting};
use crate::interval::Bounded;

/// Where postings come from: the compiled rules, or the rules plus
/// hypothetical entitlements ([`Overlay`]).
pub(crate) trait Postings {
    fn postings(&self, ent: EntitlementId) -> &[Posting];
}

impl Postings for Compiled {
    #[inline]
    fn postings(&self, ent: EntitlementId) -> &[Posting] {
        Compiled::postings(self, ent)
    }
}

/// Entitlements with ids from `base` up are not in the catalogue; their
/// postings were computed for the occasion.
pub(crate) struct Overlay<'a> {
    pub compiled: &'a Compiled,
    pub base: usize,
    pub extra: Vec<Vec<Posting>>,
}

impl Postings for Overlay<'_> {
    fn postings(&self, ent: EntitlementId) -> &[Posting] {
        match (ent as usize).checked_sub(self.base) {
            Some(i) => self.extra.get(i).map_or(&[], Vec::as_slice),
            None => self.compiled.postings(ent),
        }
    }
}

/// One active account of the identity being checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccountView<'a> {
    /// The caller's handle for rendering evidence.
    pub label: u32,
    pub unbounded: &'a [EntitlementId],
    pub bounded: &'a [Bounded],
    /// Hypothetical grants (what-if), same form as `bounded`.
    pub extra: &'a [Bounded],
}

impl AccountView<'_> {
    /// Every entitlement valid at `at` (`None`: every grant counts).
    #[inline]
    fn each_valid(&self, at: Option<i64>, mut f: impl FnMut(EntitlementId)) {
        for &e in self.unbounded {
            f(e);
        }
        for b in self.bounded.iter().chain(self.extra) {
            if b.valid_at(at) {
                f(b.ent);
            }
        }
    }

    fn time_bound(&self) -> impl Iterator<Item = &Bounded> {
        self.bounded.iter().chain(self.extra)
    }
}

/// Per-thread working memory, sized for one [`Compiled`]. Marks are stamps,
/// so starting the next identity costs nothing.
#[derive(Default)]
pub(crate) struct Scratch {
    stamp: u32,
    fn_stamp: Vec<u32>,
    risk_stamp: Vec<u32>,
    held: Vec<u32>,
    words: Vec<u64>,
    group_seen: Vec<bool>,
    touched: Vec<u32>,
    risks: Vec<u32>,
}

impl Scratch {
    pub(crate) fn new(c: &Compiled) -> Self {
        Self {
            stamp: 0,
            fn_stamp: vec![0; c.functions.len()],
            risk_stamp: vec![0; c.risks.len()],
            held: Vec::new(),
            words: vec![0; c.words],
            group_seen: vec![false; c.groups.len()],
            touched: Vec::new(),
            risks: Vec::new(),
        }
    }

    fn begin(&mut self) {
        if self.stamp == u32::MAX {
            self.fn_stamp.fill(0);
            self.risk_stamp.fill(0);
            self.stamp = 0;
        }
        self.stamp += 1;
        self.held.clear();
    }

    #[inline]
    fn hold(&mut self, function: u32) {
        let slot = &mut self.fn_stamp[function as usize];
        if *slot != self.stamp {
            *slot = self.stamp;
            self.held.push(function);
        }
    }

    #[inline]
    fn hit(&mut self, c: &Compiled, postings: &[Posting]) {
        for &posting in postings {
            match posting {
                Posting::Function(f) => self.hold(f),
                Posting::Member { group, bit } => {
                    let seen = &mut self.group_seen[group as usize];
                    if !*seen {
                        *seen = true;
                        self.touched.push(group);
                    }
                    let word = c.groups[group as usize].word as usize + (bit / 64) as usize;
                    self.words[word] |= 1 << (bit % 64);
                }
            }
        }
    }

    /// All-of groups are per account: settle them before the next account.
    fn close_account(&mut self, c: &Compiled) {
        let mut touched = std::mem::take(&mut self.touched);
        for &g in &touched {
            let group = &c.groups[g as usize];
            let words =
                &mut self.words[group.word as usize..][..(group.members as usize).div_ceil(64)];
            let complete = group_complete(words, group.members);
            words.fill(0);
            self.group_seen[g as usize] = false;
            if complete {
                self.hold(group.function);
            }
        }
        touched.clear();
        self.touched = touched;
    }

    fn collect_risks(&mut self, c: &Compiled) {
        self.risks.clear();
        for i in 0..self.held.len() {
            let f = self.held[i];
            for &r in &c.fn_risks[f as usize] {
                let slot = &mut self.risk_stamp[r as usize];
                if *slot == self.stamp {
                    continue;
                }
                *slot = self.stamp;
                let stamp = self.stamp;
                if c.risks[r as usize]
                    .functions
                    .iter()
                    .all(|&g| self.fn_stamp[g as usize] == stamp)
                {
                    self.risks.push(r);
                }
            }
        }
        self.risks.sort_unstable();
    }
}

fn group_complete(words: &[u64], members: u32) -> bool {
    let full = (members / 64) as usize;
    let rest = members % 64;
    words[..full].iter().all(|&w| w == u64::MAX) && (rest == 0 || words[full] == (1u64 << rest) - 1)
}

/// The risks (sorted indexes) that `accounts` violate at `at`.
pub(crate) fn violated<'s, P: Postings>(
    c: &Compiled,
    p: &P,
    s: &'s mut Scratch,
    accounts: &[AccountView<'_>],
    at: Option<i64>,
) -> &'s [u32] {
    s.begin();
    for account in accounts {
        account.each_valid(at, |e| s.hit(c, p.postings(e)));
        s.close_account(c);
    }
    s.collect_risks(c);
    &s.risks
}

/// A violated risk over a window: the half-open spans during which it held.
pub(crate) type Spans = Vec<(i64, i64)>;

/// The risks violated at some instant of `[from, to)`, with their spans.
/// The state only changes where a time-bound grant starts or ends, so the
/// window is checked once per such boundary.
pub(crate) fn violated_during<P: Postings>(
    c: &Compiled,
    p: &P,
    s: &mut Scratch,
    accounts: &[AccountView<'_>],
    from: i64,
    to: i64,
) -> Vec<(u32, Spans)> {
    let mut points = vec![from];
    for account in accounts {
        for b in account.time_bound() {
            if p.postings(b.ent).is_empty() {
                continue;
            }
            for edge in [b.from, b.to] {
                if from < edge && edge < to {
                    points.push(edge);
                }
            }
        }
    }
    points.sort_unstable();
    points.dedup();
    let mut out: Vec<(u32, Spans)> = Vec::new();
    for (i, &start) in points.iter().enumerate() {
        let end = points.get(i + 1).copied().unwrap_or(to);
        for &r in violated(c, p, s, accounts, Some(start)) {
            match out.iter_mut().find(|(risk, _)| *risk == r) {
                Some((_, spans)) => match spans.last_mut() {
                    Some(last) if last.1 == start => last.1 = end,
                    _ => spans.push((start, end)),
                },
                None => out.push((r, vec![(start, end)])),
            }
        }
    }
    out.sort_unstable_by_key(|(r, _)| *r);
    out
}

/// Per function of the risk (in the risk's order): the (entitlement,
/// account label) pairs through which the identity holds it at `at`.
pub(crate) type RawEvidence = Vec<(u32, Vec<(EntitlementId, u32)>)>;

pub(crate) fn evidence<P: Postings>(
    c: &Compiled,
    p: &P,
    accounts: &[AccountView<'_>],
    at: Option<i64>,
    risk: u32,
) -> RawEvidence {
    let functions = c.risks.get(risk as usize).map_or(&[][..], |r| &r.functions);
    let mut out: RawEvidence = functions.iter().map(|&f| (f, Vec::new())).collect();
    let mut valid = Vec::new();
    for account in accounts {
        valid.clear();
        account.each_valid(at, |e| valid.push(e));
        valid.sort_unstable();
        valid.dedup();
        for (f, pairs) in &mut out {
            for &e in &valid {
                if p.postings(e).contains(&Posting::Function(*f)) {
                    pairs.push((e, account.label));
                }
            }
            for &g in &c.functions[*f as usize].groups {
                let members = c.groups[g as usize].members;
                let in_group = |e: &EntitlementId| {
                    p.postings(*e)
                        .iter()
                        .any(|q| matches!(q, Posting::Member { group, .. } if *group == g))
                };
                let complete = (0..members).all(|bit| {
                    valid
                        .iter()
                        .any(|&e| p.postings(e).contains(&Posting::Member { group: g, bit }))
                });
                if complete {
                    pairs.extend(
                        valid
                            .iter()
                            .filter(|e| in_group(e))
                            .map(|&e| (e, account.label)),
                    );
                }
            }
        }
    }
    for (_, pairs) in &mut out {
        pairs.sort_unstable();
        pairs.dedup();
    }
    out
}

/// Evidence over a window: the union of the evidence at each start of a
/// span during which the risk held.
pub(crate) fn evidence_during<P: Postings>(
    c: &Compiled,
    p: &P,
    accounts: &[AccountView<'_>],
    spans: &[(i64, i64)],
    risk: u32,
    s: &mut Scratch,
) -> RawEvidence {
    let mut merged: RawEvidence = Vec::new();
    // Within a span the state changes at boundaries too; the risk held at
    // each of them, so check every boundary inside the spans.
    let mut points: Vec<i64> = spans.iter().map(|sp| sp.0).collect();
    for account in accounts {
        for b in account.time_bound() {
            for edge in [b.from, b.to] {
                if spans.iter().any(|&(f, t)| f < edge && edge < t) {
                    points.push(edge);
                }
            }
        }
    }
    points.sort_unstable();
    points.dedup();
    for at in points {
        if !violated(c, p, s, accounts, Some(at)).contains(&risk) {
            continue;
        }
        let found = evidence(c, p, accounts, Some(at), risk);
        if merged.is_empty() {
            merged = found;
            continue;
        }
        for ((_, into), (_, from)) in merged.iter_mut().zip(found) {
            into.extend(from);
        }
    }
    for (_, pairs) in &mut merged {
        pairs.sort_unstable();
        pairs.dedup();
    }
    merged
}
