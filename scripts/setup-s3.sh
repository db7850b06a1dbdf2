#!/usr/bin/env bash
# Builds versitygw, an Apache-2.0 S3 gateway, from the Go module proxy so that
# the storage tests run against a real S3-compatible server. The binary is
# cached outside the repository and the build is skipped when it is present.
#
# Usage: scripts/setup-s3.sh            # prints the binary's path on stdout
# Environment:
#   MILDNET_CACHE_DIR   cache root (default: $HOME/.cache/mildnet)
#   VERSITYGW_VERSION   module version to build (default below)
set -euo pipefail

VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
CACHE_ROOT="${MILDNET_CACHE_DIR:-$HOME/.cache/mildnet}"
INSTALL_DIR="$CACHE_ROOT/s3/$VERSITYGW_VERSION"
BINARY="$INSTALL_DIR/versitygw"

log() { echo "setup-s3: $*" >&2; }

if [[ -x "$BINARY" ]] && "$BINARY" --version >/dev/null 2>&1; then
  log "versitygw $VERSITYGW_VERSION is already built at $BINARY"
  echo "$BINARY"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "go is not on PATH; install Go 1.25 or newer (versitygw $VERSITYGW_VERSION needs it)"
  exit 1
fi

mkdir -p "$INSTALL_DIR"
# Build into a private directory and rename, so that an interrupted build
# never leaves a half-written binary where the tests look for it.
BUILD_DIR="$(mktemp -d "$INSTALL_DIR/.build.XXXXXX")"
trap 'rm -rf "$BUILD_DIR"' EXIT

log "building github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION (a few minutes on 2 cores)"
# The posix backend is pure Go, so a static binary without cgo is enough.
CGO_ENABLED=0 GOBIN="$BUILD_DIR" GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  go install -trimpath "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"

mv -f "$BUILD_DIR/versitygw" "$BINARY"
"$BINARY" --version >&2
log "versitygw $VERSITYGW_VERSION built at $BINARY"
echo "$BINARY"
