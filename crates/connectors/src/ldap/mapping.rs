//! The mapping file (TOML): where users and groups are, and which of their
//! attributes become which facts. Two presets ship as full files
//! (`presets/openldap.toml`, `presets/ad.toml`); a mapping names every key
//! it uses, and an unknown key is an error that says what to write.

use crate::correlate::{Rule, Rules};
use serde::Deserialize;
use soxctl_model::ids::{PersonId, SystemId};

/// The built-in mappings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    OpenLdap,
    Ad,
}

impl Preset {
    pub const NAMES: &'static [&'static str] = &["openldap", "ad"];

    pub fn parse(name: &str) -> Option<Preset> {
        match name {
            "openldap" => Some(Preset::OpenLdap),
            "ad" => Some(Preset::Ad),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::OpenLdap => "openldap",
            Preset::Ad => "ad",
        }
    }

    /// The preset's full text, as documented in docs/ldap.md.
    pub fn text(self) -> &'static str {
        match self {
            Preset::OpenLdap => include_str!("presets/openldap.toml"),
            Preset::Ad => include_str!("presets/ad.toml"),
        }
    }

    pub fn mapping(self) -> Result<Mapping, MappingError> {
        Mapping::parse(self.text(), &format!("the {} preset", self.name()))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct MappingError {
    source_name: String,
    message: String,
}

impl MappingError {
    fn new(source_name: &str, message: impl Into<String>) -> Self {
        Self {
            source_name: source_name.to_owned(),
            message: message.into(),
        }
    }
}

const SEE: &str = "see the mapping reference in docs/ldap.md, or start from `soxctl sync ldap --preset openldap|ad --show-mapping`";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub system: SystemMapping,
    #[serde(default)]
    pub directory: DirectoryMapping,
    pub users: UserMapping,
    pub groups: GroupMapping,
    /// People from the user entries; absent: the sync makes no people.
    pub people: Option<PeopleMapping>,
    #[serde(default, rename = "correlate")]
    correlate: Option<Vec<Rule>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemMapping {
    pub id: SystemId,
    pub name: String,
    pub kind: Option<String>,
    #[serde(default = "yes")]
    pub sox_in_scope: bool,
    pub owner_id: Option<PersonId>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryMapping {
    pub url: Option<String>,
    pub base: Option<String>,
    pub bind_dn: Option<String>,
    #[serde(default)]
    pub starttls: bool,
    pub ca_file: Option<std::path::PathBuf>,
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

impl Default for DirectoryMapping {
    fn default() -> Self {
        Self {
            url: None,
            base: None,
            bind_dn: None,
            starttls: false,
            ca_file: None,
            page_size: default_page_size(),
            timeout_seconds: default_timeout(),
        }
    }
}

fn default_page_size() -> u32 {
    500
}

fn default_timeout() -> u64 {
    60
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserMapping {
    #[serde(default)]
    pub base: String,
    pub filter: String,
    pub account_id: String,
    pub email: Option<String>,
    /// Default: the account_id attribute.
    pub login: Option<String>,
    pub display_name: Option<String>,
    pub employee_id: Option<String>,
    pub disabled: Option<Condition>,
    pub last_logon: Option<LastLogon>,
    /// Accounts matching it are service accounts; the others are human.
    pub service: Option<Condition>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMapping {
    #[serde(default)]
    pub base: String,
    pub filter: String,
    pub entitlement_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// The group's attribute listing its members' DNs.
    pub members: Option<String>,
    /// The user's attribute listing the DNs of its groups.
    pub member_of: Option<String>,
    #[serde(default)]
    pub privileged: Vec<String>,
    #[serde(default)]
    pub nested: Nested,
}

/// What a group that is a member of another group means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nested {
    /// A member of a nested group holds the enclosing groups too, as the
    /// directory itself grants access (AD's token groups, LDAP ACLs on
    /// nested groups).
    #[default]
    Expand,
    /// Only direct members hold a group.
    Ignore,
}

/// The people the user entries describe: a user with a person id is a
/// person, and its account is that person's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeopleMapping {
    /// The attribute holding the person id: `employeeID`, `employeeNumber`.
    pub person_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    /// The attribute holding the DN of the user's manager (`manager`).
    pub manager: Option<String>,
    #[serde(default)]
    pub disabled: WhenDisabled,
    #[serde(default)]
    pub existing: Existing,
}

/// What a disabled user (`users.disabled`) says of its person.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenDisabled {
    /// Nothing: an account is disabled for many reasons besides a leaver.
    #[default]
    Ignore,
    Leave,
    Terminated,
}

/// What the sync does to a person the store already holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Existing {
    /// Leave it as it is (HR's record stays HR's); only link its accounts.
    #[default]
    Keep,
    /// Set its mapped fields from the directory, keeping the others.
    Update,
}

/// A test on one attribute of an entry: present, equal to a value
/// (case-insensitively), or an integer with a bit set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub attribute: String,
    pub present: Option<bool>,
    pub equals: Option<String>,
    pub bit: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test<'a> {
    Present(bool),
    Equals(&'a str),
    Bit(u64),
}

impl Condition {
    pub fn test(&self) -> Test<'_> {
        match (&self.present, &self.equals, self.bit) {
            (_, Some(value), _) => Test::Equals(value),
            (_, None, Some(bit)) => Test::Bit(bit),
            (present, None, None) => Test::Present(present.unwrap_or(true)),
        }
    }

    fn check(&self, key: &str) -> Result<(), String> {
        let given = [
            self.present.is_some(),
            self.equals.is_some(),
            self.bit.is_some(),
        ]
        .into_iter()
        .filter(|g| *g)
        .count();
        if given != 1 {
            return Err(format!(
                "{key} needs exactly one test: {key} = {{ attribute = \"userAccountControl\", bit = 2 }}, \
                 {{ attribute = \"pwdAccountLockedTime\", present = true }} or {{ attribute = \"nsAccountLock\", equals = \"TRUE\" }}"
            ));
        }
        if let Some(bit) = self.bit
            && !bit.is_power_of_two()
        {
            return Err(format!(
                "{key}.bit = {bit} is not a single bit: give its value (2 for 0x2, 16 for 0x10)"
            ));
        }
        check_attribute(&format!("{key}.attribute"), &self.attribute)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// Windows FILETIME: 100 ns ticks since 1601-01-01 UTC (AD's lastLogonTimestamp).
    Filetime,
    /// LDAP GeneralizedTime (RFC 4517), e.g. 20260330081200Z.
    GeneralizedTime,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastLogon {
    pub attribute: String,
    pub format: TimeFormat,
}

/// An attribute description: a name (letters, digits, '-') or an OID.
fn check_attribute(key: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ';');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{key} = {name:?} is not an LDAP attribute name: give one such as \"mail\" or \"sAMAccountName\""
        ))
    }
}

fn check_filter(key: &str, filter: &str) -> Result<(), String> {
    ldap3::parse_filter(filter).map(drop).map_err(|_| {
        format!(
            "{key} = {filter:?} is not an LDAP search filter (RFC 4515): write one such as \"(objectClass=inetOrgPerson)\""
        )
    })
}

impl Mapping {
    /// Parses and checks a mapping; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Mapping, MappingError> {
        let mapping: Mapping = toml::from_str(text).map_err(|e| {
            MappingError::new(source_name, format!("{}; {SEE}", e.to_string().trim_end()))
        })?;
        mapping
            .check()
            .map_err(|m| MappingError::new(source_name, format!("{m}; {SEE}")))?;
        Ok(mapping)
    }

    fn check(&self) -> Result<(), String> {
        let u = &self.users;
        let g = &self.groups;
        check_filter("users.filter", &u.filter)?;
        check_filter("groups.filter", &g.filter)?;
        check_attribute("users.account_id", &u.account_id)?;
        for (key, value) in [
            ("users.email", &u.email),
            ("users.login", &u.login),
            ("users.display_name", &u.display_name),
            ("users.employee_id", &u.employee_id),
            ("groups.name", &g.name),
            ("groups.description", &g.description),
            ("groups.members", &g.members),
            ("groups.member_of", &g.member_of),
        ] {
            if let Some(name) = value {
                check_attribute(key, name)?;
            }
        }
        check_attribute("groups.entitlement_id", &g.entitlement_id)?;
        if let Some(c) = &u.disabled {
            c.check("users.disabled")?;
        }
        if let Some(c) = &u.service {
            c.check("users.service")?;
        }
        if let Some(l) = &u.last_logon {
            check_attribute("users.last_logon.attribute", &l.attribute)?;
        }
        match (&g.members, &g.member_of) {
            (Some(_), Some(_)) => {
                return Err(
                    "groups.members and groups.member_of are both set: membership comes from one of them \
                     (members = \"member\" on groups, or member_of = \"memberOf\" on users)"
                        .into(),
                );
            }
            (None, None) => {
                return Err(
                    "groups needs members = \"member\" (the group lists its members) \
                     or member_of = \"memberOf\" (the user lists its groups)"
                        .into(),
                );
            }
            _ => {}
        }
        if let Some(p) = &self.people {
            check_attribute("people.person_id", &p.person_id)?;
            for (key, value) in [
                ("people.name", &p.name),
                ("people.email", &p.email),
                ("people.department", &p.department),
                ("people.title", &p.title),
                ("people.manager", &p.manager),
            ] {
                if let Some(name) = value {
                    check_attribute(key, name)?;
                }
            }
            if p.disabled != WhenDisabled::Ignore && u.disabled.is_none() {
                return Err(
                    "people.disabled needs users.disabled, the test that says a user is disabled \
                     (e.g. disabled = { attribute = \"userAccountControl\", bit = 2 })"
                        .into(),
                );
            }
        }
        if self.directory.timeout_seconds == 0 {
            return Err("directory.timeout_seconds must be at least 1".into());
        }
        if i32::try_from(self.directory.page_size).is_err() {
            return Err("directory.page_size is too large: AD serves at most 1000 per page".into());
        }
        if self.correlate.as_ref().is_some_and(Vec::is_empty) {
            return Err("correlate is empty: write [[correlate]] tables".into());
        }
        Ok(())
    }

    /// The correlation rules: the mapping's `[[correlate]]` tables, or by email.
    pub fn correlation(&self) -> Rules {
        match &self.correlate {
            Some(rules) => Rules {
                rules: rules.clone(),
            },
            None => Rules::default(),
        }
    }

    /// Whether `entitlement_id` is named by `groups.privileged` (names or
    /// globs with `*` and `?`, case-insensitive).
    pub fn is_privileged(&self, entitlement_id: &str) -> bool {
        self.groups
            .privileged
            .iter()
            .any(|pattern| glob_match(&pattern.to_lowercase(), &entitlement_id.to_lowercase()))
    }
}

/// `*` matches any run of characters, `?` one character.
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
    use super::*;

    #[test]
    fn both_presets_parse() {
        let openldap = Preset::OpenLdap.mapping().unwrap();
        assert_eq!(openldap.system.id.as_str(), "ldap");
        assert_eq!(openldap.users.account_id, "uid");
        assert_eq!(openldap.groups.members.as_deref(), Some("member"));
        let ad = Preset::Ad.mapping().unwrap();
        assert_eq!(ad.system.id.as_str(), "ad");
        assert_eq!(ad.users.account_id, "sAMAccountName");
        assert_eq!(ad.groups.member_of.as_deref(), Some("memberOf"));
        let disabled = ad.users.disabled.as_ref().unwrap();
        assert_eq!(disabled.test(), Test::Bit(2));
        assert_eq!(
            ad.users.last_logon.as_ref().unwrap().format,
            TimeFormat::Filetime
        );
        assert_eq!(ad.correlation().rules.len(), 2);
        assert!(ad.is_privileged("domain admins"));
        assert!(ad.is_privileged("erp-admins"));
        assert!(!ad.is_privileged("Domain Users"));
        assert_eq!(ad.groups.nested, Nested::Expand);
        assert!(ad.people.is_none() && openldap.people.is_none());
    }

    /// The `[people]` example of each preset, uncommented.
    fn with_people(preset: Preset) -> String {
        soxctl_testkit::with_people_example(preset.text())
    }

    #[test]
    fn the_presets_people_examples_parse() {
        let ad = Mapping::parse(&with_people(Preset::Ad), "ad").unwrap();
        let people = ad.people.unwrap();
        assert_eq!(people.person_id, "employeeID");
        assert_eq!(people.manager.as_deref(), Some("manager"));
        assert_eq!(people.disabled, WhenDisabled::Ignore);
        assert_eq!(people.existing, Existing::Keep);
        let openldap = Mapping::parse(&with_people(Preset::OpenLdap), "openldap").unwrap();
        assert_eq!(openldap.people.unwrap().person_id, "employeeNumber");
    }

    #[test]
    fn unknown_keys_say_what_to_write() {
        let text = Preset::OpenLdap
            .text()
            .replace("email = \"mail\"", "mial = \"mail\"");
        let err = Mapping::parse(&text, "m.toml").unwrap_err().to_string();
        assert!(err.starts_with("m.toml: "), "{err}");
        assert!(err.contains("unknown field `mial`"), "{err}");
        assert!(err.contains("`email`"), "{err}");
        assert!(err.contains("docs/ldap.md"), "{err}");
        let text = Preset::Ad
            .text()
            .replace("# [people]\n# person_id", "[people]\nperson_ID");
        let err = Mapping::parse(&text, "m.toml").unwrap_err().to_string();
        assert!(err.contains("unknown field `person_ID`"), "{err}");
        assert!(err.contains("`person_id`"), "{err}");
        let text = Preset::OpenLdap
            .text()
            .replace("nested = \"expand\"", "nested = \"flatten\"");
        let err = Mapping::parse(&text, "m.toml").unwrap_err().to_string();
        assert!(
            err.contains("`expand`") && err.contains("`ignore`"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_are_explained() {
        let cases = [
            (
                "disabled = { attribute = \"pwdAccountLockedTime\", present = true }",
                "disabled = { attribute = \"x\", present = true, bit = 2 }",
                "needs exactly one test",
            ),
            (
                "disabled = { attribute = \"pwdAccountLockedTime\", present = true }",
                "disabled = { attribute = \"userAccountControl\", bit = 3 }",
                "not a single bit",
            ),
            (
                "filter = \"(objectClass=inetOrgPerson)\"",
                "filter = \"objectClass=inetOrgPerson(\"",
                "not an LDAP search filter",
            ),
            (
                "members = \"member\"",
                "members = \"member\"\nmember_of = \"memberOf\"",
                "both set",
            ),
            ("members = \"member\"", "", "needs members"),
            (
                "account_id = \"uid\"",
                "account_id = \"u id\"",
                "not an LDAP attribute name",
            ),
            ("id = \"ldap\"", "id = \"a:b\"", "must not contain ':'"),
        ];
        for (from, to, expect) in cases {
            let text = Preset::OpenLdap.text().replacen(from, to, 1);
            assert_ne!(text, Preset::OpenLdap.text(), "{from}");
            let err = Mapping::parse(&text, "m.toml").unwrap_err().to_string();
            assert!(err.contains(expect), "{to}: {err}");
        }
        let text = Preset::OpenLdap
            .text()
            .replace(
                "format = \"generalized_time\" }\n# service",
                "format = \"unix\" }\n# service",
            )
            .replace("# last_logon", "last_logon");
        let err = Mapping::parse(&text, "m.toml").unwrap_err().to_string();
        assert!(
            err.contains("filetime") && err.contains("generalized_time"),
            "{err}"
        );
    }

    #[test]
    fn the_docs_show_both_presets_in_full() {
        let docs = include_str!("../../../../docs/ldap.md");
        for preset in [Preset::OpenLdap, Preset::Ad] {
            assert!(
                docs.contains(preset.text()),
                "docs/ldap.md must show the {} preset as it is",
                preset.name()
            );
        }
    }

    #[test]
    fn globs_match_whole_names() {
        assert!(glob_match("*-admins", "erp-admins"));
        assert!(!glob_match("*-admins", "erp-admins-old"));
        assert!(glob_match("a?c*", "abcdef"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("admins", "sysadmins"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
    }
}
