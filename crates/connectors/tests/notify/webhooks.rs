//! Webhooks: receivers can check who sent them, a retry never repeats a
//! channel that already has the message, and a dead receiver is named.

use super::*;

on_both_backends!(
    webhooks_are_signed_retried_and_never_repeated_to_a_channel_that_got_them,
    a_receiver_that_is_down_is_a_failure_with_its_address,
);

async fn webhooks_are_signed_retried_and_never_repeated_to_a_channel_that_got_them(env: Env) {
    let receiver = Receiver::start(1).await;
    let notifier = env
        .notifier(&format!(
            r#"
base_url = "https://soxctl.example.com"
[[webhook]]
name = "slack-sox"
url = "{slack}"
format = "slack"
topics = ["sod.violation.opened", "breakglass.used"]
[[webhook]]
name = "siem"
url = "{siem}"
format = "generic"
secret_env = "SECRET"
topics = ["breakglass.*", "sod.*"]
[[webhook]]
name = "flaky"
url = "{flaky}"
format = "generic"
secret_env = "SECRET"
topics = ["breakglass.used"]
"#,
            slack = receiver.url("/slack"),
            siem = receiver.url("/siem"),
            flaky = receiver.url("/flaky"),
        ))
        .await;
    let payload = json!({
        "grant": "erp:PAYMENT_APPROVE",
        "notify": {
            "subject": "Break-glass access used by p1001",
            "text": "Emergency access to erp:PAYMENT_APPROVE.\nReview within 24 h.",
            "link": "/api/v1/grants/g_1",
            "recipients": ["p2002"],
            "severity": "critical"
        }
    });
    let id = env.enqueue("breakglass.used", payload.clone()).await;

    let report = env.pass(&notifier).await;
    assert_eq!((report.delivered, report.failed), (0, 1));
    let record = env.record(id).await;
    assert!(
        record
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("webhook:flaky: ")
            && record.last_error.as_deref().unwrap().contains("500"),
        "{:?}",
        record.last_error
    );

    // Slack: {"text": "<subject>\n<text>\n<link>"}, the link made absolute.
    let slack = receiver.requests("/slack");
    assert_eq!(slack.len(), 1);
    let body: Value = serde_json::from_slice(&slack[0].body).unwrap();
    assert_eq!(
        body,
        json!({"text": "Break-glass access used by p1001\nEmergency access to erp:PAYMENT_APPROVE.\nReview within 24 h.\nhttps://soxctl.example.com/api/v1/grants/g_1"})
    );
    assert_eq!(
        slack[0].headers.get("content-type").unwrap(),
        "application/json"
    );

    // Generic: the whole message, signed over "timestamp.body".
    let siem = receiver.requests("/siem");
    assert_eq!(siem.len(), 1);
    let now_unix = Timestamp::parse(START).unwrap().micros() / 1_000_000;
    verify_signature(&siem[0], now_unix);
    assert_eq!(
        siem[0].headers.get("x-soxctl-message-id").unwrap(),
        &id.to_string()
    );
    let body: Value = serde_json::from_slice(&siem[0].body).unwrap();
    assert_eq!(body["id"], id);
    assert_eq!(body["seq"], record.seq);
    assert_eq!(body["topic"], "breakglass.used");
    assert_eq!(body["created_at"], record.created_at.to_canonical());
    assert_eq!(body["payload"], payload);

    // Not due yet: the backoff holds the retry back.
    assert_eq!(env.pass(&notifier).await.claimed, 0);
    env.clock.advance(chrono::Duration::seconds(2));
    let report = env.pass(&notifier).await;
    assert_eq!((report.delivered, report.failed), (1, 0));
    let flaky = receiver.requests("/flaky");
    assert_eq!(flaky.len(), 2, "the failed channel is retried");
    let retried_at = Timestamp::parse(START).unwrap().micros() / 1_000_000 + 2;
    verify_signature(&flaky[1], retried_at);
    assert_eq!(
        flaky[0].headers.get("x-soxctl-message-id"),
        flaky[1].headers.get("x-soxctl-message-id"),
        "the same id on every attempt, for deduplication"
    );
    assert_eq!(
        receiver.requests("/slack").len(),
        1,
        "no duplicate to Slack"
    );
    assert_eq!(
        receiver.requests("/siem").len(),
        1,
        "no duplicate to the SIEM"
    );

    // A message no channel matches is settled without a request.
    let unmatched = env.enqueue("grant.expired", json!({})).await;
    let before = receiver.got.lock().unwrap().len();
    assert_eq!(env.pass(&notifier).await.delivered, 1);
    assert!(env.record(unmatched).await.delivered_at.is_some());
    assert_eq!(receiver.got.lock().unwrap().len(), before);

    // Without `notify`, Slack gets the topic and the payload's summary.
    env.enqueue(
        "sod.violation.opened",
        json!({"summary": "p1001 can create <vendors> & pay them"}),
    )
    .await;
    assert_eq!(env.pass(&notifier).await.delivered, 1);
    let slack = receiver.requests("/slack");
    let body: Value = serde_json::from_slice(&slack[1].body).unwrap();
    assert_eq!(
        body["text"],
        "soxctl: sod.violation.opened\np1001 can create &lt;vendors&gt; &amp; pay them"
    );
}

async fn a_receiver_that_is_down_is_a_failure_with_its_address(env: Env) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let notifier = env
        .notifier(&format!(
            r#"
[[webhook]]
name = "down"
url = "http://127.0.0.1:{port}/secret-path-token"
format = "slack"
"#
        ))
        .await;
    let id = env.enqueue("request.expired", json!({})).await;
    let report = env.pass(&notifier).await;
    assert_eq!(report.failed, 1);
    let error = env.record(id).await.last_error.unwrap();
    assert!(
        error.contains("cannot connect") && error.contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    assert!(
        !error.contains("secret-path-token"),
        "paths may hold tokens: {error}"
    );
}
