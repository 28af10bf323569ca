#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit tests and end-to-end tests against real Postgres,
# real audio, a real S3-compatible server and the real server and worker), the client library's
# unit tests and its end-to-end test against the real server, the web app's unit tests, and its
# end-to-end tests in headless Chromium against the real server.
# Needs Postgres on 127.0.0.1:5432 (or SMELT_TEST_DATABASE_URL); each test makes its own
# database and drops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
# The end-to-end tests start the server, worker and cleanup binaries as real processes and
# build them on first use (a no-op when fresh); building them first keeps that build out of the
# tests' time.
cargo build --quiet --workspace --bins
cargo test --workspace --no-fail-fast
(cd client && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build && npm test --silent)
(cd web && npm test --silent)

# The browser tests start the all-in-one binary (server and worker) themselves, one per test
# file.
cargo build --quiet --bin smelt
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
(cd client && SMELT_SERVER_BIN="$target_dir/debug/smelt" npm run --silent test:e2e)
(cd web && SMELT_SERVER_BIN="$target_dir/debug/smelt" npm run --silent test:e2e)
