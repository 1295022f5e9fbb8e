//! `soxctl request|grant|breakglass|delegation`: the just-in-time workflow
//! through a running server.

use crate::client::{Client, query};
use crate::exit::{CmdResult, Exit, failed, usage};
use crate::output::{Format, print_view, print_views};
use clap::Args;
use clap::Subcommand;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use soxctl_api::breakglass::{BreakGlassBody, BreakGlassList, BreakGlassView, ReviewBody};
use soxctl_api::requests::{
    ActionBody, CreateRequestBody, CreatedRequest, DecideBody, DecidedView, DelegateBody,
    DelegationList, DelegationView, EmptyBody, Excluded, GrantList, GrantView, ReasonBody,
    RequestList, RequestView, StepView,
};
use soxctl_model::ids::{AccessGrantId, DelegationId, RequestId};
use soxctl_model::request::{Activation, ReviewOutcome};

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Ask for an entitlement, a role or an action; prints the request with its approvers.
    Create(RequestCreateArgs),
    /// List requests (as of now: pending ones past their deadline show as expired).
    List {
        /// pending, approved, denied, cancelled, expired or consumed.
        #[arg(long)]
        status: Option<String>,
        /// Only requests this person asked for or may decide.
        #[arg(long, value_name = "PERSON")]
        person: Option<String>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// A request with its decisions, grants and the delegates who may decide it.
    Show {
        request_id: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Approve as the token's person (exit 1 when a rule or the policy refuses).
    Approve {
        request_id: String,
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Deny as the token's person.
    Deny {
        request_id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Withdraw a pending or approved request; its grants in force end.
    Cancel {
        request_id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Start an approved access request that waits for activation.
    Activate {
        request_id: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Args)]
pub struct RequestCreateArgs {
    /// Access to an entitlement, `system_id:entitlement_id`.
    #[arg(long, conflicts_with_all = ["role", "action"])]
    pub entitlement: Option<String>,
    /// Access to a role's entitlements.
    #[arg(long, conflicts_with = "action")]
    pub role: Option<String>,
    /// An action instead of access: deploy, prod-config-change, payment, vendor-contract, data-fix, …
    #[arg(long, requires_all = ["env", "payload"])]
    pub action: Option<String>,
    /// The action's environment (prod, staging, …).
    #[arg(long)]
    pub env: Option<String>,
    /// The action's payload: JSON text, or @FILE (no floating-point numbers: amounts as strings).
    #[arg(long)]
    pub payload: Option<String>,
    /// Who would hold the access (default: the token's person).
    #[arg(long = "for", value_name = "PERSON")]
    pub for_person: Option<String>,
    /// How long the access lasts: 30m, 4h, 1d (default: the policy's maximum).
    #[arg(long)]
    pub duration: Option<String>,
    /// Start the access only when `soxctl request activate` says so (within the approval's validity).
    #[arg(long)]
    pub manual: bool,
    /// Why (shown to approvers, kept as evidence).
    #[arg(long)]
    pub justification: String,
    /// A ticket reference (CHG-1234).
    #[arg(long)]
    pub ticket: Option<String>,
    #[command(flatten)]
    pub server: crate::client::ServerArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// Time-bound grants in force (or all with --all).
    List {
        /// Only those ending within this time: 1h, 1d.
        #[arg(long, value_name = "DURATION")]
        expiring: Option<String>,
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// End a time-bound grant early (admin token).
    Revoke {
        grant_id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BreakglassCommand {
    /// Take emergency access now (for the people the policies name).
    Use {
        /// `system_id:entitlement_id`; repeatable.
        #[arg(long = "entitlement", required = true)]
        entitlements: Vec<String>,
        #[arg(long)]
        reason: String,
        /// Default and maximum: the policies' [break_glass] max_duration.
        #[arg(long)]
        duration: Option<String>,
        /// A session recording or activity-log reference.
        #[arg(long)]
        evidence: Option<String>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Break-glass uses.
    List {
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// The owner's after-review of a use.
    Review {
        use_id: String,
        /// appropriate or inappropriate.
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        notes: String,
        #[arg(long)]
        evidence: Option<String>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DelegationCommand {
    /// Hand your approvals to DELEGATE until a time (at most 90 days).
    Create {
        #[arg(long = "to", value_name = "DELEGATE")]
        delegate: String,
        #[arg(long, value_name = "WHEN")]
        until: String,
        #[arg(long, value_name = "WHEN")]
        from: Option<String>,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    List {
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    Revoke {
        delegation_id: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

/// The approvers with their names: `E00025 (Laura Young), E00031`.
pub(super) fn named_approvers(request: &RequestView) -> String {
    request
        .approvers
        .iter()
        .enumerate()
        .map(|(i, id)| match request.approver_names.get(i) {
            Some(name) if !name.is_empty() => format!("{id} ({name})"),
            _ => id.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const REQUEST_COLUMNS: &[&str] = &[
    "request_id",
    "kind",
    "status",
    "requester_id",
    "requester_name",
    "approvals",
    "required_approvals",
    "approvers",
    "expires_at",
    "valid_until",
];
const GRANT_COLUMNS: &[&str] = &[
    "grant_id",
    "person_id",
    "person_name",
    "system_id",
    "account_id",
    "entitlement_id",
    "starts_at",
    "ends_at",
    "end",
];

pub fn duration(name: &str, text: &str) -> Result<u64, crate::exit::Failure> {
    soxctl_policy::parse_duration(text)
        .map_err(|e| failed(Exit::Usage, anyhow::anyhow!("{name}: {e}")))
}

/// JSON text, or `@FILE`.
pub fn payload(text: &str) -> Result<Value, crate::exit::Failure> {
    let raw = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            failed(
                Exit::Usage,
                anyhow::anyhow!("cannot read the payload file {path}: {e}"),
            )
        })?,
        None => text.to_owned(),
    };
    serde_json::from_str(&raw).map_err(|e| {
        failed(
            Exit::Usage,
            anyhow::anyhow!("the payload is not JSON ({e}); give a JSON object or @FILE"),
        )
    })
}

/// What approvers and the requester should see on stderr after a step.
fn summarise(request: &RequestView, excluded: &[Excluded]) {
    eprintln!(
        "request {} is {} ({} of {} approvals); approvers: {}",
        request.request_id,
        request.status,
        request.approvals,
        request.required_approvals,
        named_approvers(request)
    );
    for flag in &request.sod {
        eprintln!(
            "SoD: would create {} ({}){}",
            flag.risk_id,
            flag.severity,
            if flag.mitigated { ", mitigated" } else { "" }
        );
    }
    for excluded in excluded {
        eprintln!(
            "not an approver: {} ({})",
            excluded.person_id, excluded.reason
        );
    }
}

async fn create(args: RequestCreateArgs) -> CmdResult {
    let client = Client::new(&args.server)?;
    let mut body = CreateRequestBody {
        entitlement: None,
        role: None,
        person_id: None,
        duration_secs: None,
        activation: None,
        action: None,
        justification: args.justification,
        ticket: args.ticket,
    };
    match (args.action, args.entitlement, args.role) {
        (Some(kind), None, None) => {
            if args.for_person.is_some() || args.duration.is_some() || args.manual {
                usage!("--for, --duration and --manual are for access requests, not actions");
            }
            let (Some(env), Some(text)) = (args.env, &args.payload) else {
                usage!("an action needs --env and --payload");
            };
            body.action = Some(ActionBody {
                kind,
                env,
                payload: payload(text)?,
                authors: None,
            });
        }
        (None, entitlement, role) if entitlement.is_some() != role.is_some() => {
            if args.env.is_some() || args.payload.is_some() {
                usage!("--env and --payload are for actions (--action)");
            }
            body.entitlement = entitlement;
            body.role = role;
            body.person_id = args.for_person;
            body.duration_secs = args
                .duration
                .map(|d| duration("--duration", &d))
                .transpose()?;
            body.activation = args.manual.then_some(Activation::Manual);
        }
        _ => usage!("ask for exactly one of --entitlement, --role or --action"),
    }
    let created: CreatedRequest = client.post_as("/api/v1/requests", &body).await?;
    summarise(&created.request, &created.excluded);
    print_view(Format::resolve(args.format), &created)?;
    Ok(Exit::Ok)
}

pub async fn request(command: RequestCommand) -> CmdResult {
    match command {
        RequestCommand::Create(args) => create(args).await,
        RequestCommand::List {
            status,
            person,
            server,
            format,
        } => {
            let client = Client::new(&server)?;
            let mut path = "/api/v1/requests?".to_owned();
            if let Some(s) = status {
                path.push_str(&format!("status={}&", query(&s)));
            }
            if let Some(p) = person {
                path.push_str(&format!("person={}&", query(&p)));
            }
            let answer: RequestList = client.get_as(path.trim_end_matches(['?', '&'])).await?;
            print_views(Format::resolve(format), REQUEST_COLUMNS, &answer.requests)?;
            Ok(Exit::Ok)
        }
        RequestCommand::Show {
            request_id,
            server,
            format,
        } => {
            let request_id = RequestId::parse(request_id)?;
            let client = Client::new(&server)?;
            let shown = client.request(&request_id).await?;
            print_view(Format::resolve(format), &shown)?;
            Ok(Exit::Ok)
        }
        RequestCommand::Approve {
            request_id,
            comment,
            server,
            format,
        } => {
            step(
                &server,
                &request_id,
                "approve",
                &DecideBody { comment },
                format,
                |d: &DecidedView| &d.request,
            )
            .await
        }
        RequestCommand::Deny {
            request_id,
            reason,
            server,
            format,
        } => {
            step(
                &server,
                &request_id,
                "deny",
                &DecideBody {
                    comment: Some(reason),
                },
                format,
                |d: &DecidedView| &d.request,
            )
            .await
        }
        RequestCommand::Cancel {
            request_id,
            reason,
            server,
            format,
        } => {
            step(
                &server,
                &request_id,
                "cancel",
                &ReasonBody { reason },
                format,
                |s: &StepView| &s.request,
            )
            .await
        }
        RequestCommand::Activate {
            request_id,
            server,
            format,
        } => {
            step(
                &server,
                &request_id,
                "activate",
                &EmptyBody {},
                format,
                |s: &StepView| &s.request,
            )
            .await
        }
    }
}

/// A step on a request: its answer `V` carries the request, summarised.
async fn step<B: Serialize, V: DeserializeOwned + Serialize>(
    server: &crate::client::ServerArgs,
    request_id: &str,
    verb: &str,
    body: &B,
    format: Option<Format>,
    request: impl Fn(&V) -> &RequestView,
) -> CmdResult {
    let request_id = RequestId::parse(request_id)?;
    let client = Client::new(server)?;
    let answer: V = client
        .post_as(
            &format!("/api/v1/requests/{}/{verb}", query(request_id.as_str())),
            body,
        )
        .await?;
    summarise(request(&answer), &[]);
    print_view(Format::resolve(format), &answer)?;
    Ok(Exit::Ok)
}

pub async fn grant(command: GrantCommand) -> CmdResult {
    match command {
        GrantCommand::List {
            expiring,
            all,
            server,
            format,
        } => {
            let client = Client::new(&server)?;
            let mut path = "/api/v1/grants?".to_owned();
            if let Some(e) = expiring {
                path.push_str(&format!(
                    "expiring_within_secs={}&",
                    duration("--expiring", &e)?
                ));
            }
            if all {
                path.push_str("all=true&");
            }
            let answer: GrantList = client.get_as(path.trim_end_matches(['?', '&'])).await?;
            print_views(Format::resolve(format), GRANT_COLUMNS, &answer.grants)?;
            Ok(Exit::Ok)
        }
        GrantCommand::Revoke {
            grant_id,
            reason,
            server,
            format,
        } => {
            let grant_id = AccessGrantId::parse(grant_id)?;
            let client = Client::new(&server)?;
            let answer: GrantView = client
                .post_as(
                    &format!("/api/v1/grants/{}/revoke", query(grant_id.as_str())),
                    &ReasonBody { reason },
                )
                .await?;
            print_view(Format::resolve(format), &answer)?;
            Ok(Exit::Ok)
        }
    }
}

/// `--outcome` as the API reads it.
fn outcome(text: &str) -> Result<ReviewOutcome, crate::exit::Failure> {
    serde_json::from_value(Value::String(text.to_owned())).map_err(|_| {
        failed(
            Exit::Usage,
            anyhow::anyhow!(
                "--outcome: appropriate or inappropriate, not '{}'",
                soxctl_model::identity::escape(text)
            ),
        )
    })
}

pub async fn breakglass(command: BreakglassCommand) -> CmdResult {
    match command {
        BreakglassCommand::Use {
            entitlements,
            reason,
            duration: d,
            evidence,
            server,
            format,
        } => {
            let client = Client::new(&server)?;
            let body = BreakGlassBody {
                entitlements,
                duration_secs: d.map(|d| duration("--duration", &d)).transpose()?,
                reason,
                evidence,
            };
            let used: BreakGlassView = client.post_as("/api/v1/breakglass", &body).await?;
            eprintln!(
                "emergency access until {}; {} is alerted and must review it",
                used.ends_at, used.reviewer_id
            );
            print_view(Format::resolve(format), &used)?;
            Ok(Exit::Ok)
        }
        BreakglassCommand::List { server, format } => {
            let client = Client::new(&server)?;
            let answer: BreakGlassList = client.get_as("/api/v1/breakglass").await?;
            print_views(
                Format::resolve(format),
                &[
                    "use_id",
                    "person_id",
                    "person_name",
                    "entitlements",
                    "starts_at",
                    "ends_at",
                    "reviewer_id",
                    "reviewer_name",
                    "outcome",
                ],
                &answer.uses,
            )?;
            Ok(Exit::Ok)
        }
        BreakglassCommand::Review {
            use_id,
            outcome: given,
            notes,
            evidence,
            server,
            format,
        } => {
            let use_id = RequestId::parse(use_id)?;
            let body = ReviewBody {
                outcome: outcome(&given)?,
                notes,
                evidence,
            };
            let client = Client::new(&server)?;
            let answer: BreakGlassView = client
                .post_as(
                    &format!("/api/v1/breakglass/{}/review", query(use_id.as_str())),
                    &body,
                )
                .await?;
            print_view(Format::resolve(format), &answer)?;
            Ok(Exit::Ok)
        }
    }
}

pub async fn delegation(command: DelegationCommand) -> CmdResult {
    match command {
        DelegationCommand::Create {
            delegate,
            until,
            from,
            reason,
            server,
            format,
        } => {
            let client = Client::new(&server)?;
            let ends_at = super::query::instant("--until", &until)?;
            let starts_at = from
                .map(|f| super::query::instant("--from", &f))
                .transpose()?;
            let body = DelegateBody {
                delegate_id: delegate,
                starts_at: starts_at.map(|t| t.to_canonical()),
                ends_at: ends_at.to_canonical(),
                reason,
            };
            let answer: DelegationView = client.post_as("/api/v1/delegations", &body).await?;
            print_view(Format::resolve(format), &answer)?;
            Ok(Exit::Ok)
        }
        DelegationCommand::List { server, format } => {
            let client = Client::new(&server)?;
            let answer: DelegationList = client.get_as("/api/v1/delegations").await?;
            print_views(
                Format::resolve(format),
                &[
                    "delegation_id",
                    "delegator_id",
                    "delegator_name",
                    "delegate_id",
                    "delegate_name",
                    "starts_at",
                    "ends_at",
                    "active",
                ],
                &answer.delegations,
            )?;
            Ok(Exit::Ok)
        }
        DelegationCommand::Revoke {
            delegation_id,
            server,
            format,
        } => {
            let delegation_id = DelegationId::parse(delegation_id)?;
            let client = Client::new(&server)?;
            let answer: DelegationView = client
                .post_as(
                    &format!(
                        "/api/v1/delegations/{}/revoke",
                        query(delegation_id.as_str())
                    ),
                    &EmptyBody {},
                )
                .await?;
            print_view(Format::resolve(format), &answer)?;
            Ok(Exit::Ok)
        }
    }
}
