#!/usr/bin/env bash
# Server memory while N clients upload one large audio file each at the same time.
#
#   scripts/bench-upload-memory.sh [fs|s3] [clients=20] [megabytes=25]
#
# Starts smelt-server (no workers, so the uploads stay stored) on a fresh database, prints its
# idle resident memory, runs the uploads in parallel from distinct loopback addresses (each
# anonymous client has its own daily credit), and prints the peak resident memory (VmHWM)
# and the statuses. The s3 variant stores into a local s3s-fs.
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-fs}
clients=${2:-20}
megabytes=${3:-25}

target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
cargo build --quiet --bin smelt-server
work=$(mktemp -d)
db="smelt_bench_upload_$$"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pids=()
cleanup() {
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    psql -h 127.0.0.1 -U postgres -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
export SMELT_BIND="127.0.0.1:$port" SMELT_DATA_DIR="$work/data" SMELT_EMBEDDED_WORKERS=0
export SMELT_RATE_CREATE_PER_MIN=100000 RUST_LOG=warn
if [[ $store == s3 ]]; then
    s3_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$work/s3/smelt"   # s3s-fs keeps each bucket as a directory
    s3s-fs --host 127.0.0.1 --port "$s3_port" --access-key bench --secret-key bench-secret \
        "$work/s3" >/dev/null 2>&1 &
    pids+=($!)
    export SMELT_BLOB_STORE=s3 SMELT_S3_BUCKET=smelt SMELT_S3_ENDPOINT="http://127.0.0.1:$s3_port"
    export SMELT_S3_FORCE_PATH_STYLE=true SMELT_S3_ACCESS_KEY_ID=bench SMELT_S3_SECRET_ACCESS_KEY=bench-secret
    until curl -s -o /dev/null "http://127.0.0.1:$s3_port/"; do sleep 0.1; done
fi
"$target_dir/debug/smelt-server" &
server=$!
pids+=($server)
until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.2; done

# One file of random bytes with an MP3 name (the server checks size and extension while
# streaming; decoding happens in workers, of which there are none here).
head -c $((megabytes * 1024 * 1024 - 4096)) /dev/urandom >"$work/upload.mp3"
rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$server/status"; }
echo "store=$store clients=$clients file=${megabytes} MiB"
echo "idle RSS: $(rss VmRSS) KiB"

echo "idle peak RSS (VmHWM): $(rss VmHWM) KiB"

started=$(date +%s.%N)
uploads=()
for i in $(seq 1 "$clients"); do
    curl -s -o /dev/null -w "%{http_code}\n" --interface "127.0.1.$i" \
        -F "files[]=@$work/upload.mp3;type=audio/mpeg" "http://127.0.0.1:$port/api/smelts" \
        >"$work/status.$i" &
    uploads+=($!)
done
wait "${uploads[@]}"
elapsed=$(python3 -c "import time; print(round(time.time() - $started, 1))")
echo "statuses: $(cat "$work"/status.* | sort | uniq -c | tr '\n' ' ')"
echo "peak RSS during uploads: $(rss VmHWM) KiB; RSS after: $(rss VmRSS) KiB; wall time ${elapsed} s"
