#!/usr/bin/env bash
# Builds helm from the Go module proxy so that the chart tests can run
# `helm lint` and `helm template` on charts/mildnet-operator. The binary is
# cached outside the repository and the build is skipped when it is present.
#
# Usage: scripts/setup-helm.sh [--print-path]
#   Prints the binary's path on stdout. With --print-path it only prints
#   where the binary is or would be, and builds nothing.
# Environment:
#   MILDNET_CACHE_DIR   cache root (default: $HOME/.cache/mildnet)
#   HELM_VERSION        module version of helm.sh/helm/v3 to build (default below)
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.21.4}"
CACHE_ROOT="${MILDNET_CACHE_DIR:-$HOME/.cache/mildnet}"
INSTALL_DIR="$CACHE_ROOT/helm/$HELM_VERSION"
BINARY="$INSTALL_DIR/helm"

log() { echo "setup-helm: $*" >&2; }

case "${1:-}" in
  "") ;;
  --print-path) echo "$BINARY"; exit 0 ;;
  *) log "unknown argument '$1' (expected --print-path or nothing)"; exit 2 ;;
esac

if [[ -x "$BINARY" ]] && "$BINARY" version --short >/dev/null 2>&1; then
  log "helm $HELM_VERSION is already built at $BINARY"
  echo "$BINARY"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "go is not on PATH; install Go 1.25 or newer (helm $HELM_VERSION needs it)"
  exit 1
fi

mkdir -p "$INSTALL_DIR"
# Build into a private directory and rename, so that an interrupted build
# never leaves a half-written binary where the tests look for it.
BUILD_DIR="$(mktemp -d "$INSTALL_DIR/.build.XXXXXX")"
trap 'rm -rf "$BUILD_DIR"' EXIT

log "building helm.sh/helm/v3/cmd/helm@$HELM_VERSION (several minutes on 2 cores when the module cache is empty)"
started=$SECONDS
# `helm version` prints the version that the release build stamps in with
# -ldflags; a `go install` build would otherwise report a bare "v3.x".
CGO_ENABLED=0 GOBIN="$BUILD_DIR" GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false" \
  go install -trimpath -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"

mv -f "$BUILD_DIR/helm" "$BINARY"
"$BINARY" version --short >&2
log "helm $HELM_VERSION built at $BINARY in $((SECONDS - started)) s"
echo "$BINARY"
