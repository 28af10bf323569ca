#!/usr/bin/env bash
# Prepares a machine to build and run Smelt (and, with --tests, to test it), skipping
# whatever is already there.
#
#   scripts/setup.sh           what running needs (scripts/run.sh calls this):
#     - Debian packages cmake and a C++ compiler (CTranslate2 is built from source by ct2rs);
#     - the Whisper model (scripts/fetch-model.sh);
#     - the client library (npm ci + npm run build in client/) and the web app, which
#       bundles it (npm ci + npm run build in web/).
#   scripts/setup.sh --tests   also what only the tests need (scripts/test.sh calls this):
#     - espeak-ng, ffmpeg and lame (the tests synthesise real speech and encode it);
#       curl, jq and openssl (the API reference's examples, docs/api.md, run in a test);
#       chromium (the web app's browser tests drive it through playwright-core);
#       promtool (Debian package prometheus; the alert rules are checked with it);
#     - s3s-fs, a small S3-compatible server the storage tests run against.
# Installing packages needs root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

tests=false
for arg in "$@"; do
    case "$arg" in
    --tests) tests=true ;;
    *)
        echo "usage: scripts/setup.sh [--tests]" >&2
        exit 2
        ;;
    esac
done

# command:package pairs.
needed=(cmake:cmake g++:g++)
if $tests; then
    needed+=(espeak-ng:espeak-ng ffmpeg:ffmpeg lame:lame chromium:chromium promtool:prometheus
        curl:curl jq:jq openssl:openssl)
fi
missing=()
for tool in "${needed[@]}"; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
    echo "Installing ${missing[*]}..." >&2
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Pinned: later releases need a newer Rust than this toolchain.
if $tests && ! command -v s3s-fs >/dev/null 2>&1; then
    echo "Installing s3s-fs..." >&2
    cargo install s3s-fs --version 0.14.1 --features binary --locked --quiet
fi

scripts/fetch-model.sh

if [[ ! -d client/node_modules ]]; then
    (cd client && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd client && npm run --silent build)
if [[ ! -d web/node_modules ]]; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd web && npm run --silent build)
