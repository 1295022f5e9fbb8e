//! Reading the directory: connect (ldap://, ldaps:// or StartTLS, through
//! rustls), bind (simple, or anonymous), then one paged subtree search for
//! users and one for groups, asking only for the mapped attributes, then
//! the rest of any attribute the server returned in ranges (AD).

use super::mapping::{Mapping, Nested};
use super::{Entry, LdapError, range};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The bind password: never printed, not even by `{:?}`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Connection {
    pub url: String,
    /// `None`: an anonymous bind.
    pub bind: Option<(String, Secret)>,
    pub starttls: bool,
    /// PEM file of the CA certificates to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

/// Which search an entry count is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Users,
    Groups,
}

impl What {
    pub fn as_str(self) -> &'static str {
        match self {
            What::Users => "users",
            What::Groups => "groups",
        }
    }
}

/// The entries both searches returned.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub users: Vec<Entry>,
    pub groups: Vec<Entry>,
}

pub(super) fn check_url(url: &str) -> Result<(), LdapError> {
    let bad = |reason: &str| LdapError::BadUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = ["ldap://", "ldaps://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme))
        .ok_or_else(|| bad("the scheme must be ldap:// or ldaps://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("it names no host"));
    }
    if let Some((_, port)) = host.rsplit_once(':')
        && !host.ends_with(']')
        && port.parse::<u16>().is_err()
    {
        return Err(bad("the port is not a number from 1 to 65535"));
    }
    Ok(())
}

/// The search base of `relative` (an RDN sequence such as `ou=people`, or
/// empty) under `base`.
pub fn under(relative: &str, base: &str) -> String {
    match (relative.trim(), base.trim()) {
        ("", b) => b.to_owned(),
        (r, "") => r.to_owned(),
        (r, b) => format!("{r},{b}"),
    }
}

fn tls_config(ca_file: &std::path::Path) -> Result<Arc<rustls::ClientConfig>, LdapError> {
    let bad = |reason: String| LdapError::CaFile {
        path: ca_file.to_owned(),
        reason,
    };
    let pem = std::fs::read(ca_file).map_err(|e| bad(e.to_string()))?;
    crate::tls::client_config(Some(&pem)).map_err(bad)
}

/// The attributes to ask for, lowercase-deduplicated, in mapping order.
fn wanted(names: impl IntoIterator<Item = Option<String>>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    names
        .into_iter()
        .flatten()
        .filter(|n| seen.insert(n.to_lowercase()))
        .collect()
}

pub fn user_attributes(m: &Mapping) -> Vec<String> {
    let u = &m.users;
    wanted([
        Some(u.account_id.clone()),
        u.email.clone(),
        u.login.clone(),
        u.display_name.clone(),
        u.employee_id.clone(),
        u.disabled.as_ref().map(|c| c.attribute.clone()),
        u.last_logon.as_ref().map(|l| l.attribute.clone()),
        u.service.as_ref().map(|c| c.attribute.clone()),
        m.groups.member_of.clone(),
        m.people.as_ref().map(|p| p.person_id.clone()),
        m.people.as_ref().and_then(|p| p.name.clone()),
        m.people.as_ref().and_then(|p| p.email.clone()),
        m.people.as_ref().and_then(|p| p.department.clone()),
        m.people.as_ref().and_then(|p| p.title.clone()),
        m.people.as_ref().and_then(|p| p.manager.clone()),
    ])
}

pub fn group_attributes(m: &Mapping) -> Vec<String> {
    let g = &m.groups;
    wanted([
        Some(g.entitlement_id.clone()),
        g.name.clone(),
        g.description.clone(),
        g.members.clone(),
        // A group's own groups, for nested groups read from the member side.
        g.member_of.clone().filter(|_| g.nested == Nested::Expand),
    ])
}

/// Reads users and groups; `progress` hears of every thousand entries.
pub async fn read(
    conn: &Connection,
    mapping: &Mapping,
    base: &str,
    progress: &mut dyn FnMut(What, usize),
) -> Result<Directory, LdapError> {
    check_url(&conn.url)?;
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(conn.timeout)
        .set_starttls(conn.starttls);
    if let Some(ca) = &conn.ca_file {
        settings = settings.set_config(tls_config(ca)?);
    }
    let (driver, mut ldap) = LdapConnAsync::with_settings(settings, &conn.url)
        .await
        .map_err(|e| LdapError::connect(&conn.url, conn.starttls, e))?;
    let driver = tokio::spawn(async move {
        if let Err(e) = driver.drive().await {
            tracing::debug!(error = %e, "LDAP connection closed");
        }
    });
    if let Some((dn, password)) = &conn.bind {
        ldap.with_timeout(conn.timeout)
            .simple_bind(dn, &password.0)
            .await
            .and_then(|r| r.success())
            .map_err(|e| LdapError::bind(dn, e))?;
    }
    let users_base = under(&mapping.users.base, base);
    let groups_base = under(&mapping.groups.base, base);
    let mut users = search(
        &mut ldap,
        conn.timeout,
        mapping.directory.page_size,
        What::Users,
        &users_base,
        &mapping.users.filter,
        user_attributes(mapping),
        progress,
    )
    .await?;
    let mut groups = search(
        &mut ldap,
        conn.timeout,
        mapping.directory.page_size,
        What::Groups,
        &groups_base,
        &mapping.groups.filter,
        group_attributes(mapping),
        progress,
    )
    .await?;
    for entries in [&mut users, &mut groups] {
        range::complete(entries, async |dn, attribute, start| {
            fetch_range(&mut ldap, conn.timeout, dn, attribute, start).await
        })
        .await?;
    }
    // The data is read; a failing unbind changes nothing.
    let _ = ldap.unbind().await;
    driver.abort();
    Ok(Directory { users, groups })
}

#[allow(clippy::too_many_arguments)]
async fn search(
    ldap: &mut ldap3::Ldap,
    timeout: Duration,
    page_size: u32,
    what: What,
    base: &str,
    filter: &str,
    attributes: Vec<String>,
    progress: &mut dyn FnMut(What, usize),
) -> Result<Vec<Entry>, LdapError> {
    let failed = |e: ldap3::LdapError| LdapError::search(what, base, filter, e);
    let mut adapters: Vec<Box<dyn Adapter<'_, String, Vec<String>>>> =
        vec![Box::new(EntriesOnly::new())];
    if page_size > 0 {
        let size = i32::try_from(page_size).unwrap_or(i32::MAX);
        adapters.push(Box::new(PagedResults::new(size)));
    }
    let mut stream = ldap
        .streaming_search_with(adapters, base, Scope::Subtree, filter, attributes)
        .await
        .map_err(failed)?;
    let mut entries = Vec::new();
    loop {
        let next = tokio::time::timeout(timeout, stream.next())
            .await
            .map_err(|elapsed| failed(ldap3::LdapError::Timeout { elapsed }))?
            .map_err(failed)?;
        let Some(raw) = next else { break };
        let entry = SearchEntry::construct(raw);
        let attrs: BTreeMap<String, Vec<String>> = entry
            .attrs
            .into_iter()
            .map(|(name, values)| (name.to_lowercase(), values))
            .collect();
        entries.push(Entry {
            dn: entry.dn,
            attrs,
        });
        if entries.len() % 1000 == 0 {
            progress(what, entries.len());
        }
    }
    stream.finish().await.success().map_err(failed)?;
    Ok(entries)
}

/// The attributes of `dn` when asked for `attribute;range=start-*`.
async fn fetch_range(
    ldap: &mut ldap3::Ldap,
    timeout: Duration,
    dn: &str,
    attribute: &str,
    start: u64,
) -> Result<BTreeMap<String, Vec<String>>, LdapError> {
    // Not a search error: a failure here is about this entry (deleted
    // since the search, say), not about the search base or filter.
    let failed = |e: ldap3::LdapError| LdapError::Range {
        dn: dn.to_owned(),
        attribute: attribute.to_owned(),
        detail: format!(
            "asking for {attribute};range={start}-*: {}",
            super::describe(&e)
        ),
    };
    let (results, _) = ldap
        .with_timeout(timeout)
        .search(
            dn,
            Scope::Base,
            "(objectClass=*)",
            vec![format!("{attribute};range={start}-*")],
        )
        .await
        .and_then(|r| r.success())
        .map_err(failed)?;
    Ok(results
        .into_iter()
        .next()
        .map(|raw| {
            SearchEntry::construct(raw)
                .attrs
                .into_iter()
                .map(|(name, values)| (name.to_lowercase(), values))
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn urls_are_checked_before_connecting() {
        check_url("ldap://127.0.0.1:389").unwrap();
        check_url("ldaps://dc01.corp.example.com/").unwrap();
        check_url("ldap://[::1]:389").unwrap();
        for bad in ["http://x", "ldap://", "ldap://host:99999", "dc01:389"] {
            let err = check_url(bad).unwrap_err().to_string();
            assert!(err.contains("ldap://"), "{bad}: {err}");
        }
    }

    #[test]
    fn bases_nest() {
        assert_eq!(under("ou=people", "dc=x"), "ou=people,dc=x");
        assert_eq!(under("", "dc=x"), "dc=x");
        assert_eq!(under("ou=a", ""), "ou=a");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
