#!/usr/bin/env bash
# A series of `export_csv --sync STATE OUT.csv` runs against one calls-sim
# (started by the caller with scripts/with-sim.sh), with calls arriving during
# the first run (calls-sim --arrivals) and between runs (/_sim/arrive, ended
# within the last 10 minutes: inside the lookback), and runs killed with
# SIGKILL after some rows, after the state was written but before its rename,
# and at a random moment. Then, checked with sqlite3 (the CSV imported by its
# own RFC 4180 reader) against the simulator's set (/_sim/expected, asked
# without the library): every call that ended since the first run's lower
# bound is in OUT.csv exactly once, and nothing else is.
#
#   tests/sync_csv.sh PROGRAM     (build/ffi/export_csv or its ASan build)
set -euo pipefail
prog="${1:?usage: tests/sync_csv.sh PROGRAM}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
state="$work/calls.state" csv="$work/calls.csv"
# shellcheck source=tests/sim_lib.sh
. "$(dirname "$0")/sim_lib.sh"
start="$(date -u '+%Y-%m-%d %H:%M:%S' -d '-10 days')"

lines() { [ -f "$csv" ] && wc -l <"$csv" || echo 0; }
sync() { "$prog" --end-time-gte "$start" --sync "$state" "$csv"; }
run() {
  sync 2>"$work/err" || { echo "export_csv --sync: $1 failed:"; cat "$work/err"; exit 1; }
  echo "  $1: $(tail -n 1 "$work/err") ($(lines) lines)"
}
killed() {
  local st=0
  EXPORT_CSV_KILL_AFTER=$2 sync >/dev/null 2>&1 || st=$?
  [ "$st" -eq 137 ] || { echo "export_csv --sync: $1: expected SIGKILL (137), got $st"; exit 1; }
  echo "  $1: killed ($(lines) lines)"
}

# A run while another holds the series' lock: refused, nothing written.
locked_out() {
  local before st=0
  before="$(lines)"
  exec 4>"$state.lock"
  flock -x 4
  sync >/dev/null 2>"$work/err" || st=$?
  exec 4>&-
  [ "$st" -ne 0 ] && grep -q 'another export_csv --sync is running' "$work/err" && [ "$(lines)" = "$before" ] ||
    { echo "export_csv --sync: a second run at once was not refused ($st)"; cat "$work/err"; exit 1; }
  echo "  a run while another holds the lock: refused"
}

echo "export_csv --sync series:"
killed "run 1 (killed after 7 rows)" 7
run "run 1 again"
arrive 40
killed "run 2 (killed after 13 rows)" 13
run "run 2 again"
arrive 60
killed "run 3 (killed after the state was written, before its rename)" state
run "run 3 again"
arrive 30
"$prog" --end-time-gte "$start" --sync "$state" "$csv" >/dev/null 2>&1 &
pid=$!
sleep 0.0$((RANDOM % 10))
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
echo "  run 4: kill -9 from outside ($(lines) lines)"
# A torn last line, as a crash in the middle of a write leaves it.
printf 'f00dfeed-0000-4000-8000-00000000,2026' >>"$csv"
arrive 20
run "run 4 again (a torn last line first)"
run "run 5"
locked_out

upper="$(date -u '+%Y-%m-%d %H:%M:%S' -d '+1 minute')"
sim_get "/_sim/expected?end_time__gte=${start// /%20}&end_time__lt=${upper// /%20}" >"$work/expected.json"
sqlite3 "$work/check.db" ".import --csv $csv calls" \
  "CREATE TABLE expected AS SELECT value AS u FROM json_each(readfile('$work/expected.json'), '\$.call_uuids');" \
  "SELECT 'expected', count(*) FROM expected;" \
  "SELECT 'rows', count(*), count(DISTINCT call_uuid) FROM calls;" \
  "SELECT 'missing', count(*) FROM expected WHERE u NOT IN (SELECT call_uuid FROM calls);" \
  "SELECT 'extra', count(*) FROM calls WHERE call_uuid NOT IN (SELECT u FROM expected);" \
  >"$work/check.txt"
sed 's/^/  /' "$work/check.txt"
expected="$(sed -n 's/^expected|//p' "$work/check.txt")"
[ "$expected" -gt 100 ] || { echo "export_csv --sync: the simulator expected too few calls ($expected)"; exit 1; }
grep -qx "rows|$expected|$expected" "$work/check.txt" || { echo "export_csv --sync: rows differ from the simulator's set"; exit 1; }
grep -qx "missing|0" "$work/check.txt" && grep -qx "extra|0" "$work/check.txt" || { echo "export_csv --sync: missing or extra calls"; exit 1; }
echo "  every call exactly once: $expected calls"
