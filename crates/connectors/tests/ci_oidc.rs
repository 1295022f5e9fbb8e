//! CI ID tokens against a real issuer: testkit's [`OidcIssuer`] (keys from
//! the `openssl` CLI, discovery and JWKS over HTTP on loopback) signs
//! GitHub- and GitLab-shaped tokens, good and bad; the verifier fetches its
//! keys like it would GitHub's. Then pipeline trust entries admit or refuse
//! the verified claims. A missing `openssl` fails the tests; nothing is
//! skipped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use soxctl_connectors::ci_oidc::{
    IssuerConfig, KEY_TTL_SECONDS, MAX_TOKEN_BYTES, OidcError, OidcVerifier, REFETCH_SECONDS,
};
use soxctl_model::clock::{Clock, SystemClock};
use soxctl_model::ids::SystemId;
use soxctl_model::pipeline::{
    AdmittedPipeline, CiClaims, ClaimsError, PipelineTrust, Platform, TrustRefusal,
};
use soxctl_testkit::{OIDC_AUDIENCE, OidcIssuer};

const SHA: &str = "5d3a1f0e9c7b4a2d8e6f1c3b5a7d9e0f2c4b6a8d";

fn now() -> i64 {
    SystemClock.now().as_datetime().timestamp()
}

fn issuer() -> OidcIssuer {
    OidcIssuer::start().unwrap()
}

fn verifier(issuer: &OidcIssuer, platform: Platform) -> OidcVerifier {
    verifier_for(IssuerConfig::new(issuer.url(), platform))
}

fn verifier_for(config: IssuerConfig) -> OidcVerifier {
    let tls = soxctl_connectors::tls::client_config(None).unwrap();
    OidcVerifier::new(vec![config], tls).unwrap()
}

#[tokio::test]
async fn a_github_token_verifies_into_its_claims() {
    let issuer = issuer();
    let verifier = verifier(&issuer, Platform::GitHub);
    let token = issuer.github_token(json!({})).unwrap();
    let claims = verifier.verify(&token, OIDC_AUDIENCE, now()).await.unwrap();
    assert_eq!(
        claims,
        CiClaims {
            issuer: issuer.url().to_owned(),
            subject: "repo:acme/app:environment:prod".into(),
            platform: Platform::GitHub,
            repository: "acme/app".into(),
            git_ref: "refs/heads/main".into(),
            ref_protected: true,
            workflow: "acme/app/.github/workflows/deploy.yml@refs/heads/main".into(),
            environment: Some("prod".into()),
            actor: "kevin-reyes".into(),
            actor_email: None,
            sha: Some(SHA.into()),
            run_id: Some("8411".into()),
            event: Some("push".into()),
            repository_id: Some("74".into()),
        }
    );
    // One discovery and one key set fetch; the second token uses the cache.
    let again = issuer.github_token(json!({"run_id": "8412"})).unwrap();
    let claims = verifier.verify(&again, OIDC_AUDIENCE, now()).await.unwrap();
    assert_eq!(claims.run_id.as_deref(), Some("8412"));
    assert_eq!((issuer.discovery_fetches(), issuer.jwks_fetches()), (1, 1));

    // The raw claims are the verified ones, for jti and the like.
    let (platform, raw) = verifier
        .verify_raw(&token, OIDC_AUDIENCE, now())
        .await
        .unwrap();
    assert_eq!(platform, Platform::GitHub);
    assert_eq!(raw["repository_owner"], "acme");
}

#[tokio::test]
async fn a_gitlab_token_verifies_into_its_claims() {
    let issuer = issuer();
    let verifier = verifier(&issuer, Platform::GitLab);
    let token = issuer.gitlab_token(json!({})).unwrap();
    let claims = verifier.verify(&token, OIDC_AUDIENCE, now()).await.unwrap();
    assert_eq!(
        claims,
        CiClaims {
            issuer: issuer.url().to_owned(),
            subject: "project_path:acme/app:ref_type:branch:ref:main".into(),
            platform: Platform::GitLab,
            repository: "acme/app".into(),
            git_ref: "refs/heads/main".into(),
            ref_protected: true,
            workflow: "gitlab.example.com/acme/app//.gitlab-ci.yml@refs/heads/main".into(),
            environment: Some("prod".into()),
            actor: "kevin-reyes".into(),
            actor_email: Some("kevin.reyes@example.com".into()),
            sha: Some(SHA.into()),
            run_id: Some("574".into()),
            event: Some("push".into()),
            repository_id: Some("20".into()),
        }
    );
    let tag = issuer
        .gitlab_token(json!({"ref": "v2.0", "ref_type": "tag", "ref_protected": "false"}))
        .unwrap();
    let claims = verifier.verify(&tag, OIDC_AUDIENCE, now()).await.unwrap();
    assert_eq!(claims.git_ref, "refs/tags/v2.0");
    assert!(!claims.ref_protected);

    // A GitHub-shaped token from an issuer configured as GitLab lacks its claims.
    let github = issuer.github_token(json!({})).unwrap();
    let e = verifier
        .verify(&github, OIDC_AUDIENCE, now())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            OidcError::Claims(ClaimsError::Missing {
                claim: "project_path",
                ..
            })
        ),
        "{e}"
    );
}

#[tokio::test]
async fn bad_tokens_are_refused_for_what_is_wrong() {
    let issuer = issuer();
    let verifier = verifier(&issuer, Platform::GitHub);
    let now = now();
    let verify = |token: String| {
        let verifier = &verifier;
        async move { verifier.verify(&token, OIDC_AUDIENCE, now).await }
    };

    // Expired, beyond the leeway; within it, still good.
    let e = verify(
        issuer
            .github_token(json!({"iat": now - 400, "nbf": now - 400, "exp": now - 100}))
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e,
        OidcError::Expired {
            exp: now - 100,
            now
        }
    );
    assert!(e.to_string().contains("fresh token"), "{e}");
    verify(
        issuer
            .github_token(json!({"iat": now - 330, "nbf": now - 330, "exp": now - 30}))
            .unwrap(),
    )
    .await
    .unwrap();

    // Not yet valid, by `nbf` and by `iat`.
    let e = verify(
        issuer
            .github_token(json!({"nbf": now + 300, "exp": now + 900}))
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, OidcError::NotYetValid { claim: "nbf", .. }),
        "{e}"
    );
    let e = verify(
        issuer
            .github_token(json!({"iat": now + 300, "nbf": null, "exp": now + 900}))
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, OidcError::NotYetValid { claim: "iat", .. }),
        "{e}"
    );
    let e = verify(issuer.github_token(json!({"exp": null})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e, OidcError::MissingExpiry);

    // Another audience; a list holding ours is fine.
    let e = verify(
        issuer
            .github_token(json!({"aud": "https://github.com/acme"}))
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e,
        OidcError::WrongAudience {
            expected: OIDC_AUDIENCE.into(),
            seen: vec!["https://github.com/acme".into()],
        }
    );
    verify(
        issuer
            .github_token(json!({"aud": ["https://github.com/acme", OIDC_AUDIENCE]}))
            .unwrap(),
    )
    .await
    .unwrap();

    // Another issuer, signed by this issuer's key: still not trusted.
    let e = verify(
        issuer
            .github_token(json!({"iss": "https://token.actions.githubusercontent.com"}))
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, OidcError::UnknownIssuer { seen, configured }
            if seen == "https://token.actions.githubusercontent.com"
                && configured == &[issuer.url().to_owned()]),
        "{e}"
    );
    // A trailing slash is another issuer: `iss` compares exactly.
    let e = verify(
        issuer
            .github_token(json!({"iss": format!("{}/", issuer.url())}))
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, OidcError::UnknownIssuer { .. }), "{e}");

    // Signed by a key the issuer never published, under its kid.
    let e = verify(issuer.foreign_token(json!({})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        e,
        OidcError::BadSignature {
            issuer: issuer.url().into(),
            kid: issuer.kid(),
        }
    );
    // A good signature over other claims: the payload swapped for one that
    // names another environment.
    let good = issuer.github_token(json!({})).unwrap();
    let other = issuer.github_token(json!({"environment": "dev"})).unwrap();
    let good: Vec<&str> = good.split('.').collect();
    let other: Vec<&str> = other.split('.').collect();
    let spliced = format!("{}.{}.{}", good[0], other[1], good[2]);
    let e = verify(spliced).await.unwrap_err();
    assert!(matches!(e, OidcError::BadSignature { .. }), "{e}");

    // `alg: none`, and HS256 keyed with the public key (algorithm confusion).
    let e = verify(issuer.unsigned_token(json!({})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e, OidcError::UnsupportedAlgorithm { alg: "none".into() });
    let e = verify(issuer.hs256_token(json!({})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        e,
        OidcError::UnsupportedAlgorithm {
            alg: "HS256".into()
        }
    );
    // `alg: none` with a signature part appended is no better.
    let unsigned = issuer.unsigned_token(json!({})).unwrap();
    let e = verify(format!("{unsigned}{}", good[2])).await.unwrap_err();
    assert!(matches!(e, OidcError::UnsupportedAlgorithm { .. }), "{e}");
    // The RS256 key claimed for ES256.
    let es256 = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": issuer.kid()}).to_string()),
        good[1],
        good[2]
    );
    let e = verify(es256).await.unwrap_err();
    assert!(matches!(e, OidcError::AlgorithmMismatch { .. }), "{e}");

    // Garbage, and a token too large to read.
    for garbage in [
        "",
        "not a token",
        "a.b.c",
        "....",
        "eyJhbGciOiJSUzI1NiJ9",
        "Bearer x.y.z",
    ] {
        let e = verify(garbage.into()).await.unwrap_err();
        assert!(matches!(e, OidcError::Malformed { .. }), "{garbage:?}: {e}");
    }
    let big = issuer
        .github_token(json!({"padding": "x".repeat(MAX_TOKEN_BYTES)}))
        .unwrap();
    let e = verify(big.clone()).await.unwrap_err();
    assert_eq!(
        e,
        OidcError::TooLarge {
            len: big.len(),
            max: MAX_TOKEN_BYTES
        }
    );

    // No message repeats the token.
    let token = issuer
        .github_token(json!({"exp": now - 3600, "iat": now - 4000, "nbf": null}))
        .unwrap();
    let e = verify(token.clone()).await.unwrap_err().to_string();
    for part in token.split('.') {
        assert!(!e.contains(part), "{e}");
    }
}

#[tokio::test]
async fn tokens_of_another_issuer_are_refused_even_under_a_known_kid() {
    let trusted = issuer();
    let other = issuer();
    assert_eq!(trusted.kid(), other.kid());
    let verifier = verifier(&trusted, Platform::GitHub);
    let now = now();
    verifier
        .verify(
            &trusted.github_token(json!({})).unwrap(),
            OIDC_AUDIENCE,
            now,
        )
        .await
        .unwrap();

    // The other issuer's own token: not a configured issuer.
    let e = verifier
        .verify(&other.github_token(json!({})).unwrap(), OIDC_AUDIENCE, now)
        .await
        .unwrap_err();
    assert!(matches!(e, OidcError::UnknownIssuer { .. }), "{e}");

    // The other issuer claiming to be the trusted one, same kid: the
    // trusted issuer's key does not verify it.
    let forged = other.github_token(json!({"iss": trusted.url()})).unwrap();
    let e = verifier
        .verify(&forged, OIDC_AUDIENCE, now)
        .await
        .unwrap_err();
    assert!(matches!(e, OidcError::BadSignature { .. }), "{e}");
    assert_eq!(other.jwks_fetches(), 0);
}

#[tokio::test]
async fn rotated_keys_are_fetched_at_most_every_30_seconds() {
    let issuer = issuer();
    let verifier = verifier(&issuer, Platform::GitHub);
    let t0 = now();
    let first = issuer.github_token(json!({})).unwrap();
    verifier.verify(&first, OIDC_AUDIENCE, t0).await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 1);

    // A new key signs from now on. Right after a fetch, an unknown kid does
    // not make the verifier ask again.
    let kid = issuer.rotate_key().unwrap();
    assert_eq!(issuer.kid(), kid);
    let rotated = issuer.github_token(json!({})).unwrap();
    let e = verifier
        .verify(&rotated, OIDC_AUDIENCE, t0 + 1)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        OidcError::UnknownKeyId {
            issuer: issuer.url().into(),
            kid: kid.clone(),
            rate_limited: true,
        }
    );
    assert_eq!(issuer.jwks_fetches(), 1);

    // Once the interval has passed, the unknown kid fetches the key set again.
    let t1 = t0 + REFETCH_SECONDS;
    let claims = verifier.verify(&rotated, OIDC_AUDIENCE, t1).await.unwrap();
    assert_eq!(claims.actor, "kevin-reyes");
    assert_eq!(issuer.jwks_fetches(), 2);
    // The old key is still published, and cached.
    verifier
        .verify(&first, OIDC_AUDIENCE, t1 + 1)
        .await
        .unwrap();
    assert_eq!(issuer.jwks_fetches(), 2);

    // Tokens under kids nobody published cost one fetch per interval at most.
    issuer.rotate_key().unwrap();
    let third = issuer.github_token(json!({})).unwrap();
    for dt in [2, 10, REFETCH_SECONDS - 1] {
        let e = verifier
            .verify(&third, OIDC_AUDIENCE, t1 + dt)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                OidcError::UnknownKeyId {
                    rate_limited: true,
                    ..
                }
            ),
            "{e}"
        );
    }
    assert_eq!(issuer.jwks_fetches(), 2);
    verifier
        .verify(&third, OIDC_AUDIENCE, t1 + REFETCH_SECONDS)
        .await
        .unwrap();
    assert_eq!(issuer.jwks_fetches(), 3);
}

#[tokio::test]
async fn es256_keys_verify_too() {
    let issuer = issuer();
    let kid = issuer.rotate_key_es256().unwrap();
    let verifier = verifier(&issuer, Platform::GitHub);
    let token = issuer.github_token(json!({})).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let header = URL_SAFE_NO_PAD.decode(parts[0]).unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("ES256"), Some(kid.as_str()))
    );
    let claims = verifier.verify(&token, OIDC_AUDIENCE, now()).await.unwrap();
    assert_eq!(claims.repository, "acme/app");

    // Another payload under the ES256 signature.
    let other = issuer.github_token(json!({"environment": "dev"})).unwrap();
    let other: Vec<&str> = other.split('.').collect();
    let spliced = format!("{}.{}.{}", parts[0], other[1], parts[2]);
    let e = verifier
        .verify(&spliced, OIDC_AUDIENCE, now())
        .await
        .unwrap_err();
    assert!(matches!(e, OidcError::BadSignature { .. }), "{e}");
    // The P-256 key claimed for RS256.
    let rs256 = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "kid": kid}).to_string());
    let e = verifier
        .verify(
            &format!("{rs256}.{}.{}", parts[1], parts[2]),
            OIDC_AUDIENCE,
            now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, OidcError::AlgorithmMismatch { .. }), "{e}");
}

#[tokio::test]
async fn cached_keys_expire() {
    let issuer = issuer();
    let verifier = verifier(&issuer, Platform::GitHub);
    let t0 = now();
    let token = issuer
        .github_token(json!({"exp": t0 + 2 * KEY_TTL_SECONDS}))
        .unwrap();
    verifier.verify(&token, OIDC_AUDIENCE, t0).await.unwrap();
    verifier
        .verify(&token, OIDC_AUDIENCE, t0 + KEY_TTL_SECONDS - 1)
        .await
        .unwrap();
    assert_eq!(issuer.jwks_fetches(), 1);
    verifier
        .verify(&token, OIDC_AUDIENCE, t0 + KEY_TTL_SECONDS)
        .await
        .unwrap();
    assert_eq!(issuer.jwks_fetches(), 2);
}

#[tokio::test]
async fn keys_come_from_the_issuers_own_host_unless_configured() {
    let issuer = issuer();
    let port = issuer.url().rsplit(':').next().unwrap().to_owned();
    let elsewhere = format!("http://localhost:{port}/jwks");
    issuer.set_jwks_uri(&elsewhere);
    let token = issuer.github_token(json!({})).unwrap();

    let e = verifier(&issuer, Platform::GitHub)
        .verify(&token, OIDC_AUDIENCE, now())
        .await
        .unwrap_err();
    assert!(matches!(e, OidcError::IssuerKeys { .. }), "{e}");
    assert!(e.to_string().contains("jwks_uri"), "{e}");
    assert_eq!(issuer.jwks_fetches(), 0);

    // Configured, the key set may be elsewhere (and discovery is not asked).
    let mut config = IssuerConfig::new(issuer.url(), Platform::GitHub);
    config.jwks_uri = Some(elsewhere);
    let fetched = issuer.discovery_fetches();
    verifier_for(config)
        .verify(&token, OIDC_AUDIENCE, now())
        .await
        .unwrap();
    assert_eq!(issuer.discovery_fetches(), fetched);
    assert_eq!(issuer.jwks_fetches(), 1);
}

#[tokio::test]
async fn an_unreachable_issuer_is_reported_and_not_hammered() {
    let issuer = issuer();
    // A loopback port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}");
    let verifier = verifier_for(IssuerConfig::new(url.clone(), Platform::GitHub));
    let token = issuer.github_token(json!({"iss": url})).unwrap();
    let t0 = now();
    for t in [t0, t0 + 1] {
        let e = verifier.verify(&token, OIDC_AUDIENCE, t).await.unwrap_err();
        assert!(
            matches!(&e, OidcError::IssuerUnreachable { issuer, .. } if *issuer == url),
            "{e}"
        );
    }
}

#[test]
fn verifier_configuration_is_checked() {
    let tls = soxctl_connectors::tls::client_config(None).unwrap();
    let new = |issuers: Vec<IssuerConfig>| OidcVerifier::new(issuers, tls.clone());
    let gh = |url: &str| IssuerConfig::new(url, Platform::GitHub);
    assert!(new(vec![gh("https://token.actions.githubusercontent.com")]).is_ok());
    assert!(new(vec![gh("http://127.0.0.1:8080")]).is_ok());
    for bad in [
        "http://issuer.example",
        "token.actions.githubusercontent.com",
        "https://a/?x=1",
    ] {
        assert!(new(vec![gh(bad)]).is_err(), "{bad}");
    }
    let e = new(vec![gh("https://gitlab.com"), gh("https://gitlab.com")])
        .err()
        .unwrap();
    assert!(e.contains("twice"), "{e}");
}

const TRUST: &str = r#"
id = "app-prod"
issuer = "ISSUER"
audience = "soxctl"
platform = "github"
repository = "acme/app"
repo = "github.com/acme/app"
refs = ["refs/heads/main", "refs/heads/release/*"]
workflows = ["acme/app/.github/workflows/deploy.yml"]
environments = ["prod"]
actor_system = "github"
"#;

#[tokio::test]
async fn trust_entries_admit_verified_pipelines_and_refuse_others() {
    let issuer = issuer();
    let verifier = verifier(&issuer, Platform::GitHub);
    let trust: PipelineTrust = toml::from_str(&TRUST.replace("ISSUER", issuer.url())).unwrap();
    trust.validate().unwrap();
    assert!(trust.require_protected_ref);
    let now = now();
    let admit = |over: Value| {
        let verifier = &verifier;
        let trust = &trust;
        let token = issuer.github_token(over).unwrap();
        async move {
            let claims = verifier.verify(&token, &trust.audience, now).await.unwrap();
            trust.admit(&claims)
        }
    };

    assert_eq!(
        admit(json!({})).await.unwrap(),
        AdmittedPipeline {
            trust_id: "app-prod".into(),
            repo: "github.com/acme/app".into(),
            environment: "prod".into(),
            actor: "kevin-reyes".into(),
            actor_email: None,
            actor_system: Some(SystemId::parse("github").unwrap()),
            sha: Some(SHA.into()),
            run_id: Some("8411".into()),
            workflow: "acme/app/.github/workflows/deploy.yml@refs/heads/main".into(),
            git_ref: "refs/heads/main".into(),
        }
    );
    let release = "refs/heads/release/2.4";
    admit(json!({
        "ref": release,
        "job_workflow_ref": format!("acme/app/.github/workflows/deploy.yml@{release}"),
    }))
    .await
    .unwrap();

    let e = admit(json!({"repository": "acme/other", "sub": "repo:acme/other:environment:prod"}))
        .await
        .unwrap_err();
    assert!(matches!(e, TrustRefusal::Repository { .. }), "{e}");
    assert!(e.to_string().contains("acme/other"), "{e}");

    let e = admit(json!({"ref_protected": "false"})).await.unwrap_err();
    assert!(matches!(e, TrustRefusal::UnprotectedRef { .. }), "{e}");

    let e = admit(json!({"ref": "refs/heads/feature/x",
        "job_workflow_ref": "acme/app/.github/workflows/deploy.yml@refs/heads/feature/x"}))
    .await
    .unwrap_err();
    assert!(matches!(e, TrustRefusal::Ref { .. }), "{e}");

    let e = admit(json!({
        "job_workflow_ref": "acme/app/.github/workflows/ci.yml@refs/heads/main"
    }))
    .await
    .unwrap_err();
    assert!(matches!(e, TrustRefusal::Workflow { .. }), "{e}");
    assert!(e.to_string().contains("ci.yml"), "{e}");

    // The trusted file, but as defined on an untrusted branch.
    let e = admit(json!({
        "job_workflow_ref": "acme/app/.github/workflows/deploy.yml@refs/heads/feature/x"
    }))
    .await
    .unwrap_err();
    assert!(matches!(e, TrustRefusal::WorkflowRef { .. }), "{e}");

    let e = admit(json!({"environment": "staging"})).await.unwrap_err();
    assert!(matches!(e, TrustRefusal::Environment { .. }), "{e}");
    let e = admit(json!({"environment": null})).await.unwrap_err();
    assert!(matches!(e, TrustRefusal::NoEnvironment { .. }), "{e}");

    // An entry with a key it does not know is refused when read.
    let typo = TRUST.replace("environments", "environment");
    assert!(toml::from_str::<PipelineTrust>(&typo).is_err());
}
