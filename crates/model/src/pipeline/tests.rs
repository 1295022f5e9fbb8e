//! Claims read and pipelines admitted, field by field.

use super::*;
use proptest::prelude::*;
use serde_json::json;

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn github_claims() -> Map<String, Value> {
    map(json!({
        "jti": "a1b2",
        "sub": "repo:acme/app:environment:prod",
        "environment": "prod",
        "aud": "soxctl",
        "ref": "refs/heads/main",
        "sha": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4",
        "repository": "acme/app",
        "repository_owner": "acme",
        "actor_id": "12",
        "run_id": "8411",
        "repository_id": "74",
        "actor": "kevin-reyes",
        "event_name": "push",
        "ref_type": "branch",
        "ref_protected": "true",
        "job_workflow_ref": "acme/app/.github/workflows/deploy.yml@refs/heads/main",
        "iss": "https://token.actions.githubusercontent.com",
        "exp": 1700000300,
        "iat": 1700000000,
    }))
}

fn gitlab_claims() -> Map<String, Value> {
    map(json!({
        "namespace_path": "acme",
        "project_path": "acme/app",
        "user_login": "kevin.reyes",
        "user_email": "kevin.reyes@example.com",
        "pipeline_id": "1212",
        "pipeline_source": "push",
        "ref": "v1.4",
        "ref_type": "tag",
        "ref_protected": "true",
        "environment": "prod",
        "ci_config_ref_uri": "gitlab.example.com/acme/app//.gitlab-ci.yml@refs/tags/v1.4",
        "sha": "83d3b3d8",
        "iss": "https://gitlab.example.com",
        "sub": "project_path:acme/app:ref_type:tag:ref:v1.4",
    }))
}

fn github_trust() -> PipelineTrust {
    PipelineTrust {
        id: "app-prod".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
        audience: "soxctl".into(),
        platform: Platform::GitHub,
        repository: "acme/app".into(),
        repo: "github.com/acme/app".into(),
        refs: vec!["refs/heads/main".into(), "refs/heads/release/*".into()],
        require_protected_ref: true,
        workflows: vec!["acme/app/.github/workflows/deploy.yml".into()],
        environments: vec!["prod".into()],
        actor_system: Some(SystemId::parse("github").unwrap()),
        repository_id: None,
        events: Vec::new(),
    }
}

fn github() -> CiClaims {
    CiClaims::from_jwt_claims(Platform::GitHub, &github_claims()).unwrap()
}

#[test]
fn reads_github_claims() {
    assert_eq!(
        github(),
        CiClaims {
            issuer: "https://token.actions.githubusercontent.com".into(),
            subject: "repo:acme/app:environment:prod".into(),
            platform: Platform::GitHub,
            repository: "acme/app".into(),
            git_ref: "refs/heads/main".into(),
            ref_protected: true,
            workflow: "acme/app/.github/workflows/deploy.yml@refs/heads/main".into(),
            environment: Some("prod".into()),
            actor: "kevin-reyes".into(),
            actor_email: None,
            sha: Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4".into()),
            run_id: Some("8411".into()),
            event: Some("push".into()),
            repository_id: Some("74".into()),
        }
    );
}

#[test]
fn the_repository_id_and_the_event_are_pinned_when_asked() {
    let mut trust = github_trust();
    trust.repository_id = Some("74".into());
    trust.events = vec!["push".into(), "workflow_dispatch".into()];
    assert!(trust.admit(&github()).is_ok());
    let mut renamed = github();
    renamed.repository_id = Some("99".into());
    assert!(matches!(
        trust.admit(&renamed),
        Err(TrustRefusal::RepositoryId { .. })
    ));
    let mut target = github();
    target.event = Some("pull_request_target".into());
    assert!(matches!(
        trust.admit(&target),
        Err(TrustRefusal::Event { .. })
    ));
    target.event = None;
    assert!(matches!(
        trust.admit(&target),
        Err(TrustRefusal::Event { .. })
    ));
}

#[test]
fn reads_gitlab_claims_and_makes_full_refs() {
    let c = CiClaims::from_jwt_claims(Platform::GitLab, &gitlab_claims()).unwrap();
    assert_eq!(c.git_ref, "refs/tags/v1.4");
    assert_eq!(c.repository, "acme/app");
    assert_eq!(c.actor, "kevin.reyes");
    assert_eq!(c.actor_email.as_deref(), Some("kevin.reyes@example.com"));
    assert_eq!(c.run_id.as_deref(), Some("1212"));
    assert_eq!(c.event.as_deref(), Some("push"));
    assert!(c.ref_protected);

    let mut branch = gitlab_claims();
    branch.insert("ref".into(), json!("main"));
    branch.insert("ref_type".into(), json!("branch"));
    branch.insert("ref_protected".into(), json!("false"));
    branch.insert("pipeline_id".into(), json!(1213));
    let c = CiClaims::from_jwt_claims(Platform::GitLab, &branch).unwrap();
    assert_eq!(c.git_ref, "refs/heads/main");
    assert!(!c.ref_protected);
    assert_eq!(c.run_id.as_deref(), Some("1213"));

    branch.insert("ref_type".into(), json!("merge_request"));
    let e = CiClaims::from_jwt_claims(Platform::GitLab, &branch).unwrap_err();
    assert!(
        matches!(
            e,
            ClaimsError::Malformed {
                claim: "ref_type",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn the_same_token_read_as_the_other_platform_lacks_its_claims() {
    let e = CiClaims::from_jwt_claims(Platform::GitLab, &github_claims()).unwrap_err();
    assert!(
        matches!(
            e,
            ClaimsError::Missing {
                claim: "project_path",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("id_tokens"), "{e}");
}

#[test]
fn refuses_missing_and_malformed_claims() {
    let without = |claim: &str| {
        let mut c = github_claims();
        c.remove(claim);
        CiClaims::from_jwt_claims(Platform::GitHub, &c)
    };
    for claim in [
        "iss",
        "sub",
        "repository",
        "ref",
        "ref_protected",
        "job_workflow_ref",
        "actor",
    ] {
        match without(claim) {
            Err(ClaimsError::Missing { claim: c, .. }) => assert_eq!(c, claim),
            other => panic!("{claim}: {other:?}"),
        }
    }
    for optional in ["environment", "sha", "run_id", "event_name"] {
        assert!(without(optional).is_ok(), "{optional}");
    }

    let with = |claim: &str, value: Value| {
        let mut c = github_claims();
        c.insert(claim.into(), value);
        CiClaims::from_jwt_claims(Platform::GitHub, &c)
    };
    let bad = [
        ("ref_protected", json!("yes")),
        ("ref_protected", json!(1)),
        ("repository", json!(["acme/app"])),
        ("actor", json!({"login": "x"})),
        ("actor", json!(1.5)),
        ("actor", json!("kevin\u{0}reyes")),
        ("actor", json!("kevin\u{202e}reyes")),
        ("environment", json!("prod\nstaging")),
        ("job_workflow_ref", json!("x".repeat(MAX_CLAIM_LEN + 1))),
        ("ref", json!("main")),
    ];
    for (claim, value) in bad {
        match with(claim, value.clone()) {
            Err(e @ ClaimsError::Malformed { .. }) => {
                assert!(!e.to_string().contains('\u{0}'), "{e}");
            }
            other => panic!("{claim} = {value}: {other:?}"),
        }
    }
    // Empty optional claims are none; GitHub sends "" for head_ref and the like.
    assert_eq!(with("environment", json!("")).unwrap().environment, None);
    assert!(with("ref_protected", json!(false)).is_ok_and(|c| !c.ref_protected));
    assert!(with("actor", json!("x".repeat(MAX_CLAIM_LEN))).is_ok());
}

#[test]
fn admits_the_configured_pipeline() {
    let admitted = github_trust().admit(&github()).unwrap();
    assert_eq!(
        admitted,
        AdmittedPipeline {
            trust_id: "app-prod".into(),
            repo: "github.com/acme/app".into(),
            environment: "prod".into(),
            actor: "kevin-reyes".into(),
            actor_email: None,
            actor_system: Some(SystemId::parse("github").unwrap()),
            sha: Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4".into()),
            run_id: Some("8411".into()),
            workflow: "acme/app/.github/workflows/deploy.yml@refs/heads/main".into(),
            git_ref: "refs/heads/main".into(),
        }
    );
    // GitHub names are case-insensitive: the repository, and the
    // owner/repo part of the workflow.
    let mut c = github();
    c.repository = "Acme/App".into();
    c.workflow = "ACME/app/.github/workflows/deploy.yml@refs/heads/main".into();
    assert!(github_trust().admit(&c).is_ok());
    // A release branch under the glob.
    c.git_ref = "refs/heads/release/2024-06".into();
    c.workflow = "acme/app/.github/workflows/deploy.yml@refs/heads/release/2024-06".into();
    assert!(github_trust().admit(&c).is_ok());
}

#[test]
fn refuses_each_difference_in_order() {
    let trust = github_trust();
    let refuse = |edit: &dyn Fn(&mut CiClaims)| {
        let mut c = github();
        edit(&mut c);
        trust.admit(&c).unwrap_err()
    };
    let e = refuse(&|c| c.issuer = "https://gitlab.com".into());
    assert!(matches!(e, TrustRefusal::Issuer { .. }), "{e}");
    let e = refuse(&|c| c.platform = Platform::GitLab);
    assert!(matches!(e, TrustRefusal::Platform { .. }), "{e}");
    let e = refuse(&|c| c.repository = "acme/other".into());
    assert!(matches!(e, TrustRefusal::Repository { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("app-prod") && text.contains("acme/app") && text.contains("acme/other"),
        "{text}"
    );
    let e = refuse(&|c| c.git_ref = "refs/heads/feature".into());
    assert!(matches!(e, TrustRefusal::Ref { .. }), "{e}");
    // The glob is a prefix: `refs/heads/release` itself is not under it.
    let e = refuse(&|c| c.git_ref = "refs/heads/release".into());
    assert!(matches!(e, TrustRefusal::Ref { .. }), "{e}");
    let e = refuse(&|c| c.ref_protected = false);
    assert!(matches!(e, TrustRefusal::UnprotectedRef { .. }), "{e}");
    let e =
        refuse(&|c| c.workflow = "acme/app/.github/workflows/Deploy.yml@refs/heads/main".into());
    assert!(matches!(e, TrustRefusal::Workflow { .. }), "{e}");
    let e = refuse(&|c| c.workflow = "acme/app/.github/workflows/deploy.yml".into());
    assert!(matches!(e, TrustRefusal::Workflow { .. }), "{e}");
    let e =
        refuse(&|c| c.workflow = "acme/app/.github/workflows/deploy.yml@refs/heads/feature".into());
    assert!(matches!(e, TrustRefusal::WorkflowRef { .. }), "{e}");
    let e = refuse(&|c| c.environment = None);
    assert!(matches!(e, TrustRefusal::NoEnvironment { .. }), "{e}");
    let e = refuse(&|c| c.environment = Some("staging".into()));
    assert!(matches!(e, TrustRefusal::Environment { .. }), "{e}");

    // Earlier checks win: wrong repository and wrong environment names the repository.
    let e = refuse(&|c| {
        c.repository = "acme/other".into();
        c.environment = None;
    });
    assert!(matches!(e, TrustRefusal::Repository { .. }), "{e}");

    // Unprotected refs pass only when the entry says so.
    let mut lax = github_trust();
    lax.require_protected_ref = false;
    let mut c = github();
    c.ref_protected = false;
    assert!(lax.admit(&c).is_ok());
}

#[test]
fn gitlab_repositories_and_workflows_compare_exactly() {
    let trust = PipelineTrust {
        id: "gl".into(),
        issuer: "https://gitlab.example.com".into(),
        audience: "soxctl".into(),
        platform: Platform::GitLab,
        repository: "acme/app".into(),
        repo: "gitlab.example.com/acme/app".into(),
        refs: vec!["refs/tags/v*".into()],
        require_protected_ref: true,
        workflows: vec!["gitlab.example.com/acme/app//.gitlab-ci.yml".into()],
        environments: vec!["prod".into()],
        actor_system: None,
        repository_id: None,
        events: Vec::new(),
    };
    trust.validate().unwrap();
    let c = CiClaims::from_jwt_claims(Platform::GitLab, &gitlab_claims()).unwrap();
    let admitted = trust.admit(&c).unwrap();
    assert_eq!(
        admitted.actor_email.as_deref(),
        Some("kevin.reyes@example.com")
    );
    let mut upper = c.clone();
    upper.repository = "Acme/App".into();
    assert!(matches!(
        trust.admit(&upper),
        Err(TrustRefusal::Repository { .. })
    ));
}

#[test]
fn reads_and_validates_entries() {
    let entry: PipelineTrust = serde_json::from_value(json!({
        "id": "app-prod",
        "issuer": "https://token.actions.githubusercontent.com",
        "audience": "soxctl",
        "platform": "github",
        "repository": "acme/app",
        "repo": "github.com/acme/app",
        "refs": ["refs/heads/main"],
        "workflows": ["acme/app/.github/workflows/deploy.yml"],
        "environments": ["prod"],
    }))
    .unwrap();
    assert!(entry.require_protected_ref);
    assert_eq!(entry.actor_system, None);
    entry.validate().unwrap();

    let unknown = serde_json::from_value::<PipelineTrust>(json!({
        "id": "x", "issuer": "https://a", "audience": "a", "platform": "github",
        "repository": "a/b", "repo": "r", "refs": [], "workflows": [],
        "environments": [], "branches": ["main"],
    }));
    assert!(unknown.is_err());

    let invalid = |edit: &dyn Fn(&mut PipelineTrust)| {
        let mut t = github_trust();
        edit(&mut t);
        t.validate().unwrap_err()
    };
    for (what, e) in [
        ("id", invalid(&|t| t.id = "app prod".into())),
        (
            "issuer",
            invalid(&|t| t.issuer = "http://issuer.example".into()),
        ),
        (
            "issuer",
            invalid(&|t| t.issuer = "http://localhost.evil".into()),
        ),
        ("issuer", invalid(&|t| t.issuer = "https://".into())),
        ("audience", invalid(&|t| t.audience = String::new())),
        ("repository", invalid(&|t| t.repository = "app".into())),
        ("refs", invalid(&|t| t.refs.clear())),
        ("refs", invalid(&|t| t.refs = vec!["main".into()])),
        ("refs", invalid(&|t| t.refs = vec!["refs/*/main".into()])),
        ("workflows", invalid(&|t| t.workflows.clear())),
        (
            "workflows",
            invalid(&|t| {
                t.workflows = vec!["acme/app/.github/workflows/deploy.yml@refs/heads/main".into()]
            }),
        ),
        ("environments", invalid(&|t| t.environments.clear())),
        (
            "environments",
            invalid(&|t| t.environments = vec![" prod".into()]),
        ),
    ] {
        assert!(e.contains("app-prod") || what == "id", "{e}");
        assert!(e.contains(what), "{what}: {e}");
    }
    for local in [
        "http://127.0.0.1:8080",
        "http://localhost",
        "http://localhost/x",
    ] {
        let mut t = github_trust();
        t.issuer = local.into();
        t.validate().unwrap();
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
        Just(Value::String("true".into())),
        Just(Value::String("branch".into())),
        Just(Value::String("tag".into())),
        Just(Value::String("refs/heads/main".into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Claim names both platforms read, so that the maps reach every path.
fn claim_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "iss",
            "sub",
            "repository",
            "project_path",
            "ref",
            "ref_type",
            "ref_protected",
            "job_workflow_ref",
            "ci_config_ref_uri",
            "environment",
            "actor",
            "user_login",
            "user_email",
            "sha",
            "run_id",
            "pipeline_id",
            "event_name",
            "pipeline_source",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,8}",
    ]
}

proptest! {
    #[test]
    fn from_jwt_claims_never_panics(
        entries in prop::collection::vec((claim_name(), json_value()), 0..24),
        base in any::<bool>(),
    ) {
        for platform in [Platform::GitHub, Platform::GitLab] {
            let mut claims = if base { github_claims() } else { Map::new() };
            if base && platform == Platform::GitLab {
                claims = gitlab_claims();
            }
            for (name, value) in &entries {
                claims.insert(name.clone(), value.clone());
            }
            if let Ok(c) = CiClaims::from_jwt_claims(platform, &claims) {
                for text in [&c.issuer, &c.subject, &c.repository, &c.workflow, &c.actor] {
                    prop_assert!(!text.is_empty() && text.len() <= MAX_CLAIM_LEN);
                    prop_assert!(!text.chars().any(hidden));
                }
                prop_assert!(c.git_ref.starts_with("refs/") && c.git_ref.len() <= MAX_CLAIM_LEN);
                let _ = github_trust().admit(&c);
            }
        }
    }
}
