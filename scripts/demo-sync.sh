#!/usr/bin/env bash
# The sync part of `make demo`, inside scripts/with-sim.sh: sync_sqlite run
# twice on a fresh build/calls.db, with 25 calls arriving at the simulator in
# between (ended within the last 10 minutes: listed late), then what the
# second run added, read back with sqlite3.
set -euo pipefail
db=build/calls.db
rm -f "$db"
echo "-- sync_sqlite $db --since-days 60   (first run)"
build/ffi/sync_sqlite "$db" --since-days 60
exec 3<>"/dev/tcp/127.0.0.1/${PLIVO_API_URL##*:}"
printf 'GET /_sim/arrive?count=25&max_age=600 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
cat <&3 >/dev/null
exec 3>&-
echo "-- 25 calls arrive late; sync_sqlite $db   (second run: since the first, 60 min lookback)"
build/ffi/sync_sqlite "$db"
if command -v sqlite3 >/dev/null 2>&1; then
  echo "-- the 5 newest calls of the second run (sqlite3 $db):"
  sqlite3 -header -column "$db" \
    "SELECT call_uuid, end_time, from_number, to_number, call_direction AS dir,
            bill_duration AS bill_s, total_amount AS amount, hangup_source AS source
     FROM calls ORDER BY rowid DESC LIMIT 5"
  sqlite3 "$db" "SELECT 'runs: ' || group_concat('#' || run || ' added ' || added || ', skipped ' || skipped, '; ') FROM runs"
fi
