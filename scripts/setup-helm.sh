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
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tool.sh"

GO_TOOL_NAME=helm
GO_TOOL_VERSION="${HELM_VERSION:-v3.21.4}"
GO_TOOL_PACKAGE=helm.sh/helm/v3/cmd/helm
GO_TOOL_MIN_GO=1.25
GO_TOOL_CHECK_ARGS=(version --short)
GO_TOOL_BUILD_TIME="several minutes on 2 cores when the module cache is empty"
# The release build stamps the full version in with -ldflags. A `go install`
# build would otherwise report only the minor version in `helm version`
# ("v3.21" for v3.21.4).
GO_TOOL_LDFLAGS="-X helm.sh/helm/v3/internal/version.version=$GO_TOOL_VERSION"

go_tool_setup "$@"
