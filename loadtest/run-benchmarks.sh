#!/usr/bin/env bash
# Runs the benchmarks of BENCHMARKS.md against a fresh server on loopback and writes one JSON
# report per configuration to $OUT (default /tmp/smelt-bench). Each fanout configuration runs
# against Smelt ($OUT/NAME.json) and then, with the same shape, against nchan
# ($OUT/NAME.nchan.json, through loadtest/nchan/run.sh).
#
#   loadtest/run-benchmarks.sh                 # every configuration
#   loadtest/run-benchmarks.sh fanout-b        # only the named ones (see CONFIGS below)
#   TARGETS=nchan loadtest/run-benchmarks.sh   # the fanout configurations against nchan only
#
# Environment: OUT (reports), PORT, DB (dropped and recreated per configuration), SECRET,
# BIN_DIR (prebuilt smelt-server and smelt-loadtest; built from this tree when unset), and
# WAIT_QUIET=N to wait up to N seconds before each measurement until no compiler runs
# (other builds share the cores and distort the numbers), FANOUT_EXTRA (more arguments for
# the fanout configurations, e.g. --listen-probe), TARGETS (servers measured: "smelt nchan" by
# default; create configurations run against Smelt only), and the NCHAN_* variables of
# loadtest/nchan/run.sh.
#
# Needs Postgres on 127.0.0.1:5432 (user postgres) for Smelt, nginx with nchan for nchan. The
# server runs the dev profile (what scripts/run.sh runs: dependencies optimised, the
# workspace's own crates at opt-level 1), without embedded workers, with rate limits raised so
# that the load client is not refused.
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
OUT="${OUT:-/tmp/smelt-bench}"
PORT="${PORT:-8095}"
DB="${DB:-smelt_bench}"
SECRET="${SECRET:-bench-secret-0123456789abcdef0123456789}"
DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
TARGETS="${TARGETS:-smelt nchan}"
mkdir -p "$OUT"

# True when $1 is one of the TARGETS.
measures() {
  [[ " $TARGETS " == *" $1 "* ]]
}

# name | arguments
CONFIGS=(
  "fanout-a|fanout --subscribers 10000 --channels 10000 --rate 5000 --duration-secs 20"
  "fanout-a2|fanout --subscribers 10000 --channels 10000 --rate 2000 --duration-secs 20"
  "fanout-a15|fanout --subscribers 10000 --channels 10000 --rate 5000 --duration-secs 15"
  "fanout-b|fanout --subscribers 10000 --channels 1000 --rate 500 --duration-secs 20"
  "fanout-c|fanout --subscribers 10000 --channels 100 --rate 50 --duration-secs 20"
  "fanout-d|fanout --subscribers 10000 --channels 10 --rate 5 --duration-secs 20"
  "fanout-e|fanout --subscribers 10000 --channels 10 --rate 20 --duration-secs 20"
  "fanout-f|fanout --subscribers 10000 --channels 10 --rate 50 --duration-secs 20"
  "fanout-g|fanout --subscribers 10000 --channels 10 --rate 110 --duration-secs 20"
  "fanout-h|fanout --subscribers 10000 --channels 10 --rate 200 --duration-secs 20"
  "fanout-i|fanout --subscribers 10000 --channels 10 --rate 300 --duration-secs 20"
  "create-own-key|create --rate 100 --duration-secs 30 --credits own-key"
  "create-weekly|create --rate 100 --duration-secs 30 --credits weekly"
  "dequeue-1k|dequeue --pending 1000 --watched 100 --dequeues 500"
  "dequeue-10k|dequeue --pending 10000 --watched 1000 --dequeues 500"
  "dequeue-100k|dequeue --pending 100000 --watched 1000 --dequeues 500"
)

if [ -z "${BIN_DIR:-}" ]; then
  if measures smelt; then cargo build -q -p smelt-server --bins; fi
  cargo build -q -p smelt-loadtest
  BIN_DIR="$CARGO_TARGET_DIR/debug"
fi

# Compiler processes running now.
compilers() {
  echo $(($(pgrep -cx rustc || true) + $(pgrep -cx cc1plus || true)))
}

wait_quiet() {
  local deadline=$((SECONDS + ${WAIT_QUIET:-0})) quiet=0
  while [ "$SECONDS" -lt "$deadline" ] && [ "$quiet" -lt 10 ]; do
    if [ "$(compilers)" -gt 0 ]; then quiet=0; else quiet=$((quiet + 1)); fi
    sleep 1
  done
}

# Up to the hard limit: server and client each hold one descriptor per socket.
ulimit -n "$(ulimit -Hn)"

start_server() {
  psql -q -h 127.0.0.1 -U postgres -c "drop database if exists $DB" >/dev/null
  rm -rf /tmp/smelt-bench-data
  SMELT_BIND="127.0.0.1:$PORT" DATABASE_URL="$DATABASE_URL" \
    SMELT_DATA_DIR=/tmp/smelt-bench-data SMELT_JWT_SECRET="$SECRET" \
    SMELT_RATE_WS_PER_MIN=100000000 \
    SMELT_RATE_CREATE_PER_MIN=100000000 SMELT_RATE_LOGIN_PER_MIN=100000000 \
    "$BIN_DIR/smelt-server" >"$OUT/server-$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0
    sleep 0.2
  done
  echo "server did not become ready; see $OUT/server-$1.log" >&2
  exit 1
}

SERVER_PID=
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
trap stop_server EXIT

for entry in "${CONFIGS[@]}"; do
  name="${entry%%|*}"
  arguments="${entry#*|}"
  if [[ "$arguments" == fanout* ]]; then
    arguments="$arguments ${FANOUT_EXTRA:-}"
  fi
  if [ "$#" -gt 0 ] && [[ ! " $* " == *" $name "* ]]; then
    continue
  fi
  if measures smelt; then
    wait_quiet
    # A fresh server and database per configuration: memory and tables start from nothing.
    start_server "$name"
    echo "== $name: $arguments (load: $(cut -d' ' -f1-3 /proc/loadavg)," \
      "compilers: $(compilers))" >&2
    # shellcheck disable=SC2086
    DATABASE_URL="$DATABASE_URL" SMELT_JWT_SECRET="$SECRET" \
      "$BIN_DIR/smelt-loadtest" $arguments \
      --server "127.0.0.1:$PORT" --server-pid "$SERVER_PID" --report "$OUT/$name.json" \
      2>"$OUT/$name.stderr" || echo "$name failed: see $OUT/$name.stderr" >&2
    stop_server
  fi
  if measures nchan && [[ "$arguments" == fanout* ]]; then
    wait_quiet
    # The same shape against a fresh nginx with nchan.
    echo "== $name (nchan): ${arguments#fanout } (load: $(cut -d' ' -f1-3 /proc/loadavg)," \
      "compilers: $(compilers))" >&2
    # shellcheck disable=SC2086
    LOADTEST="$BIN_DIR/smelt-loadtest" loadtest/nchan/run.sh "$OUT/$name.nchan.json" \
      ${arguments#fanout } 2>"$OUT/$name.nchan.stderr" ||
      echo "$name (nchan) failed: see $OUT/$name.nchan.stderr" >&2
  fi
done
echo "reports in $OUT" >&2
