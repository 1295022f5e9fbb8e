#!/usr/bin/env bash
# SCIM conformance: runs the scim2-tester checks (PyPI, pinned) against a
# live `soxctl serve` on a free loopback port, with a fresh store and a
# `--scope scim --system okta` token, then verifies the store's ledger.
# Fails — never skips — when Python, venv or the packages cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."

SCIM2_TESTER_VERSION=0.5.2
SCIM2_CLI_VERSION=0.6.0
target="${CARGO_TARGET_DIR:-target}"
venv="$target/venv"

die() { printf 'scim-conformance: %s\n' "$*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is missing (apt-get install python3 python3-venv)"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || die "cannot create a virtualenv in $venv (apt-get install python3-venv)"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "scim2-tester==$SCIM2_TESTER_VERSION" "scim2-cli==$SCIM2_CLI_VERSION" \
  || die "cannot install scim2-tester $SCIM2_TESTER_VERSION and scim2-cli $SCIM2_CLI_VERSION from PyPI"

cargo build --locked -p soxctl
bin="$target/debug/soxctl"
data="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

"$bin" token create --init --scope admin --description "conformance admin" --data "$data/store" >/dev/null 2>&1 \
  || die "cannot create the store"
token="$("$bin" token create --scope scim --system okta --description "scim2-tester" --data "$data/store" 2>/dev/null)"
port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin" serve --data "$data/store" --listen "127.0.0.1:$port" >"$data/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  if "$venv/bin/python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then break; fi
  kill -0 "$server" 2>/dev/null || { cat "$data/serve.log" >&2; die "soxctl serve exited"; }
  sleep 0.1
done

status=0
"$venv/bin/python" scripts/scim-check.py "http://127.0.0.1:$port/scim/v2" "$token" || status=$?
kill "$server"; wait "$server" 2>/dev/null || true; server=""
if [ "$status" -ne 0 ]; then
  tail -n 40 "$data/serve.log" >&2
  die "scim2-tester reported failures (see above)"
fi
"$bin" verify --data "$data/store" >/dev/null || die "soxctl verify failed after the SCIM checks"
echo "scim-conformance: every scim2-tester check passed and the ledger verifies"
