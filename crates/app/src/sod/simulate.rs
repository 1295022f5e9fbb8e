//! What-if: the violations a change would create for an identity, now or
//! over the window of a time-bound grant. One semantics for every caller:
//! the server answers "now" from the engine that follows the ledger
//! ([`simulate_with`]); the command line builds the same engine from the
//! store's facts for one call ([`simulate`]).

use soxctl_api::sod::{
    FunctionView, MAX_ADDITIONS, SimulateRequest, SimulateResponse, ViolationView,
};
use soxctl_model::ids::{EntitlementRef, RoleId};
use soxctl_model::time::Timestamp;
use soxctl_sod::{Addition, Engine, Holder, Interval, RuleSet, Violation, ViolationLine};
use soxctl_store::{Store, StoreError};

/// Why a simulation was not run. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SodError {
    /// Bad input: nothing to add, too much, a bad reference or time.
    #[error("{0}")]
    Invalid(String),
    /// A role named that the store does not have.
    #[error("role '{0}' has no entitlements in the store (or does not exist)")]
    UnknownRole(String),
    #[error("no SoD rule set is in force; record one with `soxctl rules load FILE`")]
    NoRules,
    /// The rule set in force does not parse (a store written by another version).
    #[error("the stored rule set version {version} does not parse: {reason}")]
    BadRules { version: u64, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(message: impl Into<String>) -> SodError {
    SodError::Invalid(message.into())
}

/// What a change would create, and the rule set version judged against
/// (`None` for a rule file given instead of the store's).
#[derive(Debug, Clone)]
pub struct Simulated {
    pub violations: Vec<Violation>,
    pub rules_version: Option<u64>,
}

/// The checked request: the entitlements (roles expanded) and the window.
struct Checked {
    identity: String,
    additions: Vec<String>,
    window: Option<(Timestamp, Timestamp)>,
}

async fn check(store: &Store, request: &SimulateRequest) -> Result<Checked, SodError> {
    let identity = request.person_id.trim();
    if identity.is_empty() {
        return Err(invalid(
            "give the person (or account:<system>:<account>) who would receive the access",
        ));
    }
    if request.add.len() + request.roles.len() > MAX_ADDITIONS {
        return Err(invalid(format!(
            "at most {MAX_ADDITIONS} entitlements per simulation"
        )));
    }
    let mut additions = Vec::with_capacity(request.add.len());
    for added in &request.add {
        let reference = EntitlementRef::parse(added).map_err(|_| {
            invalid(format!(
                "'{}' is not system_id:entitlement_id",
                soxctl_model::identity::escape(added)
            ))
        })?;
        additions.push(format!("{}:{}", reference.system, reference.entitlement));
    }
    if !request.roles.is_empty() {
        let inventory = store.inventory().await?;
        for role in &request.roles {
            let role = RoleId::parse(role).map_err(|e| invalid(e.to_string()))?;
            let found: Vec<String> = inventory
                .role_entitlements
                .values()
                .filter(|r| r.role_id == role)
                .map(|r| format!("{}:{}", r.system_id, r.entitlement_id))
                .collect();
            if found.is_empty() {
                return Err(SodError::UnknownRole(role.as_str().to_owned()));
            }
            additions.extend(found);
        }
    }
    if additions.is_empty() {
        return Err(invalid(
            "nothing to simulate: add an entitlement (system_id:entitlement_id) or a role",
        ));
    }
    if additions.len() > MAX_ADDITIONS {
        return Err(invalid(format!(
            "at most {MAX_ADDITIONS} entitlements per simulation (the roles hold {})",
            additions.len()
        )));
    }
    let time = |name: &str, value: &str| {
        Timestamp::parse_end_of_day(value).map_err(|e| invalid(format!("{name}: {e}")))
    };
    let window = match (&request.from, &request.to) {
        (None, None) => None,
        (Some(from), Some(to)) => {
            let (from, to) = (time("from", from)?, time("to", to)?);
            if to <= from {
                return Err(invalid(
                    "the grant's end (to) must be after its start (from)",
                ));
            }
            Some((from, to))
        }
        _ => {
            return Err(invalid(
                "a time-bound simulation needs both from and to (or neither)",
            ));
        }
    };
    Ok(Checked {
        identity: identity.to_owned(),
        additions,
        window,
    })
}

fn now_additions(additions: &[String]) -> Vec<Addition> {
    additions
        .iter()
        .map(|e| Addition {
            entitlement: e.clone(),
            holder: Holder::System,
            interval: Interval::ALWAYS,
        })
        .collect()
}

fn window_violations(
    rules: &RuleSet,
    inventory: &soxctl_model::inventory::Inventory,
    checked: &Checked,
    (from, to): (Timestamp, Timestamp),
) -> Result<Vec<Violation>, SodError> {
    soxctl_detect::sod::simulate_window(
        rules,
        inventory,
        &checked.identity,
        &checked.additions,
        from.micros(),
        to.micros(),
    )
    .map_err(|e| invalid(format!("cannot simulate: {e}")))
}

/// [`simulate_with`] on an engine built for this call from the store's
/// facts now (with the time-bound grants in force, as the server's engine
/// holds them) and `rules` (a rule file's), else the rule set in force.
pub async fn simulate(
    store: &Store,
    request: &SimulateRequest,
    rules_file: Option<RuleSet>,
) -> Result<Simulated, SodError> {
    judge(
        store,
        request,
        rules_file,
        async |rules, identity, additions| {
            let mut inventory = store.inventory().await?;
            let now = store.context().clock.now();
            let time_bound = store.access_grants(None, None).await?;
            soxctl_detect::sod::overlay_time_bound(&mut inventory, &time_bound, now);
            let dataset = soxctl_detect::sod::dataset_now(&inventory)
                .map_err(|e| invalid(format!("cannot simulate: {e}")))?;
            let (engine, _) = Engine::new(rules, dataset);
            engine
                .simulate(identity, additions)
                .map_err(|e| invalid(format!("cannot simulate: {e}")))
        },
    )
    .await
}

/// What `request` would create, judged against the rule set in force;
/// "now" answered by `now` (the server's engine that follows the ledger),
/// a window by the window analysis over the store's facts.
pub async fn simulate_with(
    store: &Store,
    request: &SimulateRequest,
    now: impl AsyncFnOnce(
        &str,
        &[Addition],
    ) -> Result<Result<Vec<Violation>, soxctl_sod::ChangeError>, StoreError>,
) -> Result<Simulated, SodError> {
    judge(store, request, None, async |_, identity, additions| {
        now(identity, additions)
            .await?
            .map_err(|e| invalid(format!("cannot simulate: {e}")))
    })
    .await
}

/// The one semantics of both: the request checked, the rule set chosen,
/// a window judged by the window analysis, "now" by `now` (given the rules,
/// the identity and the additions).
async fn judge(
    store: &Store,
    request: &SimulateRequest,
    rules_file: Option<RuleSet>,
    now: impl AsyncFnOnce(&RuleSet, &str, &[Addition]) -> Result<Vec<Violation>, SodError>,
) -> Result<Simulated, SodError> {
    let checked = check(store, request).await?;
    let (rules, rules_version) = super::rules(store, rules_file).await?;
    let violations = match checked.window {
        Some(window) => {
            let inventory = store.inventory().await?;
            window_violations(&rules, &inventory, &checked, window)?
        }
        None => {
            now(
                &rules,
                &checked.identity,
                &now_additions(&checked.additions),
            )
            .await?
        }
    };
    Ok(Simulated {
        violations,
        rules_version,
    })
}

/// The answer's one JSON shape, whichever interface gives it.
pub fn view(simulated: &Simulated) -> SimulateResponse {
    SimulateResponse {
        clear: simulated.violations.is_empty(),
        violations: simulated.violations.iter().map(violation_view).collect(),
        rules_version: simulated.rules_version,
    }
}

fn violation_view(v: &Violation) -> ViolationView {
    let line = ViolationLine::from(v);
    ViolationView {
        risk_id: line.risk_id,
        risk_name: line.risk_name,
        process: line.process,
        person_id: line.person_id,
        severity: line.severity.as_str().to_owned(),
        functions: line
            .functions
            .into_iter()
            .map(|f| FunctionView {
                function_id: f.function_id,
                entitlements: f.entitlements,
                accounts: f.accounts,
            })
            .collect(),
    }
}
