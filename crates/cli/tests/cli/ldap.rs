//! `soxctl sync ldap` against a real OpenLDAP `slapd` started per test
//! (soxctl_testkit::slapd), with an AD-like schema for the AD preset. The
//! tests fail, never skip, when slapd is missing: run ./test.sh.

use crate::helpers::{Run, Sandbox};
use serde_json::Value;
use soxctl_testkit::{ROOT_PASSWORD, Slapd};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

const OPENLDAP_SUFFIX: &str = "dc=example,dc=org";
const AD_SUFFIX: &str = "dc=corp,dc=example,dc=com";

fn server(suffix: &str, ldif: &str) -> Slapd {
    let server = soxctl_testkit::slapd(suffix).unwrap_or_else(|e| panic!("throw-away slapd: {e}"));
    server
        .apply(ldif)
        .unwrap_or_else(|e| panic!("loading the test directory: {e}"));
    server
}

/// `extra` LDIF lines, newline-terminated, then the blank line ending a record.
fn lines(extra: &str) -> String {
    if extra.is_empty() {
        "\n".into()
    } else {
        format!("{extra}\n\n")
    }
}

/// Users ada, bob, carol and dave under ou=people; groups admins, readers
/// and writers under ou=groups (groupOfNames), one member DN that is no user.
fn openldap_directory() -> String {
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
fn ad_directory() -> String {
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
fn sync(sb: &Sandbox, server: &Slapd, store: &[OsString], extra: &[&str]) -> Run {
    sync_at(sb, &server.url(), server, store, extra)
}

/// [`sync`] with another URL for the same server (ldaps://).
fn sync_at(sb: &Sandbox, url: &str, server: &Slapd, store: &[OsString], extra: &[&str]) -> Run {
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

fn sqlite(data: &Path) -> Vec<OsString> {
    args!["--data", data]
}

/// The store's ledger, exported and parsed: one JSON value per entry.
fn ledger(sb: &Sandbox, store: &[OsString], name: &str) -> Vec<Value> {
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
fn events_from(entries: &[Value], from: usize) -> Vec<(String, Value)> {
    entries[from..]
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["payload"].clone()))
        .filter(|(kind, _)| !kind.starts_with("finding."))
        .collect()
}

fn types(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(t, _)| t.as_str()).collect()
}

/// The payload's account of the `account.*` event for `id`.
fn account<'a>(events: &'a [(String, Value)], kind: &str, id: &str) -> &'a Value {
    events
        .iter()
        .find(|(t, p)| t == kind && p["account"]["account_id"] == id)
        .map(|(_, p)| &p["account"])
        .unwrap_or_else(|| panic!("no {kind} for {id} in {events:#?}"))
}

/// (account, entitlement) of every `grant.*` event of `kind`, sorted.
fn grants(events: &[(String, Value)], kind: &str) -> Vec<(String, String)> {
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

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
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

#[test]
fn ldap_bad_password_unknown_mapping_keys_and_bad_input_change_nothing() {
    let server = server(OPENLDAP_SUFFIX, &openldap_directory());
    let sb = Sandbox::new();
    let data = sb.path("data");
    let store = sqlite(&data);

    // Wrong password: exit 2, a clear message, and no store is created.
    let wrong = sb.path("wrong-password");
    std::fs::write(&wrong, "not-the-password\n").unwrap();
    let mut a = args![
        "sync",
        "ldap",
        "--url",
        server.url(),
        "--base",
        server.suffix(),
        "--bind-dn",
        server.root_dn(),
        "--bind-password-file",
        &wrong,
        "--data",
        &data
    ];
    let run = sb.run(a.clone());
    run.code(2).stderr_has(&[
        "refused the bind as 'cn=admin,dc=example,dc=org'",
        "invalidCredentials",
        "--bind-password-file",
    ]);
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(!data.exists(), "a failed sync creates no store");

    // On an existing store: nothing changes either.
    sync(&sb, &server, &store, &[]).ok();
    let size = ledger(&sb, &store, "before").len();
    sb.run(a.clone())
        .code(2)
        .stderr_has(&["invalidCredentials"]);
    assert_eq!(ledger(&sb, &store, "after").len(), size);

    // The password from the environment instead of a file.
    a.truncate(a.len() - 4);
    a.extend(args!["--data", &data, "--format", "json"]);
    let run = sb.run_with_env(
        a,
        &[("SOXCTL_LDAP_PASSWORD", std::ffi::OsStr::new(ROOT_PASSWORD))],
    );
    assert_eq!(run.ok().json()["events"], 0);

    // An unknown key in the mapping: exit 2, and what to write.
    let mapping = sb.path("mapping.toml");
    std::fs::write(
        &mapping,
        soxctl_connectors::ldap::Preset::OpenLdap
            .text()
            .replace("email = \"mail\"", "e_mail = \"mail\""),
    )
    .unwrap();
    sync(
        &sb,
        &server,
        &store,
        &["--mapping", mapping.to_str().unwrap()],
    )
    .code(2)
    .stderr_has(&[
        "mapping.toml",
        "unknown field `e_mail`",
        "`email`",
        "docs/ldap.md",
    ]);
    // A mapped attribute on no entry at all: an error naming it.
    std::fs::write(
        &mapping,
        soxctl_connectors::ldap::Preset::OpenLdap
            .text()
            .replace("email = \"mail\"", "email = \"mial\""),
    )
    .unwrap();
    sync(
        &sb,
        &server,
        &store,
        &["--mapping", mapping.to_str().unwrap()],
    )
    .code(2)
    .stderr_has(&[
        "none of the 4 user entries has the attribute 'mial'",
        "users.email",
    ]);
    // A base that does not exist, a bad URL, an unknown preset.
    let mut a = args![
        "sync",
        "ldap",
        "--url",
        server.url(),
        "--base",
        "dc=nowhere,dc=org",
        "--data",
        &data
    ];
    sb.run(a.clone())
        .code(2)
        .stderr_has(&["'ou=people,dc=nowhere,dc=org' does not exist", "--base"]);
    a[3] = "http://127.0.0.1".into();
    sb.run(a.clone())
        .code(2)
        .stderr_has(&["bad LDAP URL", "ldaps://"]);
    sb.run(args!["sync", "ldap", "--preset", "novell", "--data", &data])
        .code(2)
        .stderr_has(&["unknown preset 'novell'", "openldap or ad"]);
    // Duplicate account ids: an error naming both entries.
    server
        .apply(&format!(
            "dn: ou=more,{OPENLDAP_SUFFIX}\nobjectClass: organizationalUnit\nou: more\n\n\
             dn: uid=ADA,ou=more,{OPENLDAP_SUFFIX}\nobjectClass: inetOrgPerson\nuid: ADA\ncn: Other Ada\nsn: Ada\n"
        ))
        .unwrap();
    let mut mapping_text = soxctl_connectors::ldap::Preset::OpenLdap.text().to_owned();
    mapping_text = mapping_text.replacen("base = \"ou=people\"", "base = \"\"", 1);
    std::fs::write(&mapping, mapping_text).unwrap();
    sync(
        &sb,
        &server,
        &store,
        &["--mapping", mapping.to_str().unwrap()],
    )
    .code(2)
    .stderr_has(&["account id 'ADA' is used by two users", "uid=ADA,ou=more"]);
    assert_eq!(
        ledger(&sb, &store, "end").len(),
        size,
        "no failure wrote anything"
    );

    // The presets print in full, without connecting.
    let shown = sb.run(args!["sync", "ldap", "--preset", "ad", "--show-mapping"]);
    shown.ok();
    assert!(shown.stdout.contains("sAMAccountName"), "{shown:?}");
    // The password is no flag: --help names only the file and the variable.
    let help = sb.run(args!["sync", "ldap", "--help"]);
    help.ok();
    assert!(
        help.stdout.contains("--bind-password-file")
            && help.stdout.contains("SOXCTL_LDAP_PASSWORD")
    );
    assert!(!help.stdout.contains("--bind-password "), "{}", help.stdout);
}

#[test]
fn ldap_sync_into_postgres_is_idempotent_and_verifies() {
    let url = soxctl_testkit::postgres()
        .expect("throw-away PostgreSQL")
        .fresh_database()
        .expect("fresh database");
    let server = server(AD_SUFFIX, &ad_directory());
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("keys")).unwrap();
    let key = sb.path("keys").join("signing.key");
    let store = args!["--database", &url, "--signing-key", &key];

    let first = sync(&sb, &server, &store, &["--preset", "ad"]).ok().json();
    assert_eq!(first["new_baselines"], serde_json::json!(["ad"]), "{first}");
    let events = first["events"].as_u64().unwrap();
    // system, 3 groups, 4 accounts, 5 grants, baseline, summary.
    assert_eq!(events, 15, "{first}");
    let again = sync(&sb, &server, &store, &["--preset", "ad"]).ok().json();
    assert_eq!(again["events"], 0, "{again}");

    // A leaver in AD: the account goes, and its memberOf with it.
    server
        .apply(&format!(
            "dn: cn=Temp Contractor,ou=Staff,{AD_SUFFIX}\nchangetype: delete\n"
        ))
        .unwrap();
    let before = ledger(&sb, &store, "before").len();
    sync(
        &sb,
        &server,
        &store,
        &["--preset", "ad", "--max-removals", "50"],
    )
    .ok();
    let changes = events_from(&ledger(&sb, &store, "after"), before);
    assert_eq!(
        types(&changes),
        ["grant.removed", "account.removed", "import.completed"]
    );

    let mut verify = args!["verify", "--format", "json"];
    verify.extend(store.iter().cloned());
    let report = sb.run(verify).ok().json();
    assert_eq!(report["ok"], true, "{report}");
}

#[test]
fn ldap_tls_ldaps_and_starttls_check_the_server_against_the_ca_file() {
    let server = soxctl_testkit::slapd_with_tls(OPENLDAP_SUFFIX)
        .unwrap_or_else(|e| panic!("throw-away slapd with TLS: {e}"));
    server.apply(&openldap_directory()).unwrap();
    let sb = Sandbox::new();
    let data = sb.path("data");
    let store = sqlite(&data);
    let ldaps = server.ldaps_url().unwrap();
    let ca = server.ca_file().unwrap().to_str().unwrap().to_owned();

    // A server certificate from a CA the system does not trust: refused.
    sync_at(&sb, &ldaps, &server, &store, &[])
        .code(2)
        .stderr_has(&["cannot connect to ldaps://127.0.0.1", "certificate"]);
    assert!(!data.exists(), "nothing was read, so no store was created");

    let first = sync_at(&sb, &ldaps, &server, &store, &["--ca-file", &ca])
        .ok()
        .json();
    assert_eq!(first["added"], 15, "{first}");
    // StartTLS on the ldap:// port reads the same directory: nothing changed.
    let again = sync(&sb, &server, &store, &["--starttls", "--ca-file", &ca])
        .ok()
        .json();
    assert_eq!(again["events"], 0, "{again}");
    // StartTLS is for ldap:// only.
    sync_at(
        &sb,
        &ldaps,
        &server,
        &store,
        &["--starttls", "--ca-file", &ca],
    )
    .code(2)
    .stderr_has(&["drop --starttls"]);
}

#[test]
fn ldap_large_directories_are_read_in_pages_with_progress_on_stderr() {
    let s = OPENLDAP_SUFFIX;
    let mut ldif = format!("dn: ou=people,{s}\nobjectClass: organizationalUnit\nou: people\n\n");
    ldif.push_str(&format!(
        "dn: ou=groups,{s}\nobjectClass: organizationalUnit\nou: groups\n\n"
    ));
    for i in 0..2500 {
        ldif.push_str(&format!(
            "dn: uid=u{i:05},ou=people,{s}\nobjectClass: inetOrgPerson\nuid: u{i:05}\ncn: User {i}\nsn: User\nmail: u{i}@example.com\n\n"
        ));
    }
    ldif.push_str(&format!(
        "dn: cn=staff,ou=groups,{s}\nobjectClass: groupOfNames\ncn: staff\nmember: uid=u00007,ou=people,{s}\n\n"
    ));
    let server = server(s, &ldif);
    let sb = Sandbox::new();
    let data = sb.path("data");
    let mapping = sb.path("mapping.toml");
    let anonymous = |page_size: u32| {
        std::fs::write(
            &mapping,
            soxctl_connectors::ldap::Preset::OpenLdap
                .text()
                .replace("page_size = 500", &format!("page_size = {page_size}")),
        )
        .unwrap();
        sb.run(args![
            "sync",
            "ldap",
            "--url",
            server.url(),
            "--base",
            s,
            "--mapping",
            &mapping,
            "--data",
            &data,
            "--format",
            "json"
        ])
    };
    // Without paged results the server stops at its size limit (500, like AD's MaxPageSize).
    anonymous(0)
        .code(2)
        .stderr_has(&["sizeLimitExceeded", "directory.page_size"]);
    assert!(!data.exists());
    // Pages of 300: every user, progress on stderr, only the summary on stdout.
    let run = anonymous(300);
    run.ok().stderr_has(&[
        "read 1000 users…",
        "read 2000 users…",
        "read 2500 users and 1 groups",
        // Anonymous binds are allowed; thousands of orphans are summarised.
        "2500 human accounts of ldap link to no person",
    ]);
    let summary = run.json();
    // system, group, 2500 accounts, one grant, baseline, summary.
    assert_eq!(summary["events"], 2505, "{summary}");
}

/// Where a test's store lives: every test of a stored outcome runs on both.
#[derive(Debug, Clone, Copy)]
enum Backend {
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

/// The store arguments of a fresh store on `backend`.
fn store_on(sb: &Sandbox, backend: Backend) -> Vec<OsString> {
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

fn verify_ok(sb: &Sandbox, store: &[OsString]) {
    let mut a = args!["verify", "--format", "json"];
    a.extend(store.iter().cloned());
    let report = sb.run(a).ok().json();
    assert_eq!(report["ok"], true, "{report}");
}

/// The payload's person of the `person.*` events, by person id.
fn people_events<'a>(events: &'a [(String, Value)], kind: &str) -> Vec<(&'a str, &'a Value)> {
    events
        .iter()
        .filter(|(t, _)| t == kind)
        .map(|(_, p)| (p["person"]["person_id"].as_str().unwrap(), p))
        .collect()
}

/// An AD-shaped directory whose users carry HR data: Ada (E1) manages Bob
/// (E2), who manages Carol (E3); TEMP01 has no employeeID; the service
/// account has one but is no person.
fn ad_people_directory() -> String {
    let s = AD_SUFFIX;
    let user = |sam: &str, cn: &str, extra: &str| {
        format!(
            "dn: cn={cn},ou=Staff,{s}\nobjectClass: inetOrgPerson\nobjectClass: user\nobjectCategory: person\n\
             cn: {cn}\nsn: {cn}\ndisplayName: {cn}\nsAMAccountName: {sam}\nuserAccountControl: 512\n{}",
            lines(extra)
        )
    };
    [
        format!("dn: ou=Staff,{s}\nobjectClass: organizationalUnit\nou: Staff\n\n"),
        format!("dn: ou=Groups,{s}\nobjectClass: organizationalUnit\nou: Groups\n\n"),
        user(
            "ABYRON",
            "Ada Byron",
            "mail: ada@example.com\nemployeeID: E1\ndepartment: FIN\ntitle: Head of Finance",
        ),
        user(
            "BSMITH",
            "Bob Smith",
            &format!(
                "mail: bob@example.com\nemployeeID: E2\ndepartment: Finance\ntitle: Clerk\n\
                 manager: CN=Ada Byron, OU=Staff,{s}"
            ),
        ),
        user(
            "CJONES",
            "Carol Jones",
            &format!(
                "mail: carol@example.com\nemployeeID: E3\ndepartment: Treasury\n\
                 manager: cn=Bob Smith,ou=Staff,{s}"
            ),
        ),
        user(
            "TEMP01",
            "Temp Contractor",
            "mail: temp01@agency.example.net",
        ),
        user(
            "svc-backup",
            "Backup Service",
            "employeeID: S1\nservicePrincipalName: HOST/backup01",
        ),
        format!(
            "dn: cn=Finance-Readers,ou=Groups,{s}\nobjectClass: groupOfNames\nobjectClass: group\n\
             cn: Finance-Readers\n{}\n",
            ["Ada Byron", "Bob Smith", "Carol Jones", "Temp Contractor"]
                .iter()
                .map(|m| format!("member: cn={m},ou=Staff,{s}\n"))
                .collect::<String>()
        ),
    ]
    .concat()
}

on_both_backends!(
    ldap_people_from_the_directory_leave_hr_records_alone_unless_told_and_are_never_removed
);

fn ldap_people_from_the_directory_leave_hr_records_alone_unless_told_and_are_never_removed(
    backend: Backend,
) {
    let server = server(AD_SUFFIX, &ad_people_directory());
    let sb = Sandbox::new();
    let store = store_on(&sb, backend);
    // HR knows Ada only.
    let hr = sb.path("hr");
    std::fs::create_dir_all(&hr).unwrap();
    std::fs::write(
        hr.join("people.csv"),
        "person_id,name,email,manager_id,department,title,status,hire_date,termination_date\n\
         E1,Ada Byron,ada@example.com,,Finance,Controller,active,2020-01-06,\n",
    )
    .unwrap();
    let mut import = args!["import", &hr];
    import.extend(store.iter().cloned());
    sb.run(import).ok();
    let mapping = sb.path("ad-people.toml");
    let keep = soxctl_testkit::with_people_example(soxctl_connectors::ldap::Preset::Ad.text());
    std::fs::write(&mapping, &keep).unwrap();
    let m = ["--mapping", mapping.to_str().unwrap()];
    let before = ledger(&sb, &store, "before").len();

    // existing = "keep": Bob and Carol are added, HR's Ada is not touched.
    let run = sync(&sb, &server, &store, &m);
    run.ok().stderr_has(&[
        "1 human users have no 'employeeID' (people.person_id)",
        "cn=Temp Contractor",
        "TEMP01 (Temp Contractor)",
    ]);
    let entries = ledger(&sb, &store, "first");
    let events = events_from(&entries, before);
    let added = people_events(&events, "person.added");
    assert_eq!(
        added.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        ["E2", "E3"],
        "{events:#?}"
    );
    assert!(people_events(&events, "person.changed").is_empty());
    let (_, bob) = added[0];
    assert_eq!(bob["person"]["manager_id"], "E1", "{bob}");
    assert_eq!(bob["person"]["department"], "Finance");
    assert_eq!(bob["person"]["title"], "Clerk");
    assert_eq!(bob["person"]["status"], "active");
    assert_eq!(added[1].1["person"]["manager_id"], "E2");
    // People come before the accounts that name them.
    let first_account = types(&events)
        .iter()
        .position(|t| *t == "account.added")
        .unwrap();
    assert!(types(&events)[..first_account].contains(&"person.added"));
    for (id, person) in [
        ("ABYRON", Value::from("E1")),
        ("BSMITH", Value::from("E2")),
        ("CJONES", Value::from("E3")),
        ("TEMP01", Value::Null),
        ("svc-backup", Value::Null),
    ] {
        assert_eq!(
            account(&events, "account.added", id)["person_id"],
            person,
            "{id}"
        );
    }
    let size = entries.len();
    assert_eq!(
        sync(&sb, &server, &store, &m).ok().json()["events"],
        0,
        "an unchanged directory records nothing"
    );

    // Changes to people the store holds are not recorded with "keep".
    let s = AD_SUFFIX;
    server
        .apply(&format!(
            "dn: cn=Bob Smith,ou=Staff,{s}\nchangetype: modify\nreplace: department\ndepartment: Accounts\n\n\
             dn: cn=Carol Jones,ou=Staff,{s}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n"
        ))
        .unwrap();
    sync(&sb, &server, &store, &m).ok();
    let entries = ledger(&sb, &store, "keep");
    let events = events_from(&entries, size);
    assert_eq!(
        types(&events),
        ["account.changed", "import.completed"],
        "{events:#?}"
    );
    let size = entries.len();

    // existing = "update", disabled = "terminated": the mapped fields follow
    // the directory (HR's Ada too); the others keep HR's values.
    std::fs::write(
        &mapping,
        keep.replace("disabled = \"ignore\"", "disabled = \"terminated\"")
            .replace("existing = \"keep\"", "existing = \"update\""),
    )
    .unwrap();
    sync(&sb, &server, &store, &m).ok();
    let entries = ledger(&sb, &store, "update");
    let events = events_from(&entries, size);
    assert_eq!(
        types(&events),
        [
            "person.changed",
            "person.changed",
            "person.changed",
            "import.completed"
        ],
        "{events:#?}"
    );
    let changed = people_events(&events, "person.changed");
    let (_, ada) = changed[0];
    assert_eq!(ada["changed"], serde_json::json!(["department", "title"]));
    assert_eq!(ada["person"]["department"], "FIN");
    assert_eq!(ada["person"]["title"], "Head of Finance");
    assert_eq!(ada["person"]["hire_date"], "2020-01-06", "HR's, kept");
    assert_eq!(changed[1].0, "E2");
    assert_eq!(changed[1].1["changed"], serde_json::json!(["department"]));
    assert_eq!(changed[2].0, "E3");
    assert_eq!(changed[2].1["person"]["status"], "terminated");
    let size = entries.len();

    // Carol is back: her person is active again.
    server
        .apply(&format!(
            "dn: cn=Carol Jones,ou=Staff,{s}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 512\n"
        ))
        .unwrap();
    sync(&sb, &server, &store, &m).ok();
    let entries = ledger(&sb, &store, "back");
    let events = events_from(&entries, size);
    let changed = people_events(&events, "person.changed");
    assert_eq!(changed.len(), 1, "{events:#?}");
    assert_eq!(
        (changed[0].0, &changed[0].1["person"]["status"]),
        ("E3", &serde_json::json!("active"))
    );
    let size = entries.len();

    // Bob leaves: Carol's manager DN names no user any more, which is an
    // error that records nothing.
    server
        .apply(&format!(
            "dn: cn=Bob Smith,ou=Staff,{s}\nchangetype: delete\n"
        ))
        .unwrap();
    let refused = sync(
        &sb,
        &server,
        &store,
        &[&m[..], &["--max-removals", "100"]].concat(),
    );
    refused.code(2).stderr_has(&[
        "cn=Carol Jones,ou=Staff,dc=corp,dc=example,dc=com: its manager 'cn=Bob Smith,ou=Staff,dc=corp,dc=example,dc=com' (people.manager) is not a user of the user search",
        "drop people.manager",
    ]);
    assert!(refused.stdout.is_empty(), "{refused:?}");
    assert_eq!(ledger(&sb, &store, "refused").len(), size);
    // Carol reports to Ada now: Bob's account goes, his person stays.
    server
        .apply(&format!(
            "dn: cn=Carol Jones,ou=Staff,{s}\nchangetype: modify\nreplace: manager\nmanager: cn=Ada Byron,ou=Staff,{s}\n"
        ))
        .unwrap();
    sync(
        &sb,
        &server,
        &store,
        &[&m[..], &["--max-removals", "100"]].concat(),
    )
    .ok();
    let entries = ledger(&sb, &store, "leaver");
    let events = events_from(&entries, size);
    assert_eq!(
        types(&events),
        [
            "person.changed",
            "grant.removed",
            "account.removed",
            "import.completed"
        ],
        "{events:#?}"
    );
    let changed = people_events(&events, "person.changed");
    assert_eq!(changed[0].0, "E3");
    assert_eq!(changed[0].1["changed"], serde_json::json!(["manager_id"]));
    let size = entries.len();

    // Two users with one person id: an error naming both; nothing recorded.
    server
        .apply(&format!(
            "dn: cn=Ada Again,ou=Staff,{s}\nobjectClass: inetOrgPerson\nobjectClass: user\n\
             objectCategory: person\ncn: Ada Again\nsn: Again\nsAMAccountName: ABYRON2\nemployeeID: e1\n"
        ))
        .unwrap();
    sync(&sb, &server, &store, &m).code(2).stderr_has(&[
        "person id 'e1' (people.person_id) is used by two users (cn=Ada Byron,ou=Staff,dc=corp,dc=example,dc=com and cn=Ada Again,ou=Staff,dc=corp,dc=example,dc=com)",
    ]);
    assert_eq!(ledger(&sb, &store, "duplicate").len(), size);
    verify_ok(&sb, &store);
}

/// Users ada, bob, carol and dave; groups app in staff in all, and ops and
/// admins nested in each other (a cycle). Added in an order that lets the
/// memberof overlay set memberOf on the groups inside groups too.
fn nested_directory() -> String {
    let s = OPENLDAP_SUFFIX;
    let mut ldif = format!(
        "dn: ou=people,{s}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,{s}\nobjectClass: organizationalUnit\nou: groups\n\n"
    );
    for uid in ["ada", "bob", "carol", "dave"] {
        ldif.push_str(&format!(
            "dn: uid={uid},ou=people,{s}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nmail: {uid}@example.com\n\n"
        ));
    }
    let user = |uid: &str| format!("uid={uid},ou=people,{s}");
    let group = |cn: &str| format!("cn={cn},ou=groups,{s}");
    for (cn, members) in [
        ("app", vec![user("ada")]),
        ("staff", vec![user("bob"), group("app")]),
        ("all", vec![group("staff")]),
        ("ops", vec![user("carol")]),
        ("admins", vec![user("dave"), group("ops")]),
    ] {
        let members: String = members.iter().map(|m| format!("member: {m}\n")).collect();
        ldif.push_str(&format!(
            "dn: {}\nobjectClass: groupOfNames\ncn: {cn}\n{members}\n",
            group(cn)
        ));
    }
    ldif.push_str(&format!(
        "dn: {}\nchangetype: modify\nadd: member\nmember: {}\n",
        group("ops"),
        group("admins")
    ));
    ldif
}

on_both_backends!(ldap_nested_groups_expand_through_member_lists_and_member_of_with_a_cycle);

fn ldap_nested_groups_expand_through_member_lists_and_member_of_with_a_cycle(backend: Backend) {
    let server = server(OPENLDAP_SUFFIX, &nested_directory());
    let sb = Sandbox::new();
    let store = store_on(&sb, backend);
    let expanded = pairs(&[
        ("ada", "all"),
        ("ada", "app"),
        ("ada", "staff"),
        ("bob", "all"),
        ("bob", "staff"),
        ("carol", "admins"),
        ("carol", "ops"),
        ("dave", "admins"),
        ("dave", "ops"),
    ]);
    let cycle = "1 cycles of nested groups";
    let preset = soxctl_connectors::ldap::Preset::OpenLdap.text();
    let mapping = |name: &str, text: String| {
        let path = sb.path(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };

    // The group's member lists (the preset), into a new store.
    sync(&sb, &server, &store, &[]).ok().stderr_has(&[
        cycle,
        "cn=ops,ou=groups",
        "cn=admins,ou=groups",
    ]);
    let entries = ledger(&sb, &store, "members");
    let events = events_from(&entries, 0);
    assert_eq!(grants(&events, "grant.added"), expanded, "{events:#?}");
    let size = entries.len();
    assert_eq!(sync(&sb, &server, &store, &[]).ok().json()["events"], 0);

    // memberOf on users and on groups (the overlay sets both), as a second
    // system of the same store: the same grants.
    let member_of = mapping(
        "member-of.toml",
        preset.replace("members = \"member\"", "member_of = \"memberOf\""),
    );
    sync(
        &sb,
        &server,
        &store,
        &["--mapping", &member_of, "--system", "ldap-member-of"],
    )
    .ok()
    .stderr_has(&[cycle]);
    let entries = ledger(&sb, &store, "member-of");
    let events = events_from(&entries, size);
    assert!(
        events
            .iter()
            .all(|(t, p)| !t.starts_with("grant.") || p["grant"]["system_id"] == "ldap-member-of")
    );
    assert_eq!(grants(&events, "grant.added"), expanded, "{events:#?}");
    let size = entries.len();

    // nested = "ignore": direct members only, and a warning.
    let ignore = mapping(
        "ignore.toml",
        preset.replace("nested = \"expand\"", "nested = \"ignore\""),
    );
    let run = sync(
        &sb,
        &server,
        &store,
        &["--mapping", &ignore, "--system", "ldap-direct"],
    );
    run.ok()
        .stderr_has(&["4 members are groups", "nested = \"ignore\""]);
    let entries = ledger(&sb, &store, "ignore");
    let events = events_from(&entries, size);
    assert_eq!(
        grants(&events, "grant.added"),
        pairs(&[
            ("ada", "app"),
            ("bob", "staff"),
            ("carol", "ops"),
            ("dave", "admins")
        ])
    );
    let size = entries.len();

    // app leaves staff: ada loses staff and all, through the nesting.
    let s = OPENLDAP_SUFFIX;
    server
        .apply(&format!(
            "dn: cn=staff,ou=groups,{s}\nchangetype: modify\ndelete: member\nmember: cn=app,ou=groups,{s}\n"
        ))
        .unwrap();
    sync(&sb, &server, &store, &["--max-removals", "30"]).ok();
    let events = events_from(&ledger(&sb, &store, "moved"), size);
    assert_eq!(
        types(&events),
        ["grant.removed", "grant.removed", "import.completed"]
    );
    assert_eq!(
        grants(&events, "grant.removed"),
        pairs(&[("ada", "all"), ("ada", "staff")])
    );
    verify_ok(&sb, &store);
}
