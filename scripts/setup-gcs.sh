#!/usr/bin/env bash
# Builds fake-gcs-server, a BSD-licensed Cloud Storage emulator, from the Go
# module proxy so that the gs:// tests run against a real server of the
# JSON API. The binary is cached outside the repository and the build is
# skipped when it is present.
#
# Usage: scripts/setup-gcs.sh            # prints the binary's path on stdout
# Environment:
#   MILDNET_CACHE_DIR         cache root (default: $HOME/.cache/mildnet)
#   FAKE_GCS_SERVER_VERSION   module version to build (default below)
set -euo pipefail

FAKE_GCS_SERVER_VERSION="${FAKE_GCS_SERVER_VERSION:-v1.56.1}"
CACHE_ROOT="${MILDNET_CACHE_DIR:-$HOME/.cache/mildnet}"
INSTALL_DIR="$CACHE_ROOT/gcs/$FAKE_GCS_SERVER_VERSION"
BINARY="$INSTALL_DIR/fake-gcs-server"

log() { echo "setup-gcs: $*" >&2; }

# fake-gcs-server has no version flag, but -help exits 0 after printing the flags.
if [[ -x "$BINARY" ]] && "$BINARY" -help >/dev/null 2>&1; then
  log "fake-gcs-server $FAKE_GCS_SERVER_VERSION is already built at $BINARY"
  echo "$BINARY"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "go is not on PATH; install Go 1.26 or newer (fake-gcs-server $FAKE_GCS_SERVER_VERSION needs it)"
  exit 1
fi

mkdir -p "$INSTALL_DIR"
# Build into a private directory and rename, so that an interrupted build
# never leaves a half-written binary where the tests look for it.
BUILD_DIR="$(mktemp -d "$INSTALL_DIR/.build.XXXXXX")"
trap 'rm -rf "$BUILD_DIR"' EXIT

log "building github.com/fsouza/fake-gcs-server@$FAKE_GCS_SERVER_VERSION (6 minutes measured on 2 cores with an empty Go module cache, seconds with a warm one)"
# The filesystem and memory backends are pure Go, so a static binary without cgo is enough.
CGO_ENABLED=0 GOBIN="$BUILD_DIR" GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  go install -trimpath "github.com/fsouza/fake-gcs-server@$FAKE_GCS_SERVER_VERSION"

mv -f "$BUILD_DIR/fake-gcs-server" "$BINARY"
log "fake-gcs-server $FAKE_GCS_SERVER_VERSION built at $BINARY"
echo "$BINARY"
