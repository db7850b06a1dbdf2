#!/usr/bin/env bash
# Builds promtool, the Prometheus rule checker, from the Go module proxy so
# that the alert-rule tests can run `promtool check rules` and
# `promtool test rules` on the chart's rule file. The binary is cached
# outside the repository and the build is skipped when it is present.
#
# Usage: scripts/setup-promtool.sh [--print-path]
#   Prints the binary's path on stdout. With --print-path it only prints
#   where the binary is or would be, and builds nothing.
# Environment:
#   MILDNET_CACHE_DIR   cache root (default: $HOME/.cache/mildnet)
#   PROMTOOL_VERSION    Go module version of github.com/prometheus/prometheus
#                       (default below; module v0.316.0 is Prometheus 3.16.0)
set -euo pipefail

PROMTOOL_VERSION="${PROMTOOL_VERSION:-v0.316.0}"
CACHE_ROOT="${MILDNET_CACHE_DIR:-$HOME/.cache/mildnet}"
INSTALL_DIR="$CACHE_ROOT/promtool/$PROMTOOL_VERSION"
BINARY="$INSTALL_DIR/promtool"

log() { echo "setup-promtool: $*" >&2; }

case "${1:-}" in
  "") ;;
  --print-path) echo "$BINARY"; exit 0 ;;
  *) log "unknown argument '$1' (expected --print-path or nothing)"; exit 2 ;;
esac

if [[ -x "$BINARY" ]] && "$BINARY" --version >/dev/null 2>&1; then
  log "promtool $PROMTOOL_VERSION is already built at $BINARY"
  echo "$BINARY"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "go is not on PATH; install Go 1.25 or newer (promtool $PROMTOOL_VERSION needs it)"
  exit 1
fi

mkdir -p "$INSTALL_DIR"
# Build into a private directory and rename, so that an interrupted build
# never leaves a half-written binary where the tests look for it.
BUILD_DIR="$(mktemp -d "$INSTALL_DIR/.build.XXXXXX")"
trap 'rm -rf "$BUILD_DIR"' EXIT

log "building github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION (about 20 CPU-minutes when the Go caches are empty, so 10 minutes or more on 2 cores)"
started=$SECONDS
# Prometheus 3.y.z is tagged v0.3yy.z as a Go module. The -ldflags stamp
# the release number, as the release build does, for promtool --version.
module_minor="${PROMTOOL_VERSION#v0.}"
release="$((10#${module_minor:0:1})).$((10#${module_minor:1:2})).${module_minor#*.}"
CGO_ENABLED=0 GOBIN="$BUILD_DIR" GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false" \
  go install -trimpath -ldflags "-X github.com/prometheus/common/version.Version=$release" \
  "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION"

mv -f "$BUILD_DIR/promtool" "$BINARY"
"$BINARY" --version >&2
log "promtool $PROMTOOL_VERSION built at $BINARY in $((SECONDS - started)) s"
echo "$BINARY"
