use crate::cli::VerifyArgs;
use crate::config::Config;
use crate::exit::{CmdResult, Exit, failed};
use crate::output::{Format, print_object};
use anyhow::Context;
use base64::Engine;
use indicatif::{ProgressBar, ProgressStyle};
use soxctl_ledger::bundle::verify_bundle;
use soxctl_ledger::note::VerifierKey;
use soxctl_store::verify::{Options, VerifyError, verify};
use std::io::IsTerminal;
use std::path::Path;

fn b64(h: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(h)
}

fn read_key(path: &Path) -> anyhow::Result<VerifierKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read verifier key {}", path.display()))?;
    VerifierKey::parse(text.trim())
        .map_err(|e| anyhow::anyhow!("{} is not a verifier key: {e}", path.display()))
}

pub async fn run(config: &Config, args: VerifyArgs) -> CmdResult {
    let format = Format::resolve(args.format);
    if let Some(bundle) = &args.bundle {
        let key_path = args.key.as_ref().context("verifying a bundle needs --key FILE (e.g. BUNDLE/verifier.key, better one obtained independently)")?;
        let key = read_key(key_path)?;
        let entries = std::fs::read(bundle.join("entries.jsonl"))
            .with_context(|| format!("cannot read {}/entries.jsonl", bundle.display()))?;
        let note = std::fs::read_to_string(bundle.join("checkpoint"))
            .with_context(|| format!("cannot read {}/checkpoint", bundle.display()))?;
        return match verify_bundle(&entries, &note, &key) {
            Ok(report) => {
                let summary = serde_json::json!({"ok": true, "entries": report.entries, "root": b64(&report.root), "origin": report.checkpoint.origin});
                report_ok(
                    format,
                    &summary,
                    &format!(
                        "bundle verified: {} entries, root {}",
                        report.entries,
                        b64(&report.root)
                    ),
                )?;
                Ok(Exit::Ok)
            }
            Err(e) => Err(failed(
                Exit::CheckFailed,
                anyhow::anyhow!("bundle verification failed: {e}"),
            )),
        };
    }
    let opened = args.store.open(config, false).await?;
    let key = match &args.key {
        Some(path) => read_key(path)?,
        None => opened
            .signing_key()
            .context("pass --key FILE with the store's verifier key")?
            .verifier(),
    };
    let trusted = args
        .trusted_checkpoint
        .as_ref()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display())))
        .transpose()?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "verifying {bar:40} {pos}/{len} entries ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let result = verify(
        &opened.store,
        Options {
            key: &key,
            trusted_checkpoint: trusted.as_deref(),
        },
        |done, total| {
            if let Some(bar) = &bar {
                bar.set_length(total);
                bar.set_position(done);
            }
        },
    )
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(report) => {
            let summary = serde_json::json!({
                "ok": true, "entries": report.entries, "root": b64(&report.root),
                "checkpoints": report.checkpoints, "state_rows": report.state_rows, "trusted_checkpoint_size": report.trusted_size,
                "unsigned_entries": report.unsigned_entries,
            });
            let trusted = report
                .trusted_size
                .map(|s| format!("; extends the trusted checkpoint at size {s}"))
                .unwrap_or_default();
            if report.unsigned_entries > 0 {
                eprintln!(
                    "note: the last {} entries are not yet covered by a signed checkpoint (a running server signs within 10 s)",
                    report.unsigned_entries
                );
            }
            report_ok(
                format,
                &summary,
                &format!(
                    "store verified: {} entries, {} checkpoints, {} state rows equal a replay{trusted}; root {}",
                    report.entries,
                    report.checkpoints,
                    report.state_rows,
                    b64(&report.root)
                ),
            )?;
            Ok(Exit::Ok)
        }
        Err(VerifyError::Failed(f)) => Err(failed(
            Exit::CheckFailed,
            anyhow::anyhow!("verification failed: {f}"),
        )),
        Err(VerifyError::Store(e)) => Err(failed(Exit::Usage, e)),
    }
}

fn report_ok(format: Format, summary: &serde_json::Value, text: &str) -> anyhow::Result<()> {
    if format == Format::Table {
        println!("{text}");
        Ok(())
    } else {
        print_object(format, summary)
    }
}
