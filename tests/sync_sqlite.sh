#!/usr/bin/env bash
# A series of sync_sqlite runs against one calls-sim (started by the caller,
# scripts/with-sim.sh: PLIVO_API_URL is set), with calls arriving during the
# first run (calls-sim --arrivals, one per request) and between runs
# (/_sim/arrive, each ended within the last 10 minutes: inside the lookback),
# and runs killed with SIGKILL at chosen points (mid-batch, right before and
# right after a batch's commit) and at a random moment; each killed run is
# followed by a normal one. Then, checked with sqlite3 against the
# simulator's own set (/_sim/expected, asked without the library): every
# call that ended since the first run's lower bound is in the database
# exactly once, and nothing else is.
#
#   tests/sync_sqlite.sh PROGRAM     (build/ffi/sync_sqlite or its ASan build)
set -euo pipefail
prog="${1:?usage: tests/sync_sqlite.sh PROGRAM}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/calls.db"
# shellcheck source=tests/sim_lib.sh
. "$(dirname "$0")/sim_lib.sh"

# GET a /_sim/ path; prints the body.

rows() { sqlite3 "$db" "SELECT count(*) FROM calls"; }

run() { # run LABEL [env...]: one run that must succeed
  local label=$1 out
  shift
  out="$(env "$@" "$prog" "$db" --since-days 10 --batch 25 2>"$work/err")" || {
    echo "sync_sqlite: $label failed:"; cat "$work/err"; exit 1
  }
  echo "  $label: ${out//$'\n'/; } (table: $(rows) rows)"
}

killed() { # killed LABEL K: a run that kills itself after its K-th insert
  local label=$1 st=0
  SYNC_SQLITE_KILL_AFTER=$2 "$prog" "$db" --since-days 10 --batch 25 >/dev/null 2>&1 || st=$?
  [ "$st" -eq 137 ] || { echo "sync_sqlite: $label: expected SIGKILL (137), got $st"; exit 1; }
  echo "  $label: killed after insert $2 (table: $(rows) rows)"
}


echo "sync_sqlite series:"
killed "run 1 (killed mid-batch: nothing committed)" 7
run "run 1 again"
arrive 40
killed "run 3 (killed before a commit)" 25
run "run 3 resumed, then run 4"
arrive 60
killed "run 5 (killed after a commit)" 26
run "run 5 resumed, then run 6"
arrive 30
# A kill -9 from outside, at whatever point the run has reached.
"$prog" "$db" --since-days 10 --batch 5 >/dev/null 2>&1 &
pid=$!
sleep 0.0$((RANDOM % 10))
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
echo "  run 7: kill -9 from outside (table: $(rows) rows)"
arrive 20
run "run 7 resumed (if it was interrupted), then run 8"
run "run 9"

# A run while another holds the database's lock: refused, nothing written.
before="$(rows)"
exec 4>"$db.lock"
flock -x 4
st=0
"$prog" "$db" --since-days 10 >/dev/null 2>"$work/err" || st=$?
exec 4>&-
[ "$st" -ne 0 ] && grep -q 'another sync_sqlite is running' "$work/err" && [ "$(rows)" = "$before" ] ||
  { echo "sync_sqlite: a second run at once was not refused ($st)"; cat "$work/err"; exit 1; }
echo "  a run while another holds the lock: refused"

since="$(sqlite3 "$db" "SELECT since FROM sync")"
upper="$(date -u '+%Y-%m-%d %H:%M:%S' -d '+1 minute')"
q="end_time__gte=${since// /%20}&end_time__lt=${upper// /%20}"
sim_get "/_sim/expected?$q" >"$work/expected.json"
sqlite3 "$db" "CREATE TEMP TABLE expected AS SELECT value AS u FROM json_each(readfile('$work/expected.json'), '\$.call_uuids');" \
  "SELECT 'expected', count(*) FROM expected;" \
  "SELECT 'rows', count(*), count(DISTINCT call_uuid) FROM calls;" \
  "SELECT 'missing', count(*) FROM expected WHERE u NOT IN (SELECT call_uuid FROM calls);" \
  "SELECT 'extra', count(*) FROM calls WHERE call_uuid NOT IN (SELECT u FROM expected);" \
  "SELECT 'untyped', count(*) FROM calls WHERE typeof(call_duration) <> 'integer' OR typeof(total_amount) <> 'text' OR end_time IS NULL;" \
  "SELECT 'pending', count(*) FROM sync WHERE checkpoint IS NOT NULL OR state IS NULL;" \
  >"$work/check.txt"
sed 's/^/  /' "$work/check.txt"
expected="$(sed -n 's/^expected|//p' "$work/check.txt")"
[ "$expected" -gt 100 ] || { echo "sync_sqlite: the simulator expected too few calls ($expected)"; exit 1; }
grep -qx "rows|$expected|$expected" "$work/check.txt" || { echo "sync_sqlite: rows differ from the simulator's set"; exit 1; }
for k in missing extra untyped pending; do
  grep -qx "$k|0" "$work/check.txt" || { echo "sync_sqlite: $k is not 0"; exit 1; }
done
echo "  every call exactly once: $expected calls"
echo "  runs: $(sqlite3 "$db" "SELECT group_concat(run || ':' || added || '+' || skipped || 's/' || requests || 'r' || CASE resumed WHEN 1 THEN '(resumed)' ELSE '' END, ' ') FROM runs")"
