#!/usr/bin/env bash
# Builds images without any registry, on a Debian base made with debootstrap
# (Debian's JRE and PostgreSQL server):
# - localhost/keycloak:VERSION (dev-file) and localhost/keycloak:VERSION-postgres:
#   the official server distribution fetched and checksum-verified by
#   kcconform's own fetcher, laid out like the official image (/opt/keycloak,
#   ENTRYPOINT kc.sh, user 1000), built with `kc.sh build` for that database
#   and labelled so, so that the container target starts it with
#   `start --optimized` and no start builds Keycloak again;
# - localhost/postgres:PGVERSION (--postgres): Debian's PostgreSQL with an
#   entrypoint that behaves like the official image's (POSTGRES_USER, ...).
# A no-op when the image exists.
#
#   scripts/build-image.sh [VERSION [dev-file|postgres]]   (default: the default version, dev-file)
#   scripts/build-image.sh --postgres
#   scripts/build-image.sh --gateway    (localhost/kcconform-gateway:1, docker-compose.yml's gateway)
set -euo pipefail
cd "$(dirname "$0")/.."
. pkg/versions/versions.env

BASE=localhost/kcconform-debian:bookworm
WORK=${KC_IMAGE_WORK:-/var/tmp/kcconform-image}
POSTGRES=0
GATEWAY=0
if [ "${1:-}" = --gateway ]; then
  GATEWAY=1
  IMAGE=localhost/kcconform-gateway:1
elif [ "${1:-}" = --postgres ]; then
  POSTGRES=1
  IMAGE=$KC_LOCAL_POSTGRES_IMAGE
else
  VERSION=${1:-${KC_VERSION:-$KC_DEFAULT_VERSION}}
  DB=${2:-dev-file}
  case "$DB" in
    dev-file) IMAGE=localhost/keycloak:$VERSION ;;
    postgres) IMAGE=localhost/keycloak:$VERSION-postgres ;;
    *) echo "build-image: expected the database dev-file or postgres, got '$DB'" >&2; exit 2 ;;
  esac
fi

# REVISION changes when the image layout does: an image of an older layout
# is rebuilt, one of this layout is left alone.
REVISION=3
if podman image exists "$IMAGE"; then
  if [ "$(podman image inspect --format '{{ index .Labels "io.kcconform.image.revision" }}' "$IMAGE")" = "$REVISION" ]; then
    echo "build-image: $IMAGE exists; nothing to do"
    exit 0
  fi
  echo "== build-image: $IMAGE is of an older layout; rebuilding"
fi

mkdir -p "$WORK"
if ! podman image exists "$BASE"; then
  echo "== build-image: debootstrap a Debian base with a JRE and PostgreSQL"
  began=$(date +%s)
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  rootfs=$WORK/rootfs
  if [ ! -x "$rootfs/usr/bin/java" ] || ! ls "$rootfs"/usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=openjdk-17-jre-headless,ca-certificates,postgresql bookworm "$rootfs" $mirror >"$WORK/debootstrap.log" 2>&1 \
      || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  fi
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  echo "build-image: base ready in $(( $(date +%s) - began ))s"
fi

if [ "$GATEWAY" = 1 ]; then
  podman build --pull=never --build-arg BASE=$BASE --label io.kcconform.image.revision=$REVISION -t "$IMAGE" \
    -f scripts/images/gateway/Containerfile scripts/images/gateway >"$WORK/build-gateway.log" 2>&1 \
    || { tail -30 "$WORK/build-gateway.log" >&2; exit 1; }
  echo "build-image: built $IMAGE"
  exit 0
fi

if [ "$POSTGRES" = 1 ]; then
  ctx=$WORK/ctx-postgres
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp scripts/images/postgres/docker-entrypoint.sh "$ctx/"
  cat >"$ctx/Containerfile" <<CF
FROM $BASE
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN rm -rf /var/lib/postgresql/15/main /etc/postgresql && mkdir -p /var/lib/postgresql/data /var/run/postgresql \\
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
LABEL org.opencontainers.image.title="PostgreSQL from Debian (kcconform local build)" io.kcconform.image.revision="$REVISION"
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
CF
  podman build --pull=never -t "$IMAGE" -f "$ctx/Containerfile" "$ctx" >"$WORK/build-postgres.log" 2>&1 \
    || { tail -30 "$WORK/build-postgres.log" >&2; exit 1; }
  rm -rf "$ctx"
  echo "build-image: built $IMAGE"
  exit 0
fi

echo "== build-image: the Keycloak $VERSION distribution"
archive=$(go run ./scripts/fetch-dist "$VERSION")
ctx=$WORK/ctx-$VERSION-$DB
rm -rf "$ctx" && mkdir -p "$ctx/keycloak"
tar -xzf "$archive" -C "$ctx/keycloak" --strip-components=1
cat >"$ctx/Containerfile" <<CF
FROM $BASE
COPY --chown=1000:0 keycloak /opt/keycloak
RUN useradd --uid 1000 --gid 0 --home-dir /opt/keycloak --no-create-home keycloak \\
 && /opt/keycloak/bin/kc.sh build --health-enabled=true --db=$DB \\
 && rm -rf /opt/keycloak/data/tmp && mkdir -p /opt/keycloak/data/import \\
 && chown -R 1000:0 /opt/keycloak && chmod -R g+rwX /opt/keycloak
USER 1000
EXPOSE 8080 8443 9000
LABEL org.opencontainers.image.title="Keycloak $VERSION for $DB (kcconform local build)" \\
      io.kcconform.keycloak.version="$VERSION" \\
      io.kcconform.keycloak.optimized="true" \\
      io.kcconform.keycloak.db="$DB" \\
      io.kcconform.image.revision="$REVISION"
ENTRYPOINT ["/opt/keycloak/bin/kc.sh"]
CF
echo "== build-image: podman build $IMAGE (kc.sh build --db=$DB)"
began=$(date +%s)
podman build --pull=never -t "$IMAGE" -f "$ctx/Containerfile" "$ctx" >"$WORK/build-$VERSION-$DB.log" 2>&1 \
  || { tail -30 "$WORK/build-$VERSION-$DB.log" >&2; exit 1; }
rm -rf "$ctx"
echo "build-image: built $IMAGE in $(( $(date +%s) - began ))s"
