#!/usr/bin/env bash
# Installs the npm dependencies from the lock file when node_modules is
# missing or older than package-lock.json. TensorFlow.js's native bindings
# are optional dependencies: without internet access their download fails and
# npm carries on, and the trainer then runs on the wasm backend.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v node >/dev/null 2>&1; then
  echo "install-deps: node is not on PATH; install Node.js 20 or newer" >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if (( major < 20 )); then
  echo "install-deps: Node.js $(node --version) is too old; install Node.js 20 or newer" >&2
  exit 1
fi

if [[ -d node_modules && node_modules/.package-lock.json -nt package-lock.json ]]; then
  echo "install-deps: node_modules is up to date" >&2
  exit 0
fi
echo "install-deps: npm ci" >&2
npm ci --no-audit --no-fund >&2
