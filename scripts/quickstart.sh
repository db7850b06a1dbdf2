#!/usr/bin/env bash
# The main job on a fresh machine: installs what it needs, converts
# Fashion-MNIST into triplets and trains a small MILDNet on it on the CPU,
# printing the validation triplet accuracy. Run it again to resume or reuse.
#
# Usage: scripts/quickstart.sh [extra mildnet train options, such as --epochs 1]
# Environment:
#   MILDNET_QUICKSTART_DIR  where data and outputs go (default: .cache/quickstart in the repository)
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
work_dir="${MILDNET_QUICKSTART_DIR:-$repo_root/.cache/quickstart}"

scripts/install-deps.sh
scripts/install-fashion-mnist.sh >/dev/null

node trainer/bin/mildnet.js data fashion-mnist --out "$work_dir/fashion-mnist"
node trainer/bin/mildnet.js train \
  --config job_configs/quickstart/fashion_mnist.yaml \
  --data "$work_dir/fashion-mnist" \
  --job-dir "$work_dir/run" \
  "$@"
