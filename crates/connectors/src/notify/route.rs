//! Which channels a message goes to: topic globs per channel, and for email
//! the recipients of the payload's `notify` object.

use super::config::Channels;
use super::message::Notice;
use super::smtp::SmtpChannel;
use soxctl_store::OutboxMessage;
use std::sync::Arc;

/// One send a message owes.
#[derive(Debug, Clone)]
pub(super) enum Target {
    /// A mail to one person (by person id).
    Email {
        person_id: String,
        notice: Arc<Notice>,
    },
    /// The webhook at this index of [`Channels::webhooks`].
    Webhook(usize),
}

/// What a message owes, and what about it cannot be sent at all.
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub(super) targets: Vec<(String, Target)>,
    pub(super) problems: Vec<String>,
}

pub(super) fn matches(globs: &[String], topic: &str) -> bool {
    globs
        .iter()
        .any(|glob| soxctl_sod::wildcard_match(glob, topic))
}

/// The targets of `msg`, each with the key the store remembers it by.
pub(super) fn plan(channels: &Channels, msg: &OutboxMessage) -> Plan {
    let mut plan = Plan::default();
    if let Some(smtp) = &channels.smtp
        && matches(&smtp.topics, &msg.topic)
    {
        match Notice::of(msg) {
            Ok(Some(notice)) => {
                let notice = Arc::new(notice);
                for person in notice.recipients() {
                    plan.targets.push((
                        SmtpChannel::key(person),
                        Target::Email {
                            person_id: person.to_owned(),
                            notice: notice.clone(),
                        },
                    ));
                }
            }
            Ok(None) => {}
            Err(e) => plan.problems.push(format!("email: {e}")),
        }
    }
    for (i, hook) in channels.webhooks.iter().enumerate() {
        if matches(&hook.topics, &msg.topic) {
            plan.targets.push((hook.key(), Target::Webhook(i)));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::config::NotifyConfig;
    use serde_json::json;
    use soxctl_model::time::Timestamp;

    fn channels() -> Channels {
        let config: NotifyConfig = match toml::from_str(
            r#"
smtp = { url = "smtp://127.0.0.1:2525", from = "soxctl@example.com", topics = ["request.*", "breakglass.used"] }
[[webhook]]
name = "slack-sox"
url = "https://hooks.example.com/x"
format = "slack"
topics = ["sod.violation.opened", "breakglass.used"]
[[webhook]]
name = "siem"
url = "https://siem.example.com/hook"
format = "generic"
secret_env = "K"
"#,
        ) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        match config.resolve(|_| Some("k".into())) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    fn keys(topic: &str, payload: serde_json::Value) -> (Vec<String>, Vec<String>) {
        let msg = OutboxMessage {
            id: 1,
            seq: 1,
            topic: topic.into(),
            payload,
            created_at: Timestamp::from_datetime(chrono::DateTime::UNIX_EPOCH),
            attempt: 1,
        };
        let plan = plan(&channels(), &msg);
        (
            plan.targets.into_iter().map(|(k, _)| k).collect(),
            plan.problems,
        )
    }

    #[test]
    fn topics_and_recipients_choose_the_channels() {
        let notify = json!({"notify": {"subject": "s", "recipients": ["p1", "p2"]}});
        assert_eq!(
            keys("breakglass.used", notify.clone()).0,
            vec!["smtp:p1", "smtp:p2", "webhook:slack-sox", "webhook:siem"]
        );
        assert_eq!(
            keys("request.created", notify.clone()).0,
            vec!["smtp:p1", "smtp:p2", "webhook:siem"]
        );
        // No notify object, or no recipients: no mail.
        assert_eq!(keys("request.created", json!({})).0, vec!["webhook:siem"]);
        assert_eq!(
            keys("grant.expired", notify).0,
            vec!["webhook:siem"],
            "email only for its topics"
        );
        let (targets, problems) = keys("request.created", json!({"notify": {"recipients": 3}}));
        assert_eq!(targets, vec!["webhook:siem"]);
        assert!(
            problems[0].starts_with("email: payload.notify"),
            "{problems:?}"
        );
    }
}
