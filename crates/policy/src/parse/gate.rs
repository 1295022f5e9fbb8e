//! `[[break_glass]]`, `[[pipeline]]` and `[gate]`.

#![allow(unused_imports)]
use super::*;

impl Checker<'_> {
    /// Emergency access: named people, a short maximum (default 2 h, at
    /// most 24 h: break-glass is for an incident, not a shift).
    pub(super) fn break_glass(
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
    pub(super) fn pipelines(
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
    pub(super) fn gate(&mut self, raw: &Spanned<crate::file::RawGate>) -> crate::GateSettings {
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
}
