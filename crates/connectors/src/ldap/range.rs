//! Ranged attribute retrieval (Active Directory's `MaxValRange`): AD returns
//! at most 1500 values of an attribute per entry (`member;range=0-1499`)
//! and the client asks again for the next range (`member;range=1500-*`)
//! until a range ends with `*`. The continuation loop takes the fetch as a
//! closure, so that it is tested without a server (OpenLDAP has no ranges).

use super::{Entry, LdapError};
use std::collections::BTreeMap;

/// The values a ranged attribute description covers: `range=0-1499` is
/// `start` 0 and `end` `Some(1499)`; `range=1500-*` is the last range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueRange {
    pub start: u64,
    /// `None`: `*`, the range holds the last value.
    pub end: Option<u64>,
}

/// Splits a ranged attribute description, `member;range=0-1499`, into the
/// attribute (`member`, as given) and its range; `None` for a description
/// without a range option or with a malformed one.
pub fn parse_ranged(description: &str) -> Option<(&str, ValueRange)> {
    let lower = description.to_ascii_lowercase();
    let at = lower.find(";range=")?;
    let attribute = description.get(..at)?;
    // Other options (`;binary`) may come before the range; none after it.
    let spec = description.get(at + ";range=".len()..)?;
    let (start, end) = spec.split_once('-')?;
    let start = start.parse().ok()?;
    let end = match end {
        "*" => None,
        n => Some(n.parse().ok()?),
    };
    if end.is_some_and(|end| end < start) || attribute.is_empty() {
        return None;
    }
    Some((attribute, ValueRange { start, end }))
}

/// Replaces every ranged attribute of `entries` (`member;range=0-1499`)
/// by all its values under its own name (`member`), asking for the other
/// ranges with `fetch(dn, attribute, start)` (see [`read_ranges`]).
pub async fn complete(
    entries: &mut [Entry],
    mut fetch: impl AsyncFnMut(&str, &str, u64) -> Result<BTreeMap<String, Vec<String>>, LdapError>,
) -> Result<(), LdapError> {
    for entry in entries.iter_mut() {
        let ranged: Vec<(String, String, ValueRange)> = entry
            .attrs
            .keys()
            .filter_map(|key| {
                let (attribute, range) = parse_ranged(key)?;
                Some((attribute.to_lowercase(), key.clone(), range))
            })
            .collect();
        for (attribute, key, first) in ranged {
            let values = entry.attrs.remove(&key).unwrap_or_default();
            let dn = entry.dn.as_str();
            let all = read_ranges(dn, &attribute, first, values, async |start| {
                fetch(dn, &attribute, start).await
            })
            .await?;
            entry.attrs.entry(attribute).or_default().extend(all);
        }
    }
    Ok(())
}

/// Every value of `attribute` of the entry `dn`, from the first range read
/// (`first`, holding `values`) on: while a range does not end with `*`,
/// `fetch(start)` re-reads the entry asking for `attribute;range=start-*`
/// and answers the attributes the server returned. A server that skips or
/// repeats values, or returns an empty range that is not the last, is an
/// error rather than a silently short member list.
pub async fn read_ranges(
    dn: &str,
    attribute: &str,
    first: ValueRange,
    mut values: Vec<String>,
    mut fetch: impl AsyncFnMut(u64) -> Result<BTreeMap<String, Vec<String>>, LdapError>,
) -> Result<Vec<String>, LdapError> {
    let bad = |detail: String| LdapError::Range {
        dn: dn.to_owned(),
        attribute: attribute.to_owned(),
        detail,
    };
    if first.start != 0 {
        return Err(bad(format!(
            "the first read returned values from {} on, not from 0",
            first.start
        )));
    }
    let mut range = first;
    while let Some(end) = range.end {
        let start = end
            .checked_add(1)
            .ok_or_else(|| bad(format!("the range ends at {end}, the largest number")))?;
        let attrs = fetch(start).await?;
        let Some((key, next)) = attrs.keys().find_map(|key| {
            parse_ranged(key)
                .filter(|(a, _)| a.eq_ignore_ascii_case(attribute))
                .map(|(_, r)| (key, r))
        }) else {
            return Err(bad(format!(
                "asked for {attribute};range={start}-*, the server returned no range of it"
            )));
        };
        if next.start != start {
            return Err(bad(format!(
                "asked for the values from {start} on, the server returned {key}"
            )));
        }
        let chunk = attrs.get(key).cloned().unwrap_or_default();
        if chunk.is_empty() && next.end.is_some() {
            return Err(bad(format!(
                "the server returned {key} without values, and more to come"
            )));
        }
        values.extend(chunk);
        range = next;
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn range(start: u64, end: Option<u64>) -> ValueRange {
        ValueRange { start, end }
    }

    #[test]
    fn descriptions_parse() {
        assert_eq!(
            parse_ranged("member;range=0-1499"),
            Some(("member", range(0, Some(1499))))
        );
        assert_eq!(
            parse_ranged("Member;Range=1500-*"),
            Some(("Member", range(1500, None)))
        );
        assert_eq!(
            parse_ranged("member;binary;range=3-5"),
            Some(("member;binary", range(3, Some(5))))
        );
        for bad in [
            "member",
            "member;range=",
            "member;range=5-1",
            "member;range=a-*",
            "member;range=0-",
            "member;range=0",
            ";range=0-*",
            "member;range=-1-5",
        ] {
            assert_eq!(parse_ranged(bad), None, "{bad}");
        }
    }

    /// A server holding `total` values `v0`, `v1`… that answers `step` at a
    /// time, as AD does; records the starts asked for.
    fn server(
        total: u64,
        step: u64,
        asked: &mut Vec<u64>,
    ) -> impl AsyncFnMut(u64) -> Result<BTreeMap<String, Vec<String>>, LdapError> + '_ {
        async move |start: u64| {
            asked.push(start);
            let last = start + step - 1;
            let (end, name) = if last + 1 >= total {
                (total, format!("member;range={start}-*"))
            } else {
                (last + 1, format!("member;range={start}-{last}"))
            };
            let values = (start..end).map(|i| format!("v{i}")).collect();
            Ok(BTreeMap::from([(name, values)]))
        }
    }

    fn first(step: u64) -> (ValueRange, Vec<String>) {
        (
            range(0, Some(step - 1)),
            (0..step).map(|i| format!("v{i}")).collect(),
        )
    }

    #[tokio::test]
    async fn ranges_are_read_until_the_last() {
        let mut asked = Vec::new();
        let (r, values) = first(1500);
        let all = read_ranges(
            "cn=big",
            "member",
            r,
            values,
            server(4000, 1500, &mut asked),
        )
        .await
        .unwrap();
        assert_eq!(asked, [1500, 3000]);
        assert_eq!(all.len(), 4000);
        assert_eq!(all[1500], "v1500");
        assert_eq!(all[3999], "v3999");

        // A last range that is exactly full, then the `*` range empty.
        let mut asked = Vec::new();
        let (r, values) = first(2);
        let all = read_ranges(
            "cn=x",
            "member",
            r,
            values,
            async |start: u64| -> Result<BTreeMap<String, Vec<String>>, LdapError> {
                asked.push(start);
                Ok(match start {
                    2 => {
                        BTreeMap::from([("member;range=2-3".into(), vec!["c".into(), "d".into()])])
                    }
                    _ => BTreeMap::from([(format!("member;range={start}-*"), vec![])]),
                })
            },
        )
        .await
        .unwrap();
        assert_eq!(asked, [2, 4]);
        assert_eq!(all, ["v0", "v1", "c", "d"]);

        // A first range that is the last: nothing to ask.
        let all = read_ranges(
            "cn=x",
            "member",
            range(0, None),
            vec!["a".into()],
            async |_| -> Result<BTreeMap<String, Vec<String>>, LdapError> {
                unreachable!("no fetch for a complete attribute")
            },
        )
        .await
        .unwrap();
        assert_eq!(all, ["a"]);
    }

    #[tokio::test]
    async fn a_server_that_breaks_the_protocol_is_an_error() {
        let answer = |name: &str, values: &[&str]| {
            BTreeMap::from([(
                name.to_owned(),
                values.iter().map(|v| (*v).to_owned()).collect(),
            )])
        };
        let cases = [
            (answer("member", &["x"]), "returned no range of it"),
            (
                answer("memberof;range=2-*", &["x"]),
                "returned no range of it",
            ),
            (
                answer("member;range=5-*", &["x"]),
                "returned member;range=5-*",
            ),
            (answer("member;range=2-3", &[]), "without values"),
        ];
        for (reply, expected) in cases {
            let (r, values) = first(2);
            let err = read_ranges(
                "cn=Big,dc=corp",
                "member",
                r,
                values,
                async |_| -> Result<BTreeMap<String, Vec<String>>, LdapError> { Ok(reply.clone()) },
            )
            .await
            .unwrap_err()
            .to_string();
            assert!(err.contains(expected), "{expected}: {err}");
            assert!(err.starts_with("cn=Big,dc=corp: "), "{err}");
        }
        let err = read_ranges(
            "cn=x",
            "member",
            range(3, Some(5)),
            vec![],
            async |_| -> Result<BTreeMap<String, Vec<String>>, LdapError> { Ok(BTreeMap::new()) },
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("not from 0"), "{err}");

        // The fetch's own failure is the loop's.
        let (r, values) = first(2);
        let err = read_ranges(
            "cn=x",
            "member",
            r,
            values,
            async |_| -> Result<BTreeMap<String, Vec<String>>, LdapError> {
                Err(LdapError::BadValue {
                    dn: "cn=x".into(),
                    reason: "gone".into(),
                })
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "cn=x: gone");
    }

    #[tokio::test]
    async fn entries_get_every_value_under_the_attributes_own_name() {
        let mut entries = vec![
            Entry {
                dn: "cn=Big,dc=corp".into(),
                attrs: BTreeMap::from([
                    ("cn".into(), vec!["Big".into()]),
                    (
                        "member;range=0-1".into(),
                        vec!["cn=a".into(), "cn=b".into()],
                    ),
                ]),
            },
            Entry {
                dn: "cn=Small,dc=corp".into(),
                attrs: BTreeMap::from([("member".into(), vec!["cn=a".into()])]),
            },
        ];
        let mut asked = Vec::new();
        complete(
            &mut entries,
            async |dn: &str,
                   attribute: &str,
                   start: u64|
                   -> Result<BTreeMap<String, Vec<String>>, LdapError> {
                asked.push(format!("{dn} {attribute} {start}"));
                Ok(BTreeMap::from([(
                    format!("Member;range={start}-*"),
                    vec!["cn=c".into()],
                )]))
            },
        )
        .await
        .unwrap();
        assert_eq!(asked, ["cn=Big,dc=corp member 2"]);
        assert_eq!(entries[0].values("member"), ["cn=a", "cn=b", "cn=c"]);
        assert_eq!(entries[0].attrs.len(), 2, "{:?}", entries[0].attrs);
        assert_eq!(entries[1].values("member"), ["cn=a"]);
    }
}
