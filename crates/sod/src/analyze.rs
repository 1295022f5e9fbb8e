//! Full analysis of a dataset: every identity against every risk it could
//! violate, split over the cores.

use crate::compile::Compiled;
use crate::dataset::Dataset;
use crate::eval::{Scratch, evidence, evidence_during, violated, violated_during};
use crate::parallel::map_ranges;
use crate::report::{Span, Violation, WindowViolation, build_violation, sort_violations};

/// The instant to analyse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The dataset's own present: at [`Dataset::as_of`] if it has one;
    /// without one, every grant counts whatever its interval (a snapshot
    /// with no time data simply lists what is held).
    Now,
    /// At this instant (microseconds since the Unix epoch): only grants
    /// whose interval contains it count.
    At(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalyzeError {
    #[error(
        "the rules were compiled against {compiled} entitlements but the dataset knows {catalogue}; call Compiled::refresh with the dataset's catalogue first"
    )]
    StaleRules { compiled: usize, catalogue: usize },
    #[error("the window [{from}, {to}) is empty; from must be before to")]
    EmptyWindow { from: i64, to: i64 },
}

fn check_fresh(c: &Compiled, d: &Dataset) -> Result<(), AnalyzeError> {
    if c.catalogue_len() == d.catalogue().len() {
        Ok(())
    } else {
        Err(AnalyzeError::StaleRules {
            compiled: c.catalogue_len(),
            catalogue: d.catalogue().len(),
        })
    }
}

/// Every violation at `when`, sorted by (risk id, identity), with evidence.
pub fn analyze(c: &Compiled, d: &Dataset, when: When) -> Result<Vec<Violation>, AnalyzeError> {
    check_fresh(c, d)?;
    let at = match when {
        When::Now => d.as_of(),
        When::At(t) => Some(t),
    };
    let mut out = map_ranges(d.identity_count(), |range| {
        let mut scratch = Scratch::new(c);
        let mut views = Vec::new();
        let mut found = Vec::new();
        for identity in range {
            d.views(identity, &mut views);
            let risks = violated(c, c, &mut scratch, &views, at);
            if risks.is_empty() {
                continue;
            }
            for &risk in risks {
                let raw = evidence(c, c, &views, at, risk);
                found.push(build_violation(
                    c,
                    risk,
                    d.identity_name(identity),
                    raw,
                    |e| d.catalogue().reference(e),
                    |a| d.account_label(a),
                ));
            }
        }
        found
    });
    sort_violations(&mut out);
    Ok(out)
}

/// Every identity that violated a risk at some instant of `[from, to)`, with
/// the spans during which it did, sorted by (risk id, identity).
pub fn analyze_window(
    c: &Compiled,
    d: &Dataset,
    from: i64,
    to: i64,
) -> Result<Vec<WindowViolation>, AnalyzeError> {
    check_fresh(c, d)?;
    if from >= to {
        return Err(AnalyzeError::EmptyWindow { from, to });
    }
    let mut out = map_ranges(d.identity_count(), |range| {
        let mut scratch = Scratch::new(c);
        let mut views = Vec::new();
        let mut found = Vec::new();
        for identity in range {
            d.views(identity, &mut views);
            for (risk, spans) in violated_during(c, c, &mut scratch, &views, from, to) {
                let raw = evidence_during(c, c, &views, &spans, risk, &mut scratch);
                let violation = build_violation(
                    c,
                    risk,
                    d.identity_name(identity),
                    raw,
                    |e| d.catalogue().reference(e),
                    |a| d.account_label(a),
                );
                found.push(WindowViolation {
                    violation,
                    during: spans
                        .into_iter()
                        .map(|(from, to)| Span { from, to })
                        .collect(),
                });
            }
        }
        found
    });
    out.sort_unstable_by(|a, b| {
        (&a.violation.risk_id, &a.violation.identity)
            .cmp(&(&b.violation.risk_id, &b.violation.identity))
    });
    Ok(out)
}
