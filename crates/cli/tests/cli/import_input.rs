//! `soxctl import` pointed at files that are not what they are named: it
//! never prints their content, refuses a sparse gigabyte at once, and warns
//! of a person who is their own manager.

use crate::helpers::Sandbox;
use std::time::{Duration, Instant};

const SECRET: &str = "root:x:0:0:SECRET:/root:/bin/bash\n";

#[test]
fn import_never_prints_the_file_a_snapshot_links_to() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 3, 60);
    let secret = sb.path("passwd");
    std::fs::write(&secret, SECRET).unwrap();
    let data = sb.path("data");

    std::fs::remove_file(snap.join("people.csv")).unwrap();
    std::os::unix::fs::symlink(&secret, snap.join("people.csv")).unwrap();
    let run = sb.run(args!["import", &snap, "--data", &data]);
    run.code(2).stderr_has(&[
        "nothing was imported",
        "people.csv line 1: the first line is not a CSV header of this file's columns",
        "person_id,name,email,manager_id,department,title,status,hire_date,termination_date",
    ]);
    assert!(!run.stderr.contains("SECRET"), "{run:?}");
    assert!(
        !data.exists(),
        "a rejected snapshot must not create a store"
    );

    // Nor the correlation rules it is given.
    let good = sb.snapshot("good", 3, 60);
    let run = sb.run(args![
        "import",
        &good,
        "--data",
        &data,
        "--correlation",
        &secret
    ]);
    run.code(2).stderr_has(&["correlation rules", "line 1"]);
    assert!(!run.stderr.contains("SECRET"), "{run:?}");
}

#[test]
fn import_refuses_a_sparse_gigabyte_at_once() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 3, 60);
    std::fs::File::create(snap.join("grants.csv"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let started = Instant::now();
    let run = sb.run(args!["import", &snap, "--data", sb.path("data")]);
    let took = started.elapsed();
    run.code(2)
        .stderr_has(&["grants.csv line 1: is longer than 1 MiB"]);
    assert!(took < Duration::from_secs(5), "refused after {took:?}");
    assert!(run.stderr.len() < 1000, "{run:?}");
}

#[test]
fn import_warns_of_a_person_who_is_their_own_manager() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 3, 60);
    let mut own = String::new();
    crate::helpers::edit_csv(&snap.join("people.csv"), |h, rows| {
        let (id, manager) = (
            crate::helpers::col(h, "person_id"),
            crate::helpers::col(h, "manager_id"),
        );
        let row = rows
            .iter_mut()
            .find(|r| !r[manager].is_empty())
            .expect("a managed person");
        row[manager] = row[id].clone();
        own = row[id].clone();
    });
    let data = sb.path("data");
    let run = sb.run(args!["import", &snap, "--data", &data]);
    run.ok()
        .stderr_has(&["is their own manager; recorded with no manager"]);
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("warning: people.csv line ")
                && l.ends_with(&format!(
                    ": {own} is their own manager; recorded with no manager"
                ))),
        "{run:?}"
    );
}
