//! Outbound notifications: the [`Deliver`]er that `soxctl serve` hands to
//! the outbox worker. A message goes to every channel whose topic globs
//! match it: email to the person ids in the payload's `notify.recipients`
//! (SMTP), Slack/Teams incoming webhooks, and generic webhooks signed with
//! HMAC-SHA256. A message no channel wants is settled without sending.
//! See docs/notifications.md.
//!
//! Fan-out and retries: the outbox settles a message as a whole, so when
//! one of its channels fails the whole message is retried. Each channel a
//! message reached is recorded in the store right after its send
//! ([`Store::outbox_channel_sent`]), and a retry sends only to the others.
//! (The alternative, one outbox row per channel written by the producers,
//! would make every producer know the routing configuration, freeze the
//! routing of queued messages, and change the `enqueue` contract the
//! producers are written against; the record keeps routing here.)

mod config;
mod message;
mod route;
mod smtp;
mod webhook;

pub use config::{
    Channels, ConfigError, Format, NotifyConfig, SMTP_PASSWORD_ENV, SmtpConfig, WebhookConfig,
};
pub use message::Notice;
pub use webhook::{MESSAGE_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};

use route::Target;
use smtp::Recipient;
use soxctl_model::ids::PersonId;
use soxctl_store::{Deliver, OutboxMessage, Store, StoreError};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Sends of one message running at once: a message to a whole team must
/// not open a connection per person at the same moment.
const PARALLEL_SENDS: usize = 8;

/// Delivers outbox messages to the configured channels.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    channels: Channels,
    /// Part of every mail's Message-ID, so two stores never collide.
    store_id: String,
    sends: Semaphore,
}

/// What one send came to.
enum Sent {
    Yes,
    /// Nothing to send to (an erased person, no address): not a failure.
    Skipped,
}

impl Notifier {
    pub async fn new(store: Store, channels: Channels) -> Result<Notifier, StoreError> {
        let store_id = store
            .meta()
            .await?
            .map(|m| m.store_id)
            .unwrap_or_else(|| "store".to_owned());
        Ok(Notifier {
            inner: Arc::new(Inner {
                store,
                channels,
                store_id,
                sends: Semaphore::new(PARALLEL_SENDS),
            }),
        })
    }

    pub fn channels(&self) -> &Channels {
        &self.inner.channels
    }
}

impl Deliver for Notifier {
    fn deliver(&self, msg: &OutboxMessage) -> impl Future<Output = Result<(), String>> + Send {
        self.inner.clone().deliver(Arc::new(msg.clone()))
    }
}

impl Inner {
    async fn deliver(self: Arc<Self>, msg: Arc<OutboxMessage>) -> Result<(), String> {
        let plan = route::plan(&self.channels, &msg);
        let mut failures = plan.problems;
        if !plan.targets.is_empty() {
            let reached = self
                .store
                .outbox_channels_sent(msg.id)
                .await
                .map_err(|e| e.to_string())?;
            // Concurrent, so one receiver that hangs until its timeout does
            // not starve the others of the outbox's delivery time.
            let mut sends = JoinSet::new();
            for (key, target) in plan.targets {
                if reached.contains(&key) {
                    continue;
                }
                let inner = self.clone();
                let msg = msg.clone();
                sends.spawn(async move {
                    let outcome = inner.send(&msg, target).await;
                    (key, outcome)
                });
            }
            while let Some(joined) = sends.join_next().await {
                match joined {
                    Ok((key, Ok(Sent::Yes))) => {
                        if let Err(e) = self.store.outbox_channel_sent(msg.id, &key).await {
                            // Sent but not remembered: the retry repeats this
                            // one send, which receivers deduplicate by id.
                            failures.push(format!("{key}: sent, but not recorded: {e}"));
                        }
                    }
                    Ok((_, Ok(Sent::Skipped))) => {}
                    Ok((key, Err(e))) => failures.push(format!("{key}: {e}")),
                    Err(e) => failures.push(format!("a send ended abnormally: {e}")),
                }
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            failures.sort();
            Err(failures.join("; "))
        }
    }

    async fn send(&self, msg: &OutboxMessage, target: Target) -> Result<Sent, String> {
        let _permit = self
            .sends
            .acquire()
            .await
            .map_err(|e| format!("shutting down: {e}"))?;
        let now = self.store.context().clock.now();
        let base_url = self.channels.base_url.as_deref();
        match target {
            Target::Webhook(i) => {
                let hook = self
                    .channels
                    .webhooks
                    .get(i)
                    .ok_or_else(|| format!("no webhook number {i}"))?;
                hook.send(msg, base_url, now).await?;
                Ok(Sent::Yes)
            }
            Target::Email { person_id, notice } => {
                let Some(smtp) = &self.channels.smtp else {
                    return Err("email is not configured".to_owned());
                };
                let Some(to) = self.recipient(msg, &person_id).await? else {
                    return Ok(Sent::Skipped);
                };
                let mail = smtp.compose(msg, &notice, &to, base_url, &self.store_id, now)?;
                smtp.send(mail).await?;
                Ok(Sent::Yes)
            }
        }
    }

    /// The person's name and address, unsealed by the store; None (with a
    /// warning) for someone who cannot be mailed: unknown, erased (their
    /// key is shredded, so there is no address to find), or without a
    /// usable address.
    async fn recipient<'a>(
        &self,
        msg: &OutboxMessage,
        person_id: &'a str,
    ) -> Result<Option<Recipient<'a>>, String> {
        let skip = |why: &str| {
            tracing::warn!(
                message = msg.id,
                topic = %msg.topic,
                person = person_id,
                "not emailed: {why}"
            );
            Ok(None)
        };
        let Ok(id) = PersonId::parse(person_id) else {
            return skip("not a person id");
        };
        let row = self.store.person(&id).await.map_err(|e| e.to_string())?;
        let Some(row) = row else {
            return skip("no such person");
        };
        if row.erased {
            return skip("the person's personal data is erased");
        }
        let Some(email) = row.person.email else {
            return skip("the person has no email address");
        };
        match email.parse() {
            Ok(address) => Ok(Some(Recipient {
                person_id,
                name: row.person.name,
                address,
            })),
            Err(_) => skip("the person's email address is not valid"),
        }
    }
}
