//! Groups inside groups: access through nesting is real access, and a
//! membership cycle must neither hang the sync nor lose members.

use crate::helpers::Sandbox;
use crate::ldap::{
    Backend, OPENLDAP_SUFFIX, events_from, grants, ledger, on_both_backends, pairs, server,
    store_on, sync, types, verify_ok,
};

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
