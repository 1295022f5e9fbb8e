//! Prometheus metrics (OpenMetrics text via prometheus-client).
//!
//! HTTP metrics are recorded by the request middleware. Ledger metrics are
//! read from the store at scrape time, because with PostgreSQL several
//! replicas and CLI imports append to the same ledger: the store, not this
//! process, knows its size.

use crate::auth::MetricsGate;
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use soxctl_model::time::Timestamp;
use soxctl_store::Store;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route template (`/api/v1/ledger/entries`), never the raw path, so
    /// the number of series stays bounded.
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    method: String,
    route: String,
}

type HistogramFamily = Family<DurationLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // 1 ms .. ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The ledger as last read from the store.
#[derive(Debug, Default, Clone)]
struct LedgerSnapshot {
    store_up: bool,
    ledger_size: u64,
    appended_here: u64,
    checkpoint_size: Option<u64>,
    checkpoint_age_seconds: Option<f64>,
}

#[derive(Debug, Default)]
struct LedgerCollector(Arc<Mutex<LedgerSnapshot>>);

fn lock(snapshot: &Mutex<LedgerSnapshot>) -> MutexGuard<'_, LedgerSnapshot> {
    // A panic elsewhere must not take metrics down with it.
    snapshot
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Collector for LedgerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = lock(&self.0).clone();
        let gauge = |encoder: &mut DescriptorEncoder,
                     name: &str,
                     help: &str,
                     unit: Option<&Unit>,
                     v: f64| {
            let g = ConstGauge::new(v);
            g.encode(encoder.encode_descriptor(name, help, unit, g.metric_type())?)
        };
        gauge(
            &mut encoder,
            "store_up",
            "1 when the store answered the last scrape, else 0",
            None,
            f64::from(u8::from(s.store_up)),
        )?;
        #[allow(clippy::cast_precision_loss)] // sizes beyond 2^53 entries are not a concern
        gauge(
            &mut encoder,
            "ledger_size",
            "Entries in the ledger",
            None,
            s.ledger_size as f64,
        )?;
        let appended = ConstCounter::new(s.appended_here);
        appended.encode(encoder.encode_descriptor(
            "ledger_entries_appended",
            "Entries appended by this server process since it started",
            None,
            appended.metric_type(),
        )?)?;
        // Absent, rather than a misleading 0, until a checkpoint exists.
        if let (Some(size), Some(age)) = (s.checkpoint_size, s.checkpoint_age_seconds) {
            #[allow(clippy::cast_precision_loss)]
            gauge(
                &mut encoder,
                "checkpoint_size",
                "Entries covered by the latest signed checkpoint",
                None,
                size as f64,
            )?;
            gauge(
                &mut encoder,
                "checkpoint_age",
                "Time since the latest checkpoint was signed",
                Some(&Unit::Seconds),
                age,
            )?;
        }
        Ok(())
    }
}

pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
    ledger: Arc<Mutex<LedgerSnapshot>>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("soxctl");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route template and status",
            requests.clone(),
        );
        let durations: HistogramFamily = Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "HTTP request latency by method and route template",
            Unit::Seconds,
            durations.clone(),
        );
        let ledger = Arc::new(Mutex::new(LedgerSnapshot::default()));
        registry.register_collector(Box::new(LedgerCollector(ledger.clone())));
        Self {
            registry,
            requests,
            durations,
            ledger,
        }
    }

    pub(crate) fn observe_request(
        &self,
        method: &Method,
        route: &str,
        status: u16,
        elapsed: Duration,
    ) {
        // Unknown methods are folded so a client cannot mint series at will.
        let method = match *method {
            Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::DELETE
            | Method::PATCH
            | Method::OPTIONS => method.as_str().to_owned(),
            _ => "OTHER".to_owned(),
        };
        let route = route.to_owned();
        self.requests
            .get_or_create(&RequestLabels {
                method: method.clone(),
                route: route.clone(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&DurationLabels { method, route })
            .observe(elapsed.as_secs_f64());
    }

    /// Reads the ledger's current figures from the store. A failure is logged
    /// and shown as `soxctl_store_up 0`, so the scrape itself still succeeds.
    pub(crate) async fn refresh(&self, store: &Store) {
        let appended_here = store.appended_here();
        let read = async {
            let head = store.head().await?;
            let checkpoint = store.latest_checkpoint().await?;
            Ok::<_, soxctl_store::StoreError>((head.size, checkpoint))
        };
        match read.await {
            Ok((ledger_size, checkpoint)) => {
                let now = store.context().clock.now();
                let age = |signed_at: &str| {
                    Timestamp::parse(signed_at)
                        .ok()
                        .map(|t| (now.micros() - t.micros()).max(0) as f64 / 1e6)
                };
                let mut s = lock(&self.ledger);
                s.store_up = true;
                s.ledger_size = ledger_size;
                s.appended_here = appended_here;
                s.checkpoint_size = checkpoint.as_ref().map(|c| c.size);
                s.checkpoint_age_seconds = checkpoint.as_ref().and_then(|c| age(&c.signed_at));
            }
            Err(error) => {
                tracing::warn!(error = %error, "metrics: cannot read the ledger from the store");
                let mut s = lock(&self.ledger);
                s.store_up = false;
                s.appended_here = appended_here;
            }
        }
    }

    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Metrics in the OpenMetrics text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security(("bearer" = []), ()),
    responses(
        (status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text"),
        (status = 401, description = "No valid token (unless metrics are public)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the metrics scope", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn metrics(
    State(state): State<AppState>,
    MetricsGate(_access): MetricsGate,
) -> Result<Response, Problem> {
    state.metrics().refresh(state.store()).await;
    let text = state
        .metrics()
        .encode()
        .map_err(|e| Problem::internal(&e))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE),
        )],
        text,
    )
        .into_response())
}
