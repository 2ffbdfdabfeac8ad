#!/usr/bin/env bash
# Build the base images the stack needs from the Debian mirror this host uses,
# for networks where Docker Hub cannot be reached (air-gapped or proxied).
#
#   sudo deploy/base-image.sh                 # images for the local docker
#   DOCKER="docker -H unix:///run/x.sock" sudo -E deploy/base-image.sh
#
# Images (all Debian bookworm, from debootstrap --variant=minbase):
#   flask_qed/python:3.11-slim-bookworm  stands in for python:3.11-slim-bookworm
#                                        (Debian's python3.11 as `python`, pip, venv)
#   flask_qed/redis:7                    stands in for redis:7.2-alpine (redis-server, redis-cli)
#   flask_qed/nginx:1                    stands in for nginx:1.27 (nginx in the foreground)
# Then: docker build --build-arg PYTHON_IMAGE=flask_qed/python:3.11-slim-bookworm .
#
# The host's trusted CA certificates go into the images, so that pip and apt
# inside a build trust the same TLS endpoints (an inspecting proxy included)
# as the host does. Re-running skips images that exist (FORCE=1 rebuilds).
set -euo pipefail

DOCKER=${DOCKER:-docker}
SUITE=${SUITE:-bookworm}
PREFIX=${PREFIX:-flask_qed}
WORK=${WORK:-/var/tmp/flask_qed-base}

# The host's own Debian mirror (deb822 sources first, then sources.list).
mirror() {
    local uri
    uri=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
    [ -n "$uri" ] || uri=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR=${MIRROR:-$(mirror)}

have() { $DOCKER image inspect "$1" >/dev/null 2>&1 && [ -z "${FORCE:-}" ]; }

# One minbase root file system with the given extra packages, imported as IMAGE.
rootfs_image() {
    local image=$1 packages=$2; shift 2
    if have "$image"; then echo "base-image: $image exists"; return; fi
    command -v debootstrap >/dev/null || { echo "base-image: debootstrap is needed (apt-get install debootstrap)" >&2; exit 1; }
    local root="$WORK/${image//[:\/]/_}"
    rm -rf "$root"; mkdir -p "$root"
    echo "base-image: debootstrap $SUITE from $MIRROR for $image"
    debootstrap --variant=minbase --include="$packages" "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 \
        || { tail -20 "$root.log" >&2; exit 1; }
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    mkdir -p "$root/data"
    printf 'deb %s %s main\ndeb %s %s-updates main\n' "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" >"$root/etc/apt/sources.list"
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*
    tar -C "$root" -c . | $DOCKER import "$@" - "$image" >/dev/null
    rm -rf "$root" "$root.log"
    echo "base-image: built $image"
}

rootfs_image "$PREFIX/python:3.11-slim-bookworm" \
    ca-certificates,python3,python3-venv,python3-pip,python-is-python3,netbase,tzdata \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]'

rootfs_image "$PREFIX/redis:7" redis-server,redis-tools,netbase \
    --change 'WORKDIR /data' \
    --change 'EXPOSE 6379' \
    --change 'CMD ["redis-server"]'

rootfs_image "$PREFIX/nginx:1" nginx-light,ca-certificates,netbase \
    --change 'EXPOSE 80' \
    --change 'CMD ["nginx", "-g", "daemon off;"]'
