# One image for the three binaries: producer, consumer and simulator.
#
# Build stage: a release build of the whole workspace. Runtime stage: Debian slim with
# the binaries, the example configuration and the demo fixtures, running as an
# unprivileged user.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc make pkg-config \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked --bin producer --bin consumer --bin simulator \
    && mkdir -p /out \
    && cp target/release/producer target/release/consumer target/release/simulator /out/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/dingk3 dingk3
COPY --from=build /out/ /usr/local/bin/
COPY config/dingk3.example.toml /etc/dingk3/dingk3.toml
COPY tests/fixtures/cases /usr/share/dingk3/cases
ENV DINGK3_CONFIG=/etc/dingk3/dingk3.toml
USER dingk3
WORKDIR /var/lib/dingk3
# Each service listens for /healthz on its own port; compose sets HEALTH_PORT.
ENV HEALTH_PORT=9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${HEALTH_PORT}/healthz" || exit 1
CMD ["producer", "--help"]
