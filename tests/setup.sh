#!/usr/bin/env bash
# Installs what the end-to-end tests use besides Rust: a real Prometheus (and promtool)
# from Debian's packages, and DuckDB's Python package to read the Parquet files as an
# outside engine would. Safe to run again; needs root (or sudo) for apt-get.
set -euo pipefail
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
if ! python3 -c 'import duckdb' 2>/dev/null; then
  python3 -m pip install -q --disable-pip-version-check duckdb
fi
# Debian's package may start its own Prometheus; the tests start theirs on free ports.
prometheus --version 2>&1 | head -1
python3 -c 'import duckdb; print("duckdb", duckdb.__version__)'
