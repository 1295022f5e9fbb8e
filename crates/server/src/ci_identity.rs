//! CI identity federation: a pipeline authenticates with the OIDC ID token
//! its CI system minted for the job (GitHub Actions `id-token`, GitLab CI
//! `id_tokens`), not with a secret it was given. The policies document's
//! `[[pipeline]]` entries say which issuer, repository, ref, workflow file
//! and environment may act; the token's signed claims (never an argument)
//! say who triggered the run, who then is the requester and the deployer.
//!
//! The verifier (and its key caches) follows the policies document in
//! force: a new version with other issuers builds a new one.

use crate::problem::Problem;
use soxctl_app::gate::GateSettings;
use soxctl_connectors::ci_oidc::{IssuerConfig, OidcError, OidcVerifier};
use soxctl_model::access::{Caller, Pipeline, TriggeredBy};
use soxctl_model::document::DocumentKind;
use soxctl_model::pipeline::{AdmittedPipeline, PipelineTrust};
use soxctl_model::principal::{Principal, Scope};
use soxctl_store::Store;
use std::sync::Arc;

/// The ledger actor of everything a CI identity token does; the run is
/// recorded with what it did (DESIGN A3 names actors `person:`, `token:`
/// and `system:` only).
pub const PIPELINE_ACTOR: &str = "pipeline";

struct Loaded {
    version: Option<u64>,
    trusts: Arc<Vec<PipelineTrust>>,
    verifier: Arc<OidcVerifier>,
}

/// Shared by every request of a replica.
#[derive(Default)]
pub struct CiFederation {
    loaded: tokio::sync::Mutex<Option<Loaded>>,
    /// A CA for issuers behind a private CA (tests, GitLab self-managed);
    /// none: the system roots.
    ca_pem: Option<Vec<u8>>,
}

/// Whether a bearer credential is a JWS (`header.payload.signature`, the
/// header base64url of `{"…`) rather than a soxctl token (`sxt_…`).
pub(crate) fn looks_like_jwt(credential: &str) -> bool {
    credential.starts_with("eyJ") && credential.bytes().filter(|b| *b == b'.').count() == 2
}

impl CiFederation {
    pub fn with_ca(ca_pem: Vec<u8>) -> Self {
        Self {
            loaded: tokio::sync::Mutex::new(None),
            ca_pem: Some(ca_pem),
        }
    }

    /// The trust entries and verifier of the policies document in force.
    async fn current(
        &self,
        store: &Store,
    ) -> Result<(Arc<Vec<PipelineTrust>>, Arc<OidcVerifier>), Problem> {
        let doc = store.latest_document(DocumentKind::Policies).await?;
        let version = doc.as_ref().map(|d| d.version);
        let mut loaded = self.loaded.lock().await;
        if let Some(l) = loaded.as_ref()
            && l.version == version
        {
            return Ok((l.trusts.clone(), l.verifier.clone()));
        }
        let settings = match &doc {
            None => GateSettings::default(),
            Some(doc) => GateSettings::from_document(&doc.content).map_err(|errors| {
                Problem::invalid_credential(format!(
                    "the approval policies in force (version {}) do not parse ({}): no CI identity token is \
                     trusted until a corrected document is loaded",
                    doc.version,
                    errors.first().map(ToString::to_string).unwrap_or_default()
                ))
            })?,
        };
        let issuers =
            IssuerConfig::of_trusts(&settings.pipelines).map_err(Problem::invalid_credential)?;
        let tls = soxctl_connectors::tls::client_config(self.ca_pem.as_deref())
            .map_err(|e| Problem::internal(&e))?;
        let verifier = OidcVerifier::new(issuers, tls).map_err(Problem::invalid_credential)?;
        let current = Loaded {
            version,
            trusts: Arc::new(settings.pipelines),
            verifier: Arc::new(verifier),
        };
        let out = (current.trusts.clone(), current.verifier.clone());
        *loaded = Some(current);
        Ok(out)
    }

    /// The pipeline behind `jwt`: verified against the configured issuers,
    /// admitted by the first `[[pipeline]]` entry whose every pin it meets.
    pub(crate) async fn authenticate(&self, store: &Store, jwt: &str) -> Result<Caller, Problem> {
        let (trusts, verifier) = self.current(store).await?;
        if trusts.is_empty() {
            return Err(Problem::invalid_credential(
                "this looks like a CI identity token, but no CI pipeline is trusted: add a [[pipeline]] entry to \
                 the approval policies (docs/requests.md) and load them with `soxctl policies load`, or use a \
                 gate token",
            ));
        }
        let now = store.context().clock.now().as_datetime().timestamp();
        let mut audiences: Vec<&str> = trusts.iter().map(|t| t.audience.as_str()).collect();
        audiences.sort_unstable();
        audiences.dedup();
        let mut verified = None;
        let mut last_error = None;
        for audience in audiences {
            match verifier.verify(jwt, audience, now).await {
                Ok(claims) => {
                    verified = Some((audience, claims));
                    break;
                }
                Err(e @ OidcError::WrongAudience { .. }) => last_error = Some(e),
                Err(e) => return Err(Problem::invalid_credential(e.to_string())),
            }
        }
        let Some((audience, claims)) = verified else {
            return Err(Problem::invalid_credential(
                last_error.map(|e| e.to_string()).unwrap_or_default(),
            ));
        };
        let mut refusals = Vec::new();
        let admitted = trusts
            .iter()
            .filter(|t| t.audience == audience)
            .find_map(|t| match t.admit(&claims) {
                Ok(a) => Some(a),
                Err(why) => {
                    refusals.push(why.to_string());
                    None
                }
            });
        let Some(admitted) = admitted else {
            return Err(Problem::new(
                crate::problem::ErrorCode::Refused,
                format!(
                    "the CI identity token is genuine, but no trusted pipeline admits it: {}",
                    refusals.join("; ")
                ),
            ));
        };
        if admitted.environment.contains(['*', '?']) {
            return Err(Problem::invalid_credential(
                "the token's environment holds a wildcard character: name the environment plainly",
            ));
        }
        let principal = Principal::system(PIPELINE_ACTOR);
        tracing::Span::current().record("principal", tracing::field::display(&principal));
        Ok(
            Caller::authenticated(principal, [Scope::Gate].into_iter().collect(), None)
                .bound_to(Some(pipeline_of(&admitted))),
        )
    }
}

/// What an admitted run may do: its repository, its one environment, and
/// who triggered it, as the CI system signed it.
fn pipeline_of(admitted: &AdmittedPipeline) -> Pipeline {
    Pipeline {
        repo: admitted.repo.clone(),
        environments: vec![admitted.environment.clone()],
        triggered_by: Some(TriggeredBy {
            login: admitted.actor.clone(),
            email: admitted.actor_email.clone(),
            system: admitted.actor_system.clone(),
        }),
        run: Some(format!(
            "ci:{} run {} of {}",
            admitted.trust_id,
            admitted.run_id.as_deref().unwrap_or("?"),
            admitted.workflow
        )),
    }
}
