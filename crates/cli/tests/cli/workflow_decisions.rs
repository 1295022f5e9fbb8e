//! A request's life after it is asked, through the command line against a real
//! `soxctl serve`: denial, cancellation, activation, delegation, break-glass.

use crate::helpers::Sandbox;
use crate::workflow::{client, serve, write_snapshot};

#[test]
fn decisions_delegations_and_break_glass_through_the_command_line() {
    use soxctl_model::clock::Clock;
    let sb = Sandbox::new();
    let data = sb.path("data");
    let snapshot = sb.path("snapshot");
    write_snapshot(&snapshot);
    std::fs::write(
        snapshot.join("people.csv"),
        "person_id,name,email,manager_id,department,title,status,hire_date,termination_date
rita,Rita Requester,rita@example.com,olga,Finance,Analyst,active,,
olga,Olga Owner,olga@example.com,,Finance,Controller,active,,
dana,Dana Deputy,dana@example.com,olga,Finance,Deputy,active,,
",
    )
    .unwrap();
    sb.import(&snapshot, &data);
    let policies = sb.path("approvals.toml");
    std::fs::write(
        &policies,
        "[break_glass]\npeople = [\"rita\"]\nmax_duration = \"1h\"\n",
    )
    .unwrap();
    sb.run(args!["policies", "load", &policies, "--data", &data])
        .ok();
    let rita = sb.create_token(&data, &["--scope", "request", "--person", "rita"]);
    let olga = sb.create_token(&data, &["--scope", "request", "--person", "olga"]);
    let dana = sb.create_token(&data, &["--scope", "request", "--person", "dana"]);
    let (_server, url) = serve(&sb, &data);
    let as_ = |token: &str, a: Vec<std::ffi::OsString>| client(&sb, &url, token, a);
    let ask = |extra: &[&str]| {
        let mut a = args![
            "request",
            "create",
            "--entitlement",
            "erp:GL_POST",
            "--duration",
            "1h",
            "--justification",
            "close",
            "--format",
            "json"
        ];
        a.extend(extra.iter().map(std::ffi::OsString::from));
        let created = as_(&rita, a);
        created.ok();
        created.json()["request_id"].as_str().unwrap().to_owned()
    };

    // Denied, with a reason; then nothing more to decide.
    let id = ask(&[]);
    as_(
        &olga,
        args!["request", "deny", &id, "--reason", "no ticket"],
    )
    .ok();
    let shown = as_(&rita, args!["request", "show", &id, "--format", "json"]);
    assert_eq!(shown.ok().json()["status"], "denied");
    as_(&olga, args!["request", "approve", &id])
        .code(1)
        .stderr_has(&["denied"]);

    // Approved, listed as expiring within 2 hours (not within 10 minutes),
    // then cancelled by the requester: the grant ends.
    let id = ask(&[]);
    as_(&olga, args!["request", "approve", &id]).ok();
    let expiring = |within: &str| {
        let listed = as_(
            &rita,
            args!["grant", "list", "--expiring", within, "--format", "json"],
        );
        listed.ok().json().as_array().unwrap().len()
    };
    assert_eq!((expiring("2h"), expiring("10m")), (1, 0));
    as_(
        &rita,
        args!["request", "cancel", &id, "--reason", "done early"],
    )
    .ok();
    assert_eq!(expiring("2h"), 0);

    // Manual activation by the requester.
    let id = ask(&["--manual"]);
    as_(&olga, args!["request", "approve", &id]).ok();
    assert_eq!(expiring("2h"), 0);
    as_(&rita, args!["request", "activate", &id]).ok();
    assert_eq!(expiring("2h"), 1);

    // Delegation: olga's seat to dana for a day, then revoked.
    let until = soxctl_model::time::Timestamp::from_datetime(
        soxctl_model::clock::SystemClock.now().as_datetime()
            + std::time::Duration::from_secs(86_400),
    )
    .to_canonical();
    let delegated = as_(
        &olga,
        args![
            "delegation",
            "create",
            "--to",
            "dana",
            "--until",
            &until,
            "--reason",
            "holiday",
            "--format",
            "json"
        ],
    );
    let delegation = delegated.ok().json()["delegation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = as_(&olga, args!["delegation", "list", "--format", "json"]);
    assert_eq!(listed.ok().json().as_array().unwrap().len(), 1);
    let id = ask(&[]);
    as_(&dana, args!["request", "approve", &id]).ok();
    let shown = as_(&rita, args!["request", "show", &id, "--format", "json"]);
    assert_eq!(shown.ok().json()["decisions"][0]["on_behalf_of"], "olga");
    as_(&olga, args!["delegation", "revoke", &delegation]).ok();
    let id = ask(&[]);
    as_(&dana, args!["request", "approve", &id])
        .code(1)
        .stderr_has(&["not an approver"]);

    // Break-glass: taken at once, listed, reviewed by the owner once it is
    // over (here, ended early by an admin).
    let used = as_(
        &rita,
        args![
            "breakglass",
            "use",
            "--entitlement",
            "erp:GL_POST",
            "--reason",
            "close blocked at 02:00",
            "--evidence",
            "siem:session/1",
            "--format",
            "json"
        ],
    );
    let used = used.ok().json();
    let use_id = used["use_id"].as_str().unwrap().to_owned();
    let listed = as_(&olga, args!["breakglass", "list", "--format", "json"]);
    assert_eq!(listed.ok().json().as_array().unwrap().len(), 1);
    as_(
        &olga,
        args![
            "breakglass",
            "review",
            &use_id,
            "--outcome",
            "appropriate",
            "--notes",
            "INC-7"
        ],
    )
    .code(1)
    .stderr_has(&["still in force"]);
    let admin = sb.create_token(&data, &["--scope", "admin"]);
    for grant in used["grant_ids"].as_array().unwrap() {
        as_(
            &admin,
            args![
                "grant",
                "revoke",
                grant.as_str().unwrap(),
                "--reason",
                "incident closed"
            ],
        )
        .ok();
    }
    let reviewed = as_(
        &olga,
        args![
            "breakglass",
            "review",
            &use_id,
            "--outcome",
            "appropriate",
            "--notes",
            "INC-7",
            "--format",
            "json"
        ],
    );
    assert_eq!(reviewed.ok().json()["outcome"], "appropriate");
}
