#!/usr/bin/env bash
# Usage: scripts/with-sim.sh [calls-sim flags --] command [args...]
# Starts the calls-sim binary on a free loopback port, exports PLIVO_AUTH_ID,
# PLIVO_AUTH_TOKEN and PLIVO_API_URL for it, runs the command, and stops the
# simulator whatever happens. Exits with the command's status.
# A bare `--https` among the calls-sim flags serves HTTPS: the simulator
# writes its CA certificate to a temporary file, exported as CALLS_CA_FILE
# (PLIVO_API_URL is then https://...).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
sim="${CALLS_SIM:-$here/target/release/calls-sim}"
sim_args=()
if [[ " $* " == *" -- "* ]]; then
  while [ "$1" != "--" ]; do sim_args+=("$1"); shift; done
  shift
fi
ca=""
for i in "${!sim_args[@]}"; do
  if [ "${sim_args[$i]}" = "--https" ]; then
    ca="$(mktemp)"
    sim_args[$i]="--https=$ca"
  fi
done
[ -x "$sim" ] || { echo "with-sim: $sim not built (run: cargo build --release -p calls-sim)" >&2; exit 2; }
out="$(mktemp)"
"$sim" --port 0 --auth-id MASIMULATOR000000001 --auth-token simulator-token "${sim_args[@]}" >"$out" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$out" ${ca:+"$ca"}' EXIT
url=""
for _ in $(seq 1 200); do
  url="$(head -n 1 "$out" 2>/dev/null || true)"
  case "$url" in http://* | https://*) break ;; esac
  kill -0 "$pid" 2>/dev/null || { echo "with-sim: calls-sim exited:" >&2; cat "$out" >&2; exit 2; }
  sleep 0.05
done
case "$url" in http://* | https://*) ;; *) echo "with-sim: calls-sim printed no URL" >&2; exit 2 ;; esac
# The simulator is on loopback: never through a proxy from the environment.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
export PLIVO_AUTH_ID=MASIMULATOR000000001 PLIVO_AUTH_TOKEN=simulator-token PLIVO_API_URL="$url"
[ -z "$ca" ] || export CALLS_CA_FILE="$ca"
set +e
"$@"
status=$?
set -e
exit $status
