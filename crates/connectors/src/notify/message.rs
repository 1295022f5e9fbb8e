//! The human part of a message: the payload's optional `notify` object
//! (`subject`, `text`, `link`, `recipients`, `severity`), read leniently so
//! producers may add fields, and rendered for people.

use serde::Deserialize;
use soxctl_store::OutboxMessage;

/// A subject longer than this is cut: it is one line in a mail client or chat.
const MAX_SUBJECT: usize = 200;

/// What a producer asked to tell people.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Notice {
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
    /// Person ids.
    #[serde(default)]
    pub recipients: Vec<String>,
    #[serde(default)]
    pub severity: Option<String>,
}

impl Notice {
    /// The message's `notify` object; None when it has none. A `notify` that
    /// is not of this shape is an error: the producer has a bug that
    /// retrying will not fix, and the failure (and later the dead letter)
    /// makes it visible instead of dropping the mail.
    pub fn of(msg: &OutboxMessage) -> Result<Option<Notice>, String> {
        match msg.payload.get("notify") {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(value) => Notice::deserialize(value)
                .map(Some)
                .map_err(|e| format!("payload.notify of message {} is malformed: {e}", msg.id)),
        }
    }

    /// For channels that speak to people about messages without a `notify`
    /// object: the topic, and the payload's `summary` when it has one.
    pub fn fallback(msg: &OutboxMessage) -> Notice {
        Notice {
            subject: Some(format!("soxctl: {}", msg.topic)),
            text: msg
                .payload
                .get("summary")
                .and_then(|s| s.as_str())
                .map(str::to_owned),
            ..Notice::default()
        }
    }

    /// One line, no control characters (it becomes a mail header), not too long.
    pub fn subject_line(&self, topic: &str) -> String {
        let subject = self
            .subject
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(topic);
        let line: String = subject
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let line = line.trim();
        match line.char_indices().nth(MAX_SUBJECT) {
            Some((cut, _)) => format!("{}…", &line[..cut]),
            None => line.to_owned(),
        }
    }

    /// The link, absolute when it was relative and a base URL is known.
    /// Only http(s) links and paths are kept: a link is something to click,
    /// and another scheme (`javascript:`, `file:`) in a mail or chat is not
    /// something soxctl should hand to people.
    pub fn absolute_link(&self, base_url: Option<&str>) -> Option<String> {
        let link = self.link.as_deref()?.trim();
        if link.is_empty() || link.chars().any(char::is_control) {
            return None;
        }
        let lower = link.to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("http://") {
            return Some(link.to_owned());
        }
        let scheme_like = link
            .split(['/', '?', '#'])
            .next()
            .is_some_and(|first| first.contains(':'));
        if scheme_like || link.starts_with("//") {
            return None;
        }
        Some(match base_url {
            Some(base) => format!(
                "{}/{}",
                base.trim_end_matches('/'),
                link.trim_start_matches('/')
            ),
            None => link.to_owned(),
        })
    }

    /// Subject, text and link, one per line, empty parts left out.
    pub fn lines(&self, topic: &str, base_url: Option<&str>) -> String {
        let mut parts = vec![self.subject_line(topic)];
        if let Some(text) = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            parts.push(text.to_owned());
        }
        if let Some(link) = self.absolute_link(base_url) {
            parts.push(link);
        }
        parts.join("\n")
    }

    /// Recipients in order, each once.
    pub fn recipients(&self) -> Vec<&str> {
        let mut seen = std::collections::BTreeSet::new();
        self.recipients
            .iter()
            .map(String::as_str)
            .filter(|r| seen.insert(*r))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use soxctl_model::time::Timestamp;

    fn message(payload: serde_json::Value) -> OutboxMessage {
        OutboxMessage {
            id: 7,
            seq: 42,
            topic: "request.created".into(),
            payload,
            created_at: Timestamp::from_datetime(chrono::DateTime::UNIX_EPOCH),
            attempt: 1,
        }
    }

    fn notice(payload: serde_json::Value) -> Notice {
        match Notice::of(&message(payload)) {
            Ok(Some(n)) => n,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn notify_is_optional_lenient_and_checked() {
        assert_eq!(Notice::of(&message(json!({"x": 1}))), Ok(None));
        let n = notice(
            json!({"notify": {"subject": "s", "recipients": ["p1", "p2", "p1"], "future": true}}),
        );
        assert_eq!(n.recipients(), vec!["p1", "p2"]);
        let err = Notice::of(&message(json!({"notify": {"recipients": "p1"}})));
        assert!(matches!(err, Err(e) if e.contains("malformed") && e.contains("message 7")));
    }

    #[test]
    fn links_become_absolute_and_only_web_links_survive() {
        let base = Some("https://soxctl.example.com/");
        let link = |l: &str| Notice {
            link: Some(l.into()),
            ..Notice::default()
        };
        assert_eq!(
            link("/api/v1/requests/req_1")
                .absolute_link(base)
                .as_deref(),
            Some("https://soxctl.example.com/api/v1/requests/req_1")
        );
        assert_eq!(
            link("api/v1/x?a=b:c").absolute_link(base).as_deref(),
            Some("https://soxctl.example.com/api/v1/x?a=b:c")
        );
        assert_eq!(
            link("/api/v1/x").absolute_link(None).as_deref(),
            Some("/api/v1/x")
        );
        assert_eq!(
            link("HTTPS://other.example/x")
                .absolute_link(base)
                .as_deref(),
            Some("HTTPS://other.example/x")
        );
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "//evil.example/x",
            "/x\r\nBcc: y",
            " ",
        ] {
            assert_eq!(link(bad).absolute_link(base), None, "{bad:?}");
        }
    }

    #[test]
    fn subjects_are_single_short_lines() {
        let n = notice(json!({"notify": {"subject": "Access\r\nBcc: evil@example.com"}}));
        assert_eq!(n.subject_line("t"), "Access  Bcc: evil@example.com");
        let n = notice(json!({"notify": {"subject": "é".repeat(500)}}));
        assert_eq!(n.subject_line("t").chars().count(), MAX_SUBJECT + 1);
        let n = notice(json!({"notify": {"text": "body"}}));
        assert_eq!(n.subject_line("request.created"), "request.created");
        assert_eq!(n.lines("request.created", None), "request.created\nbody");
    }

    #[test]
    fn messages_without_notify_fall_back_to_topic_and_summary() {
        let msg = message(json!({"summary": "Alice can create and pay vendors"}));
        assert_eq!(
            Notice::fallback(&msg).lines(&msg.topic, None),
            "soxctl: request.created\nAlice can create and pay vendors"
        );
    }
}
