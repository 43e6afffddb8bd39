# parallax as a container image: a static (musl) binary on an empty base, run as nobody.
#
#   docker build -t parallax .
#   docker run --rm parallax probe https://example.com/
#   docker run --rm -p 9595:9595 -v $PWD/watch.yaml:/etc/parallax/watch.yaml:ro parallax
#
# The image holds /parallax, the CA bundle the probe trusts by default, an empty /tmp, the
# sample configuration at /etc/parallax/watch.yaml (replace it with a volume, or pass
# `watch --config` another file), and nothing else: no shell, no libc. README's "Install"
# section gives its size. The health check is the binary itself (`probe` of /healthz).

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools ca-certificates \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl -p parallax \
 && mkdir -p /out/tmp /out/etc/parallax \
 && cp target/x86_64-unknown-linux-musl/release/parallax /out/parallax \
 && cp deploy/watch/watch.yaml /out/etc/parallax/watch.yaml \
 && cp /etc/ssl/certs/ca-certificates.crt /out/ca-certificates.crt

FROM scratch
COPY --from=build /out/parallax /parallax
COPY --from=build /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/etc/parallax /etc/parallax
COPY --from=build --chown=65534:65534 /out/tmp /tmp
USER 65534:65534
EXPOSE 9595
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD ["/parallax", "probe", "-sf", "-o", "/dev/null", "http://127.0.0.1:9595/healthz"]
ENTRYPOINT ["/parallax"]
CMD ["watch", "--config", "/etc/parallax/watch.yaml"]
