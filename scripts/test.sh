#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit tests and end-to-end tests against real Postgres,
# real audio and the real server and worker) and the web app's unit tests.
# Needs Postgres on 127.0.0.1:5432 (or SMELT_TEST_DATABASE_URL); each test makes its own
# database and drops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --no-fail-fast
(cd web && npm test --silent)
