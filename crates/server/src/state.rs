//! What every handler shares.

use crate::checkpointer::CheckpointPolicy;
use crate::health::Readiness;
use crate::metrics::Metrics;
use soxctl_connectors::correlate::Rules;
use soxctl_ledger::note::SigningKey;
use soxctl_store::Store;
use std::sync::Arc;

/// Deployment choices that change the API's behaviour.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Serve `/metrics` without a token (for scrapers inside a trusted network).
    pub metrics_public: bool,
    /// Thresholds of the hygiene detectors the job runner re-evaluates.
    pub hygiene: soxctl_detect::hygiene::Policy,
}

#[derive(Clone)]
pub struct AppState {
    store: Store,
    signing_key: Arc<SigningKey>,
    metrics_public: bool,
    hygiene: soxctl_detect::hygiene::Policy,
    metrics: Arc<Metrics>,
    checkpoint_policy: CheckpointPolicy,
    readiness: Arc<Readiness>,
    sod: Arc<soxctl_app::sod::monitor::SodMonitor>,
    scim_correlation: Arc<Rules>,
    verdicts: Arc<soxctl_app::verdicts::VerdictCache>,
    ci: Arc<crate::ci_identity::CiFederation>,
    notifier: Option<soxctl_connectors::notify::Notifier>,
}

impl AppState {
    pub fn new(
        store: Store,
        signing_key: impl Into<Arc<SigningKey>>,
        options: ServerOptions,
    ) -> Self {
        Self {
            store,
            signing_key: signing_key.into(),
            metrics_public: options.metrics_public,
            hygiene: options.hygiene,
            metrics: Arc::new(Metrics::new()),
            checkpoint_policy: CheckpointPolicy::default(),
            readiness: Arc::new(Readiness::default()),
            sod: Arc::new(soxctl_app::sod::monitor::SodMonitor::new()),
            scim_correlation: Arc::new(Rules::default()),
            verdicts: Arc::new(soxctl_app::verdicts::VerdictCache::new()),
            ci: Arc::new(crate::ci_identity::CiFederation::default()),
            notifier: None,
        }
    }

    /// Fetches CI issuers' keys trusting this CA (PEM) instead of the
    /// system roots (a self-managed GitLab behind a private CA).
    pub fn with_ci_ca(mut self, ca_pem: Vec<u8>) -> Self {
        self.ci = Arc::new(crate::ci_identity::CiFederation::with_ca(ca_pem));
        self
    }

    pub(crate) fn ci(&self) -> &crate::ci_identity::CiFederation {
        &self.ci
    }

    /// Gate verdicts remembered while the ledger does not move.
    pub(crate) fn verdicts(&self) -> &soxctl_app::verdicts::VerdictCache {
        &self.verdicts
    }

    /// Delivers the outbox through these channels while [`crate::serve`]
    /// runs; without one, messages wait in the outbox.
    pub fn with_notifier(mut self, notifier: soxctl_connectors::notify::Notifier) -> Self {
        self.notifier = Some(notifier);
        self
    }

    pub fn notifier(&self) -> Option<&soxctl_connectors::notify::Notifier> {
        self.notifier.as_ref()
    }

    /// Overrides when [`crate::serve`]'s checkpointer signs (tests use short intervals).
    pub fn with_checkpoint_policy(mut self, policy: CheckpointPolicy) -> Self {
        self.checkpoint_policy = policy;
        self
    }

    /// The rules that link SCIM Users' accounts to people (default: by email).
    pub fn with_scim_correlation(mut self, rules: Rules) -> Self {
        self.scim_correlation = Arc::new(rules);
        self
    }

    pub(crate) fn scim_correlation(&self) -> &Rules {
        &self.scim_correlation
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn signing_key(&self) -> &Arc<SigningKey> {
        &self.signing_key
    }

    pub fn metrics_public(&self) -> bool {
        self.metrics_public
    }

    /// The continuous SoD engine of this replica.
    pub fn sod(&self) -> &Arc<soxctl_app::sod::monitor::SodMonitor> {
        &self.sod
    }

    pub fn hygiene_policy(&self) -> soxctl_detect::hygiene::Policy {
        self.hygiene
    }

    pub fn checkpoint_policy(&self) -> CheckpointPolicy {
        self.checkpoint_policy
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// How many times `/readyz` actually checked the store (taking the
    /// ledger's writer lock) since this state was built; answers in between
    /// come from the last check. For tests and diagnostics.
    pub fn readiness_checks(&self) -> u64 {
        self.readiness.checks()
    }
}
