//! The `[[pipeline]]` entries soxctl trusts, and admitting claims against one.

#![allow(unused_imports)]
use super::*;

pub(super) fn yes() -> bool {
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
pub(super) fn ref_matches(pattern: &str, git_ref: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => git_ref.starts_with(prefix),
        None => pattern == git_ref,
    }
}

/// `a` and `b` name the same workflow file: on GitHub the leading
/// `owner/repo/` is compared case-insensitively (as GitHub names are), the
/// file path exactly.
pub(super) fn same_workflow(platform: Platform, a: &str, b: &str) -> bool {
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
pub(super) fn split_repo(workflow: &str) -> (&str, &str) {
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

pub(super) fn check_text(value: &str) -> Result<(), String> {
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
