#!/usr/bin/env bash
# Installs what the end-to-end tests use besides Rust: a real Prometheus (and promtool),
# pt-query-digest and pgBadger from Debian's packages, evtx_dump (cargo install), and
# DuckDB's Python package to read the Parquet files as an outside engine would. Safe to run again; needs root (or sudo) for apt-get.
set -euo pipefail
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
# Debian packages the tests run: Prometheus (scrapes /metrics), Percona Toolkit's
# pt-query-digest and pgBadger (the references for slow-query fingerprints and totals).
need=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v pt-query-digest >/dev/null || need+=(percona-toolkit)
command -v pgbadger >/dev/null || need+=(pgbadger)
if [ ${#need[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# evtx_dump, the evtx crate's own CLI: the reference the Windows .evtx tests compare with.
command -v evtx_dump >/dev/null || cargo install -q --locked evtx --version 0.15.1
if ! python3 -c 'import duckdb' 2>/dev/null; then
  python3 -m pip install -q --disable-pip-version-check duckdb
fi
# Debian's package may start its own Prometheus; the tests start theirs on free ports.
prometheus --version 2>&1 | head -1
pt-query-digest --version
pgbadger --version | head -1
evtx_dump --version
python3 -c 'import duckdb; print("duckdb", duckdb.__version__)'
