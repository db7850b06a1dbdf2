#!/usr/bin/env bash
# Builds the local Kubernetes control plane that the cluster tests run
# against: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
# and etcd, from the Go module in test/cluster/controlplane (its go.mod pins
# the release). The binaries go to a cache outside the repository:
#
#   ${MILDNET_CACHE_DIR:-$HOME/.cache/mildnet}/k8s/<kubernetes version>/bin
#
# A second run skips the build when every binary is present and the recorded
# build stamp matches the pinned versions and the module's go.mod and go.sum.
#
# Usage: scripts/setup-controlplane.sh [--force] [--print-bin-dir]
#   --force          rebuild even when the cache is up to date
#   --print-bin-dir  print the binary directory and exit without building
set -euo pipefail

force=0
print_only=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --print-bin-dir) print_only=1 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-controlplane: unknown argument '$arg' (expected --force or --print-bin-dir)" >&2; exit 2 ;;
  esac
done

if ! command -v go >/dev/null 2>&1; then
  echo "setup-controlplane: 'go' is not on PATH; install Go 1.25 or newer" >&2
  exit 1
fi

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module_dir="$repo_root/test/cluster/controlplane"
cd "$module_dir"

k8s_version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
etcd_version="$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
module_hash="$(cat go.mod go.sum | sha256sum | cut -d' ' -f1)"

cache_root="${MILDNET_CACHE_DIR:-$HOME/.cache/mildnet}"
version_dir="$cache_root/k8s/$k8s_version"
bin_dir="$version_dir/bin"
stamp_file="$bin_dir/BUILD_STAMP"
stamp="kubernetes=$k8s_version etcd=$etcd_version module-sha256=$module_hash"

if [[ "$print_only" == 1 ]]; then
  echo "$bin_dir"
  exit 0
fi

# name=package pairs, in build order.
binaries=(
  "kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver"
  "kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager"
  "kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler"
  "kubectl=k8s.io/kubernetes/cmd/kubectl"
  "etcd=go.etcd.io/etcd/server/v3"
)

cache_is_current() {
  [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]] || return 1
  local entry
  for entry in "${binaries[@]}"; do
    [[ -x "$bin_dir/${entry%%=*}" ]] || return 1
  done
}

mkdir -p "$version_dir"
# Serialize concurrent runs (two test processes starting at once) so that the
# second one waits for the first build instead of building the same thing.
exec 9>"$version_dir/.lock"
flock 9

if [[ "$force" == 0 ]] && cache_is_current; then
  echo "setup-controlplane: Kubernetes $k8s_version and etcd $etcd_version are already built in $bin_dir"
  exit 0
fi

# Kubernetes binaries report their version from these variables; without
# them `kubectl version` and /version report v0.0.0-master.
minor="${k8s_version#v1.}"
minor="${minor%%.*}"
version_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

export GOMAXPROCS="${GOMAXPROCS:-2}"
export GOFLAGS="${GOFLAGS:-} -trimpath"
build_jobs="${MILDNET_GO_BUILD_JOBS:-2}"

staging_dir="$(mktemp -d "$version_dir/bin.partial.XXXXXX")"
trap 'rm -rf "$staging_dir"' EXIT

echo "setup-controlplane: building Kubernetes $k8s_version and etcd $etcd_version into $bin_dir"
echo "setup-controlplane: a first build on 2 cores takes tens of minutes; later runs reuse the Go build cache"
echo "setup-controlplane: downloading modules"
go mod download

total_start=$SECONDS
for entry in "${binaries[@]}"; do
  name="${entry%%=*}"
  pkg="${entry#*=}"
  start=$SECONDS
  echo "setup-controlplane: building $name ($pkg)"
  go build -p "$build_jobs" -ldflags "-s -w$version_ldflags" -o "$staging_dir/$name" "$pkg"
  echo "setup-controlplane: built $name in $((SECONDS - start)) s"
done

mkdir -p "$bin_dir"
rm -f "$stamp_file"
for entry in "${binaries[@]}"; do
  name="${entry%%=*}"
  mv -f "$staging_dir/$name" "$bin_dir/$name"
done
# The stamp is written last, so an interrupted build is never taken as done.
echo "$stamp" > "$stamp_file"

echo "setup-controlplane: done in $((SECONDS - total_start)) s; binaries are in $bin_dir"
"$bin_dir/kube-apiserver" --version
"$bin_dir/etcd" --version | head -n 1
