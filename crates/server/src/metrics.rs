//! Prometheus metrics, encoded by prometheus-client.
//!
//! `/metrics` answers in the Prometheus text exposition format (version
//! 0.0.4) unless the scraper prefers OpenMetrics in its `Accept` header
//! (Prometheus itself does), in which case it gets prometheus-client's
//! OpenMetrics text unchanged.
//!
//! HTTP metrics are recorded by the request middleware. Ledger metrics are
//! read from the store at scrape time, because with PostgreSQL several
//! replicas and CLI imports append to the same ledger: the store, not this
//! process, knows its size.

use crate::auth::MetricsGate;
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
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
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The Prometheus text exposition format, `/metrics`' default.
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The text formats `/metrics` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Prometheus text 0.0.4: the default.
    Prometheus,
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when the `Accept` header ranks it above plain text (with
    /// q-values; `*/*` and `text/*` count for plain text), else Prometheus
    /// text. A missing or unsatisfiable `Accept` gets the default, not a 406:
    /// scrapers are better served by a format they can likely read.
    fn negotiate(accept: Option<&HeaderValue>) -> Self {
        let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
            return Self::Prometheus;
        };
        let (mut openmetrics, mut plain) = (0.0_f32, 0.0_f32);
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1.0_f32;
            for param in parts {
                if let Some((name, value)) = param.split_once('=')
                    && name.trim().eq_ignore_ascii_case("q")
                {
                    // An unreadable q-value disqualifies the range.
                    q = value
                        .trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        .unwrap_or(0.0);
                }
            }
            match media.as_str() {
                "application/openmetrics-text" => openmetrics = openmetrics.max(q),
                "text/plain" | "text/*" | "*/*" => plain = plain.max(q),
                _ => {}
            }
        }
        if openmetrics > 0.0 && openmetrics > plain {
            Self::OpenMetrics
        } else {
            Self::Prometheus
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => PROMETHEUS_TEXT_CONTENT_TYPE,
            Self::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// Rewrites prometheus-client's OpenMetrics text as Prometheus text 0.0.4:
/// no `# EOF` and no `# UNIT` lines, `unknown` types as `untyped`, and a
/// counter family named like its samples (`x_total`, where OpenMetrics names
/// the family `x`). Samples are the same in both formats. Enough for what
/// this registry holds (counters, gauges, histograms, without exemplars or
/// `_created` samples).
fn prometheus_text(openmetrics: &str) -> String {
    let counters: HashSet<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let family = |name: &str| {
        if counters.contains(name) {
            format!("{name}_total")
        } else {
            name.to_owned()
        }
    };
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            text.push_str(&format!("# HELP {} {help}", family(name)));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let kind = if kind == "unknown" { "untyped" } else { kind };
            text.push_str(&format!("# TYPE {} {kind}", family(name)));
        } else {
            text.push_str(line);
        }
        text.push('\n');
    }
    text
}

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
    outbox: soxctl_store::OutboxStatus,
    /// Age of the oldest undelivered message: the notification lag.
    outbox_lag_seconds: f64,
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
        #[allow(clippy::cast_precision_loss)]
        for (name, help, value) in [
            (
                "outbox_pending",
                "Outbox messages not yet delivered and still being retried",
                s.outbox.pending as f64,
            ),
            (
                "outbox_dead_letters",
                "Outbox messages that failed every attempt and wait for an operator",
                s.outbox.dead as f64,
            ),
        ] {
            gauge(&mut encoder, name, help, None, value)?;
        }
        gauge(
            &mut encoder,
            "outbox_lag",
            "Age of the oldest pending outbox message (0 when none)",
            Some(&Unit::Seconds),
            s.outbox_lag_seconds,
        )?;
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
            let outbox = store.outbox_status().await?;
            Ok::<_, soxctl_store::StoreError>((head.size, checkpoint, outbox))
        };
        match read.await {
            Ok((ledger_size, checkpoint, outbox)) => {
                let now = store.context().clock.now();
                let since = |t: Timestamp| (now.micros() - t.micros()).max(0) as f64 / 1e6;
                let age = |signed_at: &str| Timestamp::parse(signed_at).ok().map(since);
                let mut s = lock(&self.ledger);
                s.store_up = true;
                s.ledger_size = ledger_size;
                s.appended_here = appended_here;
                s.checkpoint_size = checkpoint.as_ref().map(|c| c.size);
                s.checkpoint_age_seconds = checkpoint.as_ref().and_then(|c| age(&c.signed_at));
                s.outbox_lag_seconds = outbox.oldest_pending.map_or(0.0, since);
                s.outbox = outbox;
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

/// Metrics for Prometheus.
///
/// Prometheus text exposition format 0.0.4 by default; OpenMetrics text when
/// the `Accept` header prefers `application/openmetrics-text` (as Prometheus
/// does when it can read both).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security(("bearer" = []), ()),
    params(
        ("Accept" = Option<String>, Header, description = "`application/openmetrics-text` (ranked above `text/plain` by q-value) for OpenMetrics; otherwise Prometheus text 0.0.4."),
    ),
    responses(
        (status = 200, description = "Prometheus text 0.0.4 by default; OpenMetrics text when preferred by `Accept`",
            content(
                (String = "text/plain; version=0.0.4"),
                (String = "application/openmetrics-text; version=1.0.0"),
            ),
            headers(("Vary" = String, description = "`Accept`: the format depends on it"))),
        (status = 401, description = "No valid token (unless metrics are public)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the metrics scope", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn metrics(
    State(state): State<AppState>,
    MetricsGate(_access): MetricsGate,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let format = Format::negotiate(headers.get(header::ACCEPT));
    state.metrics().refresh(state.store()).await;
    let openmetrics = state
        .metrics()
        .encode()
        .map_err(|e| Problem::internal(&e))?;
    let text = match format {
        Format::OpenMetrics => openmetrics,
        Format::Prometheus => prometheus_text(&openmetrics),
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (header::VARY, HeaderValue::from_static("accept")),
        ],
        text,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiate(accept: &str) -> Format {
        Format::negotiate(Some(&HeaderValue::from_str(accept).unwrap()))
    }

    #[test]
    fn prometheus_text_unless_openmetrics_is_preferred() {
        assert_eq!(Format::negotiate(None), Format::Prometheus);
        for accept in [
            "text/plain",
            "text/plain; version=0.0.4",
            "*/*",
            "application/json",
            "application/openmetrics-text;q=0",
            "application/openmetrics-text;q=0.5, text/plain",
            "application/openmetrics-text;q=0.5, */*;q=0.5",
            "application/openmetrics-text;q=nonsense",
        ] {
            assert_eq!(negotiate(accept), Format::Prometheus, "{accept}");
        }
        for accept in [
            "application/openmetrics-text",
            "Application/OpenMetrics-Text; version=1.0.0",
            // What Prometheus sends by default.
            "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,\
             text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        ] {
            assert_eq!(negotiate(accept), Format::OpenMetrics, "{accept}");
        }
    }

    #[test]
    fn prometheus_text_names_counter_families_like_their_samples() {
        let metrics = Metrics::new();
        metrics.observe_request(&Method::GET, "/x", 200, Duration::from_millis(3));
        let openmetrics = metrics.encode().unwrap();
        assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
        assert!(openmetrics.contains("# UNIT "), "{openmetrics}");
        let text = prometheus_text(&openmetrics);
        assert!(!text.contains("# EOF"), "{text}");
        assert!(!text.contains("# UNIT"), "{text}");
        for line in [
            "# HELP soxctl_http_requests_total HTTP requests by method, route template and status.",
            "# TYPE soxctl_http_requests_total counter",
            "soxctl_http_requests_total{method=\"GET\",route=\"/x\",status=\"200\"} 1",
            "# TYPE soxctl_http_request_duration_seconds histogram",
            "soxctl_http_request_duration_seconds_count{method=\"GET\",route=\"/x\"} 1",
            "# TYPE soxctl_ledger_entries_appended_total counter",
            "# TYPE soxctl_store_up gauge",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(text.ends_with('\n'));
    }
}
