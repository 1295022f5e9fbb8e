use crate::config::Config;
use crate::exit::{CmdResult, Exit};
use crate::store_args::StoreArgs;
use anyhow::Context;
use clap::Args;
use soxctl_connectors::notify::Notifier;
use soxctl_ledger::note::SigningKey;
use soxctl_server::{AppState, ServerOptions};
use soxctl_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on.
    #[arg(long, env = "SOXCTL_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve /metrics without a token.
    #[arg(long, env = "SOXCTL_METRICS_PUBLIC")]
    pub metrics_public: bool,
}

pub async fn run(config: &Config, args: ServeArgs) -> CmdResult {
    // The server appends entries and signs checkpoints: it needs the private key.
    let opened = args.store.open_signing(config, true).await?;
    let key = opened.initialise(config, false).await?;
    let listen = args
        .listen
        .or(config.server.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    tracing::info!(store = %opened.location.describe(), "store ready");
    let notifier = notifier(config, &opened.store).await?;
    serve(
        opened.store,
        key,
        listen,
        ServerOptions {
            metrics_public: args.metrics_public || config.server.metrics_public,
            hygiene: config.hygiene.policy(),
        },
        None,
        config.scim_correlation(),
        notifier,
    )
    .await?;
    Ok(Exit::Ok)
}

/// The channels of `[notify]` with their secrets from the environment,
/// checked before the server starts: a missing secret stops `serve` with
/// the variable's name rather than failing every delivery later.
async fn notifier(config: &Config, store: &Store) -> anyhow::Result<Option<Notifier>> {
    let Some(notify) = &config.notify else {
        let waiting = store.outbox_pending().await?;
        if waiting > 0 {
            tracing::info!(
                waiting,
                "no [notify] configuration: outbox messages wait undelivered (docs/notifications.md)"
            );
        }
        return Ok(None);
    };
    let channels = notify
        .resolve(|name| std::env::var(name).ok())
        .context("the configuration cannot be used")?;
    Ok(Some(Notifier::new(store.clone(), channels).await?))
}

/// Binds, prints the URL (and a banner for the demo), and serves until Ctrl-C or SIGTERM.
pub async fn serve(
    store: Store,
    key: SigningKey,
    listen: SocketAddr,
    options: ServerOptions,
    banner: Option<String>,
    correlation: soxctl_connectors::correlate::Rules,
    notifier: Option<Notifier>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("cannot listen on {listen}; choose another address with --listen")
        })?;
    let addr = listener.local_addr()?;
    let mut state = AppState::new(store, Arc::new(key), options).with_scim_correlation(correlation);
    if let Some(notifier) = notifier {
        state = state.with_notifier(notifier);
    }
    eprintln!("soxctl is serving on http://{addr} (Ctrl-C to stop)");
    if let Some(banner) = banner {
        println!("{banner}");
    }
    soxctl_server::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
