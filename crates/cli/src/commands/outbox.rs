//! `soxctl outbox`: what waits for delivery, and dead letters put back.

use crate::config::Config;
use crate::exit::{CmdResult, Exit};
use crate::output::{Format, print_object, print_records};
use crate::store_args::StoreArgs;
use clap::Subcommand;
use serde_json::{Value, json};
use soxctl_store::outbox::OutboxRecord;
use std::collections::VecDeque;

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Pending, dead and delivered counts, and the delivery lag.
    Status {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Messages, newest last: all undelivered by default.
    List {
        /// Only the dead letters (undelivered after every attempt).
        #[arg(long)]
        dead: bool,
        /// Delivered ones too.
        #[arg(long, conflicts_with = "dead")]
        all: bool,
        /// At most this many, the newest.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Make every dead letter due again (after fixing the channel); one more failure parks it again.
    Requeue {
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn record(r: &OutboxRecord) -> Value {
    let state = if r.dead {
        "dead"
    } else if r.delivered_at.is_some() {
        "delivered"
    } else {
        "pending"
    };
    json!({
        "id": r.id,
        "seq": r.seq,
        "topic": r.topic,
        "state": state,
        "attempts": r.attempts,
        "created_at": r.created_at.to_canonical(),
        "next_attempt_at": r.next_attempt_at.map(|t| t.to_canonical()),
        "delivered_at": r.delivered_at.map(|t| t.to_canonical()),
        "last_error": r.last_error,
        "payload": r.payload,
    })
}

pub async fn run(config: &Config, command: OutboxCommand) -> CmdResult {
    match command {
        OutboxCommand::Status { store, format } => {
            let opened = store.open(config, false).await?;
            let s = opened.store.outbox_status().await?;
            print_object(
                Format::resolve(format),
                &json!({
                    "pending": s.pending,
                    "dead": s.dead,
                    "delivered": s.delivered,
                    "oldest_pending": s.oldest_pending.map(|t| t.to_canonical()),
                }),
            )?;
            if s.dead > 0 {
                eprintln!(
                    "{} dead letter(s): see `soxctl outbox list --dead`, fix the channel, then \
                     `soxctl outbox requeue`",
                    s.dead
                );
            }
            Ok(Exit::Ok)
        }
        OutboxCommand::List {
            dead,
            all,
            limit,
            store,
            format,
        } => {
            let opened = store.open(config, false).await?;
            let keep = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
            let mut shown: VecDeque<Value> = VecDeque::new();
            let mut after = 0;
            loop {
                let page = opened.store.outbox_records(after, 1_000).await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                for r in page.iter().filter(|r| {
                    if dead {
                        r.dead
                    } else {
                        all || r.delivered_at.is_none()
                    }
                }) {
                    if shown.len() == keep {
                        shown.pop_front();
                    }
                    shown.push_back(record(r));
                }
            }
            let records: Vec<Value> = shown.into_iter().collect();
            print_records(
                Format::resolve(format),
                &[
                    "id",
                    "seq",
                    "topic",
                    "state",
                    "attempts",
                    "created_at",
                    "next_attempt_at",
                    "last_error",
                ],
                &records,
            )?;
            Ok(Exit::Ok)
        }
        OutboxCommand::Requeue { store } => {
            let opened = store.open(config, false).await?;
            let n = opened.store.outbox_requeue_dead().await?;
            eprintln!(
                "{n} dead letter(s) due again; a running `soxctl serve` delivers them within seconds"
            );
            Ok(Exit::Ok)
        }
    }
}
