#!/usr/bin/env bash
# Measures how soon a long recording's transcript starts to arrive and how fast it is made:
# synthesises a recording of MINUTES minutes (default 10) with espeak-ng, starts a server with
# one embedded worker on a fresh database, and follows the recording through it twice —
# without and with word timings — with measure.mjs. Prints one JSON line per run.
#
#   loadtest/transcription/run.sh
#
# Environment: MINUTES, PORT (default 8097), DB (dropped and recreated; default
# smelt_transcription_bench), SERVER_BIN (a binary that serves with embedded workers; default
# the dev build of `smelt` in this tree). Needs Postgres on 127.0.0.1:5432, espeak-ng, ffmpeg, the model
# (scripts/fetch-model.sh) and the built client library (client/dist).
set -euo pipefail
cd "$(dirname "$0")/../.."

MINUTES="${MINUTES:-10}"
PORT="${PORT:-8097}"
DB="${DB:-smelt_transcription_bench}"
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

if [[ -z "${SERVER_BIN:-}" ]]; then
    cargo build --quiet --bin smelt
    target_dir=$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    SERVER_BIN="$target_dir/debug/smelt"
fi

# A meeting-like text, varied enough that the recogniser cannot coast, repeated until it is
# long enough (espeak-ng speaks ~160 words a minute at -s 160).
paragraphs=(
    "Good morning everyone. Let us start with the release plan for the mobile app."
    "Priya finished the offline mode and the last review is on Thursday afternoon."
    "Tom is still chasing the crash on older Android phones and needs two more test devices."
    "The design team wants to move the weekly review to Monday morning at ten."
    "Sales asked for a short summary of the new pricing before the end of the month."
    "We agreed that the support backlog comes first until it is under fifty tickets."
    "Please write down every action item with an owner and a date before we leave."
)
words_needed=$((MINUTES * 160))
text=""
count=0
while ((count < words_needed)); do
    for p in "${paragraphs[@]}"; do
        text+="$p "
        count=$((count + $(wc -w <<<"$p")))
    done
done
espeak-ng -s 160 -w "$work/speech.wav" "$text"
ffmpeg -loglevel error -y -i "$work/speech.wav" -ac 1 -b:a 64k "$work/meeting.mp3"

psql -q -h 127.0.0.1 -U postgres -c "drop database if exists $DB" >/dev/null
SMELT_BIND="127.0.0.1:$PORT" \
    DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" \
    SMELT_DATA_DIR="$work/data" \
    SMELT_EMBEDDED_WORKERS=1 \
    RUST_LOG=warn \
    "$SERVER_BIN" &
server=$!
for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.5
done

node loadtest/transcription/measure.mjs "http://127.0.0.1:$PORT" "$work/meeting.mp3"
node loadtest/transcription/measure.mjs "http://127.0.0.1:$PORT" "$work/meeting.mp3" --words
