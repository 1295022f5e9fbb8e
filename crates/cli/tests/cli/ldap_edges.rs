//! What an LDAP sync must refuse or survive: bad input changes nothing, TLS
//! checks the server, reruns are idempotent, big directories come in pages.

use crate::helpers::Sandbox;
use crate::ldap::{
    AD_SUFFIX, OPENLDAP_SUFFIX, ad_directory, events_from, ledger, openldap_directory, server,
    sqlite, sync, sync_at, types,
};
use soxctl_testkit::ROOT_PASSWORD;

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
