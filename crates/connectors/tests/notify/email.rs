//! Email through a real SMTP receiver: every recipient gets a message once,
//! and people who cannot be mailed are skipped, not failed.

use super::*;

on_both_backends!(email_reaches_each_recipient_once_and_skips_who_cannot_be_mailed,);

async fn email_reaches_each_recipient_once_and_skips_who_cannot_be_mailed(env: Env) {
    let sink = soxctl_testkit::smtp_sink().unwrap_or_else(|e| panic!("{e}"));
    let receiver = Receiver::start(1).await;
    env.add_people(&[
        ("p1001", Some("ada@example.com")),
        ("p2002", Some("bob@example.com")),
        ("p3003", Some("erased@example.com")),
        ("p4004", None),
    ])
    .await;
    env.erase("p3003").await;
    let notifier = env
        .notifier(&format!(
            r#"
base_url = "https://soxctl.example.com/"
[smtp]
url = "{smtp}"
from = "soxctl <soxctl@example.com>"
topics = ["request.*"]
[[webhook]]
name = "siem"
url = "{flaky}"
format = "generic"
secret_env = "SECRET"
"#,
            smtp = sink.url(),
            flaky = receiver.url("/flaky"),
        ))
        .await;
    let id = env
        .enqueue(
            "request.created",
            json!({
                "request_id": "req_1",
                "notify": {
                    "subject": "Access request req_1 awaits your approval",
                    "text": "Ada asks for erp:PAYMENT_APPROVE.\nReason: quarter close.",
                    "link": "/api/v1/requests/req_1",
                    "recipients": ["p1001", "p3003", "p4004", "p9999", "p2002", "p1001"],
                    "severity": "high"
                }
            }),
        )
        .await;

    // First pass: both mails go out, the webhook answers 500.
    let report = env.pass(&notifier).await;
    assert_eq!((report.claimed, report.delivered, report.failed), (1, 0, 1));
    let error = env.record(id).await.last_error.unwrap();
    assert!(
        error.contains("webhook:siem")
            && error.contains("500")
            && error.contains("database on fire"),
        "{error}"
    );
    assert!(!error.contains("smtp:"), "mail went out: {error}");
    let mails = sink.wait_for(2, Duration::from_secs(10)).unwrap();
    assert_eq!(mails.len(), 2);
    let mut rcpts: Vec<String> = mails
        .iter()
        .map(|m| m.header("X-RcptTo").unwrap())
        .collect();
    rcpts.sort();
    assert_eq!(rcpts, vec!["ada@example.com", "bob@example.com"]);
    for mail in &mails {
        assert_eq!(
            mail.header("Subject").unwrap(),
            "Access request req_1 awaits your approval"
        );
        assert_eq!(mail.header("X-MailFrom").unwrap(), "soxctl@example.com");
        assert_eq!(mail.header("X-Soxctl-Message-Id").unwrap(), id.to_string());
        assert_eq!(mail.header("X-Soxctl-Topic").unwrap(), "request.created");
        assert_eq!(mail.header("X-Soxctl-Severity").unwrap(), "high");
        let message_id = mail.header("Message-ID").unwrap();
        assert!(
            message_id.starts_with("<soxctl.") && message_id.ends_with("@example.com>"),
            "{message_id}"
        );
        let body = mail.body();
        assert!(
            body.contains("Ada asks for erp:PAYMENT_APPROVE.\nReason: quarter close."),
            "{body}"
        );
        assert!(
            body.contains("https://soxctl.example.com/api/v1/requests/req_1"),
            "{body}"
        );
    }
    let ada = mails
        .iter()
        .find(|m| m.header("X-RcptTo").unwrap() == "ada@example.com")
        .unwrap();
    let to = ada.header("To").unwrap();
    assert!(
        to.contains("Person p1001") && to.ends_with("<ada@example.com>"),
        "{to}"
    );

    // The retry reaches the webhook and sends no mail again.
    env.clock.advance(chrono::Duration::seconds(2));
    let report = env.pass(&notifier).await;
    assert_eq!((report.claimed, report.delivered), (1, 1));
    assert_eq!(receiver.requests("/flaky").len(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.mails().len(), 2, "no mail is sent twice");
    assert_eq!(
        env.store.outbox_channels_sent(id).await.unwrap(),
        ["smtp:p1001", "smtp:p2002", "webhook:siem"]
            .into_iter()
            .map(String::from)
            .collect()
    );

    // Recording a channel twice (two workers after a lapsed claim) keeps one record.
    env.store
        .outbox_channel_sent(id, "webhook:siem")
        .await
        .unwrap();
    assert_eq!(env.store.outbox_channels_sent(id).await.unwrap().len(), 3);

    // A topic outside the email's globs, and a message without `notify`,
    // send no mail.
    env.enqueue(
        "grant.expired",
        json!({"notify": {"subject": "s", "recipients": ["p1001"]}}),
    )
    .await;
    env.enqueue("request.denied", json!({"request_id": "req_2"}))
        .await;
    let report = env.pass(&notifier).await;
    assert_eq!(report.delivered, 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.mails().len(), 2);
}
