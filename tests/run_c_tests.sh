#!/usr/bin/env bash
# Runs every C-level test and prints, last, one line: "N passed, N failed".
#
#   tests/run_c_tests.sh BUILD_DIR
#
# BUILD_DIR holds test_calls, test_resume, test_records, test_tls and test_cpp (plain),
# their *_asan builds (ASan+UBSan), the examples and export_csv_asan (mk/ffi.mk
# builds them). Each scenario of test_calls and test_resume runs against its
# own calls-sim (scripts/with-sim.sh) three ways: plain, under ASan+UBSan, and
# under valgrind. N counts checks: every CHECK inside those programs (a
# set-up step, SETUP_RC, only when it fails), in each of the three passes,
# plus one per other step (header compiles, examples, export_csv kill -9 and
# --resume, install); a run that crashes or that a sanitizer or valgrind flags
# counts as one more failure. Before that line: each pass on its own, and the
# distinct checks (one pass's, plus the steps).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin="${1:?usage: tests/run_c_tests.sh BUILD_DIR}"
: "${CC:=cc}" "${CXX:=c++}"
sim="scripts/with-sim.sh"
passed=0
failed=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Per pass (plain, asan, valgrind): the checks the programs ran and failed,
# and the runs that crashed; steps: the other pass/fail steps.
declare -A mode_checks=() mode_failed=() mode_crashed=()
steps=0
steps_failed=0
# The mode of the run in progress (set by the loop below).
mode=""

# run LABEL COMMAND...: a test_calls run; adds its RESULT line to the totals.
run() {
  local label=$1 st line p=0 f=0
  shift
  "$@" >"$log" 2>&1
  st=$?
  line="$(grep '^RESULT ' "$log" | tail -n 1)"
  if [ -n "$line" ]; then
    read -r _ p f <<<"$line"
    passed=$((passed + p))
    failed=$((failed + f))
  fi
  mode_checks[$mode]=$(( ${mode_checks[$mode]:-0} + p + f ))
  mode_failed[$mode]=$(( ${mode_failed[$mode]:-0} + f ))
  if [ "$st" -ne 0 ] || [ -z "$line" ]; then
    mode_crashed[$mode]=$(( ${mode_crashed[$mode]:-0} + 1 ))
    [ "$f" -gt 0 ] || failed=$((failed + 1))
    echo "FAIL  $label (exit $st)"
    sed 's/^/      /' "$log" | tail -n 60
  else
    echo "ok    $label ($p checks)"
  fi
}

# step LABEL COMMAND...: one pass/fail check.
step() {
  local label=$1
  shift
  steps=$((steps + 1))
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "ok    $label"
  else
    failed=$((failed + 1))
    steps_failed=$((steps_failed + 1))
    echo "FAIL  $label"
    sed 's/^/      /' "$log" | tail -n 40
  fi
}

# The header on its own, as C99 and C++17.
step "header: C99" "$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude -c tests/header_only.c -o /dev/null
step "header: C++17" "$CXX" -x c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -Iinclude -c tests/header_only.c -o /dev/null

# "program scenario:calls-sim flags" (no flags = no simulator)
scenarios=(
  "test_calls offline:"
  "test_calls data:--calls 400 --seed 11"
  "test_calls budget:--calls 3000 --seed 5 --rate-limit 20/0.25"
  "test_calls not_found:--calls 50 --error-every 1 --error-status 404"
  "test_calls server:--calls 50 --error-every 1 --error-status 503"
  "test_calls rate_limited:--calls 50 --rate-limit-every 1 --retry-after 0"
  "test_calls http:--calls 50 --error-every 1 --error-status 400"
  "test_calls timeout:--calls 50 --latency-ms 2000"
  "test_calls bad_response:--calls 50 --malformed-every 1"
  "test_calls over_limit:--calls 50 --over-limit-every 1 --over-limit-objects 100000"
  "test_calls echo:--calls 50 --echo-credentials-every 1"
  "test_calls echo:--calls 50 --echo-credentials-every 1 --echo-basic"
  "test_calls cancel:--calls 400 --hold"
  "test_calls observe:--calls 4000 --error-every 5 --error-status 503"
  "test_calls deadline_429:--calls 400 --rate-limit-every 1 --retry-after 3600"
  "test_resume offline:"
  "test_resume data:--calls 400 --seed 11"
  "test_resume sync:--calls 400 --seed 11"
  "test_records offline:"
  "test_records data:--calls 400 --seed 11"
  "test_records odd:--calls 100 --seed 11 --odd-fields"
  "test_tls offline:"
  "test_tls https:--calls 400 --https"
  "test_tls retry:--calls 50 --error-every 1 --error-status 503"
  "test_tls retry_after:--calls 50 --rate-limit-every 1 --retry-after 3600"
  "test_tls settings:--calls 400"
  "test_cpp offline:"
  "test_cpp data:--calls 400 --seed 11"
)

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:exitcode=23"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# tests/valgrind.supp: ring's assembly AES-GCM (the HTTPS scenario), which memcheck cannot follow.
valgrind=(valgrind -q --suppressions="$root/tests/valgrind.supp" --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite)
for mode in plain asan valgrind; do
  for s in "${scenarios[@]}"; do
    spec="${s%%:*}"
    prog="${spec% *}"
    name="${spec#* }"
    flags="${s#*:}"
    case "$mode" in
      plain) cmd=("$bin/$prog" "$name") ;;
      asan) cmd=("$bin/${prog}_asan" "$name") ;;
      valgrind) cmd=("${valgrind[@]}" "$bin/$prog" "$name") ;;
    esac
    if [ -z "$flags" ]; then
      run "$mode $prog $name" "${cmd[@]}"
    else
      # shellcheck disable=SC2086
      run "$mode $prog $name" "$sim" --seed 1 $flags -- "${cmd[@]}"
    fi
  done
done

# The examples against a small simulator.
examples() {
  local out
  out="$(mktemp)"
  "$bin/list_calls" --days 20 --direction outbound --bill-duration-gt 0 --rows 3 \
    && "$bin/list_calls" --days 60 --rows 0 | tail -n 1 | grep -q ' in 2 time windows$' \
    && "$bin/list_calls" --days 30 --rows 0 | tail -n 1 | grep -q ' in 1 time window$' \
    && "$bin/export_csv" --days 20 --max 50 >"$out" \
    && head -n 1 "$out" | grep -q '^call_uuid,end_time,' \
    && [ "$(wc -l <"$out")" -eq 51 ] \
    && "$bin/summary" --days 20 --hangup-source customer \
    && "$bin/export_csv" --days 20 --max 50 --format ndjson >"$out.nd" \
    && [ "$(wc -l <"$out.nd")" -eq 50 ] \
    && [ "$(grep -c '^{"call_uuid":"[0-9a-f-]\{36\}",.*}$' "$out.nd")" -eq 50 ] \
    && diff <(tail -n +2 "$out" | cut -d, -f1) <(cut -d'"' -f4 "$out.nd") \
    && ! "$bin/export_csv" --format xml 2>/dev/null \
    && ! "$bin/export_csv" --format ndjson --resume "$out" 2>/dev/null
  local st=$?
  rm -f "$out.nd"
  rm -f "$out"
  return $st
}
export bin
export -f examples
step "examples: list_calls, export_csv (csv and ndjson), summary" "$sim" --calls 400 --seed 5 -- bash -c examples
# RFC 4180 against calls-sim --odd-fields, whose stir_verification holds
# , " CR and LF: the field is quoted with its quotes doubled, each record
# spans two lines, and --resume reads such records back (skips them all).
csv_quoting() {
  local out st
  out="$(mktemp)"
  "$bin/export_csv" --days 20 --max 20 >"$out" 2>/dev/null \
    && [ "$(wc -l <"$out")" -eq 41 ] \
    && [ "$(grep -c ',"Verified, ""A""'$'\r''$' "$out")" -eq 20 ] \
    && [ "$(grep -c '^second line",' "$out")" -eq 20 ] \
    && "$bin/export_csv" --days 20 --max 25 --resume "$out" 2>"$out.err" \
    && grep -q '^export_csv: 5 rows appended .* 20 duplicates skipped' "$out.err" \
    && [ "$(wc -l <"$out")" -eq 51 ] \
    && "$bin/export_csv" --days 20 --max 5 --format ndjson | grep -c '"stir_verification":"Verified, \\"A\\"\\r\\nsecond line"' | grep -qx 5
  st=$?
  rm -f "$out" "$out.err"
  return $st
}
export -f csv_quoting
step "examples: export_csv quotes per RFC 4180, ndjson escapes (calls-sim --odd-fields)" \
  "$sim" --calls 400 --seed 5 --odd-fields -- bash -c csv_quoting
failure_example() {
  local out st
  out="$(env -u PLIVO_AUTH_ID "$bin/list_calls" --days 1 2>&1)"
  st=$?
  [ "$st" -ne 0 ] && grep -q 'CALLS_RESULT_INVALID_ARGUMENT.*PLIVO_AUTH_ID' <<<"$out"
}
step "examples: a failure exits non-zero with the result and message" failure_example
# sync_sqlite: a series of runs with arrivals and kill -9, checked with sqlite3
# against the simulator's set (plain and under ASan+UBSan).
for v in export_csv export_csv_asan; do
  step "$v --sync: 6 runs, arrivals during and between, SIGKILL at 4 points, a torn line, a locked-out run: every call once" \
    "$sim" --calls 3000 --seed 3 --arrivals 30 --arrive-every 1 -- tests/sync_csv.sh "$bin/$v"
done
for v in sync_sqlite sync_sqlite_asan; do
  step "$v: 9 runs, arrivals during and between, kill -9 at 4 points: every call once" \
    "$sim" --calls 3000 --seed 3 --arrivals 30 --arrive-every 1 -- tests/sync_sqlite.sh "$bin/$v"
done

# export_csv --checkpoint / --resume. uuids FILE: the call_uuid column of a
# CSV written by export_csv, sorted (with repeats kept).
uuids() { tail -n +2 "$1" | cut -d, -f1 | sort; }
# The "N duplicates skipped" count of an export_csv --resume run's stderr.
dups_of() { sed -n 's/.* \([0-9][0-9]*\) duplicates skipped.*/\1/p' "$1"; }
# appended_of: the "N rows appended" count.
appended_of() { sed -n 's/^export_csv: \([0-9][0-9]*\) rows appended.*/\1/p' "$1"; }
# sim_count_from UNIX_TIME: how many calls the simulator of PLIVO_API_URL
# holds from UNIX_TIME to a second from now, asked on /_sim/expected in
# 25-day chunks (its range limit is the API's 30): the expected count taken
# from the simulator, not from the library.
sim_count_from() {
  local a=$1 b end n=0 lo hi t body port=${PLIVO_API_URL##*:}
  end=$(($(date +%s) + 1))
  while [ "$a" -lt "$end" ]; do
    b=$((a + 25 * 86400))
    [ "$b" -gt "$end" ] && b=$end
    lo="$(date -u -d "@$a" '+%Y-%m-%d%%20%H%%3A%M%%3A%S')"
    hi="$(date -u -d "@$b" '+%Y-%m-%d%%20%H%%3A%M%%3A%S')"
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET /_sim/expected?end_time__gte=%s&end_time__lt=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' \
      "$lo" "$hi" >&3
    body="$(cat <&3)"
    exec 3<&-
    t="$(grep -o '"total_count":[0-9]*' <<<"$body" | head -n 1 | cut -d: -f2)"
    [ -n "$t" ] || return 1
    n=$((n + t))
    a=$b
  done
  echo "$n"
}
export -f uuids dups_of appended_of sim_count_from

# Kill -9 part-way, then --resume: the file ends up with exactly the calls of a
# full export, once each. Runs against a slow simulator (--latency-ms).
kill_and_resume() {
  local d st
  d="$(mktemp -d)"
  kill_and_resume_in "$d"
  st=$?
  rm -rf "$d"
  return $st
}
kill_and_resume_in() {
  local d="$1" csv ck pid st lines=0 started since partial dups appended
  csv="$d/calls.csv" ck="$d/calls.ckpt"
  "$bin/export_csv" --days 60 --checkpoint "$ck" >"$csv" 2>"$d/first.err" &
  pid=$!
  # Poll the file (not a fixed sleep) until it has 200 lines; at most 60 s.
  for _ in $(seq 1 3000); do
    lines=$(wc -l <"$csv")
    [ "$lines" -ge 200 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  kill -9 "$pid" 2>/dev/null
  wait "$pid"
  st=$?
  if [ "$st" -ne 137 ]; then
    echo "export_csv was not killed part-way (exit $st after $lines lines)"
    cat "$d/first.err"
    return 1
  fi
  echo "killed at $(wc -l <"$csv") lines"
  # The expected calls: a full export with the same lower bound, which the
  # checkpoint file keeps as the export's start time ("started <unix time>").
  started="$(sed -n 's/^started \([0-9]*\)$/\1/p' "$ck")"
  [ -n "$started" ] || { echo "no started line in the checkpoint file"; cat "$ck"; return 1; }
  since="$(date -u -d "@$((started - 60 * 86400))" '+%Y-%m-%d %H:%M:%S')"
  "$bin/export_csv" --end-time-gte "$since" >"$d/full.csv" || return 1
  # The reference itself is checked against the simulator: as many calls as
  # it holds since that lower bound, each once.
  local want
  want="$(sim_count_from $((started - 60 * 86400)))" || { echo "the simulator did not answer"; return 1; }
  [ "$(uuids "$d/full.csv" | wc -l)" -eq "$want" ] && [ "$(uuids "$d/full.csv" | uniq -d | wc -l)" -eq 0 ] || {
    echo "the full export has $(uuids "$d/full.csv" | wc -l) calls, the simulator $want"
    return 1
  }
  # As if killed mid-write: half a row whose call is not in the file yet. Its
  # uuid must not count as present, and the partial line must go.
  partial="$(uuids "$d/full.csv" | comm -23 - <(uuids "$csv") | head -n 1)"
  [ -n "$partial" ] || { echo "the killed export already had every call"; return 1; }
  grep "^$partial," "$d/full.csv" | head -c 60 >>"$csv"
  "$bin/export_csv_asan" --days 60 --resume "$csv" --checkpoint "$ck" 2>"$d/resume.err" || {
    cat "$d/resume.err"
    return 1
  }
  cat "$d/resume.err"
  dups="$(dups_of "$d/resume.err")"
  appended="$(appended_of "$d/resume.err")"
  # Resumed from the checkpoint (starting over would skip 200 or more).
  [[ "$dups" =~ ^[0-9]+$ ]] && [ "$dups" -le 20 ] || { echo "duplicates: \`$dups\`"; return 1; }
  [[ "$appended" =~ ^[0-9]+$ ]] && [ "$appended" -gt 0 ] || { echo "appended: \`$appended\`"; return 1; }
  [ "$(uuids "$csv" | uniq -d | wc -l)" -eq 0 ] || { echo "a call is in the file twice"; return 1; }
  diff <(uuids "$d/full.csv") <(uuids "$csv") >"$d/diff" || {
    echo "the resumed file differs from a full export:"
    head -n 20 "$d/diff"
    return 1
  }
  [ "$(head -n 1 "$csv")" = "$(head -n 1 "$d/full.csv")" ] \
    && [ "$(grep -c '^call_uuid,' "$csv")" -eq 1 ] \
    && [ "$(tail -c 2 "$csv" | od -An -c | tr -d ' ')" = '\r\n' ] \
    || { echo "the resumed file is not a well-formed CSV"; return 1; }
  # Resuming a finished export appends nothing (under valgrind).
  "${valgrind[@]}" "$bin/export_csv" --days 60 --resume "$csv" --checkpoint "$ck" 2>"$d/again.err" || {
    cat "$d/again.err"
    return 1
  }
  grep -q '^export_csv: 0 rows appended .* 0 duplicates skipped' "$d/again.err" || { cat "$d/again.err"; return 1; }
}
export -f kill_and_resume kill_and_resume_in
export valgrind_cmd="${valgrind[*]}"
step "export_csv: kill -9 part-way, then --resume: a full export's calls, once each" \
  "$sim" --calls 2000 --seed 9 --latency-ms 100 -- bash -c 'valgrind=($valgrind_cmd); kill_and_resume'

# --resume without a checkpoint starts over, skipping the calls in the file;
# --max counts the file's rows; a partial header is replaced.
resume_without_checkpoint() {
  local d st
  d="$(mktemp -d)"
  resume_without_checkpoint_in "$d"
  st=$?
  rm -rf "$d"
  return $st
}
resume_without_checkpoint_in() {
  local d="$1" csv since
  csv="$d/calls.csv"
  since="$(date -u -d "@$(($(date +%s) - 60 * 86400))" '+%Y-%m-%d %H:%M:%S')"
  "$bin/export_csv" --end-time-gte "$since" >"$d/full.csv" || return 1
  # 100 rows, then half of the next one.
  head -n 101 "$d/full.csv" >"$csv"
  sed -n '102p' "$d/full.csv" | head -c 30 >>"$csv"
  "$bin/export_csv_asan" --end-time-gte "$since" --max 150 --resume "$csv" 2>"$d/err" || { cat "$d/err"; return 1; }
  cat "$d/err"
  [ "$(appended_of "$d/err")" = 50 ] && [ "$(dups_of "$d/err")" = 100 ] || return 1
  cmp <(head -n 151 "$d/full.csv") "$csv" || { echo "not the first 150 rows"; return 1; }
  "$bin/export_csv_asan" --end-time-gte "$since" --resume "$csv" 2>"$d/err" || { cat "$d/err"; return 1; }
  cat "$d/err"
  [ "$(dups_of "$d/err")" = 150 ] || return 1
  cmp "$d/full.csv" "$csv" || { echo "not the full export"; return 1; }
  # A partial header only, and a missing file: a whole new export.
  head -c 20 "$d/full.csv" >"$csv"
  "$bin/export_csv" --end-time-gte "$since" --resume "$csv" 2>"$d/err" && cmp "$d/full.csv" "$csv" || return 1
  rm -f "$csv"
  "$bin/export_csv" --end-time-gte "$since" --resume "$csv" 2>"$d/err" && cmp "$d/full.csv" "$csv" || return 1
  # Not a CSV of export_csv: refused, left alone.
  echo "a,b,c" >"$csv"
  ! "$bin/export_csv" --end-time-gte "$since" --resume "$csv" 2>"$d/err" && [ "$(cat "$csv")" = "a,b,c" ] \
    && grep -q 'header differs' "$d/err" || return 1
  # A checkpoint without the file it belongs to is an error.
  "$bin/export_csv" --end-time-gte "$since" --max 10 --checkpoint "$d/ck0" >/dev/null 2>&1 || return 1
  rm -f "$csv"
  ! "$bin/export_csv" --end-time-gte "$since" --resume "$csv" --checkpoint "$d/ck0" 2>"$d/err" \
    && grep -q 'remove .* to start over' "$d/err" || { cat "$d/err"; return 1; }
  # A damaged checkpoint file is an error, not a silent restart.
  printf 'export_csv checkpoint 1\nstarted 1\ncalls-ckpt2.00.0000000000000000\n' >"$d/ck"
  cp "$d/full.csv" "$csv"
  ! "$bin/export_csv" --end-time-gte "$since" --resume "$csv" --checkpoint "$d/ck" 2>"$d/err" \
    && grep -q 'CALLS_RESULT_VALIDATION' "$d/err" || { cat "$d/err"; return 1; }
}
export -f resume_without_checkpoint resume_without_checkpoint_in
step "export_csv: --resume without a checkpoint, --max, partial rows and headers" \
  "$sim" --calls 800 --seed 4 -- bash -c resume_without_checkpoint

# make install, pkg-config and the documented native link line.
step "install: DESTDIR install, pkg-config --static, native-static-libs" tests/check_install.sh
# The CMake package: find_package(calls CONFIG) from a temporary install.
step "install: CMake package, a consumer linked shared and static (find_package, calls::calls)" tests/check_cmake.sh

# The same checks run in three passes: each pass separately, and the
# number of distinct checks (those of the plain pass, plus the steps).
for m in plain asan valgrind; do
  echo "pass $m: ${mode_checks[$m]:-0} checks, ${mode_failed[$m]:-0} failed, ${mode_crashed[$m]:-0} runs crashed or flagged"
done
echo "distinct: $(( ${mode_checks[plain]:-0} + steps )) checks (${mode_checks[plain]:-0} in the C programs, run in each of the 3 passes, and $steps steps, $steps_failed failed)"
# The last line, as before: every check of every pass, and every step.
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
