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
#                       (default below). Module v0.316.0 is Prometheus 3.16.0.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tool.sh"

GO_TOOL_NAME=promtool
GO_TOOL_VERSION="${PROMTOOL_VERSION:-v0.316.0}"
GO_TOOL_PACKAGE=github.com/prometheus/prometheus/cmd/promtool
GO_TOOL_MIN_GO=1.25
GO_TOOL_CHECK_ARGS=(--version)
GO_TOOL_BUILD_TIME="an estimated 20 CPU-minutes when the Go caches are empty, so 10 minutes or more on 2 cores"

# Prometheus 3.y.z is tagged v0.3yy.z as a Go module. The -ldflags stamp
# the release number, as the release build does, for promtool --version.
module_minor="${GO_TOOL_VERSION#v0.}"
release="$((10#${module_minor:0:1})).$((10#${module_minor:1:2})).${module_minor#*.}"
GO_TOOL_LDFLAGS="-X github.com/prometheus/common/version.Version=$release"

go_tool_setup "$@"
