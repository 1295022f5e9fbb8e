//! `soxctl sync ldap` against a real OpenLDAP `slapd` started per test
//! (soxctl_testkit::slapd), with an AD-like schema for the AD preset. The
//! tests fail, never skip, when slapd is missing: run ./test.sh. This file
//! holds the fixtures the `ldap_*` siblings share, and the account sync.
use crate::helpers::{Run, Sandbox};
use serde_json::Value;
use soxctl_testkit::{ROOT_PASSWORD, Slapd};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub(crate) const OPENLDAP_SUFFIX: &str = "dc=example,dc=org";
pub(crate) const AD_SUFFIX: &str = "dc=corp,dc=example,dc=com";

pub(crate) fn server(suffix: &str, ldif: &str) -> Slapd {
    let server = soxctl_testkit::slapd(suffix).unwrap_or_else(|e| panic!("throw-away slapd: {e}"));
    server
        .apply(ldif)
        .unwrap_or_else(|e| panic!("loading the test directory: {e}"));
    server
}

/// `extra` LDIF lines, newline-terminated, then the blank line ending a record.
pub(crate) fn lines(extra: &str) -> String {
    if extra.is_empty() {
        "\n".into()
    } else {
        format!("{extra}\n\n")
    }
}

/// Users ada, bob, carol and dave under ou=people; groups admins, readers
/// and writers under ou=groups (groupOfNames), one member DN that is no user.
pub(crate) fn openldap_directory() -> String {
    let s = OPENLDAP_SUFFIX;
    let user = |uid: &str, cn: &str, mail: &str, extra: &str| {
        format!(
            "dn: uid={uid},ou=people,{s}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\nsn: {cn}\nmail: {mail}\n{}",
            lines(extra)
        )
    };
    let group = |cn: &str, members: &[&str], extra: &str| {
        let members: String = members.iter().map(|m| format!("member: {m}\n")).collect();
        format!(
            "dn: cn={cn},ou=groups,{s}\nobjectClass: groupOfNames\ncn: {cn}\n{members}{}",
            lines(extra)
        )
    };
    [
        format!("dn: ou=people,{s}\nobjectClass: organizationalUnit\nou: people\n\n"),
        format!("dn: ou=groups,{s}\nobjectClass: organizationalUnit\nou: groups\n\n"),
        user("ada", "Ada Byron", "ada@example.com", "employeeNumber: E1"),
        user("bob", "Bob Smith", "Bob@Example.com", ""),
        user("carol", "Carol Jones", "carol@contractor.example.net", ""),
        user("dave", "Dave Null", "dave@example.com", ""),
        group(
            "admins",
            &[&format!("uid=ada,ou=people,{s}")],
            "description: Full administration",
        ),
        group(
            "readers",
            &[
                &format!("uid=ada,ou=people,{s}"),
                &format!("UID=Bob, ou=People,{s}"),
                &format!("uid=carol,ou=people,{s}"),
                &format!("uid=dave,ou=people,{s}"),
                &format!("uid=ghost,ou=people,{s}"),
            ],
            "",
        ),
        group(
            "writers",
            &[
                &format!("uid=ada,ou=people,{s}"),
                &format!("uid=dave,ou=people,{s}"),
            ],
            "",
        ),
    ]
    .concat()
}

/// An AD-shaped directory (user/group objects, memberOf from the overlay).
pub(crate) fn ad_directory() -> String {
    let s = AD_SUFFIX;
    let user = |sam: &str, cn: &str, extra: &str| {
        format!(
            "dn: cn={cn},ou=Staff,{s}\nobjectClass: inetOrgPerson\nobjectClass: user\nobjectCategory: person\n\
             cn: {cn}\nsn: {cn}\ndisplayName: {cn}\nsAMAccountName: {sam}\n{}",
            lines(extra)
        )
    };
    let group = |cn: &str, members: &[&str]| {
        let members: String = members
            .iter()
            .map(|m| format!("member: cn={m},ou=Staff,{s}\n"))
            .collect();
        format!(
            "dn: cn={cn},ou=Groups,{s}\nobjectClass: groupOfNames\nobjectClass: group\nobjectCategory: group\ncn: {cn}\n{members}\n"
        )
    };
    [
        format!("dn: ou=Staff,{s}\nobjectClass: organizationalUnit\nou: Staff\n\n"),
        format!("dn: ou=Groups,{s}\nobjectClass: organizationalUnit\nou: Groups\n\n"),
        // Disabled (514 = NORMAL_ACCOUNT | ACCOUNTDISABLE), last logon 2024-04-18T16:00:00.123456Z.
        user(
            "ABYRON",
            "Ada Byron",
            "mail: ada@example.com\nuserPrincipalName: abyron@corp.example.com\n\
             userAccountControl: 514\nlastLogonTimestamp: 133579296001234567\nemployeeID: E1",
        ),
        // No mail: linked by the login rule (userPrincipalName = the person's email).
        user(
            "BSMITH",
            "Bob Smith",
            "userPrincipalName: bob@example.com\nuserAccountControl: 512\nlastLogonTimestamp: 0",
        ),
        // A service account (has a servicePrincipalName).
        user(
            "svc-backup",
            "Backup Service",
            "mail: backup@example.com\nuserAccountControl: 66048\nservicePrincipalName: HOST/backup01",
        ),
        // A human account nobody in HR owns: an orphan.
        user(
            "TEMP01",
            "Temp Contractor",
            "mail: temp01@agency.example.net\nuserAccountControl: 512",
        ),
        group("Domain Admins", &["Ada Byron"]),
        group("Finance-Readers", &["Ada Byron", "Bob Smith", "Temp Contractor"]),
        group("Backup Operators", &["Backup Service"]),
    ]
    .concat()
}

/// A snapshot holding only HR people: Ada (E1) and Bob (E2).
fn people_snapshot(sb: &Sandbox) -> PathBuf {
    let dir = sb.path("hr");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("people.csv"),
        "person_id,name,email,manager_id,department,title,status,hire_date,termination_date\n\
         E1,Ada Byron,ada@example.com,,Finance,Controller,active,2020-01-06,\n\
         E2,Bob Smith,bob@example.com,,Finance,Clerk,active,2021-03-01,\n",
    )
    .unwrap();
    dir
}

/// `sync ldap` with the server's URL and base, binding as its rootdn with
/// the password in a file, and `extra` arguments.
pub(crate) fn sync(sb: &Sandbox, server: &Slapd, store: &[OsString], extra: &[&str]) -> Run {
    sync_at(sb, &server.url(), server, store, extra)
}

/// [`sync`] with another URL for the same server (ldaps://).
pub(crate) fn sync_at(
    sb: &Sandbox,
    url: &str,
    server: &Slapd,
    store: &[OsString],
    extra: &[&str],
) -> Run {
    let password = sb.path("bind-password");
    std::fs::write(&password, format!("{ROOT_PASSWORD}\n")).unwrap();
    let mut a = args![
        "sync",
        "ldap",
        "--url",
        url,
        "--base",
        server.suffix(),
        "--bind-dn",
        server.root_dn(),
        "--bind-password-file",
        &password,
        "--format",
        "json"
    ];
    a.extend(store.iter().cloned());
    a.extend(extra.iter().map(OsString::from));
    sb.run(a)
}

pub(crate) fn sqlite(data: &Path) -> Vec<OsString> {
    args!["--data", data]
}

/// The store's ledger, exported and parsed: one JSON value per entry.
pub(crate) fn ledger(sb: &Sandbox, store: &[OsString], name: &str) -> Vec<Value> {
    let out = sb.path(name);
    let mut a = args!["export", "ledger", "--out", &out];
    a.extend(store.iter().cloned());
    sb.run(a).ok();
    std::fs::read_to_string(out.join("entries.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The sync's entries from `from` on, as (type, payload): the findings its
/// detectors record after it are left out (the findings tests cover them).
pub(crate) fn events_from(entries: &[Value], from: usize) -> Vec<(String, Value)> {
    entries[from..]
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["payload"].clone()))
        .filter(|(kind, _)| !kind.starts_with("finding."))
        .collect()
}

pub(crate) fn types(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(t, _)| t.as_str()).collect()
}

/// The payload's account of the `account.*` event for `id`.
pub(crate) fn account<'a>(events: &'a [(String, Value)], kind: &str, id: &str) -> &'a Value {
    events
        .iter()
        .find(|(t, p)| t == kind && p["account"]["account_id"] == id)
        .map(|(_, p)| &p["account"])
        .unwrap_or_else(|| panic!("no {kind} for {id} in {events:#?}"))
}

/// (account, entitlement) of every `grant.*` event of `kind`, sorted.
pub(crate) fn grants(events: &[(String, Value)], kind: &str) -> Vec<(String, String)> {
    let mut g: Vec<(String, String)> = events
        .iter()
        .filter(|(t, _)| t == kind)
        .map(|(_, p)| {
            (
                p["grant"]["account_id"].as_str().unwrap().to_owned(),
                p["grant"]["entitlement_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    g.sort();
    g
}

pub(crate) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// Where a test's store lives: every test of a stored outcome runs on both.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// `mod $name { sqlite, postgres }` test pairs for `fn $name(Backend)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(super::Backend::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$name(super::Backend::Postgres)
            }
        }
    )*};
}
pub(crate) use on_both_backends;

/// The store arguments of a fresh store on `backend`.
pub(crate) fn store_on(sb: &Sandbox, backend: Backend) -> Vec<OsString> {
    match backend {
        Backend::Sqlite => sqlite(&sb.path("data")),
        Backend::Postgres => {
            let url = soxctl_testkit::postgres()
                .expect("throw-away PostgreSQL")
                .fresh_database()
                .expect("fresh database");
            std::fs::create_dir_all(sb.path("keys")).unwrap();
            let key = sb.path("keys").join("signing.key");
            args!["--database", &url, "--signing-key", &key]
        }
    }
}

pub(crate) fn verify_ok(sb: &Sandbox, store: &[OsString]) {
    let mut a = args!["verify", "--format", "json"];
    a.extend(store.iter().cloned());
    let report = sb.run(a).ok().json();
    assert_eq!(report["ok"], true, "{report}");
}

#[test]
fn ldap_openldap_preset_syncs_accounts_groups_and_grants_linked_to_hr_people() {
    let server = server(OPENLDAP_SUFFIX, &openldap_directory());
    let sb = Sandbox::new();
    let data = sb.path("data");
    let store = sqlite(&data);
    sb.import(&people_snapshot(&sb), &data);
    let before = ledger(&sb, &store, "before").len();

    // A dry run lists the changes and records nothing.
    let dry = sync(&sb, &server, &store, &["--dry-run"]);
    dry.ok().stderr_has(&["nothing recorded"]);
    assert_eq!(ledger(&sb, &store, "after-dry").len(), before);

    let run = sync(&sb, &server, &store, &[]);
    run.ok().stderr_has(&[
        "read 4 users and 3 groups",
        // The member DN that is no user: a warning, not an error.
        "uid=ghost,ou=people,dc=example,dc=org",
        "not users of the user search",
        // The orphan is named, with its display name.
        "carol (Carol Jones)",
    ]);
    let summary = run.json();
    assert_eq!(summary["systems"], serde_json::json!(["ldap"]), "{summary}");
    assert_eq!(summary["new_baselines"], serde_json::json!(["ldap"]));
    assert_eq!(
        summary["source"],
        format!("{}/{OPENLDAP_SUFFIX}", server.url())
    );
    assert_eq!(summary["removed"], 0);

    let entries = ledger(&sb, &store, "after");
    let events = events_from(&entries, before);
    let t = types(&events);
    assert_eq!(t.iter().filter(|t| **t == "system.added").count(), 1);
    assert_eq!(t.iter().filter(|t| **t == "entitlement.added").count(), 3);
    assert_eq!(t.iter().filter(|t| **t == "account.added").count(), 4);
    assert_eq!(
        t.iter().filter(|t| **t == "person.added").count(),
        0,
        "the directory is not HR"
    );
    assert_eq!(t[t.len() - 2..], ["system.baselined", "import.completed"]);
    assert_eq!(summary["events"], events.len());

    let system = &events.iter().find(|(t, _)| t == "system.added").unwrap().1["system"];
    assert_eq!(
        (&system["system_id"], &system["name"], &system["kind"]),
        (
            &serde_json::json!("ldap"),
            &serde_json::json!("OpenLDAP directory"),
            &serde_json::json!("directory")
        )
    );
    // Correlation by email, case-insensitively; carol is in no HR record.
    assert_eq!(account(&events, "account.added", "ada")["person_id"], "E1");
    assert_eq!(account(&events, "account.added", "bob")["person_id"], "E2");
    assert_eq!(
        account(&events, "account.added", "carol")["person_id"],
        Value::Null
    );
    assert_eq!(
        account(&events, "account.added", "dave")["person_id"],
        Value::Null
    );
    let ada = account(&events, "account.added", "ada");
    assert_eq!(
        (&ada["kind"], &ada["status"]),
        (&serde_json::json!("human"), &serde_json::json!("active"))
    );

    let admins = events
        .iter()
        .find(|(t, p)| t == "entitlement.added" && p["entitlement"]["entitlement_id"] == "admins")
        .map(|(_, p)| &p["entitlement"])
        .unwrap();
    assert_eq!(admins["privileged"], true, "{admins}");
    assert_eq!(admins["description"], "Full administration");
    assert!(events.iter().any(|(t, p)| t == "entitlement.added"
        && p["entitlement"]["entitlement_id"] == "readers"
        && p["entitlement"]["privileged"] == false));
    assert_eq!(
        grants(&events, "grant.added"),
        pairs(&[
            ("ada", "admins"),
            ("ada", "readers"),
            ("ada", "writers"),
            ("bob", "readers"),
            ("carol", "readers"),
            ("dave", "readers"),
            ("dave", "writers"),
        ])
    );
    // Every entry verifies.
    let report = sb
        .run(args!["verify", "--data", &data, "--format", "json"])
        .ok()
        .json();
    assert_eq!(report["ok"], true, "{report}");
}

#[test]
fn ldap_ad_preset_maps_disabled_flag_filetime_logons_sam_names_and_member_of() {
    let server = server(AD_SUFFIX, &ad_directory());
    let sb = Sandbox::new();
    let data = sb.path("data");
    let store = sqlite(&data);
    sb.import(&people_snapshot(&sb), &data);
    let before = ledger(&sb, &store, "before").len();

    let run = sync(&sb, &server, &store, &["--preset", "ad"]);
    run.ok()
        .stderr_has(&["read 4 users and 3 groups", "TEMP01 (Temp Contractor)"]);
    assert_eq!(run.json()["systems"], serde_json::json!(["ad"]));
    let events = events_from(&ledger(&sb, &store, "after"), before);

    let ada = account(&events, "account.added", "ABYRON");
    assert_eq!(ada["status"], "disabled", "userAccountControl 514: {ada}");
    assert_eq!(ada["last_login"], "2024-04-18T16:00:00.123456Z", "{ada}");
    assert_eq!(ada["person_id"], "E1");
    assert_eq!(ada["kind"], "human");
    let bob = account(&events, "account.added", "BSMITH");
    assert_eq!(bob["status"], "active");
    assert_eq!(
        bob["last_login"],
        Value::Null,
        "lastLogonTimestamp 0 is never"
    );
    assert_eq!(bob["person_id"], "E2", "linked by userPrincipalName: {bob}");
    let svc = account(&events, "account.added", "svc-backup");
    assert_eq!(svc["kind"], "service");
    assert_eq!(svc["person_id"], Value::Null);
    assert_eq!(
        account(&events, "account.added", "TEMP01")["person_id"],
        Value::Null
    );

    assert_eq!(
        grants(&events, "grant.added"),
        pairs(&[
            ("ABYRON", "Domain Admins"),
            ("ABYRON", "Finance-Readers"),
            ("BSMITH", "Finance-Readers"),
            ("TEMP01", "Finance-Readers"),
            ("svc-backup", "Backup Operators"),
        ])
    );
    let privileged = |id: &str| {
        events
            .iter()
            .find(|(t, p)| t == "entitlement.added" && p["entitlement"]["entitlement_id"] == id)
            .map(|(_, p)| p["entitlement"]["privileged"].clone())
            .unwrap()
    };
    assert_eq!(privileged("Domain Admins"), true);
    assert_eq!(privileged("Backup Operators"), true);
    assert_eq!(privileged("Finance-Readers"), false);
}

#[test]
fn ldap_resync_records_nothing_then_exactly_the_movers_and_leavers_changes() {
    let server = server(OPENLDAP_SUFFIX, &openldap_directory());
    let sb = Sandbox::new();
    let data = sb.path("data");
    let store = sqlite(&data);
    sync(&sb, &server, &store, &[]).ok();
    let size = ledger(&sb, &store, "first").len();

    // Nothing changed in the directory: nothing recorded.
    let again = sync(&sb, &server, &store, &[]).ok().json();
    assert_eq!(
        (
            &again["events"],
            &again["added"],
            &again["changed"],
            &again["removed"]
        ),
        (
            &serde_json::json!(0),
            &serde_json::json!(0),
            &serde_json::json!(0),
            &serde_json::json!(0)
        ),
        "{again}"
    );
    assert_eq!(ledger(&sb, &store, "second").len(), size);

    // A mover: bob leaves readers and joins writers.
    let s = OPENLDAP_SUFFIX;
    server
        .apply(&format!(
            "dn: cn=readers,ou=groups,{s}\nchangetype: modify\ndelete: member\nmember: UID=Bob, ou=People,{s}\n\n\
             dn: cn=writers,ou=groups,{s}\nchangetype: modify\nadd: member\nmember: uid=bob,ou=people,{s}\n"
        ))
        .unwrap();
    sync(&sb, &server, &store, &[]).ok();
    let entries = ledger(&sb, &store, "mover");
    let events = events_from(&entries, size);
    assert_eq!(
        types(&events),
        ["grant.added", "grant.removed", "import.completed"]
    );
    assert_eq!(grants(&events, "grant.added"), pairs(&[("bob", "writers")]));
    assert_eq!(
        grants(&events, "grant.removed"),
        pairs(&[("bob", "readers")])
    );
    let size = entries.len();

    // A leaver: dave is deleted (the groups still name his DN: a warning).
    server
        .apply(&format!("dn: uid=dave,ou=people,{s}\nchangetype: delete\n"))
        .unwrap();
    // Two of the seven grants go: more than the default 20 % guard allows.
    sync(&sb, &server, &store, &[])
        .code(2)
        .stderr_has(&["would remove 2 of the 7 grants", "--max-removals"]);
    assert_eq!(
        ledger(&sb, &store, "refused").len(),
        size,
        "a refused sync records nothing"
    );
    let run = sync(&sb, &server, &store, &["--max-removals", "30"]);
    run.ok().stderr_has(&["uid=dave,ou=people"]);
    let events = events_from(&ledger(&sb, &store, "leaver"), size);
    assert_eq!(
        types(&events),
        [
            "grant.removed",
            "grant.removed",
            "account.removed",
            "import.completed"
        ]
    );
    assert_eq!(
        grants(&events, "grant.removed"),
        pairs(&[("dave", "readers"), ("dave", "writers")])
    );
    assert_eq!(
        account(&events, "account.removed", "dave")["account_id"],
        "dave"
    );
}
