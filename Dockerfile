# Convoy in a container: one image, the role chosen by the command (run, serve, work, demo).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin convoy

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/convoy /usr/local/bin/convoy
USER nobody
ENTRYPOINT ["convoy"]
CMD ["run"]
