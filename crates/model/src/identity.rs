//! Who someone is when a change names them: a git author `Name <email>`, a
//! deployer given by email or person id, an approver. Identities are parsed
//! into one canonical form and compared as such, never as text: `Liam
//! <Liam.Gupta+ci@Example.com.>`, `mailto:liam.gupta@example.com` and
//! `liam.gupta@example.com` are one identity, and `liam.gupta@example.com,x@y.z`
//! or `Michelle Wang` are none.
//!
//! The folding rule (docs/requests.md, "Identities"): surrounding space,
//! `Name <…>` and `mailto:` are removed; the email is lowercased; one
//! trailing dot of the domain is dropped; and everything from the
//! sub-address separator (`+` by default, configurable, or none) to the `@`
//! is dropped, so `liam.gupta+ci@` is `liam.gupta@`.

use crate::ids::PersonId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest identity text accepted (an RFC 5321 path is at most 256).
pub const MAX_IDENTITY_LEN: usize = 320;

/// How emails are folded before they are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailFolding {
    /// `liam+ci@x` is `liam@x` when this is `Some('+')`.
    pub subaddress_separator: Option<char>,
}

impl Default for EmailFolding {
    fn default() -> Self {
        Self {
            subaddress_separator: Some('+'),
        }
    }
}

/// An email address in canonical form: lowercase ASCII `local@domain`, the
/// sub-address folded, no trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CanonicalEmail(String);

impl CanonicalEmail {
    /// `text` must be a bare address (`local@domain`), optionally with
    /// `mailto:`; `Name <…>` is [`Identity::parse`]'s.
    pub fn parse(text: &str, folding: EmailFolding) -> Result<Self, IdentityError> {
        let text = strip_mailto(text.trim());
        let (local, domain) = match text.split('@').collect::<Vec<_>>().as_slice() {
            [local, domain] => (*local, *domain),
            [_] => return Err(IdentityError::NotAnEmail(escape(text))),
            _ => return Err(IdentityError::SeveralAts(escape(text))),
        };
        let local = local.to_ascii_lowercase();
        let domain = domain
            .strip_suffix('.')
            .unwrap_or(domain)
            .to_ascii_lowercase();
        check_local(&local, text)?;
        check_domain(&domain, text)?;
        let local = match folding.subaddress_separator {
            Some(sep) => match local.split_once(sep) {
                Some((base, _)) if !base.is_empty() => base.to_owned(),
                _ => local,
            },
            None => local,
        };
        // What folding leaves must itself be an address (`a.+x@` is not).
        check_local(&local, text)?;
        Ok(Self(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local(&self) -> &str {
        self.0.split_once('@').map_or(self.0.as_str(), |(l, _)| l)
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for CanonicalEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Someone named by a change, a deployer or an approver: a person of the
/// inventory by id, or an email (which may be a person's email or the id
/// of one of their accounts, as a source-control system knows them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Identity {
    Person(PersonId),
    Email(CanonicalEmail),
}

impl Identity {
    /// Parses `Name <email>`, `<email>`, `mailto:email`, `email` or a person
    /// id (letters, digits, `.`, `_`, `-`; e.g. `E00082`). Anything else —
    /// a display name alone, two addresses, stray brackets, control or
    /// bidirectional-override characters — names nobody and is refused.
    pub fn parse(text: &str, folding: EmailFolding) -> Result<Self, IdentityError> {
        if text.len() > MAX_IDENTITY_LEN {
            return Err(IdentityError::TooLong(text.len()));
        }
        if let Some(c) = text.chars().find(|c| is_hidden(*c)) {
            return Err(IdentityError::HiddenCharacter(escape(text), c as u32));
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(IdentityError::Empty);
        }
        if text.contains(['<', '>']) {
            return name_and_email(text, folding).map(Self::Email);
        }
        if text.contains(['@', ':']) {
            return CanonicalEmail::parse(text, folding).map(Self::Email);
        }
        if text.len() <= 128
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && let Ok(id) = PersonId::parse(text)
        {
            return Ok(Self::Person(id));
        }
        Err(IdentityError::Unrecognised(escape(text)))
    }

    /// The same text for the same identity: `person:ID` or the email.
    pub fn key(&self) -> String {
        match self {
            Self::Person(id) => format!("person:{id}"),
            Self::Email(email) => email.to_string(),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Person(id) => write!(f, "{id}"),
            Self::Email(email) => write!(f, "{email}"),
        }
    }
}

/// `Name <email>` or `<email>`: exactly one pair of brackets, closing the text.
fn name_and_email(text: &str, folding: EmailFolding) -> Result<CanonicalEmail, IdentityError> {
    let open = text.find('<');
    let close = text.find('>');
    match (open, close) {
        (Some(l), Some(r))
            if l < r
                && r + 1 == text.len()
                && text.matches('<').count() == 1
                && text.matches('>').count() == 1 =>
        {
            let inner = &text[l + 1..r];
            if inner.trim().is_empty() {
                return Err(IdentityError::NoEmail(escape(text)));
            }
            CanonicalEmail::parse(inner, folding)
        }
        _ => Err(IdentityError::Brackets(escape(text))),
    }
}

fn strip_mailto(text: &str) -> &str {
    match text.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("mailto:") => &text[7..],
        _ => text,
    }
}

/// RFC 5322 dot-atom local part, ASCII only (an address with other
/// characters is refused rather than guessed at: look-alike letters would
/// otherwise pass for someone else).
fn check_local(local: &str, whole: &str) -> Result<(), IdentityError> {
    let ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(IdentityError::BadLocalPart(escape(whole)))
    }
}

/// Dot-separated labels of letters, digits and inner hyphens.
fn check_domain(domain: &str, whole: &str) -> Result<(), IdentityError> {
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(IdentityError::BadDomain(escape(whole)))
    }
}

/// Control characters and the invisible marks that reorder or hide text.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// `text` as it may be shown: hidden characters as `\u{…}` escapes
/// (a NUL as `\0`), cut at 80 characters.
pub fn escape(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == 80 {
            out.push('…');
            break;
        }
        match c {
            '\0' => out.push_str("\\0"),
            c if is_hidden(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("no identity given: name a person id, an email or a git identity `Name <email>`")]
    Empty,
    #[error("the identity is {0} bytes, more than {MAX_IDENTITY_LEN}: name one person")]
    TooLong(usize),
    #[error(
        "'{0}' contains a control or invisible character (U+{1:04X}): write the identity as plain text"
    )]
    HiddenCharacter(String, u32),
    #[error(
        "'{0}' is not an identity: name a person id (e.g. E00082), an email or a git identity `Name <email>`; \
         a display name alone names nobody"
    )]
    Unrecognised(String),
    #[error("'{0}' has no email between its brackets: git identities are `Name <email>`")]
    NoEmail(String),
    #[error(
        "'{0}' has stray or several angle brackets: write one `Name <email>` or the email alone"
    )]
    Brackets(String),
    #[error("'{0}' is not an email address (no '@')")]
    NotAnEmail(String),
    #[error("'{0}' holds several '@': name one address")]
    SeveralAts(String),
    #[error(
        "'{0}' has an invalid part before the '@' (letters, digits and !#$%&'*+/=?^_`{{|}}~.- only, \
         no leading, trailing or double dot, at most 64)"
    )]
    BadLocalPart(String),
    #[error("'{0}' has an invalid domain (dot-separated labels of letters, digits and '-')")]
    BadDomain(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<Identity, IdentityError> {
        Identity::parse(text, EmailFolding::default())
    }

    fn email(text: &str) -> Identity {
        Identity::Email(CanonicalEmail(text.to_owned()))
    }

    #[test]
    fn one_person_written_many_ways_is_one_identity() {
        for text in [
            "liam.gupta@example.com",
            "Liam.Gupta@Example.COM",
            "  liam.gupta@example.com ",
            "<liam.gupta@example.com>",
            "Liam Gupta <liam.gupta@example.com>",
            "liam.gupta@example.com.",
            "liam.gupta+ci@example.com",
            "mailto:liam.gupta@example.com",
            "MAILTO:Liam.Gupta+deploy@example.com.",
            "Gupta, Liam <liam.gupta@example.com>",
        ] {
            assert_eq!(
                parse(text).unwrap(),
                email("liam.gupta@example.com"),
                "{text}"
            );
        }
        assert_eq!(
            parse("E00082").unwrap(),
            Identity::Person(PersonId::parse("E00082").unwrap())
        );
    }

    #[test]
    fn texts_that_name_nobody_or_several_are_refused() {
        for text in [
            "",
            "   ",
            "Michelle Wang",
            "liam.gupta@example.com>",
            "<liam.gupta@example.com",
            "Liam <liam.gupta@example.com> x",
            "Liam <a@example.com> <b@example.com>",
            "liam.gupta@example.com,ci@example.com",
            "liam.gupta@example.com;ci@example.com",
            "liam.gupta@example.com ci@example.com",
            "a@b@example.com",
            "liam.gupta@",
            "@example.com",
            "liam..gupta@example.com",
            ".liam@example.com",
            "liam@exa mple.com",
            "liam@-example.com",
            "liam@example..com",
            "Liam <>",
            "liam\u{0}@example.com",
            "liam\u{202E}@example.com",
            "E00082\u{200B}",
            "lіam@example.com", // Cyrillic і
            "mailto:",
        ] {
            assert!(parse(text).is_err(), "{text:?} parsed as {:?}", parse(text));
        }
        assert!(parse(&"a".repeat(MAX_IDENTITY_LEN + 1)).is_err());
    }

    #[test]
    fn sub_addressing_follows_the_folding_rule() {
        let off = EmailFolding {
            subaddress_separator: None,
        };
        assert_eq!(
            Identity::parse("liam+ci@example.com", off).unwrap(),
            email("liam+ci@example.com")
        );
        let dash = EmailFolding {
            subaddress_separator: Some('-'),
        };
        assert_eq!(
            Identity::parse("liam-ci@example.com", dash).unwrap(),
            email("liam@example.com")
        );
        // A separator first keeps the address whole: there is no base to fold to.
        assert_eq!(parse("+ci@example.com").unwrap(), email("+ci@example.com"));
        // Folding must leave an address: `a.+x` would fold to `a.`.
        assert!(parse("a.+x@example.com").is_err());
    }

    #[test]
    fn errors_show_hidden_characters_escaped() {
        let e = parse("liam\u{0}@x.com").unwrap_err().to_string();
        assert!(e.contains("liam\\0@x.com"), "{e}");
        assert!(!e.contains('\u{0}'));
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_canonical_forms_are_fixed_points(text in "\\PC{0,80}") {
            if let Ok(Identity::Email(e)) = parse(&text) {
                prop_assert_eq!(parse(e.as_str()).unwrap(), Identity::Email(e.clone()));
            }
        }
    }
}
