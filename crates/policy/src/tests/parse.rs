//! Parsing and its errors: what a document may say, and that every mistake
//! is reported at once with its place, so a policy author fixes them in one go.

use super::*;

#[test]
fn an_empty_document_is_the_defaults() {
    let (p, warnings) = parse_ok("");
    assert!(warnings.is_empty());
    assert!(!p.has_cedar());
    let plan = p
        .plan(&request(
            asker(),
            entitlement("erp", "X", false, Some("O1"), Some("S1")),
        ))
        .unwrap();
    assert_eq!(plan.matched_rule, DEFAULTS_RULE);
    assert_eq!(plan.candidates, ["O1"]);
    assert_eq!(plan.max_duration_secs, Some(8 * 3600));
    assert_eq!(plan.undecided_expiry_secs, 72 * 3600);
}

#[test]
fn syntax_errors_have_line_and_column() {
    let e = errors("[defaults]\nmax_duration = \"8h\"\ncount = \n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("line 3, column 9"), "{}", e[0]);
}

#[test]
fn unknown_keys_are_syntax_errors_with_place() {
    let e = errors("[[access]]\nid = \"a\"\nentitlements = [\"erp:*\"]\nmax_durration = \"4h\"\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("line 4, column 1"), "{}", e[0]);
    assert!(e[0].contains("max_durration"), "{}", e[0]);
}

#[test]
fn cedar_after_a_table_gets_a_hint() {
    let e = errors("[defaults]\ncount = 1\ncedar = 'permit(principal, action, resource);'\n");
    assert!(e[0].contains("top-level key"), "{}", e[0]);
}

#[test]
fn every_error_is_reported_at_once_with_its_place() {
    let text = r#"
[defaults]
max_duration = "8 parsecs"
critical_approvals = 0

[groups]
ops = ["E1", "E2"]

[[access]]
id = "a"
entitlements = ["erp:*", "nocolon"]
approvers = ["owner", "group:opz", "manager|person:"]
count = 1

[[access]]
id = "a"
entitlements = ["aws:*"]
max_duration = "0h"

[[action]]
id = "d"
kinds = ["deploy"]
approvers = ["group:ops"]
count = 3
window = "soon"
"#;
    let e = errors(text);
    let expect = [
        "line 3, column 16, defaults.max_duration: \"8 parsecs\" is not a duration",
        "line 4, column 22, defaults.critical_approvals: critical_approvals = 0; it must be between 1 and 20",
        "line 11, column 26, access[0].entitlements[1]: 'nocolon' is not an entitlement pattern",
        "line 12, column 14, access[0].approvers[0]: unknown approver 'owner'",
        "line 12, column 23, access[0].approvers[1]: group 'opz' is not defined",
        "line 12, column 36, access[0].approvers[2]: '' is not a usable person id",
        "line 16, column 6, access[1].id: access rule 'a' is defined more than once",
        "line 18, column 16, access[1].max_duration: \"0h\" is zero",
        "line 20, column 1, action[0]: count = 3 but these approvers name at most 2 distinct people",
        "line 25, column 10, action[0].window: \"soon\" is not a duration",
    ];
    assert_eq!(e.len(), expect.len(), "{e:#?}");
    for (got, want) in e.iter().zip(expect) {
        assert!(got.starts_with(want), "\n got: {got}\nwant: {want}");
    }
}

#[test]
fn a_count_no_routing_can_reach_is_an_error() {
    let e = errors(
        "[groups]\nrm = [\"E1\", \"E2\"]\n[[action]]\nid = \"d\"\nkinds = [\"deploy\"]\napprovers = [\"group:rm\"]\ncount = 3\n",
    );
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with(
            "line 3, column 1, action[0]: count = 3 but these approvers name at most 2"
        ),
        "{}",
        e[0]
    );
    // A manager is one person; alternatives count, as they are drawn when short.
    let e = errors(
        "[[access]]\nid = \"a\"\nentitlements = [\"*:*\"]\napprovers = [\"manager\", \"manager\"]\ncount = 2\n",
    );
    assert!(e[0].contains("at most 1 distinct"), "{}", e[0]);
    assert!(PolicySet::parse(
        "[[access]]\nid = \"a\"\nentitlements = [\"*:*\"]\napprovers = [\"entitlement_owner|manager\"]\ncount = 2\n",
    )
    .is_ok());
    // The same person in two groups counts once.
    let e = errors(
        "[groups]\na = [\"E1\"]\nb = [\"E1\"]\n[[access]]\nid = \"a\"\nentitlements = [\"*:*\"]\napprovers = [\"group:a\", \"group:b\"]\ncount = 2\n",
    );
    assert!(e[0].contains("at most 1 distinct"), "{}", e[0]);
}

#[test]
fn rules_must_match_something() {
    let e = errors("[[access]]\nid = \"a\"\n[[action]]\nid = \"b\"\n");
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].contains("access rule 'a' matches nothing"));
    assert!(e[1].contains("action rule 'b' matches nothing"));
}

#[test]
fn bad_group_names_and_members() {
    let e = errors("[groups]\n\"release managers\" = [\"E1\", \"E 2\"]\n");
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].contains("'release managers' is not a usable group name"));
    assert!(
        e[1].starts_with("line 2, column 29, groups.release managers[1]: 'E 2'"),
        "{}",
        e[1]
    );
}

#[test]
fn warnings_for_legal_but_doubtful_documents() {
    let (_, w) = parse_ok(
        r#"
[defaults]
escalate_after = "80h"

[groups]
unused = ["E1"]
twice = ["E1", "E1"]

[[access]]
id = "all"
entitlements = ["*:*"]
roles = ["*"]
approvers = ["group:twice"]

[[access]]
id = "never"
entitlements = ["erp:*"]

[[action]]
id = "x"
kinds = ["deplyo"]
"#,
    );
    let w: Vec<String> = w.iter().map(ToString::to_string).collect();
    let has = |s: &str| w.iter().any(|x| x.contains(s));
    assert!(
        has("escalate_after is not shorter than undecided_expiry"),
        "{w:#?}"
    );
    assert!(has("group 'unused' is used by no rule"), "{w:#?}");
    assert!(has("E1 is listed twice in group 'twice'"), "{w:#?}");
    assert!(
        has("access \"never\" never applies: access \"all\" before it"),
        "{w:#?}"
    );
    assert!(
        has("'deplyo' is not one of the built-in action kinds"),
        "{w:#?}"
    );
    assert!(has("critical SoD conflict needs 2 approvals"), "{w:#?}");
    assert!(!has("twice' is used by no rule"), "{w:#?}");
}

#[test]
fn break_glass_names_people_and_a_short_maximum() {
    let (set, _) = parse_ok("[break_glass]\npeople = [\"p1\", \"p2\", \"p1\"]\n");
    assert_eq!(
        set.break_glass(),
        Some(&BreakGlass {
            people: vec!["p1".into(), "p2".into()],
            max_duration_secs: BREAK_GLASS_DEFAULT_SECS,
        })
    );
    let (set, _) = parse_ok("[break_glass]\npeople = [\"p1\"]\nmax_duration = \"90m\"\n");
    assert_eq!(set.break_glass().map(|b| b.max_duration_secs), Some(5_400));
    assert_eq!(PolicySet::default_policy().break_glass(), None);
    assert_eq!(parse_ok("[defaults]\ncount = 1\n").0.break_glass(), None);
    let e = errors("[break_glass]\npeople = []\n");
    assert!(e.iter().any(|e| e.contains("people is empty")), "{e:?}");
    let e = errors("[break_glass]\npeople = [\"p1\"]\nmax_duration = \"2d\"\n");
    assert!(e.iter().any(|e| e.contains("at most 24h")), "{e:?}");
    let e = errors("[break_glass]\npeople = [\"p 1\"]\ncolour = \"red\"\n");
    assert!(!e.is_empty());
}
