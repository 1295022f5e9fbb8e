use crate::cli::{BackupArgs, RestoreArgs};
use crate::config::Config;
use crate::exit::{usage, CmdResult, Exit, failed};
use anyhow::Context;
use soxctl_model::clock::SystemClock;
use soxctl_store::verify::{Options, VerifyError, verify};
use soxctl_store::{DB_FILE, Location, OpenOptions, Store, signing};
use std::sync::Arc;

pub async fn backup(config: &Config, args: BackupArgs) -> CmdResult {
    let opened = args.store.open(config, false).await?;
    if args.out.exists() {
        usage!("{} exists: choose a new file for the backup", args.out.display());
    }
    opened.store.backup(&args.out).await?;
    let latest = opened.store.latest_checkpoint().await?;
    eprintln!(
        "backup written to {} (latest checkpoint: size {}); the signing key is not in it: keep it separately",
        args.out.display(),
        latest.map_or(0, |c| c.size)
    );
    Ok(Exit::Ok)
}

pub async fn restore(args: RestoreArgs) -> CmdResult {
    let target = args.data.join(DB_FILE);
    if target.exists() {
        usage!("{} already holds a store: restore into a new directory", args.data.display());
    }
    let key = signing::load(&args.signing_key).context("restore needs the store's signing key (--signing-key FILE)")?;
    std::fs::create_dir_all(&args.data)?;
    std::fs::copy(&args.backup, &target).with_context(|| format!("cannot copy {}", args.backup.display()))?;
    let key_copy = args.data.join(signing::DEFAULT_FILE_NAME);
    if !key_copy.exists() {
        std::fs::copy(&args.signing_key, &key_copy)?;
        #[cfg(unix)]
        std::fs::set_permissions(&key_copy, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    }
    let store = Store::open(OpenOptions {
        location: Location::Sqlite(args.data.clone()),
        create: false,
        clock: Arc::new(SystemClock),
        failpoints: Default::default(),
    })
    .await?;
    match verify(&store, Options { key: &key.verifier(), trusted_checkpoint: None }, |_, _| {}).await {
        Ok(report) => {
            eprintln!("restored {} entries into {}; verified", report.entries, args.data.display());
            Ok(Exit::Ok)
        }
        Err(VerifyError::Failed(f)) => Err(failed(Exit::CheckFailed, anyhow::anyhow!("restored store does not verify: {f}"))),
        Err(VerifyError::Store(e)) => Err(e.into()),
    }
}
