//! People from the directory: HR stays the authority unless told otherwise,
//! and a person is never removed because their user left.

use crate::helpers::Sandbox;
use crate::ldap::{
    AD_SUFFIX, Backend, account, events_from, ledger, lines, on_both_backends, server, store_on,
    sync, types, verify_ok,
};
use serde_json::Value;

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
