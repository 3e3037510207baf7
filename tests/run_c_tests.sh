#!/usr/bin/env bash
# Runs every C-level test and prints, last, one line: "N passed, N failed".
#
#   tests/run_c_tests.sh BUILD_DIR
#
# BUILD_DIR holds test_calls (plain), test_calls_asan (ASan+UBSan) and the
# examples (mk/ffi.mk builds them). Each scenario of test_calls runs against
# its own calls-sim (scripts/with-sim.sh) three ways: plain, under ASan+UBSan,
# and under valgrind. N counts checks: every CHECK inside test_calls, plus
# one per other step (header compiles, examples, install); a run that crashes
# or that a sanitizer or valgrind flags counts as one more failure.
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
  if [ "$st" -ne 0 ] || [ -z "$line" ]; then
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
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "ok    $label"
  else
    failed=$((failed + 1))
    echo "FAIL  $label"
    sed 's/^/      /' "$log" | tail -n 40
  fi
}

# The header on its own, as C99 and C++17.
step "header: C99" "$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude -c tests/header_only.c -o /dev/null
step "header: C++17" "$CXX" -x c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -Iinclude -c tests/header_only.c -o /dev/null

# scenario name : calls-sim flags (empty name part = no simulator)
scenarios=(
  "offline:"
  "data:--calls 400 --seed 11"
  "not_found:--calls 50 --error-every 1 --error-status 404"
  "server:--calls 50 --error-every 1 --error-status 503"
  "rate_limited:--calls 50 --rate-limit-every 1 --retry-after 0"
  "http:--calls 50 --error-every 1 --error-status 400"
  "timeout:--calls 50 --latency-ms 2000"
  "bad_response:--calls 50 --malformed-every 1"
)

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:exitcode=23"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
valgrind=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite)
for mode in plain asan valgrind; do
  for s in "${scenarios[@]}"; do
    name="${s%%:*}"
    flags="${s#*:}"
    case "$mode" in
      plain) cmd=("$bin/test_calls" "$name") ;;
      asan) cmd=("$bin/test_calls_asan" "$name") ;;
      valgrind) cmd=("${valgrind[@]}" "$bin/test_calls" "$name") ;;
    esac
    if [ -z "$flags" ]; then
      run "$mode $name" "${cmd[@]}"
    else
      # shellcheck disable=SC2086
      run "$mode $name" "$sim" --seed 1 $flags -- "${cmd[@]}"
    fi
  done
done

# The examples against a small simulator.
examples() {
  local out
  out="$(mktemp)"
  "$bin/list_calls" --days 20 --direction outbound --bill-duration-gt 0 --rows 3 \
    && "$bin/export_csv" --days 20 --max 50 >"$out" \
    && head -n 1 "$out" | grep -q '^call_uuid,end_time,' \
    && [ "$(wc -l <"$out")" -eq 51 ] \
    && "$bin/summary" --days 20 --hangup-source customer
  local st=$?
  rm -f "$out"
  return $st
}
export bin
export -f examples
step "examples: list_calls, export_csv, summary" "$sim" --calls 400 --seed 5 -- bash -c examples
failure_example() {
  local out st
  out="$(env -u PLIVO_AUTH_ID "$bin/list_calls" --days 1 2>&1)"
  st=$?
  [ "$st" -ne 0 ] && grep -q 'CALLS_RESULT_INVALID_ARGUMENT.*PLIVO_AUTH_ID' <<<"$out"
}
step "examples: a failure exits non-zero with the result and message" failure_example

# make install, pkg-config and the documented native link line.
step "install: DESTDIR install, pkg-config --static, native-static-libs" tests/check_install.sh

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
