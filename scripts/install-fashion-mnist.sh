#!/usr/bin/env bash
# Installs Debian's dataset-fashion-mnist package, which puts the four
# gzipped Fashion-MNIST IDX files in /usr/share/datasets/fashion-mnist, the
# default source of `mildnet data fashion-mnist`. Does nothing when the files
# are already there. Needs root (apt-get) and a reachable Debian mirror.
#
# Usage: scripts/install-fashion-mnist.sh   # prints the folder on stdout
set -euo pipefail

DATA_DIR=/usr/share/datasets/fashion-mnist
FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

log() { echo "install-fashion-mnist: $*" >&2; }

installed() {
  local file
  for file in "${FILES[@]}"; do
    [[ -f "$DATA_DIR/$file" ]] || return 1
  done
}

if installed; then
  log "Fashion-MNIST is already installed in $DATA_DIR"
  echo "$DATA_DIR"
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  log "apt-get needs root; run: sudo $0"
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "apt-get not found; on a system without Debian packages, copy the four IDX files into a folder and pass it with --from"
  exit 1
fi

log "installing dataset-fashion-mnist with apt-get"
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >&2

if ! installed; then
  log "dataset-fashion-mnist is installed but $DATA_DIR lacks one of: ${FILES[*]}"
  exit 1
fi
log "installed Fashion-MNIST in $DATA_DIR"
echo "$DATA_DIR"
