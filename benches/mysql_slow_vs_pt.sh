#!/usr/bin/env bash
# pt-query-digest and ServerSage's `mysql-slow` decoder on the same slow log, in MB/s.
#
#   benches/mysql_slow_vs_pt.sh path/to/slow.log
#
# pt-query-digest (Debian's percona-toolkit) reads the file once with the options the e2e
# tests use (JSON report, every class); its wall time is taken with `time`. ServerSage's
# figure is the criterion bench `mysql-slow_decode_bytes/file` (frame + parse + fingerprint
# + append to Arrow, one core) over the same log repeated to 16 MB in memory. Run it on an
# idle machine: both figures are wall-clock.
set -euo pipefail
log=${1:?usage: $0 slow.log}
cd "$(dirname "$0")/.."
bytes=$(stat -c %s "$log")
echo "log: $log, $bytes bytes, $(grep -c '^# Query_time:' "$log") entries"
echo "pt-query-digest $(pt-query-digest --version | awk '{print $2}'):"
TIMEFORMAT='  %R s wall, %U s user'
time pt-query-digest --output json --limit 1000000000 "$log" > /dev/null
SERVERSAGE_MYSQL_SLOW_LOG="$log" cargo bench -q -p benches --bench db_parser -- 'mysql-slow_decode_bytes/file' 2>&1 |
  grep -E 'mysql-slow file:|thrpt|time:'
echo "pt-query-digest MB/s = $bytes / wall s / 1e6; the ratio is ServerSage's MB/s over it."
