//! Webhooks: Slack/Teams-compatible incoming webhooks (`{"text": …}`) and
//! generic receivers that get the whole message, signed.
//!
//! The signature covers `timestamp + "." + body` with HMAC-SHA256, like
//! Stripe's and Slack's own: the timestamp lets a receiver refuse replays
//! of an old (captured) request, and signing it with the body stops an
//! attacker from pairing a fresh timestamp with an old body.

use super::config::Format;
use super::message::Notice;
use crate::http::{Endpoint, PostError, post};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use soxctl_model::time::Timestamp;
use soxctl_store::OutboxMessage;
use std::sync::Arc;
use std::time::Duration;

pub const MESSAGE_ID_HEADER: &str = "X-Soxctl-Message-Id";
pub const TIMESTAMP_HEADER: &str = "X-Soxctl-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Soxctl-Signature";

pub(super) struct WebhookChannel {
    pub(super) name: String,
    pub(super) format: Format,
    pub(super) endpoint: Endpoint,
    /// The HMAC key of a generic webhook.
    pub(super) secret: Option<Vec<u8>>,
    pub(super) topics: Vec<String>,
    pub(super) timeout: Duration,
    pub(super) tls: Arc<rustls::ClientConfig>,
}

/// `sha256=` and the lowercase hex HMAC-SHA256 of `timestamp.body` under `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length; the error case cannot happen.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The body a generic receiver gets: the message as the outbox holds it.
pub fn generic_body(msg: &OutboxMessage) -> Vec<u8> {
    let body = serde_json::json!({
        "id": msg.id,
        "seq": msg.seq,
        "topic": msg.topic,
        "created_at": msg.created_at.to_canonical(),
        "payload": msg.payload,
    });
    body.to_string().into_bytes()
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters: escaped,
/// text from a payload cannot forge links or mentions (`<!channel>`).
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `{"text": "<subject>\n<text>\n<link>"}`.
pub fn slack_body(msg: &OutboxMessage, base_url: Option<&str>) -> Result<Vec<u8>, String> {
    let notice = Notice::of(msg)?.unwrap_or_else(|| Notice::fallback(msg));
    let text = slack_escape(&notice.lines(&msg.topic, base_url));
    Ok(serde_json::json!({ "text": text }).to_string().into_bytes())
}

impl WebhookChannel {
    /// The key under which the store remembers that this channel got a message.
    pub(super) fn key(&self) -> String {
        format!("webhook:{}", self.name)
    }

    pub(super) async fn send(
        &self,
        msg: &OutboxMessage,
        base_url: Option<&str>,
        now: Timestamp,
    ) -> Result<(), String> {
        let mut headers = vec![(MESSAGE_ID_HEADER, msg.id.to_string())];
        let body = match self.format {
            Format::Slack => slack_body(msg, base_url)?,
            Format::Generic => {
                let body = generic_body(msg);
                let timestamp = now.micros().div_euclid(1_000_000);
                if let Some(secret) = &self.secret {
                    headers.push((TIMESTAMP_HEADER, timestamp.to_string()));
                    headers.push((SIGNATURE_HEADER, signature(secret, timestamp, &body)));
                }
                body
            }
        };
        post(&self.endpoint, &self.tls, &headers, body, self.timeout)
            .await
            .map_err(|e: PostError| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hmac_hex(key: &[u8], data: &[u8]) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn the_primitive_is_hmac_sha256() {
        // RFC 4231 §4.3, test case 2.
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_signature_covers_timestamp_dot_body() {
        assert_eq!(
            signature(b"Jefe", 1_700_000_000, b"{\"a\":1}"),
            format!("sha256={}", hmac_hex(b"Jefe", b"1700000000.{\"a\":1}"))
        );
    }

    #[test]
    fn slack_text_is_escaped() {
        let msg = OutboxMessage {
            id: 1,
            seq: 2,
            topic: "breakglass.used".into(),
            payload: json!({"notify": {"subject": "<!channel> & co", "text": "a > b", "link": "/x"}}),
            created_at: Timestamp::from_datetime(chrono::DateTime::UNIX_EPOCH),
            attempt: 1,
        };
        let body = match slack_body(&msg, Some("https://s.example")) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let value: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            value,
            json!({"text": "&lt;!channel&gt; &amp; co\na &gt; b\nhttps://s.example/x"})
        );
    }
}
