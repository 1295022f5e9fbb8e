//! `soxctl request|grant|breakglass|delegation`: the just-in-time workflow
//! through a running server.

use crate::cli::{
    BreakglassCommand, DelegationCommand, GrantCommand, RequestCommand, RequestCreateArgs,
};
use crate::client::{Client, query};
use crate::exit::{CmdResult, Exit, failed, usage};
use crate::output::{Format, print_object, print_records};
use serde_json::{Value, json};

const REQUEST_COLUMNS: &[&str] = &[
    "request_id",
    "kind",
    "status",
    "requester_id",
    "approvals",
    "required_approvals",
    "approvers",
    "expires_at",
    "valid_until",
];
const GRANT_COLUMNS: &[&str] = &[
    "grant_id",
    "person_id",
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

fn list(value: &Value, key: &str) -> Vec<Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// What approvers and the requester should see on stderr after a step.
fn summarise(request: &Value) {
    let get = |k: &str| request.get(k).and_then(Value::as_str).unwrap_or("");
    eprintln!(
        "request {} is {} ({} of {} approvals); approvers: {}",
        get("request_id"),
        get("status"),
        request.get("approvals").unwrap_or(&Value::Null),
        request.get("required_approvals").unwrap_or(&Value::Null),
        list(request, "approvers")
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    );
    for flag in list(request, "sod") {
        eprintln!(
            "SoD: would create {} ({}){}",
            flag.get("risk_id").and_then(Value::as_str).unwrap_or(""),
            flag.get("severity").and_then(Value::as_str).unwrap_or(""),
            if flag.get("mitigated") == Some(&Value::Bool(true)) {
                ", mitigated"
            } else {
                ""
            }
        );
    }
    for excluded in list(request, "excluded") {
        eprintln!(
            "not an approver: {} ({})",
            excluded
                .get("person_id")
                .and_then(Value::as_str)
                .unwrap_or(""),
            excluded.get("reason").and_then(Value::as_str).unwrap_or("")
        );
    }
}

async fn create(args: RequestCreateArgs) -> CmdResult {
    let client = Client::new(&args.server)?;
    let mut body = json!({ "justification": args.justification, "ticket": args.ticket });
    let Some(obj) = body.as_object_mut() else {
        usage!("internal: request body");
    };
    match (&args.action, &args.entitlement, &args.role) {
        (Some(kind), None, None) => {
            if args.for_person.is_some() || args.duration.is_some() || args.manual {
                usage!("--for, --duration and --manual are for access requests, not actions");
            }
            let (Some(env), Some(text)) = (&args.env, &args.payload) else {
                usage!("an action needs --env and --payload");
            };
            obj.insert(
                "action".into(),
                json!({ "kind": kind, "env": env, "payload": payload(text)? }),
            );
        }
        (None, entitlement, role) if entitlement.is_some() != role.is_some() => {
            if args.env.is_some() || args.payload.is_some() {
                usage!("--env and --payload are for actions (--action)");
            }
            obj.insert("entitlement".into(), json!(entitlement));
            obj.insert("role".into(), json!(role));
            obj.insert("person_id".into(), json!(args.for_person));
            if let Some(d) = &args.duration {
                obj.insert("duration_secs".into(), json!(duration("--duration", d)?));
            }
            if args.manual {
                obj.insert("activation".into(), json!("manual"));
            }
        }
        _ => usage!("ask for exactly one of --entitlement, --role or --action"),
    }
    let created = client.post("/api/v1/requests", &body).await?;
    summarise(&created);
    print_object(Format::resolve(args.format), &created)?;
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
            let answer = client.get(path.trim_end_matches(['?', '&'])).await?;
            print_records(
                Format::resolve(format),
                REQUEST_COLUMNS,
                &list(&answer, "requests"),
            )?;
            Ok(Exit::Ok)
        }
        RequestCommand::Show {
            request_id,
            server,
            format,
        } => {
            let client = Client::new(&server)?;
            let shown = client
                .get(&format!("/api/v1/requests/{}", query(&request_id)))
                .await?;
            print_object(Format::resolve(format), &shown)?;
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
                json!({ "comment": comment }),
                format,
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
                json!({ "comment": reason }),
                format,
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
                json!({ "reason": reason }),
                format,
            )
            .await
        }
        RequestCommand::Activate {
            request_id,
            server,
            format,
        } => step(&server, &request_id, "activate", json!({}), format).await,
    }
}

async fn step(
    server: &crate::client::ServerArgs,
    request_id: &str,
    verb: &str,
    body: Value,
    format: Option<Format>,
) -> CmdResult {
    let client = Client::new(server)?;
    let answer = client
        .post(
            &format!("/api/v1/requests/{}/{verb}", query(request_id)),
            &body,
        )
        .await?;
    summarise(&answer);
    print_object(Format::resolve(format), &answer)?;
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
            let answer = client.get(path.trim_end_matches(['?', '&'])).await?;
            print_records(
                Format::resolve(format),
                GRANT_COLUMNS,
                &list(&answer, "grants"),
            )?;
            Ok(Exit::Ok)
        }
        GrantCommand::Revoke {
            grant_id,
            reason,
            server,
            format,
        } => {
            let client = Client::new(&server)?;
            let answer = client
                .post(
                    &format!("/api/v1/grants/{}/revoke", query(&grant_id)),
                    &json!({ "reason": reason }),
                )
                .await?;
            print_object(Format::resolve(format), &answer)?;
            Ok(Exit::Ok)
        }
    }
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
            let mut body =
                json!({ "entitlements": entitlements, "reason": reason, "evidence": evidence });
            if let (Some(d), Some(obj)) = (d, body.as_object_mut()) {
                obj.insert("duration_secs".into(), json!(duration("--duration", &d)?));
            }
            let used = client.post("/api/v1/breakglass", &body).await?;
            eprintln!(
                "emergency access until {}; {} is alerted and must review it",
                used.get("ends_at").and_then(Value::as_str).unwrap_or(""),
                used.get("reviewer_id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            );
            print_object(Format::resolve(format), &used)?;
            Ok(Exit::Ok)
        }
        BreakglassCommand::List { server, format } => {
            let client = Client::new(&server)?;
            let answer = client.get("/api/v1/breakglass").await?;
            print_records(
                Format::resolve(format),
                &[
                    "use_id",
                    "person_id",
                    "entitlements",
                    "starts_at",
                    "ends_at",
                    "reviewer_id",
                    "outcome",
                ],
                &list(&answer, "uses"),
            )?;
            Ok(Exit::Ok)
        }
        BreakglassCommand::Review {
            use_id,
            outcome,
            notes,
            evidence,
            server,
            format,
        } => {
            let client = Client::new(&server)?;
            let answer = client
                .post(
                    &format!("/api/v1/breakglass/{}/review", query(&use_id)),
                    &json!({ "outcome": outcome, "notes": notes, "evidence": evidence }),
                )
                .await?;
            print_object(Format::resolve(format), &answer)?;
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
            let answer = client
                .post(
                    "/api/v1/delegations",
                    &json!({
                        "delegate_id": delegate,
                        "ends_at": ends_at.to_canonical(),
                        "starts_at": starts_at.map(|t| t.to_canonical()),
                        "reason": reason,
                    }),
                )
                .await?;
            print_object(Format::resolve(format), &answer)?;
            Ok(Exit::Ok)
        }
        DelegationCommand::List { server, format } => {
            let client = Client::new(&server)?;
            let answer = client.get("/api/v1/delegations").await?;
            print_records(
                Format::resolve(format),
                &[
                    "delegation_id",
                    "delegator_id",
                    "delegate_id",
                    "starts_at",
                    "ends_at",
                    "active",
                ],
                &list(&answer, "delegations"),
            )?;
            Ok(Exit::Ok)
        }
        DelegationCommand::Revoke {
            delegation_id,
            server,
            format,
        } => {
            let client = Client::new(&server)?;
            let answer = client
                .post(
                    &format!("/api/v1/delegations/{}/revoke", query(&delegation_id)),
                    &json!({}),
                )
                .await?;
            print_object(Format::resolve(format), &answer)?;
            Ok(Exit::Ok)
        }
    }
}
