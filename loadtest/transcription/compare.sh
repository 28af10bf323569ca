#!/usr/bin/env bash
# Smelt's local engine beside faster-whisper, on the same machine in one run: the same model
# (Whisper tiny.en by default, MODEL_NAME=base for the multilingual one; int8), threads and beam; word error rate and real-time factor on long
# readings (the whole text of worker/tests/fixtures/reading.txt, about nine minutes: once read
# without pauses between sentences, once with them in another voice) and on five 3–7 s clips.
# Prints one JSON line per configuration (see compare.py).
#
#   loadtest/transcription/compare.sh
#
# Environment: REPEATS (runs of each engine per configuration, alternating; default 3),
# THREADS (default 2), VENV (where faster-whisper is installed from PyPI, once; default
# ~/.cache/smelt/bench-venv), MODEL_NAME (tiny.en or base), SMELT_MODELS_DIR, BEAMS and EXTRAS
# (see compare.py). Needs espeak-ng
# and the model (scripts/fetch-model.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV="${VENV:-$HOME/.cache/smelt/bench-venv}"
MODELS_DIR="${SMELT_MODELS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/smelt/models}"
MODEL_NAME="${MODEL_NAME:-tiny.en}"
MODEL="$MODELS_DIR/whisper-$MODEL_NAME"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet faster-whisper==1.2.1 jiwer
fi
scripts/fetch-model.sh "$MODELS_DIR" "$MODEL_NAME" >/dev/null
cargo build --quiet -p smelt-worker --example transcribe
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

# The long readings: one sentence per line of the fixture.
grep -v '^\s*$' worker/tests/fixtures/reading.txt >"$work/long-continuous.txt"
cp "$work/long-continuous.txt" "$work/long-paused.txt"
# Without full stops espeak-ng runs the sentences together.
sed 's/\.$//' "$work/long-continuous.txt" | tr '\n' ' ' >"$work/spoken.txt"
espeak-ng -v en-us -s 150 -w "$work/long-continuous.wav" -f "$work/spoken.txt"
espeak-ng -v en-gb -s 165 -w "$work/long-paused.wav" -f "$work/long-paused.txt"

clips=(
    "Please send me the slides before the meeting."
    "The train to the airport leaves every twenty minutes."
    "We should move the budget review to next Thursday morning."
    "Can you check whether the new printer on the third floor is working again?"
    "My sister bought a small house near the river last spring."
)
for i in "${!clips[@]}"; do
    echo "${clips[$i]}" >"$work/clip-$i.txt"
    espeak-ng -v en-us -s 150 -w "$work/clip-$i.wav" "${clips[$i]}"
done

REPEATS="${REPEATS:-3}" THREADS="${THREADS:-2}" \
    "$VENV/bin/python" loadtest/transcription/compare.py \
    "$target_dir/debug/examples/transcribe" "$MODEL" "$work"
