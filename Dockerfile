# syntax=docker/dockerfile:1
# The collector's container image: `collector serve` on $PORT, as a non-root user, with no shell or
# package manager in the runtime image.

# --- dependency planner and cache (cargo-chef) -------------------------------------------------
FROM rust:1.95-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /build

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /build/recipe.json recipe.json
# Dependencies only: this layer is reused until Cargo.lock or a manifest changes.
RUN cargo chef cook --release --locked -p collector --recipe-path recipe.json
COPY . .
# The build context has no .git: the release workflow passes the commit `collector --version` names.
ARG SOURCE_COMMIT=unknown
RUN SOURCE_COMMIT="$SOURCE_COMMIT" cargo build --release --locked -p collector --bin collector

# --- runtime -----------------------------------------------------------------------------------
# distroless/cc: glibc and CA certificates, no shell, no package manager; runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /build/target/release/collector /collector
USER 65532:65532
ENV PORT=8080 LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/collector"]
CMD ["serve"]
