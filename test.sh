#!/usr/bin/env bash
# Runs every check CI runs: format, lints, and all test suites on SQLite and
# PostgreSQL. Installs what the tests need when it is missing (as root), and
# fails — never skips — when a tool cannot be had.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

apt_install() {
  step "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
    || die "cannot install $* (needs root or sudo and a Debian package mirror)"
}

# PostgreSQL server binaries (initdb, pg_ctl) for the throw-away test clusters.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql
fi
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || die "PostgreSQL's initdb is still missing"
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  die "running as root needs the 'postgres' user to start test clusters (initdb refuses root)"
fi
# OpenLDAP's slapd and ldapmodify for the throw-away directories of the LDAP
# sync tests (the packaged service is not started; the tests run their own).
if ! [ -x /usr/sbin/slapd ] || ! command -v ldapmodify >/dev/null; then
  apt_install slapd ldap-utils
fi
[ -x /usr/sbin/slapd ] || die "OpenLDAP's slapd is still missing"
command -v ldapmodify >/dev/null || die "ldapmodify (ldap-utils) is still missing"
# openssl makes the throw-away CA of the LDAP TLS tests.
command -v openssl >/dev/null || apt_install openssl
command -v openssl >/dev/null || die "openssl is still missing"
# git: the change gate reads a change's authors from a real repository.
command -v git >/dev/null || apt_install git
command -v git >/dev/null || die "git is still missing"
# curl: the README tour (run as written by a test) asks the served API.
command -v curl >/dev/null || apt_install curl
command -v curl >/dev/null || die "curl is still missing"
# script (util-linux) gives the log-colour test a real pseudo-terminal.
command -v script >/dev/null || apt_install bsdutils
command -v script >/dev/null || die "script (util-linux, Debian's bsdutils) is still missing"
command -v cargo >/dev/null || die "cargo is missing: install Rust (https://rustup.rs)"
# Python with venv for the SCIM conformance checks (scim2-tester from PyPI).
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt_install python3 python3-venv
fi
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || die "python3 with venv and ensurepip is still missing"

# DuckDB (pinned, in a venv under target/) for the test that the SoD bench's
# SQL agrees with soxctl; `soxctl-bench sod` uses the same venv.
export SOXCTL_BENCH_VENV="${SOXCTL_BENCH_VENV:-$PWD/target/bench-venv}"
duckdb_pin=$(tr -d '[:space:]' < crates/bench/duckdb-version)
[ -n "$duckdb_pin" ] || die "crates/bench/duckdb-version names no DuckDB version"
if ! "$SOXCTL_BENCH_VENV/bin/python" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$duckdb_pin')" 2>/dev/null; then
  step "installing duckdb==$duckdb_pin into $SOXCTL_BENCH_VENV"
  command -v python3 >/dev/null || apt_install python3
  if ! python3 -m venv "$SOXCTL_BENCH_VENV" >/dev/null 2>&1; then
    rm -rf "$SOXCTL_BENCH_VENV"
    apt_install python3-venv
    python3 -m venv "$SOXCTL_BENCH_VENV" || die "cannot create a Python venv at $SOXCTL_BENCH_VENV"
  fi
  "$SOXCTL_BENCH_VENV/bin/pip" install -q "duckdb==$duckdb_pin" || die "cannot install duckdb==$duckdb_pin"
fi

# aiosmtpd (pinned, PyPI) in the venv under the target directory that
# scripts/scim-conformance.sh uses too: the SMTP sink of the notification
# tests (soxctl_testkit::smtp_sink), which fail without it.
AIOSMTPD_VERSION=1.4.6
test_venv="${CARGO_TARGET_DIR:-target}/venv"
if ! "$test_venv/bin/python" -c "import aiosmtpd, sys; from importlib.metadata import version; sys.exit(version('aiosmtpd') != '$AIOSMTPD_VERSION')" 2>/dev/null; then
  step "installing aiosmtpd==$AIOSMTPD_VERSION into $test_venv"
  if [ ! -x "$test_venv/bin/python" ]; then
    python3 -m venv "$test_venv" || die "cannot create a Python venv at $test_venv"
  fi
  "$test_venv/bin/pip" install -q --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION" \
    || die "cannot install aiosmtpd==$AIOSMTPD_VERSION from PyPI"
fi

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-always}"
export RUST_BACKTRACE=1

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

# cargo test (not nextest): one process per test binary, so each binary
# starts one throw-away PostgreSQL cluster and gives each test a fresh database.
step "tests (SQLite, PostgreSQL and OpenLDAP)"
cargo test --workspace --locked --no-fail-fast

# SCIM 2.0 conformance: scim2-tester (pinned, from PyPI) against a live
# server; every check must pass and the ledger must verify afterwards.
step "SCIM conformance (scim2-tester against soxctl serve)"
scripts/scim-conformance.sh

# The parsers face input from users and from a database an attacker may
# write: a short coverage-guided run of each fuzz target on every CI run.
step "fuzzing the parsers (${FUZZ_SECONDS:=20} s per target)"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked || die "cannot install cargo-fuzz"
fi
for target in entry_parse checkpoint_note event_payload snapshot_csv scim_filter identity; do
  (cd fuzz && cargo fuzz run "$target" -s none -O -- -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 2>&1 | tail -n 3) \
    || die "fuzz target $target found a failure (see fuzz/artifacts/$target)"
done

step "all checks passed"
