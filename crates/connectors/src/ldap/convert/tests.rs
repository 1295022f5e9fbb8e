//! Tests of `convert`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
use super::*;
use crate::ldap::mapping::Preset;

fn entry(dn: &str, attrs: &[(&str, &str)]) -> Entry {
    let mut e = Entry {
        dn: dn.into(),
        ..Default::default()
    };
    for (k, v) in attrs {
        e.attrs
            .entry(k.to_lowercase())
            .or_default()
            .push((*v).to_owned());
    }
    e
}

fn convert(mapping: &Mapping, directory: &Directory) -> Result<Converted, LdapError> {
    to_snapshot(
        directory,
        mapping,
        &mapping.system.id,
        "test".into(),
        Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
    )
}

/// (account, entitlement) of every grant, sorted.
fn held(c: &Converted) -> Vec<(&str, &str)> {
    c.snapshot
        .inventory
        .grants
        .values()
        .map(|g| (g.account_id.as_str(), g.entitlement_id.as_str()))
        .collect()
}

fn mapping(preset: Preset, edit: impl FnOnce(String) -> String) -> Mapping {
    Mapping::parse(&edit(preset.text().to_owned()), "test").unwrap()
}

#[test]
fn dns_normalise() {
    assert_eq!(
        normalize_dn("CN=Ada Byron, OU=People ,DC=Example,DC=org"),
        "cn=ada byron,ou=people,dc=example,dc=org"
    );
    assert_eq!(normalize_dn("cn=a\\,b,dc=x"), "cn=a\\,b,dc=x");
}

#[test]
fn ad_users_groups_and_memberships() {
    let m = Preset::Ad.mapping().unwrap();
    let d = Directory {
        users: vec![
            entry(
                "CN=Ada,OU=Staff,DC=corp",
                &[
                    ("sAMAccountName", "ABYRON"),
                    ("mail", "ada@example.com"),
                    ("userAccountControl", "514"),
                    ("lastLogonTimestamp", "133579296000000000"),
                    ("memberOf", "CN=Domain Admins,CN=Users,DC=corp"),
                    ("memberOf", "CN=Elsewhere,DC=other"),
                ],
            ),
            entry(
                "CN=svc,OU=Staff,DC=corp",
                &[
                    ("sAMAccountName", "svc-backup"),
                    ("mail", "svc@example.com"),
                    ("userAccountControl", "66048"),
                    ("servicePrincipalName", "HOST/backup"),
                ],
            ),
            entry("CN=NoId,OU=Staff,DC=corp", &[("mail", "x@example.com")]),
        ],
        groups: vec![
            entry(
                "cn=domain admins,cn=users,dc=corp",
                &[("cn", "Domain Admins")],
            ),
            entry(
                "CN=Readers,DC=corp",
                &[("cn", "Readers"), ("description", "Read")],
            ),
        ],
    };
    let c = convert(&m, &d).unwrap();
    let inv = &c.snapshot.inventory;
    let ada = inv
        .accounts
        .values()
        .find(|a| a.account_id.as_str() == "ABYRON")
        .unwrap();
    assert_eq!(ada.status, AccountStatus::Disabled);
    assert_eq!(ada.kind, AccountKind::Human);
    assert_eq!(
        ada.last_login,
        Some(Timestamp::parse("2024-04-18T16:00:00Z").unwrap())
    );
    let svc = inv
        .accounts
        .values()
        .find(|a| a.account_id.as_str() == "svc-backup")
        .unwrap();
    assert_eq!(svc.kind, AccountKind::Service);
    assert_eq!(svc.status, AccountStatus::Active);
    assert!(!c.snapshot.account_hints.contains_key(&svc.key()));
    assert_eq!(
        c.snapshot.account_hints[&ada.key()].email.as_deref(),
        Some("ada@example.com")
    );
    assert_eq!(inv.grants.len(), 1, "{:?}", inv.grants);
    let admins = inv
        .entitlements
        .values()
        .find(|e| e.entitlement_id.as_str() == "Domain Admins")
        .unwrap();
    assert!(admins.privileged);
    assert!(
        inv.entitlements
            .values()
            .any(|e| e.description.as_deref() == Some("Read") && !e.privileged)
    );
    assert!(
        c.warnings.iter().any(|w| w.contains("CN=NoId")),
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings.iter().any(|w| w.contains("CN=Elsewhere")),
        "{:?}",
        c.warnings
    );
    assert_eq!(c.snapshot.scope.len(), 1);
}

#[test]
fn free_text_that_hides_characters_is_refused_with_its_entry() {
    let m = Preset::Ad.mapping().unwrap();
    let user = |mail: &str| {
        entry(
            "CN=Ada,OU=Staff,DC=corp",
            &[("sAMAccountName", "ABYRON"), ("mail", mail)],
        )
    };
    let group = |description: &str| {
        entry(
            "CN=Readers,DC=corp",
            &[("cn", "Readers"), ("description", description)],
        )
    };
    let refused = |d: &Directory, key: &str| {
        let e = convert(&m, d).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains(key), "{e}");
        assert!(e.contains("control or invisible character"), "{e}");
        assert!(!e.chars().any(soxctl_model::identity::is_hidden), "{e:?}");
    };
    refused(
        &Directory {
            users: vec![user("ada\u{202e}@example.com")],
            groups: vec![group("Read")],
        },
        "users.email",
    );
    refused(
        &Directory {
            users: vec![user("ada@example.com")],
            groups: vec![group("Read\0only")],
        },
        "groups.description",
    );
    let c = convert(
        &m,
        &Directory {
            users: vec![user("ada@example.com")],
            groups: vec![group("Read,\nthen report")],
        },
    )
    .unwrap();
    assert!(
        c.snapshot
            .inventory
            .entitlements
            .values()
            .any(|e| e.description.as_deref() == Some("Read,\nthen report"))
    );
}

#[test]
fn member_lists_duplicates_and_missing_attributes() {
    let m = Preset::OpenLdap.mapping().unwrap();
    let users = vec![
        entry(
            "uid=ada,ou=people,dc=x",
            &[("uid", "ada"), ("mail", "ada@x")],
        ),
        entry(
            "uid=bob,ou=people,dc=x",
            &[
                ("uid", "bob"),
                ("mail", "bob@x"),
                ("pwdAccountLockedTime", "20260101000000Z"),
            ],
        ),
    ];
    let groups = vec![
        entry(
            "cn=admins,ou=groups,dc=x",
            &[
                ("cn", "admins"),
                ("member", "UID=ada, ou=People,dc=x"),
                ("member", "uid=ghost,ou=people,dc=x"),
                ("member", "cn=ops,ou=groups,dc=x"),
            ],
        ),
        entry(
            "cn=ops,ou=groups,dc=x",
            &[("cn", "ops"), ("member", "uid=bob,ou=people,dc=x")],
        ),
    ];
    let c = convert(
        &m,
        &Directory {
            users: users.clone(),
            groups: groups.clone(),
        },
    )
    .unwrap();
    let inv = &c.snapshot.inventory;
    // bob is in ops, ops in admins: bob holds admins too.
    assert_eq!(
        held(&c),
        [("ada", "admins"), ("bob", "admins"), ("bob", "ops")]
    );
    assert!(
        inv.accounts
            .values()
            .any(|a| a.status == AccountStatus::Disabled && a.account_id.as_str() == "bob")
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("uid=ghost") && w.contains("not users")),
        "{:?}",
        c.warnings
    );
    assert!(
        !c.warnings.iter().any(|w| w.contains("nested")),
        "{:?}",
        c.warnings
    );

    let mut dup = users.clone();
    dup.push(entry(
        "uid=ADA,ou=other,dc=x",
        &[("uid", "ADA"), ("mail", "a2@x")],
    ));
    let err = convert(
        &m,
        &Directory {
            users: dup,
            groups: groups.clone(),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("account id 'ADA' is used by two users"),
        "{err}"
    );

    let no_mail: Vec<Entry> = users
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.attrs.remove("mail");
            e
        })
        .collect();
    let err = convert(
        &m,
        &Directory {
            users: no_mail,
            groups,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("none of the 2 user entries has the attribute 'mail'"),
        "{err}"
    );
}

#[test]
fn nesting_closes_over_chains_and_cycles() {
    // 0 in 1 in 2; 3 in 4 in 5 in 3; 6 in itself; 7 alone.
    let edges: &[&[usize]] = &[&[1], &[2], &[], &[4], &[5], &[3], &[6], &[]];
    let parents: Vec<BTreeSet<usize>> = edges.iter().map(|e| e.iter().copied().collect()).collect();
    let (closures, cycles) = nesting(&parents);
    let sorted = |v: &Vec<usize>| {
        let mut v = v.clone();
        v.sort_unstable();
        v
    };
    assert_eq!(sorted(&closures[0]), [0, 1, 2]);
    assert_eq!(sorted(&closures[1]), [1, 2]);
    assert_eq!(sorted(&closures[2]), [2]);
    for (g, closure) in closures.iter().enumerate().take(6).skip(3) {
        assert_eq!(sorted(closure), [3, 4, 5], "{g}");
    }
    assert_eq!(sorted(&closures[6]), [6]);
    assert_eq!(sorted(&closures[7]), [7]);
    // Each cycle once, as a path back to where it starts.
    assert_eq!(cycles, [vec![3, 4, 5, 3], vec![6, 6]]);
}

/// Users ada, bob, carol; groups: app in staff in all; ops in admins in
/// ops (a cycle); carol in ops.
fn nested_directory(member_of: bool) -> Directory {
    let s = ",dc=x";
    let user = |uid: &str, groups: &[&str]| {
        let mut attrs = vec![("uid", uid.to_owned()), ("mail", format!("{uid}@x"))];
        if member_of {
            attrs.extend(groups.iter().map(|g| ("memberOf", format!("cn={g}{s}"))));
        }
        let attrs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        entry(&format!("uid={uid}{s}"), &attrs)
    };
    // (group, its member users, its member groups)
    let layout: &[(&str, &[&str], &[&str])] = &[
        ("all", &[], &["staff"]),
        ("staff", &["bob"], &["app"]),
        ("app", &["ada"], &[]),
        ("admins", &[], &["ops"]),
        ("ops", &["carol"], &["admins"]),
    ];
    let groups = layout
        .iter()
        .map(|(cn, users, inner)| {
            let mut attrs = vec![("cn", (*cn).to_owned())];
            if member_of {
                for (outer, _, members) in layout {
                    if members.contains(cn) {
                        attrs.push(("memberOf", format!("cn={outer}{s}")));
                    }
                }
            } else {
                attrs.extend(users.iter().map(|u| ("member", format!("uid={u}{s}"))));
                attrs.extend(inner.iter().map(|g| ("member", format!("CN={g}{s}"))));
            }
            let attrs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            entry(&format!("cn={cn}{s}"), &attrs)
        })
        .collect();
    let users_of = |uid: &str| -> Vec<&str> {
        layout
            .iter()
            .filter(|(_, users, _)| users.contains(&uid))
            .map(|(cn, _, _)| *cn)
            .collect()
    };
    Directory {
        users: ["ada", "bob", "carol"]
            .iter()
            .map(|u| user(u, &users_of(u)))
            .collect(),
        groups,
    }
}

#[test]
fn nested_groups_expand_from_either_side_and_cycles_are_named() {
    let expanded = [
        ("ada", "all"),
        ("ada", "app"),
        ("ada", "staff"),
        ("bob", "all"),
        ("bob", "staff"),
        ("carol", "admins"),
        ("carol", "ops"),
    ];
    let from_members = Preset::OpenLdap.mapping().unwrap();
    let from_member_of = mapping(Preset::OpenLdap, |t| {
        t.replace("members = \"member\"", "member_of = \"memberOf\"")
    });
    for (m, member_of) in [(from_members, false), (from_member_of, true)] {
        let c = convert(&m, &nested_directory(member_of)).unwrap();
        assert_eq!(held(&c), expanded, "member_of: {member_of}");
        let cycle: Vec<&String> = c.warnings.iter().filter(|w| w.contains("cycle")).collect();
        assert_eq!(cycle.len(), 1, "{:?}", c.warnings);
        assert!(
            cycle[0].starts_with("1 cycles of nested groups")
                && (cycle[0].contains("cn=ops,dc=x in cn=admins,dc=x in cn=ops,dc=x")
                    || cycle[0].contains("cn=admins,dc=x in cn=ops,dc=x in cn=admins,dc=x")),
            "{cycle:?}"
        );
    }

    // nested = "ignore": direct members only, as before expansion existed.
    let m = mapping(Preset::OpenLdap, |t| {
        t.replace("nested = \"expand\"", "nested = \"ignore\"")
    });
    let c = convert(&m, &nested_directory(false)).unwrap();
    assert_eq!(
        held(&c),
        [("ada", "app"), ("bob", "staff"), ("carol", "ops")]
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.starts_with("4 members are groups") && w.contains("nested = \"ignore\"")),
        "{:?}",
        c.warnings
    );
    let m = mapping(Preset::OpenLdap, |t| {
        t.replace("members = \"member\"", "member_of = \"memberOf\"")
            .replace("nested = \"expand\"", "nested = \"ignore\"")
    });
    let c = convert(&m, &nested_directory(true)).unwrap();
    assert_eq!(
        held(&c),
        [("ada", "app"), ("bob", "staff"), ("carol", "ops")]
    );
}

const PEOPLE: &str = "\n[people]\nperson_id = \"employeeNumber\"\nname = \"cn\"\n\
    email = \"mail\"\ndepartment = \"departmentNumber\"\nmanager = \"manager\"\n";

fn with_people(extra: &str) -> Mapping {
    mapping(Preset::OpenLdap, |t| {
        t.replace(
            "# service = { attribute = \"employeeType\", equals = \"service\" }",
            "service = { attribute = \"employeeType\", equals = \"service\" }",
        )
        .replace(
            "\n[[correlate]]",
            &format!("{PEOPLE}{extra}\n[[correlate]]"),
        )
    })
}

/// ada manages bob; bob is disabled; carol has no employee number;
/// svc is a service account with one.
fn people_directory() -> Directory {
    Directory {
        users: vec![
            entry(
                "uid=bob,dc=x",
                &[
                    ("uid", "bob"),
                    ("cn", "Bob Smith"),
                    ("mail", "bob@x"),
                    ("employeeNumber", "E2"),
                    ("departmentNumber", "Finance"),
                    ("manager", "UID=ada, dc=x"),
                    ("pwdAccountLockedTime", "20260101000000Z"),
                ],
            ),
            entry(
                "uid=ada,dc=x",
                &[
                    ("uid", "ada"),
                    ("cn", "Ada Byron"),
                    ("mail", "ada@x"),
                    ("employeeNumber", "E1"),
                ],
            ),
            entry("uid=carol,dc=x", &[("uid", "carol"), ("mail", "carol@x")]),
            entry(
                "uid=svc,dc=x",
                &[
                    ("uid", "svc"),
                    ("mail", "svc@x"),
                    ("employeeNumber", "S1"),
                    ("employeeType", "service"),
                ],
            ),
        ],
        groups: vec![],
    }
}

#[test]
fn users_with_a_person_id_are_people_and_their_accounts_link_to_them() {
    let m = with_people("");
    let c = convert(&m, &people_directory()).unwrap();
    let inv = &c.snapshot.inventory;
    let ids: Vec<&str> = inv.people.keys().map(|p| p.as_str()).collect();
    assert_eq!(
        ids,
        ["E1", "E2"],
        "no person for carol nor the service account"
    );
    let bob = &inv.people[&PersonId::parse("E2").unwrap()];
    assert_eq!(bob.name.as_deref(), Some("Bob Smith"));
    assert_eq!(bob.email.as_deref(), Some("bob@x"));
    assert_eq!(bob.department.as_deref(), Some("Finance"));
    assert_eq!(bob.title, None);
    assert_eq!(bob.manager_id.as_ref().map(|m| m.as_str()), Some("E1"));
    assert_eq!(
        bob.status,
        PersonStatus::Active,
        "a disabled user says nothing of its person by default"
    );
    let person_of = |account: &str| {
        inv.accounts
            .values()
            .find(|a| a.account_id.as_str() == account)
            .unwrap()
            .person_id
            .as_ref()
            .map(|p| p.as_str().to_owned())
    };
    assert_eq!(person_of("ada").as_deref(), Some("E1"));
    assert_eq!(person_of("bob").as_deref(), Some("E2"));
    assert_eq!(person_of("carol"), None, "left to the correlation rules");
    assert_eq!(person_of("svc"), None);
    assert_eq!(c.snapshot.existing_people, ExistingPeople::Keep);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.starts_with("1 human users have no 'employeeNumber'")
                && w.contains("uid=carol")),
        "{:?}",
        c.warnings
    );

    // A disabled user's person is on leave; "update" names the mapped fields.
    let m = with_people("disabled = \"leave\"\nexisting = \"update\"\n");
    let c = convert(&m, &people_directory()).unwrap();
    let bob = &c.snapshot.inventory.people[&PersonId::parse("E2").unwrap()];
    assert_eq!(bob.status, PersonStatus::Leave);
    assert_eq!(
        c.snapshot.existing_people,
        ExistingPeople::Update(PersonFields {
            name: true,
            email: true,
            manager: true,
            department: true,
            title: false,
            status: Some(PersonStatus::Leave),
        })
    );
}

#[test]
fn bad_people_are_errors_that_name_the_entries() {
    let m = with_people("");
    let mut d = people_directory();
    d.users[2]
        .attrs
        .insert("employeenumber".into(), vec!["e1".into()]);
    let err = convert(&m, &d).unwrap_err().to_string();
    assert!(
        err.contains("person id 'e1' (people.person_id) is used by two users (uid=ada,dc=x and uid=carol,dc=x)"),
        "{err}"
    );

    let with_manager = |manager: &str| {
        let mut d = people_directory();
        d.users[1]
            .attrs
            .insert("manager".into(), vec![manager.to_owned()]);
        convert(&m, &d).unwrap_err().to_string()
    };
    let err = with_manager("uid=ghost,dc=x");
    assert!(
        err.starts_with("uid=ada,dc=x: its manager 'uid=ghost,dc=x' (people.manager) is not a user of the user search;"),
        "{err}"
    );
    assert!(err.contains("drop people.manager"), "{err}");
    let err = with_manager("uid=carol,dc=x");
    assert!(
        err.contains("is a user without 'employeeNumber' (people.person_id)"),
        "{err}"
    );
    let err = with_manager("uid=svc,dc=x");
    assert!(err.contains("is a service account"), "{err}");

    let mut d = people_directory();
    for user in &mut d.users {
        user.attrs.remove("employeenumber");
    }
    let err = convert(&m, &d).unwrap_err().to_string();
    assert!(
        err.contains("none of the 4 user entries has the attribute 'employeeNumber' mapped as people.person_id"),
        "{err}"
    );

    let err = Mapping::parse(
        &Preset::OpenLdap
            .text()
            .replace(
                "disabled = { attribute = \"pwdAccountLockedTime\", present = true }",
                "",
            )
            .replace(
                "\n[[correlate]]",
                &format!("{PEOPLE}disabled = \"terminated\"\n\n[[correlate]]"),
            ),
        "m.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("people.disabled needs users.disabled"),
        "{err}"
    );
    let err = Mapping::parse(
        &Preset::OpenLdap.text().replace(
            "\n[[correlate]]",
            &format!("{PEOPLE}existing = \"merge\"\n\n[[correlate]]"),
        ),
        "m.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("`keep`") && err.contains("`update`"), "{err}");
}
