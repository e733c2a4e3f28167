# Convoy in a container: one image, the role chosen by the command (run, serve, work, demo).
# The dashboard's templates and assets are compiled into the binary (askama, rust-embed), so
# the runtime image holds the binary only.

# Build stage: the release binary.
FROM rust:1-bookworm AS build
WORKDIR /src
ENV SQLX_OFFLINE=true
COPY . .
RUN cargo build --release --locked --bin convoy \
 && cp target/release/convoy /usr/local/bin/convoy

# Runtime stage: Debian slim, CA certificates for https GitLab, curl for health checks, and
# an unprivileged user that owns only its working directory (the default SQLite file's).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/convoy --create-home convoy
COPY --from=build /usr/local/bin/convoy /usr/local/bin/convoy
USER convoy
WORKDIR /var/lib/convoy
ENV CONVOY_LISTEN=0.0.0.0:8080 \
    CONVOY_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/health_check || exit 1
ENTRYPOINT ["convoy"]
CMD ["run"]
