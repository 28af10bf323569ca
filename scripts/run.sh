#!/usr/bin/env bash
# Runs Smelt on http://localhost:8080: the all-in-one `smelt` binary (the server with an
# embedded worker). Needs Postgres (DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/smelt; the database is created). Extra arguments go to
# smelt (see `cargo run --bin smelt -- --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo run --bin smelt -- "$@"
