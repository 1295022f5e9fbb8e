//! Cedar policies embedded in a policies document.

#![allow(unused_imports)]
use super::*;

impl Checker<'_> {
    pub(super) fn cedar(&mut self, text: &Text) -> Option<CedarPolicies> {
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
