//! CI identity federation for the change gate: what a CI system's OIDC ID
//! token says about the pipeline that holds it (GitHub Actions `id-token`,
//! GitLab CI `id_tokens`), and the trust entries that decide which
//! pipelines may act for which repository and environment.
//!
//! soxctl trusts the issuer's signature, never what a pipeline says about
//! itself: [`CiClaims`] is built only from a token's claims once its
//! signature, issuer, audience and times have been verified (the connectors'
//! `ci_oidc` adapter does that). Even then every value came from outside and
//! is bounded here. [`PipelineTrust::admit`] then compares the claims with one
//! configured entry, field by field, and names the first that differs.
//!
//! Pure: no IO, no clock.

use crate::ids::SystemId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Longest claim value accepted, in bytes: GitHub's and GitLab's longest
/// (workflow refs, subjects) stay far below it.
pub const MAX_CLAIM_LEN: usize = 512;

/// The CI system that minted a token. Each names the same facts with its
/// own claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    #[serde(rename = "github")]
    GitHub,
    #[serde(rename = "gitlab")]
    GitLab,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GitHub => "github",
            Self::GitLab => "gitlab",
        }
    }

    /// How a pipeline on this platform asks for a token, for hints.
    fn token_hint(self) -> &'static str {
        match self {
            Self::GitHub => {
                "use the ID token GitHub Actions mints for the job (`permissions: id-token: write`)"
            }
            Self::GitLab => "use an ID token from the job's `id_tokens:` keyword",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The validated, platform-independent claims of a verified CI token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiClaims {
    /// `iss`, e.g. `https://token.actions.githubusercontent.com`.
    pub issuer: String,
    /// `sub`, e.g. `repo:acme/app:environment:prod`.
    pub subject: String,
    pub platform: Platform,
    /// GitHub `repository` (`acme/app`); GitLab `project_path`.
    pub repository: String,
    /// The full ref, `refs/heads/main` or `refs/tags/v1.2`.
    pub git_ref: String,
    /// Whether the CI system protects that ref (branch protection,
    /// protected branches and tags).
    pub ref_protected: bool,
    /// The pipeline definition at its ref: GitHub `job_workflow_ref`
    /// (`acme/app/.github/workflows/deploy.yml@refs/heads/main`); GitLab
    /// `ci_config_ref_uri` (`gitlab.example.com/acme/app//.gitlab-ci.yml@refs/heads/main`).
    pub workflow: String,
    /// The deployment environment of the job, if it names one.
    pub environment: Option<String>,
    /// GitHub `actor` (a login); GitLab `user_login`.
    pub actor: String,
    /// GitLab `user_email`; GitHub sends none.
    pub actor_email: Option<String>,
    pub sha: Option<String>,
    /// GitHub `run_id`; GitLab `pipeline_id`.
    pub run_id: Option<String>,
    /// GitHub `event_name` (`push`, `workflow_dispatch`…); GitLab
    /// `pipeline_source` (`push`, `web`…).
    pub event: Option<String>,
    /// The repository's immutable id: GitHub `repository_id`, GitLab
    /// `project_id` (a name can be taken over after a rename; the id not).
    pub repository_id: Option<String>,
}

/// A claim a verified token lacks or carries in a form soxctl cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error(
        "the {platform} token has no `{claim}` claim, which soxctl needs for {purpose}: {hint}"
    )]
    Missing {
        platform: Platform,
        claim: &'static str,
        purpose: &'static str,
        hint: &'static str,
    },
    #[error("the {platform} token's `{claim}` claim {problem}: {hint}")]
    Malformed {
        platform: Platform,
        claim: &'static str,
        problem: String,
        hint: &'static str,
    },
}

/// Where each fact is in one platform's tokens.
struct Names {
    repository: &'static str,
    workflow: &'static str,
    actor: &'static str,
    actor_email: Option<&'static str>,
    run_id: &'static str,
    event: &'static str,
    repository_id: &'static str,
}

const GITHUB: Names = Names {
    repository: "repository",
    workflow: "job_workflow_ref",
    actor: "actor",
    actor_email: None,
    run_id: "run_id",
    event: "event_name",
    repository_id: "repository_id",
};

const GITLAB: Names = Names {
    repository: "project_path",
    workflow: "ci_config_ref_uri",
    actor: "user_login",
    actor_email: Some("user_email"),
    run_id: "pipeline_id",
    event: "pipeline_source",
    repository_id: "project_id",
};

/// Reads one platform's claims; every read bounds and checks its value.
struct Reader<'a> {
    platform: Platform,
    claims: &'a Map<String, Value>,
}

impl Reader<'_> {
    fn missing(&self, claim: &'static str, purpose: &'static str) -> ClaimsError {
        ClaimsError::Missing {
            platform: self.platform,
            claim,
            purpose,
            hint: self.platform.token_hint(),
        }
    }

    fn malformed(&self, claim: &'static str, problem: impl Into<String>) -> ClaimsError {
        ClaimsError::Malformed {
            platform: self.platform,
            claim,
            problem: problem.into(),
            hint: "the token is not one the CI system mints; check the issuer configured for it",
        }
    }

    /// A required text claim.
    fn text(&self, claim: &'static str, purpose: &'static str) -> Result<String, ClaimsError> {
        self.optional(claim)?
            .ok_or_else(|| self.missing(claim, purpose))
    }

    /// An optional text claim: absent, null and `""` are all none. Numbers
    /// (GitLab and GitHub ids) are taken as their decimal text.
    fn optional(&self, claim: &'static str) -> Result<Option<String>, ClaimsError> {
        let text = match self.claims.get(claim) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
            Some(other) => {
                return Err(self.malformed(claim, format!("is {}, not text", kind(other))));
            }
        };
        if text.is_empty() {
            return Ok(None);
        }
        if text.len() > MAX_CLAIM_LEN {
            return Err(self.malformed(
                claim,
                format!(
                    "is {} bytes long, more than the {MAX_CLAIM_LEN} soxctl accepts",
                    text.len()
                ),
            ));
        }
        if let Some(c) = text.chars().find(|&c| hidden(c)) {
            return Err(self.malformed(
                claim,
                format!("holds the control character {}", c.escape_unicode()),
            ));
        }
        Ok(Some(text))
    }

    /// `"true"` or `"false"` (both platforms send text); a JSON boolean is
    /// taken too.
    fn flag(&self, claim: &'static str, purpose: &'static str) -> Result<bool, ClaimsError> {
        match self.claims.get(claim) {
            None | Some(Value::Null) => Err(self.missing(claim, purpose)),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s == "true" => Ok(true),
            Some(Value::String(s)) if s == "false" => Ok(false),
            Some(other) => Err(self.malformed(
                claim,
                format!("is {}, not \"true\" or \"false\"", kind(other)),
            )),
        }
    }

    /// The full ref: GitHub sends it; GitLab sends the short name and its type.
    fn git_ref(&self) -> Result<String, ClaimsError> {
        let purpose = "checking the ref the pipeline runs on";
        let name = self.text("ref", purpose)?;
        let full = match self.platform {
            Platform::GitHub => name,
            Platform::GitLab => match self.text("ref_type", purpose)?.as_str() {
                "branch" => format!("refs/heads/{name}"),
                "tag" => format!("refs/tags/{name}"),
                other => {
                    return Err(self.malformed(
                        "ref_type",
                        format!("is {other:?}, neither \"branch\" nor \"tag\""),
                    ));
                }
            },
        };
        if !full.starts_with("refs/") {
            return Err(self.malformed(
                "ref",
                format!("is {full:?}, not a full ref (refs/heads/…, refs/tags/…)"),
            ));
        }
        if full.len() > MAX_CLAIM_LEN {
            return Err(self.malformed(
                "ref",
                format!("makes a full ref longer than {MAX_CLAIM_LEN} bytes"),
            ));
        }
        Ok(full)
    }
}

/// Characters a claim may not hold: controls (C0, DEL, C1), and the
/// bidirectional overrides that make text display other than it reads.
fn hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl CiClaims {
    /// The claims of a verified token of `platform`, read by the names that
    /// platform documents.
    pub fn from_jwt_claims(
        platform: Platform,
        claims: &Map<String, Value>,
    ) -> Result<CiClaims, ClaimsError> {
        let names = match platform {
            Platform::GitHub => &GITHUB,
            Platform::GitLab => &GITLAB,
        };
        let r = Reader { platform, claims };
        Ok(CiClaims {
            issuer: r.text("iss", "knowing who issued the token")?,
            subject: r.text("sub", "recording which pipeline the token names")?,
            platform,
            repository: r.text(names.repository, "checking the repository")?,
            git_ref: r.git_ref()?,
            ref_protected: r.flag("ref_protected", "checking that the ref is protected")?,
            workflow: r.text(names.workflow, "checking the workflow that runs")?,
            environment: r.optional("environment")?,
            actor: r.text(names.actor, "recording who started the pipeline")?,
            actor_email: match names.actor_email {
                Some(claim) => r.optional(claim)?,
                None => None,
            },
            sha: r.optional("sha")?,
            run_id: r.optional(names.run_id)?,
            event: r.optional(names.event)?,
            repository_id: r.optional(names.repository_id)?,
        })
    }
}

fn yes() -> bool {
    true
}

/// One pipeline soxctl trusts: a `[[pipeline]]` table of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineTrust {
    /// Names the entry in refusals and records.
    pub id: String,
    /// The token's `iss`, exactly (`https://token.actions.githubusercontent.com`,
    /// `https://gitlab.com`).
    pub issuer: String,
    /// The audience the pipeline asks its token for; soxctl's verifier
    /// checks the token's `aud` holds it.
    pub audience: String,
    pub platform: Platform,
    /// The repository claim exactly (GitHub `acme/app`, case-insensitively
    /// as GitHub names are; GitLab `project_path`).
    pub repository: String,
    /// soxctl's name for the repository in its deployment records
    /// (`github.com/acme/app`).
    pub repo: String,
    /// Full refs that may deploy; a trailing `*` matches any rest
    /// (`refs/heads/release/*`).
    pub refs: Vec<String>,
    /// Whether the ref must be protected in the CI system.
    #[serde(default = "yes")]
    pub require_protected_ref: bool,
    /// Workflow files that may deploy, without the `@ref` part
    /// (`acme/app/.github/workflows/deploy.yml`, `gitlab.com/acme/app//.gitlab-ci.yml`).
    pub workflows: Vec<String>,
    /// Environments the job must run in; a token without one is refused.
    pub environments: Vec<String>,
    /// The soxctl system whose account ids are the CI logins (`github`).
    #[serde(default)]
    pub actor_system: Option<SystemId>,
    /// The repository's immutable id (GitHub `repository_id`, GitLab
    /// `project_id`): pins the repository itself, not a name someone could
    /// take over after a rename.
    #[serde(default)]
    pub repository_id: Option<String>,
    /// The events that may deploy (GitHub `event_name`, GitLab
    /// `pipeline_source`), e.g. `["push", "workflow_dispatch"]`; empty: any.
    #[serde(default)]
    pub events: Vec<String>,
}

/// A pipeline a trust entry admitted: what a deployment record holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdmittedPipeline {
    pub trust_id: String,
    /// soxctl's name for the repository (the entry's `repo`).
    pub repo: String,
    pub environment: String,
    /// The CI login that started the pipeline.
    pub actor: String,
    pub actor_email: Option<String>,
    /// Where `actor` is an account id, if the entry says.
    pub actor_system: Option<SystemId>,
    pub sha: Option<String>,
    pub run_id: Option<String>,
    /// The workflow claim as the token states it (`path@ref`).
    pub workflow: String,
    /// The full ref the pipeline ran on.
    pub git_ref: String,
}

/// Why a trust entry does not admit a verified token. One variant per check,
/// in the order [`PipelineTrust::admit`] makes them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustRefusal {
    #[error(
        "pipeline trust {trust:?} accepts tokens from issuer {expected:?}, this one is from {seen:?}: use the entry for that issuer, or fix `issuer`"
    )]
    Issuer {
        trust: String,
        expected: String,
        seen: String,
    },
    #[error(
        "pipeline trust {trust:?} is for {expected} pipelines, this token is from {seen}: use an entry with platform = \"{seen}\""
    )]
    Platform {
        trust: String,
        expected: Platform,
        seen: Platform,
    },
    #[error(
        "pipeline trust {trust:?} is for repository {expected:?}, the token is for {seen:?}: deploy from that repository, or add an entry for this one (if it was renamed, update `repository`)"
    )]
    Repository {
        trust: String,
        expected: String,
        seen: String,
    },
    #[error(
        "pipeline trust {trust:?} lets refs {expected:?} deploy, the pipeline runs on {seen:?}: deploy from one of them, or add the ref to `refs`"
    )]
    Ref {
        trust: String,
        expected: Vec<String>,
        seen: String,
    },
    #[error(
        "pipeline trust {trust:?} requires a protected ref, and {seen:?} is not protected: protect it in the CI system (GitHub branch protection or rulesets, GitLab protected branches and tags), or set require_protected_ref = false"
    )]
    UnprotectedRef { trust: String, seen: String },
    #[error(
        "pipeline trust {trust:?} is for the repository with id {expected:?}, the token's is {seen:?}: the repository was renamed or replaced; check it and update `repository_id`"
    )]
    RepositoryId {
        trust: String,
        expected: String,
        seen: String,
    },
    #[error(
        "pipeline trust {trust:?} lets events {expected:?} deploy, the pipeline ran for {seen:?}: deploy from one of them, or add it to `events`"
    )]
    Event {
        trust: String,
        expected: Vec<String>,
        seen: String,
    },
    #[error(
        "pipeline trust {trust:?} lets workflows {expected:?} deploy, the token comes from {seen:?}: deploy from one of them, or add the file (without @ref) to `workflows`"
    )]
    Workflow {
        trust: String,
        expected: Vec<String>,
        seen: String,
    },
    #[error(
        "pipeline trust {trust:?}: workflow {seen:?} is taken from ref {workflow_ref:?}, neither the pipeline's ref {git_ref:?} nor one of {expected:?}: run the workflow as defined on a trusted ref"
    )]
    WorkflowRef {
        trust: String,
        expected: Vec<String>,
        git_ref: String,
        workflow_ref: String,
        seen: String,
    },
    #[error(
        "pipeline trust {trust:?} requires an environment ({expected:?}) and the job names none: set `environment:` on the deploying job"
    )]
    NoEnvironment {
        trust: String,
        expected: Vec<String>,
    },
    #[error(
        "pipeline trust {trust:?} lets environments {expected:?} deploy, the job runs in {seen:?}: deploy through one of them, or add it to `environments`"
    )]
    Environment {
        trust: String,
        expected: Vec<String>,
        seen: String,
    },
}

/// `pattern` is a full ref, or a prefix followed by `*`.
fn ref_matches(pattern: &str, git_ref: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => git_ref.starts_with(prefix),
        None => pattern == git_ref,
    }
}

/// `a` and `b` name the same workflow file: on GitHub the leading
/// `owner/repo/` is compared case-insensitively (as GitHub names are), the
/// file path exactly.
fn same_workflow(platform: Platform, a: &str, b: &str) -> bool {
    match platform {
        Platform::GitLab => a == b,
        Platform::GitHub => {
            let (a_repo, a_path) = split_repo(a);
            let (b_repo, b_path) = split_repo(b);
            a_repo.eq_ignore_ascii_case(b_repo) && a_path == b_path
        }
    }
}

/// `owner/repo/` and the rest.
fn split_repo(workflow: &str) -> (&str, &str) {
    let end = workflow
        .match_indices('/')
        .nth(1)
        .map_or(workflow.len(), |(i, _)| i + 1);
    workflow.split_at(end)
}

impl PipelineTrust {
    /// Admits `claims` (of a verified token), or says which check failed.
    /// Checks issuer, platform, repository, ref and its protection, workflow,
    /// environment, in that order.
    pub fn admit(&self, claims: &CiClaims) -> Result<AdmittedPipeline, TrustRefusal> {
        let trust = || self.id.clone();
        if claims.issuer != self.issuer {
            return Err(TrustRefusal::Issuer {
                trust: trust(),
                expected: self.issuer.clone(),
                seen: claims.issuer.clone(),
            });
        }
        if claims.platform != self.platform {
            return Err(TrustRefusal::Platform {
                trust: trust(),
                expected: self.platform,
                seen: claims.platform,
            });
        }
        let same_repository = match self.platform {
            Platform::GitHub => claims.repository.eq_ignore_ascii_case(&self.repository),
            Platform::GitLab => claims.repository == self.repository,
        };
        if !same_repository {
            return Err(TrustRefusal::Repository {
                trust: trust(),
                expected: self.repository.clone(),
                seen: claims.repository.clone(),
            });
        }
        if let Some(id) = &self.repository_id
            && claims.repository_id.as_deref() != Some(id.as_str())
        {
            return Err(TrustRefusal::RepositoryId {
                trust: trust(),
                expected: id.clone(),
                seen: claims.repository_id.clone().unwrap_or_default(),
            });
        }
        if !self.events.is_empty()
            && !claims
                .event
                .as_ref()
                .is_some_and(|e| self.events.iter().any(|x| x == e))
        {
            return Err(TrustRefusal::Event {
                trust: trust(),
                expected: self.events.clone(),
                seen: claims.event.clone().unwrap_or_default(),
            });
        }
        if !self.refs.iter().any(|p| ref_matches(p, &claims.git_ref)) {
            return Err(TrustRefusal::Ref {
                trust: trust(),
                expected: self.refs.clone(),
                seen: claims.git_ref.clone(),
            });
        }
        if self.require_protected_ref && !claims.ref_protected {
            return Err(TrustRefusal::UnprotectedRef {
                trust: trust(),
                seen: claims.git_ref.clone(),
            });
        }
        self.check_workflow(claims)?;
        let environment = match &claims.environment {
            None => {
                return Err(TrustRefusal::NoEnvironment {
                    trust: trust(),
                    expected: self.environments.clone(),
                });
            }
            Some(env) if !self.environments.contains(env) => {
                return Err(TrustRefusal::Environment {
                    trust: trust(),
                    expected: self.environments.clone(),
                    seen: env.clone(),
                });
            }
            Some(env) => env.clone(),
        };
        Ok(AdmittedPipeline {
            trust_id: self.id.clone(),
            repo: self.repo.clone(),
            environment,
            actor: claims.actor.clone(),
            actor_email: claims.actor_email.clone(),
            actor_system: self.actor_system.clone(),
            sha: claims.sha.clone(),
            run_id: claims.run_id.clone(),
            workflow: claims.workflow.clone(),
            git_ref: claims.git_ref.clone(),
        })
    }

    /// The claim is `<file>@<ref>`: the file must be listed, and the ref it
    /// was read from must be the pipeline's own or a trusted one. Matching
    /// the configured files as prefixes avoids guessing where the file ends
    /// (paths and refs may both hold `@`).
    fn check_workflow(&self, claims: &CiClaims) -> Result<(), TrustRefusal> {
        let seen = &claims.workflow;
        let workflow_ref = self.workflows.iter().find_map(|file| {
            let head = seen.get(..file.len())?;
            let rest = seen.get(file.len()..)?.strip_prefix('@')?;
            same_workflow(self.platform, head, file).then_some(rest)
        });
        let Some(workflow_ref) = workflow_ref else {
            return Err(TrustRefusal::Workflow {
                trust: self.id.clone(),
                expected: self.workflows.clone(),
                seen: seen.clone(),
            });
        };
        if workflow_ref != claims.git_ref && !self.refs.iter().any(|p| ref_matches(p, workflow_ref))
        {
            return Err(TrustRefusal::WorkflowRef {
                trust: self.id.clone(),
                expected: self.refs.clone(),
                git_ref: claims.git_ref.clone(),
                workflow_ref: workflow_ref.to_owned(),
                seen: seen.clone(),
            });
        }
        Ok(())
    }

    /// Checks the entry on its own, at load: every message names the entry
    /// and says what to write instead.
    pub fn validate(&self) -> Result<(), String> {
        let id = &self.id;
        if id.is_empty()
            || id.len() > 128
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(format!(
                "pipeline trust id {id:?} must be 1 to 128 letters, digits, '-', '_' or '.'"
            ));
        }
        let at = |key: &str, problem: String| format!("pipeline trust {id:?} `{key}` {problem}");
        let texts = [
            ("issuer", &self.issuer),
            ("audience", &self.audience),
            ("repository", &self.repository),
            ("repo", &self.repo),
        ];
        for (key, value) in texts {
            check_text(value).map_err(|p| at(key, p))?;
        }
        check_issuer_url(&self.issuer).map_err(|p| at("issuer", p))?;
        if !self.repository.contains('/') {
            return Err(at(
                "repository",
                format!(
                    "is {:?}: give the full path as the token states it, e.g. \"acme/app\"",
                    self.repository
                ),
            ));
        }
        let lists = [
            ("refs", &self.refs, "[\"refs/heads/main\"]"),
            (
                "workflows",
                &self.workflows,
                "[\"acme/app/.github/workflows/deploy.yml\"]",
            ),
            ("environments", &self.environments, "[\"prod\"]"),
        ];
        for (key, list, example) in lists {
            if list.is_empty() {
                return Err(at(
                    key,
                    format!("is empty, so no pipeline could deploy: list them, e.g. {example}"),
                ));
            }
            for value in list {
                check_text(value).map_err(|p| at(key, p))?;
            }
        }
        for pattern in &self.refs {
            let star = pattern.find('*');
            if !pattern.starts_with("refs/") || star.is_some_and(|i| i + 1 != pattern.len()) {
                return Err(at(
                    "refs",
                    format!(
                        "holds {pattern:?}: give full refs (\"refs/heads/main\"), a `*` only at the end (\"refs/heads/release/*\")"
                    ),
                ));
            }
        }
        for file in &self.workflows {
            if file.contains('@') || file.contains('*') {
                return Err(at(
                    "workflows",
                    format!(
                        "holds {file:?}: give the exact file path without `@ref` (refs are checked against `refs`)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn check_text(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".into());
    }
    if value.len() > MAX_CLAIM_LEN {
        return Err(format!("is longer than {MAX_CLAIM_LEN} bytes"));
    }
    if value.chars().any(hidden) || value.trim() != value {
        return Err(format!(
            "is {value:?}: no control characters or surrounding spaces"
        ));
    }
    Ok(())
}

/// An issuer URL soxctl may trust: `https://host…`, or plain HTTP on the
/// loopback (test issuers only). The message says what is wrong with it.
pub fn check_issuer_url(issuer: &str) -> Result<(), String> {
    if let Some(rest) = issuer.strip_prefix("https://") {
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("is {issuer:?}, which names no host"));
        }
        return Ok(());
    }
    let local = ["http://127.0.0.1", "http://localhost"].iter().any(|base| {
        issuer
            .strip_prefix(base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
    });
    if local {
        return Ok(());
    }
    Err(format!(
        "is {issuer:?}: an issuer must be an https:// URL (plain http only on 127.0.0.1 or localhost, for tests)"
    ))
}

#[cfg(test)]
mod tests {
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
        let e = refuse(&|c| {
            c.workflow = "acme/app/.github/workflows/Deploy.yml@refs/heads/main".into()
        });
        assert!(matches!(e, TrustRefusal::Workflow { .. }), "{e}");
        let e = refuse(&|c| c.workflow = "acme/app/.github/workflows/deploy.yml".into());
        assert!(matches!(e, TrustRefusal::Workflow { .. }), "{e}");
        let e = refuse(&|c| {
            c.workflow = "acme/app/.github/workflows/deploy.yml@refs/heads/feature".into()
        });
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
                    t.workflows =
                        vec!["acme/app/.github/workflows/deploy.yml@refs/heads/main".into()]
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
}
