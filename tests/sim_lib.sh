# Sourced by the sync series tests: the simulator's control endpoints from
# bash, without curl. Needs PLIVO_API_URL (scripts/with-sim.sh sets it).

# sim_get PATH: GET a /_sim/ path of the simulator; prints the body.
sim_get() {
  local body
  exec 3<>"/dev/tcp/127.0.0.1/${PLIVO_API_URL##*:}"
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$1" >&3
  body="$(cat <&3)"
  exec 3>&-
  printf '%s\n' "${body#*$'\r\n\r\n'}"
}

# arrive N: N calls that ended within the last 10 minutes become visible.
arrive() { sim_get "/_sim/arrive?count=$1&max_age=600" >/dev/null; }
