//! Notifications through the outbox, written in the same transaction as
//! the step they announce. The `notify` object is what the deliverers
//! (email, chat and generic webhooks) render; the rest is for machines
//! (connector hooks that push a revocation to the target system).

use crate::error::Result;
use serde_json::{Value, json};
use soxctl_model::ids::{PersonId, RequestId};
use soxctl_model::request::{Ask, RequestRow};
use soxctl_store::WriteTx;

/// The API view of a request: approve/deny pages come with the console;
/// until then the link opens the request and the CLI decides.
pub fn link(request_id: &RequestId) -> String {
    format!("/api/v1/requests/{request_id}")
}

pub fn describe(ask: &Ask) -> String {
    match ask {
        Ask::Access(a) => {
            let what = match (&a.role_id, &a.entitlement) {
                (Some(role), _) => format!("role {role}"),
                (None, Some(e)) => e.clone(),
                (None, None) => "access".to_owned(),
            };
            format!(
                "{what} for {} for {}",
                a.person_id,
                duration_text(a.duration_secs)
            )
        }
        Ask::Action(a) => format!("{} in {} ({})", a.kind, a.env, a.digest),
    }
}

pub fn duration_text(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

pub struct Notice<'a> {
    pub topic: &'a str,
    pub subject: String,
    pub text: String,
    pub request_id: &'a RequestId,
    pub recipients: Vec<PersonId>,
    pub severity: Option<&'a str>,
    /// Machine-readable facts beside the notice.
    pub facts: Value,
}

pub async fn send(tx: &mut WriteTx, notice: Notice<'_>) -> Result<()> {
    let mut recipients: Vec<String> = notice.recipients.iter().map(ToString::to_string).collect();
    recipients.sort();
    recipients.dedup();
    let mut notify = json!({
        "subject": notice.subject,
        "text": notice.text,
        "link": link(notice.request_id),
        "recipients": recipients,
    });
    if let (Some(sev), Some(obj)) = (notice.severity, notify.as_object_mut()) {
        obj.insert("severity".into(), sev.into());
    }
    let mut payload = json!({ "request_id": notice.request_id, "notify": notify });
    if let (Value::Object(facts), Some(obj)) = (notice.facts, payload.as_object_mut()) {
        obj.extend(facts);
    }
    tx.enqueue(notice.topic, &payload).await?;
    Ok(())
}

/// The lines approvers read: what, why, SoD, who else may approve.
pub fn request_text(r: &RequestRow) -> String {
    let mut lines = vec![
        format!("{} asks for {}", r.requester_id, describe(&r.ask)),
        format!("Justification: {}", r.justification),
    ];
    if let Some(t) = &r.ticket {
        lines.push(format!("Ticket: {t}"));
    }
    for f in &r.sod {
        lines.push(format!(
            "SoD: would create {} ({}){}",
            f.risk_id,
            f.severity,
            if f.mitigated { ", mitigated" } else { "" }
        ));
    }
    lines.push(format!(
        "Needs {} approval(s) from: {}",
        r.required_approvals,
        r.approvers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    lines.push(format!("Expires undecided at {}", r.expires_at));
    lines.join("\n")
}
