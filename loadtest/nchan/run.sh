#!/usr/bin/env bash
# Runs one fan-out measurement against nchan: starts nginx with the nchan module in the
# foreground on a free loopback port from a fresh temporary prefix (nginx.conf.in beside this
# script), runs `smelt-loadtest fanout --target nchan` with the given shape, and stops nginx.
#
#   loadtest/nchan/run.sh REPORT [fanout arguments]
#   loadtest/nchan/run.sh /tmp/fanout-d.nchan.json --subscribers 10000 --channels 10 --rate 5
#
# Environment: LOADTEST (the smelt-loadtest binary; default
# ${CARGO_TARGET_DIR:-target}/debug/smelt-loadtest), NGINX (default nginx), NCHAN_MODULE
# (default /usr/lib/nginx/modules/ngx_nchan_module.so, as Debian's libnginx-mod-nchan installs
# it), NCHAN_WORKERS (worker processes; default one per core), NCHAN_PORT (first port tried;
# default 8096). nginx's error log is kept beside the report (REPORT without .json, plus
# .nginx.log).
#
# Needs nginx and nchan (Debian: apt-get install nginx-light libnginx-mod-nchan); no system
# service is used.
set -euo pipefail

if [ "$#" -lt 1 ]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
REPORT="$1"
shift
HERE="$(cd "$(dirname "$0")" && pwd)"
LOADTEST="${LOADTEST:-${CARGO_TARGET_DIR:-$HERE/../../target}/debug/smelt-loadtest}"
NGINX="${NGINX:-nginx}"
NCHAN_MODULE="${NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}"
NCHAN_WORKERS="${NCHAN_WORKERS:-$(nproc)}"
NCHAN_PORT="${NCHAN_PORT:-8096}"

# Up to the hard limit: the load client and nginx hold one descriptor per subscriber.
ulimit -n "$(ulimit -Hn)"
NOFILE="$(ulimit -n)"
[ "$NOFILE" = unlimited ] && NOFILE=100000
# Connections per worker: 20,000 (twice the largest run), or what the descriptors allow, with
# room for the listening sockets, the logs and nchan's pipes between the workers.
CONNECTIONS=$((NOFILE - 100 < 20000 ? NOFILE - 100 : 20000))

PREFIX="$(mktemp -d /tmp/smelt-nchan.XXXXXX)"
# Workers drop root privileges (to nginx's default user) and must reach their temp paths.
chmod 755 "$PREFIX"
NGINX_PID=
stop_nginx() {
  if [ -n "$NGINX_PID" ]; then
    kill "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=
  fi
}
cleanup() {
  stop_nginx
  [ -s "$PREFIX/error.log" ] && cp "$PREFIX/error.log" "${REPORT%.json}.nginx.log"
  rm -rf "$PREFIX"
}
trap cleanup EXIT

# True when nothing listens on 127.0.0.1:$1.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Starts nginx on port $1; fails when it exits or does not answer within 10 s (the port may
# have been taken in between).
start_nginx() {
  sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@PORT@|$1|g" -e "s|@WORKERS@|$NCHAN_WORKERS|g" \
    -e "s|@NCHAN_MODULE@|$NCHAN_MODULE|g" -e "s|@NOFILE@|$NOFILE|g" \
    -e "s|@CONNECTIONS@|$CONNECTIONS|g" "$HERE/nginx.conf.in" >"$PREFIX/nginx.conf"
  "$NGINX" -p "$PREFIX/" -c "$PREFIX/nginx.conf" -e "$PREFIX/error.log" &
  NGINX_PID=$!
  for _ in $(seq 1 50); do
    if ! kill -0 "$NGINX_PID" 2>/dev/null; then
      wait "$NGINX_PID" 2>/dev/null || true
      NGINX_PID=
      return 1
    fi
    # Any HTTP answer will do: a channel that does not exist is a 404.
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/pub/ready" || true)"
    [ "$code" != "000" ] && return 0
    sleep 0.2
  done
  stop_nginx
  return 1
}

port=
for candidate in $(seq "$NCHAN_PORT" $((NCHAN_PORT + 50))); do
  port_free "$candidate" || continue
  if start_nginx "$candidate"; then
    port=$candidate
    break
  fi
done
if [ -z "$port" ]; then
  echo "nginx did not start; its log:" >&2
  cat "$PREFIX/error.log" >&2 || true
  exit 1
fi
echo "nginx $NGINX_PID with nchan on 127.0.0.1:$port ($NCHAN_WORKERS workers," \
  "prefix $PREFIX)" >&2

"$LOADTEST" fanout --target nchan --nchan-url "http://127.0.0.1:$port" \
  --server-pid "$NGINX_PID" --report "$REPORT" "$@"
