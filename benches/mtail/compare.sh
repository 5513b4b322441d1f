#!/usr/bin/env bash
# Kernel classification: ServerSage's decode stage against mtail, same corpus, same classes.
#
#   bash benches/mtail/compare.sh [SIZE] [WORK_DIR]      # SIZE default 200MB
#
# 1. Generates a deterministic dmesg-form corpus with the bench binary's generator
#    (`benches --generate-only`, seed 1).
# 2. mtail 3.0.0~rc50 (Debian) stops reading a file at its first byte that is not valid
#    UTF-8, and the corpus carries a few such bytes (as real kernel logs do), so both tools
#    read a copy where every byte >= 0x80 is replaced by `?` (same length, same lines).
# 3. mtail --one_shot runs benches/mtail/kernel.mtail (eleven catalogue classes, the
#    catalogue's regexes in RE2 syntax) over the copy: wall time and CPU time.
# 4. kernel_classify (benches/examples/kernel_classify.rs) runs the pipeline's kernel
#    decoder (frame, parse, classify with the whole built-in catalogue, Arrow) over the same
#    copy in memory on one core: best of 3 passes; and the catalogue's matching alone.
# 5. Prints both rates, the ratio and the count of every class from both; exits 1 when a
#    count differs.
#
# Needs mtail (`apt-get install -y mtail`) and a Rust toolchain; builds only the benches
# crate (which depends on serversage-parsers alone) in release mode.
set -euo pipefail

SIZE=${1:-200MB}
WORK=${2:-$(mktemp -d /tmp/serversage-mtail-XXXXXX)}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

command -v mtail >/dev/null || { echo "mtail not found: apt-get install -y mtail" >&2; exit 2; }
mkdir -p "$WORK/progs"
cp "$HERE/kernel.mtail" "$WORK/progs/"

echo "== building the bench binaries (release, benches crate only)" >&2
(cd "$ROOT" && cargo build --release -q -p benches --bin benches --example kernel_classify)

RAW="$WORK/kernel-dmesg.log"
CORPUS="$WORK/kernel-dmesg-ascii.log"
if [[ ! -f $RAW ]]; then
  "$TARGET/release/benches" --generate-only --corpus "$RAW" --size "$SIZE" --form dmesg --seed 1 >&2
fi
LC_ALL=C perl -pe 's/[\x80-\xff]/?/g' "$RAW" >"$CORPUS"
BYTES=$(stat -c %s "$CORPUS")
LINES=$(wc -l <"$CORPUS")
echo "== corpus: $CORPUS, $BYTES bytes, $LINES lines" >&2

echo "== mtail --one_shot" >&2
/usr/bin/time -f "%e %U %S" -o "$WORK/mtail.time" \
  mtail --one_shot --one_shot_format prometheus --address 127.0.0.1 --port 0 \
  --progs "$WORK/progs" --logs "$CORPUS" >"$WORK/mtail.out" 2>"$WORK/mtail.err"
read -r M_WALL M_USER M_SYS <"$WORK/mtail.time"
grep '^kernel_class_total{' "$WORK/mtail.out" |
  sed -E 's/^kernel_class_total\{class="([a-z0-9_]+)".*\} ([0-9]+)$/\1 \2/' | sort >"$WORK/mtail.counts"

echo "== serversage kernel decoder (kernel_classify)" >&2
"$TARGET/release/examples/kernel_classify" "$CORPUS" --format kernel --passes 3 >"$WORK/ours.out"
OURS_S=$(awk '$1 == "seconds" {print $2}' "$WORK/ours.out")
OURS_CPU=$(awk '$1 == "cpu_seconds" {print $2}' "$WORK/ours.out")
OURS_RECORDS=$(awk '$1 == "records" {print $2}' "$WORK/ours.out")
CAT_S=$(awk '$1 == "catalogue_cpu_seconds" {print $2}' "$WORK/ours.out")
awk '$1 == "class" {print $2, $3}' "$WORK/ours.out" | sort >"$WORK/ours.counts"

awk -v b="$BYTES" -v mw="$M_WALL" -v mu="$M_USER" -v ms="$M_SYS" -v os="$OURS_S" -v oc="$OURS_CPU" \
  -v lines="$LINES" -v recs="$OURS_RECORDS" -v cs="$CAT_S" 'BEGIN {
  m = b / mw / 1e6; mc = b / (mu + ms) / 1e6; o = b / os / 1e6; ocpu = b / oc / 1e6
  printf "corpus                 %.1f MB, %d lines, %d records (dmesg form, seed 1)\n", b / 1e6, lines, recs
  printf "mtail                  %.2f s wall, %.2f s CPU: %.1f MB/s (%.1f MB/s per CPU-second)\n", mw, mu + ms, m, mc
  printf "serversage (1 thread)  %.3f s wall, %.3f s CPU: %.1f MB/s (%.1f MB/s per CPU-second); decode stage: frame, parse, classify, Arrow\n", os, oc, o, ocpu
  printf "  catalogue alone        %.3f s CPU: %.1f MB/s per CPU-second (messages parsed beforehand, no Arrow)\n", cs, b / cs / 1e6
  printf "ratio                  %.1fx mtail (wall), %.1fx (per CPU-second)\n", o / m, ocpu / mc
}'

echo
printf "%-18s %12s %12s  %s\n" class mtail serversage agree
STATUS=0
while read -r class n; do
  ours=$(awk -v c="$class" '$1 == c {print $2}' "$WORK/ours.counts")
  ours=${ours:-0}
  if [[ $ours == "$n" ]]; then ok=yes; else ok=NO; STATUS=1; fi
  printf "%-18s %12s %12s  %s\n" "$class" "$n" "$ours" "$ok"
done <"$WORK/mtail.counts"
others=$(join -v 1 "$WORK/ours.counts" "$WORK/mtail.counts" | awk '{printf "%s=%s ", $1, $2}')
[[ -n $others ]] && echo "classes only ServerSage's catalogue assigns (not in kernel.mtail): $others"
echo "(files in $WORK)"
exit $STATUS
