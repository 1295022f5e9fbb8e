//! `soxctl-bench gate`: `GET /api/v1/gate/check` over HTTP on loopback,
//! driven by `wrk`, against a server in this process on a fresh store with
//! an approved change (so every check does the whole work: token, request
//! by digest, decisions, authors). Target: 10,000 checks/s, p99 < 5 ms.

use crate::args::BenchGateArgs;
use anyhow::Context;
use serde_json::json;
use soxctl::exit::{CmdResult, Exit, failed};
use soxctl::output::{Format, print_records};
use soxctl_app::ingest::{ImportOptions, import};
use soxctl_app::tokens::{TokenRequest, issue};
use soxctl_model::clock::SystemClock;
use soxctl_model::principal::{Principal, Scope};
use soxctl_model::request::Decision;
use soxctl_store::{Location, OpenOptions, Store};
use std::process::Command;
use std::sync::Arc;

const COMMIT: &str = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";

async fn seed(dir: &std::path::Path, store: &Store) -> anyhow::Result<String> {
    let snapshot = dir.join("snapshot");
    std::fs::create_dir_all(&snapshot)?;
    let files = [
        (
            "people.csv",
            "person_id,name,email,manager_id,department,title,status,hire_date,termination_date\n\
             dev,Dana Dev,dana@example.com,lead,Engineering,Engineer,active,,\n\
             lead,Lee Lead,lee@example.com,,Engineering,Release manager,active,,\n",
        ),
        ("systems.csv", "system_id,name,kind,owner_id,sox_in_scope\n"),
    ];
    for (name, content) in files {
        std::fs::write(snapshot.join(name), content)?;
    }
    let snap = soxctl_connectors::snapshot::read(&snapshot)?;
    import(store, &snap, &ImportOptions::default()).await?;
    let actor = Principal::system("bench");
    let mut tx = store.begin_write().await?;
    let pipeline = soxctl_model::access::Pipeline {
        repo: "bench/app".into(),
        environments: vec!["prod".into()],
        triggered_by: None,
        run: None,
    };
    let created = soxctl_app::gate::register(
        &mut tx,
        &actor,
        Some(&pipeline),
        soxctl_app::gate::NewDeployment {
            env: "prod".into(),
            commit: COMMIT.into(),
            commits: vec![soxctl_app::ChangeCommit {
                sha: COMMIT.into(),
                author: "Dana Dev <dana@example.com>".into(),
                committer: "Dana Dev <dana@example.com>".into(),
                co_authors: Vec::new(),
            }],
            triggered_by: Some("dev".into()),
            justification: Some("release".into()),
            ticket: None,
        },
    )
    .await?;
    soxctl_app::decide(
        &mut tx,
        &actor,
        &soxctl_model::ids::PersonId::parse("lead")?,
        soxctl_app::DecisionInput {
            request_id: created.request.request_id,
            decision: Decision::Approve,
            comment: None,
            mfa: false,
            issued_by: None,
        },
    )
    .await?;
    let token = issue(
        &mut tx,
        &actor,
        TokenRequest {
            scopes: vec![Scope::Gate],
            system_id: None,
            person_id: None,
            expires_at: None,
            description: Some("bench gate".into()),
            gate: Some(soxctl_app::tokens::GateBinding {
                repo: pipeline.repo.clone(),
                environments: pipeline.environments.clone(),
            }),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(token.secret)
}

/// `wrk`'s figures: requests/s and the p50/p99 latency in ms.
fn parse_wrk(out: &str) -> Option<(f64, f64, f64, u64, u64)> {
    let mut rps = None;
    let (mut p50, mut p99) = (None, None);
    let mut requests = None;
    let mut non_2xx = 0;
    let ms = |v: &str| -> Option<f64> {
        let v = v.trim();
        if let Some(x) = v.strip_suffix("us") {
            x.parse::<f64>().ok().map(|x| x / 1000.0)
        } else if let Some(x) = v.strip_suffix("ms") {
            x.parse().ok()
        } else if let Some(x) = v.strip_suffix('s') {
            x.parse::<f64>().ok().map(|x| x * 1000.0)
        } else {
            None
        }
    };
    for line in out.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            rps = v.trim().parse().ok();
        } else if let Some(v) = t.strip_prefix("50%") {
            p50 = ms(v);
        } else if let Some(v) = t.strip_prefix("99%") {
            p99 = ms(v);
        } else if t.contains("requests in") {
            requests = t.split_whitespace().next().and_then(|n| n.parse().ok());
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            non_2xx = v.trim().parse().unwrap_or(0);
        }
    }
    Some((rps?, p50?, p99?, requests?, non_2xx))
}

pub async fn run(args: BenchGateArgs) -> CmdResult {
    let wrk = which("wrk").ok_or_else(|| {
        failed(
            Exit::Usage,
            anyhow::anyhow!("wrk is needed: apt-get install -y wrk"),
        )
    })?;
    let work = crate::support::tempdir_path("soxctl-bench-gate")?;
    let result = measure(&args, &wrk, &work).await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn measure(args: &BenchGateArgs, wrk: &std::path::Path, work: &std::path::Path) -> CmdResult {
    let wrk = wrk.to_owned();
    let store = Store::open(OpenOptions {
        location: Location::Sqlite(work.join("data")),
        create: true,
        clock: Arc::new(SystemClock),
        failpoints: Default::default(),
    })
    .await?;
    let meta = store.initialise(None, false).await?;
    let secret = seed(work, &store).await?;
    let key = soxctl_store::signing::load_or_create(&work.join("signing.key"), &meta.origin)?;
    let state = soxctl_server::AppState::new(store.clone(), Arc::new(key), Default::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(soxctl_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let url = format!(
        "http://127.0.0.1:{port}/api/v1/gate/check?commit={COMMIT}&env=prod&deployer=ci%40example.com"
    );
    // One check by hand: the benchmark measures allowed answers.
    let probe = tokio::task::spawn_blocking({
        let wrk = wrk.clone();
        let url = url.clone();
        let secret = secret.clone();
        move || {
            Command::new(wrk)
                .args(["-t1", "-c1", "-d1s", "--latency", "-H"])
                .arg(format!("Authorization: Bearer {secret}"))
                .arg(url)
                .output()
        }
    })
    .await??;
    let warm = String::from_utf8_lossy(&probe.stdout).into_owned();
    if parse_wrk(&warm).is_none_or(|(_, _, _, _, bad)| bad > 0) {
        let _ = stop.send(());
        return Err(failed(
            Exit::CheckFailed,
            anyhow::anyhow!("the gate did not answer 200 in the warm-up:\n{warm}"),
        ));
    }
    let threads = args.threads.to_string();
    let connections = args.connections.to_string();
    let duration = format!("{}s", args.seconds);
    let output = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            Command::new(wrk)
                .args([
                    "-t",
                    &threads,
                    "-c",
                    &connections,
                    "-d",
                    &duration,
                    "--latency",
                    "-H",
                ])
                .arg(format!("Authorization: Bearer {secret}"))
                .arg(url)
                .output()
        }
    })
    .await?
    .context("running wrk")?;
    let _ = stop.send(());
    let _ = server.await;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let Some((rps, p50, p99, requests, non_2xx)) = parse_wrk(&text) else {
        return Err(failed(
            Exit::CheckFailed,
            anyhow::anyhow!("cannot read wrk's output:\n{text}"),
        ));
    };
    let record = json!({
        "endpoint": "GET /api/v1/gate/check (SQLite, allowed)",
        "tool": format!("wrk -t{} -c{} -d{}s", args.threads, args.connections, args.seconds),
        "requests": requests,
        "non_2xx": non_2xx,
        "checks_per_s": (rps * 10.0).round() / 10.0,
        "p50_ms": (p50 * 100.0).round() / 100.0,
        "p99_ms": (p99 * 100.0).round() / 100.0,
        "target": "≥ 10,000/s, p99 < 5 ms",
        "met": rps >= 10_000.0 && p99 < 5.0 && non_2xx == 0,
    });
    print_records(
        Format::resolve(args.format),
        &[
            "endpoint",
            "tool",
            "requests",
            "non_2xx",
            "checks_per_s",
            "p50_ms",
            "p99_ms",
            "target",
            "met",
        ],
        &[record],
    )?;
    Ok(Exit::Ok)
}

fn which(tool: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::parse_wrk;

    #[test]
    fn reads_wrk_output() {
        let out = "Running 10s test @ http://x\n  2 threads and 50 connections\n  Latency Distribution\n     50%  1.20ms\n     75%    2ms\n     90%  3.00ms\n     99%  850.00us\n  123456 requests in 10.00s, 40.00MB read\n  Non-2xx or 3xx responses: 3\nRequests/sec:  12345.67\nTransfer/sec:      4.00MB\n";
        let (rps, p50, p99, n, bad) = parse_wrk(out).unwrap();
        assert_eq!((n, bad), (123_456, 3));
        assert!((rps - 12_345.67).abs() < 0.01);
        assert!((p50 - 1.2).abs() < 1e-9 && (p99 - 0.85).abs() < 1e-9);
        assert!(parse_wrk("nothing").is_none());
    }
}
